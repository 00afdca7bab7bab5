"""The output folder: safe file names, what a killed run left, and the manifest of what a run wrote.

A manifest lets a re-run remove what an earlier run wrote and this one does not (a row that
became invalid), and nothing else: files the clerk put there are never touched, an input
(roster, master, photos, ledger) is never written or removed, and nothing is written or
removed outside the real output folder (a symlinked subfolder is refused, not followed).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from fjvoucher.atomic import remove_leftovers, write_bytes_atomic
from fjvoucher.errors import InputError

MANIFEST_NAME = ".fjvoucher-manifest.json"
WRITTEN_NAME = ".fjvoucher-written.json"  # digests of the workbooks people may edit, as fjvoucher wrote them
_NOT_IN_NAME = re.compile(r"[\\:\x00]")  # what no name fjvoucher writes holds (safe_name replaces it)
SUBFOLDERS = ("vouchers", "batches")
_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
# A file name may have 255 bytes on Linux (UTF-8) and 255 UTF-16 units on Windows; the stem
# leaves room for ".docx" and the temporary name around it (".stem.0123abcd.tmp.docx").
MAX_STEM_BYTES = 200


def safe_name(text: str) -> str:
    """Return `text` safe as a file name on Windows too, unable to leave its folder (may be empty)."""
    name = _cut_to_bytes(_UNSAFE_NAME.sub("_", text).strip(" ."), MAX_STEM_BYTES).strip(" .")
    return f"_{name}" if name.split(".")[0].upper() in _RESERVED else name  # CON, NUL … are devices on Windows


def _cut_to_bytes(text: str, limit: int) -> str:
    """Return the longest start of `text` whose UTF-8 and UTF-16 forms both fit in `limit` bytes/units."""
    while len(text.encode("utf-8")) > limit or len(text.encode("utf-16-le")) // 2 > limit:
        text = text[:-1]
    return text


def file_stem(certificate_no: str, name: str, row: int) -> str:
    """Return `<证书编号>_<姓名>`, safe as a file name on Windows too and unable to leave its folder."""
    return safe_name(f"{certificate_no}_{name}") or f"row{row}"


def check_output_folder(outdir: Path, inputs: dict[str, Path | None]) -> None:
    """Raise InputError before anything is written when the run would write or clean an input,
    write through a symbolic link out of `outdir`, or could not make or write in `outdir` at all."""
    check_writable(outdir)
    for name in SUBFOLDERS:
        sub = outdir / name
        if sub.is_symlink() or (sub.exists() and not sub.is_dir()):
            raise InputError(f"输出文件夹中的 {sub} 是链接或文件，不是普通文件夹；fjvoucher 不会写到别处。"
                             "请删除它或换一个输出文件夹 (a subfolder is a link or a file)")
    real_outdir, owned = outdir.resolve(), None
    for what, path in inputs.items():
        if path is None or not path.exists():
            continue
        try:
            inside = path.resolve().relative_to(real_outdir).parts
        except ValueError:
            continue  # not in the output folder at all
        if not inside:
            continue  # the output folder itself (a photo folder named as output): nothing in it is removed
        owned = owned if owned is not None else _owned(outdir)
        if inside[0] in SUBFOLDERS or "/".join(inside).casefold() in owned:
            raise InputError(f"{what} {path} 在输出文件夹中，会被这次运行覆盖或清理。请把它移出 {outdir}，"
                             "或换一个输出文件夹 (an input lies where the output is written)")


def check_writable(outdir: Path, what: str = "输出文件夹", subfolders: tuple[str, ...] = SUBFOLDERS) -> None:
    """Raise InputError unless `outdir` (`what` it is) is, or can be made, a folder this user may write in.

    Checked before the roster is read and before a ledger is created: a run that cannot write its
    output leaves nothing behind, not even an empty ledger.
    """
    folder = outdir.absolute()
    while not (folder.exists() or folder.is_symlink()) and folder != folder.parent:
        if len(folder.name.encode("utf-8")) > 255 or len(folder.name.encode("utf-16-le")) > 2 * 255:
            raise InputError(f"{what} {outdir} 无法建立：文件夹名「{folder.name[:20]}…」超过 255 个字节。"
                             "请换一个短一些的名字 (folder name too long)", code="output-unusable")
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{what} {outdir} 无法建立：{folder} 不是文件夹（是文件或失效的链接）。"
                         "请换一个位置 (not a folder)", code="output-unusable")
    for place in (folder, *(folder / name for name in subfolders if folder == outdir.absolute())):
        if place.is_dir() and not os.access(place, os.W_OK | os.X_OK):
            raise InputError(f"{what} {outdir} 无法写入：没有在 {place} 中写文件的权限。"
                             "请换一个位置 (permission denied)", code="output-unusable")


def _owned(outdir: Path) -> set[str]:
    """Return the files a run in `outdir` writes or may remove, relative and case-folded: fixed names and
    the manifest's list (compared as names, not resolved one by one: a manifest may list 150,000)."""
    return {name.casefold() for name in (MANIFEST_NAME, "rejected.xlsx", *_manifest(outdir))}


def _manifest(outdir: Path) -> set[str]:
    """Return every relative path an earlier run recorded as written (merges and reissues)."""
    written, kept = _read_manifest(outdir)
    return written | kept


def _read_manifest(outdir: Path) -> tuple[set[str], set[str]]:
    """Return the files merges wrote (a re-run may remove them) and those reissues wrote (kept).

    The manifest is a list (fjvoucher 0.3: merges only) or {"written": [...], "kept": [...]}; one
    that is neither, or names a file outside the run's folders, is forgotten rather than obeyed.
    """
    try:
        data = json.loads((outdir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set(), set()
    if isinstance(data, list):
        data = {"written": data, "kept": []}
    if not (isinstance(data, dict) and set(data) == {"written", "kept"}
            and all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in data.values())):
        return set(), set()  # hand-edited or damaged: forget it rather than act on it
    return ({item for item in data["written"] if _inside(outdir, item)},
            {item for item in data["kept"] if _inside(outdir, item)})


def _write_manifest(outdir: Path, written: set[str], kept: set[str]) -> None:
    data = {"written": sorted(written), "kept": sorted(kept)}  # sorted: a re-run writes the same bytes
    # No indent: json's C encoder then writes 150,000 names in a tenth of the time.
    write_bytes_atomic(outdir / MANIFEST_NAME, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def claim(claims: dict[Path, list[str]], *, keep: bool = False) -> None:
    """Refuse to write over a file fjvoucher did not write; then record the names as ours before any is written.

    `claims` maps each folder a run writes in (the output folder, or each --group-by folder) to the
    files it will write there.  Every folder is checked before any manifest is touched.  Recording
    first means a run killed half-way leaves files the manifest knows, so running it again replaces
    them.  `keep`: a reissue's files, which a later merge never removes.
    """
    manifests = {folder: _read_manifest(folder) for folder in claims}
    for folder, names in claims.items():
        written, kept = manifests[folder]
        ours = {name.casefold() for name in written | kept}
        foreign = [name for name in _existing(folder, names) if name.casefold() not in ours]
        if foreign:
            shown = "、".join(foreign[:3]) + (f" 等 {len(foreign)} 个" if len(foreign) > 3 else "")
            raise InputError(f"输出文件夹 {folder} 中已有不是 fjvoucher 写的文件 {shown}，这次运行会覆盖它们。"
                             "请把它们移走，或换一个输出文件夹 (files fjvoucher did not write)", code="output-exists")
    for folder, names in claims.items():
        written, kept = manifests[folder]
        if keep:
            kept = kept | set(names)
        else:
            written = written | set(names)
        _write_manifest(folder, written, kept)


def _existing(outdir: Path, names: list[str]) -> list[str]:
    """Return the files already there under `names`, as the folder spells them: each folder is listed once,
    not asked 150,000 times, and compared case-insensitively, as Windows and macOS compare names."""
    present: dict[str, dict[str, str]] = {}
    found = []
    for name in names:
        folder, _, leaf = name.rpartition("/")
        if folder not in present:
            place = outdir / folder if folder else outdir
            present[folder] = {n.casefold(): n for n in os.listdir(place)} if place.is_dir() else {}
        if (there := present[folder].get(leaf.casefold())) is not None:
            found.append(f"{folder}/{there}" if folder else there)
    return found


def _inside(outdir: Path, relative: str) -> bool:
    """Return True when `relative` names a file in one of the run's own subfolders or the folder itself.

    Plain string checks, not Path (a 150,000-entry manifest is read several times a run): no empty
    part, no . or .., no backslash or colon (a Windows drive or a second separator), as written.
    """
    parts = relative.split("/")
    if not all(part and part not in (".", "..") and not _NOT_IN_NAME.search(part) for part in parts):
        return False
    return len(parts) == 1 or (len(parts) == 2 and parts[0] in SUBFOLDERS)


def remove_temporary_files(outdir: Path) -> None:
    """Remove the temporary files a run killed outright (power cut, SIGKILL) left."""
    for folder in (outdir, *(outdir / name for name in SUBFOLDERS)):
        if not folder.is_symlink():
            remove_leftovers(folder)


def replace_manifest(outdir: Path, written: list[str]) -> None:
    """Remove files an earlier merge wrote that this one did not (never a reissue's), then record this run's."""
    now = set(written)
    before, kept = _read_manifest(outdir)
    for stale in before - now - kept:
        path = outdir / stale
        if path.is_file() and not path.is_symlink() and not path.parent.is_symlink():
            path.unlink(missing_ok=True)
    _write_manifest(outdir, now, kept)



def untouched_since_written(outdir: Path, path: Path) -> bool:
    """Return True when `path` is byte for byte what fjvoucher last wrote there (nobody edited or signed it)."""
    recorded = _written_digests(outdir).get(path.name)
    try:
        return recorded is not None and recorded == _digest(path)
    except OSError:
        return False


def remember_written(outdir: Path, path: Path) -> None:
    """Record the digest of `path` as written now, so that a later run can tell whether it was edited."""
    digests = _written_digests(outdir)
    digests[path.name] = _digest(path)
    write_bytes_atomic(outdir / WRITTEN_NAME, json.dumps(digests, ensure_ascii=False, indent=0).encode("utf-8"))


def _written_digests(outdir: Path) -> dict[str, str]:
    try:
        data = json.loads((outdir / WRITTEN_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
