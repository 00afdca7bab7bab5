"""Each per-candidate PDF carries only the glyphs its own page shows.

LibreOffice embeds one TrueType subset per batch (the glyphs of all its vouchers); a page cut from
the batch would carry all of them.  Here the page's text is read for the character codes each font
shows, and the font program is rebuilt holding only those glyphs (and the components they use),
numbered anew; codes stay as they are and reach their glyphs through a new cmap, so the page's text
and widths are untouched.  Tables a PDF reader does not use are left out (UMing's `name` table is
22 KB of licence text).  Written with the standard library: a font is parsed once per batch and each
page costs a concatenation of the glyphs it keeps.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

_TOKENS = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+[-\d.]+\s+Tf|<([0-9A-Fa-f\s]*)>|\(((?:\\.|[^\\)])*)\)")
# What a PDF reader uses of an embedded TrueType program; the rest (the name table: UMing's is 22 KB of
# licence text; tables indexed by the old glyph numbers) is left out.
KEPT = {b"cmap", b"glyf", b"loca", b"head", b"hhea", b"hmtx", b"maxp", b"post", b"OS/2", b"cvt ", b"fpgm",
        b"prep", b"gasp"}
ARG_1_AND_2_ARE_WORDS, WE_HAVE_A_SCALE, MORE_COMPONENTS = 0x0001, 0x0008, 0x0020
WE_HAVE_AN_X_AND_Y_SCALE, WE_HAVE_A_TWO_BY_TWO = 0x0040, 0x0080


def codes_by_font(content: bytes) -> dict[str, set[int]]:
    """Return, for each font resource name the content stream selects (Tf), the single-byte codes it shows."""
    used: dict[str, set[int]] = {}
    font = None
    for name, hexa, literal in _TOKENS.findall(content):
        if name:
            font = name.decode("latin-1")
            used.setdefault(font, set())
        elif font is not None and hexa is not None and (hexa or not literal):
            digits = re.sub(rb"\s", b"", hexa)
            used[font].update(bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii")))
        elif font is not None and literal:
            used[font].update(_unescape(literal))
    return used


def _unescape(literal: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(literal):
        if literal[i] == 0x5C and i + 1 < len(literal):  # backslash escapes: \( \) \\ \ddd \n …
            octal = re.match(rb"[0-7]{1,3}", literal[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
                continue
            out.append({ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}.get(
                literal[i + 1], literal[i + 1]))
            i += 2
            continue
        out.append(literal[i])
        i += 1
    return bytes(out)


@dataclass
class TrueType:
    """A parsed TrueType font program: its tables, its glyphs' bytes and metrics, and code → glyph from a
    byte cmap."""

    tables: dict[bytes, bytes]
    glyphs: list[bytes]
    metrics: list[tuple[int, int]]  # (advance width, left side bearing) of each glyph
    code_to_glyph: dict[int, int]

    @classmethod
    def parse(cls, data: bytes) -> TrueType | None:
        """Return the parsed font, or None for one this module does not subset (it is then kept whole)."""
        try:
            count = struct.unpack(">H", data[4:6])[0]
            tables = {}
            for i in range(count):
                tag, _, offset, length = struct.unpack(">4sIII", data[12 + 16 * i:28 + 16 * i])
                tables[tag] = data[offset:offset + length]
            long_loca = struct.unpack(">h", tables[b"head"][50:52])[0] == 1
            glyph_count = struct.unpack(">H", tables[b"maxp"][4:6])[0]
            loca = tables[b"loca"]
            offsets: tuple[int, ...] | list[int]
            if long_loca:
                offsets = struct.unpack(f">{glyph_count + 1}I", loca[:4 * (glyph_count + 1)])
            else:
                offsets = [2 * o for o in struct.unpack(f">{glyph_count + 1}H", loca[:2 * (glyph_count + 1)])]
            glyf = tables[b"glyf"]
            glyphs = [glyf[offsets[g]:offsets[g + 1]] for g in range(glyph_count)]
            metrics = _metrics(tables[b"hhea"], tables[b"hmtx"], glyph_count)
            code_to_glyph = _byte_cmap(tables[b"cmap"])
        except (KeyError, struct.error, IndexError):
            return None
        return cls(tables, glyphs, metrics, code_to_glyph) if code_to_glyph else None

    def subset(self, codes: set[int]) -> bytes:
        """Return the font program keeping only the glyphs of `codes`, glyph 0 and their components."""
        keep = {0} | {self.code_to_glyph[c] for c in codes if c in self.code_to_glyph}
        pending = list(keep)
        while pending:
            for component in _components(self.glyphs[pending.pop()]):
                if component < len(self.glyphs) and component not in keep:
                    keep.add(component)
                    pending.append(component)
        return self.program(keep)

    def program(self, keep: set[int] | None = None) -> bytes:
        """Return the font file holding the glyphs of `keep` (all when None), numbered anew in their order.

        Numbering anew leaves no empty glyph behind: loca and hmtx hold only what the page shows (about
        0.6 KB less a voucher than keeping the batch's numbers).  Codes keep their glyphs through the cmap.
        """
        order = sorted(keep) if keep is not None else list(range(len(self.glyphs)))
        number = {old: new for new, old in enumerate(order)}
        glyf, offsets = bytearray(), [0]
        for old in order:
            glyph = _renumbered(self.glyphs[old], number)
            glyf += glyph + b"\0" * (len(glyph) % 2)  # even lengths: short loca offsets count words
            offsets.append(len(glyf))
        short = offsets[-1] // 2 <= 0xFFFF
        tables = {tag: data for tag, data in self.tables.items() if tag in KEPT}
        tables[b"glyf"] = bytes(glyf)
        tables[b"cmap"] = _byte_codes_cmap({c: number[g] for c, g in self.code_to_glyph.items() if g in number})
        write_numbering(tables, offsets, short, [self.metrics[g] for g in order])
        return _font_file(tables)


def write_numbering(tables: dict[bytes, bytes], offsets: list[int], short: bool,
                    metrics: list[tuple[int, int]]) -> None:
    """Write into `tables` what follows glyphs numbered anew: loca from `offsets` (`short`: in words), hmtx and
    hhea from `metrics` (one a glyph, in the new order), maxp's glyph count, head's loca format, and post
    without glyph names."""
    tables[b"loca"] = (struct.pack(f">{len(offsets)}H", *(o // 2 for o in offsets)) if short
                       else struct.pack(f">{len(offsets)}I", *offsets))
    tables[b"hmtx"], long_metrics = _hmtx(metrics)
    hhea = bytearray(tables[b"hhea"])
    hhea[10:12] = struct.pack(">H", max(advance for advance, _ in metrics))  # advanceWidthMax
    hhea[34:36] = struct.pack(">H", long_metrics)
    tables[b"hhea"] = bytes(hhea)
    maxp = bytearray(tables[b"maxp"])
    maxp[4:6] = struct.pack(">H", len(metrics))
    tables[b"maxp"] = bytes(maxp)
    head = bytearray(tables[b"head"])
    head[8:12] = b"\0\0\0\0"  # checkSumAdjustment: readers of embedded fonts do not check it
    head[50:52] = struct.pack(">h", 0 if short else 1)
    tables[b"head"] = bytes(head)
    if b"post" in tables:  # version 3: no glyph names, which would follow the old numbers
        tables[b"post"] = struct.pack(">I", 0x00030000) + tables[b"post"][4:32]


def _byte_cmap(cmap: bytes) -> dict[int, int]:
    """Return code → glyph for the single-byte codes of a subset font: a (1,0) format-0 table, or a
    (3,0) symbol table whose codes sit at U+F000 + code."""
    count = struct.unpack(">H", cmap[2:4])[0]
    for i in range(count):
        platform, encoding, offset = struct.unpack(">HHI", cmap[4 + 8 * i:12 + 8 * i])
        fmt = struct.unpack(">H", cmap[offset:offset + 2])[0]
        if (platform, encoding) == (1, 0) and fmt == 0:
            return {code: g for code, g in enumerate(cmap[offset + 6:offset + 6 + 256]) if g}
        if (platform, encoding) == (1, 0) and fmt == 6:  # what `program` writes past 255 glyphs
            first, count = struct.unpack(">HH", cmap[offset + 6:offset + 10])
            ids = struct.unpack(f">{count}H", cmap[offset + 10:offset + 10 + 2 * count])
            return {first + i: g for i, g in enumerate(ids) if g}
        if (platform, encoding) == (3, 0) and fmt == 4:
            return {code & 0xFF: glyph for code, glyph in _format4(cmap[offset:]).items() if code >> 8 in (0, 0xF0)}
    return {}


def _format4(table: bytes) -> dict[int, int]:
    segments = struct.unpack(">H", table[6:8])[0] // 2
    ends = struct.unpack(f">{segments}H", table[14:14 + 2 * segments])
    base = 16 + 2 * segments
    starts = struct.unpack(f">{segments}H", table[base:base + 2 * segments])
    deltas = struct.unpack(f">{segments}h", table[base + 2 * segments:base + 4 * segments])
    ranges_at = base + 4 * segments
    ranges = struct.unpack(f">{segments}H", table[ranges_at:ranges_at + 2 * segments])
    mapping = {}
    for s, (start, end, delta, rng) in enumerate(zip(starts, ends, deltas, ranges, strict=True)):
        for code in range(start, min(end, 0xFFFE) + 1):
            if rng == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                at = ranges_at + 2 * s + rng + 2 * (code - start)
                glyph = struct.unpack(">H", table[at:at + 2])[0]
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                mapping[code] = glyph
    return mapping


def _component_offsets(glyph: bytes) -> list[int]:
    """Return where each glyph number of a composite glyph's components stands (none for a simple glyph)."""
    if len(glyph) < 10 or struct.unpack(">h", glyph[:2])[0] >= 0:
        return []
    found, at = [], 10
    while at + 4 <= len(glyph):
        flags = struct.unpack(">H", glyph[at:at + 2])[0]
        found.append(at + 2)
        at += 4 + (4 if flags & ARG_1_AND_2_ARE_WORDS else 2)
        at += 2 if flags & WE_HAVE_A_SCALE else 4 if flags & WE_HAVE_AN_X_AND_Y_SCALE else \
            8 if flags & WE_HAVE_A_TWO_BY_TWO else 0
        if not flags & MORE_COMPONENTS:
            break
    return found


def _components(glyph: bytes) -> list[int]:
    """Return the glyphs a composite glyph is made of (none for a simple one)."""
    return [struct.unpack(">H", glyph[at:at + 2])[0] for at in _component_offsets(glyph)]


def _renumbered(glyph: bytes, number: dict[int, int]) -> bytes:
    """Return the glyph with its components' numbers changed as `number` says (old → new)."""
    offsets = _component_offsets(glyph)
    if not offsets:
        return glyph
    out = bytearray(glyph)
    for at in offsets:
        out[at:at + 2] = struct.pack(">H", number[struct.unpack(">H", glyph[at:at + 2])[0]])
    return bytes(out)


def _font_file(tables: dict[bytes, bytes]) -> bytes:
    """Return an sfnt file holding `tables`, sorted by tag, each 4-byte aligned with its checksum."""
    tags = sorted(tables)
    power = 1 << (len(tags).bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, len(tags), power * 16, power.bit_length() - 1,
                         len(tags) * 16 - power * 16)
    offset = 12 + 16 * len(tags)
    records, body = b"", b""
    for tag in tags:
        data = tables[tag]
        padded = data + b"\0" * (-len(data) % 4)
        checksum = sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF
        records += struct.pack(">4sIII", tag, checksum, offset + len(body), len(data))
        body += padded
    return header + records + body


_BFCHAR = re.compile(rb"\d+ beginbfchar\s*(.*?)endbfchar", re.S)
_PAIR = re.compile(rb"<([0-9A-Fa-f]{2})>\s*(<[0-9A-Fa-f]+>)")


def subset_to_unicode(cmap: bytes, codes: set[int]) -> bytes:
    """Return a ToUnicode CMap keeping only the bfchar entries of `codes` (what text extraction needs)."""
    def keep(block: re.Match) -> bytes:
        pairs = [(code, target) for code, target in _PAIR.findall(block.group(1)) if int(code, 16) in codes]
        lines = b"".join(b"<%s> %s\n" % (code, target) for code, target in pairs)
        return b"%d beginbfchar\n%sendbfchar" % (len(pairs), lines) if pairs else b""

    return _BFCHAR.sub(keep, cmap)


def merged(primary: TrueType, secondary: TrueType, moves: dict[int, int]) -> TrueType | None:
    """Return `primary` with the glyphs of `secondary`'s codes appended under new codes (`moves`: old → new).

    Two subsets LibreOffice made of one face (more than 256 glyphs in a batch) become one program for a
    page.  None when it cannot be done simply (a composite glyph, other metrics): the page keeps both.
    """
    if primary.tables[b"head"][18:20] != secondary.tables[b"head"][18:20]:  # unitsPerEm
        return None
    glyphs, metrics = list(primary.glyphs), list(primary.metrics)
    code_to_glyph = dict(primary.code_to_glyph)
    for old, new in moves.items():
        glyph = secondary.code_to_glyph.get(old)
        if glyph is None or _components(secondary.glyphs[glyph]):
            return None
        code_to_glyph[new] = len(glyphs)
        glyphs.append(secondary.glyphs[glyph])
        metrics.append(secondary.metrics[glyph])
    tables = dict(primary.tables)
    tables[b"maxp"] = _larger_maxp(primary.tables[b"maxp"], secondary.tables[b"maxp"])
    return TrueType(tables, glyphs, metrics, code_to_glyph)


def _metrics(hhea: bytes, hmtx: bytes, glyph_count: int) -> list[tuple[int, int]]:
    """Return (advance, left side bearing) for every glyph, from hmtx and hhea's numberOfHMetrics."""
    count = struct.unpack(">H", hhea[34:36])[0]
    long = [struct.unpack(">Hh", hmtx[4 * i:4 * i + 4]) for i in range(count)]
    rest = [(long[-1][0], struct.unpack(">h", hmtx[4 * count + 2 * i:4 * count + 2 * i + 2])[0])
            for i in range(glyph_count - count)]
    return long + rest


def _hmtx(metrics: list[tuple[int, int]]) -> tuple[bytes, int]:
    """Return an hmtx table for `metrics` and its numberOfHMetrics: the last glyphs sharing one advance
    width give only their left side bearing."""
    count = len(metrics)
    while count > 1 and metrics[count - 2][0] == metrics[-1][0]:
        count -= 1
    return b"".join(struct.pack(">Hh", *m) for m in metrics[:count]) + b"".join(
        struct.pack(">h", lsb) for _, lsb in metrics[count:]), count


def _byte_codes_cmap(code_to_glyph: dict[int, int]) -> bytes:
    """Return a cmap with one (1,0) table mapping codes 0–255 to glyphs: format 0 (a byte a glyph) when every
    glyph number fits a byte, else format 6."""
    glyphs = [code_to_glyph.get(c, 0) for c in range(256)]
    if max(glyphs) <= 0xFF:
        table = struct.pack(">HHH", 0, 6 + 256, 0) + bytes(glyphs)
    else:
        table = struct.pack(">HHHHH", 6, 10 + 2 * 256, 0, 0, 256) + struct.pack(">256H", *glyphs)
    return struct.pack(">HHHHI", 0, 1, 1, 0, 12) + table


def _larger_maxp(first: bytes, second: bytes) -> bytes:
    """Return maxp with, field by field, the larger of the two fonts' limits (`program` writes the count)."""
    maxp = bytearray(first)
    if len(first) >= 32 and len(second) >= 32:
        for at in range(6, 32, 2):
            maxp[at:at + 2] = struct.pack(">H", max(struct.unpack(">H", first[at:at + 2])[0],
                                                    struct.unpack(">H", second[at:at + 2])[0]))
    return bytes(maxp)


def rewrite_codes(content: bytes, fonts: dict[str, str], moves: dict[str, dict[int, int]]) -> bytes:
    """Return the content stream with each font of `fonts` (old name → new) selected under its new name and
    its codes moved as `moves` says (old name → old code → new code); strings are written in hex."""
    current = {"font": ""}  # no font selected yet: "" names none of `fonts` or `moves`

    def replace(match: re.Match) -> bytes:
        name, hexa, literal = match.group(1), match.group(2), match.group(3)
        if name is not None:
            current["font"] = name.decode("latin-1")
            new = fonts.get(current["font"])
            return match.group(0).replace(b"/" + name, b"/" + new.encode("latin-1"), 1) if new else match.group(0)
        table = moves.get(current["font"])
        if table is None:
            return match.group(0)
        if hexa is not None and (hexa or not literal):
            digits = re.sub(rb"\s", b"", hexa)
            codes = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
        else:
            codes = _unescape(literal)
        return b"<" + bytes(table.get(c, c) for c in codes).hex().upper().encode("ascii") + b">"

    return _TOKENS.sub(replace, content)


def unicode_pairs(cmap: bytes) -> dict[int, bytes]:
    """Return a ToUnicode CMap's bfchar entries: code → the target as written (<4E2D>)."""
    return {int(code, 16): target for block in _BFCHAR.findall(cmap) for code, target in _PAIR.findall(block)}


def with_unicode_pairs(cmap: bytes, pairs: dict[int, bytes]) -> bytes:
    """Return the CMap with its bfchar entries replaced by `pairs` (one block, codes in order)."""
    lines = b"".join(b"<%02X> %s\n" % (code, pairs[code]) for code in sorted(pairs))
    block = b"%d beginbfchar\n%sendbfchar" % (len(pairs), lines)
    first = _BFCHAR.search(cmap)
    if first is None:
        return cmap
    return cmap[:first.start()] + block + _BFCHAR.sub(b"", cmap[first.end():])
