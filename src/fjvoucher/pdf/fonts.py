"""Chinese fonts: map 宋体/SimSun to a Simplified-Chinese face for LibreOffice, and find missing glyphs.

Where SimSun is not installed (Linux), LibreOffice falls back to whatever fontconfig offers, which
on Debian is the Japanese face of Noto CJK.  A fontconfig file of our own, handed to LibreOffice
only, maps the master's fonts to a Song-style Simplified-Chinese face, then to faces covering
CJK Extension A/B, so rare characters in names print as themselves.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

# First the face that looks like 宋体, then wide coverage, then Extension A/B.
SONG_FACES = ("SimSun", "AR PL UMing CN", "Noto Serif CJK SC", "Source Han Serif SC", "HanaMinA", "HanaMinB")
HEI_FACES = ("SimHei", "Noto Sans CJK SC", "Source Han Sans SC", "HanaMinA", "HanaMinB")
ALIASES = {
    "SimSun": SONG_FACES, "宋体": SONG_FACES, "NSimSun": SONG_FACES, "新宋体": SONG_FACES,
    "SimHei": HEI_FACES, "黑体": HEI_FACES,
}
# LibreOffice looks for a character its face lacks under that face's own name (AR PL UMing CN), not the
# master's: without these, fontconfig's default for a CJK serif answers (Noto Serif CJK JP, Japanese shapes).
RARE_FACES = ("HanaMinB", "HanaMinA")  # B first: it holds all of Extension B; A holds Extension A
FALLBACKS = {face: RARE_FACES for face in ("AR PL UMing CN", "AR PL UMing TW", "Noto Serif CJK SC",
                                           "Source Han Serif SC", "Noto Sans CJK SC", "Source Han Sans SC")}
SYSTEM_CONFIG = Path("/etc/fonts/fonts.conf")


def uses_fontconfig() -> bool:
    """Return True where LibreOffice finds fonts through fontconfig (Linux and other Unix, not macOS)."""
    return sys.platform not in ("win32", "darwin") and SYSTEM_CONFIG.exists()


def fontconfig_file(folder: Path) -> Path:
    """Write a fontconfig file mapping the master's Chinese fonts to installed Simplified-Chinese faces."""
    rules = []
    for family, faces in ALIASES.items():
        prefer = "".join(f"<string>{escape(face)}</string>" for face in faces)
        rules.append(f'<match target="pattern"><test name="family"><string>{escape(family)}</string></test>'
                     f'<edit name="family" mode="prepend" binding="strong">{prefer}</edit></match>')
    for family, faces in FALLBACKS.items():
        after = "".join(f"<string>{escape(face)}</string>" for face in faces)
        rules.append(f'<match target="pattern"><test name="family"><string>{escape(family)}</string></test>'
                     f'<edit name="family" mode="append" binding="strong">{after}</edit></match>')
    path = folder / "fonts.conf"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        f'<include ignore_missing="yes">{SYSTEM_CONFIG}</include>\n' + "\n".join(rules) + "\n</fontconfig>\n",
        encoding="utf-8")
    return path


def font_environment(folder: Path) -> dict[str, str]:
    """Return the environment variables that make LibreOffice use our font mapping (none where not needed)."""
    # Absolute: LibreOffice changes directory as it starts, and fontconfig ignores a file it cannot find.
    return {"FONTCONFIG_FILE": str(fontconfig_file(folder).resolve())} if uses_fontconfig() else {}


@functools.lru_cache(maxsize=4096)
def has_glyph(char: str) -> bool | None:
    """Return whether any installed font has a glyph for `char`; None where this machine cannot tell."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        found = subprocess.run([fc_list, f":charset={ord(char):x}", "family"], capture_output=True,
                               timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(found.strip())
