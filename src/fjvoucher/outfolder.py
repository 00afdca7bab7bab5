"""The output folder: safe file names, what a killed run left, and the manifest of what a run wrote.

A manifest lets a re-run remove what an earlier run wrote and this one does not (a row that
became invalid), and nothing else: files the clerk put there are never touched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fjvoucher.sheets.atomic import remove_leftovers, write_bytes_atomic

MANIFEST_NAME = ".fjvoucher-manifest.json"
SUBFOLDERS = ("vouchers", "batches")
_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_name(text: str) -> str:
    """Return `text` safe as a file name on Windows too, unable to leave its folder (may be empty)."""
    return _UNSAFE_NAME.sub("_", text).strip(" .")[:120]


def file_stem(certificate_no: str, name: str, row: int) -> str:
    """Return `<证书编号>_<姓名>`, safe as a file name on Windows too and unable to leave its folder."""
    stem = safe_name(f"{certificate_no}_{name}")
    if not stem or stem.split(".")[0].upper() in _RESERVED:
        stem = f"row{row}_{stem}"
    return stem


def remove_temporary_files(outdir: Path) -> None:
    """Remove the temporary files a run killed outright (power cut, SIGKILL) left."""
    for folder in (outdir, *(outdir / name for name in SUBFOLDERS)):
        remove_leftovers(folder)


def replace_manifest(outdir: Path, written: list[str]) -> None:
    """Remove files an earlier run wrote that this run did not, then record this run's files."""
    manifest = outdir / MANIFEST_NAME
    now = set(written)
    try:
        before = set(json.loads(manifest.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        before = set()
    for stale in before - now:
        stale_path = (outdir / stale).resolve()
        if outdir.resolve() in stale_path.parents:  # a tampered manifest cannot reach outside OUTDIR
            stale_path.unlink(missing_ok=True)
    write_bytes_atomic(manifest, json.dumps(sorted(now), ensure_ascii=False, indent=0).encode("utf-8"))
