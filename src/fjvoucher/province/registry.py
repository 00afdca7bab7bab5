"""The province's registry: a shared PostgreSQL ledger set up once, that every centre merges into."""

from __future__ import annotations

from fjvoucher.errors import InputError
from fjvoucher.ledger.location import is_database_url, shown
from fjvoucher.ledger.postgres import PostgresStorage


def init_registry(url: str) -> list[str]:
    """Create the shared ledger's tables in the database at `url` and grant the roles; return the centres.

    Run once by the database's owner (the README's set-up); running it again changes nothing.
    """
    if not is_database_url(url):
        raise InputError("省中心的共享台账是 PostgreSQL 数据库："
                         f"--ledger 应为 postgresql://… 网址，而不是 {shown(url)} "
                         "(a postgresql:// URL is needed)", code="ledger-not-database")
    storage = PostgresStorage(url, create=True)
    try:
        return storage.grant()
    finally:
        storage.close()
