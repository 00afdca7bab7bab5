"""Installed TrueType faces, read once: a character's glyph, its advance, and a program of chosen glyphs.

The drawing engine embeds the very faces LibreOffice embedded when it rendered the master (found by
their PostScript name, as fontconfig lists them), so a drawn page shows the same outlines.  Only
TrueType outlines (glyf) are read; a face in CFF (OpenType .otf) is not drawn: LibreOffice prints it.
"""

from __future__ import annotations

import functools
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

from fjvoucher.pdf.fontsubset import (
    _byte_codes_cmap,
    _components,
    _format4,
    _metrics,
    _renumbered,
    write_numbering,
)

# The tables LibreOffice's own subsets carry (no hinting programs): the outlines render alike.
DRAWN_TABLES = (b"head", b"hhea", b"maxp", b"post")


@dataclass
class Face:
    """One TrueType face of an installed file: tables, glyph outlines, metrics and Unicode cmap."""

    name: str  # PostScript name, as LibreOffice writes it into /BaseFont
    path: str
    tables: dict[bytes, bytes]
    offsets: tuple[int, ...]  # loca: glyph g is glyf[offsets[g]:offsets[g + 1]]
    metrics: list[tuple[int, int]]
    cmap: dict[int, int]  # code point → glyph
    units: int  # units per em

    def glyph(self, char: str) -> int:
        """Return the glyph of `char` (0 where the face has none)."""
        return self.cmap.get(ord(char), 0)

    def advance(self, glyph: int) -> int:
        """Return the advance width of `glyph`, in font units."""
        return self.metrics[glyph][0]

    def outline(self, glyph: int) -> bytes:
        """Return the glyf bytes of `glyph`."""
        return self.tables[b"glyf"][self.offsets[glyph]:self.offsets[glyph + 1]]


def _bounds(outlines) -> tuple[int, int, int, int]:
    """Return the box around the glyphs (xMin, yMin, xMax, yMax of their headers; empty glyphs aside)."""
    boxes = [struct.unpack(">hhhh", o[2:10]) for o in outlines if len(o) >= 10]
    if not boxes:
        return 0, 0, 0, 0
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def read_face(path: str, index: int, name: str) -> Face | None:
    """Return face `index` of the TrueType file or collection at `path`, or None when it is not TrueType."""
    try:
        data = Path(path).read_bytes()
        start = struct.unpack(">I", data[12 + 4 * index:16 + 4 * index])[0] if data[:4] == b"ttcf" else 0
        count = struct.unpack(">H", data[start + 4:start + 6])[0]
        tables = {}
        for i in range(count):
            tag, _, offset, length = struct.unpack(">4sIII", data[start + 12 + 16 * i:start + 28 + 16 * i])
            tables[tag] = data[offset:offset + length]
        if b"glyf" not in tables:
            return None
        glyphs = struct.unpack(">H", tables[b"maxp"][4:6])[0]
        if struct.unpack(">h", tables[b"head"][50:52])[0] == 1:
            offsets = struct.unpack(f">{glyphs + 1}I", tables[b"loca"][:4 * (glyphs + 1)])
        else:
            offsets = tuple(2 * o for o in struct.unpack(f">{glyphs + 1}H", tables[b"loca"][:2 * (glyphs + 1)]))
        return Face(name, path, tables, offsets, _metrics(tables[b"hhea"], tables[b"hmtx"], glyphs),
                    _unicode_cmap(tables[b"cmap"]), struct.unpack(">H", tables[b"head"][18:20])[0])
    except (OSError, KeyError, struct.error, IndexError):
        return None


def _unicode_cmap(cmap: bytes) -> dict[int, int]:
    """Return code point → glyph from the face's Unicode table: format 12 (full range) or else format 4."""
    count = struct.unpack(">H", cmap[2:4])[0]
    found: dict[int, int] = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack(">HHI", cmap[4 + 8 * i:12 + 8 * i])
        fmt = struct.unpack(">H", cmap[offset:offset + 2])[0]
        if (platform, encoding) in ((3, 10), (0, 4), (0, 6)) and fmt == 12:
            groups = struct.unpack(">I", cmap[offset + 12:offset + 16])[0]
            mapping: dict[int, int] = {}
            for g in range(groups):
                first, last, glyph = struct.unpack(">III", cmap[offset + 16 + 12 * g:offset + 28 + 12 * g])
                mapping.update(zip(range(first, last + 1), range(glyph, glyph + last - first + 1), strict=True))
            return mapping
        if (platform, encoding) in ((3, 1), (0, 3)) and fmt == 4 and not found:
            found = _format4(cmap[offset:])
    return found


@functools.lru_cache(maxsize=1)
def installed_faces() -> dict[str, tuple[str, int]]:
    """Return PostScript name → (file, index) of every installed face fontconfig lists (empty without it)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return {}
    try:
        out = subprocess.run([fc_list, ":", "file", "index", "postscriptname"], capture_output=True, timeout=60,
                             check=False).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return {}
    faces: dict[str, tuple[str, int]] = {}
    for line in sorted(out.splitlines()):
        path, _, rest = line.partition(": ")
        fields = dict(part.split("=", 1) for part in rest.split(":") if "=" in part)
        if "postscriptname" in fields and fields.get("index", "").isdigit():
            faces.setdefault(fields["postscriptname"], (path, int(fields["index"])))
    return faces


@functools.lru_cache(maxsize=16)
def face_named(name: str) -> Face | None:
    """Return the installed TrueType face whose PostScript name is `name`, or None."""
    found = installed_faces().get(name)
    return read_face(found[0], found[1], name) if found else None


class Programs:
    """Font programs of one face that all begin with the same glyphs (a master's static text), made fast.

    The shared glyphs' outlines are laid out and compressed once; each program adds its own glyphs and
    small tables around them.  The Flate stream is a concatenation of independently compressed pieces
    (each ends on a byte boundary, none refers back into another), which every inflater reads as one.
    """

    def __init__(self, face: Face, shared: list[int], level: int = 9):
        self.face, self.level = face, level
        self.order = [0, *shared]
        self.number = {g: i for i, g in enumerate(self.order)}
        self._components(self.order)
        glyf, self.offsets = bytearray(), [0]
        for g in self.order:
            data = _renumbered(self.face.outline(g), self.number)
            glyf += data + b"\0" * (len(data) % 2)
            self.offsets.append(len(glyf))
        glyf += b"\0" * (-len(glyf) % 4)  # the glyphs after it stay word-aligned for the checksum
        self.offsets[-1] = len(glyf)
        self.glyf = bytes(glyf)
        self.glyf_sum = _checksum(self.glyf)
        self.packed = _raw(self.glyf, level)
        self.bounds = _bounds(self.face.outline(g) for g in self.order)

    def _components(self, order: list[int]) -> None:
        """Append, and number, the components the glyphs of `order` are made of."""
        pending = list(order)
        while pending:
            for component in _components(self.face.outline(pending.pop())):
                if component not in self.number:
                    self.number[component] = len(order)
                    order.append(component)
                    pending.append(component)

    def program(self, codes: dict[int, int]) -> tuple[bytes, int]:
        """Return the Flate-compressed program showing glyph `codes[c]` for code c, and its length unpacked.

        Glyphs not among the shared ones are appended after them."""
        number = dict(self.number)
        order = list(self.order)
        extra_start = len(order)
        for g in codes.values():
            if g not in number:
                number[g] = len(order)
                order.append(g)
        pending = order[extra_start:]
        while pending:
            for component in _components(self.face.outline(pending.pop())):
                if component not in number:
                    number[component] = len(order)
                    order.append(component)
                    pending.append(component)
        extra, offsets = bytearray(), list(self.offsets)
        for g in order[extra_start:]:
            data = _renumbered(self.face.outline(g), number)
            extra += data + b"\0" * (len(data) % 2)
            offsets.append(len(self.glyf) + len(extra))
        extra += b"\0" * (-len(extra) % 4)
        glyf_length = len(self.glyf) + len(extra)
        short = glyf_length // 2 <= 0xFFFF
        tables = {tag: self.face.tables[tag] for tag in DRAWN_TABLES if tag in self.face.tables}
        write_numbering(tables, offsets, short, [self.face.metrics[g] for g in order])
        head = bytearray(tables[b"head"])
        boxes = [self.bounds, _bounds(self.face.outline(g) for g in order[extra_start:])]
        boxes = [b for b in boxes if b != (0, 0, 0, 0)] or [(0, 0, 0, 0)]
        head[36:44] = struct.pack(">hhhh", min(b[0] for b in boxes), min(b[1] for b in boxes),
                                  max(b[2] for b in boxes), max(b[3] for b in boxes))
        tables[b"head"] = bytes(head)
        tables[b"cmap"] = _byte_codes_cmap({c: number[g] for c, g in codes.items()})
        # Physical order: the small tables, then glyf (shared glyphs first): the directory may point anywhere.
        small = sorted(tables)
        tags = sorted([*small, b"glyf"])
        at = 12 + 16 * len(tags)
        places, body = {}, bytearray()
        for tag in small:
            places[tag] = (at + len(body), len(tables[tag]), _checksum(tables[tag]))
            body += tables[tag] + b"\0" * (-len(tables[tag]) % 4)
        places[b"glyf"] = (at + len(body), glyf_length, (self.glyf_sum + _checksum(bytes(extra))) & 0xFFFFFFFF)
        power = 1 << (len(tags).bit_length() - 1)
        header = struct.pack(">IHHHH", 0x00010000, len(tags), power * 16, power.bit_length() - 1,
                             len(tags) * 16 - power * 16)
        header += b"".join(struct.pack(">4sIII", tag, places[tag][2], places[tag][0], places[tag][1]) for tag in tags)
        first = header + bytes(body)
        adler = zlib.adler32(bytes(extra), zlib.adler32(self.glyf, zlib.adler32(first)))
        packed = (b"\x78\xda" + _raw(first, self.level) + self.packed + _raw(bytes(extra), self.level, True)
                  + struct.pack(">I", adler))
        return packed, len(first) + glyf_length


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF


def _raw(data: bytes, level: int, last: bool = False) -> bytes:
    """Return `data` as raw deflate blocks ending on a byte boundary (the final block when `last`)."""
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
