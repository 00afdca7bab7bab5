"""Write files under a temporary name and rename them when complete, so no half-written file is ever left."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp(\.[^.]+)?$")  # what temp_sibling makes, nothing else


def temp_sibling(path: Path) -> Path:
    """Return a hidden temporary name beside `path` with the same suffix (some writers look at it)."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; rename it to `path` on success, remove it on any failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and an atomic rename."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


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
