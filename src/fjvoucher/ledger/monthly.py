"""The monthly report to the province (每月上旬上报上一个月份发放的证书数据), in the official layout."""

from __future__ import annotations

from pathlib import Path

from fjvoucher.layout import FIELDS
from fjvoucher.ledger.store import Ledger
from fjvoucher.messages import STATUS_WORDS
from fjvoucher.roster.cells import chinese_date
from fjvoucher.sheets.workbook import write_table

HEADERS = [f.header for f in FIELDS] + ["有效期至", "状态", "状态说明"]


def write_monthly_report(ledger: Ledger, month: str, path: Path) -> int:
    """Write every voucher issued in `month` (YYYY-MM) with every printed field; return how many."""
    vouchers = ledger.select(month=month)
    rows = ([v.voucher_no, *(v.fields[f.key] for f in FIELDS[1:]), chinese_date(v.expires_on),
             STATUS_WORDS[v.status], v.status_reason] for v in vouchers)
    text_columns = [i for i, f in enumerate(FIELDS) if f.is_code]
    write_table(path, f"{month} 凭证发放", HEADERS, rows, text_columns=text_columns, landscape=True,
                widths={i: 20 if i in text_columns else 12 for i in range(len(HEADERS))})
    return len(vouchers)
