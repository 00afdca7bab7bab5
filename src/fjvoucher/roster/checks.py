"""Check a roster against the official layout, cell by cell, and collect the findings in a `Report`.

Validation never raises on bad data: every problem becomes a `Finding` with a stable code.
Each field kind has a normaliser that turns the raw cell into the text the voucher prints
and records what it parsed (dates, level digit, ID facts) for the checks across fields.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from fjvoucher.errors import FjvoucherError, InputError, RosterUnreadable
from fjvoucher.layout import (
    CENTERS,
    EDUCATION_CODES,
    EDUCATION_NAMES,
    EDUCATION_SUFFIXES,
    FIELD_BY_KEY,
    FIELDS,
    FOOTER_WORDS,
    PASSING_RESULTS,
    REQUIRED_KEYS,
    SEX_CODES,
    Field,
    fold_key,
    half_width,
    is_invisible,
    no_problem,
    valid_until,
)
from fjvoucher.roster import cells
from fjvoucher.roster.errorcells import FormulaError, is_error_text
from fjvoucher.roster.idcard import IdInfo, mask_id, parse_id, upgraded_id
from fjvoucher.roster.reading import HEADER_SEARCH_ROWS, Column, RawRow, Roster, cell_at, open_roster
from fjvoucher.roster.records import Candidate, Rejected
from fjvoucher.roster.report import Finding, Report

PSEUDO_COLUMNS = {"photo": "照片"}  # findings about things that are not roster columns
_INTERNED_KINDS = {"sex", "date", "education", "text", "level", "score", "result"}
_EDUCATION = frozenset(EDUCATION_NAMES)
MIN_AGE, MAX_AGE = 16, 70
_NUMBER_DAMAGE_DIGITS = 16  # Excel keeps 15 significant digits: a longer number has lost digits


@dataclass
class CheckedRoster:
    """The outcome of checking a roster: the report, and (when kept) the valid and rejected rows."""

    report: Report
    columns: list[Column]
    candidates: list[Candidate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


class _Parsed(TypedDict, total=False):
    """What the normalisers parsed from a row besides its dates, for the checks across fields."""

    rare: str  # characters of the name outside GBK
    id: IdInfo
    level_digit: int


class _Row:
    """The state of one row while it is checked: printed values, parsed facts, findings."""

    __slots__ = ("number", "values", "parsed", "dates", "findings", "columns")

    def __init__(self, number: int, columns: dict[str, Column]):
        self.number = number
        self.columns = columns
        self.values: dict[str, str] = {}
        self.parsed: _Parsed = {}
        self.dates: dict[str, dt.date] = {}  # by field key
        self.findings: list[Finding] = []

    def add(self, key: str, severity: str, code: str, **params) -> None:
        """Record a finding on the column that holds field `key` (a pseudo-column such as 照片 otherwise)."""
        col = self.columns.get(key)
        fld = FIELD_BY_KEY.get(key)
        header = col.header if col else (fld.header if fld else PSEUDO_COLUMNS.get(key, key))
        self.findings.append(Finding(self.number, col.letter if col else None, header, key, severity, code, params))

    def has_errors(self) -> bool:
        """Return True when any finding on this row is an error."""
        return any(f.severity == "error" for f in self.findings)


# --- normalisers: (raw cell, its text, field, row) -> printed text, or None when unusable -------------

def _text(cell, text: str, fld: Field, row: _Row) -> str:
    return text


def _center(cell, text: str, fld: Field, row: _Row) -> str:
    for severity, code, params in _center_problems(text):
        row.add(fld.key, severity, code, **params)
    return text


_NAME_DOTS = str.maketrans({c: "\u00b7" for c in "•．・‧∙⋅"})  # the dots clerks type in 阿依古丽·买买提
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\U00020000-\U0003134f])[\s\u3000]+(?=[\u3400-\u9fff\U00020000-\U0003134f])")


def _name(cell, text: str, fld: Field, row: _Row) -> str | None:
    hidden = "".join(dict.fromkeys(ch for ch in text if is_invisible(ch)))
    if hidden:  # "王\u200b芳" prints as 王芳 but is not the name anyone types to verify it
        row.add(fld.key, "error", "name-invisible", value="".join(
            f"⟨U+{ord(ch):04X}⟩" if is_invisible(ch) else ch for ch in text),
            chars="、".join(f"U+{ord(ch):04X} {unicodedata.name(ch, '')}".strip() for ch in hidden))
        return None
    starts_with_mark = unicodedata.category(text[0]).startswith("M")  # a mark on nothing: drawn on a dotted circle
    if starts_with_mark or not any(unicodedata.category(ch).startswith("L") for ch in text):
        row.add(fld.key, "error", "name-no-letter", value=text,
                chars=" ".join(f"U+{ord(ch):04X}" for ch in text[:8]))
        return None
    text = text.translate(_NAME_DOTS)
    cleaned = _CJK_GAP.sub("", text)
    if cleaned != text:  # "王  芳": spaces typed to line names up in a column, not part of the name
        row.add(fld.key, "warning", "name-inner-space", value=text, fixed=cleaned)
        text = cleaned
    rare = "".join(dict.fromkeys(ch for ch in text if not cells.in_gbk(ch)))
    if rare:
        row.parsed["rare"] = rare  # the checker asks its glyph probe whether any font draws them
    return text


def _sex(cell, text: str, fld: Field, row: _Row) -> str | None:
    sex = SEX_CODES.get(half_width(text))
    if sex is None:
        row.add(fld.key, "error", "sex-invalid", value=text)
    return sex


def _date(cell, text: str, fld: Field, row: _Row) -> str | None:
    day = cells.parse_date(cell, text)
    if day is None:
        row.add(fld.key, "error", "date-invalid", value=text)
        return None
    row.dates[fld.key] = day
    return cells.chinese_date(day)


def _education(cell, text: str, fld: Field, row: _Row) -> str:
    bare = half_width(text)
    if bare in EDUCATION_CODES:  # a GB/T 4658 code: the voucher prints its name
        return EDUCATION_CODES[bare]
    stem = next((bare.removesuffix(s) for s in EDUCATION_SUFFIXES if bare.endswith(s)), bare)
    if bare not in _EDUCATION and stem not in _EDUCATION:
        row.add(fld.key, "warning", "education-unknown", value=text)
    return text


def _damaged_number(cell, text: str, fld: Field, row: _Row) -> bool:
    """Record and return True when Excel stored a long code as a number and lost digits."""
    looks_scientific = "E+" in text.upper() and text.replace(".", "").upper().split("E+")[0].isdigit()
    if looks_scientific and text.upper().split("E+")[1].isdigit():
        row.add(fld.key, "error", "stored-as-number", value=cells.scientific_digits(text), shown=text,
                lost=cells.scientific_lost(text))
        return True
    if cells.is_number(cell) and len(text) >= _NUMBER_DAMAGE_DIGITS:
        digits, general, lost = cells.as_excel_shows(cell)
        row.add(fld.key, "error", "stored-as-number", value=digits, shown=general, lost=lost)
        return True
    return False


def _ascii_code(text: str, fld: Field, row: _Row) -> str | None:
    """Return a code folded to half-width, or None (with an error) when it holds non-ASCII characters."""
    code = half_width(text)
    if not cells.is_ascii_code(code):
        row.add(fld.key, "error", "code-not-ascii", value=text,
                chars="".join(dict.fromkeys(ch for ch in code if not ch.isascii())))
        return None
    return code


def _id(cell, text: str, fld: Field, row: _Row) -> str | None:
    number = _code(cell, text, fld, row)
    if number is None:
        return None
    number = number.upper()
    info = parse_id(number)
    if not isinstance(info, IdInfo):
        row.add(fld.key, "error", info.code, value=number, **info.params)
        return None
    if info.legacy:
        row.add(fld.key, "warning", "id-legacy", value=number)
    row.parsed["id"] = info
    return number


def _level(cell, text: str, fld: Field, row: _Row) -> str | None:
    digit = cells.level_digit(half_width(text))
    if digit is None:
        row.add(fld.key, "error", "level-unknown", value=text)
        return None
    row.parsed["level_digit"] = digit
    return text


def _score(cell, text: str, fld: Field, row: _Row) -> str | None:
    score = cells.parse_score(cell, text)
    if score is None:
        row.add(fld.key, "error", "score-not-number", value=text)
        return None
    if not 0 <= score <= 100:
        row.add(fld.key, "error", "score-out-of-range", value=text)
    elif not cells.has_one_decimal_at_most(score):
        row.add(fld.key, "error", "score-decimals", value=text)
    elif score < 60:
        row.add(fld.key, "error", "score-fail", value=text)
    else:
        return cells.score_text(cell, text, score)
    return None


def _result(cell, text: str, fld: Field, row: _Row) -> str | None:
    if text not in PASSING_RESULTS:
        row.add(fld.key, "error", "result-not-pass", value=text)
        return None
    return text


def _certificate(cell, text: str, fld: Field, row: _Row) -> str | None:
    number = _code(cell, text, fld, row)
    if number is None:
        return None
    if cells.is_number(cell) and len(number) == 15:
        number = "0" + number
        row.add(fld.key, "warning", "cert-leading-zero-restored", value=text, fixed=number)
    if len(number) != 16 or not number.isdigit():
        row.add(fld.key, "error", "cert-format", value=number, length=len(number))
        return None
    return number


def _code(cell, text: str, fld: Field, row: _Row) -> str | None:
    """Return a code (ID, certificate, exam number, NO) as half-width ASCII, or None with its error recorded."""
    if _damaged_number(cell, text, fld, row):
        return None
    return _ascii_code(text, fld, row)


def _voucher_no(cell, text: str, fld: Field, row: _Row) -> str | None:
    """Return a roster's own NO, or None (with an error) when verify would look it up as something else."""
    number = _code(cell, text, fld, row)
    if number is None:
        return None
    read = no_problem(number)
    if read is not None:
        row.add(fld.key, "error", "voucher-no-form", value=text, read=read)
        return None
    return number


NORMALISERS: dict[str, Callable[..., str | None]] = {
    "text": _text, "name": _name, "sex": _sex, "date": _date, "education": _education, "id": _id,
    "level": _level, "score": _score, "result": _result, "certificate": _certificate, "code": _code,
}
SPECIAL_NORMALISERS = {"center": _center, "voucher_no": _voucher_no}


# Whether any installed font draws a character (None: cannot tell).  Handed in, so that checks run
# no programs and the same roster gives the same findings wherever the probe says the same.
GlyphProbe = Callable[[str], "bool | None"]


class RosterChecker:
    """Check rows one after another, remembering what the whole-roster checks need."""

    def __init__(self, columns: list[Column], today: dt.date, extra_columns: tuple[Column, ...] = (),
                 glyphs: GlyphProbe | None = None, boxes: Mapping[str, float] | None = None):
        self.glyphs, self.boxes = glyphs, boxes or {}
        self.columns = [c for c in columns if c.field is not None]
        self.extra_columns = extra_columns
        self.by_key = {c.field.key: c for c in columns if c.field is not None}
        self.today = today
        self.first_cert: dict[str, int] = {}
        self.first_id: dict[str, tuple[str, int]] = {}
        self.first_entry: dict[tuple[str, str, int], int] = {}
        self.first_voucher_no: dict[str, int] = {}

    def check(self, number: int, raw: list) -> tuple[_Row, Candidate | None]:
        """Check one row; return its state and, when it has no error, the candidate it makes."""
        row = _Row(number, self.by_key)
        for col in self.columns:
            self._check_cell(row, col, cell_at(raw, col.position))
        self._check_across(row)
        self._check_duplicates(row)
        if row.has_errors():
            return row, None
        values = tuple(row.values.get(f.key, "") for f in FIELDS)
        extra = tuple(cells.cell_text(cell_at(raw, c.position))[0] for c in self.extra_columns)
        return row, Candidate(number, values, row.dates.get("birth_date"), row.dates.get("issue_date"), extra)

    def _check_cell(self, row: _Row, col: Column, cell) -> None:
        fld = col.field
        assert fld is not None  # __init__ keeps only the columns that map to a field
        text, had_control = cells.cell_text(cell)
        if had_control:
            row.add(fld.key, "warning", "control-characters", value=text)
        if not text:
            if fld.required:
                row.add(fld.key, "error", "required-missing", header=col.header)
            return
        if isinstance(cell, FormulaError) or is_error_text(text):  # calamine would read it as blank or 0
            row.add(fld.key, "error", "formula-error", value=text)
            return
        if len(text) > cells.MAX_CELL_CHARS:
            row.add(fld.key, "error", "cell-too-long", length=len(text), limit=cells.MAX_CELL_CHARS)
            return
        if "\n" in text or "\r" in text:  # Alt+Enter: the voucher's boxes hold one line
            row.add(fld.key, "error", "line-break", value=text.replace("\r", "").replace("\n", "⏎"))
            return
        normalise = SPECIAL_NORMALISERS.get(fld.key) or NORMALISERS[fld.kind]
        value = normalise(cell, text, fld, row)
        if value is not None:
            row.values[fld.key] = sys.intern(value) if fld.kind in _INTERNED_KINDS else value
            self._check_box(row, fld, value)
        if fld.kind == "name":
            self._check_glyphs(row)

    def _check_box(self, row: _Row, fld: Field, value: str) -> None:
        """Warn when a value is wider than its box on the voucher (measured in 宋体 ems)."""
        limit = self.boxes.get(fld.key)
        # A character is at most one em wide: shorter values fit without being measured.
        if limit is not None and len(value) > limit and (width := cells.text_width_em(value)) > limit + 1e-9:
            row.add(fld.key, "warning", "too-wide-for-box", value=value, header=fld.header,
                    width=f"{width:g}", limit=f"{limit:g}")

    def _check_glyphs(self, row: _Row) -> None:
        """Warn about a name's characters outside GBK: more strongly where no installed font has them."""
        rare = row.parsed.get("rare")
        if not rare:
            return
        missing = "".join(ch for ch in rare if self.glyphs and self.glyphs(ch) is False)
        if missing:  # would print as a box: a stronger warning than "many fonts lack it"
            row.add("name", "warning", "no-glyph", value=row.values["name"], chars=missing)
        else:
            row.add("name", "warning", "name-rare-characters", value=row.values["name"], chars=rare)

    def _check_across(self, row: _Row) -> None:
        """Check what fields say about each other: ID against birth date and sex, dates, certificate."""
        info = row.parsed.get("id")
        birth, issue = row.dates.get("birth_date"), row.dates.get("issue_date")
        for key, day in (("birth_date", birth), ("issue_date", issue)):
            if day is not None and day > self.today:
                row.add(key, "error", "date-future", value=cells.chinese_date(day),
                        today=cells.chinese_date(self.today))
        if issue and issue > self.today:
            issue = None  # already an error; checks derived from it would only add noise
        if birth and issue and issue < birth:
            row.add("issue_date", "error", "issue-before-birth", value=cells.chinese_date(issue),
                    birth=cells.chinese_date(birth))
            issue = None
        if issue and valid_until(issue) < self.today:
            row.add("issue_date", "warning", "expired-on-print", value=cells.chinese_date(issue),
                    until=cells.chinese_date(valid_until(issue)), today=cells.chinese_date(self.today))
        if info and birth and info.birth != birth:
            row.add("birth_date", "error", "id-birth-mismatch", value=cells.chinese_date(birth),
                    id_birth=cells.chinese_date(info.birth))
        sex = row.values.get("sex")
        if info and sex and info.sex != sex:
            row.add("sex", "error", "id-sex-mismatch", value=sex, id_sex=info.sex)
        if birth and (issue or self.today) >= birth:
            age = _age(birth, issue or self.today)
            if not MIN_AGE <= age <= MAX_AGE:
                row.add("birth_date", "warning", "age-unusual", age=age)
        self._check_certificate(row, issue)

    def _check_certificate(self, row: _Row, issue: dt.date | None) -> None:
        cert = row.values.get("certificate_no")
        if not cert:
            return
        digit = row.parsed.get("level_digit")
        if digit is not None and int(cert[10]) != digit:
            row.add("certificate_no", "error", "cert-level-mismatch", value=cert, digit=cert[10],
                    level=row.values["level"], expected=digit)
        if issue and cert[:2] != f"{issue.year % 100:02d}":
            row.add("certificate_no", "warning", "cert-year-mismatch", value=cert,
                    cert_year=cert[:2], issue_year=issue.year)
        if cert[2:4] != "35":
            row.add("certificate_no", "warning", "cert-province", value=cert, province=cert[2:4])

    def _check_duplicates(self, row: _Row) -> None:
        """Flag the later row of a repeated certificate number, ID with two names, or repeated entry."""
        values, number = row.values, row.number
        voucher_no = values.get("voucher_no")
        if voucher_no:
            first = self.first_voucher_no.setdefault(voucher_no, number)
            if first != number:
                row.add("voucher_no", "error", "duplicate-voucher-no", value=voucher_no, first_row=first)
        cert = values.get("certificate_no")
        if cert:
            first = self.first_cert.setdefault(cert, number)
            if first != number:
                row.add("certificate_no", "error", "duplicate-certificate", value=cert, first_row=first)
        id_number, name = values.get("id_number"), values.get("name")
        if not id_number:
            return
        shown, id_number = mask_id(id_number), upgraded_id(id_number)  # 15 digits and their 18: one person
        if name:
            first_name, first_row = self.first_id.setdefault(id_number, (name, number))
            if first_name != name:
                row.add("id_number", "error", "duplicate-id-name", value=shown,
                        first_row=first_row, first_name=first_name, name=name)
        occupation, digit = values.get("occupation"), row.parsed.get("level_digit")
        if occupation and digit is not None:
            first = self.first_entry.setdefault((id_number, occupation, digit), number)
            if first != number:
                row.add("id_number", "error", "duplicate-id-occupation", value=shown, first_row=first)


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def file_findings(roster: Roster) -> list[Finding]:
    """Return the problems of the roster as a whole: header not found, columns missing, repeated or ignored."""
    if roster.header_row is None:
        return [Finding(None, None, None, None, "error", "header-not-found", {"searched": HEADER_SEARCH_ROWS})]
    findings = []
    seen: dict[str, list[Column]] = {}
    for col in roster.columns:
        if col.field is not None:
            seen.setdefault(col.field.key, []).append(col)
    for key in REQUIRED_KEYS:
        if key not in seen:
            fld = FIELD_BY_KEY[key]
            findings.append(Finding(None, None, fld.header, key, "error", "column-missing",
                                    {"header": fld.header, "aliases": "、".join(fld.aliases) or "无"}))
    for key, cols in seen.items():
        if len(cols) > 1:
            findings.append(Finding(None, None, cols[0].header, key, "error", "column-duplicated",
                                    {"header": FIELD_BY_KEY[key].header,
                                     "columns": "、".join(c.letter for c in cols)}))
    if roster.other_sheets:
        findings.append(Finding(None, None, None, None, "warning", "other-sheets",
                                {"sheet": roster.sheet, "others": "、".join(roster.other_sheets)}))
    ignored = [c.header for c in roster.columns if c.field is None]
    if ignored:
        findings.append(Finding(None, None, None, None, "warning", "columns-ignored",
                                {"headers": "、".join(ignored)}))
    return findings


ExtraCheck = Callable[[Candidate, Callable[..., None]], None]


def check_roster(path: Path | str, sheet: str | None = None, *, today: dt.date | None = None,
                 keep: bool = False, extra: ExtraCheck | None = None, extra_columns: tuple[str, ...] = (),
                 glyphs: GlyphProbe | None = None, boxes: Mapping[str, float] | None = None,
                 center: str | None = None) -> CheckedRoster:
    """Read and check the roster at `path`; with `keep`, also return its valid and rejected rows.

    `extra(candidate, add)` checks what a caller needs beyond the layout (merge: photos, the ledger)
    on each row that passed; it reports through `add(key, severity, code, **params)`.
    `extra_columns` names columns outside the layout whose text each candidate keeps (`extra`).
    `glyphs` tells whether an installed font draws a character; without it, no `no-glyph` findings.
    `boxes` gives the width, in ems, of each field's box on the master; wider values are warned about.
    `center` is the centre's name for rows without one (--center, the config); None: none given.
    """
    roster = open_roster(path, sheet)
    report = Report(str(path), roster.sheet, encoding=roster.encoding)
    report.findings.extend(file_findings(roster))
    checked = CheckedRoster(report, roster.columns)
    if roster.header_row is None:
        return checked
    if center:
        report.findings.extend(center_findings(center))
    checker = RosterChecker(roster.columns, today or dt.date.today(), _find_columns(roster, extra_columns), glyphs,
                            boxes)
    footer: list[int] = []
    rows_without_center = 0
    for number, raw in _without_footer(roster.rows, footer):
        row, candidate = checker.check(number, raw)
        if candidate is not None and extra is not None:
            extra(candidate, row.add)
            candidate = None if row.has_errors() else candidate
        rows_without_center += candidate is not None and not candidate["center"]
        _count(checked, number, raw, row, candidate, keep)
    if rows_without_center and not center:
        report.findings.append(Finding(None, None, FIELD_BY_KEY["center"].header, "center", "error",
                                       "center-missing", {"rows": rows_without_center}))
    if footer:
        report.findings.append(Finding(None, None, None, None, "warning", "footer-skipped",
                                       {"rows": "、".join(map(str, footer))}))
    if not report.valid and not only_row_errors(report):  # a file-level error stops every row
        report.valid_rows = 0
        checked.candidates.clear()
    return checked


def only_row_errors(report: Report) -> bool:
    """Return True when no error concerns the file as a whole (rows with errors can be set aside)."""
    return not any(f.row is None and f.severity == "error" for f in report.findings)


def _count(checked: CheckedRoster, number: int, raw: list, row: _Row, candidate: Candidate | None,
           keep: bool) -> None:
    """Add one checked row to the report and, with `keep`, to the candidates or the rejected rows."""
    report = checked.report
    report.rows += 1
    if row.findings:
        report.findings.extend(row.findings)
        if row.has_errors():  # warnings are shown grouped, without the row's label
            report.row_labels[number] = _row_label(row)
    if candidate is not None:
        report.valid_rows += 1
        if keep:
            checked.candidates.append(candidate)
    elif keep:
        checked.rejected.append(Rejected(number, list(raw), row.findings))


def _without_footer(rows: Iterator[RawRow], footer: list[int]) -> Iterator[RawRow]:
    """Yield the data rows, holding back lines that look like totals or signatures (合计：24人, 制表人：…).

    Held lines followed by data are data after all; the trailing block is left out and its row
    numbers are put in `footer`.
    """
    held: list[RawRow] = []
    for number, raw in rows:
        if _footer_line(raw):
            held.append((number, raw))
            continue
        yield from held
        held.clear()
        yield number, raw
    footer.extend(number for number, _ in held)


def _footer_line(raw: list) -> bool:
    """Return True for a row of one to four cells whose first starts like 合计, 制表人, 审核人, 日期 …"""
    if sum(c is not None and c != "" for c in raw) > 4:  # a candidate's row: decided without reading its text
        return False
    filled = [text for text in (cells.cell_text(c)[0] for c in raw) if text]
    return 1 <= len(filled) <= 4 and half_width(filled[0]).startswith(FOOTER_WORDS)


def center_findings(center: str) -> list[Finding]:
    """Return what is wrong with a centre's name given for every row: a near miss of a Fujian centre."""
    return [Finding(None, None, FIELD_BY_KEY["center"].header, "center", severity, code, params)
            for severity, code, params in _center_problems(center)]


def _center_problems(name: str) -> list[tuple[str, str, dict]]:
    import difflib

    if name in CENTERS:
        return []
    close = difflib.get_close_matches(name, CENTERS, n=1, cutoff=0.8)
    if close:
        return [("warning", "center-near-miss", {"value": name, "likely": close[0]})]
    if not name.endswith("中心"):
        return [("warning", "center-incomplete", {"value": name})]
    return []


def _find_columns(roster: Roster, headers: tuple[str, ...]) -> tuple[Column, ...]:
    """Return the roster's columns named `headers` (as written, spaces aside); raise for one it lacks."""
    by_header = {fold_key(c.header): c for c in roster.columns}
    missing = [h for h in headers if fold_key(h) not in by_header]
    if missing:
        present = "、".join(c.header for c in roster.columns)
        raise FjvoucherError(f"名册中没有「{'、'.join(missing)}」列；现有的列：{present}")
    return tuple(by_header[fold_key(h)] for h in headers)


def validate(path: Path | str, sheet: str | None = None, *, today: dt.date | None = None,
             glyphs: GlyphProbe | None = None, boxes: Mapping[str, float] | None = None,
             center: str | None = None) -> Report:
    """Check the roster at `path` against the official layout and return the report."""
    return check_roster(path, sheet, today=today, glyphs=glyphs, boxes=boxes, center=center).report


def _row_label(row: _Row) -> str:
    name = row.values.get("name", "")
    id_number = row.values.get("id_number")
    return "，".join(part for part in (name, mask_id(id_number) if id_number else "") if part)


def certificate_numbers(path: Path | str, sheet: str | None = None) -> list[str]:
    """Return the certificate numbers of a roster's 证书编号 column, normalised as validate does.

    Any list with a 证书编号 column will do: the province's list of national certificates may hold
    nothing but 姓名 and 证书编号.
    """
    roster = open_roster(path, sheet, min_matches=1)
    column = next((c for c in roster.mapped() if c.field and c.field.key == "certificate_no"), None)
    if column is None or column.field is None:
        raise RosterUnreadable(f"{path}：找不到「证书编号」列 (no certificate number column)")
    numbers = []
    for number, raw in roster.rows:
        row = _Row(number, {"certificate_no": column})
        cell = cell_at(raw, column.position)
        text, _ = cells.cell_text(cell)
        if text and (value := _certificate(cell, text, column.field, row)):
            numbers.append(value)
    return numbers


_LOOKS_LIKE_A_FILE = re.compile(r"[/\\]|\.(xlsx|xlsm|xls|ods|csv|txt)$", re.I)


def certificates_from(sources: Iterable[str], sheet: str | None = None) -> list[str]:
    """Return the certificate numbers SOURCES name: lists (their 证书编号 column) or numbers typed.

    A typed number must have the certificate's form (16 digits, full-width folded); anything else,
    a mistyped file name among them, is an InputError naming it, before the ledger is touched.
    """
    numbers: list[str] = []
    for source in sources:
        if Path(source).is_file():
            numbers += certificate_numbers(source, sheet)
            continue
        if _LOOKS_LIKE_A_FILE.search(source.strip()):
            raise InputError(f"找不到文件 {source}（请检查文件名和所在文件夹）(file not found)")
        row = _Row(0, {})
        number = _certificate(source, source.strip(), FIELD_BY_KEY["certificate_no"], row)
        if number is None:
            raise InputError(f"「{source}」不是证书编号（应为 16 位数字，如 0935011001500001），也不是存在的文件 "
                             "(neither a certificate number nor a file)")
        numbers.append(number)
    return numbers
