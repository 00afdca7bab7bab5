"""Render vouchers from a prepared master: one DOCX per candidate, or many vouchers in one batch DOCX.

Each candidate's body is rendered once; the single document and the batch both use that text.
A batch joins the rendered bodies, each later voucher starting on a new page.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from markupsafe import Markup

from fjvoucher.errors import TemplateError
from fjvoucher.querycode import printed_code
from fjvoucher.roster.cells import CONTROL_CHARACTERS
from fjvoucher.roster.records import Candidate
from fjvoucher.word.bounds import OutputTooLarge, check_rendered, start_voucher
from fjvoucher.word.master import DOCUMENT, DOCUMENT_RELS, PAGE_BREAK_SLOT, PreparedTemplate
from fjvoucher.word.package import PackageWriter
from fjvoucher.word.photos import Photo
from fjvoucher.word.qr import QR_BOX_MM
from fjvoucher.word.safety import refusal

IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
SECTION_BREAK = ('<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="20" w:lineRule="exact"/>'
                 '<w:rPr><w:sz w:val="2"/></w:rPr>{section}</w:pPr></w:p>')
_NS = ('xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
       'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
       'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')


@dataclass(slots=True)
class Voucher:
    """One voucher to write: the context the master is rendered with, the candidate's photo, its QR code."""

    context: dict
    photo: Photo | None = None
    qr: Photo | None = None


@dataclass(frozen=True, slots=True)
class RenderedBody:
    """A voucher's body as UTF-8, split where a batch inserts its page break; `number` names its photo.

    A voucher rendered for position N of a batch names its photo N; alone in a document it keeps
    that name, so one rendering serves both the single document and the batch.
    """

    before_break: bytes
    after_break: bytes
    number: int


def voucher_context(candidate: Candidate, *, center: str = "", voucher_no: str = "",
                    reissue: bool = False, replaces: str = "", verify_code: str = "") -> dict:
    """Return the template contract's values for `candidate`: every field as printed, dates split, NO, centre."""
    context: dict[str, object] = dict(candidate.as_dict())  # strings, and the reissue flag below
    context["center"] = context["center"] or center
    context["voucher_no"] = voucher_no or context["voucher_no"]
    for prefix, day in (("birth", candidate.birth), ("issue", candidate.issue)):
        context[f"{prefix}_year"] = str(day.year) if day else ""
        context[f"{prefix}_month"] = str(day.month) if day else ""
        context[f"{prefix}_day"] = str(day.day) if day else ""
    context.update(photo="", reissue=reissue, replaces=replaces, qr="",
                   verify_code=printed_code(verify_code))
    return context


def photo_markup(photo: Photo, number: int, kind: str = "Photo", box_mm: tuple[float, float] | None = None,
                 first_digit: int = 9) -> Markup:
    """Return the runs that show `photo` (the document's image `number` of `kind`) inline, as docxtpl's
    InlineImage does."""
    cx, cy = photo.extent(box_mm) if box_mm else photo.extent()
    return Markup(
        f'</w:t></w:r><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0" {_NS}>'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        f'<wp:docPr id="{first_digit}{number}" name="{kind} {number}"/><wp:cNvGraphicFramePr>'
        '<a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>'
        f'<pic:nvPicPr><pic:cNvPr id="0" name="photo.{photo.ext}"/><pic:cNvPicPr/></pic:nvPicPr>'
        f'<pic:blipFill><a:blip r:embed="rIdFjv{kind}{number}"/><a:stretch><a:fillRect/></a:stretch>'
        f'</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
        '</wp:inline></w:drawing></w:r><w:r><w:t xml:space="preserve">')


class VoucherRenderer:
    """Render vouchers of one prepared master into DOCX bytes."""

    def __init__(self, template: PreparedTemplate):
        self.template = template
        varying = {DOCUMENT, DOCUMENT_RELS, *template.part_templates}
        self.writer = PackageWriter({k: v for k, v in template.parts.items() if k not in varying})
        self.prefix, self.tail = template.prefix.encode("utf-8"), template.tail.encode("utf-8")
        self.page_break = template.page_break.encode("utf-8")

    def render_body(self, voucher: Voucher, number: int = 1) -> RenderedBody:
        """Return the voucher's body, rendered as position `number` of a batch (1 when alone)."""
        context = {k: CONTROL_CHARACTERS.sub("", v) if isinstance(v, str) else v for k, v in voucher.context.items()}
        if voucher.photo is not None:
            context["photo"] = photo_markup(voucher.photo, number)
        if voucher.qr is not None:
            context["qr"] = photo_markup(voucher.qr, number, "Qr", QR_BOX_MM, first_digit=8)
        before, _, after = self._render(self.template.body, context).partition(PAGE_BREAK_SLOT)
        return RenderedBody(before.encode("utf-8"), after.encode("utf-8"), number)

    def _render(self, compiled, context: dict) -> str:
        """Render like docxtpl's render_xml_part: literal-brace markers and \\n/\\t in values resolved."""
        start_voucher()
        try:
            xml = compiled.render(context)
            check_rendered(xml)
        except OutputTooLarge as exc:
            raise refusal("master-output-too-large", {"master": self.template.path, "what": exc}) from exc
        except Exception as exc:  # sandbox violations, and whatever a filter or test raises on the data
            raise TemplateError(f"凭证母版 {self.template.path} 无法套用：{type(exc).__name__}: {exc}。"
                                "请检查母版中的占位符") from exc
        if self.template.escaped_braces:
            xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        if self.template.resolve_listing and any(isinstance(v, str) and ("\n" in v or "\t" in v)
                                                 for v in context.values()):
            xml = self.template.resolve_listing(xml)
        return xml

    def single(self, voucher: Voucher, body: RenderedBody | None = None) -> bytes:
        """Return a DOCX holding one voucher."""
        body = body or self.render_body(voucher)
        varying = self._parts_for(voucher.context, {body.number: voucher.photo}, {body.number: voucher.qr})
        varying[DOCUMENT] = b"".join((self.prefix, body.before_break, body.after_break, self.tail))
        return self.writer.build(varying)

    def batch(self, vouchers: list[Voucher], bodies: list[RenderedBody] | None = None) -> bytes:
        """Return a DOCX holding `vouchers` one per page, in order, with no blank page at the end.

        `bodies`, when given, are the vouchers' bodies rendered as positions 1, 2, … of this batch.
        """
        bodies = bodies or [self.render_body(v, n) for n, v in enumerate(vouchers, start=1)]
        if [b.number for b in bodies] != list(range(1, len(vouchers) + 1)):
            raise ValueError("batch bodies must be rendered as positions 1, 2, … of the batch")
        sections: dict[str, bytes] = {}
        if self.template.personal_headers:
            document = self._in_sections(vouchers, bodies, sections)
        else:  # the fast path: one section, its header and footer shared by every page
            pieces = [self.prefix]
            for body in bodies:
                pieces += (body.before_break, self.page_break, body.after_break) if body.number > 1 else (
                    body.before_break, body.after_break)
            pieces.append(self.tail)
            document = b"".join(pieces)
        if self.template.has_drawings:
            counter = itertools.count(1)
            document = re.sub(rb'(<wp:docPr\b[^>]*?\bid=")\d+',
                              lambda m: m.group(1) + str(next(counter)).encode(), document)
        photos = {b.number: v.photo for b, v in zip(bodies, vouchers, strict=True)}
        codes = {b.number: v.qr for b, v in zip(bodies, vouchers, strict=True)}
        varying = self._parts_for(vouchers[0].context, photos, codes, sections.pop(DOCUMENT_RELS, b""))
        varying[DOCUMENT] = document
        varying.update(sections)
        return self.writer.build(varying)

    def _in_sections(self, vouchers: list[Voucher], bodies: list[RenderedBody], parts: dict[str, bytes]) -> bytes:
        """Return a batch whose every voucher is a section of its own, with headers and footers rendered from
        its own values, as Word's mail merge does; fill `parts` with those headers, footers and their links.

        Each section starts a new page (a "next page" section break), so the page count stays the number
        of vouchers and the per-candidate PDFs are cut as in the fast path.
        """
        section, references = self._section
        pieces, links = [self.prefix], []
        for body, voucher in zip(bodies, vouchers, strict=True):
            mapping = {}
            for rel_id, (rel_type, target) in references.items():
                stem, kind = target.rsplit(".", 1)[0], "hdrxml" if rel_type.endswith("/header") else "ftrxml"
                name, new_id = f"{stem}_v{body.number}.{kind}", f"rIdFjvS{body.number}x{rel_id}"
                links.append(f'<Relationship Id="{new_id}" Type="{rel_type}" Target="{name}"/>')
                parts[f"word/{name}"] = self._render(self.template.part_templates[f"word/{target}"],
                                                     voucher.context).encode("utf-8")
                mapping[rel_id] = new_id
            own = _renamed_ids(section, mapping)
            pieces += (body.before_break, body.after_break)
            if body.number < len(bodies):  # a 1-point paragraph carries the section break: nothing moves
                pieces.append(SECTION_BREAK.format(section=re.sub(r"<w:type\b[^>]*/>", "", own)).encode("utf-8"))
            else:
                pieces.append(self.tail.replace(section.encode("utf-8"), own.encode("utf-8"), 1))
        parts[DOCUMENT_RELS] = "".join(links).encode("utf-8")
        return b"".join(pieces)

    @functools.cached_property
    def _section(self) -> tuple[str, dict[str, tuple[str, str]]]:
        """Return the master's body-level sectPr and its templated header/footer links: rId → (type, target)."""
        tail = self.template.tail
        found = re.search(r"<w:sectPr\b.*?</w:sectPr>", tail, re.S)
        section = found.group(0) if found else "<w:sectPr/>"
        references = {}
        for tag in re.findall(r"<Relationship\b[^>]*>", self.template.rels):
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
            if attrs.get("Type", "").endswith(("/header", "/footer")) and \
                    f"word/{attrs.get('Target', '')}" in self.template.part_templates:
                references[attrs["Id"]] = (attrs["Type"], attrs["Target"])
        return section, references

    def _parts_for(self, context: dict, photos: dict[int, Photo | None], codes: dict[int, Photo | None],
                   more_links: bytes = b"") -> dict[str, bytes]:
        """Return the relationships with one image per photo and QR code, the image parts, and rendered
        headers/footers."""
        parts: dict[str, bytes] = {}
        rels = []
        for kind, images in (("Photo", photos), ("Qr", codes)):
            for n, image in images.items():
                if image is not None:
                    target = f"media/fjv_{kind.lower()}{n}.{image.ext}"
                    rels.append(f'<Relationship Id="rIdFjv{kind}{n}" Type="{IMAGE_REL}" Target="{target}"/>')
                    parts[f"word/{target}"] = image.data
        parts[DOCUMENT_RELS] = self.template.rels.replace(
            "</Relationships>", "".join(rels) + more_links.decode("utf-8") + "</Relationships>").encode("utf-8")
        for name, compiled in self.template.part_templates.items():
            parts[name] = self._render(compiled, context).encode("utf-8")
        return parts


def _renamed_ids(section: str, mapping: dict[str, str]) -> str:
    """Return `section` with each r:id that `mapping` names replaced by its new id (others kept)."""
    return re.sub(r'r:id="([^"]+)"', lambda m: f'r:id="{mapping.get(m.group(1), m.group(1))}"', section)
