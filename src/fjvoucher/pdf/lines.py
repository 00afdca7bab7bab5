"""Lay out one line of text as LibreOffice Writer does on a voucher: plain advances and its Asian spacing.

Writer lays a line out in twips but puts glyphs on tenths of a point, rounding down (`Placed.at`): a
run of one script (Asian or Latin; spaces and signs go with the run before them) starts on the tenth at
or before its place on the page, and each glyph of the run on the tenth at or before its offset in the
run.  After a half-width character at 10.5 pt a glyph may so stand 0.05 pt before the pen.  Its PDF
writes a run as one block, each glyph's step from the pen in whole thousandths of an em rounded down
(`written`): the positions a reader sees drift from the tenths by that rounding, and are reproduced.
Writer adds a fifth of the font size between a Han character and a Latin letter or digit that touch
(its "autospace"), and nothing next to punctuation; at the voucher's sizes it kerns nothing else.
Characters outside the classes below are not laid out here: their record goes to LibreOffice.
The probe checks this model against LibreOffice's own pages before a master is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fjvoucher.pdf.faces import Face

ASIAN, LATIN, WEAK = "asian", "latin", "weak"
# Full-width punctuation and symbols Writer treats as Asian text (no autospace beside them).
_ASIAN_PUNCTUATION = set("（）【】《》〈〉「」『』〔〕、，。：；！？“”‘’—…·・　")
_WEAK = set(" -.,:;()/'&+#")


def ideograph(cp: int) -> bool:
    """Return whether code point `cp` is a CJK unified or compatibility ideograph (BMP, Extension A to F)."""
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x3134F or 0xF900 <= cp <= 0xFAFF


def char_class(char: str) -> tuple[str, bool] | None:
    """Return (script, letter or digit) of `char` as Writer's spacing sees it, or None for an unproven one."""
    cp = ord(char)
    if ideograph(cp):
        return ASIAN, True
    if char.isascii() and char.isalnum():
        return LATIN, True
    if char in _ASIAN_PUNCTUATION:
        return ASIAN, False
    if char in _WEAK:
        return WEAK, False
    return None


@dataclass(frozen=True, slots=True)
class Placed:
    """A glyph of a laid-out line: its face, glyph number, character and pen offset from the line's start."""

    face: str
    glyph: int
    char: str
    x: float
    advance: float
    run: float = 0.0  # where its script's run starts (the same origin as x)

    def at(self, start: float) -> float:
        """Return where Writer puts the glyph on a line starting at `start` (points, on its tenths)."""
        return round(on_grid(start + self.run) + on_grid(self.x - self.run), 1)


def on_grid(x: float) -> float:
    """Return where Writer puts a glyph whose pen stands at `x` (points): the tenth of a point at or before it."""
    return math.floor(x * 10 + 1e-6) / 10


def written(placed: list[Placed], start: float, size: float) -> list[tuple[float, int]]:
    """Return, for each glyph of a line starting at `start`, where LibreOffice's PDF shows it and the step from
    the pen before it (thousandths of an em; 0 where a run starts: it is placed, not stepped)."""
    out: list[tuple[float, int]] = []
    floor = math.floor
    run, origin, pen, last_true = None, 0.0, 0.0, 0.0  # the run, its start on the grid, the pen, the last glyph
    for p in placed:
        if p.run != run:
            run, origin = p.run, floor((start + p.run) * 10 + 1e-6) / 10
            true = shown = round(origin + floor((p.x - p.run) * 10 + 1e-6) / 10, 1)
            step = 0
        else:
            true = round(origin + floor((p.x - p.run) * 10 + 1e-6) / 10, 1)  # Placed.at, inlined: a glyph's work
            step = floor((true - last_true - pen) * 1000 / size + 1e-6)
            shown = out[-1][0] + pen + step * size / 1000
        out.append((shown, step))
        last_true, pen = true, p.advance
    return out


def lay_out(text: str, faces: list[Face], size: float) -> tuple[list[Placed], float] | None:
    """Return the glyphs of `text` with their offsets, and the line's width; None when a character cannot be
    drawn as Writer would (unknown class, no face has it, an advance Writer would round).

    `faces` are the line's face, then the faces LibreOffice falls back to, in its order: it takes the
    first that has every character the line's face lacks.
    """
    primary, *others = faces
    missing = {char for char in text if not primary.glyph(char)}
    fallback = next((f for f in others if all(f.glyph(c) for c in missing)), None) if missing else None
    if missing and fallback is None:
        return None
    placed: list[Placed] = []
    x, before, run, script = 0.0, None, 0.0, None
    for char in text:
        klass = char_class(char)
        face = primary if primary.glyph(char) else fallback
        if klass is None or face is None:
            return None
        glyph = face.glyph(char)
        advance = face.advance(glyph) * size / face.units
        if abs(advance * 20 - round(advance * 20)) > 1e-6:  # Writer lays out in twips: it would round
            return None
        if before is not None and before[1] and klass[1] and {before[0], klass[0]} == {ASIAN, LATIN}:
            x += size / 5
        if klass[0] != WEAK and klass[0] != script:
            run, script = (x if script else 0.0), klass[0]
        placed.append(Placed(face.name, glyph, char, x, advance, run))
        x += advance
        before = klass
    return placed, x
