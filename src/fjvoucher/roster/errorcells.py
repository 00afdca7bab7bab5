"""Find the cells whose formula failed or was never calculated: the reader shows them as blank or 0.

calamine reads `#REF!`, `#DIV/0!` and a formula with no stored result as an empty cell, and an
.ods error cell that older LibreOffice stored as float 0 as the number 0: a voucher was issued to
a person named "0".  So the sheet itself is read once more for those cells only (.xlsx and .ods
streamed with lxml, .xls as BIFF records out of its compound file), and each is handed to the
checks as a `FormulaError` that names what Excel shows in the cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# What Excel and LibreOffice show in a cell whose formula failed.
ERROR_LITERALS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                            "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
                            "#NV", "#DIV/0", "#NAME!", "#WERT!", "#BEZUG!", "#ZAHL!"})
_LIBREOFFICE_ERROR = re.compile(r"^Err:\d{3}$")
NOT_CALCULATED = "（公式未计算）"  # a formula saved without its result (by a script, not by Excel)
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")
CellErrors = dict[tuple[int, int], str]  # (1-based row, 0-based column) → what the cell shows


class FormulaError(str):
    """A cell whose formula failed (its text is what Excel shows: #REF!) or holds no result."""

    __slots__ = ()


def is_error_text(text: str) -> bool:
    """Return True for text a failed formula shows (#REF!, #DIV/0!, LibreOffice's Err:502)."""
    return text in ERROR_LITERALS or bool(_LIBREOFFICE_ERROR.match(text))


def _iterparse(stream, tags):
    from lxml import etree

    return etree.iterparse(stream, events=("start", "end"), tag=tags, resolve_entities=False, no_network=True,
                           load_dtd=False, huge_tree=True, remove_comments=True)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xlsx_errors(stream) -> CellErrors:
    """Return the cells with t="e", and formulas stored without a result, of a worksheet part."""
    found: CellErrors = {}
    row_number, column = 0, -1
    for event, element in _iterparse(stream, ("{*}row", "{*}c")):
        if _local(element.tag) == "row":
            if event == "start":
                row_number = int(element.get("r") or row_number + 1)
                column = -1
            else:
                element.clear(keep_tail=False)
            continue
        if event == "start":
            continue
        ref = _CELL_REF.match(element.get("r") or "")
        column = _column_index(ref.group(1)) if ref else column + 1
        kind = element.get("t") or "n"
        value = next((c for c in element if _local(c.tag) == "v"), None)
        formula = any(_local(c.tag) == "f" for c in element)
        if kind == "e":
            found[(row_number, column)] = (value.text if value is not None else "") or "#N/A"
        elif formula and (value is None or (not value.text and kind in ("n", "d"))):
            found[(row_number, column)] = NOT_CALCULATED
        element.clear(keep_tail=False)
    return found


def ods_errors(stream, sheet: str) -> CellErrors:
    """Return the error cells of table `sheet` in an .ods content.xml (calcext:value-type="error", or a
    formula showing #REF!/Err:502 over a stored 0)."""
    found: CellErrors = {}
    in_sheet, done, row_number, column = False, False, 0, 0
    for event, element in _iterparse(stream, ("{*}table", "{*}table-row", "{*}table-cell", "{*}covered-table-cell")):
        local = _local(element.tag)
        if local == "table":
            in_sheet = event == "start" and _attribute(element, "name") == sheet
            done = done or (event == "end" and _attribute(element, "name") == sheet)
            if event == "end":
                element.clear(keep_tail=False)
            continue
        if not in_sheet or done:
            continue
        if local == "table-row":
            if event == "start":
                column = 0
            else:
                row_number += int(_attribute(element, "number-rows-repeated") or 1)
                element.clear(keep_tail=False)
            continue
        if event == "start":
            continue
        repeat = int(_attribute(element, "number-columns-repeated") or 1)
        if local == "table-cell" and _attribute(element, "formula"):
            text = "".join(element.itertext()).strip()
            if _attribute(element, "value-type", "calcext") == "error" or is_error_text(text):
                for offset in range(min(repeat, 1024)):
                    found[(row_number + 1, column + offset)] = text or "#N/A"
        column += repeat
    return found


def _attribute(element, local: str, prefix_hint: str = "") -> str:
    """Return the attribute `local` in any namespace (table:name, calcext:value-type …)."""
    for key, value in element.attrib.items():
        if _local(key) == local and (not prefix_hint or prefix_hint in key):
            return value
    return ""


def _column_index(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def with_errors(rows: Iterator[list], errors: CellErrors, first_col: int) -> Iterator[list]:
    """Yield calamine's rows with each error cell replaced by a FormulaError naming what the cell shows."""
    by_row: dict[int, list[tuple[int, str]]] = {}
    for (number, column), text in errors.items():
        if column >= first_col:
            by_row.setdefault(number, []).append((column - first_col, text))
    for number, cells in enumerate(rows, start=1):
        for position, text in by_row.get(number, ()):
            if position >= len(cells):
                cells = [*cells, *[""] * (position + 1 - len(cells))]
            cells[position] = FormulaError(text)
        yield cells


# --- .xls (BIFF8 in an OLE2 compound file) ---------------------------------------------------------

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BIFF_ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!",
               0x2A: "#N/A", 0x2B: "#GETTING_DATA"}
_FREE, _END_OF_CHAIN = 0xFFFFFFFF, 0xFFFFFFFE


def xls_errors(data: bytes, sheet: str) -> CellErrors:
    """Return the error cells of `sheet` in an .xls file: FORMULA records whose result is an error, and
    BOOLERR error constants.  Anything malformed gives {} (calamine has read the file already)."""
    try:
        book = _compound_stream(data, ("Workbook", "Book"))
        return _biff_errors(book, sheet) if book else {}
    except (IndexError, ValueError, UnicodeDecodeError):
        return {}


def _compound_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """Return the first stream called one of `names` in an OLE2 compound file (FAT and mini stream)."""
    import struct

    if not data.startswith(OLE_SIGNATURE):
        return None
    size = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    mini_size = 1 << struct.unpack_from("<H", data, 0x20)[0]
    directory_start, cutoff, minifat_start = struct.unpack_from("<III", data, 0x30)[0], *struct.unpack_from(
        "<I", data, 0x38), struct.unpack_from("<I", data, 0x3C)[0]
    difat = [s for s in struct.unpack_from("<109I", data, 0x4C) if s not in (_FREE, _END_OF_CHAIN)]
    sector = lambda n: data[(n + 1) * size:(n + 2) * size]  # noqa: E731
    fat: list[int] = []
    for n in difat:
        fat += struct.unpack(f"<{size // 4}I", sector(n))
    limit = len(data) // mini_size + 1  # no chain is longer: a loop in a hostile file ends here

    def chain(start: int, table: list[int]) -> list[int]:
        found: list[int] = []
        while start < len(table) and len(found) < limit:
            found.append(start)
            start = table[start]
        return found

    directory = b"".join(sector(n) for n in chain(directory_start, fat))
    entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
    root_start, root_size = struct.unpack_from("<I", entries[0], 116)[0], struct.unpack_from("<I", entries[0], 120)[0]
    for entry in entries:
        length = struct.unpack_from("<H", entry, 64)[0]
        name = entry[:max(0, length - 2)].decode("utf-16-le", "replace")
        if entry[66] != 2 or name not in names:
            continue
        start, stream_size = struct.unpack_from("<II", entry, 116)
        if stream_size >= cutoff:
            return b"".join(sector(n) for n in chain(start, fat))[:stream_size]
        minifat: list[int] = []
        for n in chain(minifat_start, fat):
            minifat += struct.unpack(f"<{size // 4}I", sector(n))
        ministream = b"".join(sector(n) for n in chain(root_start, fat))[:root_size]
        return b"".join(ministream[n * mini_size:(n + 1) * mini_size] for n in chain(start, minifat))[:stream_size]
    return None


def _records(book: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    """Yield (type, body) of the BIFF records from `offset` to their substream's EOF."""
    import struct

    while offset + 4 <= len(book):
        kind, length = struct.unpack_from("<HH", book, offset)
        yield kind, book[offset + 4:offset + 4 + length]
        offset += 4 + length
        if kind == 0x000A:  # EOF
            return


def _biff_errors(book: bytes, sheet: str) -> CellErrors:
    import struct

    start = None
    for kind, body in _records(book, 0):
        if kind == 0x0085 and len(body) >= 8:  # BOUNDSHEET: where the sheet's records start, and its name
            count, flags = body[6], body[7]
            name = body[8:8 + 2 * count].decode("utf-16-le") if flags & 1 else body[8:8 + count].decode("latin-1")
            if name == sheet:
                start = struct.unpack_from("<I", body, 0)[0]
    found: CellErrors = {}
    if start is None:
        return found
    for kind, body in _records(book, start):
        if kind == 0x0006 and len(body) >= 14 and body[12:14] == b"\xff\xff" and body[6] == 2:  # FORMULA, error
            row, column = struct.unpack_from("<HH", body, 0)
            found[(row + 1, column)] = BIFF_ERRORS.get(body[8], "#N/A")
        elif kind == 0x0205 and len(body) >= 8 and body[7] == 1:  # BOOLERR holding an error
            row, column = struct.unpack_from("<HH", body, 0)
            found[(row + 1, column)] = BIFF_ERRORS.get(body[6], "#N/A")
    return found
