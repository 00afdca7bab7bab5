"""Shared fixtures: synthetic candidates and real roster files written in temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import postgres
from support.synthetic import make_candidates, write_roster_xlsx


@pytest.fixture(autouse=True, scope="session")
def centre_key(tmp_path_factory):
    """Sign every ledger of the run with one centre key, as one centre does, kept out of the real data folder.

    Session-wide, so ledgers that module fixtures make (before any test's own folders exist) share it.
    """
    import os

    saved = os.environ.get("FJVOUCHER_KEY")
    os.environ["FJVOUCHER_KEY"] = str(tmp_path_factory.mktemp("centre") / "centre-signing-key.pem")
    yield os.environ["FJVOUCHER_KEY"]
    if saved is None:
        del os.environ["FJVOUCHER_KEY"]
    else:
        os.environ["FJVOUCHER_KEY"] = saved


@pytest.fixture(autouse=True)
def private_user_folders(tmp_path_factory, monkeypatch):
    """Give every test its own per-user config, data and log folders: no test touches the real ones."""
    home = tmp_path_factory.mktemp("user")
    for variable, folder in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(variable, str(home / folder))
    monkeypatch.delenv("FJVOUCHER_LEDGER", raising=False)
    monkeypatch.chdir(home)  # a 0.1.0 ledger left in the checkout must not be found by the tests
    return home


@pytest.fixture
def rows() -> list[dict]:
    """Return five valid candidates, fresh for each test to change."""
    return make_candidates(5, seed=11)


@pytest.fixture
def write_xlsx(tmp_path):
    """Return a function that writes rows to a new .xlsx in tmp_path and returns its path."""
    counter = iter(range(1000))

    def write(rows: list[dict], **kwargs) -> Path:
        return write_roster_xlsx(tmp_path / f"roster{next(counter)}.xlsx", rows, **kwargs)

    return write


@pytest.fixture(scope="session")
def postgres_server():
    """Start a throw-away PostgreSQL cluster for the whole session (Debian's postgresql; see support.postgres)."""
    reason = postgres.why_not()
    if reason:
        pytest.skip(reason)
    server = postgres.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """Return the URL of a new, empty database on the session's PostgreSQL server."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path):
    """Return a new ledger's location on each backend in turn: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "ledger.db"
    return request.getfixturevalue("postgres_url")
