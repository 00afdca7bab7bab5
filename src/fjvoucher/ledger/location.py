"""Where a ledger lives: a SQLite file (a path) or a PostgreSQL database (a postgresql:// URL).

Kept apart and importing nothing of ours, so that the settings and every command can tell the two
apart without loading a database driver.  A URL stays a string: a Path would fold its "//".
The per-user data folder the default ledger lives in (with the key and the heads seen) is here too.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

URL = re.compile(r"^postgres(ql)?://", re.I)

Location = Path | str  # a path for SQLite, a URL string for PostgreSQL


def is_database_url(location: object) -> bool:
    """Return True when a ledger setting names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and bool(URL.match(location.strip()))


def as_location(text: Path | str) -> Location:
    """Return a ledger setting as a URL string or an expanded Path."""
    if is_database_url(text):
        return str(text).strip()
    return Path(text).expanduser()


def shown(location: Location) -> str:
    """Return the location fit for the screen and logs: a URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", str(location))


def data_folder() -> Path:
    """Return this user's data folder (platformdirs'), where the default ledger, the key and the heads seen live.

    Asked on every verification a server answers (the key, the heads seen): platformdirs works it out
    from the environment each time, so it is kept per value of the variables it reads.
    """
    return _data_folder(*(os.environ.get(name) for name in ("XDG_DATA_HOME", "HOME", "APPDATA", "LOCALAPPDATA")))


@functools.lru_cache(maxsize=8)
def _data_folder(*environment: str | None) -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("fjvoucher", appauthor=False))

