"""Does the ledger prove itself?  The full audit, and the cheap checks the reading commands make first.

The audit walks the whole chain: every event's number, link and hash, its time, kind and data;
the signed head; the schema (triggers and tables are ours); and the vouchers table against the
rows the events make.  Each discrepancy is one record (what, which event or voucher, since
when).  The cheap checks compare the signed head with the chain's last event, and one voucher's
events and row, so `verify`, `serve`, `list` and `report` refuse a tampered ledger without a walk.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any, cast

from fjvoucher.errors import LedgerError
from fjvoucher.ledger import bookkeeping, projection, witness
from fjvoucher.ledger.chain import GENESIS, chained, head_message, per_centre, stored_hash
from fjvoucher.ledger.keys import fingerprint, load_key, signature_valid
from fjvoucher.ledger.storage import Head, Storage, Voucher

FEW = 200  # up to this many vouchers are checked one by one; more by one walk of the chain
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


@dataclass(frozen=True)
class Discrepancy:
    """One thing the ledger does not prove: a stable code, where (event #n, voucher NO), what, since when."""

    code: str
    where: str
    what: str
    since: str = ""

    def line(self) -> str:
        """Return the discrepancy as one line for the clerk."""
        since = f"（自 {self.since} 起）" if self.since else ""
        return f"[{self.code}] {self.where}：{self.what}{since}"


@dataclass
class AuditReport:
    """What the audit found: the counts, the head, the key, and every discrepancy."""

    path: str
    events: int = 0
    vouchers: int = 0
    head: Head | None = None
    key: str = ""  # the fingerprint the head was checked against
    discrepancies: list[Discrepancy] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)  # event number → hash, for `audit --report`
    chained: bool = True  # every backend keeps the chain now (kept for programs reading the JSON)
    # PostgreSQL: centre → events, head, key
    centres: dict[str, tuple[int, Head | None, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Return True when nothing is wrong."""
        return not self.discrepancies

    def add(self, code: str, where: str, what: str, since: str = "") -> None:
        """Record one discrepancy."""
        self.discrepancies.append(Discrepancy(code, where, what, since))

    def lines(self) -> list[str]:
        """Return the report for the clerk: one line a discrepancy, then the verdict."""
        out = [d.line() for d in self.discrepancies]
        for centre, (events, tip, key) in self.centres.items():
            at = f"签名的链头 {tip.count} 条 {tip.hash[:16]}…" if tip else "没有签名的链头"
            out.append(f"  中心 {centre or '?'}：{events} 条事件，{at}，密钥 {key or '-'}")
        head = f"，签名的链头 {self.head.count} 条 {self.head.hash[:16]}…" if self.head else ""
        verdict = "发现问题 (discrepancies found)" if self.discrepancies else "完好 (the ledger proves itself)"
        out.append(f"台账 {self.path}：{self.events} 条事件，{self.vouchers} 张凭证{head}，密钥 {self.key or '-'}；"
                   f"{len(self.discrepancies)} 处问题，{verdict}")
        return out

    def to_dict(self) -> dict:
        """Return the report for programs (audit --format json)."""
        return {"ledger": self.path, "ok": self.ok, "chained": self.chained, "events": self.events,
                "vouchers": self.vouchers,
                "head": self.head and {"count": self.head.count, "hash": self.head.hash, "key": self.key},
                "centres": {c: {"events": n, "head": h and {"count": h.count, "hash": h.hash}, "key": k}
                            for c, (n, h, k) in self.centres.items()},
                "discrepancies": [d.__dict__ for d in self.discrepancies]}


def trusted_key(head: Head | None) -> tuple[str, str]:
    """Return the public key a head must be signed with, and a problem ('' for none).

    This user's centre key when there is one; else (a server run by another account, an auditor
    elsewhere) the key the head names, which then only proves the chain matches its head.
    """
    own = load_key(create=False)
    if own is None:
        return (head.public_key if head else ""), ""
    if head and head.public_key != own.public_key:
        return own.public_key, (f"链头由另一把密钥 {fingerprint_of(head.public_key)} 签名，"
                                f"不是本中心的 {own.fingerprint}（台账来自别处，或签名被伪造）")
    return own.public_key, ""


def fingerprint_of(public_key: str) -> str:
    """Return the fingerprint of a stored public key, or say it is unreadable."""
    try:
        return fingerprint(public_key)
    except (ValueError, TypeError):
        return "（无法识别）"


def key_for(storage: Storage, head: Head | None) -> tuple[str, str]:
    """Return the key `storage`'s head must be signed with, and a problem: `trusted_key`, except for another
    centre's chain in a shared registry, whose key only that centre holds (the head names it)."""
    if getattr(storage, "foreign", False):
        return (head.public_key if head else ""), ""
    return trusted_key(head)


@functools.lru_cache(maxsize=4096)
def signed(public_key: str, signature: str, count: int, last_hash: str) -> bool:
    """Return True when `signature` signs the head (count, last_hash) with `public_key` (remembered: a server
    checks the same heads for every query until a write moves them)."""
    return signature_valid(public_key, signature, head_message(count, last_hash))


def head_problem(storage: Storage, *, count_all: bool = True) -> str:
    """Return why the signed head does not match the chain's last event ('' when it does): no walk.

    `count_all` also counts the events (a deletion in the middle); a server asks per query and skips it.
    A registry with a chain per centre answers for each centre its role covers (one query for all);
    a server reading it (read-only, per query) leaves it to each answer, which proves its voucher's
    centre's head with the voucher (`proved_voucher`): one broken centre does not silence the others.
    """
    if not chained(storage):
        return ""  # no head to check (see chain.chained)
    if per_centre(storage):
        if not count_all and getattr(storage, "readonly", False):
            return ""
        for view in storage.centre_chains():
            if problem := head_problem(view, count_all=count_all):
                return f"中心 {view.centre}：{problem}"
        return ""
    # The furthest head seen is read before the ledger: a merge that commits, then records its head, between the
    # two reads would otherwise look like a rolled-back ledger (its record ahead of the state read here).
    known = witness.seen(storage.path) if witnessed(storage) else None
    head, last = storage.head(), storage.last_event()
    if head is None and (schema := storage.schema_problems()):
        return f"表结构被改动：{schema[0]}"
    if head is None:
        return "" if last is None else "链头签名被删除 (the signed head is missing)"
    number, last_hash = last or (0, GENESIS)
    if (head.count, head.hash) != (number, last_hash):
        return f"链头签名记录 {head.count} 条事件，链上是 {number} 条、末尾哈希不同 (the head does not match the chain)"
    if count_all and storage.event_count() != number:
        return f"事件编号到 {number}，实有 {storage.event_count()} 条：有事件被删除或插入 (events missing)"
    key, problem = key_for(storage, head)
    if problem:
        return problem
    if schema := storage.schema_problems():
        return f"表结构被改动：{schema[0]}"
    if not signed(key, head.signature, head.count, head.hash):
        return "链头签名无效（伪造或改动）(the head's signature is not valid)"
    return witness_problem(storage, head, known) if witnessed(storage) else ""


def witnessed(storage: Storage) -> bool:
    """Return whether this computer keeps the furthest head it saw of `storage` (not of a shared registry's chains,
    which every centre moves: its administrator's pg_dump is its history)."""
    return bool(getattr(storage, "witnessed", True)) and not per_centre(storage)


def witness_problem(storage: Storage, head: Head, known: tuple[int, str, str] | None) -> str:
    """Return how the ledger falls short of `known`, the furthest head this computer saw under its name, read
    before `head` was (see head_problem) ('' for none)."""
    if known is None:
        return ""
    count, last_hash, key = known
    if key and head.public_key != key:
        return (f"本机见过的这个台账由密钥 {fingerprint_of(key)} 签名，现在是 {fingerprint_of(head.public_key)}："
                "整条链被换过签名 (re-signed with another key)")
    if count > head.count:
        return (f"本机曾见到这个台账有 {count} 条事件，现在只有 {head.count} 条：台账被换成了旧的副本，"
                "或末尾的事件被删除 (rolled back; restore a backup with fjvoucher restore-backup)")
    found = GENESIS if count == 0 else (storage.link(count) or ("", ""))[1]
    if found != last_hash:
        return f"本机见过的第 {count} 条事件已不在链上：历史被改写 (history rewritten)"
    return ""


def voucher_problem(storage: Storage, voucher_no: str, tip: tuple[int, str] | None = None) -> str:
    """Return what is wrong with one voucher's events and row ('' for nothing): its links, hashes, projection.

    `tip` (count, hash) stands for the signed head inside a write transaction that has appended events.
    """
    if not chained(storage):
        return ""  # no links to check (see chain.chained)
    if per_centre(storage):
        return _centre_voucher_problem(storage.voucher_chain(voucher_no), tip)
    events = list(storage.raw_events(voucher_no))
    rows = list(storage.raw_vouchers(voucher_no))
    return _events_problem(storage, voucher_no, events, rows, tip)


def proved_voucher(storage: Storage, voucher_no: str) -> tuple[Voucher | None, str]:
    """Return the voucher numbered `voucher_no` (or None) and what is wrong with its events and row ('' for nothing).

    A registry with a chain per centre reads both in one query (a server asks this twice a verification).
    """
    if per_centre(storage):
        found = storage.voucher_chain(voucher_no)
        return found[3], _centre_voucher_problem(found, None)
    return storage.get(voucher_no), voucher_problem(storage, voucher_no)


def _centre_voucher_problem(found: tuple, tip: tuple[int, str] | None) -> str:
    """Return what is wrong with a voucher in a registry with a chain per centre: its centre's head, then its own.

    `found` is what PostgresStorage.voucher_chain read in one query: the voucher's centre's chain (its
    head and tip), its events with their neighbours' links, and its row.
    """
    view, events, rows, _ = found
    voucher_no = rows[0]["voucher_no"] if rows else events[0]["voucher_no"] if events else ""
    if not events and not rows:
        return ""
    if any(e["center_code"] != view.centre for e in events):
        return f"有事件记在别的中心的链上，不在中心 {view.centre} 的链上 (an event on another centre's chain)"
    if any(e["id"] is None for e in events):
        return (f"事件尚未连成链：中心 {view.centre} 的下一个 fjvoucher 命令（用本中心的角色和密钥）会连成 "
                "(history not chained yet)")
    if tip is None and (problem := head_problem(view, count_all=False)):
        return f"中心 {view.centre}：{problem}"
    return _events_problem(view, voucher_no, events, rows, tip)


def _events_problem(storage: Storage, voucher_no: str, events: list[dict], rows: list[dict],
                    tip: tuple[int, str] | None) -> str:
    """Return what is wrong with one voucher's events and row, read from `storage`'s chain ('' for nothing)."""
    if not events and not rows:
        return ""
    head = storage.head() if tip is None else Head(tip[0], tip[1], "", "", "")
    replayed: dict[str, dict] = {}
    for event in events:
        number = event["id"]
        if event["hash"] != stored_hash(event) or not STAMP.fullmatch(str(event["at"])):
            return f"第 {number} 条事件被改动 (event edited)"
        before = (GENESIS, GENESIS) if number == 1 else storage.link(number - 1)
        after = storage.link(number + 1)
        if before is None or event["prev"] != before[1]:
            return f"第 {number} 条事件不在链上 (event out of the chain)"
        if (after[0] != event["hash"]) if after else not (head and (head.count, head.hash) == (number, event["hash"])):
            return f"第 {number} 条事件之后的链断开 (chain broken)"
        if problem := projection.apply(replayed, event):
            return f"第 {number} 条事件：{problem}"
    expected = replayed.get(voucher_no)
    if expected is None:
        return "凭证记录没有发放事件，是伪造的 (a voucher row without its issue)"
    if not rows:
        return "凭证记录被删除 (the voucher row was deleted)"
    if changed := projection.differences(expected, rows[0]):
        return f"凭证记录与其事件不符：{'、'.join(changed)} (the row differs from its events)"
    return ""


def rows_problem(storage: Storage, numbers: list[str]) -> str:
    """Return what is wrong with the events and rows of the vouchers `numbers` ('' for nothing).

    A few are checked one by one; many (a whole list) by one walk of the chain, as the audit does.
    """
    if not chained(storage):
        return ""  # no chain to walk (see chain.chained)
    if len(numbers) <= FEW:
        for number in numbers:
            if problem := voucher_problem(storage, number):
                return f"凭证 {number}：{problem}"
        return ""
    if not per_centre(storage):
        return _rows_problem(storage, set(numbers))
    for view in storage.centre_chains(everything=True, every_centre=True):  # the rows may be any centre's
        if problem := head_problem(view, count_all=False) or _rows_problem(view, set(numbers)):
            return f"中心 {view.centre}：{problem}"
    return ""


def _rows_problem(storage: Any, wanted: set[str]) -> str:
    """Return the first thing wrong with one chain, or with its rows numbered in `wanted`, by one walk."""
    walked = AuditReport(str(storage.path))
    expected, _, _ = _walk(storage, walked)
    if walked.discrepancies:
        return walked.discrepancies[0].line()
    for row in storage.raw_vouchers():
        number = row["voucher_no"]
        if number in wanted and (number not in expected or projection.differences(expected[number], row)):
            return f"凭证 {number}：凭证记录与其事件不符 (the row differs from its events)"
    return ""


def require_sound(storage: Storage, voucher_no: str | None = None, *, count_all: bool = True,
                  rows: bool = False) -> None:
    """Raise LedgerError (one line) when the head, voucher `voucher_no`, or the count of rows does not prove itself.

    `rows` compares the number of voucher rows with the number of issues (a row inserted or deleted by hand).
    """
    problem = head_problem(storage, count_all=count_all)
    if not problem and voucher_no is not None:
        problem = voucher_problem(storage, voucher_no)
        problem = problem and f"凭证 {voucher_no}：{problem}"
    if not problem and rows and storage.voucher_count() != storage.issue_count():
        problem = (f"台账有 {storage.voucher_count()} 张凭证，发放事件却是 {storage.issue_count()} 条："
                   "有凭证被插入或删除 (rows inserted or deleted)")
    if problem:
        raise LedgerError(f"凭证台账 {storage.path} 与其签名的记录不符：{problem}。请运行 fjvoucher audit 查看，"
                          "并用备份恢复 (the ledger does not prove itself)", code="ledger-tampered")
    if witnessed(storage) and (head := storage.head()):
        witness.remember(storage.path, head.count, head.hash, head.public_key)


def audit(storage: Storage, centres: set[str] | None = None) -> AuditReport:
    """Walk the whole ledger and return every discrepancy (a registry with a chain per centre: of `centres` only)."""
    report = AuditReport(str(storage.path))
    if not chained(storage):
        report.chained = False
        return report
    for problem in storage.schema_problems():
        report.add("schema", "表结构 schema", problem)
    if per_centre(storage):
        for view in storage.centre_chains(everything=True):
            if centres is None or view.centre in centres:
                _audit_centre(view, report, own=view.centre == storage.own_centre)
        return report
    rows, last_hash, number = _walk(storage, report)
    report.events = number
    _check_head(storage, report, number, last_hash)
    _check_projection(storage, report, rows)
    bookkeeping.check(storage, report)  # the province registry's keys and imports (ledger/bookkeeping.py)
    return report


def _audit_centre(view: Any, report: AuditReport, *, own: bool) -> None:
    """Walk one centre's chain of a shared registry into `report`, its discrepancies named by the centre."""
    found = AuditReport(view.path)
    if waiting := view.unchained():
        found.add("chain-not-built", "链 chain", f"{waiting} 条事件尚未连成链：本中心的下一个 fjvoucher 命令"
                  "（用本中心的角色和密钥）会把它们连成链并签名 (history not chained yet)")
    rows, last_hash, number = _walk(cast("Storage", view), found)
    if number or view.head() is not None or waiting:
        _check_head(cast("Storage", view), found, number, last_hash)
    _check_projection(cast("Storage", view), found, rows)
    report.discrepancies += [Discrepancy(d.code, f"中心 {view.centre or '?'} {d.where}", d.what, d.since)
                             for d in found.discrepancies]
    report.events += number
    report.vouchers += found.vouchers
    report.centres[view.centre] = (number, found.head, found.key)
    if own:  # `audit --report` checks the closing head of the role's own centre's monthly report
        report.hashes = found.hashes


def _walk(storage: Storage, report: AuditReport) -> tuple[dict[str, dict], str, int]:
    """Check every event in chain order; return the rows they make, the last hash and the last number."""
    rows: dict[str, dict] = {}
    last_hash, number = GENESIS, 0
    for event in storage.raw_events():
        number += 1
        where, since = f"第 {event['id']} 条事件（凭证 {event['voucher_no']}，{event['kind']}）", str(event["at"])
        if event["id"] != number:
            report.add("event-missing" if event["id"] > number else "event-order", where,
                       f"编号应为 {number}：之前的事件被删除或插入 (numbering broken)", since)
            number = event["id"] if isinstance(event["id"], int) else number
        if event["prev"] != last_hash:
            report.add("chain-broken", where, "与前一条事件的链接断开：前面的事件被改动、删除或调换 (link broken)",
                       since)
        if event["hash"] != stored_hash(event):
            report.add("event-edited", where, "内容与其哈希不符：这条事件被改动 (content edited)", since)
        if not STAMP.fullmatch(str(event["at"])) or _bad_time(event["at"]):
            report.add("event-damaged", where, f"时间「{event['at']}」无法识别 (bad timestamp)", since)
        if problem := projection.apply(rows, event):
            report.add("event-damaged", where, problem, since)
        last_hash = event["hash"]
        report.hashes[number] = last_hash
    return rows, last_hash, number


def _bad_time(text) -> bool:
    try:
        dt.datetime.fromisoformat(str(text))
    except ValueError:
        return True
    return False


def _check_head(storage: Storage, report: AuditReport, number: int, last_hash: str) -> None:
    head = report.head = storage.head()
    if head is None:
        report.add("head-missing", "链头 head", "没有签名的链头：被删除 (the signed head is missing)")
        return
    if (head.count, head.hash) != (number, last_hash):
        report.add("head-mismatch", "链头 head", f"签名的链头是 {head.count} 条事件，链上有 {number} 条，"
                   "或末尾哈希不同：末尾的事件被删除、添加或改动 (head does not match the chain)", head.at)
    key, problem = key_for(storage, head)
    report.key = fingerprint_of(key) if key else ""
    if problem:
        report.add("head-foreign-key", "链头 head", problem, head.at)
    elif not signed(key, head.signature, head.count, head.hash):
        report.add("head-signature", "链头 head", "签名无效：链头被伪造或改动 (signature not valid)", head.at)
    elif witnessed(storage) and (problem := witness_problem(storage, head, witness.seen(storage.path))):
        report.add("head-rolled-back", "链头 head", problem, head.at)


def _check_projection(storage: Storage, report: AuditReport, expected: dict[str, dict]) -> None:
    seen = set()
    for row in storage.raw_vouchers():
        number = row["voucher_no"]
        seen.add(number)
        report.vouchers += 1
        if number not in expected:
            report.add("voucher-forged", f"凭证 {number}",
                       "台账中有这张凭证，却没有它的发放事件：被插入 (row without events)",
                       str(row.get("created_at", "")))
        elif changed := projection.differences(expected[number], row):
            shown = "、".join(f"{k}「{row.get(k)}」应为「{expected[number].get(k)}」" if k not in ("id_number",) else k
                             for k in changed)
            report.add("voucher-edited", f"凭证 {number}", f"记录与其事件不符：{shown} (row differs from its events)")
    for number in expected.keys() - seen:
        report.add("voucher-deleted", f"凭证 {number}", "有发放事件，台账中却没有这张凭证：被删除 (row deleted)")
