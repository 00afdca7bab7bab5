"""Check a converted PDF, move it into place, and cut it into one PDF per voucher."""

from __future__ import annotations

import io
import os
import re
import zlib
from pathlib import Path

from fjvoucher.pdf.fontsubset import TrueType, codes_by_font, subset_to_unicode
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
    """Write page i of `pdf` to targets[i], each keeping only the images and glyphs its own page shows."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    reader = PdfReader(pdf)
    fonts: dict[int, TrueType | None] = {}  # parsed once per batch, by the font program's object number
    for page, target in zip(reader.pages, targets, strict=True):
        resources = page["/Resources"].get_object()
        content = page.get_contents().get_data()
        # LibreOffice shares one resource dictionary across pages: without pruning, every page
        # would carry every photo and every font of the batch.
        used = {"/XObject": {name.decode() for name in _DO.findall(content)}, "/Font": set(codes_by_font(content))}
        own = DictionaryObject(resources)
        for kind, names in used.items():
            if resources.get(kind) is not None:
                own[NameObject(kind)] = DictionaryObject(
                    {k: v for k, v in resources[kind].get_object().items() if k[1:] in names})
        page[NameObject("/Resources")] = own
        writer = PdfWriter()
        _own_glyphs(writer.add_page(page), fonts)
        buffer = io.BytesIO()
        writer.write(buffer)
        write_bytes_atomic(target, buffer.getvalue())


def _narrow_widths(font, codes: set[int]) -> None:
    """Keep the /Widths of the codes from the page's first to its last: a reader needs no others."""
    from pypdf.generic import ArrayObject, NameObject, NumberObject

    first, widths = int(font.get("/FirstChar", 0)), font.get("/Widths")
    if not codes or widths is None:
        return
    widths = widths.get_object()
    low, high = max(min(codes), first), min(max(codes), first + len(widths) - 1)
    if low > high:
        return
    font[NameObject("/Widths")] = ArrayObject(widths[low - first:high - first + 1])
    font[NameObject("/FirstChar")], font[NameObject("/LastChar")] = NumberObject(low), NumberObject(high)


def _own_glyphs(page, fonts: dict[int, TrueType | None]) -> None:
    """Replace each TrueType font program of a cut page (the writer's own copy) by one holding only the
    glyphs the page shows."""
    from pypdf.generic import NameObject, NumberObject

    used = codes_by_font(page.get_contents().get_data())
    for name, font in (page["/Resources"].get_object().get("/Font") or {}).items():
        font = font.get_object()
        descriptor = font.get("/FontDescriptor")
        if font.get("/Subtype") != "/TrueType" or descriptor is None or "/FontFile2" not in descriptor.get_object():
            continue
        stream = descriptor.get_object()["/FontFile2"].get_object()
        encoded = getattr(stream, "_data", b"")
        key = hash((encoded[:4096], len(encoded)))  # the same program in every page of a batch: parsed once
        if key not in fonts:
            fonts[key] = TrueType.parse(stream.get_data())
        if fonts[key] is None:
            continue
        codes = used.get(name[1:], set())
        smaller = fonts[key].subset(codes)
        stream.set_data(smaller)  # re-encoded with the stream's own filter (Flate) …
        if stream.get("/Filter") == "/FlateDecode":
            stream._data = zlib.compress(smaller, 9)  # … at its best level: written once, read many times
        stream[NameObject("/Length1")] = NumberObject(len(smaller))
        if "/ToUnicode" in font:
            unicode_map = font["/ToUnicode"].get_object()
            unicode_map.set_data(subset_to_unicode(unicode_map.get_data(), codes))
        _narrow_widths(font, codes)
