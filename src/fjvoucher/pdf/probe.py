"""Learn once, from LibreOffice's own pages, how it draws a master: what stays, and where each field's line goes.

The master is rendered with every field empty, with one-character and two-character markers, without
a photo, with a mixed line (Han, Latin, digits, punctuation) and with one over-long field a page.  From
those pages come: the page without field lines (cut from LibreOffice's content stream), each line's
text with its fields, font, size, baseline, alignment and the widest text proven to fit on one line,
and the photo's place.  The master's branches (the reissue note, the verification code and its QR, and
both) are rendered the same way, each with its own lines and the QR's place; photos of other shapes
are placed by LibreOffice once each (`photo_pages`), their clip and scale kept with the plan.
Self-checks refuse a master whose pages this model does not reproduce (static drawing that moves with
the text, positions off by more than 0.05 pt, outlines that differ from the installed face): such a
master is printed by LibreOffice whole; a branch that fails them is printed by LibreOffice alone.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fjvoucher.contract import CONTRACT
from fjvoucher.pdf.faces import Face, face_named
from fjvoucher.pdf.fonts import RARE_FACES
from fjvoucher.pdf.fontsubset import TrueType
from fjvoucher.pdf.lines import lay_out, on_grid, written
from fjvoucher.pdf.lopage import Block, Glyph, LoFont, Unreadable, read_blocks, read_fonts
from fjvoucher.querycode import CODE_ALPHABET, CODE_LENGTH, printed_code

PROBE_VERSION = 5  # part of the cache key: a change to the model probes every master again
MARKERS = "甲乙丙丁戊己庚辛壬癸丑寅卯辰巳午未酉戌亥鼠虎兔龙蛇羊猴鸡狗猪梅兰竹菊松柏"
MIXED = "{m}A1（{m}）·{m}、b2-{m}"  # every class the line model knows, with and without Writer's spacing
RARE = "{m}𠀋{m}㐀{m}"  # Extension B and A: from the faces LibreOffice falls back to (fonts.RARE_FACES)
NOT_TEXT = frozenset({"photo", "qr", "reissue"})
BRANCHES = (("reissue",), ("qr",), ("reissue", "qr"))  # the master's conditions a voucher may take, alone or both
LONG = 45  # characters of an over-long value in a paragraph (no cell width known)
# Values whose form is fixed, printed on a branch page as they are: a line with a picture at its end (the QR)
# shows no first line to measure when it wraps, so the widest such value is proven to fit instead.
SAMPLES = {"verify_code": printed_code(CODE_ALPHABET[-CODE_LENGTH:])}
# Photo shapes placed in one LibreOffice run, a page each (about 50 pages a second): the rest are printed by
# LibreOffice until a later merge places them.  ID photos come in a few sizes; scans in many.
MAX_SHAPES = 1000
TOLERANCE = 0.05  # points
GRID = 0.1  # Writer places glyphs on tenths of a point (lines.Placed.at): one may stand that much before the pen
_PHOTO = re.compile(rb"Q q ([-\d. ]+) re\nW\* n\nq ([-\d. ]+) cm\n/(\w+) Do Q\nQ (q [-\d. ]+ re\nW\* n\n)")
_IMAGE = re.compile(rb"Q q ([-\d. ]+) re\nW\* n\nq ([-\d. ]+) cm\n/(\w+) Do Q\n")  # a picture, wherever it stands


class Refused(Exception):
    """The probe could not prove the drawing model for this master; the reason is the message."""


@dataclass
class Line:
    """One line LibreOffice draws with fields in it: its text, how it is placed, and how wide it may be."""

    tokens: list[str]  # a literal character, or "{name}" for a field
    align: str  # left, right, center
    anchor: float  # the start, end or middle of the line
    y: str  # the baseline as LibreOffice writes it
    size: float
    state: str  # graphics state of its text ("0 0 0 rg", "2 Tr 0.73333 w")
    face: str
    limit: float = 0.0  # the widest line LibreOffice was seen to keep on one line
    branch: str = ""  # "": every voucher's line; "reissue", "qr", "reissue+qr": only a voucher taking that branch

    def text(self, values: dict[str, str]) -> str:
        """Return the line's text for `values`."""
        return "".join(values.get(t[1:-1], "") if len(t) > 2 and t[0] == "{" else t for t in self.tokens)

    def start(self, width: float) -> float:
        """Return where a line `width` wide starts."""
        return {"left": self.anchor, "right": self.anchor - width, "center": self.anchor - width / 2}[self.align]


@dataclass
class Plan:
    """What drawing a master needs: the page without its lines, the lines, the photo, what was proven."""

    size: tuple[float, float]
    background: str  # content stream, latin-1, fonts as /@face@ with two-byte codes (see `static`)
    faces: list[str]  # PostScript names, /D0 … in this order
    static: dict[str, list[int]]  # face → the glyphs the background shows, codes 1, 2, … in this order
    static_chars: dict[str, str]  # face → the character of each of those glyphs, in the same order
    lines: list[Line]
    fields: list[str]
    photo: dict | None = None  # {"extent": [cx, cy], "clip": "x y w h", "cm": "a 0 0 d e f"}
    fallback_faces: list[str] = field(default_factory=list)  # proven for characters the line's face lacks
    punctuation: bool = False  # the mixed line proved punctuation and spacing
    images: dict[str, dict] = field(default_factory=dict)  # the master's own pictures, as LibreOffice embedded them
    prints_photo: bool = True  # the master has a photo placeholder (else a record's photo is not printed)
    photos: dict[str, dict] = field(default_factory=dict)  # "cx,cy" (EMU) → {"clip", "cm"}: photo shapes placed
    branches: dict[str, dict] = field(default_factory=dict)  # proven branch → {"qr": {"clip", "cm"} or None}
    refused_branches: dict[str, str] = field(default_factory=dict)  # branch → why the probe did not prove it

    def to_json(self) -> str:
        """Return the plan as JSON (the probe cache)."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Return the plan written by `to_json`."""
        data = json.loads(text)
        data["lines"] = [Line(**line) for line in data["lines"]]
        data["size"] = tuple(data["size"])
        return cls(**data)


@dataclass
class ProbeMaster:
    """What the probe needs of a master: its identity, its names and a way to render contexts to a batch."""

    sha256: str
    names: frozenset[str]
    boxes: dict[str, float]
    personal_headers: bool  # or another reason the master's text cannot be told from its values
    # Contexts ("qr": True asks for a QR) and each page's photo (False, True: the sample, or a shape in EMU) → DOCX
    render: Callable[[list[dict], list], bytes]
    photo_extent: tuple[int, int] | None  # the probe photo's drawing size (EMU), None: no photos
    photo_extents: tuple[tuple[int, int], ...] = ()  # every photo shape the merge prints (EMU)


def cache_key(master: ProbeMaster, soffice_version: str, font_files: list[str]) -> str:
    """Return the probe cache key: master, LibreOffice's version, the installed fonts, the model's version."""
    stats = []
    for path in sorted(font_files):
        try:
            st = Path(path).stat()
            stats.append(f"{path}:{st.st_size}:{int(st.st_mtime)}")
        except OSError:
            stats.append(path)
    text = json.dumps([PROBE_VERSION, master.sha256, soffice_version, stats])  # photo shapes: kept in the plan
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def probe_pages(master: ProbeMaster) -> tuple[list[dict], list[bool], dict]:
    """Return the probe's contexts, photo flags, and what each page is (for `learn`)."""
    if master.personal_headers:
        raise Refused("页眉页脚含个人信息，或占位符带过滤器/条件 (personal headers, filters or conditions)")
    fields = sorted(n for n in master.names if n not in NOT_TEXT)
    if len(fields) > len(MARKERS):
        raise Refused("字段太多 (too many fields)")
    marker = {f: MARKERS[i] for i, f in enumerate(fields)}
    base = {n: "" for n in CONTRACT} | {"reissue": False}
    photo = master.photo_extent is not None
    pages = [base, base | marker, base | {f: m * 2 for f, m in marker.items()}, base | marker]
    flags = [photo, photo, photo, False]
    widest = max(fields, key=lambda f: master.boxes.get(f, 0), default=None)
    mixed = widest if widest and master.boxes.get(widest, 0) >= 14 else None
    if mixed:
        pages.append(base | marker | {mixed: MIXED.format(m=marker[mixed])})
        pages.append(base | marker | {mixed: RARE.format(m=marker[mixed])})
        flags += [photo, photo]
    for f in fields:
        length = int(master.boxes[f]) + 2 if f in master.boxes else LONG
        pages.append(base | marker | {f: marker[f] * length})
        flags.append(photo)
    branches = []
    for branch in (b for b in BRANCHES if set(b) <= master.names):
        on: dict[str, str | bool] = {"reissue": "reissue" in branch, "qr": "qr" in branch}  # qr True: a QR
        # Fields in a paragraph (no cell width) may sit in the branch: each gets an over-long value once.
        longs = [f for f in fields if f not in master.boxes]
        branches.append(("+".join(branch), len(pages), longs))
        pages += [base | marker | on, base | {f: m * 2 for f, m in marker.items()} | on,
                  base | marker | on | {f: v for f, v in SAMPLES.items() if f in marker}]
        pages += [base | marker | on | {f: marker[f] * LONG} for f in longs]
        flags += [photo] * (3 + len(longs))
    shapes = photo_pages(master, base | marker)
    layout = {"fields": fields, "marker": marker, "mixed": mixed, "branches": branches,
              "shapes": [(extent, len(pages) + i) for i, extent in enumerate(shapes[1][1:])]}
    return pages + shapes[0][1:], flags + shapes[1][1:], layout


def photo_pages(master: ProbeMaster, context: dict, known=()) -> tuple[list[dict], list]:
    """Return pages placing the master's photo shapes not `known`: the page without a photo first, then one page a
    shape (flags: False, then each shape's extent)."""
    if "photo" not in master.names:
        return [context], [False]
    shapes = [e for e in dict.fromkeys(master.photo_extents) if f"{e[0]},{e[1]}" not in known]
    return [context] * (1 + len(shapes[:MAX_SHAPES])), [False, *shapes[:MAX_SHAPES]]


def learn(pdf: Path, master: ProbeMaster, layout: dict) -> Plan:
    """Return the drawing plan proven by LibreOffice's PDF of the probe pages; raise Refused otherwise."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    fonts, pages = read_probe(pdf)
    box = reader.pages[0].mediabox
    fields, marker = layout["fields"], layout["marker"]
    by_marker = {m: f for f, m in marker.items()}
    faces = _faces(fonts)
    empty, ones, twos, bare = pages[:4]
    if any(g.char in by_marker for b in empty[1] for g in b.glyphs):
        raise Refused("母版的文字含有标记字 (a marker is part of the master's text)")
    photo = _photo_op(ones, bare, master)
    _check_drawing(empty, ones, twos, bare, photo)
    images = _images(reader.pages[1], ones[0], photo)
    lines, line_blocks = _lines(ones[1], by_marker, fonts, faces)
    for line in lines:
        _align(line, ones[1], twos[1], by_marker, marker, fonts, faces)
    background = [b for i, b in enumerate(ones[1]) if i not in line_blocks]
    used = list(dict.fromkeys(fonts[g.font].name for b in ones[1] for g in b.glyphs))
    if any(name not in faces for name in used):
        raise Refused(f"找不到 LibreOffice 所用字体 {'、'.join(n for n in used if n not in faces)} 的 TrueType 文件 "
                      "(face not found)")
    values = [{f: "" for f in fields}, marker, {f: m * 2 for f, m in marker.items()}, marker]
    for (_, blocks), page_values in zip(pages[:4], values, strict=True):
        _check_page(blocks, background, lines, page_values, fonts, faces)
    punctuation, rare = _optional_proofs(pages, layout, background, lines, fonts, faces)
    first = 6 if layout["mixed"] else 4
    for f, (_, blocks) in zip(fields, pages[first:first + len(fields)], strict=True):
        _widths(lines, f, marker[f], blocks, fonts)
    _check_outlines(reader.pages[0]["/Resources"].get_object(), fonts, faces)
    text, static, chars = _background(ones, ones[1], line_blocks, photo, fonts, faces)
    plan = Plan((float(box.width), float(box.height)), text, used, static, chars, lines, fields, photo, rare,
                punctuation, images, "photo" in master.names)
    if photo:
        plan.photos[",".join(map(str, photo["extent"]))] = {"clip": photo["clip"], "cm": photo["cm"]}
    shapes = layout["shapes"]
    plan.photos |= shape_spots(bare, [pages[i] for _, i in shapes], [e for e, _ in shapes])
    for key, start, longs in layout["branches"]:
        try:
            plan.lines += _branch(key, pages[start:start + 3 + len(longs)], longs, ones, background, plan, layout,
                                  fonts, faces)
        except Refused as exc:
            plan.refused_branches[key] = str(exc)
    return plan


def read_probe(pdf: Path) -> tuple[dict[str, LoFont], list[tuple[bytes, list[Block]]]]:
    """Return the fonts and every page (content, text blocks) of a probe's PDF; raise Refused if unreadable."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    try:
        fonts = read_fonts(reader.pages[0]["/Resources"].get_object())
        pages = []
        for page in reader.pages:
            stream = page.get_contents()
            if stream is None:
                raise Unreadable("a page without content")
            pages.append((stream.get_data(), read_blocks(stream.get_data(), fonts)))
    except Unreadable as exc:
        raise Refused(f"LibreOffice 的页面无法解读 ({exc})") from exc
    return fonts, pages


def shape_spots(bare: tuple[bytes, list[Block]], pages: list, extents: list) -> dict[str, dict]:
    """Return, by photo shape ("cx,cy"), where LibreOffice clipped and placed it on its page, or why that page is
    not the page without a photo plus the photo ({"refused": why})."""
    spots: dict[str, dict] = {}
    before = {(m.group(1), m.group(2)) for m in _IMAGE.finditer(bare[0])}
    plain = _skeleton(bare[0], bare[1], None)
    for extent, (content, blocks) in zip(extents, pages, strict=True):
        key = f"{extent[0]},{extent[1]}"
        found = [m for m in _PHOTO.finditer(content) if (m.group(1), m.group(2)) not in before]
        if len(found) != 1:
            spots[key] = {"refused": "照片的位置无法确定 (photo not found once)"}
            continue
        spot = {"extent": list(extent), "clip": found[0].group(1).decode(), "cm": found[0].group(2).decode()}
        if [b.raw for b in blocks] != [b.raw for b in bare[1]] or \
                _skeleton(content, blocks, spot, drop_photo=True) != plain:
            spots[key] = {"refused": "这种比例的照片使版面改变 (the photo moves the page)"}
            continue
        spots[key] = {"clip": spot["clip"], "cm": spot["cm"]}
    return spots


def _branch(key: str, pages: list, longs: list[str], ones, background: list[Block], plan: Plan, layout: dict,
            fonts, faces) -> list[Line]:
    """Return the lines a branch adds (its one-marker, two-marker and over-long pages); note its QR's place in
    `plan.branches`; raise Refused when the branch page is not the plain page plus those lines and the QR."""
    marker = layout["marker"]
    twos = {f: m * 2 for f, m in marker.items()}
    by_marker = {m: f for f, m in marker.items()}
    qr = _qr_spot(pages[0], ones, "qr" in key.split("+"), plan.photo)
    if _qr_spot(pages[1], ones, "qr" in key.split("+"), plan.photo) != qr:
        raise Refused("二维码随文字移动 (the QR moves with the text)")
    plain = [line for line in plan.lines if not line.branch]
    seen = {(line.y, tuple(line.tokens)) for line in plain}  # a branch's lines are its own, even where two share one
    found, _ = _lines(pages[0][1], by_marker, fonts, faces)
    new = [line for line in found if (line.y, tuple(line.tokens)) not in seen]
    for line in new:
        line.branch = key
        _align(line, pages[0][1], pages[1][1], by_marker, marker, fonts, faces)
    samples = marker | {f: v for f, v in SAMPLES.items() if f in marker}
    checks = ((pages[0][1], marker), (pages[1][1], twos), (pages[2][1], samples))
    # A right-aligned line's end is known to a twip or two from the markers; the samples' page tells which.
    ends = [[line.anchor + d for d in ((0, 0.05, -0.05) if line.align == "right" else (0,))] for line in new]
    for choice in itertools.product(*ends):
        for line, anchor in zip(new, choice, strict=True):
            line.anchor = round(anchor, 3)
        if all(_proves(blocks, background, plain + new, values, fonts, faces) for blocks, values in checks):
            break
    else:
        raise Refused("字段位置与 LibreOffice 不符 (field positions differ from LibreOffice's)")
    for f, (_, blocks) in zip(longs, pages[3:], strict=True):
        _widths(new, f, marker[f], blocks, fonts)
    for line in new:  # the samples' line, where it stays one line
        rows = [c for c in _clusters(pages[2][1]) if c[0][1].y == float(line.y) and c[0][1].size == line.size]
        shown = "".join(g.char for _, g in rows[0]) if len(rows) == 1 else ""
        if shown and not any(f"{{{f}}}" in line.tokens and marker[f] in shown for f in SAMPLES if f in marker):
            line.limit = max(line.limit, round(rows[0][-1][1].end - rows[0][0][1].x, 3))
    plan.branches[key] = {"qr": qr}
    return new


def _qr_spot(page, ones, wanted: bool, photo: dict | None) -> dict | None:
    """Return where the branch page draws the QR (the one picture the plain page lacks), None without a QR;
    raise Refused when anything else but text differs."""
    before = {(m.group(1), m.group(2)) for m in _IMAGE.finditer(ones[0])}
    new = [m for m in _IMAGE.finditer(page[0]) if (m.group(1), m.group(2)) not in before]
    if len(new) != (1 if wanted else 0):
        raise Refused("二维码的位置无法确定 (QR not found once)")
    drawing = _skeleton(page[0], page[1], photo)
    if new:
        chunk = new[0].group(0)
        renamed = chunk.replace(b"/" + new[0].group(3) + b" Do", b"/Picture Do")
        drawing = drawing.replace(chunk, b"", 1) if chunk in drawing else drawing.replace(renamed, b"", 1)
    if drawing != _skeleton(ones[0], ones[1], photo):
        raise Refused("分支改变了线条或图片 (the branch moves the drawing)")
    return {"clip": new[0].group(1).decode(), "cm": new[0].group(2).decode()} if new else None


def _check_drawing(empty, ones, twos, bare, photo: dict | None) -> None:
    """Check that everything but text stays put whatever the fields hold, and with or without a photo."""
    skeleton = _skeleton(ones[0], ones[1], photo)
    for content, blocks in (empty, twos):
        if _skeleton(content, blocks, photo) != skeleton:
            raise Refused("母版的线条或图片随文字移动 (drawing moves with the text)")
    if _skeleton(bare[0], bare[1], None) != _skeleton(ones[0], ones[1], photo, drop_photo=True):
        raise Refused("没有照片时版面不同 (the page differs without a photo)")


def _optional_proofs(pages, layout: dict, background, lines, fonts, faces) -> tuple[bool, list[str]]:
    """Return whether the mixed line proved punctuation and spacing, and the rare faces the rare line proved."""
    if not layout["mixed"]:
        return False, []
    marker, mixed = layout["marker"], layout["mixed"]
    punctuation = _proves(pages[4][1], background, lines, marker | {mixed: MIXED.format(m=marker[mixed])},
                          fonts, faces)
    rare = [f for f in RARE_FACES if f in faces]
    if len(rare) != len(RARE_FACES) or not _proves(pages[5][1], background, lines, marker | {
            mixed: RARE.format(m=marker[mixed])}, fonts, faces, rare):
        rare = []
    return punctuation, rare


def _proves(blocks, background, lines, values, fonts, faces, rare=()) -> bool:
    """Return whether the page is drawn as the model says (a page proving an optional part of it)."""
    try:
        _check_page(blocks, background, lines, values, fonts, faces, rare)
    except Refused:
        return False
    return True


def _faces(fonts: dict[str, LoFont]) -> dict[str, Face]:
    """Return the installed TrueType face of each font LibreOffice used (those it can find), and the rare faces."""
    faces = {}
    for name in {*(font.name for font in fonts.values()), *RARE_FACES}:
        face = face_named(name)
        if face is not None:
            faces[name] = face
    return faces


def _photo_op(page: tuple[bytes, list[Block]], bare: tuple[bytes, list[Block]], master: ProbeMaster) -> dict | None:
    """Return where the photo is drawn: the one image the page with a photo has and the page without lacks."""
    if master.photo_extent is None or "photo" not in master.names:
        return None  # pictures, if any, are the master's own: they stay on the page
    without = {(m.group(1), m.group(2)) for m in _PHOTO.finditer(bare[0])}
    found = [m for m in _PHOTO.finditer(page[0]) if (m.group(1), m.group(2)) not in without]
    if len(found) != 1:
        raise Refused("照片的位置无法确定 (photo not found once)")
    match = found[0]
    return {"extent": list(master.photo_extent), "clip": match.group(1).decode(), "cm": match.group(2).decode()}


def _is_photo(match: re.Match, photo: dict | None) -> bool:
    return photo is not None and (match.group(1).decode(), match.group(2).decode()) == (photo["clip"], photo["cm"])


def _images(page, content: bytes, photo: dict | None) -> dict[str, dict]:
    """Return the master's own pictures the page shows, by resource name: dictionary and data, as LibreOffice
    embedded them (base64)."""
    import base64

    names = {m.group(3).decode() for m in _PHOTO.finditer(content) if not _is_photo(m, photo)}
    found = {}
    xobjects = page["/Resources"].get_object().get("/XObject") or {}
    for name in sorted(names):
        image = xobjects["/" + name].get_object()
        entries = {k[1:]: str(v) for k, v in image.items() if k in (
            "/Width", "/Height", "/BitsPerComponent", "/ColorSpace", "/Filter")}
        if set(entries) != {"Width", "Height", "BitsPerComponent", "ColorSpace", "Filter"} or not \
                entries["ColorSpace"].startswith("/Device") or "/SMask" in image or "/DecodeParms" in image:
            raise Refused("母版自带的图片无法照搬 (a picture of the master's own cannot be copied)")
        found[name] = {"entries": entries, "data": base64.b64encode(image._data).decode("ascii")}
    return found


def _skeleton(content: bytes, blocks: list[Block], photo: dict | None, drop_photo: bool = False) -> bytes:
    """Return the content stream without its text, the photo's image name neutral (or the photo gone)."""
    out, at = [], 0
    for block in blocks:
        out.append(content[at:block.start])
        at = block.end
    out.append(content[at:])
    text = b"".join(out)
    def neutral(match: re.Match) -> bytes:
        if _is_photo(match, photo):
            return b"" if drop_photo else b"Q q %s re\nW* n\nq %s cm\n/Photo Do Q\nQ %s" % (
                match.group(1), match.group(2), match.group(4))
        return match.group(0).replace(b"/" + match.group(3) + b" Do", b"/Picture Do")  # named per page

    return _PHOTO.sub(neutral, text)


def _clusters(blocks: list[Block]) -> list[list[tuple[int, Glyph]]]:
    """Return the glyphs grouped into runs that touch on one baseline (Writer's spacing allowed between)."""
    glyphs = sorted(((i, g) for i, b in enumerate(blocks) for g in b.glyphs), key=lambda p: (-p[1].y, p[1].x))
    clusters: list[list[tuple[int, Glyph]]] = []
    for i, g in glyphs:
        last = clusters[-1][-1][1] if clusters else None
        gap = g.x - last.end if last else 0.0
        if last and last.y == g.y and last.size == g.size and -GRID - TOLERANCE <= gap <= g.size / 5 + TOLERANCE:
            clusters[-1].append((i, g))
        else:
            clusters.append([(i, g)])
    return clusters


def _lines(blocks: list[Block], by_marker: dict[str, str], fonts, faces) -> tuple[list[Line], set[int]]:
    """Return the lines holding markers, and the blocks they are drawn with."""
    lines, used = [], set()
    for cluster in _clusters(blocks):
        if not any(g.char in by_marker for _, g in cluster):
            continue
        indexes = {i for i, _ in cluster}
        if any(g not in [c for _, c in cluster] for i in indexes for g in blocks[i].glyphs):
            raise Refused("一段文字跨两行 (a block spans two lines)")
        states = {blocks[i].state for i in indexes}
        names = {fonts[g.font].name for _, g in cluster}
        if len(states) != 1 or len(names) != 1:
            raise Refused("一行中有不同的字体或格式 (a line with mixed fonts or formats)")
        tokens = [f"{{{by_marker[g.char]}}}" if g.char in by_marker else g.char for _, g in cluster]
        first = cluster[0][1]
        lines.append(Line(tokens, "left", first.x, blocks[cluster[0][0]].y_text.decode(), first.size,
                          states.pop().decode("latin-1"), names.pop()))
        used |= indexes
    return lines, used


def _measure(line: Line, values: dict[str, str], faces: dict[str, Face], rare=()):
    if line.face not in faces:
        raise Refused(f"找不到 LibreOffice 所用字体 {line.face} 的 TrueType 文件 (face not found)")
    laid = lay_out(line.text(values), [faces[line.face], *(faces[f] for f in rare)], line.size)
    if laid is None:
        raise Refused("标记字无法排版 (markers cannot be laid out)")
    return laid


def _align(line: Line, ones: list[Block], twos: list[Block], by_marker, marker, fonts, faces) -> None:
    """Set the line's alignment from its starts with one-character and two-character markers."""
    _, w1 = _measure(line, marker, faces)
    _, w2 = _measure(line, {f: m * 2 for f, m in marker.items()}, faces)
    first_field = next(t[1:-1] for t in line.tokens if len(t) > 2 and t[0] == "{")
    found = [c for c in _clusters(twos) if c[0][1].y == float(line.y)
             and any(g.char == marker[first_field] for _, g in c)]
    if len(found) != 1:
        raise Refused("两字标记的行找不到 (line not found with longer markers)")
    x1, x2 = line.anchor, found[0][0][1].x
    if abs(x1 - x2) <= TOLERANCE:
        line.align, line.anchor = "left", x1
    elif abs((x1 + w1) - (x2 + w2)) <= TOLERANCE:
        # The end is known to the twip where both starts, on the grid, say the same (`anchors` picks between two).
        line.align, line.anchor = "right", anchors(x1, w1, x2, w2)[0]
    elif abs((x1 + w1 / 2) - (x2 + w2 / 2)) <= TOLERANCE:
        line.align, line.anchor = "center", round(x1 + w1 / 2, 3)
    else:
        raise Refused("行的对齐方式无法确定（两端对齐？）(alignment unknown, justified?)")


def anchors(x1: float, w1: float, x2: float, w2: float) -> list[float]:
    """Return the ends (whole twips) of a right-aligned line that put lines `w1` and `w2` wide at `x1` and `x2`
    on the grid; the rounded sum first."""
    guess = round((x1 + w1) * 20)
    found = [t / 20 for t in sorted(range(guess - 2, guess + 3), key=lambda t: (abs(t - guess), t))
             if abs(on_grid(t / 20 - w1) - x1) < 1e-6 and abs(on_grid(t / 20 - w2) - x2) < 1e-6]
    return found or [round(x1 + w1, 3)]


def predicted(line: Line, values: dict[str, str], faces: dict[str, Face], rare=()) -> tuple[list, float]:
    """Return the glyphs the model draws for the line (character, position, face), and the line's width."""
    placed, width = _measure(line, values, faces, rare)
    start = line.start(width)
    return [(p.char, x, p.face) for p, (x, _) in zip(placed, written(placed, start, line.size), strict=True)], width


def _check_page(blocks: list[Block], background: list[Block], lines: list[Line], values, fonts, faces,
                rare=()) -> None:
    """Check that the page is the background plus exactly the model's lines, within the tolerance."""
    rest = Counter(b.raw for b in background)
    seen = []
    for block in blocks:
        if rest[block.raw] > 0:
            rest[block.raw] -= 1
        else:
            seen += [(g.y, g.x, g.char, fonts[g.font].name) for g in block.glyphs]
    if +rest:
        raise Refused("静态文字随字段变化 (static text changes with the fields)")
    model = []
    for line in lines:
        glyphs, width = predicted(line, values, faces, rare)
        model += [(float(line.y), x, c, face) for c, x, face in glyphs]
    seen.sort(key=lambda t: (-t[0], t[1]))
    model.sort(key=lambda t: (-t[0], t[1]))
    if len(seen) != len(model) or any(a[0] != b[0] or a[2:] != b[2:] or abs(a[1] - b[1]) > TOLERANCE
                                      for a, b in zip(seen, model, strict=True)):
        raise Refused("字段位置与 LibreOffice 不符 (field positions differ from LibreOffice's)")


def _widths(lines: list[Line], name: str, mark: str, blocks: list[Block], fonts) -> None:
    """Note, for each line holding field `name`, the widest first line LibreOffice kept for it."""
    clusters = [c for c in _clusters(blocks) if any(g.char == mark for _, g in c)]
    for line in lines:
        if f"{{{name}}}" not in line.tokens or not clusters:
            continue
        # The paragraph's first line: a centred cell moves it up as the text wraps.
        around = [c for c in clusters if abs(c[0][1].y - float(line.y)) < 3 * line.size]
        if not around:
            continue
        first = max(around, key=lambda c: c[0][1].y)
        width = first[-1][1].end - first[0][1].x
        line.limit = max(line.limit, round(width, 3))


def _check_outlines(resources, fonts: dict[str, LoFont], faces: dict[str, Face]) -> None:
    """Check that every glyph LibreOffice embedded is the installed face's glyph for its character."""
    for name, font in (resources.get("/Font") or {}).items():
        lo = fonts[name[1:]]
        if lo.name not in faces:
            continue  # a face no line or background uses (else the probe refused it already)
        program = font.get_object()["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
        parsed = TrueType.parse(program)
        if parsed is None:
            raise Refused(f"字体 {lo.name} 无法解读 (embedded font unreadable)")
        face = faces[lo.name]
        for code, char in lo.chars.items():
            glyph = parsed.code_to_glyph.get(code)
            if glyph is None:
                continue
            mine = face.outline(face.glyph(char))
            theirs = parsed.glyphs[glyph]
            padded = theirs.startswith(mine) and not theirs[len(mine):].strip(b"\0")  # LibreOffice pads to even
            if theirs != mine and not padded and not _same_composite(theirs, mine):
                raise Refused(f"字体 {lo.name} 中“{char}”的字形与本机字体不同 (outline differs)")


def _same_composite(a: bytes, b: bytes) -> bool:
    """Return whether two composite glyphs agree but for their components' numbers (which subsetting changes)."""
    return len(a) == len(b) and a[:10] == b[:10] and a[:2] == b"\xff\xff"


def _background(page: tuple[bytes, list[Block]], blocks: list[Block], line_blocks: set[int], photo: dict | None,
                fonts: dict[str, LoFont], faces: dict[str, Face]) -> tuple[str, dict[str, list[int]], dict[str, str]]:
    """Return the page's content stream without its lines and photo, rewritten to the drawn fonts' codes; and, by
    face, the glyphs it shows (codes 1, 2, … in this order) and their characters."""
    content = page[0]
    order: dict[str, list[int]] = {}
    chars: dict[str, list[str]] = {}
    out, at = [], 0
    for i, block in enumerate(blocks):
        out.append(content[at:block.start])
        at = block.end
        if i not in line_blocks:
            out.append(_rewritten(block, fonts, faces, order, chars))
    out.append(content[at:])
    text = _PHOTO.sub(lambda m: b"" if _is_photo(m, photo) else m.group(0), b"".join(out))
    return text.decode("latin-1"), order, {face: "".join(c) for face, c in chars.items()}


def _rewritten(block: Block, fonts: dict[str, LoFont], faces: dict[str, Face], order: dict[str, list[int]],
               chars: dict[str, list[str]]) -> bytes:
    """Return a text block drawing its glyphs in the drawn font of their face (two-byte codes; `order` and
    `chars` grow by the glyphs not seen before)."""
    runs: list[tuple[str, float, list[Glyph]]] = []
    for g in block.glyphs:
        name = fonts[g.font].name
        if runs and runs[-1][0] == name:
            runs[-1][2].append(g)
        else:
            runs.append((name, g.size, [g]))
    pre, _, inner = block.state.partition(b"|")
    pieces = [b"q " + pre]
    for name, size, glyphs in runs:
        face = faces[name]
        items, pen = [], glyphs[0].x
        for g in glyphs:
            gid = face.glyph(g.char)
            if gid not in order.setdefault(name, []):
                order[name].append(gid)
                chars.setdefault(name, []).append(g.char)
            shift = round((pen - g.x) * 1000 / size, 3)
            if abs(shift) > 1e-6:
                items.append(_num(shift).encode())
            items.append(b"<%04X>" % (order[name].index(gid) + 1))
            pen = g.x + face.advance(gid) * size / face.units
        pieces += [b"BT", inner, b"%s %s Td /@%s@ %s Tf[%s]TJ" % (
            _num(glyphs[0].x).encode(), block.y_text, name.encode(), _num(size).encode(), b"".join(items)), b"ET"]
    return b"\n".join(p for p in pieces if p) + b"\nQ\n"


def _num(value: float) -> str:
    """Return `value` as LibreOffice writes numbers: up to three decimals, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
