"""The signed monthly exchange: a month of a centre's chain in one file, for a province without a connection.

A month's file is the contiguous run of the centre's chain from the month's opening head to its
closing head (the same cut the monthly report's closing head uses), every event with every stored
column, so the province recomputes each event's hash and link exactly as the centre's audit does.
The centre's key signs the format, the centre, the month and both ends (count and hash); the
events are bound through the hashes.  An empty month still has a file (from = to): it was reported.
The format is the README's "交换文件格式"; exporting the same month twice gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

from fjvoucher.atomic import write_bytes_atomic
from fjvoucher.errors import ExitCode, FjvoucherError, InputError, LedgerError
from fjvoucher.layout import CENTER_CODE
from fjvoucher.ledger.chain import GENESIS, event_hash, per_centre
from fjvoucher.ledger.keys import fingerprint, signature_valid
from fjvoucher.ledger.monthly import month_bounds
from fjvoucher.ledger.storage import stamp
from fjvoucher.ledger.store import Ledger
from fjvoucher.messages import FAILURES

FORMAT = "fjvoucher-exchange-1"
COLUMNS = ("number", "prev", "hash", "voucher_no", "kind", "at", "reason", "actor", "other_no", "data")
SUFFIX = ".fjv"
MONTH_LENGTH = 7  # 2026-11
FILE_START = f'{{"format":"{FORMAT}",'.encode("ascii")  # how export_month's files begin
# A file is read whole (and parsed into several times its size): a month of one centre is far smaller (the
# province's 150,000 vouchers of two months make 80 MB in all), so anything bigger is refused unread.
MAX_FILE_BYTES = 256 << 20


def signed_message(centre: str, month: str, start: tuple[int, str], end: tuple[int, str], public_key: str) -> bytes:
    """Return what the centre key signs for a month's file: format, centre, month, both ends, the key."""
    return f"{FORMAT}\n{centre}\n{month}\n{start[0]}\n{start[1]}\n{end[0]}\n{end[1]}\n{public_key}\n".encode("ascii")


@dataclass(frozen=True)
class Exchange:
    """One month's file as read and proven: who, which month, the run of the chain it carries."""

    path: Path
    centre: str
    month: str
    public_key: str
    start: tuple[int, str]  # (count, hash) of the chain before the month: the opening head
    end: tuple[int, str]  # (count, hash) after it: the closing head
    events: tuple[dict, ...]  # COLUMNS → value as stored at the centre
    sha256: str  # of the file's bytes
    signature: str = ""  # hex Ed25519 signature of signed_message(…)

    @property
    def fingerprint(self) -> str:
        """Return the fingerprint of the key that signed the file."""
        return fingerprint(self.public_key)


class ExchangeRefused(FjvoucherError):
    """A month's file the province does not take: unreadable, not signed by the centre's key, or not its chain."""

    code = "exchange-refused"


def export_month(ledger: Ledger, month: str, path: Path, centre: str | None = None) -> Exchange:
    """Write `month`'s run of the ledger's chain to `path`, signed with the centre key; return what was written.

    The ledger must audit clean (a file is a commitment to the province, like the monthly report).
    """
    refuse_shared(ledger)
    if isinstance(ledger.path, Path) and Path(path).resolve() == ledger.path.resolve():
        raise InputError(f"-o {path} 就是凭证台账本身，不能覆盖；请写到另一个文件 (the output is the ledger)")
    if (Path(path).exists() or Path(path).is_symlink()) and not _ours(Path(path)):
        raise InputError(f"{path} 已存在，不是 fjvoucher 导出的交换文件，没有覆盖。请换一个文件名 "
                         "(exists and fjvoucher did not write it)", code="output-exists")
    audited = ledger.audit()
    if not audited.ok:
        raise LedgerError(f"凭证台账 {ledger.path} 有 {len(audited.discrepancies)} 处问题，不能导出："
                          f"{audited.discrepancies[0].line()}。请运行 fjvoucher audit 查看 (the ledger does not prove "
                          "itself)", code="ledger-tampered")
    centre = centre or sole_centre(ledger)
    opening, closing = month_bounds(month)
    start = ledger.storage.last_event(before=opening) or (0, GENESIS)
    end = ledger.storage.last_event(before=closing) or (0, GENESIS)
    events = [{c: row["id"] if c == "number" else row[c] for c in COLUMNS}
              for row in ledger.storage.raw_events() if start[0] < row["id"] <= end[0]]
    key = ledger.key
    signature = key.sign(signed_message(centre, month, start, end, key.public_key))
    header = {"format": FORMAT, "centre": centre, "month": month, "public_key": key.public_key,
              "fingerprint": key.fingerprint, "from": {"count": start[0], "hash": start[1]},
              "to": {"count": end[0], "hash": end[1]},
              "signature": signature,
              "columns": list(COLUMNS)}
    data = encode_file(header, [[e[c] for c in COLUMNS] for e in events])
    write_bytes_atomic(Path(path), data)
    return Exchange(Path(path), centre, month, key.public_key, start, end, tuple(events),
                    hashlib.sha256(data).hexdigest(), signature)


def _ours(path: Path) -> bool:
    """Return True when `path` is a regular file that begins as every exchange file does (never a link to one)."""
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as file:
        return file.read(len(FILE_START)) == FILE_START


def encode_file(header: dict, rows: list[list]) -> bytes:
    """Return the file's bytes: the header's keys in order, then one event a line (diffable, deterministic)."""
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":"))[:-1]
    lines = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows)
    return f'{head},"events":[\n{lines}\n]}}\n'.encode()


def refuse_shared(ledger: Ledger) -> None:
    """Raise LedgerError for a PostgreSQL registry: its centres write into it directly, each on its own chain."""
    if per_centre(ledger.storage):
        raise LedgerError(f"台账 {ledger.path} 在 PostgreSQL 上，它已经是共享登记库，不需要导出交换文件 "
                          "(a PostgreSQL registry is shared already: nothing to export)", code="ledger-shared")


def sole_centre(ledger: Ledger) -> str:
    """Return the one centre code the ledger's vouchers carry; raise InputError when none or several."""
    refuse_shared(ledger)
    codes = sorted({row["center_code"] for row in ledger.storage.raw_vouchers()})
    if len(codes) == 1 and CENTER_CODE.fullmatch(codes[0]):
        return codes[0]
    found = "、".join(codes) or "（台账中还没有凭证 no vouchers yet）"
    raise InputError(f"不能确定本中心的代码（台账中的中心代码：{found}）。请先设置 "
                     "fjvoucher config set center_code 3501 (say which centre exports)", code="usage")


def peek_exchange(path: Path) -> Exchange:
    """Return a month's file's header (who, which month, which run of the chain), its events left out, unproven.

    Enough to put files in chain order without holding every file's events at once.
    """
    exchange = _read(Path(path))
    return replace(exchange, events=())


def read_exchange(path: Path) -> Exchange:
    """Read a month's file and prove it by itself: its signature, and every event's hash and link.

    Whether the key is the centre's is the registry's question (province/imports.py).  Raise
    ExchangeRefused naming the file and what is wrong.
    """
    exchange = _read(Path(path))
    doc_signature = exchange.signature
    message = signed_message(exchange.centre, exchange.month, exchange.start, exchange.end, exchange.public_key)
    if not signature_valid(exchange.public_key, doc_signature, message):
        raise refused(path, "exchange-signature", "签名无效：文件在导出后被改动，或签名是伪造的",
                      "请让中心重新导出并发送")
    prove_run(exchange)
    return exchange


def _read(path: Path) -> Exchange:
    """Return the file's content checked for shape; raise ExchangeRefused when it cannot be read as one."""
    try:
        if (size := path.stat().st_size) > MAX_FILE_BYTES:
            raise refused(path, "exchange-unreadable", f"文件过大（{size >> 20} MB，月度文件不会超过 "
                          f"{MAX_FILE_BYTES >> 20} MB）(too large)", "请核对是否选错了文件，或让中心重新导出")
        data = path.read_bytes()
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_unique, parse_constant=_no_constant)
    except RecursionError as exc:  # a value nested thousands deep: no export writes one
        raise refused(path, "exchange-unreadable", "无法读取（嵌套过深 nested too deep）",
                      "请让中心重新导出并发送") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise refused(path, "exchange-unreadable", f"无法读取（{str(exc)[:120]}）", "请让中心重新导出并发送") from exc
    return _parsed(path, doc, hashlib.sha256(data).hexdigest())


def _unique(pairs: list[tuple[str, object]]) -> dict:
    """Return an object's keys and values; raise ValueError for a key given twice (a reader and the import would
    each see another value)."""
    doc = dict(pairs)
    if len(doc) != len(pairs):
        twice = sorted({key for key, _ in pairs if sum(k == key for k, _ in pairs) > 1})
        raise ValueError(f"duplicate key {', '.join(twice)[:60]}")
    return doc


def _no_constant(name: str) -> float:
    """Refuse NaN and Infinity: not JSON, and never written by an export."""
    raise ValueError(f"{name} is not JSON")


def _parsed(path: Path, doc: object, sha256: str) -> Exchange:
    """Return the file's content checked for shape; raise ExchangeRefused when it is not a month's file."""
    def bad(what: str) -> ExchangeRefused:
        return refused(path, "exchange-unreadable", f"不是 fjvoucher 的月度交换文件（{what}）",
                       f"请让中心用 fjvoucher export 导出（格式 {FORMAT}）")

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(f"格式应为 {FORMAT}")
    if doc.get("columns") != list(COLUMNS) or not isinstance(doc.get("events"), list):
        raise bad("events/columns")
    ends = [doc.get("from"), doc.get("to")]
    if not all(isinstance(e, dict) and isinstance(e.get("count"), int) and isinstance(e.get("hash"), str)
               for e in ends):
        raise bad("from/to")
    start, end = cast("list[dict]", ends)
    centre, month, key = doc.get("centre"), doc.get("month"), doc.get("public_key")
    if not (isinstance(centre, str) and CENTER_CODE.fullmatch(centre) and isinstance(month, str)
            and len(month) == MONTH_LENGTH and isinstance(key, str)):
        raise bad("centre/month/public_key")
    try:
        month_bounds(month)
        shown = doc.get("fingerprint", fingerprint(key))
        if shown != fingerprint(key):  # people compare the fingerprint: it must be the key's own
            raise bad("the fingerprint is not the key's")
    except ValueError as exc:
        raise bad(f"month {month} or public_key") from exc
    if not all(isinstance(r, list) and len(r) == len(COLUMNS) and isinstance(r[0], int)
               and all(isinstance(v, str) for v in r[1:]) for r in doc["events"]):
        raise bad("an event is not a row of the columns: a number, then text")
    events = tuple(dict(zip(COLUMNS, r, strict=True)) for r in doc["events"])
    return Exchange(path, centre, month, key, (start["count"], start["hash"]), (end["count"], end["hash"]), events,
                    sha256, str(doc.get("signature")))


def prove_run(exchange: Exchange) -> None:
    """Raise ExchangeRefused unless the events run from the opening head to the closing one, each hash its own."""
    count, last = exchange.start
    if count < 0 or (count == 0 and last != GENESIS):
        raise refused(exchange.path, "exchange-broken", f"月初链头（{count} 条）不是链的开头",
                      "文件被改动：请让中心重新导出")
    opening, closing = (stamp(moment) for moment in month_bounds(exchange.month))
    for event in exchange.events:
        where = f"第 {event['number']} 条事件（凭证 {event['voucher_no']}，{event['kind']}）"
        if event["at"] < opening:  # export's run starts after the last event dated before the month
            raise refused(exchange.path, "exchange-wrong-month", f"{where}的时间 {event['at']} 在 {exchange.month} "
                          "之前，不属于这个月的文件", f"请让中心重新导出：fjvoucher export --month {exchange.month}")
        if event["number"] != count + 1:
            raise refused(exchange.path, "exchange-broken", f"{where}：编号应为 {count + 1}，链不连续",
                          "文件被改动：请让中心重新导出")
        if event["prev"] != last or event["hash"] != _hash(event):
            raise refused(exchange.path, "exchange-broken", f"{where}：内容或链接与其哈希不符，这条事件被改动",
                          "文件被改动：请让中心重新导出")
        count, last = event["number"], event["hash"]
    if (count, last) != exchange.end:
        raise refused(exchange.path, "exchange-broken", f"事件到第 {count} 条为止，与签名的月末链头 "
                      f"{exchange.end[0]} 条不符", "文件被截短或改动：请让中心重新导出")
    if exchange.events and exchange.events[-1]["at"] >= closing:  # and ends on the last one dated before its end
        event = exchange.events[-1]
        raise refused(exchange.path, "exchange-wrong-month", f"最后一条事件（第 {event['number']} 条，凭证 "
                      f"{event['voucher_no']}）的时间 {event['at']} 在 {exchange.month} 之后，不属于这个月的文件",
                      f"请让中心重新导出：fjvoucher export --month {exchange.month}")


def _hash(event: dict) -> str:
    try:
        return event_hash(event["number"], event["prev"], event["voucher_no"], event["kind"], event["at"],
                          event["reason"], event["actor"], event["other_no"], event["data"])
    except (TypeError, ValueError):
        return ""


def refused(path: Path, code: str, what: str, fix: str) -> ExchangeRefused:
    """Return the one-line refusal of a month's file: which file, what is wrong, how to fix it."""
    refusal = ExchangeRefused(f"{path}：{what}。{fix} ({FAILURES[code][2]})", code=code)
    refusal.exit_code = ExitCode(FAILURES[code][0])
    return refusal


def public_key_text(public_key: str) -> str:
    """Return the centre's public key as the file the province lists it from (`province keys add`)."""
    return f"# fjvoucher centre public key (Ed25519), {fingerprint(public_key)}\n{public_key}\n"


def read_public_key(text: str) -> str:
    """Return the hex public key in `text` (a key file's content, or the hex itself); raise InputError if none."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    key = lines[0].lower() if len(lines) == 1 else ""
    try:
        fingerprint(key)
        valid = len(key) == 64
    except ValueError:
        valid = False
    if not valid:
        raise InputError("不是中心的公钥：应为 fjvoucher config key 写出的文件，或 64 位十六进制 "
                         "(not a centre's public key)", code="exchange-key-unreadable")
    return key
