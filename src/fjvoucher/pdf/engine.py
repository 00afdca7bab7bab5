"""The one door to PDF output: choose the format, open an engine, sweep what a killed run left.

An engine is a converter with `submit(job)`, `finish() -> failures` and `abort()`, and a private
`workdir` inside the output folder (same file system, so finished PDFs are renamed into place).
The merge knows nothing else: no LibreOffice file, folder, profile or install hint.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from fjvoucher.atomic import make_folder
from fjvoucher.errors import InputError, PdfEngineError
from fjvoucher.pdf.drawengine import DrawingConverter, plan_for
from fjvoucher.pdf.fallback import Compose
from fjvoucher.pdf.jobs import PdfFailure, PdfJob, Progress
from fjvoucher.pdf.libreoffice import LibreOfficeConverter, find_soffice, soffice_version_text
from fjvoucher.pdf.probe import ProbeMaster
from fjvoucher.pdf.system import install_hint
from fjvoucher.pdf.word import WordConverter, word_available

PDF_ENGINES = ("auto", "libreoffice", "word")  # the first is the default; auto: drawn where the probe proved
WORKDIR_PREFIX = ".fjvoucher-pdf-"


class Converter(Protocol):
    """What every PDF engine offers the merge."""

    workdir: Path

    def submit(self, job: PdfJob) -> None:
        """Queue `job`; it is converted as soon as the engine is free."""

    def finish(self) -> list[PdfFailure]:
        """Wait for every queued job; return the ones that failed."""

    def abort(self) -> None:
        """Stop at once and clean up."""


def require_engine(engine: str, soffice: Path | None = None) -> Path | None:
    """Return soffice for "libreoffice" (None for "word"); raise PdfEngineError saying how to get a missing one."""
    if engine == "word":
        if not word_available():
            raise PdfEngineError("--pdf-engine word 需要装有 Microsoft Word 的 Windows 或 macOS，并先运行 "
                                 "pip install docx2pdf (needs Microsoft Word and docx2pdf)")
        return None
    found = find_soffice(soffice)
    if soffice and (found is None or soffice_version_text(found) is None):
        raise InputError(f"--soffice {soffice} 不是可以运行的 LibreOffice（文件不存在或无法运行）。请检查路径，"
                         "如 C:/Program Files/LibreOffice/program/soffice.exe (the --soffice given does not work)")
    if found is None:
        raise PdfEngineError(f"无法生成 PDF：找不到 LibreOffice。请安装：{install_hint()} (LibreOffice not found)")
    return found


def choose_format(requested: str | None, engine: str, soffice: Path | None) -> tuple[str, list[str]]:
    """Return the output format (docx, pdf, both) and notes for the clerk.

    Without a request: both where the engine is found, else docx with a note on getting PDF.
    Raise PdfEngineError, before anything is written, when PDF is asked for and cannot be made.
    """
    if requested in ("pdf", "both") or soffice:  # a path the clerk named must work, whatever the format
        require_engine(engine, soffice)
    if requested:
        return requested, []
    if engine == "word" or find_soffice(soffice):
        return "both", []
    return "docx", [f"本机没有 LibreOffice，只生成了 Word 文件。要生成 PDF 请安装：{install_hint()} "
                    "(no PDF engine: DOCX only)"]


def open_engine(engine: str, outdir: Path, soffice: Path | None = None,
                progress: Progress | None = None, master: ProbeMaster | None = None, note=None,
                compose: Compose | None = None) -> Converter:
    """Return a converter for `engine` working in a private folder inside `outdir`.

    "auto" with a `master` draws what the master's probe proved (probing it once; `note` hears of it); the
    vouchers it cannot draw LibreOffice prints from a DOCX of only them, which `compose` writes.
    """
    soffice_path = require_engine(engine, soffice)
    make_folder(outdir)
    workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=outdir))
    if engine == "word":
        return WordConverter(workdir, progress)
    assert soffice_path is not None  # require_engine found LibreOffice or raised
    if engine == "auto" and master is not None:
        plan, refused = plan_for(master, soffice_path, workdir, note=note)
        return DrawingConverter(soffice_path, workdir, plan, refused, progress, compose=compose)
    return LibreOfficeConverter(soffice_path, workdir, progress=progress)


def draws(converter: Converter | None) -> bool:
    """Return whether `converter` draws vouchers (it then takes each batch's records and vouchers, and has notes)."""
    return isinstance(converter, DrawingConverter)


def notes_of(converter: Converter | None) -> list[str]:
    """Return what the clerk should know of a finished conversion (how many vouchers LibreOffice printed, why)."""
    return converter.summary() if isinstance(converter, DrawingConverter) else []


def sweep(outdir: Path) -> None:
    """Remove the working folders a run killed outright (power cut, SIGKILL) left in `outdir`."""
    if outdir.is_dir():
        for workdir in outdir.glob(f"{WORKDIR_PREFIX}*"):
            shutil.rmtree(workdir, ignore_errors=True)
