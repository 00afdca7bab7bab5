"""The TrueType subsetter on a font built here: kept glyphs numbered anew, composites and metrics followed."""

import struct

from fjvoucher.pdf.fontsubset import TrueType, _components, _font_file

ARGS_ARE_WORDS_AND_XY, MORE_COMPONENTS = 0x0003, 0x0020


def simple_glyph(size: int) -> bytes:
    """Return a one-contour triangle of `size` units (on-curve points, 16-bit coordinates)."""
    return (struct.pack(">hhhhh", 1, 0, 0, size, size) + struct.pack(">HH", 2, 0) + bytes([1, 1, 1])
            + struct.pack(">3h", 0, size, -size) + struct.pack(">3h", 0, 0, size))


def composite_glyph(*parts: int) -> bytes:
    """Return a glyph made of the glyphs `parts`, each moved 10 units right of the one before."""
    out = struct.pack(">hhhhh", -1, 0, 0, 100, 100)
    for i, part in enumerate(parts):
        more = MORE_COMPONENTS if i + 1 < len(parts) else 0
        out += struct.pack(">HHhh", ARGS_ARE_WORDS_AND_XY | more, part, 10 * i, 0)
    return out


def even(glyph: bytes) -> bytes:
    """Return the glyph as a short-offset loca stores it: padded to an even length."""
    return glyph + b"\0" * (len(glyph) % 2)


def font(glyphs: list[bytes], metrics: list[tuple[int, int]], long_metrics: int, codes: dict[int, int]) -> bytes:
    """Return a TrueType program with `glyphs`, hmtx giving `long_metrics` full entries, a (1,0) byte cmap."""
    offsets = [0]
    for glyph in glyphs:
        offsets.append(offsets[-1] + len(glyph))
    head = struct.pack(">IIIIHHqqhhhhHHhhh", 0x00010000, 0, 0, 0x5F0F3CF5, 0, 1000, 0, 0, 0, 0, 100, 100,
                       0, 8, 2, 1, 0)
    hhea = struct.pack(">IhhhHhhhhhhhhhhhH", 0x00010000, 800, -200, 0, 700, 0, 0, 100, 1, 0, 0, 0, 0, 0, 0, 0,
                       long_metrics)
    hmtx = b"".join(struct.pack(">Hh", *m) for m in metrics[:long_metrics]) + b"".join(
        struct.pack(">h", lsb) for _, lsb in metrics[long_metrics:])
    cmap = struct.pack(">HHHHI", 0, 1, 1, 0, 12) + struct.pack(">HHH", 0, 262, 0) + bytes(
        codes.get(c, 0) for c in range(256))
    return _font_file({
        b"head": head, b"hhea": hhea, b"hmtx": hmtx, b"cmap": cmap, b"glyf": b"".join(glyphs),
        b"loca": struct.pack(f">{len(offsets)}I", *offsets),
        b"maxp": struct.pack(">IH", 0x00010000, len(glyphs)) + bytes(26),
        b"post": struct.pack(">I", 0x00020000) + bytes(28) + b"glyph names follow",
        b"name": b"licence text " * 100,
    })


METRICS = [(500, 0), (600, 10), (700, 20), (700, 30), (700, 40)]
GLYPHS = [b"", simple_glyph(100), simple_glyph(200), simple_glyph(300), composite_glyph(2, 3)]


def test_a_subset_numbers_its_glyphs_anew_and_moves_composites_with_them():
    whole = TrueType.parse(font(GLYPHS, METRICS, 3, {65: 1, 66: 4}))
    assert whole.metrics == METRICS  # the last two have no advance of their own in hmtx
    small = TrueType.parse(whole.subset({66}))
    assert small.code_to_glyph == {66: 3}  # glyph 1 (code 65) is gone: 0, 2, 3, 4 became 0, 1, 2, 3
    assert small.glyphs[1:3] == [even(GLYPHS[2]), even(GLYPHS[3])]
    assert _components(small.glyphs[3]) == [1, 2]  # the composite follows its parts' new numbers
    assert small.metrics == [METRICS[0], METRICS[2], METRICS[3], METRICS[4]]
    assert struct.unpack(">H", small.tables[b"hhea"][34:36])[0] == 2  # 500, then 700 shared by the rest
    assert struct.unpack(">h", small.tables[b"head"][50:52])[0] == 0  # short loca offsets
    assert struct.unpack(">I", small.tables[b"post"][:4])[0] == 0x00030000  # no glyph names left to mislead
    assert b"name" not in small.tables and len(small.tables[b"post"]) == 32


def test_the_whole_program_written_again_keeps_every_glyph_and_code():
    whole = TrueType.parse(font(GLYPHS, METRICS, 3, {65: 1, 66: 4}))
    again = TrueType.parse(whole.program())
    assert again.glyphs == [even(g) for g in GLYPHS]
    assert again.code_to_glyph == {65: 1, 66: 4} and again.metrics == METRICS


def test_more_than_255_glyphs_get_a_two_byte_cmap():
    glyphs = [b""] + [simple_glyph(10 + i) for i in range(300)]
    whole = TrueType.parse(font(glyphs, [(1000, 0)] * len(glyphs), 1, {1: 1, 2: 2}))
    big = TrueType(whole.tables, whole.glyphs, whole.metrics, {1: 1, 2: 2, 3: 300})
    again = TrueType.parse(big.program())
    assert again.code_to_glyph == {1: 1, 2: 2, 3: 300}  # glyph 300 needs format 6
    assert again.glyphs[300] == even(simple_glyph(309))
