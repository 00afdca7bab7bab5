"""The province's registry of the centres' signed monthly files: `province keys` and `province import`.

The registry is a fjvoucher ledger (a SQLite file) signed by the province's own key: every imported
event is appended through the ordinary chain, so `serve`, `verify`, `audit`, `province duplicates`
and `province upload` read it as any ledger.  Beside it (schema version 5) it keeps the centres'
public keys, where each imported event sits in its centre's chain, and the files imported.  A file
is taken only when its centre's listed key signed it, it continues the centre's chain exactly where
the registry's copy ends (or repeats part of it unchanged), and every voucher it touches is the
centre's own.  Each file is one transaction: all of it or nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from fjvoucher.errors import InputError, LedgerError
from fjvoucher.layout import CENTER_CODE, printable
from fjvoucher.ledger import bookkeeping, projection
from fjvoucher.ledger.chain import GENESIS
from fjvoucher.ledger.exchange import Exchange, ExchangeRefused, peek_exchange, read_exchange, read_public_key, refused
from fjvoucher.ledger.keys import fingerprint
from fjvoucher.ledger.location import Location, is_database_url
from fjvoucher.ledger.monthly import month_bounds
from fjvoucher.ledger.storage import Event, SqliteStorage, stamp
from fjvoucher.ledger.store import Ledger
from fjvoucher.messages import FAILURES

RE_EXPORT = "请让中心重新导出并发送"
NOT_SQLITE = ("离线交换的登记库是一个 SQLite 台账文件：请用 --ledger 省登记库.db；PostgreSQL 共享台账由各中心直接写入，"
              "不需要导入 (the offline registry is a SQLite file)")


@dataclass(frozen=True)
class Outcome:
    """What became of one file: imported (with how many new events), already held, or refused (why)."""

    path: Path
    status: str  # imported, already, refused
    centre: str = ""
    month: str = ""
    added: int = 0
    code: str = ""  # the refusal's code (messages.FAILURES)
    message: str = ""

    def line(self) -> str:
        """Return the outcome in one line for the clerk."""
        if self.status == "refused":
            return f"[未导入 refused] {self.message}"
        what = (f"新增 {self.added} 条事件 (imported)" if self.status == "imported"
                else "已导入过，没有改动 (already imported)")
        return f"{self.path}：中心 {self.centre} {self.month}，{what}"

    def to_dict(self) -> dict:
        """Return the outcome as JSON data."""
        return {"file": str(self.path), "status": self.status, "centre": self.centre, "month": self.month,
                "added": self.added, "code": self.code, "message": self.message}


@dataclass
class ImportReport:
    """Every file's outcome, in the order they were applied."""

    registry: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True when no file was refused."""
        return all(o.status != "refused" for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """Return the exit code: the gravest refusal's (messages.FAILURES), 0 when none."""
        return max((FAILURES[o.code][0] for o in self.outcomes if o.status == "refused"), default=0)

    def lines(self) -> list[str]:
        """Return one line a file, then the counts."""
        added = sum(o.added for o in self.outcomes)
        refusals = sum(o.status == "refused" for o in self.outcomes)
        return [*(o.line() for o in self.outcomes),
                f"登记库 {self.registry}：{len(self.outcomes)} 个文件，新增 {added} 条事件，{refusals} 个未导入 "
                f"(files, events added, refused)"]

    def to_dict(self) -> dict:
        """Return the report as JSON data."""
        return {"registry": self.registry, "ok": self.ok, "files": [o.to_dict() for o in self.outcomes]}


def open_registry(location: Location, *, create: bool = True) -> Ledger:
    """Open the province's registry (a SQLite ledger, made when missing and `create`); refuse a PostgreSQL URL."""
    if is_database_url(location):
        raise InputError(NOT_SQLITE, code="registry-not-sqlite")
    return Ledger(location, create=create)


def registry_storage(ledger: Ledger) -> SqliteStorage:
    """Return the registry's SQLite storage; raise InputError for a PostgreSQL ledger (not an offline registry)."""
    if not isinstance(ledger.storage, SqliteStorage):
        raise InputError(NOT_SQLITE, code="registry-not-sqlite")
    return ledger.storage


def add_key(ledger: Ledger, centre: str, key_text: str, replaces: str = "") -> tuple[str, bool]:
    """List `centre`'s public key (a key file's text or the hex); return its fingerprint and whether it is new.

    The same key again changes nothing.  Another key for a listed centre is taken only with
    `replaces`, the fingerprint of the centre's key in use (a PC lost: the province decides it by
    hand, never by accident); the old key then proves only the centre's chain as far as the
    registry holds it now.  A key speaks for one centre, and a replaced key is never listed again.
    """
    if not CENTER_CODE.fullmatch(centre):
        raise InputError(f"中心代码「{printable(centre)}」应为 4 到 6 位数字，如 3501 (4 to 6 digits)", code="usage")
    key = read_public_key(key_text)
    storage = registry_storage(ledger)
    require_sealed(storage)
    with storage.transaction():
        listed = storage.centre_keys().get(centre)
        if listed == key:
            return fingerprint(key), False
        _check_new_key(storage, centre, key, listed, replaces)
        now = stamp(ledger.clock())
        if listed is not None:
            storage.retire_centre_key(centre, listed, (storage.centre_tip(centre) or (0, GENESIS))[0], now)
        storage.add_centre_key(centre, key, now)
        bookkeeping.seal(storage, ledger.key, ledger.clock)
    return fingerprint(key), True


def _check_new_key(storage: SqliteStorage, centre: str, key: str, listed: str | None, replaces: str) -> None:
    """Refuse a key listed before (for any centre), a second key without --replaces, or a --replaces not in use."""
    if before := storage.key_rows(key):
        whose = before[0]["center_code"]
        replaced = "（已被替换）" if before[0]["until_count"] is not None else ""
        raise LedgerError(f"密钥 {fingerprint(key)} 已登记给中心 {whose}{replaced}，不能再登记给中心 {centre}："
                          "一把密钥只代表一个中心，替换下来的密钥不再使用 "
                          "(the key is another centre's, or was replaced)", code="exchange-key-taken")
    if listed is not None and not replaces:
        raise LedgerError(f"中心 {centre} 已登记密钥 {fingerprint(listed)}，不能再登记 {fingerprint(key)}。"
                          "中心换了电脑（旧密钥丢失）时，与中心电话核实新指纹后运行 province keys add "
                          f"{centre} 新公钥文件 --replaces {fingerprint(listed)} (the centre has another key listed)",
                          code="exchange-key-taken")
    if replaces and (listed is None or fingerprint(listed) != replaces.strip().lower()):
        now = fingerprint(listed) if listed else "（没有）"
        raise LedgerError(f"--replaces {printable(replaces)} 不是中心 {centre} 在用的密钥（在用的是 {now}）。"
                          "请运行 province keys list 查看 (not the centre's key in use)", code="exchange-key-taken")


def list_keys(ledger: Ledger) -> list[tuple[str, str, str]]:
    """Return every key listed, by centre code: the centre, the key's fingerprint, and '' or since when it is replaced
    (and up to which event of the centre's chain it proves)."""
    return [(row["center_code"], fingerprint(row["public_key"]), "" if row["until_count"] is None
             else f"{row['replaced_at']} 起被替换，只证明到第 {row['until_count']} 条事件")
            for row in registry_storage(ledger).key_rows()]


def import_files(ledger: Ledger, paths: list[Path]) -> ImportReport:
    """Import the month's files at `paths` into the registry, each centre's in chain order; return each outcome.

    Files are ordered by their headers first, by centre and place in the chain, whatever the order
    given; then each is read again, proven (signature, hashes) and applied in one transaction, so
    only one file's events are held at a time.
    """
    storage = registry_storage(ledger)
    require_sealed(storage)
    report = ImportReport(str(ledger.path))
    headers: list[Exchange] = []
    for path in paths:
        try:
            headers.append(peek_exchange(Path(path)))
        except ExchangeRefused as exc:
            report.outcomes.append(Outcome(Path(path), "refused", code=exc.code, message=str(exc)))
    for header in sorted(headers, key=lambda e: (e.centre, e.start[0], e.end[0], e.month)):
        try:
            exchange = read_exchange(header.path)
            if exchange.sha256 != header.sha256:
                raise refused(header.path, "exchange-unreadable", "导入时文件被改动", "请等文件传完后再导入")
            report.outcomes.append(_import_one(ledger, storage, exchange))
        except ExchangeRefused as exc:
            report.outcomes.append(Outcome(header.path, "refused", header.centre, header.month, code=exc.code,
                                           message=str(exc)))
    return report


def require_sealed(storage: SqliteStorage) -> None:
    """Raise LedgerError when the registry's keys or import records are not as its key sealed them (edited by SQL):
    a key slipped in would let a forged file in."""
    if problems := bookkeeping.problems(storage):
        code, where, what, _ = problems[0]
        raise LedgerError(f"登记库 {storage.path} 的{where}：{what}。没有导入任何文件；请运行 fjvoucher audit 查看 "
                          "(the registry's bookkeeping does not prove itself)", code="ledger-tampered")


def _import_one(ledger: Ledger, storage: SqliteStorage, exchange: Exchange) -> Outcome:
    """Apply one file in one transaction: check its key and its place in the centre's chain, append what is new."""
    _check_key(storage, exchange)
    with ledger.batch() as batch:
        tip = storage.centre_tip(exchange.centre) or (0, GENESIS)
        if exchange.start[0] > tip[0]:
            raise _missing(storage, exchange, tip)
        _check_overlap(storage, exchange, tip)
        new = [e for e in exchange.events if e["number"] > tip[0]]
        known = any(r["sha256"] == exchange.sha256 for r in storage.imports(exchange.centre))
        links: list[tuple[int, str, int, str]] = []
        owned: set[str] = set()
        for event in new:
            _apply(storage, exchange, event, owned, batch.chain.started)
            stored = batch.chain.append(Event(event["voucher_no"], event["kind"], _moment(exchange, event),
                                              event["reason"], event["actor"], event["other_no"], event["data"]))
            links.append((stored.number, exchange.centre, event["number"], event["hash"]))
        storage.link_imported(links)
        if not known:
            storage.record_import({"sha256": exchange.sha256, "center_code": exchange.centre, "month": exchange.month,
                                   "from_count": exchange.start[0], "to_count": exchange.end[0], "added": len(new),
                                   "at": stamp(ledger.clock())})
        if new or not known:
            bookkeeping.seal(storage, ledger.key, ledger.clock)
    return Outcome(exchange.path, "already" if known else "imported", exchange.centre, exchange.month, len(new))


def _check_key(storage: SqliteStorage, exchange: Exchange) -> None:
    """Refuse a file whose centre has no listed key, that another key signed, or that a replaced key signed past the
    point of the centre's chain the registry held when it was replaced."""
    listed = storage.centre_keys().get(exchange.centre)
    own = next((r for r in storage.key_rows(exchange.public_key) if r["center_code"] == exchange.centre), None)
    if listed is None:
        raise refused(exchange.path, "exchange-unknown-centre",
                      f"登记库没有中心 {exchange.centre} 的公钥（文件由 {exchange.fingerprint} 签名）",
                      f"与中心电话核对指纹后运行 fjvoucher province keys add {exchange.centre} 公钥文件")
    if own is None:
        raise refused(exchange.path, "exchange-wrong-key",
                      f"文件自称来自中心 {exchange.centre}，却由密钥 {exchange.fingerprint} 签名；登记的是 "
                      f"{fingerprint(listed)}", "文件不是该中心导出的，或被伪造：请与中心核实")
    if own["until_count"] is not None and exchange.end[0] > own["until_count"]:
        raise refused(exchange.path, "exchange-key-replaced",
                      f"文件由中心 {exchange.centre} 已被替换的密钥 {exchange.fingerprint} 签名（{own['replaced_at']} "
                      f"替换），它只能证明链的前 {own['until_count']} 条事件，这个文件到第 {exchange.end[0]} 条",
                      f"请中心用新密钥 {fingerprint(listed)} 重新导出这个月（fjvoucher export）")


def _missing(storage: SqliteStorage, exchange: Exchange, tip: tuple[int, str]) -> ExchangeRefused:
    """Return the refusal of a file that starts after the registry's copy of the chain ends, naming what is missing."""
    done = [r["month"] for r in storage.imports(exchange.centre)]
    months = _months_between(max(done), exchange.month) if done else []
    if months:
        named = "、".join(months)
    elif done:
        named = f"{exchange.month} 之前的事件"
    else:
        named = f"{exchange.month} 之前的各月（从该中心台账的第一个月起）"
    return refused(exchange.path, "exchange-missing-month",
                   f"中心 {exchange.centre} 的链在登记库中到第 {tip[0]} 条为止，这个文件（{exchange.month}）从第 "
                   f"{exchange.start[0] + 1} 条开始：缺少 {named}的文件",
                   "请先导入缺少的月份（可以把各月文件一起导入），缺的文件请中心补发")


def _months_between(last: str, month: str) -> list[str]:
    """Return the months after `last` and before `month` (YYYY-MM)."""
    out, current = [], month_bounds(last)[1]
    while current < month_bounds(month)[0]:
        out.append(f"{current:%Y-%m}")
        current = month_bounds(f"{current:%Y-%m}")[1]
    return out


def _check_overlap(storage: SqliteStorage, exchange: Exchange, tip: tuple[int, str]) -> None:
    """Refuse a file whose events the registry already holds with other hashes: a rewritten history."""
    first, last = max(exchange.start[0], 1), min(exchange.end[0], tip[0])
    if first > last:
        return
    theirs = {e["number"]: e for e in exchange.events}
    for old in storage.centre_events(exchange.centre, first, last):
        number = old["center_number"]
        new = theirs.get(number)
        new_hash = new["hash"] if new else exchange.start[1]
        if new_hash == old["center_hash"]:
            continue
        now = f"，文件中是凭证 {new['voucher_no']} 的 {new['kind']}" if new else ""
        raise refused(exchange.path, "exchange-rewritten",
                      f"中心 {exchange.centre} 改写了已导入的历史：第 {number} 条事件已导入的是凭证 "
                      f"{old['voucher_no']} 的 {old['kind']}（哈希 {old['center_hash'][:16]}…）"
                      f"{now}（哈希 {new_hash[:16]}…）",
                      "已导入的事件不能更改：请与中心核实其台账为何与上报的不同（fjvoucher audit）")


def _apply(storage: SqliteStorage, exchange: Exchange, event: dict, owned: set[str], started: int) -> None:
    """Make the change `event` makes in the registry's vouchers table, or refuse it (never another centre's)."""
    number, kind = event["voucher_no"], event["kind"]
    where = f"第 {event['number']} 条事件（凭证 {number}，{kind}）"
    rows: dict[str, dict] = {} if kind in projection.ISSUES else {number: {}}
    if problem := projection.apply(rows, event) or projection.type_problem(
            kind, rows[number] if kind in projection.ISSUES else json.loads(event["data"])):
        raise refused(exchange.path, "exchange-broken", f"{where}：{problem}", RE_EXPORT)
    try:
        _change(storage, exchange, event, rows[number], owned, where, started)
    except (sqlite3.IntegrityError, LedgerError) as exc:  # a unique index the checks above do not foresee
        raise refused(exchange.path, "exchange-broken", f"{where}：与登记库中已有的凭证冲突（{exc}）",
                      "请与中心核实这张凭证") from exc


def _change(storage: SqliteStorage, exchange: Exchange, event: dict, row: dict, owned: set[str], where: str,
            started: int) -> None:
    """Make the change of one proven event in the registry's vouchers table, or refuse it."""
    number, kind = event["voucher_no"], event["kind"]
    if kind in projection.ISSUES:
        _check_new(storage, exchange, row, where)
        if row["center_code"] != exchange.centre:  # taking it would block that centre's own voucher of this NO
            raise refused(exchange.path, "exchange-foreign-voucher",
                          f"{where}：凭证写明属于中心 {printable(str(row['center_code']))}，中心 {exchange.centre} "
                          "不能发放它", "请与中心核实（每个中心只能发放自己的凭证）")
        storage.insert_voucher(row)
        owned.add(number)
        return
    if number not in owned and storage.issuing_centre(number) != exchange.centre:
        raise refused(exchange.path, "exchange-foreign-voucher",
                      f"{where}：这张凭证不是中心 {exchange.centre} 发放的，它不能改动",
                      "请与中心核实（每个中心只能改动自己的凭证）")
    if kind in projection.STATUS_AFTER:
        _check_province_status(storage, exchange, event, where, started)
        storage.set_status(number, projection.STATUS_AFTER[kind])
    else:
        storage.set_fields(number, json.loads(event["data"]))


def _check_province_status(storage: SqliteStorage, exchange: Exchange, event: dict, where: str,
                           started: int) -> None:
    """Refuse a centre's status change that would undo the status the province itself set in the registry.

    `started`: the registry's count before this file; the events after it are this file's (linked at its end).
    """
    number, after = event["voucher_no"], projection.STATUS_AFTER[event["kind"]]
    own = storage.province_status(number, projection.STATUS_KINDS)
    if own is None or own[0] > started:
        return
    current = storage.get(number)
    if current is None or current.status == after:
        return
    raise refused(exchange.path, "exchange-province-changed",
                  f"{where}：省中心已在登记库中把这张凭证改为 {own[1]}（登记库第 {own[0]} 条事件），"
                  f"中心的文件要把它改为 {after}",
                  "请省中心与中心核实；省中心在登记库中撤销自己的改动后，这个文件才能导入")


def _check_new(storage: SqliteStorage, exchange: Exchange, row: dict, where: str) -> None:
    """Refuse a new voucher whose NO is taken, or whose certificate another centre holds in force."""
    number = row["voucher_no"]
    if storage.no_in_use(number):
        holder = storage.issuing_centre(number)
        raise refused(exchange.path, "exchange-no-clash",
                      f"{where}：凭证编号 {number} 已由中心 {holder or '（登记库自己）'} 发放",
                      "两个中心的编号不能相同：请核实编号格式（--no-pattern 中的中心代码）")
    other = next((v for v in storage.for_certificate(row["certificate_no"]) if v.status == "issued"), None)
    if other is not None:
        raise refused(exchange.path, "exchange-certificate-clash",
                      f"{where}：证书 {row['certificate_no']} 已有中心 {other.center_code} 的有效凭证 "
                      f"{other.voucher_no}", "请与两个中心核实这份证书")


def _moment(exchange: Exchange, event: dict) -> dt.datetime:
    """Return the event's time; refuse one the registry would write differently (its hash binds the text)."""
    try:
        moment = dt.datetime.fromisoformat(event["at"])
    except ValueError:
        moment = None
    if moment is None or stamp(moment) != event["at"]:
        raise refused(exchange.path, "exchange-broken", f"第 {event['number']} 条事件的时间「{event['at']}」无法识别",
                      RE_EXPORT)
    return moment
