"""What to install for PDF output on each system, read from the one list `debian-packages.txt`."""

from __future__ import annotations

import re
import sys
from importlib import resources

WINDOWS_HINT = "从 libreoffice.org 下载安装 LibreOffice（安装到默认位置即可），或用 --soffice 指定 soffice.exe"
MAC_HINT = "brew install --cask libreoffice"
WINDOWS_FONT_HINT = "Windows 自带宋体（SimSun）；生僻字需另装含扩展 A/B 区的字体（如花园明朝 HanaMinA/HanaMinB）"
MAC_FONT_HINT = "brew install --cask font-noto-serif-cjk-sc"


def debian_packages(purpose: str | None = None) -> list[str]:
    """Return the Debian packages of `debian-packages.txt`, all or those for one purpose (engine, fonts, tests)."""
    text = (resources.files("fjvoucher.pdf") / "debian-packages.txt").read_text(encoding="utf-8")
    rows = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()
            if line.strip() and not line.startswith("#")]
    return [row[0] for row in rows if purpose is None or row[-1] == purpose]


def install_hint() -> str:
    """Return the command (or step) that installs LibreOffice and the fonts on this OS."""
    if sys.platform == "win32":
        return WINDOWS_HINT
    if sys.platform == "darwin":
        return MAC_HINT
    return "sudo apt-get install " + " ".join(debian_packages("engine") + debian_packages("fonts"))


def font_hint() -> str:
    """Return how to install the Chinese fonts PDF output needs on this OS."""
    if sys.platform == "win32":
        return WINDOWS_FONT_HINT
    if sys.platform == "darwin":
        return MAC_FONT_HINT
    return "sudo apt-get install " + " ".join(debian_packages("fonts"))
