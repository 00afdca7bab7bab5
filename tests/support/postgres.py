"""A throw-away PostgreSQL server for the tests, started from Debian's `postgresql` package.

Like pytest-postgresql: `initdb` makes a cluster in a temporary folder, `pg_ctl` starts it listening
on a unix socket in that folder only (no TCP port to collide with another run), and it is stopped
and removed at the end of the session.  PostgreSQL refuses to run as root, so under root (CI, this
machine) the cluster belongs to `nobody` and its programs run as that user; the tests connect
through the socket as any role (trust authentication: nothing but this session can reach it).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"
SERVER_USER = "nobody"  # who runs the server when the tests run as root
SETTINGS = {  # a test server: durability is not wanted, speed is
    "listen_addresses": "''", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
    "max_connections": "200", "shared_buffers": "64MB",
}


def server_programs() -> Path | None:
    """Return the folder of the newest installed PostgreSQL server's programs (Debian's layout), or None."""
    override = os.environ.get("FJVOUCHER_PG_BIN")
    if override:
        return Path(override)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def why_not() -> str | None:
    """Return why no test server can start here (None when it can)."""
    if os.name != "posix":
        return "the PostgreSQL test server is started on POSIX systems only"
    if server_programs() is None:
        return "PostgreSQL's server programs are not installed (scripts/setup.sh installs Debian's postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no '{SERVER_USER}' user to run PostgreSQL as"
    return None


@dataclass
class Server:
    """A running throw-away cluster: where its socket is, and how to make databases on it."""

    folder: Path
    programs: Path
    _names = itertools.count(1)

    @property
    def socket_dir(self) -> Path:
        """Return the folder holding the server's unix socket."""
        return self.folder / "socket"

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        """Return the postgresql:// URL of `database` as `user`, through the socket."""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """Create an empty database and return its URL (each test gets its own)."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        _run_as_owner([self.programs / "pg_ctl", "-D", self.folder / "data", "-m", "immediate", "-w", "stop"],
                      check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> Server:
    """Create a cluster in a new temporary folder and start it; raise RuntimeError saying why when it fails."""
    programs = server_programs()
    folder = Path(tempfile.mkdtemp(prefix="fjvoucher-pg-"))
    (folder / "socket").mkdir()
    _give_to_server_user(folder)
    data, log = folder / "data", folder / "server.log"
    made = _run_as_owner([programs / "initdb", "-D", data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                          "--locale=C.UTF-8", "--no-instructions", "--no-sync"], check=False)
    if made.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {made.stderr.strip()[-500:]}")
    options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items()) + f" -k {folder / 'socket'}"
    started = _run_as_owner([programs / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"],
                            check=False)
    if started.returncode != 0:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else started.stderr
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {text.strip()[-500:]}")
    return Server(folder, programs)


def _give_to_server_user(folder: Path) -> None:
    """Under root, hand the folder to the server's user: PostgreSQL will not run as root."""
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam(SERVER_USER)
    os.chown(folder, user.pw_uid, user.pw_gid)
    os.chown(folder / "socket", user.pw_uid, user.pw_gid)


def _run_as_owner(args: list, *, check: bool) -> subprocess.CompletedProcess:
    """Run one of the server's programs, as `nobody` when we are root."""
    kwargs = {}
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": "/"}
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check, env=env,
                          timeout=120, **kwargs)
