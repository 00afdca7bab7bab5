"""fjvoucher: 福建省职业技能鉴定成绩合格凭证, validated and mail-merged.

The public face, for programs, the CLI and the workbench alike::

    import fjvoucher
    report = fjvoucher.validate("名册.xlsx")
    result = fjvoucher.merge("名册.xlsx", "out")
    answer = fjvoucher.verify("3501-2009-000001", name="陈建国")

Names are loaded on first use, so `fjvoucher --help` does not pay for Word, PDF and ledger code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → the module that holds it
_PUBLIC = {
    "validate": "fjvoucher.api", "merge": "fjvoucher.api", "reissue": "fjvoucher.api", "verify": "fjvoucher.api",
    "open_ledger": "fjvoucher.api", "merge_options": "fjvoucher.api", "ledger_choice": "fjvoucher.api",
    "MergeOptions": "fjvoucher.merging", "MergeResult": "fjvoucher.merging", "ReissueResult": "fjvoucher.merging",
    "Report": "fjvoucher.roster.report", "Finding": "fjvoucher.roster.report",
    "Ledger": "fjvoucher.ledger.store", "Verification": "fjvoucher.ledger.verify",
    "ExitCode": "fjvoucher.errors", "FjvoucherError": "fjvoucher.errors", "InputError": "fjvoucher.errors",
    "RosterUnreadable": "fjvoucher.errors", "TemplateError": "fjvoucher.errors", "PhotoError": "fjvoucher.errors",
    "PdfEngineError": "fjvoucher.errors", "LedgerError": "fjvoucher.errors",
}
__all__ = ["__version__", *_PUBLIC]

if TYPE_CHECKING:
    from fjvoucher.api import ledger_choice, merge, merge_options, open_ledger, reissue, validate, verify
    from fjvoucher.errors import (
        ExitCode,
        FjvoucherError,
        InputError,
        LedgerError,
        PdfEngineError,
        PhotoError,
        RosterUnreadable,
        TemplateError,
    )
    from fjvoucher.ledger.store import Ledger
    from fjvoucher.ledger.verify import Verification
    from fjvoucher.merging import MergeOptions, MergeResult, ReissueResult
    from fjvoucher.roster.report import Finding, Report


def __getattr__(name: str) -> Any:
    """Return the public name `name`, importing its module on first use."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'fjvoucher' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value
