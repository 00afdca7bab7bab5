"""Read rosters exported by exam software: .xlsx/.xlsm/.xls/.ods through calamine, .csv in UTF-8 or GBK.

The reader only finds the header row and yields raw cells with their spreadsheet row
numbers; deciding what a cell means is the job of `checks`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from fjvoucher.errors import RosterUnreadable
from fjvoucher.layout import Field, field_for_header
from fjvoucher.roster.errorcells import OLE_SIGNATURE, CellErrors, ods_errors, with_errors, xls_errors, xlsx_errors

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
HEADER_SEARCH_ROWS = 30  # title rows above the header ("2009年6月…合格人员名册") are normal
MIN_HEADER_MATCHES = 3
MAX_PART_BYTES = 256 << 20  # one part of a workbook, uncompressed: a 150,000-row roster's sheet is ~40 MB
MAX_FILE_BYTES = 512 << 20
MAX_CELLS = 20_000_000  # rows × columns the reader would allocate: 150,000 × 130 columns

RawRow = tuple[int, list]  # (spreadsheet row number, cells from the first used column on)


@dataclass(frozen=True)
class Column:
    """A column of the sheet as the clerk sees it: letter, header text, and the field it maps to."""

    position: int  # index into a row's cell list
    letter: str
    header: str
    field: Field | None


@dataclass
class Roster:
    """An opened roster: where its header is, which columns map to which fields, and its data rows."""

    path: Path
    sheet: str | None
    header_row: int | None
    columns: list[Column]
    rows: Iterator[RawRow] = field(repr=False)
    other_sheets: tuple[str, ...] = ()  # sheets of the workbook that were not read
    encoding: str | None = None  # of a CSV

    def mapped(self) -> list[Column]:
        """Return the columns that map to a layout field."""
        return [c for c in self.columns if c.field is not None]


def cell_at(cells: list, index: int):
    """Return the cell at `index`, or None past the end of a short row (calamine trims trailing blanks)."""
    return cells[index] if index < len(cells) else None


def column_letter(index: int) -> str:
    """Return the Excel column letter for a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def open_roster(path: Path | str, sheet: str | None = None, min_matches: int = MIN_HEADER_MATCHES) -> Roster:
    """Open `path`, find its header row and return a `Roster` whose rows are read lazily.

    The header is the first rows' row naming most layout fields, at least `min_matches` of them
    (a list of national certificates may have only 姓名 and 证书编号).
    """
    path = Path(path)
    if not path.is_file():
        raise RosterUnreadable(f"{path}：文件不存在 (file not found)")
    if path.stat().st_size == 0:
        raise RosterUnreadable(f"{path}：文件是空的 (the file is empty)")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise RosterUnreadable(f"{path}：文件超过 {MAX_FILE_BYTES >> 20} MB，不像是合格人员名册 (file too large)")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        encoding, rows = _csv_rows(path)
        roster = _locate_header(path, None, rows, 0, min_matches)
        roster.encoding = encoding
        return roster
    if suffix not in SPREADSHEET_SUFFIXES:
        raise RosterUnreadable(
            f"{path}：不是电子表格文件，请使用 .xlsx、.xls、.ods 或 .csv "
            "(not a spreadsheet: use .xlsx, .xls, .ods or .csv)")
    sheet_name, rows, first_col, others = _spreadsheet_rows(path, sheet)
    roster = _locate_header(path, sheet_name, rows, first_col, min_matches)
    roster.other_sheets = others
    return roster


def _spreadsheet_rows(path: Path, sheet: str | None) -> tuple[str, Iterator[list], int, tuple[str, ...]]:
    """Return the chosen sheet's name, an iterator over its rows, its first used column, the other sheets."""
    import python_calamine  # imported here so CSV-only runs start faster

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        names = book.sheet_names
        visible = [m.name for m in book.sheets_metadata if m.visible == python_calamine.SheetVisibleEnum.Visible
                   and m.typ == python_calamine.SheetTypeEnum.WorkSheet]
        name = _choose_sheet(path, names, sheet, visible, active_sheet(path))
        check_size(path, name)  # before calamine allocates the sheet's whole range
        worksheet = book.get_sheet_by_name(name)
        first_col = worksheet.start[1] if worksheet.start else 0
        rows = with_errors(worksheet.iter_rows(), error_cells(path, name), first_col)  # calamine: blank or 0
    except RosterUnreadable:
        raise
    except python_calamine.PasswordError as exc:
        raise RosterUnreadable(
            f"{path}：文件已加密，请在 Excel 中取消密码后另存 (the file is password-protected)") from exc
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise RosterUnreadable(
            f"{path}：无法读取，文件已损坏、已加密或不是电子表格 "
            f"(cannot read: damaged, encrypted or not a spreadsheet: {exc})"
        ) from exc
    return name, rows, first_col, tuple(n for n in names if n != name)


def _choose_sheet(path: Path, names: list[str], sheet: str | None, visible: list[str], active: str | None) -> str:
    """Return the sheet to read: `sheet` when given (name or 1-based number), else the active visible sheet,
    else the first visible one: a hidden sheet is never read unasked."""
    if not names:
        raise RosterUnreadable(f"{path}：工作簿中没有工作表 (the workbook has no sheet)")
    if sheet is None:
        if active in visible:
            return active
        if not visible:
            raise RosterUnreadable(f"{path}：工作簿中没有可见的工作表，请用 --sheet 指定 (no visible sheet)")
        return visible[0]
    if sheet in names:
        return sheet
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise RosterUnreadable(f"{path}：没有名为「{sheet}」的工作表，现有：{'、'.join(names)} (no such sheet)")


CSV_ENCODINGS = ("utf-8-sig", "gb18030", "big5")  # tried in this order when the file has no UTF-16 BOM


def _csv_rows(path: Path) -> tuple[str, Iterator[list]]:
    """Return the encoding and rows of a CSV: UTF-16 (Excel's "Unicode 文本"), UTF-8, GBK/GB18030 or Big5.

    GB18030 decodes almost any bytes, Big5 text included, so among the encodings that decode the
    file the one whose first lines name the most roster columns wins.
    """
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        candidates: list[tuple[str, str | None]] = [("utf-16", _decode(data, "utf-16"))]
    elif b"\0" in data[:4096]:
        raise RosterUnreadable(f"{path}：不是文本格式的 CSV 文件 (not a text CSV file)")
    else:
        candidates = [(name, text) for name in CSV_ENCODINGS if (text := _decode(data, name)) is not None]
    readable = [(name, text) for name, text in candidates if text is not None]
    if not readable:
        raise RosterUnreadable(f"{path}：编码无法识别（试过 UTF-16、{'、'.join(CSV_ENCODINGS)}），"
                               "请另存为 UTF-8 的 CSV (unknown encoding)")
    encoding, text = max(readable, key=lambda c: _headers_named(c[1]))  # ties: the earlier encoding
    return encoding, iter(csv.reader(io.StringIO(text, newline=""), _dialect(text)))


def _decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _headers_named(text: str) -> int:
    """Return how many roster columns the first lines of `text` name."""
    head = text[:4096]
    return len({f.key for f in (field_for_header(w) for w in re.split(r"[,\t;\r\n\"]+", head)) if f})


class _Dialect(csv.excel):
    """Excel's CSV with the sniffed delimiter; the quote stays '"' (a few 'quoted' values are not evidence)."""


def _dialect(text: str) -> type[csv.Dialect]:
    try:
        delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",\t;").delimiter
    except csv.Error:
        delimiter = ","
    return type("RosterDialect", (_Dialect,), {"delimiter": delimiter})


def _locate_header(path: Path, sheet: str | None, rows: Iterator[list], first_col: int,
                   min_matches: int = MIN_HEADER_MATCHES) -> Roster:
    """Find the header among the first rows and return the roster positioned after it."""
    head: list[list] = []
    for row in rows:
        head.append(row)
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    if not any(_is_filled(cell) for row in head for cell in row):
        raise RosterUnreadable(f"{path}：工作表是空的 (the sheet is empty)")
    best, best_score = None, 0
    for i, row in enumerate(head):
        score = len({f.key for f in map(_field_of, row) if f is not None})
        if score > best_score:
            best, best_score = i, score
    numbered = ((n, r) for n, r in enumerate(chain(head, rows), start=1))
    if best is None or best_score < min_matches:
        return Roster(path, sheet, None, [], _data_rows(numbered, 0))
    columns = [
        Column(i, column_letter(first_col + i), str(cell).strip(), _field_of(cell))
        for i, cell in enumerate(head[best])
        if _is_filled(cell)
    ]
    return Roster(path, sheet, best + 1, columns, _data_rows(numbered, best + 1))


def _field_of(cell) -> Field | None:
    return field_for_header(cell) if isinstance(cell, str) else None


def _is_filled(cell) -> bool:
    return not (cell is None or (isinstance(cell, str) and not cell.strip()))


def _data_rows(numbered: Iterator[tuple[int, list]], header_row: int) -> Iterator[RawRow]:
    """Yield the non-blank rows below the header with their spreadsheet row numbers."""
    for number, row in numbered:
        if number > header_row and any(_is_filled(cell) for cell in row):
            yield number, row


_ROW_REF = re.compile(rb'<row r="([0-9]{1,7})"')
_WIDE_CELL_REF = re.compile(rb'<c r="([A-Z]{2,3})[0-9]')  # columns past Z: rare in a roster, costly when far


def active_sheet(path: Path) -> str | None:
    """Return the name of the sheet an .xlsx opens on (its active tab), or None where it cannot be told."""
    try:
        with zipfile.ZipFile(path) as package:
            workbook = package.read("xl/workbook.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    active = re.search(rb'activeTab="(\d+)"', workbook)
    sheets = re.findall(rb'<sheet\b[^>]*\bname="([^"]*)"', workbook)
    index = int(active.group(1)) if active else 0
    return _unescape(sheets[index].decode("utf-8")) if index < len(sheets) else None


def check_size(path: Path, sheet: str) -> None:
    """Refuse a workbook whose parts or used range would take unbounded memory to load, in seconds.

    One cell at XFD1048576 makes the reader allocate the whole range (512 GB); a few KB can
    unpack to gigabytes.  Only .xlsx/.xlsm are ZIP packages read here; others are capped by size.
    """
    try:
        package = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return  # .xls, .ods read by calamine itself; a damaged file fails there with its own message
    with package:
        for info in package.infolist():
            if info.file_size > MAX_PART_BYTES:
                raise RosterUnreadable(f"{path}：文件中的 {info.filename} 解压后有 {info.file_size >> 20} MB，"
                                       "远超一份名册，可能已损坏或是恶意文件 (a part is far too large)")
        part = _sheet_part(package, sheet)
        if part is None:
            return
        rows, columns = _used_range(package, part)
    if rows * columns > MAX_CELLS:
        raise RosterUnreadable(f"{path}：工作表「{sheet}」用到了第 {rows} 行、第 {column_letter(columns - 1)} 列，"
                               f"范围太大无法读取。请删除远处多余的单元格（或把名册复制到新工作表）后重试 "
                               "(the used range is far too large)")


def error_cells(path: Path, sheet: str) -> CellErrors:
    """Return the error and uncalculated formula cells of `sheet` in an .xlsx/.xlsm, .ods or .xls file.

    .xlsb is binary and rare: there calamine's reading stands (the README says so).
    """
    from lxml import etree

    with open(path, "rb") as head:
        if head.read(len(OLE_SIGNATURE)) == OLE_SIGNATURE:
            return xls_errors(path.read_bytes(), sheet)
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            if "content.xml" in names:
                if not _mentions(package, "content.xml", _ODS_FORMULA):
                    return {}
                with package.open("content.xml") as stream:
                    return ods_errors(stream, sheet)
            part = _sheet_part(package, sheet)
            if part is None or part not in names or not _mentions(package, part, _XLSX_FORMULA_OR_ERROR):
                return {}
            with package.open(part) as stream:
                return xlsx_errors(stream)
    except (OSError, zipfile.BadZipFile, etree.XMLSyntaxError):
        return {}  # calamine has read the sheet; a part it could read and we cannot is not a formula error


# Every way a formula or an error cell can be written, for a first pass over the bytes: a sheet that
# holds none of them (most exports) is not parsed a second time.  Plain finds, not a regex: a
# 150,000-row sheet is 136 MB of XML.  Names cannot be written with character references, values
# can: t="&#101;" is caught by its ="&#.
_XLSX_FORMULA_OR_ERROR = (b"<f", b":f", b'"e"', b"'e'", b'="&#', b"='&#")
_ODS_FORMULA = (b"formula",)


def _mentions(package: zipfile.ZipFile, part: str, needles: tuple[bytes, ...]) -> bool:
    """Return True when any of `needles` occurs in `part`, read in chunks."""
    tail = b""
    with package.open(part) as stream:
        while chunk := stream.read(1 << 22):
            data = tail + chunk
            if any(needle in data for needle in needles):
                return True
            tail = chunk[-8:]
    return False


def _sheet_part(package: zipfile.ZipFile, sheet: str) -> str | None:
    """Return the ZIP member holding `sheet`'s cells, from workbook.xml and its relationships."""
    try:
        workbook = package.read("xl/workbook.xml").decode("utf-8")
        rels = package.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return None
    for tag in re.findall(r"<sheet\b[^>]*>", workbook):
        name = re.search(r'\bname="([^"]*)"', tag)
        rid = re.search(r'\br:id="([^"]*)"', tag) or re.search(r'\bid="([^"]*)"', tag)
        if name and rid and _unescape(name.group(1)) == sheet:
            target = re.search(rf'<Relationship\b[^>]*Id="{re.escape(rid.group(1))}"[^>]*Target="([^"]*)"', rels) \
                or re.search(rf'<Relationship\b[^>]*Target="([^"]*)"[^>]*Id="{re.escape(rid.group(1))}"', rels)
            if target:
                member = target.group(1).lstrip("/")
                return member if member.startswith("xl/") else f"xl/{member}"
    return None


def _used_range(package: zipfile.ZipFile, part: str) -> tuple[int, int]:
    """Return the last row and column any cell of `part` uses, reading it in chunks.

    Rows are numbered by their <row r> tags; only cells past column Z are looked at one by one
    (a roster has none), so a 150,000-row sheet is scanned in a fraction of a second.
    """
    rows, columns = 0, 26
    tail = b""
    with package.open(part) as stream:
        while chunk := stream.read(1 << 20):
            data = tail + chunk
            rows = max([rows, *map(int, _ROW_REF.findall(data))])
            columns = max([columns, *map(_column_number, _WIDE_CELL_REF.findall(data))])
            tail = data[-32:]
    return rows, columns


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _unescape(text: str) -> str:
    from html import unescape

    return unescape(text)
