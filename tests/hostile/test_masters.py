"""Issue 19, classes 1-5: what a master may reach, what it may carry, where its fields are, what it may produce."""

import time
import zipfile

import docx
import pytest

from hostile import corpus
from support import SAMPLES, TODAY, run


def merge_cli(tmp_path, roster, *extra):
    return run("merge", roster, "-o", tmp_path / "out", "-q", "--format", "docx", "--ledger", tmp_path / "l.db",
               *extra)


def refused(tmp_path, master, said):
    """Assert that `template check` and `merge` both refuse `master`, saying `said`, and write nothing."""
    checked = run("template", "check", master)
    assert checked.exit_code == 1 and said in checked.output, checked.output
    merged = merge_cli(tmp_path, SAMPLES / "roster.xlsx", "--template", master)
    assert merged.exit_code == 1 and said in merged.output, merged.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "l.db").exists()


# --- 1: decided on the parsed XML, as Word and LibreOffice read it --------------------------------

@pytest.mark.parametrize("make, said", [
    (corpus.master_external_by_character_reference, "file:///etc/passwd"),
    (corpus.master_external_without_mode, "file:///etc/passwd"),
    (corpus.master_external_other_prefix, "\\\\attacker\\share\\t.dotm"),
    (corpus.master_object_other_prefix, "嵌入对象"),
    (corpus.master_field_by_character_reference, "INCLUDETEXT"),
    (corpus.master_field_split_over_runs, "LINK"),
    (corpus.master_field_built_by_field, "由另一个域生成"),
    (corpus.master_vml_image_source, "file:///etc/passwd"),
    (corpus.master_svg_linking_a_file, "file:///etc/passwd"),
    (corpus.master_declared_latin1, "ISO-8859-1"),
    (corpus.master_duplicate_part, "不止一次"),
])
def test_what_the_bytes_hide_the_parsed_xml_shows(tmp_path, make, said):
    refused(tmp_path, make(tmp_path), said)


def test_mail_merge_settings_under_another_prefix_are_still_stripped(tmp_path):
    master = corpus.master_mail_merge_other_prefix(tmp_path)
    checked = run("template", "check", master)
    assert "D:\\考务\\名册.xls" in checked.output  # what the master was made with, read as Word reads it
    assert merge_cli(tmp_path, SAMPLES / "roster.xlsx", "--template", master).exit_code == 0
    written = list((tmp_path / "out").rglob("*.docx"))
    assert written
    for path in written:
        with zipfile.ZipFile(path) as package:
            settings = package.read("word/settings.xml").decode("utf-8")
        assert "mailMerge" not in settings and "名册" not in settings and "&#21517;" not in settings


# --- 2: nested documents ---------------------------------------------------------------------------

@pytest.mark.parametrize("make, said", [
    (corpus.master_alt_chunk, "嵌入了另一份文档"),
    (corpus.master_sub_document, "嵌入了另一份文档"),
    (corpus.master_embedded_package, "嵌入了另一份文档"),
])
def test_a_document_nested_in_the_master_is_refused(tmp_path, make, said):
    refused(tmp_path, make(tmp_path), said)


# --- 3: only the parts a voucher needs --------------------------------------------------------------

def test_macros_thumbnails_and_stray_files_stay_out_of_every_voucher(tmp_path):
    master = corpus.master_with_leftovers(tmp_path)
    result = merge_cli(tmp_path, SAMPLES / "roster.xlsx", "--template", master)
    assert result.exit_code == 0, result.output
    written = sorted((tmp_path / "out").rglob("*.docx"))
    assert written
    for path in written:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            types = package.read("[Content_Types].xml").decode("utf-8")
            rels = package.read("word/_rels/document.xml.rels").decode("utf-8") + package.read("_rels/.rels").decode()
        assert not names & set(corpus.LEFTOVERS), path
        assert "vbaProject" not in types + rels and "thumbnail" not in rels
        assert corpus.MACRO_MAIN not in types and "wordprocessingml.document.main+xml" in types
        assert docx.Document(path).tables  # Word's reader opens what is left


# --- 4: fields only where they are merged -----------------------------------------------------------

@pytest.mark.parametrize("make, said", [
    (corpus.master_footnote_placeholder, "word/footnotes.xml（脚注 footnotes）"),
    (corpus.master_endnote_mergefield, "word/endnotes.xml（尾注 endnotes）中有占位符或合并域（MERGEFIELD）"),
    (corpus.master_comment_placeholder, "word/comments.xml（批注 comments）"),
    (corpus.master_header_other_name, "word/top.xml"),
])
def test_a_placeholder_where_nothing_is_merged_is_refused_naming_the_part(tmp_path, make, said):
    refused(tmp_path, make(tmp_path), said)


# --- 5: what one voucher may produce ------------------------------------------------------------------

@pytest.mark.parametrize("make, expression", [
    (corpus.master_amplifying_filter, 'id_number|replace("", id_number)|replace("", id_number)|replace("", id_number)'),
    (corpus.master_amplifying_condition, 'name|replace("", name)|replace("", name)'),
])
def test_a_multiplying_filter_chain_is_refused_by_check_naming_the_placeholder(tmp_path, make, expression):
    started = time.monotonic()
    refused(tmp_path, make(tmp_path), f"「{{{{ {expression} }}}}」")
    assert time.monotonic() - started < 10


def test_a_voucher_that_would_grow_past_its_budget_stops_before_it_is_built(tmp_path):
    from fjvoucher.errors import TemplateError
    from fjvoucher.roster.checks import check_roster
    from fjvoucher.word.master import prepare_template
    from fjvoucher.word.render import Voucher, VoucherRenderer, voucher_context
    from support.synthetic import make_candidates, write_roster_xlsx

    rows = make_candidates(1, seed=90)
    rows[0]["name"] = "龘" * 30_000  # a cell Excel holds; each placeholder stays under its own bound
    checked = check_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), keep=True, today=TODAY)
    renderer = VoucherRenderer(prepare_template(corpus.master_many_growing_placeholders(tmp_path)))
    started = time.monotonic()
    with pytest.raises(TemplateError, match="一张凭证的过滤器结果累计超过"):
        renderer.render_body(Voucher(voucher_context(checked.candidates[0])))
    assert time.monotonic() - started < 5
