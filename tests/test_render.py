"""The renderer against docxtpl itself, and what it must never do (break XML, run code, lose photos)."""

import io
import re
import zipfile

import docx
import pytest
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from fjvoucher.errors import TemplateError
from fjvoucher.roster.checks import check_roster
from fjvoucher.word.master import CONTRACT, default_master, prepare_template
from fjvoucher.word.photos import load_photo
from fjvoucher.word.render import Voucher, VoucherRenderer, voucher_context
from support import SAMPLES, TODAY, texts
from support.synthetic import make_photo


@pytest.fixture(scope="module")
def candidates():
    return check_roster(SAMPLES / "roster.xlsx", today=TODAY, keep=True).candidates


@pytest.fixture(scope="module")
def renderer():
    return VoucherRenderer(prepare_template())


def tricky(context: dict) -> dict:
    context = dict(context)
    context.update(name="A&B <林> \"引\" '号'", occupation="车工\n（数控）", education="高中\t毕业")
    return context


@pytest.mark.parametrize("index", [0, 1, 2])
@pytest.mark.parametrize("with_tricky_values", [False, True])
def test_text_equals_plain_docxtpl_field_by_field(candidates, renderer, index, with_tricky_values):
    context = voucher_context(candidates[index], voucher_no="3501-2009-000001")
    if with_tricky_values:
        context = tricky(context)
    plain = DocxTemplate(str(default_master()))
    plain.render(context, autoescape=True)
    buffer = io.BytesIO()
    plain.save(buffer)
    ours = docx.Document(io.BytesIO(renderer.single(Voucher(context))))
    theirs = docx.Document(io.BytesIO(buffer.getvalue()))
    assert texts(ours) == texts(theirs)
    for key in ("name", "id_number", "certificate_no", "occupation", "center"):
        assert any(context[key].replace("\n", "") in t.replace("\n", "") for t in texts(ours)), key


def test_line_breaks_in_values_become_word_line_breaks(candidates, renderer):
    context = tricky(voucher_context(candidates[0]))
    xml = zipfile.ZipFile(io.BytesIO(renderer.single(Voucher(context)))).read("word/document.xml").decode()
    assert "车工</w:t><w:br/><w:t xml:space=\"preserve\">（数控）" in xml


def test_xml_special_and_control_characters_never_corrupt_the_document(candidates, renderer):
    context = voucher_context(candidates[0])
    context["name"] = "张\x0b三\x00&<>"
    document = docx.Document(io.BytesIO(renderer.single(Voucher(context))))
    assert any(t == "张三&<>" for t in texts(document))


def test_photo_keeps_its_aspect_ratio_and_is_packaged(tmp_path, candidates, renderer):
    square = load_photo(make_photo(tmp_path / "sq.png", seed=1, size=(300, 300)))
    package = zipfile.ZipFile(io.BytesIO(renderer.single(Voucher(voucher_context(candidates[0]), square))))
    xml = package.read("word/document.xml").decode()
    cx, cy = map(int, re.search(r'<wp:extent cx="(\d+)" cy="(\d+)"', xml).groups())
    assert cx == cy == round(24.5 * 36000)
    assert package.read("word/media/fjv_photo1.png") == square.data
    assert 'Target="media/fjv_photo1.png"' in package.read("word/_rels/document.xml.rels").decode()
    assert len(docx.Document(io.BytesIO(package.fp.getvalue())).inline_shapes) == 1


def test_batch_puts_one_voucher_per_page_in_order_without_a_trailing_break(tmp_path, candidates, renderer):
    photo = load_photo(make_photo(tmp_path / "p.jpg", seed=2))
    vouchers = [Voucher(voucher_context(c), photo) for c in candidates[:4]]
    package = zipfile.ZipFile(io.BytesIO(renderer.batch(vouchers)))
    xml = package.read("word/document.xml").decode()
    assert xml.count("<w:pageBreakBefore/>") == 3
    assert 'w:type="page"' not in xml
    body = xml[xml.index("<w:body>"):]
    positions = [body.index(c["certificate_no"]) for c in candidates[:4]]
    assert positions == sorted(positions)
    ids = re.findall(r'<wp:docPr id="(\d+)"', xml)
    assert len(ids) == len(set(ids)) == 4
    assert len([n for n in package.namelist() if n.startswith("word/media/")]) == 4
    assert len(docx.Document(io.BytesIO(package.fp.getvalue())).inline_shapes) == 4


def _template_with(tmp_path, runs: list[str], header: str | None = None):
    document = docx.Document()
    paragraph = document.add_paragraph()
    for text in runs:
        paragraph.add_run(text)
    if header is not None:
        document.sections[0].header.paragraphs[0].text = header
    path = tmp_path / "custom.docx"
    document.save(path)
    return path


def test_placeholders_split_over_runs_as_word_writes_them(tmp_path, candidates):
    path = _template_with(tmp_path, ["姓名：{{ na", "me }}，证书 {{certificate", "_no}}"])
    out = VoucherRenderer(prepare_template(path)).single(Voucher(voucher_context(candidates[0])))
    assert docx.Document(io.BytesIO(out)).paragraphs[0].text == \
        f"姓名：{candidates[0]['name']}，证书 {candidates[0]['certificate_no']}"


def test_headers_are_rendered(tmp_path, candidates):
    path = _template_with(tmp_path, ["{{ name }}"], header="{{ center }} 发证")
    out = VoucherRenderer(prepare_template(path)).single(Voucher(voucher_context(candidates[0])))
    header = docx.Document(io.BytesIO(out)).sections[0].header.paragraphs[0].text
    assert header == f"{candidates[0]['center']} 发证"


def test_personal_fields_in_headers_give_each_voucher_a_section_of_its_own(tmp_path, candidates):
    template = prepare_template(_template_with(tmp_path, ["{{ voucher_no }}"], header="{{ name }} {{ voucher_no }}"))
    assert template.personal_headers
    vouchers = [Voucher(voucher_context(c, voucher_no=f"NO-{i}")) for i, c in enumerate(candidates[:3], start=1)]
    document = docx.Document(io.BytesIO(VoucherRenderer(template).batch(vouchers)))
    assert len(document.sections) == 3
    headers = [s.header.paragraphs[0].text for s in document.sections]
    assert headers == [f"{c['name']} NO-{i}" for i, c in enumerate(candidates[:3], start=1)]


def test_shared_headers_keep_the_fast_path_of_one_section(tmp_path, candidates):
    template = prepare_template(_template_with(tmp_path, ["{{ voucher_no }}"], header="{{ center }}"))
    assert not template.personal_headers
    vouchers = [Voucher(voucher_context(c)) for c in candidates[:3]]
    assert len(docx.Document(io.BytesIO(VoucherRenderer(template).batch(vouchers))).sections) == 1


def test_placeholder_outside_the_contract_is_a_clear_error(tmp_path):
    with pytest.raises(TemplateError, match="未定义的占位符：phone、姓名.*可用的名称：voucher_no"):
        prepare_template(_template_with(tmp_path, ["{{ 姓名 }} {{ phone }}"]))


@pytest.mark.parametrize("source", ["{{ ''.__class__.__mro__[1].__subclasses__() }}",
                                    "{% include '/etc/passwd' %}"])
def test_templates_cannot_run_code_or_read_files(tmp_path, candidates, source):
    with pytest.raises(TemplateError):
        template = prepare_template(_template_with(tmp_path, [source]))
        VoucherRenderer(template).single(Voucher(voucher_context(candidates[0])))


def test_not_a_docx_is_a_template_error(tmp_path):
    (tmp_path / "x.docx").write_text("hello")
    with pytest.raises(TemplateError, match="无法打开"):
        prepare_template(tmp_path / "x.docx")


def test_the_master_uses_only_contract_names_and_all_printed_fields():
    template = prepare_template()
    assert template.names <= set(CONTRACT)
    printed = set(CONTRACT) - {"exam_no", "birth_date", "reissue", "replaces"}
    assert printed <= template.names  # birth_date prints as birth_year/month/day


def test_docxtpl_inline_image_and_ours_both_show_one_picture(tmp_path, candidates, renderer):
    photo_path = make_photo(tmp_path / "p.jpg", seed=3)
    plain = DocxTemplate(str(default_master()))
    context = voucher_context(candidates[0])
    plain.render({**context, "photo": InlineImage(plain, str(photo_path), width=Mm(24.5))}, autoescape=True)
    plain.save(tmp_path / "plain.docx")
    ours = docx.Document(io.BytesIO(renderer.single(Voucher(context, load_photo(photo_path)))))
    assert len(ours.inline_shapes) == len(docx.Document(tmp_path / "plain.docx").inline_shapes) == 1
