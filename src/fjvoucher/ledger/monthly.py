"""The monthly report to the province (每月上旬上报上一个月份发放的证书数据), built from the ledger's events.

A month's report is about what happened in that month: vouchers issued or reissued then, and
the changes made then to any voucher, each with its status at the month's end.  Events are
never edited, so the report of a past month reads the same whenever it is run again.

The report is written only from a ledger that audits clean, and carries the month's closing
head (the chain up to the month's last event, signed: Ed25519 signs the same head the same way)
on its own sheet.  Once the province holds it, rewriting anything before it is detectable:
`fjvoucher audit --report` checks the ledger still contains that head.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from fjvoucher.collation import pinyin_key
from fjvoucher.errors import InputError, LedgerError
from fjvoucher.layout import FIELDS
from fjvoucher.ledger.audit import AuditReport, Discrepancy, fingerprint_of, trusted_key
from fjvoucher.ledger.chain import GENESIS, head_message, sign_head
from fjvoucher.ledger.keys import signature_valid
from fjvoucher.ledger.storage import Event, Head, Voucher
from fjvoucher.ledger.store import Ledger
from fjvoucher.messages import EVENT_WORDS, STATUS_WORDS
from fjvoucher.roster.cells import level_digit, parse_date
from fjvoucher.sheets.workbook import Table, write_workbook, written_by_us

REPORT_KIND = "monthly-report"
ISSUING = ("issued", "reissued")
CHANGES = ("reissued", "replaced", "revoked", "restored", "superseded")
PRINTED = [f for f in FIELDS if f.key != "voucher_no"]
FONT_NAME = "宋体"  # what the voucher prints in; Excel and WPS on a Chinese Windows have it
FONT_PT = 10  # the printed sheets: 10 pt at 100 % on A4 landscape (the province reads them on paper)
# The printed 本月发放: what the province checks, sized to fit A4 landscape at 100 % (widths in Excel's units).
# 性别, 出生日期, 文化程度 are in the ID or the data sheet; 补发原凭证 is in 本月变更 (and the data sheet).
PRINT_COLUMNS = [("序号", 4.5, "n"), ("凭证编号", 17, "no"), ("姓名", 9, "name"), ("身份证号", 19.5, "id_number"),
                 ("职业", 12, "occupation"), ("等级", 10, "level"), ("理论知识考核成绩", 7, "theory_score"),
                 ("操作技能考核成绩", 7, "skill_score"), ("评定成绩", 6, "result"),
                 ("证书编号", 17.5, "certificate_no"), ("发证日期", 11, "issued_on"), ("有效期至", 11, "expires_on"),
                 ("月末状态", 14, "state")]
PRINT_DATE = "yyyy-mm-dd"  # narrower than 2009年6月10日: the columns fit the page at 100 %
PRINT_TIME = "yyyy-mm-dd hh:mm"
KIND_WIDTHS = {"name": 9, "sex": 5, "date": 15, "education": 9, "id": 20, "text": 14, "level": 11, "score": 7,
               "result": 7, "certificate": 18, "code": 12}
ISSUED_HEADERS = ["凭证编号", "中心代码", *(f.header for f in PRINTED),
                  "有效期至", "发放时间", "补发原凭证", "月末状态"]
CHANGE_HEADERS = ["时间", "变更", "凭证编号", "姓名", "证书编号", "相关凭证", "原因", "操作人"]
SUMMARY_HEADERS = ["项目", "职业", "等级", "人数"]
CLOSING = ["制表人：＿＿＿＿＿＿＿＿　　　　审核人：＿＿＿＿＿＿＿＿",
           "（单位盖章）　　　　　　　　　　　　　年　　月　　日"]
LEVEL_NAMES = {5: "五级（初级）", 4: "四级（中级）", 3: "三级（高级）", 2: "二级（技师）", 1: "一级（高级技师）"}
HEAD_SHEET = "台账链头"
HEAD_ROWS = {"count": "月末事件数", "hash": "链哈希 (SHA-256)", "signature": "中心签名 (Ed25519)",
             "public_key": "中心公钥", "fingerprint": "公钥指纹"}


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


def write_monthly_report(ledger: Ledger, month: str, path: Path, center: str = "", *,
                         force: bool = False) -> MonthCounts:
    """Write the report of `month` (sheets 本月发放, 本月变更, 汇总) to `path`; return its counts.

    An existing file is replaced only when it is a monthly report fjvoucher wrote, or with `force`.
    """
    if isinstance(ledger.path, Path) and Path(path).resolve() == ledger.path.resolve():
        raise InputError(f"-o {path} 就是凭证台账本身，不能覆盖；请写到另一个文件 (the output is the ledger)")
    if Path(path).is_dir():
        raise InputError(f"-o {path} 是文件夹；请写一个文件名，如 {Path(path) / (month + '.xlsx')} (a folder)",
                         code="output-exists")
    if (Path(path).exists() or Path(path).is_symlink()) and not force and not written_by_us(path, REPORT_KIND):
        raise InputError(f"{path} 已存在，不是 fjvoucher 写的月报，没有覆盖。要覆盖请加 --force，或换一个文件名 "
                         "(exists and fjvoucher did not write it: use --force)", code="output-exists")
    start, end = month_bounds(month)
    audited = ledger.audit()  # a head is committed to the province only for a chain that proves itself
    if not audited.ok:
        raise LedgerError(f"凭证台账 {ledger.path} 有 {len(audited.discrepancies)} 处问题，不能写月报："
                          f"{audited.discrepancies[0].line()}。请运行 fjvoucher audit 查看 (the ledger does not prove "
                          "itself)", code="ledger-tampered")
    closing = closing_head(ledger, end)
    events = ledger.events_between(start, end)
    issued = [e for e in events if e.kind in ISSUING]
    changes = [e for e in events if e.kind in CHANGES]
    vouchers = {e.voucher_no: v for e in events if (v := ledger.get(e.voucher_no)) is not None}
    at_end = {no: state_at_end(ledger, v, end) for no, v in vouchers.items()}
    title = f"{center} {start.year}年{start.month}月 凭证发放月报".strip()
    code_columns = [0, 1] + [i + 2 for i, f in enumerate(PRINTED) if f.is_code]
    printed = [_printed_row(n, vouchers[e.voucher_no], at_end) for n, e in enumerate(issued, start=1)]
    tables = [
        Table("本月发放", [c[0] for c in PRINT_COLUMNS], printed, title=f"{title}：本月发放",
              text_columns=(1, 3, 9), widths={i: c[1] for i, c in enumerate(PRINT_COLUMNS)}, font_size=FONT_PT,
              number_formats={10: PRINT_DATE, 11: PRINT_DATE}, closing=CLOSING, wrapped=(4, 12)),
        Table("本月变更", CHANGE_HEADERS, (_change_row(e, vouchers.get(e.voucher_no)) for e in changes),
              title=f"{title}：本月变更", text_columns=(2, 4, 5), font_size=FONT_PT, closing=CLOSING,
              widths={0: 18, 1: 14, 2: 18, 3: 10, 4: 19, 5: 18, 6: 26, 7: 12}, number_formats={0: PRINT_TIME},
              wrapped=(6,)),
        Table("汇总", SUMMARY_HEADERS, _summary(issued, vouchers, at_end), title=f"{title}：汇总", font_size=FONT_PT,
              widths={0: 30, 1: 24, 2: 18, 3: 10}, closing=CLOSING),
        Table("明细数据", ISSUED_HEADERS, (_issued_row(e, vouchers[e.voucher_no], at_end) for e in issued),
              title=f"{title}：明细数据（全部字段，供核对和汇总，不必打印）", text_columns=code_columns,
              widths=_issued_widths()),
        Table(HEAD_SHEET, ["项目", "说明", "值"], _head_rows(closing), text_columns=(2,), widths={0: 12, 1: 18, 2: 70},
              title=f"{title}：月末台账链头（核对用，请勿改动）"),
    ]
    write_workbook(path, tables, base_font=(FONT_NAME, FONT_PT), kind=REPORT_KIND)
    return MonthCounts(len(issued), len(changes))


def closing_head(ledger: Ledger, end: dt.datetime) -> Head:
    """Return the month's closing head: the chain up to its last event dated before `end`, signed."""
    count, last = ledger.storage.last_event(before=end) or (0, GENESIS)
    return sign_head(ledger.key, count, last, ledger.clock)


def _head_rows(head: Head) -> list[list]:
    values = {"count": head.count, "hash": head.hash, "signature": head.signature, "public_key": head.public_key,
              "fingerprint": fingerprint_of(head.public_key)}
    return [[key, words, values[key]] for key, words in HEAD_ROWS.items()]


def report_head(path: Path) -> Head:
    """Return the closing head a monthly report carries; raise InputError when it has none."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True)
        values = {str(r[0]): r[2] for r in book[HEAD_SHEET].iter_rows(values_only=True) if len(r) >= 3 and r[0]}
        book.close()
        return Head(int(values["count"]), str(values["hash"]), str(values["signature"]), str(values["public_key"]), "")
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"{path} 不是带有「{HEAD_SHEET}」工作表的月报，无法核对 "
                         f"(no closing head in it: {exc})") from exc
    except Exception as exc:  # openpyxl's own errors for a file that is not a workbook
        raise InputError(f"{path} 无法作为月报读取（{type(exc).__name__}）(not a monthly report)") from exc


def check_report(audited: AuditReport, path: Path) -> list[Discrepancy]:
    """Return how the ledger differs from the closing head the report at `path` committed (none: it holds it)."""
    head = report_head(path)
    where = f"月报 {Path(path).name}"
    key, _ = trusted_key(head)
    if not signature_valid(head.public_key, head.signature, head_message(head.count, head.hash)):
        return [Discrepancy("report-signature", where,
                            "月报中的签名无效：月报被改动 (the report's head is not signed)")]
    problems = []
    if key and key != head.public_key:
        problems.append(Discrepancy("report-foreign-key", where,
                                    f"月报由另一把密钥 {fingerprint_of(head.public_key)} 签名 (signed by another key)"))
    found = audited.hashes.get(head.count, GENESIS if head.count == 0 else None)
    if found != head.hash:
        problems.append(Discrepancy("report-head-lost", where,
                                    f"台账中第 {head.count} 条事件的哈希与月报不同：月报之前的历史被改写 "
                                    "(the ledger no longer holds the report's head)"))
    return problems


def _issued_widths() -> dict[int, float]:
    """Return column widths fitted to what each column holds, so one page wide stays readable."""
    widths: dict[int, float] = {0: 17, 1: 7}
    widths.update({i + 2: 22 if f.key == "center" else KIND_WIDTHS[f.kind] for i, f in enumerate(PRINTED)})
    last = len(PRINTED) + 2
    widths.update({last: 15, last + 1: 21, last + 2: 17, last + 3: 9})
    return widths


def state_at_end(ledger: Ledger, voucher: Voucher, end: dt.datetime) -> str:
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


def _printed_row(number: int, voucher: Voucher, at_end: dict[str, str]) -> list:
    values = {"n": number, "no": voucher.voucher_no, "issued_on": voucher.issued_on, "expires_on": voucher.expires_on,
              "state": STATUS_WORDS[at_end[voucher.voucher_no]]}
    kinds = {f.key: f.kind for f in PRINTED}
    return [values[key] if key in values else _typed(kinds[key], voucher.fields[key]) for _, _, key in PRINT_COLUMNS]


def _summary(issued: list[Event], vouchers: dict[str, Voucher], at_end: dict[str, str]) -> list[list]:
    """Return the counts: people by occupation (pinyin order) and level (五级 to 一级), by level, by state.

    A certificate whose voucher was issued and reissued within the month is one person, counted once
    under its latest voucher; the vouchers printed (reissues included) are counted apart.
    """
    latest = {vouchers[e.voucher_no].fields["certificate_no"]: vouchers[e.voucher_no] for e in issued}
    people = list(latest.values())
    # 初级 and 五级/初级 are one level written two ways: counted together under one name.
    by_kind = Counter((v.fields["occupation"], level_digit(v.fields["level"]) or 0) for v in people)
    rows = [["按职业和等级", occupation, LEVEL_NAMES.get(digit, "其他"), count]
            for (occupation, digit), count in sorted(by_kind.items(), key=lambda i: (pinyin_key(i[0][0]), -i[0][1]))]
    by_level = Counter(level_digit(v.fields["level"]) or 0 for v in people)
    rows += [["按等级", "", LEVEL_NAMES.get(digit, "其他"), by_level[digit]]
             for digit in sorted(by_level, reverse=True)]
    states = Counter(at_end[v.voucher_no] for v in people)
    rows += [["按月末状态", STATUS_WORDS[state], "", states[state]] for state in STATE_ORDER if state in states]
    rows.append(["发放人数合计（补发不重复计）", "", "", len(people)])
    rows.append(["印发凭证张数（含补发）", "", "", len(issued)])
    return rows


STATE_ORDER = ("genuine", "expired", "replaced", "revoked", "superseded")
