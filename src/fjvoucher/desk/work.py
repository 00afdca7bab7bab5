"""What the workbench asks of the library: the same calls, settings and refusals as the CLI's commands.

Every screen's action goes through here, so the desk and `fjvoucher …` can never disagree: the
roster checks with the master's boxes, the glyph probe and the configured centre; merges and
reissues with the CLI's options built from the same settings; the ledger the CLI would choose.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import fjvoucher
from fjvoucher.config import default_output_path, setting
from fjvoucher.errors import InputError
from fjvoucher.ledger.backends import ledger_exists
from fjvoucher.ledger.location import shown
from fjvoucher.ledger.monthly import MonthCounts, write_monthly_report
from fjvoucher.ledger.store import Ledger, Voucher
from fjvoucher.ledger.verify import Verification, normalise_no
from fjvoucher.merging import MergeOptions, MergeResult, ReissueResult
from fjvoucher.roster.report import Report

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def ledger_path() -> Path | str:
    """Return the ledger the CLI would use ($FJVOUCHER_LEDGER, the config, the default): a file or a URL."""
    return fjvoucher.ledger_choice().path


def output_root() -> Path:
    """Return the folder the desk writes into: the `output` setting, else fjvoucher in the documents."""
    value = setting("output")
    return Path(value).expanduser() if value else default_output_path()


def photo_folder() -> Path | None:
    """Return the configured photo folder, or None."""
    value = setting("photos")
    return Path(value).expanduser() if value else None


def check(roster: Path) -> Report:
    """Check an uploaded roster exactly as `fjvoucher validate` does (the ledger's refusals included)."""
    return fjvoucher.validate(roster)


def rejected_rows(report: Report, roster: Path, path: Path) -> Path:
    """Write the rows the report finds errors in, their cells as read, row numbers and reasons, to `path`."""
    from fjvoucher.roster.reading import open_roster
    from fjvoucher.roster.records import Rejected
    from fjvoucher.sheets.register import write_rejected

    by_row: dict[int, list] = {}
    for finding in report.findings:
        if finding.row is not None and finding.severity == "error":
            by_row.setdefault(finding.row, []).append(finding)
    opened = open_roster(roster, report.sheet if report.sheet else None)
    rejected = [Rejected(number, list(raw), by_row[number]) for number, raw in opened.rows if number in by_row]
    return write_rejected(path, opened.columns, rejected)


def blank_roster(path: Path) -> Path:
    """Write the blank official roster to `path`."""
    from fjvoucher.sheets.blank_roster import write_blank_roster

    ledger = ledger_path()
    protected = (ledger,) if isinstance(ledger, Path) else ()
    return write_blank_roster(path, force=True, protected=protected).path


def merge_options(*, photos: Path | None, sort_by: tuple[str, ...], fmt: str | None,
                  skip_invalid: bool) -> MergeOptions:
    """Return the options `fjvoucher merge` would build from these choices and the settings."""
    return fjvoucher.merge_options(photos=photos, sort_by=sort_by, format=fmt, skip_invalid=skip_invalid)


def merge(roster: Path, outdir: Path, options: MergeOptions, progress) -> MergeResult:
    """Check `roster` and print its vouchers into `outdir`, reporting progress(stage, done, total)."""
    return fjvoucher.merge(roster, outdir, options, progress=progress)


def reissue(voucher_no: str, reason: str, outdir: Path) -> ReissueResult:
    """Reissue a lost voucher under a new NO, its files written into `outdir` (as `fjvoucher reissue`)."""
    return fjvoucher.reissue(voucher_no, reason, outdir)


def open_ledger(*, readonly: bool = False) -> Ledger:
    """Open the existing ledger; a missing one is an error, never created."""
    return fjvoucher.open_ledger(readonly=readonly)


def find(ledger: Ledger, text: str, limit: int = 200) -> list[Voucher]:
    """Return the vouchers numbered `text`, of certificate `text`, or whose holder's name contains `text`.

    A NO and a whole certificate number are looked up by their index; a name or part of a certificate
    number is searched by the database, which returns at most `limit` vouchers.
    """
    text = text.strip()
    if not text:
        return []
    exact = ledger.get(normalise_no(text))
    if exact is not None:
        found = [exact]
    elif text.isdigit() and (whole := ledger.for_certificate(text)):
        found = whole[:limit]
    else:
        key = "certificate_no" if text.isdigit() else "name"
        found = ledger.storage.select(month=None, status=None, expiring_within=None, today=dt.date.today(),
                                      containing=(key, text), limit=limit)
    ledger.require_rows([v.voucher_no for v in found])  # what is shown proves itself (the ledger's head too)
    return found


def ask(number: str, *, name: str | None = None, id_number: str | None = None,
        code: str | None = None) -> Verification:
    """Answer "is this voucher genuine?" exactly as `fjvoucher verify` and the public page do."""
    return fjvoucher.verify(number, name=name, id_number=id_number, code=code)


def monthly_report(month: str, folder: Path) -> tuple[Path, MonthCounts]:
    """Write the report of `month` (YYYY-MM) into `folder`; return its path and totals."""
    if not MONTH.fullmatch(month):
        raise InputError("请写成 2009-06 这样的年-月 (use YYYY-MM)")
    path = folder / f"{month}.xlsx"
    with open_ledger() as ledger:
        return path, write_monthly_report(ledger, month, path, center=setting("center_name") or "")


@dataclass(frozen=True)
class LedgerState:
    """Where the ledger is and what it holds, for the settings screen."""

    path: Path | str  # a file, or a postgresql:// URL
    source: str
    exists: bool
    vouchers: int = 0
    events: int = 0
    last: str = ""
    private: bool = True


def ledger_state() -> LedgerState:
    """Return the ledger's place, where that choice comes from, and its counts and permissions."""
    import datetime as dt
    import os

    from fjvoucher.config import settings

    source = next(s.source for s in settings() if s.key == "ledger")
    path = ledger_path()
    if not ledger_exists(path):
        return LedgerState(shown(path) if isinstance(path, str) else path, source, False)
    with fjvoucher.open_ledger(path, readonly=True) as ledger:  # events are lighter to read than vouchers
        events = ledger.events_between(dt.datetime(1900, 1, 1), dt.datetime(9999, 1, 1))
    vouchers = sum(e.kind in ("issued", "reissued") for e in events)  # every voucher begins with one of these
    last = max((e.at for e in events), default=None)
    # A database's access is its roles' business; a file must be owner-only.
    private = not isinstance(path, Path) or os.name == "nt" or (path.stat().st_mode & 0o077) == 0
    return LedgerState(shown(path) if isinstance(path, str) else path, source, True, vouchers, len(events),
                       f"{last:%Y-%m-%d %H:%M}" if last else "", private)
