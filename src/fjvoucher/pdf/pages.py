"""Check a converted PDF, move it into place, and cut it into one PDF per voucher."""

from __future__ import annotations

import io
import os
import re
import zlib
from pathlib import Path

from fjvoucher.atomic import make_folder, make_private, write_bytes_atomic
from fjvoucher.pdf.docdates import fix_document_dates
from fjvoucher.pdf.fontsubset import (
    TrueType,
    codes_by_font,
    merged,
    rewrite_codes,
    subset_to_unicode,
    unicode_pairs,
    with_unicode_pairs,
)
from fjvoucher.pdf.jobs import PdfJob
from fjvoucher.pdf.objectstream import packed


def finish_job(produced: Path, job: PdfJob) -> str | None:
    """Check a converted PDF, cut its per-candidate PDFs, move it into place; return a problem or None."""
    if not produced.is_file():
        return "没有生成 PDF（文档可能已损坏）(no PDF produced)"
    pages = count_pages(produced)
    if pages != job.pages:
        return f"PDF 有 {pages} 页，应为 {job.pages} 页 (page count differs)"
    if job.created is not None:
        fix_document_dates(produced, job.created)
    if job.singles:
        cut_pages(produced, job.singles)
    make_folder(job.pdf.parent)
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
    """Write page i of `pdf` to targets[i], each keeping only the images and glyphs its own page shows,
    its dictionaries packed in an object stream."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    reader = PdfReader(pdf)
    fonts: dict[int, TrueType | None] = {}  # each font program parsed once per batch
    for page, target in zip(reader.pages, targets, strict=True):
        resources, contents = page["/Resources"].get_object(), page.get_contents()
        assert isinstance(resources, DictionaryObject) and contents is not None  # every page LibreOffice writes
        content = contents.get_data()
        # LibreOffice shares one resource dictionary across pages: without pruning, every page
        # would carry every photo and every font of the batch.
        codes = codes_by_font(content)  # read once: pruning, merging and subsetting all use it
        used = {"/XObject": {name.decode() for name in _DO.findall(content)}, "/Font": set(codes)}
        own = DictionaryObject(resources)
        for kind, names in used.items():
            if resources.get(kind) is not None:
                entries = resources[kind].get_object()
                assert isinstance(entries, DictionaryObject)  # /XObject and /Font are dictionaries
                own[NameObject(kind)] = DictionaryObject({k: v for k, v in entries.items() if k[1:] in names})
        page[NameObject("/Resources")] = own
        writer = PdfWriter()
        cut = writer.add_page(page)
        if _one_program_per_face(cut, content, codes):  # copy the page again: the merged-away font and old
            writer = PdfWriter()                          # text stay behind
            cut = writer.add_page(cut)
        _own_glyphs(cut, fonts, codes)
        buffer = io.BytesIO()
        writer.write(buffer)
        write_bytes_atomic(target, packed(buffer.getvalue()))


def _one_program_per_face(page, content: bytes, used: dict[str, set[int]]) -> bool:
    """Merge the subsets LibreOffice made of one face (a batch with more than 256 of its glyphs) into the one
    the page uses most, when the other's codes fit in its free codes: one font program instead of two.

    `used` (font name → codes the page shows) is updated to the page as rewritten.
    """
    from pypdf.generic import DictionaryObject, NameObject

    resources = page["/Resources"].get_object()
    fonts = resources.get("/Font")
    if fonts is None or len(fonts.get_object()) < 2:
        return False
    fonts = fonts.get_object()
    by_face: dict[str, list[str]] = {}
    for name, font in fonts.items():
        font = font.get_object()
        if font.get("/Subtype") == "/TrueType" and name[1:] in used:
            by_face.setdefault(str(font.get("/BaseFont", "")).split("+")[-1], []).append(name[1:])
    renames, moves = {}, {}
    for names in by_face.values():
        if len(names) < 2:
            continue
        primary, *others = sorted(names, key=lambda n: -len(used[n]))
        for other in others:
            move = _merge_into(fonts, primary, other, used)
            if move is not None:
                renames[other], moves[other] = primary, move
                used[primary] |= set(move.values())
    if not renames:
        return False
    for other in renames:
        del used[other]
    page.replace_contents(_stream(rewrite_codes(content, renames, moves)))
    kept = DictionaryObject({k: v for k, v in fonts.items() if k[1:] not in renames})
    own = DictionaryObject(resources)
    own[NameObject("/Font")] = kept
    page[NameObject("/Resources")] = own
    return True


def _stream(data: bytes):
    from pypdf.generic import DecodedStreamObject

    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream.flate_encode()


def _merge_into(fonts, primary: str, other: str, used: dict[str, set[int]]) -> dict[int, int] | None:
    """Append `other`'s glyphs to `primary`'s program under codes the page leaves free; return the moves."""
    from pypdf.generic import ArrayObject, NameObject, NumberObject

    first_font, second_font = fonts["/" + primary].get_object(), fonts["/" + other].get_object()
    free = [c for c in range(1, 256) if c not in used[primary]]
    wanted = sorted(used[other])
    if len(wanted) > len(free) or "/ToUnicode" not in first_font or "/ToUnicode" not in second_font:
        return None
    move = dict(zip(wanted, free, strict=False))
    programs = [f["/FontDescriptor"].get_object()["/FontFile2"].get_object() for f in (first_font, second_font)]
    first, second = (TrueType.parse(p.get_data()) for p in programs)
    if first is None or second is None or (combined := merged(first, second, move)) is None:
        return None
    programs[0].set_data(combined.program())
    programs[0][NameObject("/Length1")] = NumberObject(len(programs[0].get_data()))
    widths = _widths(first_font)
    for old, new in move.items():
        widths[new] = _widths(second_font).get(old, 0)
    first_font[NameObject("/FirstChar")], first_font[NameObject("/LastChar")] = NumberObject(0), NumberObject(255)
    first_font[NameObject("/Widths")] = ArrayObject(NumberObject(widths.get(c, 0)) for c in range(256))
    pairs = unicode_pairs(first_font["/ToUnicode"].get_object().get_data())
    theirs = unicode_pairs(second_font["/ToUnicode"].get_object().get_data())
    pairs.update({new: theirs[old] for old, new in move.items() if old in theirs})
    unicode_map = first_font["/ToUnicode"].get_object()
    unicode_map.set_data(with_unicode_pairs(unicode_map.get_data(), pairs))
    return move


def _widths(font) -> dict[int, int]:
    first = int(font.get("/FirstChar", 0))
    return {first + i: int(w) for i, w in enumerate(font["/Widths"].get_object())}


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


def _own_glyphs(page, fonts: dict[int, TrueType | None], used: dict[str, set[int]]) -> None:
    """Replace each TrueType font program of a cut page (the writer's own copy) by one holding only the
    glyphs the page shows."""
    from pypdf.generic import NameObject, NumberObject

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
        if (program := fonts[key]) is None:
            continue
        codes = used.get(name[1:], set())
        smaller = program.subset(codes)
        stream.set_data(smaller)  # re-encoded with the stream's own filter (Flate) …
        if stream.get("/Filter") == "/FlateDecode":
            stream._data = zlib.compress(smaller, 9)  # … at its best level: written once, read many times
        stream[NameObject("/Length1")] = NumberObject(len(smaller))
        if "/ToUnicode" in font:
            unicode_map = font["/ToUnicode"].get_object()
            unicode_map.set_data(subset_to_unicode(unicode_map.get_data(), codes))
        _narrow_widths(font, codes)
