"""The monthly report to the province (每月上旬上报上一个月份发放的证书数据), built from the ledger's events.

A month's report is about what happened in that month: vouchers issued or reissued then, and
the changes made then to any voucher, each with its status at the month's end.  Events are
never edited, so the report of a past month reads the same whenever it is run again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from fjvoucher.errors import InputError
from fjvoucher.layout import FIELDS
from fjvoucher.ledger.storage import Event, Voucher
from fjvoucher.ledger.store import Ledger
from fjvoucher.messages import EVENT_WORDS, STATUS_WORDS
from fjvoucher.roster.cells import parse_date
from fjvoucher.sheets.workbook import Table, write_workbook

ISSUING = ("issued", "reissued")
CHANGES = ("reissued", "replaced", "revoked", "restored", "superseded")
PRINTED = [f for f in FIELDS if f.key != "voucher_no"]
KIND_WIDTHS = {"name": 9, "sex": 5, "date": 15, "education": 9, "id": 20, "text": 14, "level": 11, "score": 7,
               "result": 7, "certificate": 18, "code": 12}
ISSUED_HEADERS = ["凭证编号", "中心代码", *(f.header for f in PRINTED),
                  "有效期至", "发放时间", "补发原凭证", "月末状态"]
CHANGE_HEADERS = ["时间", "变更", "凭证编号", "姓名", "证书编号", "相关凭证", "原因", "操作人"]


@dataclass(frozen=True)
class MonthCounts:
    """How many vouchers a month's report lists as issued, and how many changes."""

    issued: int
    changes: int


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """Return the first moment of `month` (YYYY-MM) and of the month after it."""
    year, number = map(int, month.split("-"))
    start = dt.datetime(year, number, 1)
    return start, dt.datetime(year + number // 12, number % 12 + 1, 1)


def write_monthly_report(ledger: Ledger, month: str, path: Path, center: str = "") -> MonthCounts:
    """Write the report of `month` (sheets 本月发放, 本月变更, 汇总) to `path`; return its counts."""
    if Path(path).resolve() == ledger.path.resolve():
        raise InputError(f"-o {path} 就是凭证台账本身，不能覆盖；请写到另一个文件 (the output is the ledger)")
    start, end = month_bounds(month)
    events = ledger.events_between(start, end)
    issued = [e for e in events if e.kind in ISSUING]
    changes = [e for e in events if e.kind in CHANGES]
    vouchers = {e.voucher_no: v for e in events if (v := ledger.get(e.voucher_no)) is not None}
    at_end = {no: _state_at(ledger, v, end) for no, v in vouchers.items()}
    title = f"{center} {start.year}年{start.month}月 凭证发放月报".strip()
    code_columns = [0, 1] + [i + 2 for i, f in enumerate(PRINTED) if f.is_code]
    tables = [
        Table("本月发放", ISSUED_HEADERS, (_issued_row(e, vouchers[e.voucher_no], at_end) for e in issued),
              title=f"{title}：本月发放", text_columns=code_columns, widths=_issued_widths()),
        Table("本月变更", CHANGE_HEADERS, (_change_row(e, vouchers.get(e.voucher_no)) for e in changes),
              title=f"{title}：本月变更", text_columns=(2, 4, 5),
              widths={0: 18, 1: 12, 2: 20, 3: 10, 4: 20, 5: 20, 6: 24, 7: 12}),
        Table("汇总", ["项目", "职业", "等级", "张数"], _summary(issued, vouchers, at_end), title=f"{title}：汇总",
              widths={0: 14, 1: 20, 2: 16, 3: 10}),
    ]
    write_workbook(path, tables)
    return MonthCounts(len(issued), len(changes))


def _issued_widths() -> dict[int, float]:
    """Return column widths fitted to what each column holds, so one page wide stays readable."""
    widths: dict[int, float] = {0: 17, 1: 7}
    widths.update({i + 2: 22 if f.key == "center" else KIND_WIDTHS[f.kind] for i, f in enumerate(PRINTED)})
    last = len(PRINTED) + 2
    widths.update({last: 15, last + 1: 21, last + 2: 17, last + 3: 9})
    return widths


def _state_at(ledger: Ledger, voucher: Voucher, end: dt.datetime) -> str:
    """Return the voucher's state at the end of the month, expiry included."""
    status = ledger.status_at(voucher.voucher_no, end)
    if status == "issued":
        return "expired" if voucher.expires_on < (end - dt.timedelta(days=1)).date() else "genuine"
    return status


def _issued_row(event: Event, voucher: Voucher, at_end: dict[str, str]) -> list:
    printed = [_typed(f.kind, voucher.fields[f.key]) for f in PRINTED]
    return [voucher.voucher_no, voucher.center_code, *printed, voucher.expires_on, event.at, event.other_no,
            STATUS_WORDS[at_end[voucher.voucher_no]]]


def _typed(kind: str, text: str):
    """Return scores as numbers and dates as dates, so the province's spreadsheet can sum and sort them."""
    if kind == "score":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "date":
        return parse_date(text, text) or text
    return text


def _change_row(event: Event, voucher: Voucher | None) -> list:
    fields = voucher.fields if voucher else {}
    return [event.at, EVENT_WORDS[event.kind], event.voucher_no, fields.get("name", ""),
            fields.get("certificate_no", ""), event.other_no, event.reason, event.actor]


def _summary(issued: list[Event], vouchers: dict[str, Voucher], at_end: dict[str, str]) -> list[list]:
    by_kind = Counter((vouchers[e.voucher_no].fields["occupation"], vouchers[e.voucher_no].fields["level"])
                      for e in issued)
    rows = [["按职业和等级", occupation, level, count] for (occupation, level), count in sorted(by_kind.items())]
    states = Counter(at_end[e.voucher_no] for e in issued)
    rows += [["按月末状态", STATUS_WORDS[state], "", count] for state, count in sorted(states.items())]
    rows.append(["本月发放合计", "", "", len(issued)])
    return rows
