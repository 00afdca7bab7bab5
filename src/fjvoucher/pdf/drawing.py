"""Draw one voucher from a probed master: the page without its lines, the record's lines, its photo.

A record the probe did not prove is not drawn: `draw_page` says why instead, and the record is
printed by LibreOffice.  The page's content is written as LibreOffice writes it (a block per run,
positions to the thousandth of a point), in fonts numbered by `Glyphs`: the background's glyphs
first, as the probe fixed them, then the record's.
"""

from __future__ import annotations

from dataclasses import dataclass

from fjvoucher.pdf.faces import Face, face_named
from fjvoucher.pdf.lines import ASIAN, LATIN, char_class, lay_out, written
from fjvoucher.pdf.probe import Plan, _num


@dataclass
class DrawRecord:
    """A voucher as the drawing engine sees it: the printed values, the photo, the branches it takes."""

    values: dict[str, str]
    photo: bytes | None = None  # JPEG bytes as in the DOCX
    photo_pixels: tuple[int, int] = (0, 0)
    photo_extent: tuple[int, int] | None = None  # EMU, as the DOCX draws it
    branch: str = ""  # "" plain; "reissue", "qr", "reissue+qr": drawn where the probe proved it; "listing" …
    qr: bytes | None = None  # the QR's PNG as in the DOCX


@dataclass
class DrawnPage:
    """A drawn page: its content stream (fonts by face name), the glyphs it shows, its photo."""

    content: bytes
    glyphs: dict[str, list[int]]  # face → glyphs the lines show (may repeat the background's)
    photo: bytes | None
    photo_pixels: tuple[int, int]
    components: int = 3
    qr: tuple[int, int, bytes] | None = None  # width, height and Flate-packed grey pixels, as LibreOffice embeds it


class Drawer:
    """Draw records with one plan (the faces are read once)."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.faces: dict[str, Face] = {}
        for name in {*plan.faces, *plan.fallback_faces, *(line.face for line in plan.lines)}:
            face = face_named(name)
            if face is None:
                raise ValueError(f"face {name} not installed")
            self.faces[name] = face

    def draw_page(self, record: DrawRecord) -> DrawnPage | str:
        """Return the record's page, or why it goes to LibreOffice."""
        if record.branch and record.branch not in self.plan.branches:
            return f"branch:{record.branch}"
        photo = self._photo(record)
        if isinstance(photo, str):
            return photo
        pieces = [b"q /BG Do Q\n"]
        glyphs: dict[str, list[int]] = {}
        if photo:
            pieces.append(photo)
        qr = None
        spot = self.plan.branches.get(record.branch, {}).get("qr") if record.branch else None
        if spot and record.qr:
            qr = _grey(record.qr)
            pieces.append(b"q %s re\nW* n\nq %s cm\n/Q Do Q\nQ\n" % (spot["clip"].encode(), spot["cm"].encode()))
        for line in self.plan.lines:
            if line.branch and line.branch != record.branch:
                continue
            text = line.text(record.values)
            reason = self._unproven(text)
            if reason:
                return reason
            laid = lay_out(text, [self.faces[line.face]] + [self.faces[f] for f in self.plan.fallback_faces],
                           line.size)
            if laid is None:
                return "glyph"
            placed, width = laid
            if width > line.limit + 1e-6:
                return "too-wide"
            pieces.append(self._line(line, placed, line.start(width), glyphs))
        shown = record.photo if photo else None
        components = _jpeg_components(shown) if shown else 3
        return DrawnPage(b"".join(pieces), glyphs, shown, record.photo_pixels, components, qr)

    def _photo(self, record: DrawRecord) -> bytes | str | None:
        if record.photo is None or not self.plan.prints_photo:
            return None
        spot = self.plan.photos.get(",".join(map(str, record.photo_extent or ())))
        if spot is None or "refused" in spot:
            return "photo-size"
        if _jpeg_components(record.photo) not in (1, 3):
            return "photo-kind"
        return b"q %s re\nW* n\nq %s cm\n/P Do Q\nQ\n" % (spot["clip"].encode(), spot["cm"].encode())

    def _unproven(self, text: str) -> str | None:
        for char in text:
            klass = char_class(char)
            if klass is None or (not self.plan.punctuation and klass[0] not in (ASIAN, LATIN)) or \
                    (not self.plan.punctuation and not klass[1]):
                return "character"
        return None

    def _line(self, line, placed, start: float, glyphs: dict[str, list[int]]) -> bytes:
        """Return the blocks drawing a laid-out line: a new block where Writer's spacing or the face changes."""
        pre, _, inner = line.state.partition("|")
        out: list[bytes] = []
        run: list[tuple[int, str, int]] = []
        run_x, face, origin = 0.0, "", -1.0
        for p, (x, step) in zip(placed, written(placed, start, line.size), strict=True):
            if run and (p.face != face or p.run != origin):
                out.append(self._block(pre, inner, run_x, line, face, run))
                run = []
            if not run:
                run_x, face, origin, step = x, p.face, p.run, 0
            run.append((p.glyph, p.char, step))
            glyphs.setdefault(p.face, []).append(p.glyph)
        if run:
            out.append(self._block(pre, inner, run_x, line, face, run))
        return b"".join(out)

    @staticmethod
    def _block(pre: str, inner: str, x: float, line, face: str, run: list[tuple[int, str, int]]) -> bytes:
        # Resolved to codes when the PDF is written; a step from the pen goes before its glyph, as LibreOffice does.
        codes = "".join(f"{{{face}:{g}:{ord(c)}:{s}}}" if s else f"{{{face}:{g}:{ord(c)}}}" for g, c, s in run)
        state = f"{inner}\n" if inner else ""
        return (f"q {pre}\nBT\n{state}{_num(round(x, 3))} {line.y} Td /@{face}@ {_num(line.size)} Tf"
                f"<{codes}>Tj\nET\nQ\n").encode("latin-1")


def _grey(png: bytes) -> tuple[int, int, bytes]:
    """Return a QR's PNG as LibreOffice embeds it: eight-bit grey pixels, Flate level 6 (the same bytes)."""
    import io
    import zlib

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        grey = image.convert("L")
        return grey.width, grey.height, zlib.compress(grey.tobytes(), 6)


def _jpeg_components(data: bytes) -> int:
    """Return the number of colour components of a JPEG (0 when it is not one this engine embeds)."""
    if data[:2] != b"\xff\xd8":
        return 0
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return 0
        marker, length = data[at + 1], int.from_bytes(data[at + 2:at + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return data[at + 9] if at + 9 < len(data) else 0
        at += 2 + length
    return 0
