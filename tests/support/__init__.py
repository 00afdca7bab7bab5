"""What the tests share: paths, the fixed 'today', the CLI runner and document readers.

Imported as `support` (pytest puts tests/ on the path); benchmarks and scripts add tests/ themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
DATA = TESTS / "data"
ROOT = TESTS.parent
SAMPLES = ROOT / "samples"
TODAY = dt.date(2026, 11, 25)


def run(*args, input: str | None = None, env: dict | None = None):
    """Run the fjvoucher CLI in-process with `args` (anything str() can turn into an argument)."""
    from click.testing import CliRunner

    from fjvoucher.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env, catch_exceptions=False)


def texts(document) -> list[str]:
    """Return every paragraph's text, body and table cells, in document order."""
    out = [p.text for p in document.paragraphs]
    for table in document.tables:
        out += [cell.text for row in table.rows for cell in row.cells]
    return out


def digest(folder: Path) -> dict[str, str]:
    """Return every file below `folder` with its SHA-256, by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
