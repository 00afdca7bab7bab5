"""Word mail-merge masters (MERGEFIELD): merged to the same text the docxtpl master gives."""

import io
import zipfile
from pathlib import Path

import docx
import pytest

from fjvoucher.errors import TemplateError
from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.roster.checks import check_roster
from fjvoucher.word.master import inspect_template, prepare_template
from fjvoucher.word.mergefields import FieldSpec, apply_spec
from fjvoucher.word.photos import load_photo
from fjvoucher.word.render import Voucher, VoucherRenderer, voucher_context
from support import SAMPLES, TODAY, run, texts
from support.synthetic import make_photo
from support.word_master import complex_field, word_master


@pytest.fixture(scope="module")
def candidates():
    return check_roster(SAMPLES / "roster.xlsx", today=TODAY, keep=True).candidates


@pytest.mark.parametrize("simple_for", [(), ("name", "result", "certificate_no", "issue_day")])
def test_word_master_gives_the_same_text_as_the_docxtpl_master(tmp_path, candidates, simple_for):
    master = word_master(tmp_path / "母版.docx", simple_for=simple_for)
    ours, theirs = VoucherRenderer(prepare_template()), VoucherRenderer(prepare_template(master))
    photo = load_photo(make_photo(tmp_path / "p.jpg", seed=1))
    for candidate in candidates[:5]:
        voucher = Voucher(voucher_context(candidate, voucher_no="3501-2009-000007"), photo)
        expected = docx.Document(io.BytesIO(ours.single(voucher)))
        merged = docx.Document(io.BytesIO(theirs.single(voucher)))
        assert texts(merged) == texts(expected)
        assert len(merged.inline_shapes) == 1  # INCLUDEPICTURE became the candidate's photo


def test_no_field_code_or_placeholder_survives(tmp_path, candidates):
    master = word_master(tmp_path / "母版.docx", simple_for=("sex",))
    xml = zipfile.ZipFile(io.BytesIO(VoucherRenderer(prepare_template(master)).single(
        Voucher(voucher_context(candidates[0]))))).read("word/document.xml").decode()
    for leftover in ("MERGEFIELD", "INCLUDEPICTURE", "fldChar", "fldSimple", "«", "{{"):
        assert leftover not in xml


def test_field_results_keep_their_formatting(tmp_path, candidates):
    master = word_master(tmp_path / "m.docx")
    source = zipfile.ZipFile(master).read("word/document.xml").decode()
    bold = '<w:rPr><w:b/><w:color w:val="C00000"/></w:rPr>'
    source = source.replace(complex_field(" MERGEFIELD 姓名 \\* MERGEFORMAT ", "«姓名»", "<w:rPr/>"),
                            complex_field(" MERGEFIELD 姓名 \\* MERGEFORMAT ", "«姓名»", bold))
    assert bold in source
    _rewrite(master, "word/document.xml", source)
    document = docx.Document(io.BytesIO(VoucherRenderer(prepare_template(master)).single(
        Voucher(voucher_context(candidates[0])))))
    run = next(r for t in document.tables for row in t.rows for c in row.cells for p in c.paragraphs
               for r in p.runs if r.text == candidates[0]["name"])
    assert run.bold and str(run.font.color.rgb) == "C00000"


def test_fields_in_headers_and_text_boxes(tmp_path, candidates):
    header = complex_field(" MERGEFIELD 鉴定指导中心 ", "«鉴定指导中心»", "<w:rPr/>")
    master = word_master(tmp_path / "m.docx", header=header)
    source = zipfile.ZipFile(master).read("word/document.xml").decode()
    box = ('<w:p><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml" style="width:100pt;height:20pt">'
           '<v:textbox><w:txbxContent><w:p>' + complex_field(" MERGEFIELD 准考证号 ", "«准考证号»", "<w:rPr/>")
           + '</w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>')
    _rewrite(master, "word/document.xml", source.replace("<w:body>", "<w:body>" + box, 1))
    out = VoucherRenderer(prepare_template(master)).single(Voucher(voucher_context(candidates[0])))
    assert docx.Document(io.BytesIO(out)).sections[0].header.paragraphs[0].text == candidates[0]["center"]
    assert f"<w:t xml:space=\"preserve\">{candidates[0]['exam_no']}</w:t>" in \
        zipfile.ZipFile(io.BytesIO(out)).read("word/document.xml").decode()


@pytest.mark.parametrize("spec, value, expected", [
    (FieldSpec("发证日期", "issue_date", date_picture="yyyy年MM月dd日"), "2009年6月10日", "2009年06月10日"),
    (FieldSpec("发证日期", "issue_date", date_picture="yyyy"), "2009年6月10日", "2009"),
    (FieldSpec("发证日期", "issue_date", date_picture="yy.M.d"), "2009年6月10日", "09.6.10"),
    (FieldSpec("凭证编号", "voucher_no", case="UPPER"), "fz-2009-1", "FZ-2009-1"),
    (FieldSpec("凭证编号", "voucher_no", case="LOWER"), "FZ", "fz"),
    (FieldSpec("等级", "level", before="（", after="）"), "初级", "（初级）"),
    (FieldSpec("等级", "level", before="（", after="）"), "", ""),
    (FieldSpec("理论成绩", "theory_score", number_picture="0.0"), "85", "85.0"),
    (FieldSpec("理论成绩", "theory_score", number_picture="0"), "84.5", "85"),
])
def test_switches_format_the_data_as_word_does(spec, value, expected):
    assert apply_spec(value, spec) == expected


def _master_with_field(tmp_path, instruction: str):
    document = docx.Document()
    document.add_paragraph()
    path = tmp_path / "one.docx"
    document.save(path)
    source = zipfile.ZipFile(path).read("word/document.xml").decode()
    source = source.replace("<w:p/>", "<w:p>" + complex_field(instruction, "«x»", "<w:rPr/>") + "</w:p>", 1)
    _rewrite(path, "word/document.xml", source)
    return path


def test_number_pictures_never_touch_ids_and_unsupported_switches_are_named(tmp_path, candidates):
    master = _master_with_field(tmp_path, ' MERGEFIELD 身份证号 \\# "0.0" \\m ')
    info = inspect_template(master)
    assert not info.problems and len(info.warnings) == 2
    assert "数字格式" in info.warnings[0] and "\\m" in info.warnings[1]
    out = VoucherRenderer(prepare_template(master)).single(Voucher(voucher_context(candidates[0])))
    assert docx.Document(io.BytesIO(out)).paragraphs[0].text == candidates[0]["id_number"]


def test_a_field_that_maps_to_nothing_is_a_clear_error(tmp_path):
    master = _master_with_field(tmp_path, " MERGEFIELD 联系电话 ")
    with pytest.raises(TemplateError, match="«联系电话» 对应不到名册的任何一列。可用的名称：凭证编号、姓名"):
        prepare_template(master)
    result = run("template", "check", str(master))
    assert result.exit_code == 1 and "«联系电话» → 对应不到任何列" in result.output


def test_a_picture_named_photo_is_replaced_by_the_candidates_photo(tmp_path, candidates):
    placeholder = make_photo(tmp_path / "placeholder.png", seed=9, size=(100, 140))
    document = docx.Document()
    document.add_paragraph().add_run().add_picture(str(placeholder))
    document.inline_shapes[0]._inline.docPr.set("name", "照片")
    document.save(tmp_path / "m.docx")
    photo = load_photo(make_photo(tmp_path / "p.jpg", seed=4))
    out = VoucherRenderer(prepare_template(tmp_path / "m.docx")).single(
        Voucher(voucher_context(candidates[0]), photo))
    package = zipfile.ZipFile(io.BytesIO(out))
    assert package.read("word/media/fjv_photo1.jpeg") == photo.data
    assert len(docx.Document(io.BytesIO(out)).inline_shapes) == 1


def test_template_check_lists_fields_and_merge_uses_the_word_master(tmp_path):
    master = word_master(tmp_path / "母版.docx")
    result = run("template", "check", str(master))
    assert result.exit_code == 0
    assert "Word 邮件合并母版" in result.output and "«理论成绩» → theory_score（理论知识考核成绩）" in result.output
    assert "«INCLUDEPICTURE» → photo" in result.output
    merged = merge_roster(SAMPLES / "roster.xlsx", tmp_path / "out",
                          MergeOptions(template=master, photos=SAMPLES / "photos", format="docx", today=TODAY))
    assert merged.merged == 50
    assert len(docx.Document(tmp_path / "out" / "batches" / "batch-001.docx").inline_shapes) == 50


def _rewrite(package: Path, name: str, text: str) -> None:
    with zipfile.ZipFile(package) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    parts[name] = text.encode("utf-8")
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as out:
        for part, data in parts.items():
            out.writestr(part, data)


def test_a_master_whose_xml_is_broken_is_a_clear_error(tmp_path):
    master = _master_with_field(tmp_path, " MERGEFIELD 姓名 ")
    source = zipfile.ZipFile(master).read("word/document.xml").decode()
    _rewrite(master, "word/document.xml", source.replace("<w:body>", '<w:body><w:p w:x="1" w:x="2"/>', 1))
    with pytest.raises(TemplateError, match="不是完整的 XML"):
        prepare_template(master)


@pytest.mark.parametrize("picture, expected", [("yyyy年MM月dd日", "2009年06月10日"), ("yyyy年M月d日", "2009年6月10日"),
                                              ("yy/M", "09/6")])
def test_date_pictures_through_a_whole_master(tmp_path, candidates, picture, expected):
    master = _master_with_field(tmp_path, f' MERGEFIELD 发证日期 \\@ "{picture}" ')
    out = VoucherRenderer(prepare_template(master)).single(Voucher(voucher_context(candidates[0])))
    assert docx.Document(io.BytesIO(out)).paragraphs[0].text == expected


def test_a_field_wrapped_around_a_paragraph_mark_is_converted(tmp_path, candidates):
    master = _master_with_field(tmp_path, " MERGEFIELD 姓名 ")
    source = zipfile.ZipFile(master).read("word/document.xml").decode()
    source = source.replace('<w:r><w:rPr/><w:fldChar w:fldCharType="separate"/></w:r>',
                            '</w:p><w:p><w:r><w:rPr/><w:fldChar w:fldCharType="separate"/></w:r>', 1)
    _rewrite(master, "word/document.xml", source)
    assert inspect_template(master).warnings == []
    out = VoucherRenderer(prepare_template(master)).single(Voucher(voucher_context(candidates[0])))
    assert docx.Document(io.BytesIO(out)).paragraphs[0].text == candidates[0]["name"]


def test_a_field_without_its_end_is_named_in_a_warning(tmp_path):
    master = _master_with_field(tmp_path, " MERGEFIELD 姓名 ")
    source = zipfile.ZipFile(master).read("word/document.xml").decode()
    source = source.replace('<w:fldChar w:fldCharType="end"/>', "", 1)
    _rewrite(master, "word/document.xml", source)
    assert any("没有结束标记" in w and "姓名" in w for w in inspect_template(master).warnings)


def test_the_masters_data_source_is_shown_and_never_kept_in_an_output(tmp_path, candidates):
    from support.word_master import with_data_source

    master = with_data_source(word_master(tmp_path / "母版.docx"))
    checked = run("template", "check", master)
    assert checked.exit_code == 0, checked.output
    assert "D:/考务/名册.xls" in checked.output and "SELECT * FROM `合格人员名册$`" in checked.output
    out = VoucherRenderer(prepare_template(master)).single(Voucher(voucher_context(candidates[0])))
    with zipfile.ZipFile(io.BytesIO(out)) as package:
        assert b"mailMerge" not in package.read("word/settings.xml")
        assert b"TargetMode=\"External\"" not in package.read("word/_rels/settings.xml.rels")
