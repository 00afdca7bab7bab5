"""Find the cells whose formula failed or was never calculated: the reader shows them as blank or 0.

calamine reads `#REF!`, `#DIV/0!` and a formula with no stored result as an empty cell, and an
.ods error cell that older LibreOffice stored as float 0 as the number 0: a voucher was issued to
a person named "0".  So the sheet itself is read once more, streamed, for those cells only, and
each is handed to the checks as a `FormulaError` that names what Excel shows in the cell.
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
    for (row, column), text in errors.items():
        if column >= first_col:
            by_row.setdefault(row, []).append((column - first_col, text))
    for number, row in enumerate(rows, start=1):
        for position, text in by_row.get(number, ()):
            if position >= len(row):
                row = [*row, *[""] * (position + 1 - len(row))]
            row[position] = FormulaError(text)
        yield row
