"""Tampering with a ledger the way someone with the sqlite3 command line would: plain SQL, no fjvoucher.

Each function changes the ledger at `path` and returns the NO whose answer the change is about.
The ledger they expect (see `make_ledger`): five vouchers 3501-2009-000001…5 issued 2009-06-12,
000002 revoked ("误发"), 000003 reissued as 000006.  `python tests/hostile/ledger_corpus.py OUTDIR`
writes the ledger and one tampered copy per case, for trying by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for support.*

from support import Clock  # noqa: E402
from support.synthetic import make_candidates, write_roster_xlsx  # noqa: E402

NO = "3501-2009-{:06d}".format
TRIGGERS = ("events_are_never_edited", "events_are_chained_once", "events_are_never_deleted", "events_come_chained")


def make_ledger(folder: Path) -> Path:
    """Write the expected ledger (through fjvoucher itself) into `folder`; return its path."""
    from fjvoucher.ledger.store import Ledger
    from fjvoucher.merging import MergeOptions, merge_roster

    clock = Clock(dt.datetime(2009, 6, 12, 9, 30))
    path = folder / "ledger.db"
    roster = write_roster_xlsx(folder / "r.xlsx", make_candidates(5, seed=71))
    merge_roster(roster, folder / "out", MergeOptions(format="docx", ledger=path, today=clock().date(), clock=clock,
                                                       per_candidate=False))
    clock.set(2009, 6, 15, 10, 0)
    with Ledger(path, clock=clock) as ledger:
        ledger.revoke(NO(2), "误发")
        with ledger.batch() as batch:
            batch.replace(NO(3), "遗失", None, "{center_code}-{year}-{serial:06d}")
    return path


def sql(path: Path, *statements: str, params=(), drop: bool = True) -> None:
    """Run `statements` on the ledger, with the triggers on events dropped first (anyone can) when `drop`."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for trigger in TRIGGERS if drop else ():
            db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for statement in statements:
            db.execute(statement, params if "?" in statement else ())
    finally:
        db.close()


def fake_hash(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


# --- the kinds the issue names ---------------------------------------------------------------------

def edit_revocation(path: Path) -> str:
    """Drop the trigger, change the revocation's reason and actor, set the voucher back to issued."""
    sql(path, "UPDATE events SET reason = '持证人要求', actor = 'director' WHERE kind = 'revoked'",
        f"UPDATE vouchers SET status = 'issued' WHERE voucher_no = '{NO(2)}'")
    return NO(2)


def forged_voucher(path: Path) -> str:
    """Insert a voucher row, copied from a real one, with a new NO, name and a forged code."""
    sql(path, "CREATE TEMP TABLE v AS SELECT * FROM vouchers WHERE voucher_no = '3501-2009-000001'",
        f"UPDATE v SET voucher_no = '{NO(99)}', name = '冒名', certificate_no = '0935011001599999', "
        "verify_code = 'FORGEDCODE12'",
        "INSERT INTO vouchers SELECT * FROM v", drop=False)
    return NO(99)


def forged_voucher_with_event(path: Path) -> str:
    """A forged row and an issue event chained to the last one with a correct-looking hash (no key)."""
    forged_voucher(path)
    db = sqlite3.connect(path)
    last_id, last_hash = db.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    data = db.execute("SELECT data FROM events WHERE id = 1").fetchone()[0]
    db.close()
    sql(path, "INSERT INTO events (id, voucher_no, kind, at, data, prev, hash) VALUES (?, ?, 'issued', "
              "'2009-06-16T09:00:00', ?, ?, ?)", params=(last_id + 1, NO(99), data, last_hash, fake_hash(NO(99))))
    return NO(99)


def delete_last_event(path: Path) -> str:
    sql(path, "DELETE FROM events WHERE id = (SELECT max(id) FROM events)")
    return NO(6)


def delete_middle_event(path: Path) -> str:
    sql(path, f"DELETE FROM events WHERE voucher_no = '{NO(2)}' AND kind = 'revoked'",
        f"UPDATE vouchers SET status = 'issued' WHERE voucher_no = '{NO(2)}'")
    return NO(2)


def status_changed_directly(path: Path) -> str:
    sql(path, f"UPDATE vouchers SET status = 'revoked' WHERE voucher_no = '{NO(1)}'", drop=False)
    return NO(1)


def event_dated_yesterday(path: Path) -> str:
    sql(path, f"UPDATE events SET at = 'yesterday' WHERE voucher_no = '{NO(4)}' AND kind = 'issued'")
    return NO(4)


def event_for_no_voucher(path: Path) -> str:
    """A damaged row: an event for a voucher that does not exist."""
    sql(path, "INSERT INTO events (id, voucher_no, kind, at, prev, hash) SELECT max(id) + 1, 'NOPE', 'revoked', "
              "'2009-06-16T09:00:00', 'x', 'y' FROM events")
    return NO(1)


def event_unknown_kind(path: Path) -> str:
    """A damaged row: a kind SQLite's CHECK would refuse, written with the checks off."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA ignore_check_constraints = ON")
    for trigger in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute(f"UPDATE events SET kind = 'teleported' WHERE voucher_no = '{NO(5)}'")
    db.close()
    return NO(5)


def event_bad_types(path: Path) -> str:
    """A damaged row: numbers and NULL-ish values where text belongs."""
    sql(path, f"UPDATE events SET at = 20090612, reason = 7, data = 'not json' WHERE voucher_no = '{NO(1)}'")
    return NO(1)


def reordered_events(path: Path) -> str:
    """Swap two events' places (their ids)."""
    sql(path, "UPDATE events SET id = -1 WHERE id = 1", "UPDATE events SET id = 1 WHERE id = 2",
        "UPDATE events SET id = 2 WHERE id = -1")
    return NO(1)


def dropped_trigger(path: Path) -> str:
    """Only drop the triggers: nothing else changed, yet the ledger no longer refuses edits."""
    sql(path)
    return NO(1)


def extra_trigger(path: Path) -> str:
    """Add a trigger that rewrites what fjvoucher writes later."""
    sql(path, "CREATE TRIGGER sneaky AFTER INSERT ON events BEGIN UPDATE vouchers SET name = 'X'; END")
    return NO(1)


def forged_signature(path: Path) -> str:
    sql(path, "UPDATE head SET signature = substr(signature, 1, 10) || '00' || substr(signature, 13)")
    return NO(1)


def head_deleted(path: Path) -> str:
    sql(path, "DELETE FROM head")
    return NO(1)


def head_moved_back(path: Path) -> str:
    """Delete the last event and point the head at the one before (its old signature does not fit)."""
    sql(path, "DELETE FROM events WHERE id = (SELECT max(id) FROM events)",
        "UPDATE head SET count = (SELECT max(id) FROM events), "
        "hash = (SELECT hash FROM events ORDER BY id DESC LIMIT 1)")
    return NO(6)


def resigned_with_own_key(path: Path) -> str:
    """Edit a name, recompute the whole chain and sign it with a key of one's own."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fjvoucher.ledger.chain import GENESIS, head_message, stored_hash
    from fjvoucher.ledger.projection import ROW_KEYS

    db = sqlite3.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    for trigger in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute(f"UPDATE vouchers SET name = '改名' WHERE voucher_no = '{NO(1)}'")
    prev = GENESIS
    for row in db.execute("SELECT * FROM events ORDER BY id").fetchall():
        data = json.loads(row["data"])
        if row["voucher_no"] == NO(1) and row["kind"] == "issued":
            data[ROW_KEYS.index("name")] = "改名"
        row = {**dict(row), "data": json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
               "prev": prev}
        row["hash"] = stored_hash(row)
        db.execute("UPDATE events SET data = ?, prev = ?, hash = ? WHERE id = ?", (row["data"], prev, row["hash"],
                                                                                 row["id"]))
        prev = row["hash"]
    count = db.execute("SELECT max(id) FROM events").fetchone()[0]
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    db.execute("UPDATE head SET count = ?, hash = ?, signature = ?, public_key = ?",
               (count, prev, key.sign(head_message(count, prev)).hex(), public))
    db.close()
    return NO(1)


def row_edited(path: Path) -> str:
    sql(path, f"UPDATE vouchers SET name = '李四', expires_on = '2099-01-01' WHERE voucher_no = '{NO(4)}'", drop=False)
    return NO(4)


def row_deleted(path: Path) -> str:
    sql(path, f"DELETE FROM vouchers WHERE voucher_no = '{NO(5)}'", drop=False)
    return NO(5)


def code_swapped(path: Path) -> str:
    """Give a revoked voucher's code to a valid one's row (QR of one, answer of the other)."""
    sql(path, f"UPDATE vouchers SET verify_code = 'AAAAAAAAAAAA' WHERE voucher_no = '{NO(5)}'", drop=False)
    return NO(5)


def marks_changed(path: Path) -> str:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA user_version = 2")
    db.close()
    return NO(1)


def swapped_for_another_ledger(path: Path) -> str:
    """Replace the file by another centre's ledger (signed with another key) under the same name."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fjvoucher.ledger.chain import head_message

    db = sqlite3.connect(path, isolation_level=None)
    count, last = db.execute("SELECT count, hash FROM head").fetchone()
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    db.execute("UPDATE head SET signature = ?, public_key = ?", (key.sign(head_message(count, last)).hex(), public))
    db.close()
    return NO(1)


def head_put_back(path: Path) -> str:
    """Keep a copy of the head, let a revocation be made, then delete it and put the old head back.

    Everything left is genuine and signed: only what this computer saw tells the ledger was rolled back.
    """
    from fjvoucher.ledger.store import Ledger

    db = sqlite3.connect(path)
    old_head = db.execute("SELECT * FROM head").fetchone()
    db.close()
    with Ledger(path) as ledger:
        ledger.revoke(NO(4), "误发")
    sql(path, "DELETE FROM events WHERE id = (SELECT max(id) FROM events)",
        f"UPDATE vouchers SET status = 'issued' WHERE voucher_no = '{NO(4)}'", "DELETE FROM head")
    sql(path, "INSERT INTO head VALUES (?, ?, ?, ?, ?, ?)", params=old_head)
    _put_triggers_back(path)
    return NO(4)


def older_copy_swapped_in(path: Path) -> str:
    """Copy the ledger aside, revoke a voucher, then copy the older file back over it (a swapped file)."""
    from fjvoucher.ledger.store import Ledger

    aside = path.with_name("aside.db")
    shutil.copy(path, aside)
    with Ledger(path) as ledger:
        ledger.revoke(NO(5), "误发")
    for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copy(aside, path)
    return NO(5)


def _put_triggers_back(path: Path) -> None:
    from fjvoucher.ledger.schema import V4

    db = sqlite3.connect(path, isolation_level=None)
    for statement in V4.split(";\n"):
        if statement.strip().startswith("CREATE TRIGGER"):
            db.execute(statement.strip().rstrip(";") + (";" if not statement.strip().endswith("END") else ""))
    db.close()


CASES = [edit_revocation, forged_voucher, forged_voucher_with_event, delete_last_event, delete_middle_event,
         status_changed_directly, event_dated_yesterday, event_for_no_voucher, event_unknown_kind, event_bad_types,
         reordered_events, dropped_trigger, extra_trigger, forged_signature, head_deleted, head_moved_back,
         resigned_with_own_key, row_edited, row_deleted, code_swapped, marks_changed, swapped_for_another_ledger,
         head_put_back, older_copy_swapped_in]


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    original = make_ledger(out)
    for case in CASES:
        shutil.copy(original, out / f"{case.__name__}.db")
        case(out / f"{case.__name__}.db")
        print(out / f"{case.__name__}.db")
