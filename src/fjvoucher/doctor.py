"""Say which PDF engines and Chinese fonts this machine has, and how to install what is missing."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fjvoucher.pdf.fonts import font_environment, uses_fontconfig
from fjvoucher.pdf.libreoffice import find_soffice, soffice_version_text
from fjvoucher.pdf.system import font_hint, install_hint
from fjvoucher.pdf.word import word_available

_WINDOWS_FONTS = Path("C:/Windows/Fonts")
# Real characters spread over each block: a font covers the block when it has them all.  One
# character is not enough: HanaMinA has a few Extension B characters (𪚥 among them) but not the block.
RARE_BLOCKS = (
    ("扩展 A 区 Extension A", "㐀㠀㰀䀀䐀䠀䰀䶮"),
    ("扩展 B 区 Extension B", "𠀀𡀀𢀀𣀀𤀀𥀀𦀀𧀀𨀀𩀀𪀀𪚥"),
)


@dataclass(frozen=True)
class Check:
    """One thing the doctor looked at: what, whether it is fine, what was found, how to fix it."""

    name: str
    ok: bool
    detail: str
    hint: str = ""


def diagnose(soffice: Path | None = None) -> list[Check]:
    """Return the checks of PDF engines and Chinese fonts on this machine."""
    return [_system(), _libreoffice(soffice), _word(), *_fonts(), _drawing(soffice)]


def _system() -> Check:
    return Check("系统 system", True, f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def _libreoffice(soffice: Path | None) -> Check:
    found = find_soffice(soffice)
    if found is None:
        return Check("LibreOffice", False, "未找到 (not found)", install_hint())
    version = soffice_version_text(found)
    if version is None:
        return Check("LibreOffice", False, f"{found} 无法运行 (cannot run)", install_hint())
    return Check("LibreOffice", True, f"{found} ({version or 'version unknown'})")


def _drawing(soffice: Path | None) -> Check:
    """Say whether the bundled master's vouchers are drawn straight to PDF here, or printed by LibreOffice."""
    from fjvoucher.word.drawn import engine_for

    with tempfile.TemporaryDirectory(prefix="fjvoucher-probe-") as work:
        engine, why = engine_for(None, soffice, Path(work))
    return Check("PDF 直接绘制 (drawing engine, bundled master)", True, why)


def _word() -> Check:
    if sys.platform not in ("win32", "darwin"):
        return Check("Microsoft Word (docx2pdf)", True, "本系统不适用，使用 LibreOffice (not on this OS)")
    if word_available():
        return Check("Microsoft Word (docx2pdf)", True, "可用：--pdf-engine word (available)")
    return Check("Microsoft Word (docx2pdf)", True, "未安装 docx2pdf，可选 (optional)", "pip install docx2pdf")


def _fonts() -> list[Check]:
    hint = font_hint()
    if sys.platform == "win32":
        has = (_WINDOWS_FONTS / "simsun.ttc").exists()
        return [Check("宋体 SimSun", has, "已安装 (installed)" if has else "未找到 (missing)", "" if has else hint)]
    if not uses_fontconfig() or shutil.which("fc-match") is None:
        return [Check("中文字体 Chinese fonts", True, "本系统无法自动检查 (cannot check here)", hint)]
    with tempfile.TemporaryDirectory() as folder:
        env = font_environment(Path(folder))
        face = subprocess.run(["fc-match", "-f", "%{family[0]}", "SimSun:lang=zh-cn"], capture_output=True,
                              text=True, env={**os.environ, **env}, check=False).stdout.strip()
    chinese = face not in ("", "DejaVu Serif", "DejaVu Sans") and "JP" not in face and "KR" not in face
    checks = [Check("宋体 → PDF 字体 (SimSun maps to)", chinese, face or "none", "" if chinese else hint)]
    for block, chars in RARE_BLOCKS:
        faces = _faces_with(chars)
        checks.append(Check(f"生僻字 rare characters, {block}", bool(faces),
                            _some(faces) if faces else "没有字体含此区汉字 (no font covers this block)",
                            "" if faces else hint))
    return checks


def _some(faces: list[str], shown: int = 4) -> str:
    """Return the first few font names, and how many more there are."""
    more = f" 等 {len(faces)} 个 ({len(faces)} fonts)" if len(faces) > shown else ""
    return "、".join(faces[:shown]) + more


def _faces_with(chars: str) -> list[str]:
    """Return the font families that have a glyph for every one of `chars`, by fontconfig."""
    charset = " ".join(f"{ord(c):x}" for c in chars)
    listed = subprocess.run(["fc-list", f":charset={charset}", "family"], capture_output=True, text=True,
                            timeout=20, check=False).stdout
    return sorted({line.split(",")[0].strip() for line in listed.splitlines() if line.strip()})

