"""The ledger's history as a hash chain, the way Certificate Transparency logs and Git keep theirs.

Every event carries the hash of the event before it and its own hash over a canonical encoding
of its content (number, kind, time, reason, actor, the other NO, and what it sets in the
voucher's row).  After each write the head (how many events, the last hash) is signed with the
centre's key, so an edit, a deletion, an insertion or a reordering made with plain SQL breaks a
link, a hash or the signature.  Storage only keeps the columns; everything here sits above it,
so every chained backend gets it the same (PostgreSQL is not chained yet: see `chained`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from fjvoucher.ledger.keys import CentreKey
from fjvoucher.ledger.storage import Event, Head, Storage, stamp

EVENT_FORMAT = "fjvoucher-event-1"
HEAD_FORMAT = "fjvoucher-head-1"
GENESIS = "0" * 64  # the "hash before" the first event


def chained(storage: Storage) -> bool:
    """Return whether `storage` keeps the chain: the one place a backend's `chained` is read.

    PostgreSQL's shared registry is not chained yet (`PostgresStorage.chained = False`): its events
    are appended as they come, unsigned, and the proofs (`audit`) have nothing to check there.
    """
    return storage.chained


def encode_data(data: dict | list) -> str:
    """Return `data` as canonical JSON: sorted keys, no spaces, characters as they are."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_hash(number, prev, voucher_no, kind, at, reason, actor, other_no, data) -> str:
    """Return the hash of one event from its stored values (text as stored: a damaged value hashes differently)."""
    payload = json.dumps([EVENT_FORMAT, number, prev, voucher_no, kind, at, reason, actor, other_no, data],
                         ensure_ascii=False, separators=(",", ":"), default=repr)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def stored_hash(row: dict) -> str:
    """Return the hash an event row as stored should carry, given the prev it carries."""
    return event_hash(row["id"], row["prev"], row["voucher_no"], row["kind"], row["at"], row["reason"], row["actor"],
                      row["other_no"], row["data"])


def head_message(count: int, last_hash: str) -> bytes:
    """Return what the centre key signs for a head: the format, the count and the last hash."""
    return f"{HEAD_FORMAT}\n{count}\n{last_hash}\n".encode("ascii")


def sign_head(key: CentreKey, count: int, last_hash: str, clock=dt.datetime.now) -> Head:
    """Return the head of a chain of `count` events ending in `last_hash`, signed with `key`."""
    return Head(count, last_hash, key.sign(head_message(count, last_hash)), key.public_key, stamp(clock()))


class Chain:
    """The chain's tip inside one write transaction: appends events linked to it, then signs the head."""

    def __init__(self, storage: Storage):
        self.storage, self.linked = storage, chained(storage)
        count, last = storage.last_event() or (0, GENESIS)
        self.count, self.hash, self.started = count, last, count

    def append(self, event: Event) -> Event:
        """Append `event` (its data canonical JSON) as the next link; return it as stored.

        A backend that is not chained gets the event as it is: no link, nothing to sign.
        """
        if not self.linked:
            self.storage.append_event(event)
            return event
        number = self.count + 1
        at = stamp(event.at)
        linked = Event(event.voucher_no, event.kind, event.at, event.reason, event.actor, event.other_no, event.data,
                       number, self.hash, event_hash(number, self.hash, event.voucher_no, event.kind, at, event.reason,
                                                     event.actor, event.other_no, event.data))
        self.storage.append_event(linked)
        self.count, self.hash = number, linked.hash
        return linked

    def sign(self, key: CentreKey) -> None:
        """Store the signed head when events were appended (a write that changed nothing signs nothing)."""
        if self.count != self.started:
            self.storage.set_head(sign_head(key, self.count, self.hash, self.storage.clock))


def build_chain(storage: Storage, key: CentreKey) -> str:
    """Chain the events written before the chain existed, in order, once, and sign the head; return a note.

    Runs inside the migration's transaction: the chain covers exactly the history as it was
    when the ledger was upgraded.  An issue's data is canonicalised from what the migration put there.
    """
    prev, count = GENESIS, 0
    for row in list(storage.raw_events()):
        data = encode_data(json.loads(row["data"] or "{}"))
        digest = event_hash(row["id"], prev, row["voucher_no"], row["kind"], row["at"], row["reason"], row["actor"],
                            row["other_no"], data)
        storage.chain_existing(row["id"], data, prev, digest)
        prev, count = digest, row["id"]
    storage.set_head(sign_head(key, count, prev, storage.clock))
    if not count:
        return ""
    return (f"凭证台账 {storage.path}：已升级，{count} 条历史事件按顺序连成哈希链并签名（只做这一次），"
            f"签名密钥 {key.fingerprint} (ledger upgraded: history chained and signed)")
