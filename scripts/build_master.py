"""Build src/fjvoucher/templates/voucher_master.docx, the voucher form of 闽劳社办[2009]127号, with python-docx.

The form is a reviewed change to this code, never an opaque edit of the binary.  The four 备注
paragraphs are copied from the notice (docs/notice-…txt), not retyped.

Run from the repository root: python scripts/build_master.py [OUTPUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt

ROOT = Path(__file__).resolve().parent.parent
NOTICE = ROOT / "docs" / "notice-min-lao-she-ban-2009-127.txt"
OUTPUT = ROOT / "src" / "fjvoucher" / "templates" / "voucher_master.docx"
FONT = "SimSun"  # 宋体; LibreOffice maps it to a Simplified-Chinese face where SimSun is not installed
BODY_PT, REMARK_PT = 12, 10.5  # 小四 for the data, 五号 for the 备注
PHOTO_W, PHOTO_H = Mm(25), Mm(35)  # one-inch photo: the steel seal goes on its corner
KEEP_STYLES = {"Normal", "Table Normal", "Default Paragraph Font", "No List"}


def remarks(notice: Path = NOTICE) -> list[str]:
    """Return the four 备注 paragraphs of the voucher form, word for word from the notice."""
    text = notice.read_text(encoding="utf-8")
    block = text[text.index("备注："):text.index("关于启用福建省职业技能鉴定成绩", text.index("备注："))]
    items = [line.strip() for line in block.removeprefix("备注：").splitlines() if line.strip()]
    if [item[:2] for item in items] != ["1.", "2.", "3.", "4."]:
        raise SystemExit(f"cannot find the four 备注 paragraphs in {notice}")
    return items


def build(output: Path = OUTPUT) -> Path:
    """Write the voucher master to `output` and return the path."""
    doc = Document()
    _slim(doc)
    _page(doc)
    _defaults(doc)
    _paragraph(doc, "福建省职业技能鉴定成绩合格凭证", size=22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER,
               after=Pt(10))
    _paragraph(doc, "NO：{{ voucher_no }}", align=WD_ALIGN_PARAGRAPH.RIGHT, after=Pt(14))
    _photo_table(doc)
    _paragraph(doc, "", after=Pt(6))
    _details_table(doc)
    _paragraph(doc, "", after=Pt(14))
    _remarks(doc)
    output.parent.mkdir(parents=True, exist_ok=True)
    doc.core_properties.title = "福建省职业技能鉴定成绩合格凭证"
    doc.core_properties.author = "fjvoucher"
    doc.save(output)
    return output


def _slim(doc) -> None:
    """Drop what python-docx's default template carries and a voucher never uses (≈ 800 KB of styles)."""
    for rel_id, rel in list(doc.part.rels.items()):
        if rel.reltype.rsplit("/", 1)[-1] in {"stylesWithEffects", "customXml", "numbering", "webSettings"}:
            del doc.part.rels[rel_id]
    package_rels = doc.part.package.rels
    for rel_id, rel in list(package_rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            del package_rels[rel_id]
    styles = doc.styles.element
    for child in list(styles):
        if child.tag == qn("w:latentStyles"):
            styles.remove(child)
        elif child.tag == qn("w:style") and child.find(qn("w:name")).get(qn("w:val")) not in KEEP_STYLES:
            styles.remove(child)


def _page(doc) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(25), Mm(20)
    section.left_margin = section.right_margin = Mm(25)


def _defaults(doc) -> None:
    """Set 宋体 for Latin and East-Asian text and zh-CN as the East-Asian language of every run."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        doc.styles.element.remove(defaults)
    doc.styles.element.insert(0, parse_xml(
        f'<w:docDefaults {nsdecls("w")}><w:rPrDefault><w:rPr>'
        f'<w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}" w:hint="eastAsia"/>'
        f'<w:sz w:val="{BODY_PT * 2}"/><w:szCs w:val="{BODY_PT * 2}"/>'
        '<w:lang w:val="zh-CN" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
        '<w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr></w:pPrDefault>'
        '</w:docDefaults>'))
    settings = doc.settings.element
    settings.append(parse_xml(f'<w:themeFontLang {nsdecls("w")} w:val="zh-CN" w:eastAsia="zh-CN"/>'))


def _paragraph(doc_or_cell, text: str, *, size: float | None = None, bold: bool = False, align=None,
               after=None, paragraph=None):
    """Add (or fill) a paragraph with one run of `text`, so every {{ placeholder }} stays in one run."""
    p = paragraph if paragraph is not None else doc_or_cell.add_paragraph()
    if align is not None:
        p.alignment = align
    if after is not None:
        p.paragraph_format.space_after = after
    if text:
        run = p.add_run(text)
        run.bold = bold or None
        if size:
            run.font.size = Pt(size)
    return p


def _borders(cell, **sides: str) -> None:
    """Draw the given sides of `cell` (top/left/bottom/right) as thin single lines."""
    xml = "".join(f'<w:{side} w:val="{style}" w:sz="6" w:space="0" w:color="000000"/>'
                  for side, style in sides.items())
    cell._tc.get_or_add_tcPr().append(parse_xml(f'<w:tcBorders {nsdecls("w")}>{xml}</w:tcBorders>'))


def _no_cell_margins(cell) -> None:
    margins = "".join(f'<w:{s} w:w="0" w:type="dxa"/>' for s in ("top", "left", "bottom", "right"))
    cell._tc.get_or_add_tcPr().append(parse_xml(f'<w:tcMar {nsdecls("w")}>{margins}</w:tcMar>'))


def _table(doc, rows: int, widths: list) -> object:
    table = doc.add_table(rows=rows, cols=len(widths))
    table.autofit = False
    table.alignment = 0
    layout = parse_xml(f'<w:tblLayout {nsdecls("w")} w:type="fixed"/>')
    table._tbl.tblPr.append(layout)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    for col, width in zip(table.columns, widths, strict=True):
        col.width = width
    return table


def _photo_table(doc) -> None:
    """Lay out the photo box beside 职业, 等级 and the two scores, as the form draws them."""
    labels = (("职业", "occupation"), ("等级", "level"), ("理论知识考核成绩", "theory_score"),
              ("操作技能考核成绩", "skill_score"))
    table = _table(doc, len(labels), [PHOTO_W, Mm(8), Mm(42), Mm(85)])
    for row in table.rows:
        row.height, row.height_rule = Mm(35 / len(labels)), WD_ROW_HEIGHT_RULE.EXACTLY
    for i in range(len(labels)):  # a vertical merge keeps each cell's borders: draw them on all
        _borders(table.cell(i, 0), top="single", left="single", bottom="single", right="single")
        _no_cell_margins(table.cell(i, 0))
    photo = table.cell(0, 0).merge(table.cell(len(labels) - 1, 0))
    photo.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    _paragraph(photo, "{{ photo }}", align=WD_ALIGN_PARAGRAPH.CENTER, paragraph=photo.paragraphs[0])
    for i, (label, key) in enumerate(labels):
        _label_and_value(table.cell(i, 2), table.cell(i, 3), label, f"{{{{ {key} }}}}")


def _label_and_value(label_cell, value_cell, label: str, value: str, value_align=None) -> None:
    for cell in (label_cell, value_cell):
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    _paragraph(label_cell, label, paragraph=label_cell.paragraphs[0])
    _paragraph(value_cell, value, paragraph=value_cell.paragraphs[0], align=value_align)
    _borders(value_cell, bottom="single")


def _details_table(doc) -> None:
    """Lay out 评定成绩 … 身份证号 on the left and the centre's seal line and date on the right."""
    table = _table(doc, 7, [Mm(25), Mm(55), Mm(15), Mm(65)])
    for row in table.rows:
        row.height, row.height_rule = Mm(10), WD_ROW_HEIGHT_RULE.AT_LEAST
    rows = table.rows
    _label_and_value(rows[0].cells[0], rows[0].cells[1], "评定成绩", "{{ result }}")
    _label_and_value(rows[1].cells[0], rows[1].cells[1], "姓名", "{{ name }}")
    _label_and_value(rows[1].cells[2], rows[1].cells[3], "性别", "{{ sex }}")
    _label_and_value(rows[2].cells[0], rows[2].cells[1], "出生日期",
                     "{{ birth_year }}年{{ birth_month }}月{{ birth_day }}日")
    _label_and_value(rows[3].cells[0], rows[3].cells[1], "文化程度", "{{ education }}")
    _label_and_value(rows[4].cells[0], rows[4].cells[1], "发证日期", "{{ issue_date }}")
    _label_and_value(rows[5].cells[0], rows[5].cells[1], "证书编号", "{{ certificate_no }}")
    _label_and_value(rows[6].cells[0], rows[6].cells[1], "身份证号", "{{ id_number }}")
    seal = rows[4].cells[2].merge(rows[4].cells[3])
    seal.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    _paragraph(seal, "{{ center }}（印）", align=WD_ALIGN_PARAGRAPH.RIGHT, paragraph=seal.paragraphs[0])
    date = rows[5].cells[2].merge(rows[5].cells[3])
    date.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    _paragraph(date, "{{ issue_year }}年{{ issue_month }}月{{ issue_day }}日", align=WD_ALIGN_PARAGRAPH.RIGHT,
               paragraph=date.paragraphs[0])


def _remarks(doc) -> None:
    """Add the four 备注 paragraphs, aligned under one another after 「备注：」."""
    indent = Pt(REMARK_PT * 3)
    for i, item in enumerate(remarks()):
        p = _paragraph(doc, ("备注：" if i == 0 else "") + item, size=REMARK_PT, after=Pt(3))
        p.paragraph_format.left_indent = indent
        if i == 0:
            p.paragraph_format.first_line_indent = -indent
        p.paragraph_format.line_spacing = 1.15
    # A 补发 (reissue) note, printed only on a replacement voucher (see the ledger).
    note = _paragraph(doc, "{% if reissue %}补发（原凭证 {{ replaces }} 作废）{% endif %}", size=REMARK_PT)
    note.paragraph_format.left_indent = indent
    _verification(doc)


def _verification(doc) -> None:
    """Add the verification code and QR link, printed only when the centre set a verification address.

    An addition to the province's format (to be agreed with it): it comes after everything the form
    prints, so no element of the form moves; without an address the paragraphs vanish whole.
    """
    _paragraph(doc, "{%p if qr %}")
    code = _paragraph(doc, "真伪查询码 {{ verify_code }}　{{ qr }}", size=REMARK_PT, align=WD_ALIGN_PARAGRAPH.RIGHT)
    code.paragraph_format.space_before = Pt(4)
    _paragraph(doc, "{%p endif %}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    print(f"wrote {build(target)}")
