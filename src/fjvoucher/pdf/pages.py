"""Check a converted PDF, move it into place, and cut it into one PDF per voucher."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from fjvoucher.pdf.jobs import PdfJob
from fjvoucher.sheets.atomic import make_private, write_bytes_atomic


def finish_job(produced: Path, job: PdfJob) -> str | None:
    """Check a converted PDF, cut its per-candidate PDFs, move it into place; return a problem or None."""
    if not produced.is_file():
        return "没有生成 PDF（文档可能已损坏）(no PDF produced)"
    pages = count_pages(produced)
    if pages != job.pages:
        return f"PDF 有 {pages} 页，应为 {job.pages} 页 (page count differs)"
    if job.singles:
        cut_pages(produced, job.singles)
    job.pdf.parent.mkdir(parents=True, exist_ok=True)
    make_private(produced)
    os.replace(produced, job.pdf)  # same file system: the PDF appears complete or not at all
    return None


def count_pages(pdf: Path) -> int | None:
    """Return the number of pages of `pdf`, or None when it cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return len(PdfReader(pdf).pages)
    except (PdfReadError, OSError, ValueError):
        return None


_DO = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+Do\b")


def cut_pages(pdf: Path, targets: list[Path]) -> None:
    """Write page i of `pdf` to targets[i], each keeping only the images its own page shows."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    reader = PdfReader(pdf)
    for page, target in zip(reader.pages, targets, strict=True):
        resources = page["/Resources"].get_object()
        images = resources.get("/XObject")
        if images is not None:
            # LibreOffice shares one resource dictionary across pages: without pruning,
            # every page would carry every photo of the batch.
            used = {name.decode() for name in _DO.findall(page.get_contents().get_data())}
            own = DictionaryObject(resources)
            own[NameObject("/XObject")] = DictionaryObject(
                {k: v for k, v in images.get_object().items() if k[1:] in used})
            page[NameObject("/Resources")] = own
        writer = PdfWriter()
        writer.add_page(page)
        buffer = io.BytesIO()
        writer.write(buffer)
        write_bytes_atomic(target, buffer.getvalue())
