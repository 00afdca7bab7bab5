"""The public face: what `import fjvoucher` gives a program, and what the CLI and the workbench call.

Each function does what its command does, wired the same way: the master's box widths for
too-wide warnings, the fonts' glyph probe, the centre's settings, the chosen ledger.  So
`fjvoucher.validate(path)` returns exactly the findings `fjvoucher validate path` prints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fjvoucher.config import LedgerChoice, choose_ledger, other_centre_mode, setting
from fjvoucher.ledger.audit import AuditReport
from fjvoucher.ledger.backends import ledger_exists
from fjvoucher.ledger.copies import Copied
from fjvoucher.ledger.storage import Clock
from fjvoucher.ledger.store import Ledger
from fjvoucher.ledger.verify import Verification, normalise_no
from fjvoucher.ledger.verify import verify as verify_in
from fjvoucher.merging import (
    MergeOptions,
    MergeResult,
    Progress,
    ReissueResult,
    check_against_ledger,
    merge_roster,
    reissue_voucher,
)
from fjvoucher.roster.report import Report


def ledger_choice(path: Path | str | None = None) -> LedgerChoice:
    """Return which ledger a command uses: `path`, $FJVOUCHER_LEDGER, the config, a 0.1.0 one here, the default."""
    return choose_ledger(path or None)


def open_ledger(path: Path | str | None = None, *, readonly: bool = False, clock: Clock | None = None) -> Ledger:
    """Open an existing ledger (the chosen one when `path` is None); a missing one is an error, never created."""
    return Ledger(ledger_choice(path).path, create=False, readonly=readonly, clock=clock)


def merge_options(**given: Any) -> MergeOptions:
    """Return MergeOptions from what was given, the rest from the centre's settings and this machine.

    Given None means "not given": the centre's name and code, the photos folder, the verification
    URL and the ledger then come from `fjvoucher config`; the glyph probe asks the installed fonts.
    """
    from fjvoucher.pdf.fonts import has_glyph

    photos = given.get("photos") or setting("photos")
    defaults = {
        "center": setting("center_name"), "center_code": setting("center_code"),
        "photos": Path(photos).expanduser() if photos else None, "verify_url": setting("verify_url"),
        "ledger": ledger_choice(given.get("ledger")).path, "glyphs": has_glyph,
        "other_centre": other_centre_mode(),
    }
    values = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    values["ledger"] = defaults["ledger"]
    return MergeOptions(**values)


def validate(roster: Path | str, *, sheet: str | None = None, template: Path | str | None = None,
             center: str | None = None, ledger: Path | str | None = None, reissue: bool = False,
             today: dt.date | None = None) -> Report:
    """Check `roster` as `fjvoucher validate` does and return the report; write nothing.

    Rows are also held against the chosen ledger when it exists (read only, never created), by the
    same issuing rule merge applies: a revoked or changed certificate is an error here too.
    """
    from fjvoucher.pdf.masters import docx_master
    from fjvoucher.roster.checks import check_roster
    from fjvoucher.word.master import prepare_template

    options = merge_options(center=center, ledger=ledger, reissue=reissue, today=today, sheet=sheet)
    boxes = prepare_template(docx_master(Path(template) if template else None)).boxes
    path = options.ledger
    if not (path and ledger_exists(path)):
        return check_roster(roster, sheet, today=today, glyphs=options.glyphs, boxes=boxes,
                            center=options.center).report
    with Ledger(path, create=False) as book:
        return check_roster(roster, sheet, today=today, glyphs=options.glyphs, boxes=boxes, center=options.center,
                            extra=lambda candidate, add: check_against_ledger(book, candidate, options, add)).report


def merge(roster: Path | str, outdir: Path | str, options: MergeOptions | None = None, *,
          progress: Progress | None = None) -> MergeResult:
    """Check `roster`, then write its vouchers, batches and register into `outdir`, recording them in the ledger."""
    return merge_roster(roster, outdir, options or merge_options(), progress=progress)


def reissue(voucher_no: str, reason: str, outdir: Path | str, options: MergeOptions | None = None,
            no_photo: bool = False) -> ReissueResult:
    """Reissue voucher `voucher_no` (lost) under a new NO and write the new voucher's files into `outdir`.

    The photo is the one it was printed with, else found in the photo folder; `no_photo` prints none.
    """
    options = options or merge_options()
    return reissue_voucher(normalise_no(voucher_no), reason, outdir, dataclasses.replace(options, batch_size=1),
                           no_photo=no_photo)


def verify(voucher_no: str, *, name: str | None = None, id_number: str | None = None, code: str | None = None,
           ledger: Ledger | Path | str | None = None) -> Verification:
    """Answer "is voucher `voucher_no` genuine?" given the holder's name, ID number or printed code.

    The ledger must prove itself for that NO first (its signed head, the voucher's events and row).
    """
    if isinstance(ledger, Ledger):
        return verify_in(ledger, voucher_no, name=name, id_number=id_number, code=code)
    with open_ledger(ledger) as book:
        return verify_in(book, voucher_no, name=name, id_number=id_number, code=code)


def audit_ledger(ledger: Ledger | Path | str | None = None, reports: Iterable[Path | str] = ()) -> AuditReport:
    """Audit the ledger (chain, signature, schema, every voucher) and check it still holds each report's head."""
    from fjvoucher.ledger.monthly import check_report

    if not isinstance(ledger, Ledger):
        with open_ledger(ledger) as book:
            return audit_ledger(book, reports)
    report = ledger.audit()
    for path in reports:
        report.discrepancies += check_report(report, Path(path))
    return report


def restore_backup(source: Path | str, *, ledger: Path | str | None = None) -> Copied:
    """Replace the chosen ledger with the backup `source` once it audits clean; keep the current one beside it."""
    import datetime as dt

    from fjvoucher.ledger.copies import restore

    return restore(ledger_choice(ledger).path, Path(source), dt.datetime.now)


@dataclasses.dataclass(frozen=True)
class KeyInfo:
    """Where the centre's signing key is, and its fingerprint ('' while there is none)."""

    path: Path
    fingerprint: str


def centre_key() -> KeyInfo:
    """Return where this user's centre signing key is and its fingerprint (never makes one)."""
    from fjvoucher.ledger.keys import key_path, load_key

    key = load_key(create=False)
    return KeyInfo(key_path(), key.fingerprint if key else "")
