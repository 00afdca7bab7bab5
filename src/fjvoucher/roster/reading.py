"""Read rosters exported by exam software: .xlsx/.xlsm/.xls/.ods through calamine, .csv in UTF-8 or GBK.

The reader only finds the header row and yields raw cells with their spreadsheet row
numbers; deciding what a cell means is the job of `checks`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from fjvoucher.errors import RosterUnreadable
from fjvoucher.layout import Field, field_for_header

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
HEADER_SEARCH_ROWS = 30  # title rows above the header ("2009年6月…合格人员名册") are normal
MIN_HEADER_MATCHES = 3

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


def open_roster(path: Path | str, sheet: str | None = None) -> Roster:
    """Open `path`, find its header row and return a `Roster` whose rows are read lazily."""
    path = Path(path)
    if not path.is_file():
        raise RosterUnreadable(f"{path}：文件不存在 (file not found)")
    if path.stat().st_size == 0:
        raise RosterUnreadable(f"{path}：文件是空的 (the file is empty)")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        sheet_name, rows, first_col = None, _csv_rows(path), 0
    elif suffix in SPREADSHEET_SUFFIXES:
        sheet_name, rows, first_col = _spreadsheet_rows(path, sheet)
    else:
        raise RosterUnreadable(
            f"{path}：不是电子表格文件，请使用 .xlsx、.xls、.ods 或 .csv "
            "(not a spreadsheet: use .xlsx, .xls, .ods or .csv)")
    return _locate_header(path, sheet_name, rows, first_col)


def _spreadsheet_rows(path: Path, sheet: str | None) -> tuple[str, Iterator[list], int]:
    """Return the chosen sheet's name, an iterator over its rows, and its first used column."""
    import python_calamine  # imported here so CSV-only runs start faster

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        names = book.sheet_names
        name = _choose_sheet(path, names, sheet)
        worksheet = book.get_sheet_by_name(name)
        rows = worksheet.iter_rows()
        first_col = worksheet.start[1] if worksheet.start else 0
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
    return name, rows, first_col


def _choose_sheet(path: Path, names: list[str], sheet: str | None) -> str:
    """Return the sheet to read: the first unless `sheet` names one (or gives its 1-based number)."""
    if not names:
        raise RosterUnreadable(f"{path}：工作簿中没有工作表 (the workbook has no sheet)")
    if sheet is None:
        return names[0]
    if sheet in names:
        return sheet
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise RosterUnreadable(f"{path}：没有名为「{sheet}」的工作表，现有：{'、'.join(names)} (no such sheet)")


def _csv_rows(path: Path) -> Iterator[list]:
    """Return the rows of a CSV in UTF-8 (with or without BOM) or GBK/GB18030, detected from the bytes."""
    data = path.read_bytes()
    if b"\0" in data[:4096]:
        raise RosterUnreadable(f"{path}：不是文本格式的 CSV 文件 (not a text CSV file)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise RosterUnreadable(
                f"{path}：编码无法识别，请另存为 UTF-8 或 GBK 的 CSV (unknown encoding)") from exc
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return iter(csv.reader(io.StringIO(text, newline=""), dialect))


def _locate_header(path: Path, sheet: str | None, rows: Iterator[list], first_col: int) -> Roster:
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
    if best is None or best_score < MIN_HEADER_MATCHES:
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
