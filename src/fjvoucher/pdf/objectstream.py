"""Write a small PDF with its dictionaries packed into one compressed object stream (PDF 1.5).

A cut voucher page is mostly its font program; the rest is dictionaries written as plain text (the
font's /Widths alone is 1.3 KB of "1000 1000 …").  Packed into one Flate object stream and indexed by
a cross-reference stream they take a quarter of that, about 1.4 KB less a voucher.  Every PDF reader
since 2003 reads them (Acrobat 6, poppler, pdf.js, PDFium, MuPDF); pypdf writes them only for
incremental updates, so the few lines are here.
"""

from __future__ import annotations

import io
import zlib


def packed(pdf: bytes) -> bytes:
    """Return `pdf` written again with every object but the streams in one object stream.

    Objects keep their numbers and their text, cut from `pdf` where its cross-reference table says they
    stand (nothing is parsed again).  A file this cannot read so simply is returned as it is.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        trailer = reader.trailer
        if "/Encrypt" in trailer or reader.xref_objStm or any(reader.xref[g] for g in reader.xref if g != 0):
            return pdf
        bodies = _bodies(pdf, reader.xref[0], pdf.rindex(b"\nxref") + 1)  # the table, not "startxref"
    except (PdfReadError, ValueError, KeyError):
        return pdf
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    inside: list[int] = []
    for number, body in bodies.items():
        if body.endswith(b"endstream"):  # a stream cannot stand in an object stream
            offsets[number] = len(out)
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        else:
            inside.append(number)
    box = max(bodies) + 1  # the object stream's number; the cross-reference stream's is one more
    offsets[box] = len(out)
    out += _object_stream(box, [(n, bodies[n]) for n in inside])
    offsets[box + 1] = len(out)
    extra = b"".join(b" /%s %s" % (key[1:].encode("latin-1"), _text(trailer.raw_get(key)))
                     for key in ("/Root", "/Info", "/ID") if key in trailer)
    out += _xref_stream(box + 1, offsets, {n: (box, i) for i, n in enumerate(inside)}, extra)
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[box + 1]
    return bytes(out)


def _bodies(pdf: bytes, offsets: dict[int, int], xref_at: int) -> dict[int, bytes]:
    """Return each object's text, cut from `pdf` between its "N 0 obj" and its "endobj"."""
    starts = sorted((at, number) for number, at in offsets.items())
    bodies = {}
    for (at, number), end in zip(starts, [at for at, _ in starts[1:]] + [xref_at], strict=True):
        head = b"%d 0 obj" % number
        chunk = pdf[at:end].rstrip()
        if not chunk.startswith(head) or not chunk.endswith(b"endobj"):
            raise ValueError(f"object {number} is not where the cross-reference table says")
        bodies[number] = chunk[len(head):-len(b"endobj")].strip()
    return bodies


def _text(obj) -> bytes:
    buffer = io.BytesIO()
    obj.write_to_stream(buffer)
    return buffer.getvalue()


def _object_stream(number: int, members: list[tuple[int, bytes]]) -> bytes:
    """Return object `number`: an object stream holding `members` (object number, its text)."""
    index, body = [], bytearray()
    for member, text in members:
        index.append(b"%d %d" % (member, len(body)))
        body += text + b"\n"
    head = b" ".join(index) + b"\n"
    data = zlib.compress(head + bytes(body), 9)
    return (b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
            % (number, len(members), len(head), len(data)) + data + b"\nendstream\nendobj\n")


def _xref_stream(number: int, offsets: dict[int, int], inside: dict[int, tuple[int, int]], trailer: bytes) -> bytes:
    """Return object `number`: the cross-reference stream of a file whose objects stand at `offsets` or
    inside an object stream (`inside`: object → (object stream, index)); `trailer` is its other entries."""
    width = max(1, (max(*offsets.values(), number).bit_length() + 7) // 8)  # offsets and stream numbers

    def row(kind: int, where: int, last: int) -> bytes:  # kind 0 free, 1 at an offset, 2 in an object stream
        return bytes([kind]) + where.to_bytes(width, "big") + last.to_bytes(2, "big")

    rows = [row(0, 0, 0xFFFF)]
    for n in range(1, number + 1):
        rows.append(row(1, offsets[n], 0) if n in offsets else row(2, *inside[n]) if n in inside else row(0, 0, 0))
    data = zlib.compress(b"".join(rows), 9)
    return (b"%d 0 obj\n<< /Type /XRef /Size %d /W [ 1 %d 2 ]%s /Filter /FlateDecode /Length %d >>\nstream\n"
            % (number, number + 1, width, trailer, len(data)) + data + b"\nendstream\nendobj\n")
