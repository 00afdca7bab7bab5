"""Write drawn pages as one PDF: the background once, fonts holding only the glyphs the file shows,
photos as they are (JPEG), every dictionary in one object stream (PDF 1.5).

Fonts are simple TrueType fonts as LibreOffice writes them (poppler strokes a CID font's outlines a
hair differently, and the title is stroked): codes 1–255, code N being glyph N of the embedded
program.  A voucher fits one font a face; a batch takes a further font of a face every 255 glyphs.
Codes 1, 2, … are the background's glyphs as the probe numbered them, then the records' glyphs in
order of appearance; the same pages give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import struct
import zlib
from dataclasses import dataclass

from fjvoucher.pdf.drawing import DrawnPage
from fjvoucher.pdf.faces import Face, Programs
from fjvoucher.pdf.probe import Plan

_RUN = re.compile(rb"/@([^@]+)@ ([\d.]+) Tf<((?:\{[^}]+\})+)>Tj")
_CODE = re.compile(rb"\{([^:{}]+):(\d+):(\d+)(?::(-?\d+))?\}")  # face, glyph, character, step (1/1000 em)
_STATIC = re.compile(rb"/@([^@]+)@ ([\d.]+) Tf\[([^\]]*)\]TJ")
_STATIC_CODE = re.compile(rb"<00([0-9A-F]{2})>")
CODES = 255  # a simple font's codes 1–255: LibreOffice's kind of font, drawn alike by every reader


@dataclass
class Shared:
    """What every PDF drawn with one plan starts from, prepared once: programs, background, codes, entries."""

    programs: dict[str, Programs]
    background: bytes  # the background with its fonts named
    static: dict[str, list[tuple[int, str]]]  # face → its background glyphs and their characters, codes 1, 2, …
    where: dict[str, dict[int, tuple[int, int]]]  # face → glyph → (font, code)
    entries: dict[str, tuple[list[bytes], list[bytes]]]  # face → the static glyphs' widths and ToUnicode lines


def shared_programs(plan: Plan, faces: dict[str, Face]) -> Shared:
    """Return what PDFs drawn with `plan` share: programs starting with the background's glyphs, and the rest."""
    index = {face: i for i, face in enumerate(plan.static)}
    background = _STATIC.sub(lambda m: b"/F%dx0 %s Tf[%s]TJ" % (index[m.group(1).decode()], m.group(2),
                                                               _STATIC_CODE.sub(rb"<\1>", m.group(3))),
                             plan.background.encode("latin-1"))
    static = {face: list(zip(glyphs, plan.static_chars[face], strict=True)) for face, glyphs in plan.static.items()}
    return Shared({face: Programs(faces[face], glyphs) for face, glyphs in plan.static.items()}, background, static,
                  {face: {g: (0, i + 1) for i, (g, _) in enumerate(pairs)} for face, pairs in static.items()},
                  {face: _entries(faces[face], pairs, 1) for face, pairs in static.items()})


def _entries(face: Face, glyphs: list[tuple[int, str]], first: int) -> tuple[list[bytes], list[bytes]]:
    """Return the /Widths numbers and ToUnicode lines of `glyphs`, the first under code `first`."""
    widths = [b"%d" % round(face.advance(g) * 1000 / face.units) for g, _ in glyphs]
    lines = [b"<%02X><%s>\n" % (first + i, c.encode("utf-16-be").hex().upper().encode())
             for i, (_, c) in enumerate(glyphs)]
    return widths, lines


class _Numbering:
    """Fonts of one file's glyphs, face by face, 255 codes each: the background's glyphs first."""

    def __init__(self, shared: Shared):
        self.fonts = {face: [list(pairs)] for face, pairs in shared.static.items()}
        self.where = {face: dict(where) for face, where in shared.where.items()}

    def add(self, face: str, glyph: int, char: str) -> tuple[int, int]:
        """Return (font, code) of the glyph, given the next free code when new."""
        where = self.where.setdefault(face, {})
        if glyph not in where:
            fonts = self.fonts.setdefault(face, [[]])
            if len(fonts[-1]) >= CODES:
                fonts.append([])
            fonts[-1].append((glyph, char))
            where[glyph] = (len(fonts) - 1, len(fonts[-1]))
        return where[glyph]


def write_pdf(plan: Plan, faces: dict[str, Face], pages: list[DrawnPage], level: int = 6,
              shared: Shared | None = None, created: dt.datetime | None = None) -> bytes:
    """Return a PDF of `pages`, drawn with `plan`'s background and `faces` (`shared`: see shared_programs)."""
    shared = shared if shared is not None else shared_programs(plan, faces)
    numbering = _Numbering(shared)
    index = {face: i for i, face in enumerate(plan.static)}

    def name(face: str, font: int) -> bytes:
        return b"F%dx%d" % (index.setdefault(face, len(index)), font)

    def runs(match: re.Match) -> bytes:
        face, size = match.group(1).decode(), match.group(2)
        out, current, items, codes = [], 0, [], bytearray()

        def shown() -> bytes:  # LibreOffice's forms: <…>Tj, or [<…>5<…>]TJ where the pen steps
            if codes:
                items.append(b"<%s>" % codes.hex().upper().encode())
            text = b"".join(items)
            return b"/%s %s Tf%s" % (name(face, current), size, b"[%s]TJ" % text if len(items) > 1 else text + b"Tj")

        for m in _CODE.finditer(match.group(3)):
            font, code = numbering.add(m.group(1).decode(), int(m.group(2)), chr(int(m.group(3))))
            if font != current and (codes or items):
                out.append(shown())
                items, codes = [], bytearray()
            current = font
            if m.group(4):
                if codes:
                    items.append(b"<%s>" % codes.hex().upper().encode())
                    codes = bytearray()
                items.append(b"%d" % -int(m.group(4)))
            codes.append(code)
        out.append(shown())
        return b" ".join(out)

    contents = [_RUN.sub(runs, p.content) for p in pages]
    background = shared.background
    writer = _Writer(level)
    catalog, pages_ref = writer.reserve(), writer.reserve()
    refs = {}
    for face, fonts in numbering.fonts.items():
        for k, glyphs in enumerate(fonts):
            first = k == 0 and face in shared.programs
            refs[name(face, k)] = _font(writer, faces[face], glyphs, shared.programs[face] if first else
                                        Programs(faces[face], []), shared.entries[face] if first else ([], []))
    font_dict = b"<<" + b"".join(b"/%s %d 0 R" % (n, r) for n, r in refs.items()) + b">>"
    width, height = plan.size
    # The page's size exactly as LibreOffice writes it (595.303937007874: twips in points): rounded to the
    # thousandth, poppler moves everything by a ten-thousandth of a pixel, and the title's stroked edges show it.
    box = b"[0 0 %s %s]" % (_exact(width), _exact(height))
    pictures = b"".join(b"/%s %d 0 R" % (name.encode(), _picture(writer, image))
                        for name, image in plan.images.items())
    form = writer.stream(b"<</Type/XObject/Subtype/Form/BBox%s/Resources<</Font %s/XObject<<%s>>>>" % (
        box, font_dict, pictures), background)
    kids = []
    for page, content in zip(pages, contents, strict=True):
        xobjects = b"/BG %d 0 R" % form
        if page.photo is not None:
            w, h = page.photo_pixels
            space = b"/DeviceGray" if page.components == 1 else b"/DeviceRGB"
            image = writer.stream(b"<</Type/XObject/Subtype/Image/Width %d/Height %d/BitsPerComponent 8"
                                  b"/ColorSpace%s/Filter/DCTDecode" % (w, h, space), page.photo, compress=False)
            xobjects += b"/P %d 0 R" % image
        if page.qr is not None:
            w, h, data = page.qr
            code = writer.stream(b"<</Type/XObject/Subtype/Image/Width %d/Height %d/BitsPerComponent 8"
                                 b"/ColorSpace/DeviceGray/Filter/FlateDecode" % (w, h), data, compress=False)
            xobjects += b"/Q %d 0 R" % code
        stream = writer.stream(b"<<", content)
        kids.append(writer.add(b"<</Type/Page/Parent %d 0 R/MediaBox%s/Resources<</Font %s/XObject<<%s>>>>"
                               b"/Contents %d 0 R>>" % (pages_ref, box, font_dict, xobjects, stream)))
    writer.put(pages_ref, b"<</Type/Pages/Count %d/Kids[%s]>>" % (len(kids), b" ".join(b"%d 0 R" % k for k in kids)))
    writer.put(catalog, b"<</Type/Catalog/Pages %d 0 R>>" % pages_ref)
    return writer.finish(catalog, created)


def _picture(writer: _Writer, image: dict) -> int:
    """Add one of the master's own pictures as LibreOffice embedded it; return its number."""
    import base64

    entries = b"".join(b"/%s %s" % (k.encode(), v.encode()) for k, v in sorted(image["entries"].items()))
    return writer.stream(b"<</Type/XObject/Subtype/Image" + entries, base64.b64decode(image["data"]), compress=False)


def _font(writer: _Writer, face: Face, glyphs: list[tuple[int, str]], programs: Programs,
          known: tuple[list[bytes], list[bytes]]) -> int:
    """Add a simple TrueType font of `glyphs` (codes 1, 2, …) with its program and ToUnicode; return its number.

    `known` holds the widths and ToUnicode lines of the first glyphs (the background's), made once."""
    order = [g for g, _ in glyphs]
    program, length = programs.program({i + 1: g for i, g in enumerate(order)})
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(program).digest()[:6])
    name = f"{tag}+{face.name}".encode("latin-1")
    file_ref = writer.stream(b"<</Length1 %d/Filter/FlateDecode" % length, program, compress=False)
    units = face.units
    head = face.tables[b"head"]
    # As LibreOffice writes it (readers then size each word from the box): the face's box, no ascent.
    bbox = [int(v * 1000 / units) for v in struct.unpack(">hhhh", head[36:44])]
    descriptor = writer.add(b"<</Type/FontDescriptor/FontName/%s/Flags 4/FontBBox[%s]/ItalicAngle 0/Ascent 0"
                            b"/Descent 0/CapHeight %d/StemV 80/FontFile2 %d 0 R>>" % (
                                name, " ".join(map(str, bbox)).encode(), bbox[3], file_ref))
    more = _entries(face, glyphs[len(known[0]):], len(known[0]) + 1)
    widths = b" ".join(known[0] + more[0])
    lines = b"".join(known[1] + more[1])
    cmap = (b"/CIDInit/ProcSet findresource begin 12 dict begin begincmap/CIDSystemInfo<</Registry(Adobe)/Ordering"
            b"(UCS)/Supplement 0>>def/CMapName/Adobe-Identity-UCS def/CMapType 2 def\n1 begincodespacerange\n"
            b"<00><FF>\nendcodespacerange\n%d beginbfchar\n%sendbfchar\nendcmap CMapName currentdict"
            b" /CMap defineresource pop end end" % (len(glyphs), lines))
    to_unicode = writer.stream(b"<<", cmap)
    return writer.add(b"<</Type/Font/Subtype/TrueType/BaseFont/%s/FirstChar 1/LastChar %d/Widths[%s]"
                      b"/FontDescriptor %d 0 R/ToUnicode %d 0 R>>" % (name, len(order), widths, descriptor, to_unicode))


def pdf_date(moment: dt.datetime) -> bytes:
    """Return `moment` (local time) as a PDF date with its offset from UTC, as LibreOffice writes it."""
    local = moment.replace(microsecond=0)
    offset = (local.astimezone() if local.tzinfo is None else local).utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"D:{local:%Y%m%d%H%M%S}{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'".encode()


def _exact(value: float) -> bytes:
    """Return `value` with LibreOffice's twelve decimals, trailing zeros dropped."""
    return f"{value:.12f}".rstrip("0").rstrip(".").encode()


def _n(value: float) -> bytes:
    return (f"{value:.3f}".rstrip("0").rstrip(".")).encode()


class _Writer:
    """Objects numbered in order; streams stand alone, the rest goes into one object stream."""

    def __init__(self, level: int):
        self.level = level
        self.objects: dict[int, bytes] = {}
        self.streams: set[int] = set()

    def reserve(self) -> int:
        number = len(self.objects) + 1
        self.objects[number] = b""
        return number

    def put(self, number: int, body: bytes) -> None:
        self.objects[number] = body

    def add(self, body: bytes) -> int:
        number = self.reserve()
        self.objects[number] = body
        return number

    def stream(self, head: bytes, data: bytes, compress: bool = True) -> int:
        """Add a stream whose dictionary starts with `head` (left open: length and filter are added)."""
        if compress:
            data = zlib.compress(data, self.level)
            head += b"/Filter/FlateDecode"
        number = self.add(head + b"/Length %d>>\nstream\n" % len(data) + data + b"\nendstream")
        self.streams.add(number)
        return number

    def finish(self, root: int, created: dt.datetime | None = None) -> bytes:
        """Return the file: streams as they are, the rest packed, dated `created` (none: undated), its /ID a digest
        of its content (the same pages give the same bytes)."""
        info = b""
        if created is not None:  # the Info dictionary stays outside the object stream, as readers expect
            stamp = pdf_date(created)
            self.streams.add(self.add(b"<</CreationDate(%s)/ModDate(%s)>>" % (stamp, stamp)))
            info = b"/Info %d 0 R" % len(self.objects)
        out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
        offsets: dict[int, tuple[int, int, int]] = {}
        packed = [n for n in self.objects if n not in self.streams]
        for number in self.objects:
            if number in self.streams:
                offsets[number] = (1, len(out), 0)
                out += b"%d 0 obj\n%s\nendobj\n" % (number, self.objects[number])
        holder = len(self.objects) + 1
        index, body = [], bytearray()
        for i, number in enumerate(packed):
            index.append(b"%d %d" % (number, len(body)))
            body += self.objects[number] + b"\n"
            offsets[number] = (2, holder, i)
        first = b" ".join(index) + b"\n"
        data = zlib.compress(first + bytes(body), self.level)
        offsets[holder] = (1, len(out), 0)
        out += b"%d 0 obj\n<</Type/ObjStm/N %d/First %d/Filter/FlateDecode/Length %d>>\nstream\n" % (
            holder, len(packed), len(first), len(data)) + data + b"\nendstream\nendobj\n"
        xref = holder + 1
        offsets[xref] = (1, len(out), 0)
        rows = b"".join(struct.pack(">BIH", *offsets.get(n, (0, 0, 0))) for n in range(xref + 1))
        rows = struct.pack(">BIH", 0, 0, 0xFFFF) + rows[7:]
        table = zlib.compress(rows, self.level)
        digest = hashlib.md5(bytes(out) + rows, usedforsecurity=False).hexdigest().upper().encode()
        out += (b"%d 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root %d 0 R%s/ID[<%s><%s>]/Filter/FlateDecode/Length %d>>\n"
                b"stream\n" % (xref, xref + 1, root, info, digest, digest, len(table)) + table
                + b"\nendstream\nendobj\n")
        out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref][1]
        return bytes(out)
