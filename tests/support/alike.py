"""Compare two PDF pages as a reader sees them: text, word positions, and pixels in poppler and MuPDF."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

POSITION_PT = 0.05


def text(pdf: Path, page: int) -> str:
    """Return pdftotext's text of page `page`."""
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def words(pdf: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    """Return every word of the page with its box (pdftotext -bbox)."""
    out = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return [(w, float(a), float(b), float(c), float(d)) for a, b, c, d, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out)]


def _pixels(tool: str, pdf: Path, page: int, folder: Path, side: str):
    from PIL import Image

    if tool == "poppler":
        subprocess.run(["pdftoppm", "-r", "100", "-f", str(page), "-l", str(page), "-png", str(pdf),
                        str(folder / side)], check=True)
        path = next(folder.glob(f"{side}-*.png"))
    else:
        path = folder / f"{side}.png"
        subprocess.run(["mutool", "draw", "-q", "-r", "100", "-o", str(path), str(pdf), str(page)], check=True,
                       capture_output=True)
    image = Image.open(path).convert("L")
    path.unlink()
    return image


def differences(a: Path, page_a: int, b: Path, page_b: int, folder: Path) -> list[str]:
    """Return how page `page_a` of `a` and page `page_b` of `b` differ (empty: alike)."""
    from PIL import ImageChops

    problems = []
    if text(a, page_a) != text(b, page_b):
        problems.append("pdftotext differs")
    wa, wb = words(a, page_a), words(b, page_b)
    if [w[0] for w in wa] != [w[0] for w in wb]:
        problems.append("words differ")
    else:
        worst = max((abs(x - y) for p, q in zip(wa, wb, strict=True) for x, y in zip(p[1:], q[1:], strict=True)),
                    default=0.0)
        if worst > POSITION_PT:
            problems.append(f"a word moved {worst:.3f} pt")
    folder.mkdir(exist_ok=True)
    for tool in ("poppler", "mupdf") if shutil.which("mutool") else ("poppler",):
        first, second = _pixels(tool, a, page_a, folder, "a"), _pixels(tool, b, page_b, folder, "b")
        if first.size != second.size:
            problems.append(f"{tool}: page sizes differ")
            continue
        diff = ImageChops.difference(first, second)
        worst = diff.getextrema()[1]
        if worst:  # not one pixel may differ, in either reader
            problems.append(f"{tool}: pixels differ by up to {worst} levels in {diff.getbbox()}")
    return problems
