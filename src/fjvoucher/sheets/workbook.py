"""Write the workbooks a centre keeps and prints: cells are data, never formulas Excel would run.

Sheets print on A4 landscape, one page wide, with a title line, the header repeated on every
page, borders and page numbers.  Workbooks are written row by row (openpyxl's write-only mode)
so that 150,000 rows stay in bounded memory; borders come from one conditional format over the
table rather than a style on each of a million cells, which would double the time.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fjvoucher.atomic import write_bytes_atomic
from fjvoucher.roster.reading import column_letter

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
A4 = "9"  # OOXML paper size code
DATE_FORMAT = 'yyyy"年"m"月"d"日"'
DATETIME_FORMAT = 'yyyy"年"m"月"d"日" hh:mm'


@dataclass
class Table:
    """One sheet to write: its tab name, the title printed above it, headers, rows and layout."""

    name: str
    headers: list[str]
    rows: Iterable[list]
    title: str = ""
    widths: dict[int, float] = field(default_factory=dict)
    text_columns: Iterable[int] = ()  # codes: stored as text with the "@" format
    row_height: float | None = None  # points; None: Excel's default
    printable: bool = True  # A4 landscape, one page wide, borders, repeated header, page numbers


def cell_value(value):
    """Return `value` as it may be stored: control characters as Excel's own _xHHHH_ escape."""
    if isinstance(value, str):
        return _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return value


def write_table(path: Path, title: str, headers: list[str], rows: Iterable[list], *,
                widths: dict[int, float] | None = None, text_columns: Iterable[int] = (),
                landscape: bool = False) -> Path:
    """Write one plain sheet (no title line) with a bold header row and `rows` below it."""
    return write_workbook(path, [Table(title, headers, rows, widths=widths or {}, text_columns=text_columns,
                                       printable=landscape)])


def write_workbook(path: Path, tables: list[Table]) -> Path:
    """Write `tables`, one sheet each, to `path` (atomically, owner-only)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for table in tables:
        _write_sheet(book.create_sheet(table.name[:31]), table)
    return save_workbook(book, Path(path))


def _write_sheet(sheet, table: Table) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    for col, width in table.widths.items():
        sheet.column_dimensions[column_letter(col)].width = width
    # Everything that precedes the rows in the sheet's XML is set before the first row is written.
    if table.row_height:
        sheet.sheet_format.defaultRowHeight, sheet.sheet_format.customHeight = table.row_height, True
    if table.printable:
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    last = column_letter(len(table.headers) - 1)
    first_row = 1
    if table.title:
        heading = WriteOnlyCell(sheet, value=table.title)
        heading.font, heading.alignment = Font(bold=True, size=14), Alignment(horizontal="center")
        sheet.merged_cells.add(f"A1:{last}1")
        sheet.row_dimensions[1].height = 24
        sheet.append([heading])
        first_row = 2
    header_cells = []
    for header in table.headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font, cell.alignment = Font(bold=True), Alignment(horizontal="center", vertical="center", wrap_text=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    text_columns = set(table.text_columns)
    count = 0
    for row in table.rows:
        sheet.append([_cell(sheet, value, i in text_columns) for i, value in enumerate(row)])
        count += 1
    if table.printable:
        _print_setup(sheet, first_row, f"A{first_row}:{last}{first_row + count}")


def _print_setup(sheet, header_row: int, table_range: str) -> None:
    """A4 landscape, one page wide, the title and header on every page, borders, page numbers."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Border, Side

    sheet.page_setup.orientation, sheet.page_setup.paperSize = "landscape", A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.print_title_rows = f"1:{header_row}"
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    thin = Side(style="thin")
    sheet.conditional_formatting.add(table_range, FormulaRule(
        formula=["TRUE"], border=Border(left=thin, right=thin, top=thin, bottom=thin)))


def _cell(sheet, value, as_text: bool):
    from openpyxl.cell import WriteOnlyCell

    value = cell_value(value)
    if isinstance(value, (dt.date, dt.datetime)):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
        return cell
    if not isinstance(value, str):
        return value
    if not as_text and not value.startswith("="):  # openpyxl stores other strings as text by itself: no cell
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl would store "=…" as a formula; a roster value is always text
    if as_text:
        cell.number_format = "@"
    return cell


def save_workbook(book, path: Path) -> Path:
    """Save an openpyxl workbook to `path` through memory and an atomic rename.

    openpyxl leaves its ZIP file open when a write fails (a full disk): saved to memory first,
    the only write that can fail is ours, which cleans up after itself.
    """
    buffer = io.BytesIO()
    book.save(buffer)
    write_bytes_atomic(path, buffer.getvalue())
    return path
