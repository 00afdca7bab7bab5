"""Put a 凭证工作台 icon on the desktop that starts `fjvoucher-desk`: the clerk never opens a terminal again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

from fjvoucher.errors import InputError

NAME = "凭证工作台"
# Paths reach PowerShell through the environment, never through the command's text: no quoting to get wrong.
POWERSHELL = ("$s = (New-Object -ComObject WScript.Shell).CreateShortcut($env:FJV_LINK); "
              "$s.TargetPath = $env:FJV_TARGET; $s.WorkingDirectory = $env:USERPROFILE; "
              "$s.Description = 'fjvoucher'; $s.Save()")


def desk_program() -> Path:
    """Return the installed `fjvoucher-desk` program (pip puts it beside python, or in the user's Scripts)."""
    name = "fjvoucher-desk.exe" if os.name == "nt" else "fjvoucher-desk"
    places = [Path(sys.executable).parent / name, Path(sysconfig.get_path("scripts")) / name]
    scheme = f"{os.name}_user"
    if scheme in sysconfig.get_scheme_names():
        places.append(Path(sysconfig.get_path("scripts", scheme)) / name)
    found = next((p for p in places if p.is_file()), None) or (Path(w) if (w := shutil.which(name)) else None)
    if found is None:
        raise InputError(f"找不到 {name}：请先安装 fjvoucher（双击 windows/install.cmd）(fjvoucher-desk not installed)")
    return found


def desktop_folder() -> Path:
    """Return the user's desktop folder."""
    import platformdirs

    return Path(platformdirs.user_desktop_dir())


def make_shortcut(desktop: Path, program: Path, *, windows: bool = os.name == "nt",
                  run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Path:
    """Write the desktop icon starting `program`: a .lnk on Windows, a .desktop launcher elsewhere."""
    desktop.mkdir(parents=True, exist_ok=True)
    if windows:
        link = desktop / f"{NAME}.lnk"
        run(["powershell", "-NoProfile", "-NonInteractive", "-Command", POWERSHELL], check=True,
            env={**os.environ, "FJV_LINK": str(link), "FJV_TARGET": str(program)})
        return link
    link = desktop / "fjvoucher-desk.desktop"
    quoted = '"' + str(program).replace("\\", "\\\\").replace('"', '\\"') + '"'
    link.write_text(f"[Desktop Entry]\nType=Application\nName={NAME}\nName[en]=fjvoucher workbench\n"
                    f"Exec={quoted}\nTerminal=false\n", encoding="utf-8")
    link.chmod(0o755)  # desktops start only launchers marked executable
    return link
