"""The two workbooks a merge leaves for people: the hand-out register and the rejected rows."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fjvoucher.roster.reading import Column, cell_at
from fjvoucher.roster.records import Rejected
from fjvoucher.sheets.workbook import write_table

REGISTER_HEADERS = ["序号", "凭证编号", "姓名", "证书编号", "身份证号", "职业", "等级", "批次文件", "页码",
                    "领取人签名", "领取日期"]


def write_register(path: Path, rows: Iterable[list]) -> Path:
    """Write 发放登记表: one row per voucher (REGISTER_HEADERS but the last two), room to sign on hand-out."""
    numbered = ([i, *row, "", ""] for i, row in enumerate(rows, start=1))
    return write_table(path, "发放登记表", REGISTER_HEADERS, numbered, landscape=True, text_columns=(1, 3, 4),
                       widths={0: 6, 1: 18, 2: 10, 3: 19, 4: 21, 5: 14, 6: 14, 7: 14, 8: 6, 9: 16, 10: 12})


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
