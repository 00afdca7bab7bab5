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
from fjvoucher.roster.cells import display_width
from fjvoucher.roster.reading import column_letter

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
A4 = "9"  # OOXML paper size code
DATE_FORMAT = 'yyyy"年"m"月"d"日"'
DATETIME_FORMAT = 'yyyy"年"m"月"d"日" hh:mm'
MARK = "fjvoucher:"  # the workbook's dc:identifier starts with it: which fjvoucher output it is


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
    font_size: float | None = None  # points, for the header and the rows; None: Excel's default (11)
    font_name: str | None = None  # None: the workbook's normal font
    closing: list[str] = field(default_factory=list)  # lines printed under the table (制表人、审核人 …)
    number_formats: dict[int, str] = field(default_factory=dict)  # column → Excel number format
    wrapped: Iterable[int] = ()  # columns whose long values wrap within the column (the row grows)


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


def write_workbook(path: Path, tables: list[Table], base_font: tuple[str, float] | None = None,
                   kind: str = "") -> Path:
    """Write `tables`, one sheet each, to `path` (atomically, owner-only).

    `base_font` (name, points) replaces Excel's default Calibri 11 as the workbook's normal font.
    Column widths are counted in digits of that font, so a sheet sized for print says which font
    it is sized in; otherwise each program measures in its own substitute for Calibri (LibreOffice on
    Linux takes DejaVu Sans, a quarter wider) and shrinks the page to fit.  `kind` marks what the
    workbook is in its properties, so that fjvoucher knows it wrote it (`written_by_us`).
    """
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    book.properties.creator = "fjvoucher"
    if kind:
        book.properties.identifier = f"{MARK}{kind}"
    if base_font:
        _set_normal_font(book, *base_font)
    for table in tables:
        _write_sheet(book.create_sheet(table.name[:31]), table)
    return save_workbook(book, Path(path))


def _set_normal_font(book, name: str, size: float) -> None:
    """Make (name, size) the workbook's normal font: the font of unstyled cells and of column widths."""
    from openpyxl.styles import Font
    from openpyxl.utils.indexed_list import IndexedList

    # openpyxl has no public setter: its first font is the one the "Normal" style and style 0 point at.
    book._fonts = IndexedList([Font(name=name, size=size, family=3, charset=134)])  # 134: GB2312 charset


def written_by_us(path: Path, kind: str) -> bool:
    """Return True when `path` is a workbook fjvoucher wrote as `kind` (its properties say so).

    Only the small properties part is read, and parsed without resolving entities; anything that
    is not such a workbook (a roster, a text file, a damaged file) is not ours.
    """
    import zipfile
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(path) as package:
            info = package.getinfo("docProps/core.xml")
            if info.file_size > 64 * 1024:
                return False
            root = ElementTree.fromstring(package.read(info))
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError, ValueError, RuntimeError):
        return False
    identifier = root.find("{http://purl.org/dc/elements/1.1/}identifier")
    return identifier is not None and identifier.text == f"{MARK}{kind}"


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
        cell.font = Font(name=table.font_name, bold=True, size=table.font_size or 11)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        header_cells.append(cell)
    # A wrapped header needs its row raised by hand: Excel and Calc keep a row's height as written.
    sheet.row_dimensions[first_row].height = header_height(table)
    sheet.append(header_cells)
    text_columns = set(table.text_columns)
    body = Font(name=table.font_name, size=table.font_size) if table.font_size else None
    wrapped = set(table.wrapped)
    count = 0
    for row in table.rows:
        if wrapped:  # Excel and Calc keep a written row's height: a wrapped value's row is raised here
            lines = max(_lines(row[i], table.widths.get(i, 8.43)) for i in wrapped)
            if lines > 1:
                sheet.row_dimensions[first_row + count + 1].height = round(lines * (table.font_size or 11) * 1.3 + 2, 1)
        sheet.append([_styled(_cell(sheet, value, i in text_columns), sheet, body, table.number_formats.get(i),
                              i in wrapped) for i, value in enumerate(row)])
        count += 1
    if table.closing:
        sheet.append([])  # a blank row between the table and what is signed under it
    for number, line in enumerate(table.closing, start=first_row + count + 2):
        closing = WriteOnlyCell(sheet, value=line)
        closing.font = Font(name=table.font_name, size=(table.font_size or 11) + 1)
        sheet.merged_cells.add(f"A{number}:{last}{number}")
        sheet.row_dimensions[number].height = CLOSING_ROW_PT
        sheet.append([closing])
    if table.printable:
        _print_setup(sheet, first_row, f"A{first_row}:{last}{first_row + count}")


CLOSING_ROW_PT = 30  # room to sign 制表人 and 审核人 by hand
CJK_WIDTH = 2.0  # a Chinese character is about two of Excel's width units (digits of the default font)


def _lines(value, width: float) -> int:
    """Return how many lines `value` takes wrapped in a column `width` units wide (in the normal font's size)."""
    if not isinstance(value, str):
        return 1
    per_line = max(1, int(width - 1))  # a unit is a digit of the normal font; a Chinese character is two
    return -(-display_width(value) // per_line)


def header_height(table: Table) -> float:
    """Return the header row's height in points: enough lines for the longest header wrapped in its column."""
    size = table.font_size or 11
    lines = 1
    for col, header in enumerate(table.headers):
        width = table.widths.get(col, 8.43) - 1  # Excel's default width; a unit of padding
        per_line = max(1, int(width * 11 / size // CJK_WIDTH))
        lines = max(lines, -(-len(header) // per_line))
    return round(lines * size * 1.35 + 4, 1)


def _styled(value, sheet, font, number_format: str | None, wrap: bool = False):
    """Return `value` as a cell with the table's font, `number_format` and wrapping (plain when none is set)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import Alignment

    if font is None and number_format is None and not wrap:
        return value
    cell = value if isinstance(value, Cell) or type(value).__name__ == "WriteOnlyCell" else WriteOnlyCell(sheet, value)
    if font is not None:
        cell.font = font
    if number_format is not None:
        cell.number_format = number_format
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    return cell


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
