"""Turn raw spreadsheet cells into the text a clerk sees, and parse dates, scores and levels from it."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from fjvoucher.layout import LEVEL_DIGITS

# XML 1.0 forbids these; Excel lets them in through pasted text.  \t and \n are legal and kept.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_EDGE_SPACES = " \t\r\n\u3000\u00a0\ufeff"
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 once Excel's fictional 1900-02-29 is counted


def cell_text(cell) -> tuple[str, bool]:
    """Return the text a clerk sees in `cell`, trimmed, and whether control characters were removed."""
    if cell is None:
        return "", False
    if isinstance(cell, bool):
        return ("TRUE" if cell else "FALSE"), False
    if isinstance(cell, float):
        return (str(int(cell)) if cell.is_integer() else repr(cell)), False
    if isinstance(cell, (int, dt.date, dt.time, dt.timedelta)):
        return str(cell), False
    text = str(cell)
    cleaned = CONTROL_CHARACTERS.sub("", text)
    return cleaned.strip(_EDGE_SPACES), cleaned != text


EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number; the rest become zeros


def as_excel_shows(cell: float) -> tuple[str, str, int]:
    """Return a long number as Excel shows it: its digits (350105196710306000), in a General column
    (3.50105E+17), and how many trailing digits are lost.

    Python's own text of the float (350105196710305984) holds digits Excel never showed anyone.
    """
    from decimal import Decimal

    kept = Decimal(format(float(cell), f".{EXCEL_DIGITS}g"))
    digits = f"{kept:f}"
    mantissa, exponent = f"{float(cell):.5E}".split("E")
    general = f"{mantissa.rstrip('0').rstrip('.')}E{int(exponent):+03d}"
    return digits, general, max(0, len(digits.lstrip("-")) - EXCEL_DIGITS)


def scientific_digits(text: str) -> str:
    """Return the digits a number typed as Excel's General shows it stands for (3.50102E+17 → 350102000000000000)."""
    from decimal import Decimal, InvalidOperation

    try:
        return f"{Decimal(text.upper()):f}"
    except InvalidOperation:
        return text


def scientific_lost(text: str) -> int:
    """Return how many digits a number typed as Excel's General shows it (3.50102E+17) has lost."""
    mantissa, exponent = text.upper().split("E+")
    return max(0, int(exponent) + 1 - len(mantissa.replace(".", "").rstrip("0") or "0"))


def is_number(cell) -> bool:
    """Return True for a cell Excel stored as a number (not text, not a date)."""
    return isinstance(cell, (int, float)) and not isinstance(cell, bool)


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(cell, text: str) -> dt.date | None:
    """Return the date a cell holds: a real Excel date, a serial number or text in the usual forms."""
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    if is_number(cell):
        if float(cell).is_integer() and 19000101 <= cell <= 21001231:
            return _date_from_text(str(int(cell)))
        if 1 <= cell < 2958466:
            return EXCEL_EPOCH + dt.timedelta(days=int(cell))
        return None
    return _date_from_text(unicodedata.normalize("NFKC", text))


def _date_from_text(text: str) -> dt.date | None:
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(*map(int, match.groups()))
            except ValueError:
                return None
    return None


def chinese_date(day: dt.date) -> str:
    """Return `day` the way the certificate prints it: 2009年6月10日."""
    return f"{day.year}年{day.month}月{day.day}日"


_PLAIN_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell


def parse_score(cell, text: str) -> float | None:
    """Return the score a cell holds, or None when it is not a number written plainly.

    A number cell is taken as Excel shows it: 77.80000000000001 (a formula's binary rest) is 77.8.
    Text must be a plain decimal: "1e2", "6_5", "+85", "85." are not scores.
    """
    if is_number(cell):
        return round(float(cell), 9)
    text = unicodedata.normalize("NFKC", text).strip()
    return float(text) if _PLAIN_DECIMAL.match(text) else None


def score_text(cell, text: str, score: float) -> str:
    """Return the score as the voucher prints it: a number cell as Excel shows it, text as typed."""
    if is_number(cell):
        return f"{round(score, 1):g}"
    return unicodedata.normalize("NFKC", text).strip()


def is_ascii_code(text: str) -> bool:
    """Return True when a code (ID, certificate, exam number, NO) is plain ASCII after NFKC.

    Other scripts' digits (Arabic-Indic ٠١٢, Devanagari …) pass str.isdigit() but are not the
    same characters as 0-9: two spellings of one number would escape the duplicate checks.
    """
    return text.isascii()


def text_width_em(text: str) -> float:
    """Return how wide `text` prints in 宋体, in ems: full-width characters 1, the others ½ (SimSun's metrics)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.5 for ch in text)


def display_width(text: str) -> int:
    """Return the columns `text` takes on a terminal: two for a wide (Chinese) character, one otherwise."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def has_one_decimal_at_most(score: float) -> bool:
    """Return True when `score` has no more than one decimal place (85, 85.5; not 85.25)."""
    return abs(score * 10 - round(score * 10)) < 1e-6


_LEVEL_WORDS = re.compile("高级技师|技师|高级|中级|初级|[一二三四五]级")


def level_digit(text: str) -> int | None:
    """Return the level digit (1 = 一级/高级技师 … 5 = 五级/初级), None when unknown or contradictory."""
    found = {LEVEL_DIGITS[word] for word in _LEVEL_WORDS.findall(text.replace("国家职业资格", ""))}
    if len(found) != 1:
        return None
    rest = _LEVEL_WORDS.sub("", text.replace("国家职业资格", ""))
    if re.sub(r"[\s()（）/、\\|工-]", "", rest):
        return None  # words beside the level we do not know
    return found.pop()


def in_gbk(ch: str) -> bool:
    """Return True when `ch` is in GBK, the character set every Chinese font covers."""
    try:
        ch.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True
