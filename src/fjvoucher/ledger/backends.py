"""The one place that picks a ledger's backend from its location: SQLite for a path, PostgreSQL for a URL."""

from __future__ import annotations

from collections.abc import Callable

from fjvoucher.errors import InputError
from fjvoucher.ledger.location import Location, is_database_url
from fjvoucher.ledger.postgres import PostgresStorage
from fjvoucher.ledger.storage import Clock, SqliteStorage, Storage


def open_storage(location: Location, *, create: bool = True, readonly: bool = False,
                 clock: Clock | None = None, upgrade: Callable[[Storage], str] | None = None) -> Storage:
    """Return the backend for the ledger at `location` (a SQLite file, or a postgresql:// URL).

    `upgrade` is called inside the transaction of the SQLite migration that chains the events
    (schema.CHAINED): it builds the chain and signs the head above storage, and returns a note for the
    clerk.  On PostgreSQL it is called for the role's own centre, once, when the centre's events were
    written before the registry was chained (only the centre's computer holds the centre's key).
    """
    if is_database_url(location):
        return PostgresStorage(str(location), create=create, readonly=readonly, clock=clock, upgrade=upgrade)
    return SqliteStorage(location, create=create, readonly=readonly, clock=clock, upgrade=upgrade)


def ledger_exists(location: Location) -> bool:
    """Return True when a ledger is at `location` (a file; a database holding the ledger's tables)."""
    if not is_database_url(location):
        from pathlib import Path

        return Path(location).is_file()
    try:
        PostgresStorage(str(location), create=False, readonly=True).close()
    except InputError:
        return False
    return True
