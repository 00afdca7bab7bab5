"""Write the workbooks a centre keeps: cells are written as data, never as formulas Excel would run."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from fjvoucher.roster.reading import column_letter
from fjvoucher.sheets.atomic import write_bytes_atomic

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell_value(value):
    """Return `value` as it may be stored: control characters as Excel's own _xHHHH_ escape."""
    if isinstance(value, str):
        return _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return value


def write_table(path: Path, title: str, headers: list[str], rows: Iterable[list], *,
                widths: dict[int, float] | None = None, text_columns: Iterable[int] = (),
                landscape: bool = False) -> Path:
    """Write one sheet with a bold header row and `rows` below it; strings are always text cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    for col, width in (widths or {}).items():
        sheet.column_dimensions[column_letter(col)].width = width
    if landscape:
        sheet.page_setup.orientation = "landscape"
    sheet.print_title_rows = "1:1"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    text_columns = set(text_columns)
    for row in rows:
        sheet.append([_cell(sheet, value, i in text_columns) for i, value in enumerate(row)])
    return save_workbook(book, Path(path))


def save_workbook(book, path: Path) -> Path:
    """Save an openpyxl workbook to `path` through memory and an atomic rename.

    openpyxl leaves its ZIP file open when a write fails (a full disk): saved to memory first,
    the only write that can fail is ours, which cleans up after itself.
    """
    import io

    buffer = io.BytesIO()
    book.save(buffer)
    write_bytes_atomic(path, buffer.getvalue())
    return path


def _cell(sheet, value, as_text: bool):
    from openpyxl.cell import WriteOnlyCell

    value = cell_value(value)
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl would store "=…" as a formula; a roster value is always text
    if as_text:
        cell.number_format = "@"
    return cell
