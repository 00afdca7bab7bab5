"""What the tests share: paths, the fixed 'today', the CLI runner and document readers.

Imported as `support` (pytest puts tests/ on the path); benchmarks and scripts add tests/ themselves.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
DATA = TESTS / "data"
ROOT = TESTS.parent
SAMPLES = ROOT / "samples"
TODAY = dt.date(2009, 6, 20)  # the printing day of the story: vouchers issued 2009-06-10


def run(*args, input: str | None = None, env: dict | None = None):
    """Run the fjvoucher CLI in-process with `args` (anything str() can turn into an argument)."""
    from click.testing import CliRunner

    from fjvoucher.cli import cli, speak_chinese

    speak_chinese()  # what main() does when the program starts
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


@functools.cache
def font_installed(family: str) -> bool:
    """Return True when fontconfig lists a font family named `family`."""
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False).stdout
    return any(family in line.split(",") for line in listed.splitlines())


def needs_fonts(*families: str):
    """Skip a test, saying why, where one of the font families it looks for is not installed."""
    missing = [f for f in families if not font_installed(f)]
    return pytest.mark.skipif(bool(missing), reason=f"needs the fonts {', '.join(missing)} "
                                                     "(installed by scripts/setup.sh)")


class Clock:
    """A clock the tests move by hand: months pass without waiting."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, *args: int) -> None:
        """Move to the moment datetime(*args)."""
        self.now = dt.datetime(*args)


def drawn_alike(pdf: Path, page: int, single: Path) -> bool:
    """Return whether page `page` of `pdf` and the first page of `single` draw the same pixels in poppler
    and, where mupdf-tools is installed (setup.sh does), in MuPDF: the glyphs' outlines, not only the text."""
    folder = single.parent / f".drawn-{single.stem}"
    folder.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "40", "-f", str(page), "-l", str(page), "-png", pdf, folder / "a"], check=True)
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", single, folder / "b"], check=True)
    pairs = [tuple(next(folder.glob(f"{side}-*.png")).read_bytes() for side in "ab")]
    if shutil.which("mutool"):
        for side, source, number in (("ma", pdf, page), ("mb", single, 1)):
            subprocess.run(["mutool", "draw", "-q", "-r", "40", "-o", folder / f"{side}.pnm", source, str(number)],
                           check=True, capture_output=True)
        pairs.append(((folder / "ma.pnm").read_bytes(), (folder / "mb.pnm").read_bytes()))
    shutil.rmtree(folder)
    return all(first == second for first, second in pairs)
