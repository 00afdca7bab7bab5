"""The province's master as it was really published: Word 97–2003 .doc and .dot, converted once by LibreOffice."""

import subprocess

import docx
import pytest

from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.pdf.libreoffice import find_soffice
from fjvoucher.pdf.masters import docx_master
from support import SAMPLES, TODAY, run, texts
from support.word_master import with_data_source, word_master

pytestmark = [pytest.mark.slow, pytest.mark.skipif(find_soffice() is None, reason="needs LibreOffice")]


def saved_as(source, target_suffix: str, folder):
    """Return `source` saved by LibreOffice in another Word format (.doc, .dot), as Word users keep masters."""
    filters = {".doc": "doc:MS Word 97", ".dot": "dot:MS Word 97 Vorlage"}
    subprocess.run([str(find_soffice()), f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
                    "--convert-to", filters[target_suffix], "--outdir", str(folder), str(source)],
                   capture_output=True, timeout=120, check=True)
    return folder / f"{source.stem}{target_suffix}"


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    folder = tmp_path_factory.mktemp("masters")
    # LibreOffice's own .doc keeps no INCLUDEPICTURE and no \\@ date picture (Word's .doc keeps both):
    # the photo is a picture named 照片 and the date parts are named fields (出生年 …), as masters may have them.
    original = with_data_source(word_master(folder / "母版.docx", photo_as="picture", parts_by_name=True))
    return original, saved_as(original, ".doc", folder), saved_as(original, ".dot", folder)


def first_voucher_text(outdir):
    return texts(docx.Document(sorted((outdir / "vouchers").iterdir())[0]))


@pytest.mark.parametrize("which", [1, 2], ids=["doc", "dot"])
def test_a_doc_master_merges_to_the_same_text_as_the_docx_one(tmp_path, masters, which):
    original, converted = masters[0], masters[which]
    options = dict(format="docx", today=TODAY, ledger=tmp_path / "l.db")
    merge_roster(SAMPLES / "roster.xlsx", tmp_path / "a", MergeOptions(template=original, **options))
    result = merge_roster(SAMPLES / "roster.xlsx", tmp_path / "b", MergeOptions(template=converted, **options))
    assert result.written
    assert first_voucher_text(tmp_path / "b") == first_voucher_text(tmp_path / "a")


def test_a_doc_master_is_converted_once_and_checked_like_any(tmp_path, masters, monkeypatch):
    from fjvoucher.pdf import masters as module

    cache = tmp_path / "cache"
    first = docx_master(masters[1], cache=cache)
    monkeypatch.setattr(module, "_convert", lambda *a: pytest.fail("converted a second time"))
    assert docx_master(masters[1], cache=cache) == first and first.suffix == ".docx"
    checked = run("template", "check", masters[1])
    assert checked.exit_code == 0 and "Word 邮件合并母版" in checked.output and "«姓名»" in checked.output


def test_a_master_whose_photo_field_was_lost_in_conversion_is_refused(tmp_path):
    from fjvoucher.errors import TemplateError

    with_field = word_master(tmp_path / "field.docx")  # INCLUDEPICTURE with a MERGEFIELD inside
    converted = saved_as(with_field, ".doc", tmp_path)  # LibreOffice drops that field in the .doc
    fake = tmp_path / "word-made.doc"  # a .doc whose own bytes still name the field, as Word's do
    fake.write_bytes(converted.read_bytes() + "INCLUDEPICTURE".encode("utf-16-le"))
    with pytest.raises(TemplateError, match="照片域"):
        docx_master(fake, cache=tmp_path / "cache")


def test_a_header_with_the_no_and_the_name_prints_each_vouchers_own_on_its_page(tmp_path):
    from fjvoucher.pdf.pages import count_pages
    from support.synthetic import make_candidates, write_roster_xlsx
    from support.word_master import complex_field

    header = complex_field(" MERGEFIELD 凭证编号 ", "«凭证编号»", "<w:rPr/>") + complex_field(
        " MERGEFIELD 姓名 ", "«姓名»", "<w:rPr/>")
    master = word_master(tmp_path / "页眉母版.docx", header=header)
    rows = make_candidates(5, seed=97)
    result = merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                          MergeOptions(template=master, batch_size=5, ledger=tmp_path / "l.db", today=TODAY))
    assert result.written and not result.pdf_failures
    pdf = tmp_path / "out" / "batches" / "batch-001.pdf"
    assert count_pages(pdf) == 5
    for page, row in enumerate(rows, start=1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert f"3501-2009-{page:06d}{row['name']}" in "".join(text.split()), (page, text[:200])
    single = tmp_path / "out" / "vouchers" / f"{rows[2]['certificate_no']}_{rows[2]['name']}.pdf"
    assert count_pages(single) == 1 and "3501-2009-000003" in subprocess.run(
        ["pdftotext", str(single), "-"], capture_output=True, text=True).stdout
