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


PART_NAMES = {"birth_year": "出生年", "birth_month": "出生月", "birth_day": "出生日",
              "issue_year": "发证年", "issue_month": "发证月", "issue_day": "发证日"}


def field_xml(key: str, props: str, simple: bool, parts_by_name: bool = False) -> str:
    if key == "photo":
        return photo_field(props)
    if key in DATE_PARTS and parts_by_name:
        name = PART_NAMES[key]
        instruction = f" MERGEFIELD {name} "
    elif key in DATE_PARTS:
        name, picture = DATE_PARTS[key]
        instruction = f' MERGEFIELD {name} \\@ "{picture}" \\* MERGEFORMAT '
    else:
        name = FIELD_NAMES[key]
        instruction = f" MERGEFIELD {name} \\* MERGEFORMAT "
    if simple:
        return (f'<w:fldSimple w:instr={quoteattr(instruction)}><w:r>{props}<w:t>«{name}»</w:t></w:r>'
                '</w:fldSimple>')
    return complex_field(instruction, f"«{name}»", props)


def placeholder_picture(props: str) -> str:
    """Return an inline picture named 照片 (the other way Word masters mark the photo box)."""
    return ('<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0" xmlns:wp="http://schemas.openxml'
            'formats.org/drawingml/2006/wordprocessingDrawing"><wp:extent cx="882000" cy="1242000"/>'
            '<wp:docPr id="7" name="照片"/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic xmlns:pic="http:'
            '//schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="0" name="照片"/>'
            '<pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="rIdBlank" xmlns:r="http://schemas.openxml'
            'formats.org/officeDocument/2006/relationships"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
            '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="882000" cy="1242000"/></a:xfrm><a:prstGeom prst="rect">'
            '<a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>')


def _blank_png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff")) + chunk(b"IEND", b""))


def word_master(target: Path, *, simple_for: tuple[str, ...] = (), header: str | None = None,
                photo_as: str = "field", parts_by_name: bool = False) -> Path:
    """Write a MERGEFIELD master equal in layout to the bundled one; `simple_for` fields use fldSimple;
    the photo is an INCLUDEPICTURE field (`photo_as="field"`) or a picture named 照片 ("picture")."""
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
            if i % 2 and piece == "photo" and photo_as == "picture":
                out.append(placeholder_picture(props))
            elif i % 2:
                out.append(field_xml(piece, props, piece in simple_for, parts_by_name))
            elif piece:
                out.append(f'<w:r>{props}<w:t xml:space="preserve">{piece}</w:t></w:r>')
        return "".join(out)

    parts["word/document.xml"] = RUN.sub(rewrite, xml).encode("utf-8")
    if photo_as == "picture":
        parts["word/media/blank.png"] = _blank_png()
        parts["word/_rels/document.xml.rels"] = parts["word/_rels/document.xml.rels"].replace(
            b"</Relationships>", b'<Relationship Id="rIdBlank" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/image" Target="media/blank.png"/></Relationships>')
        if b'Extension="png"' not in parts["[Content_Types].xml"]:
            parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
                b"</Types>", b'<Default Extension="png" ContentType="image/png"/></Types>')
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
    parts["word/document.xml"] = re.sub(r"(<w:sectPr\b[^>]*>)",
                                        r'\1<w:headerReference w:type="default" r:id="rIdHdr1"/>',
                                        document, count=1).encode()


def with_data_source(master: Path, data_file: str = "D:\\考务\\名册.xls") -> Path:
    """Give `master` the mail-merge settings Word saves: the link to its data file, the query, the type."""
    with zipfile.ZipFile(master) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    link = "file:///" + data_file.replace("\\", "/")
    merge = ('<w:mailMerge><w:mainDocumentType w:val="formLetters"/><w:linkToQuery/><w:dataType w:val="native"/>'
             f'<w:connectString w:val="Provider=Microsoft.Jet.OLEDB.4.0;Data Source={data_file}"/>'
             '<w:query w:val="SELECT * FROM `合格人员名册$`"/><w:dataSource r:id="rIdMerge"/></w:mailMerge>')
    settings = parts["word/settings.xml"].decode()
    if "xmlns:r=" not in settings.split(">", 2)[1]:
        settings = settings.replace("<w:settings ", '<w:settings xmlns:r="http://schemas.openxmlformats.org/'
                                                  'officeDocument/2006/relationships" ', 1)
    parts["word/settings.xml"] = re.sub(r"(<w:settings\b[^>]*>)", lambda m: m.group(1) + merge, settings,
                                        count=1).encode()
    parts["word/_rels/settings.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats'
        '.org/package/2006/relationships"><Relationship Id="rIdMerge" Type="http://schemas.openxmlformats.org/'
        f'officeDocument/2006/relationships/mailMergeSource" Target="{link}" TargetMode="External"/>'
        '</Relationships>').encode()
    with zipfile.ZipFile(master, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return master
