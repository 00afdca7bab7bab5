"""Write files under a temporary name and rename them when complete, so no half-written file is ever left.

Every file is created owner-only (0600 on POSIX, whatever the umask), and every folder fjvoucher
creates too (0700): vouchers, registers and reports hold names and ID numbers, and their file
names hold names and certificate numbers.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp(\.[^.]+)?$")  # what temp_sibling makes, nothing else
PRIVATE = 0o600
PRIVATE_FOLDER = 0o700
_READS: dict[Path, tuple[tuple[int, int, int], Any]] = {}  # path → (its identity when read, what it parsed to)
_READS_LOCK = threading.Lock()


def temp_sibling(path: Path) -> Path:
    """Return a hidden temporary name beside `path` with the same suffix (some writers look at it)."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")


def write_private(path: Path, data: bytes) -> None:
    """Create `path` (which must not exist) owner-only and write `data` to it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def make_private(path: Path) -> None:
    """Make a file another program wrote (LibreOffice's PDF) owner-only."""
    if os.name == "posix":
        os.chmod(path, PRIVATE)


def make_folder(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents owner-only, whatever the umask; return the folders created.

    Folders that exist already are left as they are: they are not ours to change.
    """
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    created = []
    for candidate in reversed(missing):
        try:
            candidate.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            if candidate.is_dir():
                continue  # another process made it a moment ago
            raise
        if os.name == "posix":
            os.chmod(candidate, PRIVATE_FOLDER)  # the umask may have taken bits the owner needs
        created.append(candidate)
    return created


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through an owner-only temporary file and an atomic rename."""
    make_folder(path.parent)
    tmp = temp_sibling(path)
    try:
        write_private(tmp, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Staging:
    """Files written under temporary names now and moved into place together later (`commit`).

    The merge stages a batch's files, commits the batch's records, then commits the files: a
    failure before that leaves no file and no record.
    """

    def __init__(self):
        self.staged: list[tuple[Path, Path]] = []

    def write(self, path: Path, data: bytes) -> None:
        """Write `data` under a temporary name beside `path`."""
        make_folder(path.parent)
        tmp = temp_sibling(path)
        self.staged.append((tmp, path))
        write_private(tmp, data)

    def commit(self) -> None:
        """Move every staged file into place."""
        for tmp, path in self.staged:
            os.replace(tmp, path)
        self.staged.clear()

    def discard(self) -> None:
        """Remove every staged file."""
        for tmp, _ in self.staged:
            tmp.unlink(missing_ok=True)
        self.staged.clear()


def remove_leftovers(folder: Path) -> int:
    """Remove temporary files a killed run left in `folder` (only names temp_sibling makes); return how many."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if TEMP_NAME.match(path.name) and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def read_parsed(path: Path, parse: Callable[[bytes], Any]) -> Any:
    """Return `parse` of the file's bytes, parsed again only when the file changed; raise OSError as reading does.

    fjvoucher replaces its files whole (a new inode, see write_bytes_atomic), so inode, size and time say
    when: a server checking the same small file on every query reads it once.  Treat the result as read-only.
    """
    info = path.stat()
    identity = (info.st_ino, info.st_size, info.st_mtime_ns)
    with _READS_LOCK:
        known = _READS.get(path)
    if known is not None and known[0] == identity:
        return known[1]
    value = parse(path.read_bytes())
    with _READS_LOCK:
        _READS[path] = (identity, value)
    return value

