"""The ledger's history as a hash chain, the way Certificate Transparency logs and Git keep theirs.

Every event carries the hash of the event before it and its own hash over a canonical encoding
of its content (number, kind, time, reason, actor, the other NO, and what it sets in the
voucher's row).  After each write the head (how many events, the last hash) is signed with the
centre's key, so an edit, a deletion, an insertion or a reordering made with plain SQL breaks a
link, a hash or the signature.  Storage only keeps the columns; everything here sits above it,
so every chained backend gets it the same.  PostgreSQL's registry, where centres write at once,
keeps one chain per centre (`CentreChains`), each signed with its centre's key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TypeGuard

from fjvoucher.ledger.keys import CentreKey
from fjvoucher.ledger.storage import CentreStorage, Event, Head, Storage, stamp

EVENT_FORMAT = "fjvoucher-event-1"
HEAD_FORMAT = "fjvoucher-head-1"
GENESIS = "0" * 64  # the "hash before" the first event


def chained(storage: Storage) -> bool:
    """Return whether `storage` keeps the chain: the one place a backend's `chained` is read."""
    return storage.chained


def per_centre(storage: Storage) -> TypeGuard[CentreStorage]:
    """Return whether `storage` keeps one chain per centre (PostgreSQL's registry) rather than one chain."""
    return bool(getattr(storage, "per_centre", False))


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

    def tip_of(self, voucher_no: str) -> tuple[int, str] | None:
        """Return the tip (count, hash) of the chain voucher `voucher_no`'s events are on, as appended so far."""
        return self.count, self.hash


class CentreChains(Chain):
    """The tips of a registry's chains, one per centre, inside one write transaction (PostgreSQL).

    Each event goes on its voucher's centre's chain.  A centre's tip is taken under a row lock on its
    head, held until the commit: two writers of one centre take turns, writers of different centres
    never wait for each other.  A centre's role takes its own turn first, before any other lock
    (serials, certificates), so two of its merges always queue in the same order.
    """

    def __init__(self, storage: CentreStorage):
        self.storage, self.linked = storage, True
        self.count, self.hash, self.started = 0, GENESIS, 0  # the one-chain tip: unused here (see `tips`)
        self.centres = storage
        self.tips: dict[str, list] = {}  # centre → [count, hash, count at start, head row made now]
        if storage.own_centre:
            self._tip(storage.own_centre)

    def _tip(self, centre: str) -> list:
        if centre not in self.tips:
            last, fresh = self.centres.lock_tip(centre)
            count, digest = last or (0, GENESIS)
            self.tips[centre] = [count, digest, count, fresh]
        return self.tips[centre]

    def tip_of(self, voucher_no: str) -> tuple[int, str] | None:
        """Return the tip (count, hash) of voucher `voucher_no`'s centre's chain, as appended so far.

        None for another centre's voucher seen by a centre's role: that chain is not this role's to take
        (its signed head stands; writing to it is refused by row-level security).
        """
        centre = self.centres.centre_of(voucher_no)
        if centre not in self.tips and self.centres.own_centre and centre != self.centres.own_centre:
            return None
        count, digest, _, _ = self._tip(centre)
        return count, digest

    def append(self, event: Event) -> Event:
        """Append `event` as the next link of its voucher's centre's chain; return it as stored."""
        centre = event.center_code or self.centres.centre_of(event.voucher_no)
        tip = self._tip(centre)
        number, prev = tip[0] + 1, tip[1]
        digest = event_hash(number, prev, event.voucher_no, event.kind, stamp(event.at), event.reason, event.actor,
                            event.other_no, event.data)
        linked = Event(event.voucher_no, event.kind, event.at, event.reason, event.actor, event.other_no, event.data,
                       number, prev, digest, centre)
        self.storage.append_event(linked)
        tip[0], tip[1] = number, digest
        return linked

    def sign(self, key: CentreKey) -> None:
        """Store each centre's signed head where events were appended, or where its head row was made now."""
        for centre, (count, digest, started, fresh) in self.tips.items():
            if count != started or fresh:
                self.centres.set_centre_head(centre, sign_head(key, count, digest, self.storage.clock))


def open_chain(storage: Storage) -> Chain:
    """Return the chain writer for `storage`'s backend, inside its write transaction: one chain, or one per centre."""
    return CentreChains(storage) if per_centre(storage) else Chain(storage)


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
