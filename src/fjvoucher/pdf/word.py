"""Convert batches with Microsoft Word through docx2pdf, where Word is installed (Windows, macOS)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from fjvoucher.atomic import make_folder
from fjvoucher.pdf.jobs import PdfFailure, PdfJob, Progress
from fjvoucher.pdf.pages import finish_job


def word_available() -> bool:
    """Return True where docx2pdf can drive Microsoft Word (Windows or macOS with docx2pdf installed)."""
    if sys.platform not in ("win32", "darwin"):
        return False
    try:
        import docx2pdf  # noqa: F401
    except ImportError:
        return False
    return True


class WordConverter:
    """Convert batches one by one with Microsoft Word through docx2pdf (Windows and macOS only)."""

    def __init__(self, workdir: Path, progress: Progress | None = None):
        self.workdir, self.progress = workdir, progress
        self.failures: list[PdfFailure] = []

    def submit(self, job: PdfJob) -> None:
        """Convert `job` now: Word runs one document at a time."""
        from docx2pdf import convert

        produced = self.workdir / "word" / f"{job.docx.stem}.pdf"
        make_folder(produced.parent)
        try:
            convert(str(job.docx), str(produced))
        except Exception as exc:  # Word's automation raises whatever COM or AppleScript raises
            self.failures.append(PdfFailure(job, f"Word 转换失败：{exc}"))
            return
        reason = finish_job(produced, job)
        if reason:
            self.failures.append(PdfFailure(job, reason))
        elif self.progress:
            self.progress(job.pages)

    def finish(self) -> list[PdfFailure]:
        """Return the batches that failed."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        return self.failures

    def abort(self) -> None:
        """Stop: Word converts in this thread, so there is nothing running to kill."""
        shutil.rmtree(self.workdir, ignore_errors=True)
