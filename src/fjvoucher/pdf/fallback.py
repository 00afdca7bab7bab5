"""Vouchers the drawing engine cannot draw: kept on disk, printed by one LibreOffice run, spliced into their batches.

A batch with both kinds leaves its drawn pages in a PDF of their own (in the engine's folder) and its
other vouchers on disk, pickled in page order: the merge holds neither in memory.  When every batch is
queued, those vouchers, batch after batch, go into as few DOCX as LibreOffice's batch limit needs
(`FALLBACK_PAGES` a document), converted in one run; each one's page is cut from it as the libreoffice
engine cuts a batch (its per-candidate PDF, or a page in the engine's folder), and each batch PDF is
written from its drawn and cut pages in roster order, under a temporary name first.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fjvoucher.atomic import write_bytes_atomic
from fjvoucher.pdf.drawnpdf import pdf_date
from fjvoucher.pdf.jobs import PdfJob
from fjvoucher.pdf.objectstream import packed

FALLBACK_PAGES = 500  # vouchers a fallback DOCX holds: a batch's worth, which LibreOffice converts in one go
STEM = "fjvoucher-fallback"

Compose = Callable[[list], bytes]  # a DOCX of some of a merge's vouchers, one a page, in the order given


@dataclass
class Mixed:
    """A batch of drawn and undrawn vouchers, waiting for LibreOffice's pages."""

    job: PdfJob
    order: int  # the batch's place in the merge
    drawn: Path  # a PDF of its drawn pages, in order
    missing: list[int]  # its pages (from 0) LibreOffice prints
    kept: Path  # those vouchers, pickled in page order


class Fallbacks:
    """The undrawn vouchers of a merge, batch by batch, and the pages LibreOffice makes of them."""

    def __init__(self, folder: Path, compose: Compose):
        self.folder, self.compose = folder, compose
        self.batches: dict[int, Mixed] = {}  # by the batch's place in the merge

    def keep(self, order: int, job: PdfJob, missing: list[int], drawn: Path) -> None:
        """Put the batch's undrawn vouchers (`missing`, from `job.vouchers`) on disk until the merge's end."""
        assert job.vouchers is not None  # the drawing engine keeps per-record fallbacks only for these
        kept = self.folder / f"{order:06d}.pickle"  # personal data: owner-only, as every file of ours
        write_bytes_atomic(kept, pickle.dumps([job.vouchers[i] for i in missing], protocol=pickle.HIGHEST_PROTOCOL))
        self.batches[order] = Mixed(job, order, drawn, missing, kept)

    def documents(self) -> list[tuple[PdfJob, list[Mixed]]]:
        """Write every kept voucher into DOCX, `FALLBACK_PAGES` a document, batch after batch in merge order;
        return each document's job (its pages cut to `page_of`) and the batches it holds pages of."""
        documents: list[tuple[PdfJob, list[Mixed]]] = []
        vouchers: list = []
        targets: list[Path] = []
        holds: list[Mixed] = []

        def write() -> None:
            docx = self.folder / f"{STEM}-{len(documents) + 1:03d}.docx"
            write_bytes_atomic(docx, self.compose(vouchers))
            documents.append((PdfJob(docx, docx.with_suffix(".pdf"), len(vouchers), list(targets)), list(holds)))
            for pending in (vouchers, targets, holds):
                pending.clear()

        for order in sorted(self.batches):
            mixed = self.batches[order]
            for page, voucher in zip(mixed.missing, pickle.loads(mixed.kept.read_bytes()), strict=True):
                if not holds or holds[-1] is not mixed:
                    holds.append(mixed)
                vouchers.append(voucher)
                targets.append(self.page_of(mixed, page))
                if len(vouchers) == FALLBACK_PAGES:
                    write()
            mixed.kept.unlink()
        if vouchers:
            write()
        return documents

    def page_of(self, mixed: Mixed, page: int) -> Path:
        """Return where the batch's LibreOffice page `page` is cut to: its per-candidate PDF, else a file of ours."""
        return mixed.job.singles[page] if mixed.job.singles else self.folder / f"{mixed.order:06d}-{page:04d}.pdf"


def splice(mixed: Mixed, cut: list[Path]) -> None:
    """Write the batch PDF from its drawn pages and LibreOffice's (`cut`, one file a missing page), in page order;
    it appears whole or not.  Run in a drawing process: pypdf holds the batch's photos while it writes."""
    from pypdf import PdfReader, PdfWriter

    drawn = iter(PdfReader(mixed.drawn).pages)
    theirs = dict(zip(mixed.missing, cut, strict=True))
    writer = PdfWriter()
    for page in range(mixed.job.pages):
        writer.add_page(PdfReader(theirs[page]).pages[0] if page in theirs else next(drawn))
    if mixed.job.created is not None:  # dated as a drawn batch: by its vouchers' issue time
        stamp = pdf_date(mixed.job.created).decode("ascii")
        writer.add_metadata({"/CreationDate": stamp, "/ModDate": stamp})
    buffer = io.BytesIO()
    writer.write(buffer)
    write_bytes_atomic(mixed.job.pdf, packed(buffer.getvalue()))
    mixed.drawn.unlink()
