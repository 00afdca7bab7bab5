"""What this computer has seen of each ledger: the last head it signed or checked, kept beside the key.

A signature proves a head was made with the centre's key, not that it is the latest: an older
copy of the same ledger swapped in (or the last events deleted and an older head put back) is
signed too.  Like a Certificate Transparency monitor, each command remembers the furthest head
it saw under a ledger's name; a ledger that is now shorter, or whose chain no longer passes
through that head, was rolled back or rewritten.  `restore-backup` is the one way to go back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fjvoucher.atomic import read_parsed, write_bytes_atomic
from fjvoucher.ledger.location import data_folder

WITNESS_FILE = "heads-seen.json"


def witness_path() -> Path:
    """Return where this user's record of ledger heads lives (the per-user data folder, beside the key)."""
    return data_folder() / WITNESS_FILE


def seen(ledger: Path | str) -> tuple[int, str, str] | None:
    """Return the furthest head (count, hash, signing key) this computer saw for the ledger at `ledger`, or None."""
    entry = _read().get(_name(ledger))
    try:
        return (int(entry[0]), str(entry[1]), str(entry[2]) if len(entry) > 2 else "") if entry else None
    except (TypeError, ValueError, IndexError):
        return None  # a damaged record proves nothing either way


def remember(ledger: Path | str, count: int, last_hash: str, public_key: str, *, backwards: bool = False) -> None:
    """Record head (count, hash, key) for `ledger` when it is further than what was seen (or always, `backwards`)."""
    heads = _read()
    known = heads.get(_name(ledger))
    if not backwards and known and isinstance(known[0], int) and known[0] >= count:
        return
    heads[_name(ledger)] = [count, last_hash, public_key]
    try:
        write_bytes_atomic(witness_path(), json.dumps(heads, ensure_ascii=False, indent=0).encode("utf-8"))
    except OSError:
        pass  # a server run by an account without a writable data folder: it checks, it cannot remember


def forget(ledger: Path | str) -> None:
    """Forget what was seen under `ledger`'s name (fjvoucher began a new ledger there)."""
    heads = _read()
    if heads.pop(_name(ledger), None) is not None:
        try:
            write_bytes_atomic(witness_path(), json.dumps(heads, ensure_ascii=False, indent=0).encode("utf-8"))
        except OSError:
            pass


def _read() -> dict:
    """Return the record as a new dict (its entries are replaced, never changed, by `remember`)."""
    try:
        data = read_parsed(witness_path(), lambda raw: json.loads(raw.decode("utf-8")))
    except (OSError, ValueError):
        return {}
    return dict(data) if isinstance(data, dict) else {}


def _name(ledger: Path | str) -> str:
    return os.path.normcase(str(Path(ledger).resolve()))
