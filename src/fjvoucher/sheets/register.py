"""The two workbooks a merge leaves for people: the hand-out register and the rejected rows."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import zip_longest
from pathlib import Path

from fjvoucher.roster.reading import Column, cell_at
from fjvoucher.roster.records import Rejected
from fjvoucher.sheets.workbook import Table, write_table, write_workbook

REGISTER_HEADERS = ["序号", "凭证编号", "姓名", "领取人签名", "领取日期", "证书编号", "身份证号", "职业", "等级",
                    "批次文件", "页码"]
REGISTER_WIDTHS: dict[int, float] = {0: 6, 1: 18, 2: 10, 3: 18, 4: 13, 5: 19, 6: 21, 7: 14, 8: 12, 9: 14, 10: 6}
SIGNING_ROW_PT = 36  # 12.7 mm: room to sign by hand


def register_rows(rows: Iterable[list]) -> Iterable[list]:
    """Return the register's rows for vouchers given as [NO, name, certificate, masked ID, occupation,
    level, batch file, page]: numbered, with empty signature and date cells beside the name."""
    for i, (number, name, *rest) in enumerate(rows, start=1):
        yield [i, number, name, "", "", *rest]


def write_register(path: Path, title: str, rows: Iterable[list]) -> Path:
    """Write 发放登记表 as a sign-off sheet: one row per voucher, tall enough to sign."""
    table = Table("发放登记表", REGISTER_HEADERS, rows, title=title, widths=REGISTER_WIDTHS,
                  text_columns=(1, 5, 6), row_height=SIGNING_ROW_PT)
    return write_workbook(path, [table])


def holds_rows(path: Path, rows: Iterable[list]) -> bool:
    """Return True when the register at `path` holds exactly `rows` (nothing typed into it since).

    Both sides are read row by row, so a 150,000-row register is compared in bounded memory.
    """
    import python_calamine

    try:
        existing = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()
        next(existing), next(existing)  # the title line and the header
        for old, new in zip_longest(existing, rows):
            if old is None or new is None or _trimmed([_text(c) for c in old]) != _trimmed([_text(c) for c in new]):
                return False
    except Exception:  # damaged, or not a workbook at all: treated as different, never overwritten
        return False
    return True


def _trimmed(row: list[str]) -> list[str]:
    while row and row[-1] == "":
        row = row[:-1]
    return row


def _text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def write_rejected(path: Path, columns: list[Column], rejected: list[Rejected]) -> Path:
    """Write the rejected rows exactly as read, with their spreadsheet row number and the reasons."""
    width = max((c.position for c in columns), default=-1) + 1
    headers = [""] * width
    for col in columns:
        headers[col.position] = col.header
    rows = ([r.row, "；".join(f"{f.column or ''}：{f.message()}" for f in r.findings if f.severity == "error")]
            + [cell_at(r.cells, i) for i in range(max(width, len(r.cells)))]
            for r in rejected)
    return write_table(path, "未发凭证", ["原行号", "不能发凭证的原因", *headers], rows, widths={1: 60})
