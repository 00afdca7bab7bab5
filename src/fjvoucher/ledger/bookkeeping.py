"""The province registry's bookkeeping, sealed with the registry's key like the chain's head.

The registry (province/imports.py) keeps, beside its chain, which keys speak for which centre, the
files imported, and where each imported event sits in its centre's chain.  None of that is in the
chain, so an edit with plain SQL (a key added for a centre, an import row deleted) would pass the
chain's proofs.  After every change of it the registry signs one digest per table together with the
chain's head at that moment (the seal); `audit` recomputes the digests, checks the signature with
the head's key and that the sealed head is on the chain.  A centre's own ledger has empty tables
and no seal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Protocol

from fjvoucher.ledger.chain import GENESIS
from fjvoucher.ledger.keys import CentreKey, signature_valid
from fjvoucher.ledger.storage import stamp

FORMAT = "fjvoucher-registry-1"
TABLES = ("centre_keys", "imports", "imported_events")
SHOWN = {"centre_keys": "中心公钥 centre_keys", "imports": "导入记录 imports",
         "imported_events": "导入事件 imported_events"}


class Kept(Protocol):
    """Where the bookkeeping's rows come from."""

    def bookkeeping(self, table: str, after: int = 0): ...


class Sealed(Kept, Protocol):
    """What a storage that keeps the bookkeeping offers (SqliteStorage)."""

    def seal(self) -> dict | None: ...
    def set_seal(self, seal: dict) -> None: ...
    def last_event(self, before: dt.datetime | None = None) -> tuple[int, str] | None: ...


def digests(storage: Kept, since: dict | None = None) -> dict:
    """Return the SHA-256 of each bookkeeping table's rows, every column, in key order.

    Imported events are folded one by one (each digest hashes the one before and the row), so a seal
    goes on from the previous one's (`since`, trusted: checked at the start of the run) over the
    events appended since, instead of the whole table after every file.
    """
    out: dict = {}
    for table in ("centre_keys", "imports"):
        digest = hashlib.sha256()
        for row in storage.bookkeeping(table):
            digest.update(_line(row))
        out[table] = digest.hexdigest()
    folded, last = (since["imported_events"], since["imported_events_last"]) if since else (GENESIS, 0)
    for row in storage.bookkeeping("imported_events", after=last):
        folded, last = hashlib.sha256(folded.encode("ascii") + _line(row)).hexdigest(), row[0]
    out["imported_events"], out["imported_events_last"] = folded, last
    return out


def _line(row: tuple) -> bytes:
    return json.dumps(list(row), ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace") + b"\n"


def seal_message(count: int, last_hash: str, digests_text: str) -> bytes:
    """Return what the registry's key signs: the format, the chain's head then, the tables' digests."""
    return f"{FORMAT}\n{count}\n{last_hash}\n{digests_text}\n".encode()


def seal(storage: Sealed, key: CentreKey, clock=dt.datetime.now) -> None:
    """Sign the bookkeeping as it stands, bound to the chain's last event (inside the caller's transaction)."""
    count, last = storage.last_event() or (0, GENESIS)
    before = storage.seal()
    try:
        since = json.loads(before["digests"]) if before else None
    except ValueError:
        since = None
    text = json.dumps(digests(storage, since), sort_keys=True, separators=(",", ":"))
    storage.set_seal({"count": count, "hash": last, "digests": text, "public_key": key.public_key,
                      "signature": key.sign(seal_message(count, last, text)), "at": stamp(clock())})


class _Empty:
    """Bookkeeping with no rows: what a centre's own ledger holds."""

    def bookkeeping(self, table: str, after: int = 0) -> list:
        return []


def check(storage, report) -> None:
    """Add to the audit `report` whatever in the bookkeeping the seal does not prove (nothing when it does)."""
    for code, where, what, since in problems(storage):
        report.add(code, where, what, since)


def problems(storage) -> list[tuple[str, str, str, str]]:
    """Return what in the bookkeeping the seal does not prove: (code, where, what, since when); none when sound."""
    if not hasattr(storage, "seal"):
        return []  # a backend without the registry's tables
    found, sealed = digests(storage), storage.seal()
    if sealed is None:
        if found == digests(_Empty()):
            return []
        return [("registry-unsealed", "登记库 registry", "中心公钥和导入记录没有省中心的签名：被人用 SQL 写入，"
                 "或来自没有签名的旧版本 (bookkeeping not sealed)", "")]
    head, out = storage.head(), []
    link = storage.link(sealed["count"]) if sealed["count"] else ("", GENESIS)
    if head is None or sealed["public_key"] != head.public_key or not signature_valid(
            sealed["public_key"], sealed["signature"], seal_message(sealed["count"], sealed["hash"],
                                                                    sealed["digests"])):
        out.append(("registry-seal", "登记库 registry", "中心公钥和导入记录的签名无效，或不是链头的密钥签的："
                    "被伪造或改动 (the seal is not valid)", sealed["at"]))
    elif link is None or link[1] != sealed["hash"]:
        out.append(("registry-seal", "登记库 registry", f"签名时的链头（第 {sealed['count']} 条事件）不在链上："
                    "登记记录来自另一个登记库或被换过 (the seal is not of this chain)", sealed["at"]))
    try:
        shown = json.loads(sealed["digests"])
    except ValueError:
        shown = {}
    out += [("registry-edited", f"登记库 {SHOWN[table]}", "与省中心签名的记录不符：被人用 SQL 改动、添加或删除；"
             "请用备份恢复登记库 (edited outside fjvoucher)", sealed["at"])
            for table in TABLES if shown.get(table) != found[table]]
    return out
