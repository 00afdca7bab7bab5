"""The month's certificate records for the national query system (国家职业资格证书查询系统), checked first.

The notice: each month's certificates are reported to the province, which uploads them to the
national system "供社会公开查询".  What the public can look up must be right, so the month is
checked before anything is written: the chain of every centre with records in the month intact
(the audit: a record the ledger cannot prove is not uploaded), every record complete and valid by
the roster's own rules (the same checks `validate` runs), no certificate or candidate twice, and no
candidate who also holds another centre's voucher in force for the same occupation and level.  Any
error blocks the upload and is listed with the voucher it is on (a chain's problem: one line each);
nothing is written until the month is clean.

Records are the vouchers issued or reissued in the month, with their state at the month's end.
A voucher revoked (issued by mistake) is not a certificate, and one replaced within the month is
carried by its replacement: both are left out and counted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from fjvoucher.atomic import write_bytes_atomic
from fjvoucher.errors import InputError
from fjvoucher.layout import FIELD_BY_KEY, FIELDS
from fjvoucher.ledger.audit import Discrepancy
from fjvoucher.ledger.monthly import ISSUING, month_bounds, state_at_end
from fjvoucher.ledger.store import Ledger, Voucher
from fjvoucher.messages import SEVERITY_WORDS, STATUS_WORDS
from fjvoucher.province.columns import chosen_columns
from fjvoucher.province.duplicates import Duplicate, find_duplicates
from fjvoucher.roster.checks import RosterChecker
from fjvoucher.roster.idcard import mask_id
from fjvoucher.roster.reading import Column, column_letter
from fjvoucher.roster.report import Finding
from fjvoucher.sheets.workbook import write_table

UPLOADED_STATES = ("genuine", "expired", "superseded")  # certificates the public may look up
CSV_ENCODING = "utf-8-sig"  # what Excel's "CSV UTF-8" writes: Excel and WPS open it without garbling
WIDTHS = {"certificate_no": 19, "id_number": 21, "name": 10, "sex": 6, "occupation": 16, "level": 12,
          "issue_date": 13, "center": 26, "voucher_no": 18, "status": 14}


@dataclass(frozen=True)
class UploadRecord:
    """One certificate record of the month: the voucher and its state at the month's end."""

    voucher: Voucher
    state: str  # genuine, expired, superseded

    def value(self, key: str) -> str:
        """Return the text of upload column `key` (the CSV writes exactly this)."""
        if key == "voucher_no":
            return self.voucher.voucher_no
        if key == "status":
            return STATUS_WORDS[self.state]
        if key == "issue_date":
            return self.voucher.issued_on.isoformat()
        return self.voucher.fields.get(key, "")


@dataclass
class UploadCheck:
    """What blocks a month's upload: error findings, each on the row the upload file would show."""

    month: str
    records: int
    left_out: int  # revoked, or replaced within the month
    findings: list[Finding] = field(default_factory=list)
    labels: dict[int | None, str] = field(default_factory=dict)  # row → "NO，姓名，350102********123X"
    numbers: dict[int | None, str] = field(default_factory=dict)  # row → voucher NO
    chain: list[Discrepancy] = field(default_factory=list)  # what the audit of the month's centres found

    def name(self, row: int, record: UploadRecord) -> None:
        """Remember which voucher row `row` is, for the clerk (ID masked) and for programs."""
        fields = record.voucher.fields
        self.numbers[row] = record.voucher.voucher_no
        masked = mask_id(fields.get("id_number", ""))
        self.labels[row] = f"{record.voucher.voucher_no}，{fields.get('name', '')}，{masked}"

    @property
    def valid(self) -> bool:
        """Return True when nothing blocks the upload."""
        return not self.findings and not self.chain

    def lines(self, lang: str = "zh"):
        """Yield the blockers for the clerk: the chain's, one line each; then by record; then a one-line summary."""
        for problem in self.chain:
            yield ("台账链不完整 " if lang == "zh" else "Chain not intact ") + problem.line()
        current = None
        for f in self.findings:
            if f.row != current:
                current = f.row
                label = self.labels[f.row]
                yield f"第 {f.row} 行（{label}）：" if lang == "zh" else f"Row {f.row} ({label}):"
            where = f"「{f.column}」：" if lang == "zh" else f"{f.column}: "
            yield f"  [{SEVERITY_WORDS[lang]['error']}] {where if f.column else ''}{f.message(lang)}"
        yield self.summary(lang)

    def summary(self, lang: str = "zh") -> str:
        """Return the month's counts and how many records block the upload."""
        blocked = len(self.labels)
        if lang == "en":
            chain = f"; the ledger's chain has {len(self.chain)} problems (fjvoucher audit)" if self.chain else ""
            return (f"{self.month}: {self.records} certificate records, {blocked} blocking the upload "
                    f"({self.left_out} revoked or replaced vouchers left out){chain}.")
        chain = f"；台账链有 {len(self.chain)} 处问题（见 fjvoucher audit），阻止上报" if self.chain else ""
        return (f"{self.month}：证书记录 {self.records} 条，其中 {blocked} 条有问题、阻止上报"
                f"（另有{STATUS_WORDS['revoked']}或{STATUS_WORDS['replaced']}的凭证 {self.left_out} 张，不上报）"
                f"{chain}。")

    def to_dict(self, lang: str = "zh") -> dict:
        """Return the check as JSON data: counts and every blocker with its row and voucher NO."""
        return {"month": self.month, "records": self.records, "left_out": self.left_out, "valid": self.valid,
                "chain": [d.__dict__ for d in self.chain],
                "problems": [{"row": f.row, "voucher_no": self.numbers[f.row], "column": f.column,
                              "field": f.field, "code": f.code, "message": f.message(lang)} for f in self.findings]}


@dataclass(frozen=True)
class UploadResult:
    """The check, and the files written (none when something blocked the upload)."""

    check: UploadCheck
    written: tuple[Path, ...] = ()


def month_records(ledger: Ledger, month: str) -> tuple[list[UploadRecord], int]:
    """Return the month's certificate records by NO, and how many vouchers were left out."""
    start, end = month_bounds(month)
    numbers = dict.fromkeys(e.voucher_no for e in ledger.events_between(start, end) if e.kind in ISSUING)
    records, left_out = [], 0
    for number in sorted(numbers):
        voucher = ledger.get(number)
        if voucher is None:  # an event without its voucher: the audit's business, nothing to upload
            left_out += 1
            continue
        state = state_at_end(ledger, voucher, end)
        if state in UPLOADED_STATES:
            records.append(UploadRecord(voucher, state))
        else:
            left_out += 1
    return records, left_out


def check_upload(records: list[UploadRecord], columns: list[tuple[str, str]], month: str, left_out: int,
                 today: dt.date) -> UploadCheck:
    """Check every record by the roster's rules and for repeats; return what blocks the upload."""
    headers = dict(columns)
    letters = {key: column_letter(i) for i, (key, _) in enumerate(columns)}
    roster_columns = [Column(i, letters.get(f.key, ""), headers.get(f.key, f.header), f) for i, f in enumerate(FIELDS)]
    checker = RosterChecker(roster_columns, today)
    check = UploadCheck(month, len(records), left_out)
    for row_number, record in enumerate(records, start=2):  # row 1 is the header
        raw = [record.value(f.key) if f.key == "voucher_no" else record.voucher.fields.get(f.key, "") for f in FIELDS]
        row, _ = checker.check(row_number, raw)
        found = [f for f in row.findings if f.severity == "error"]
        found += _missing(record, columns, letters, row_number, {f.field for f in found})
        if found:
            check.name(row_number, record)
            check.findings += found
    return check


def _other_centres(check: UploadCheck, records: list[UploadRecord], duplicates: list[Duplicate]) -> None:
    """Add a blocker for each record whose candidate also holds another centre's voucher in force."""
    held = {v.voucher_no: d for d in duplicates for v in d.vouchers}
    for row, record in enumerate(records, start=2):
        duplicate = held.get(record.voucher.voucher_no)
        if duplicate is None:
            continue
        other = next(v for v in duplicate.vouchers if v.center_code != record.voucher.center_code)
        fields = record.voucher.fields
        check.findings.append(Finding(row, "", FIELD_BY_KEY["id_number"].header, "id_number", "error",
                                      "ledger-other-centre", {"value": mask_id(fields["id_number"]),
                                                              "center": other.center_code,
                                                              "voucher_no": other.voucher_no,
                                                              "other_cert": other.fields["certificate_no"]}))
        check.name(row, record)
    check.findings.sort(key=lambda f: f.row or 0)


def _missing(record: UploadRecord, columns: list[tuple[str, str]], letters: dict[str, str], row: int,
             reported: set[str | None]) -> list[Finding]:
    """Return a finding for each upload column left empty that the roster checks do not require (发证机构)."""
    return [Finding(row, letters[key], header, key, "error", "upload-missing", {"header": header})
            for key, header in columns if key not in reported and not record.value(key).strip()]


def write_upload(ledger: Ledger, month: str, base: Path, *, setting: str | None = None,
                 today: dt.date | None = None, check_only: bool = False) -> UploadResult:
    """Check `month` and, when nothing blocks it, write BASE.xlsx and BASE.csv; return what happened."""
    base = Path(base)
    if base.suffix.lower() in (".xlsx", ".csv"):
        base = base.with_suffix("")
    targets = (base.with_name(base.name + ".xlsx"), base.with_name(base.name + ".csv"))
    if isinstance(ledger.path, Path) and any(t.resolve() == ledger.path.resolve() for t in targets):
        raise InputError(f"-o {base} 会覆盖凭证台账本身；请写到另一个文件 (the output is the ledger)")
    columns = chosen_columns(setting)
    records, left_out = month_records(ledger, month)
    audited = ledger.audit({r.voucher.center_code for r in records})
    if not audited.ok:  # the rows cannot be trusted: their checks would judge what someone wrote by hand
        return UploadResult(UploadCheck(month, len(records), left_out, chain=audited.discrepancies))
    check = check_upload(records, columns, month, left_out, today or ledger.clock().date())
    _other_centres(check, records, find_duplicates(ledger))
    if not check.valid or check_only:
        return UploadResult(check)
    _write_xlsx(targets[0], month, columns, records)
    _write_csv(targets[1], columns, records)
    return UploadResult(check, targets)


def _write_xlsx(path: Path, month: str, columns: list[tuple[str, str]], records: list[UploadRecord]) -> None:
    """Write the records as a workbook: codes as text, scores as numbers, the issue date as a date."""
    keys = [key for key, _ in columns]
    text_columns = [i for i, key in enumerate(keys) if key in FIELD_BY_KEY and FIELD_BY_KEY[key].is_code]
    rows = ([_typed(key, record) for key in keys] for record in records)
    write_table(path, f"证书数据 {month}", [h for _, h in columns], rows, text_columns=text_columns,
                widths={i: WIDTHS.get(key, 12) for i, key in enumerate(keys)})


def _typed(key: str, record: UploadRecord):
    text = record.value(key)
    if key == "issue_date":
        return record.voucher.issued_on
    if key in ("theory_score", "skill_score"):
        try:
            return float(text)
        except ValueError:
            return text
    return text


def _write_csv(path: Path, columns: list[tuple[str, str]], records: list[UploadRecord]) -> None:
    """Write the records as UTF-8 CSV (with Excel's byte-order mark), every value as text, CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header in columns])
    for record in records:
        writer.writerow([record.value(key) for key, _ in columns])
    write_bytes_atomic(path, buffer.getvalue().encode(CSV_ENCODING))
