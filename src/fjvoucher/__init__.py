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
    "audit_ledger": "fjvoucher.api", "restore_backup": "fjvoucher.api", "centre_key": "fjvoucher.api",
    "AuditReport": "fjvoucher.ledger.audit",
    "MergeOptions": "fjvoucher.merging", "MergeResult": "fjvoucher.merging", "ReissueResult": "fjvoucher.merging",
    "Report": "fjvoucher.roster.report", "Finding": "fjvoucher.roster.report",
    "Ledger": "fjvoucher.ledger.store", "Verification": "fjvoucher.ledger.verify",
    "ExitCode": "fjvoucher.errors", "FjvoucherError": "fjvoucher.errors", "InputError": "fjvoucher.errors",
    "RosterUnreadable": "fjvoucher.errors", "TemplateError": "fjvoucher.errors", "PhotoError": "fjvoucher.errors",
    "PdfEngineError": "fjvoucher.errors", "LedgerError": "fjvoucher.errors",
}
__all__ = ["__version__", *_PUBLIC]

if TYPE_CHECKING:
    # "X as X": an explicit re-export, so type checkers and linters see the public names
    from fjvoucher.api import audit_ledger as audit_ledger
    from fjvoucher.api import centre_key as centre_key
    from fjvoucher.api import ledger_choice as ledger_choice
    from fjvoucher.api import merge as merge
    from fjvoucher.api import merge_options as merge_options
    from fjvoucher.api import open_ledger as open_ledger
    from fjvoucher.api import reissue as reissue
    from fjvoucher.api import restore_backup as restore_backup
    from fjvoucher.api import validate as validate
    from fjvoucher.api import verify as verify
    from fjvoucher.errors import ExitCode as ExitCode
    from fjvoucher.errors import FjvoucherError as FjvoucherError
    from fjvoucher.errors import InputError as InputError
    from fjvoucher.errors import LedgerError as LedgerError
    from fjvoucher.errors import PdfEngineError as PdfEngineError
    from fjvoucher.errors import PhotoError as PhotoError
    from fjvoucher.errors import RosterUnreadable as RosterUnreadable
    from fjvoucher.errors import TemplateError as TemplateError
    from fjvoucher.ledger.audit import AuditReport as AuditReport
    from fjvoucher.ledger.store import Ledger as Ledger
    from fjvoucher.ledger.verify import Verification as Verification
    from fjvoucher.merging import MergeOptions as MergeOptions
    from fjvoucher.merging import MergeResult as MergeResult
    from fjvoucher.merging import ReissueResult as ReissueResult
    from fjvoucher.roster.report import Finding as Finding
    from fjvoucher.roster.report import Report as Report


def __getattr__(name: str) -> Any:
    """Return the public name `name`, importing its module on first use."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'fjvoucher' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value
