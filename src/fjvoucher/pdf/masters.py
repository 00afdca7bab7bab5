"""Masters as the province published them (Word 97–2003 .doc, .dot, .dotx, .docm, .rtf), turned into .docx.

LibreOffice (the PDF engine) converts such a master once; the .docx is kept in the per-user cache
under the file's SHA-256, so a second merge with the same master does not convert it again.
Word's MERGEFIELD fields survive the conversion and are handled as in any .docx master.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import overload

from fjvoucher.atomic import make_folder
from fjvoucher.errors import TemplateError
from fjvoucher.pdf.engine import require_engine
from fjvoucher.pdf.libreoffice import soffice_command
from fjvoucher.pdf.processes import run_within

CONVERTED = {".doc", ".dot", ".dotx", ".docm", ".dotm", ".rtf", ".odt", ".wps"}
TIMEOUT_S = 120


@overload
def docx_master(path: Path, soffice: Path | None = None, cache: Path | None = None) -> Path: ...
@overload
def docx_master(path: None, soffice: Path | None = None, cache: Path | None = None) -> None: ...
def docx_master(path: Path | None, soffice: Path | None = None, cache: Path | None = None) -> Path | None:
    """Return the master as a .docx: `path` itself, or LibreOffice's conversion of it (made once, cached)."""
    if path is None or path.suffix.lower() not in CONVERTED:
        return path
    if not path.is_file():
        raise TemplateError(f"凭证母版 {path} 不存在 (master not found)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    target = (cache or _cache()) / digest[:32] / f"{path.stem}.docx"
    if target.is_file():
        return target
    converter = require_engine("libreoffice", soffice)
    assert converter is not None  # LibreOffice found, or require_engine raised
    with tempfile.TemporaryDirectory(prefix="fjvoucher-master-") as temporary:
        work = Path(temporary)
        source = work / f"master{path.suffix.lower()}"  # a plain name: LibreOffice chokes on some characters
        shutil.copyfile(path, source)
        _convert(converter, source, work)
        produced = work / "out" / "master.docx"
        if not produced.is_file():
            raise TemplateError(f"凭证母版 {path} 无法转换为 .docx（LibreOffice 没有生成文件）；请在 Word 中另存为 "
                                ".docx 后再用 (conversion failed)")
        _check_photo_field_kept(path, source.read_bytes(), produced)
        make_folder(target.parent)
        shutil.copyfile(produced, work / "ready.docx")
        os.replace(work / "ready.docx", target)
    return target


def _convert(soffice: Path, source: Path, work: Path) -> None:
    command = soffice_command(soffice, work / "profile", "docx:MS Word 2007 XML", work / "out", [source])
    if run_within(command, TIMEOUT_S).returncode is None:
        raise TemplateError(f"LibreOffice 转换母版超过 {TIMEOUT_S} 秒没有完成，已终止 (conversion timed out)")


def _check_photo_field_kept(path: Path, original: bytes, produced: Path) -> None:
    """Refuse a conversion that lost the INCLUDEPICTURE photo field (LibreOffice drops one with a MERGEFIELD
    inside): the photo box would print the ID number the field named instead of the photo."""
    import zipfile

    said = b"INCLUDEPICTURE" in original or "INCLUDEPICTURE".encode("utf-16-le") in original
    with zipfile.ZipFile(produced) as package:
        kept = b"INCLUDEPICTURE" in package.read("word/document.xml")
    if said and not kept:
        raise TemplateError(f"凭证母版 {path} 的照片域（INCLUDEPICTURE）在转换中丢失，照片框里会印出身份证号。"
                            "请在 Word 中把母版另存为 .docx（文件 → 另存为 → Word 文档）后再用 "
                            "(the photo field was lost)")


def _cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("fjvoucher", appauthor=False)) / "masters"
