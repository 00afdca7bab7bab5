"""Write Word mail-merge masters the way Word writes them, from the bundled docxtpl master."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

from fjvoucher.word.master import default_master

# The province's master names its fields with the roster's headers, some with the variants exports use.
FIELD_NAMES = {
    "voucher_no": "凭证编号", "occupation": "职业（工种）", "level": "等级", "theory_score": "理论成绩",
    "skill_score": "操作技能考核成绩", "result": "评定成绩", "name": "姓名", "sex": "性别", "education": "文化程度",
    "issue_date": "发证日期", "certificate_no": "证书编号", "id_number": "身份证号码", "center": "鉴定指导中心",
}
DATE_PARTS = {  # a year, month or day printed through a date picture on the whole date
    "birth_year": ("出生日期", "yyyy"), "birth_month": ("出生日期", "M"), "birth_day": ("出生日期", "d"),
    "issue_year": ("发证日期", "yyyy"), "issue_month": ("发证日期", "M"), "issue_day": ("发证日期", "d"),
}
RUN = re.compile(r"<w:r>(<w:rPr/>|<w:rPr>(?:(?!</w:rPr>).)*</w:rPr>)?<w:t(?: [^>]*)?>([^<]*)</w:t></w:r>", re.S)


def complex_field(instruction: str, shown: str, props: str) -> str:
    """Return a complex field as Word writes it: instruction split over several runs."""
    head, tail = instruction[: len(instruction) // 2], instruction[len(instruction) // 2:]
    return (f'<w:r>{props}<w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r>{props}<w:instrText xml:space="preserve">{head}</w:instrText></w:r>'
            f'<w:r>{props}<w:instrText xml:space="preserve">{tail}</w:instrText></w:r>'
            f'<w:r>{props}<w:fldChar w:fldCharType="separate"/></w:r>'
            f'<w:r>{props}<w:t>{shown}</w:t></w:r>'
            f'<w:r>{props}<w:fldChar w:fldCharType="end"/></w:r>')


def photo_field(props: str) -> str:
    """Return INCLUDEPICTURE with a nested MERGEFIELD naming the photo file, as mail-merge guides teach."""
    return (f'<w:r>{props}<w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r>{props}<w:instrText xml:space="preserve"> INCLUDEPICTURE "D:\\\\照片\\\\</w:instrText></w:r>'
            + complex_field(" MERGEFIELD 身份证号 ", "«身份证号»", props) +
            f'<w:r>{props}<w:instrText xml:space="preserve">.jpg" \\d </w:instrText></w:r>'
            f'<w:r>{props}<w:fldChar w:fldCharType="separate"/></w:r>'
            f'<w:r>{props}<w:fldChar w:fldCharType="end"/></w:r>')


def field_xml(key: str, props: str, simple: bool) -> str:
    if key == "photo":
        return photo_field(props)
    if key in DATE_PARTS:
        name, picture = DATE_PARTS[key]
        instruction = f' MERGEFIELD {name} \\@ "{picture}" \\* MERGEFORMAT '
    else:
        name = FIELD_NAMES[key]
        instruction = f" MERGEFIELD {name} \\* MERGEFORMAT "
    if simple:
        return (f'<w:fldSimple w:instr={quoteattr(instruction)}><w:r>{props}<w:t>«{name}»</w:t></w:r>'
                '</w:fldSimple>')
    return complex_field(instruction, f"«{name}»", props)


def word_master(target: Path, *, simple_for: tuple[str, ...] = (), header: str | None = None) -> Path:
    """Write a MERGEFIELD master equal in layout to the bundled one; `simple_for` fields use fldSimple."""
    with zipfile.ZipFile(default_master()) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    xml = parts["word/document.xml"].decode("utf-8")
    xml = re.sub(r"\{% if reissue %\}.*?\{% endif %\}", "", xml)  # Word masters have no reissue note
    # ... nor the optional verification paragraphs: {%p if qr %} … {%p endif %}, three paragraphs.
    xml = re.sub(r"<w:p>(?:(?!<w:p>).)*?\{%p if qr %\}.*?\{%p endif %\}.*?</w:p>", "", xml, flags=re.S)

    def rewrite(match: re.Match) -> str:
        props, text = match.group(1) or "", match.group(2)
        pieces = re.split(r"\{\{ (\w+) \}\}", text)
        if len(pieces) == 1:
            return match.group(0)
        out = []
        for i, piece in enumerate(pieces):
            if i % 2:
                out.append(field_xml(piece, props, piece in simple_for))
            elif piece:
                out.append(f'<w:r>{props}<w:t xml:space="preserve">{piece}</w:t></w:r>')
        return "".join(out)

    parts["word/document.xml"] = RUN.sub(rewrite, xml).encode("utf-8")
    if header is not None:
        _add_header(parts, header)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return target


def _add_header(parts: dict[str, bytes], paragraph_xml: str) -> None:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts["word/header1.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                                 f'<w:hdr xmlns:w="{w}" xmlns:r="{r}"><w:p>{paragraph_xml}</w:p></w:hdr>').encode()
    rels = parts["word/_rels/document.xml.rels"].decode()
    parts["word/_rels/document.xml.rels"] = rels.replace("</Relationships>", (
        '<Relationship Id="rIdHdr1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header"'
        ' Target="header1.xml"/></Relationships>')).encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace("</Types>", (
        '<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'wordprocessingml.header+xml"/></Types>')).encode()
    document = parts["word/document.xml"].decode()
    parts["word/document.xml"] = re.sub(r"(<w:sectPr\b[^>]*>)", r'\1<w:headerReference w:type="default" r:id="rIdHdr1"/>',
                                        document, count=1).encode()
