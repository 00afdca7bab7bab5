"""Read a page LibreOffice wrote: its text blocks, each glyph's character, position and font.

LibreOffice writes every run of text as its own block, `q 0 0 0 rg BT x y Td /F1 12 Tf <…>Tj ET Q`,
in simple TrueType fonts with a ToUnicode map.  A page written otherwise (two-byte codes, text
matrices, rotated text) is refused here, and the master goes to LibreOffice whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fjvoucher.pdf.fontsubset import unicode_pairs

_BLOCK = re.compile(rb"q ((?:[-\d. ]+[A-Za-z]+\n)+?)BT\n(.*?)\nET\nQ\n", re.S)
_TOKEN = re.compile(rb"\s*(?:(<[0-9A-Fa-f]*>)|(\[[^\]]*\])|(/[^\s/\[\]<>()]+)|([-+]?\d*\.?\d+)|([A-Za-z*']+))")
_ARRAY_ITEM = re.compile(rb"<([0-9A-Fa-f]*)>|([-+]?\d*\.?\d+)")


class Unreadable(ValueError):
    """A page this reader does not understand (the master is then printed by LibreOffice)."""


@dataclass
class LoFont:
    """A font of LibreOffice's page: its PostScript name, widths and characters by code."""

    name: str  # /BaseFont without the subset tag
    widths: dict[int, float]
    chars: dict[int, str]


@dataclass
class Glyph:
    """One glyph as drawn: character, code, font resource, size, pen position and advance (points)."""

    char: str
    code: int
    font: str
    size: float
    x: float
    y: float
    advance: float

    @property
    def end(self) -> float:
        """Return where the pen stands after the glyph."""
        return self.x + self.advance


@dataclass
class Block:
    """One text block of the content stream: its bytes and where they stand, its state, its glyphs."""

    start: int
    end: int
    raw: bytes
    state: bytes  # graphics state before BT, "|", text state before the position: "0 0 0 rg|2 Tr 0.73333 w"
    y_text: bytes  # the baseline as LibreOffice wrote it
    glyphs: list[Glyph]


def read_fonts(resources) -> dict[str, LoFont]:
    """Return the page's fonts by resource name; raise Unreadable for one that is not a simple TrueType."""
    fonts = {}
    for name, font in (resources.get("/Font") or {}).items():
        font = font.get_object()
        if font.get("/Subtype") != "/TrueType" or "/ToUnicode" not in font:
            raise Unreadable(f"font {name} is {font.get('/Subtype')}")
        first = int(font.get("/FirstChar", 0))
        widths = {first + i: float(w) for i, w in enumerate(font["/Widths"].get_object())}
        chars = {}
        for code, target in unicode_pairs(font["/ToUnicode"].get_object().get_data()).items():
            hexa = target.strip(b"<>").decode("ascii")
            chars[code] = bytes.fromhex(hexa).decode("utf-16-be")
        fonts[name[1:]] = LoFont(str(font["/BaseFont"])[1:].split("+")[-1], widths, chars)
    return fonts


def read_blocks(content: bytes, fonts: dict[str, LoFont]) -> list[Block]:
    """Return every text block of `content`, in order; raise Unreadable for text outside such blocks."""
    blocks = []
    for match in _BLOCK.finditer(content):
        blocks.append(_block(match, fonts))
    if len(re.findall(rb"\bBT\b", content)) != len(blocks):
        raise Unreadable("text outside LibreOffice's usual blocks")
    return blocks


def _block(match: re.Match, fonts: dict[str, LoFont]) -> Block:
    body = match.group(2)
    operands: list[bytes] = []
    state: list[bytes] = []
    glyphs: list[Glyph] = []
    x = y = size = None
    y_text = b""
    font = None
    for hexa, array, name, number, operator in _TOKEN.findall(body):
        if operator:
            op = operator
            if op == b"Td":
                if x is not None:
                    raise Unreadable("two positions in one block")
                x, y, y_text = float(operands[0]), float(operands[1]), operands[1]
            elif op == b"Tm":  # LibreOffice places a fallback face's glyphs in the same block this way
                if x is None or operands[:4] != [b"1", b"0", b"0", b"1"] or operands[5] != y_text:
                    raise Unreadable("a text matrix other than a move along the line")
                x = float(operands[4])
            elif op == b"Tf":
                font, size = operands[0][1:].decode("latin-1"), float(operands[1])
            elif op in (b"Tj", b"TJ"):
                if x is None or y is None or size is None or font not in fonts:
                    raise Unreadable("text without position or font")
                x = _show(operands[0], fonts[font], font, size, x, y, glyphs)
            elif op in (b"Tr", b"w", b"rg", b"RG", b"g", b"G", b"Tc", b"Tw", b"Tz"):
                if x is not None or op in (b"Tc", b"Tw", b"Tz"):
                    raise Unreadable(f"{op.decode()} in a block")
                state.append(b" ".join(operands) + b" " + op)
            else:
                raise Unreadable(f"operator {op.decode('latin-1')} in a text block")
            operands = []
        else:
            operands.append(hexa or array or name or number)
    if not glyphs:
        raise Unreadable("an empty text block")
    return Block(match.start(), match.end(), match.group(0), match.group(1).strip() + b"|" + b"\n".join(state),
                 y_text, glyphs)


def _show(operand: bytes, font: LoFont, name: str, size: float, x: float, y: float, glyphs: list[Glyph]) -> float:
    """Append the glyphs of a Tj string or TJ array; return the pen's position after them."""
    items = _ARRAY_ITEM.findall(operand) if operand.startswith(b"[") else [(operand[1:-1], b"")]
    for hexa, number in items:
        if number:
            x -= float(number) / 1000 * size
            continue
        for code in bytes.fromhex(hexa.decode("ascii")):
            if code not in font.chars or code not in font.widths:
                raise Unreadable(f"code {code} without character or width")
            advance = font.widths[code] / 1000 * size
            glyphs.append(Glyph(font.chars[code], code, name, size, x, y, advance))
            x += advance
    return x
