"""The hostile corpus, each case with its exact outcome: nothing leaks, nothing is lost, nothing prints wrong."""

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
import zipfile

import docx
import pytest
from openpyxl import load_workbook

from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.roster.checks import validate
from hostile import corpus
from support import SAMPLES, TODAY, run
from support.synthetic import make_candidates, make_photo, write_roster_xlsx


def codes(report) -> list[str]:
    return [f.code for f in report.findings]


def merge_cli(tmp_path, roster, *extra):
    return run("merge", roster, "-o", tmp_path / "out", "-q", "--format", "docx", "--ledger", tmp_path / "l.db",
               *extra)


# --- 1, 7, 13, 18: masters ----------------------------------------------------------------------

@pytest.mark.parametrize("make, said", [
    (corpus.master_linked_picture, "file:///etc/passwd"),
    (corpus.master_attached_template, "file://attacker/share/t.dotm"),
    (corpus.master_entity, "DOCTYPE/ENTITY"),
    (corpus.master_include_field, "INCLUDETEXT"),
    (corpus.master_ole_object, "嵌入对象"),
    (corpus.master_malformed, "不是完整的 XML"),
])
def test_a_master_that_reaches_out_or_is_broken_is_refused_by_check_and_merge(tmp_path, make, said):
    master = make(tmp_path)
    checked = run("template", "check", master)
    assert checked.exit_code == 1 and said in checked.output
    merged = merge_cli(tmp_path, SAMPLES / "roster.xlsx", "--template", master)
    assert merged.exit_code == 1 and said in merged.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "l.db").exists()


@pytest.mark.parametrize("tags, said", [
    ("{{ range(10) }}", "range"), ("{{ lipsum() }}", "lipsum"), ("{{ cycler(1) }}", "cycler"),
    ("{{ namespace() }}", "namespace"), ("{{ dict(a=1) }}", "dict"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", "For"),
    ("{{ {}.update }}", "update"), ("{{ name.upper() }}", "upper"), ("{{ name|attr('x') }}", "attr"),
])
def test_jinja_globals_loops_calls_and_attributes_are_refused_before_anything_renders(tmp_path, tags, said):
    master = corpus.master_with_tags(tmp_path, tags)
    started = time.monotonic()
    result = run("template", "check", master)
    assert result.exit_code == 1 and said in result.output
    assert time.monotonic() - started < 5


def test_a_word_master_with_broken_xml_is_called_a_word_master(tmp_path):
    result = run("template", "check", corpus.master_mergefield_malformed(tmp_path))
    assert result.exit_code == 1 and "Word 邮件合并母版" in result.output and "不是完整的 XML" in result.output


# --- 2, 3: inputs and the output folder ----------------------------------------------------------

def test_merging_rejected_xlsx_back_into_its_own_folder_never_deletes_it(tmp_path):
    out = tmp_path / "out"
    merge_roster(SAMPLES / "roster_with_errors.xlsx", out,
                 MergeOptions(format="docx", skip_invalid=True, ledger=tmp_path / "l.db", today=TODAY))
    corrected = out / "rejected.xlsx"
    before = corrected.read_bytes()
    result = merge_cli(tmp_path, corrected)
    assert result.exit_code == 2 and "在输出文件夹中" in result.output
    assert corrected.read_bytes() == before


def test_an_input_inside_the_vouchers_folder_is_refused(tmp_path):
    (tmp_path / "out" / "vouchers").mkdir(parents=True)
    roster = write_roster_xlsx(tmp_path / "out" / "vouchers" / "r.xlsx", make_candidates(2))
    assert merge_cli(tmp_path, roster).exit_code == 2 and roster.exists()


def test_report_and_layout_never_write_over_the_ledger(tmp_path):
    merge_cli(tmp_path, SAMPLES / "roster.xlsx")
    ledger = tmp_path / "l.db"
    before = ledger.read_bytes()
    assert run("report", "--month", f"{dt.date.today():%Y-%m}", "-o", ledger, "--ledger", ledger).exit_code == 2
    assert run("layout", "-o", ledger, "--force", env={"FJVOUCHER_LEDGER": str(ledger)}).exit_code == 2
    assert ledger.read_bytes() == before


def test_a_symlinked_subfolder_is_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stranger = elsewhere / ".x.0123abcd.tmp"
    stranger.write_text("a stranger's file")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "vouchers").symlink_to(elsewhere, target_is_directory=True)
    result = merge_cli(tmp_path, SAMPLES / "roster.xlsx")
    assert result.exit_code == 2 and "链接" in result.output
    assert [p.name for p in elsewhere.iterdir()] == [".x.0123abcd.tmp"] and stranger.exists()


# --- 4: personal data ----------------------------------------------------------------------------

def test_a_changed_id_is_masked_in_messages_and_in_rejected_xlsx_and_files_are_private(tmp_path):
    rows = make_candidates(3, seed=62)
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows)
    merge_cli(tmp_path, roster)
    import random

    from support.synthetic import make_id

    rows[1]["id_number"] = make_id(random.Random(1), "350102", rows[1]["birth_date"], rows[1]["sex"] == "男")
    changed = write_roster_xlsx(tmp_path / "r2.xlsx", rows)
    result = merge_cli(tmp_path, changed, "--skip-invalid")
    assert "ledger-changed" not in result.output and "身份证号" in result.output
    assert rows[1]["id_number"] not in result.output
    rejected = tmp_path / "out" / "rejected.xlsx"
    cells = [str(c) for r in load_workbook(rejected).active.iter_rows(values_only=True) for c in r if c]
    reasons = " ".join(cells[3:])
    assert "********" in reasons and rows[1]["id_number"] not in reasons.replace(str(rows[1]["id_number"]), "", 1)
    if os.name == "posix":
        for path in [rejected, *(tmp_path / "out" / "vouchers").iterdir(), tmp_path / "out" / "发放登记表.xlsx"]:
            assert path.stat().st_mode & 0o077 == 0, path


# --- 5, 6, 8, 11: cells --------------------------------------------------------------------------

def test_digits_of_another_script_are_refused_in_codes(tmp_path):
    rows = make_candidates(2, seed=63)
    rows[1]["certificate_no"] = rows[0]["certificate_no"].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    report = validate(write_roster_xlsx(tmp_path / "r.xlsx", rows), today=TODAY)
    assert codes(report) == ["code-not-ascii"]


@pytest.mark.parametrize("typed", ["1e2", "6_5", "+0085.", "85.", "８５分", "NaN"])
def test_scores_must_be_plain_decimals(tmp_path, typed):
    rows = make_candidates(1, seed=64)
    rows[0]["theory_score"] = typed
    assert codes(validate(write_roster_xlsx(tmp_path / "r.xlsx", rows), today=TODAY)) == ["score-not-number"]


def test_a_formula_score_prints_as_excel_shows_it(tmp_path):
    rows = make_candidates(1, seed=65)
    rows[0]["theory_score"] = 77.80000000000001  # what =0.1*778 stores
    result = merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                          MergeOptions(format="docx", today=TODAY))
    assert result.written
    cells = [c.text for t in docx.Document(next((tmp_path / "out" / "vouchers").iterdir())).tables
             for r in t.rows for c in r.cells]
    assert "77.8" in cells and not any("77.80000" in c for c in cells)


def test_a_line_break_in_a_cell_is_an_error_and_an_overlong_value_a_warning(tmp_path):
    from fjvoucher.word.master import prepare_template

    rows = make_candidates(2, seed=66)
    rows[0]["occupation"] = "车工\n（国家职业资格三级）"
    rows[1]["occupation"] = "中式烹调师（国家职业资格四级）兼面点师和西式烹调师"
    report = validate(write_roster_xlsx(tmp_path / "r.xlsx", rows), today=TODAY, boxes=prepare_template().boxes)
    assert [(f.row, f.severity, f.code) for f in report.findings] == [
        (3, "error", "line-break"), (4, "warning", "too-wide-for-box")]
    assert "职业" in report.findings[1].message() and "19.2" in report.findings[1].message()


def test_an_issue_date_before_the_birth_date_is_an_error(tmp_path):
    rows = make_candidates(1, seed=67)
    rows[0]["issue_date"] = dt.date(1950, 1, 1)
    rows[0]["certificate_no"] = "50" + rows[0]["certificate_no"][2:]
    report = validate(write_roster_xlsx(tmp_path / "r.xlsx", rows), today=TODAY)
    assert [f.code for f in report.findings if f.severity == "error"] == ["issue-before-birth"]


# --- 9: photos -----------------------------------------------------------------------------------

def _photo_roster(tmp_path, make_photo_file):
    rows = make_candidates(2, seed=68)
    photos = tmp_path / "photos"
    photos.mkdir()
    make_photo_file(photos / f"{rows[0]['id_number']}.jpg")
    make_photo(photos / f"{rows[1]['id_number']}.jpg", seed=9)
    return write_roster_xlsx(tmp_path / "r.xlsx", rows), photos, rows


def test_a_phone_photo_prints_upright(tmp_path):
    roster, photos, rows = _photo_roster(tmp_path, corpus.photo_rotated)
    merge_roster(roster, tmp_path / "out", MergeOptions(format="docx", photos=photos, today=TODAY))
    document = docx.Document(tmp_path / "out" / "vouchers" / f"{rows[0]['certificate_no']}_{rows[0]['name']}.docx")
    shape = document.inline_shapes[0]
    assert shape.height > shape.width  # portrait, as the person stood


@pytest.mark.parametrize("make, said", [(corpus.photo_truncated, "不完整"),
                                        (lambda p: corpus.png_claiming(p, 100_000, 100_000), "大得异常")])
def test_a_broken_photo_is_a_photo_finding_that_skip_invalid_skips(tmp_path, make, said):
    roster, photos, rows = _photo_roster(tmp_path, make)
    result = merge_roster(roster, tmp_path / "out", MergeOptions(format="docx", photos=photos, today=TODAY))
    assert not result.written and codes(result.checked.report) == ["photo-unreadable"]
    assert said in result.checked.report.findings[0].message()
    skipped = merge_roster(roster, tmp_path / "out", MergeOptions(format="docx", photos=photos, skip_invalid=True,
                                                                  today=TODAY))
    assert (skipped.merged, skipped.rejected) == (1, 1)


# --- 10, 12: workbooks ---------------------------------------------------------------------------

def test_the_active_visible_sheet_is_read_and_the_others_named(tmp_path):
    report = validate(corpus.roster_hidden_first_sheet(tmp_path), today=TODAY)
    assert (report.sheet, report.valid_rows) == ("本月名册", 3)
    assert codes(report) == ["other-sheets"] and "旧名册" in report.findings[0].message()


def test_one_far_cell_is_refused_in_seconds_not_allocated(tmp_path):
    started = time.monotonic()
    result = run("validate", corpus.roster_far_cell(tmp_path))
    assert result.exit_code == 2 and "XFD" in result.output and "范围太大" in result.output
    assert time.monotonic() - started < 10


def test_a_string_unpacking_to_hundreds_of_megabytes_is_refused(tmp_path):
    path = corpus.roster_huge_string(tmp_path)
    assert path.stat().st_size < 2 << 20
    started = time.monotonic()
    result = run("validate", path)
    assert result.exit_code == 2 and "解压后" in result.output
    assert time.monotonic() - started < 10


def test_a_cell_longer_than_excel_allows_is_an_error(tmp_path):
    rows = make_candidates(1, seed=69)
    rows[0]["education"] = "中" * 32_768  # a CSV has no limit of its own (calamine cuts .xlsx cells at 32,767)
    path = corpus.csv_file(tmp_path, rows, "long.csv", "utf-8")
    assert codes(validate(path, today=TODAY)) == ["cell-too-long"]


# --- 14, 15: names and arguments -----------------------------------------------------------------

def test_a_name_of_74_cjk_characters_gets_a_file_name_the_file_system_takes(tmp_path):
    rows = make_candidates(1, seed=70)
    rows[0]["name"] = "龘" * 74
    result = merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                          MergeOptions(format="docx", today=TODAY))
    assert result.written
    (written,) = (tmp_path / "out" / "vouchers").iterdir()
    assert len(written.name.encode("utf-8")) <= 255 and written.name.startswith(rows[0]["certificate_no"])


@pytest.mark.parametrize("manifest", ['{"not": "a list"}', "[1, 2, 3]", "not json at all", '["../../etc/passwd"]'])
def test_a_hand_edited_manifest_is_ignored_not_obeyed(tmp_path, manifest):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".fjvoucher-manifest.json").write_text(manifest, encoding="utf-8")
    assert merge_cli(tmp_path, SAMPLES / "roster.xlsx").exit_code == 0
    assert json.loads((out / ".fjvoucher-manifest.json").read_text(encoding="utf-8"))


def test_out_of_range_arguments_exit_2():
    assert run("list", "--expiring-within", "99999999").exit_code == 2


def test_undecodable_bytes_in_an_argument_are_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fjvoucher", "validate", os.fsencode(tmp_path) + b"/caf\xe9.xlsx"],
                            capture_output=True)
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- 16: programs that hang ----------------------------------------------------------------------

def test_a_soffice_that_hangs_is_given_up_in_seconds_and_killed(tmp_path, monkeypatch):
    from fjvoucher.errors import InputError
    from fjvoucher.pdf import engine, libreoffice

    hanging = tmp_path / "soffice"
    hanging.write_text(f"#!/bin/sh\nsleep 300 # {tmp_path}\n")
    hanging.chmod(0o755)
    monkeypatch.setattr(libreoffice, "VERSION_TIMEOUT_S", 1)
    started = time.monotonic()
    with pytest.raises(InputError, match="--soffice"):
        engine.require_engine("libreoffice", hanging)
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    assert not subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True).stdout


def test_a_mistyped_soffice_exits_2_instead_of_writing_docx_only(tmp_path):
    result = run("merge", SAMPLES / "roster.xlsx", "-o", tmp_path / "out", "--soffice", tmp_path / "sofice.exe",
                 "--ledger", tmp_path / "l.db")
    assert result.exit_code == 2 and "--soffice" in result.output and not (tmp_path / "out").exists()


# --- 17: CSV -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, encoding, delimiter, quoting, shown", [
    ("unicode.txt", "utf-16", "\t", csv.QUOTE_MINIMAL, "UTF-16"),  # Excel's "Unicode 文本"
    ("gbk.csv", "gbk", ",", csv.QUOTE_MINIMAL, "GB18030"),
    ("quoted.csv", "utf-8", ",", csv.QUOTE_ALL, "UTF-8-SIG"),
])
def test_csv_in_the_encodings_clerks_save(tmp_path, name, encoding, delimiter, quoting, shown):
    path = corpus.csv_file(tmp_path, make_candidates(3, seed=71), name, encoding, delimiter, quoting)
    report = validate(path, today=TODAY)
    assert (report.rows, report.valid_rows, report.encoding.upper()) == (3, 3, shown)
    assert f"编码 {shown}" in report.to_text().splitlines()[0]


def test_a_big5_csv_is_reported_naming_the_encoding_read(tmp_path):
    path = tmp_path / "big5.csv"
    path.write_bytes("姓名,性別,職業\n林志明,男,車工\n".encode("big5"))  # traditional headers from Big5 software
    result = run("validate", path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "编码" in result.output.splitlines()[0] and "表头" in result.output


def test_a_few_single_quoted_values_do_not_change_the_quote_character(tmp_path):
    rows = make_candidates(3, seed=72)
    rows[0]["occupation"] = "'车工'"
    rows[1]["education"] = "'高中'"
    path = corpus.csv_file(tmp_path, rows, "q.csv", "utf-8")
    report = validate(path, today=TODAY)
    assert report.rows == 3 and "header-not-found" not in codes(report)


# --- the classes that held -----------------------------------------------------------------------

def test_formula_text_path_characters_and_xml_specials_print_as_text(tmp_path):
    rows = make_candidates(2, seed=73)
    rows[0]["name"] = "@SUM(1+1)*cmd|' /C calc'!A0"  # formula injection, kept as text
    rows[1]["name"] = "<b>&\"王'</b>/../x"
    result = merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                          MergeOptions(format="docx", today=TODAY))
    assert result.written
    names = {p.name for p in (tmp_path / "out" / "vouchers").iterdir()}
    assert all("/" not in n and "\\" not in n for n in names)
    texts = [c.text for p in (tmp_path / "out" / "vouchers").iterdir()
             for t in docx.Document(p).tables for r in t.rows for c in r.cells]
    assert rows[0]["name"] in texts and rows[1]["name"] in texts
    sheet = load_workbook(result.register).active
    assert sheet["C3"].value == rows[0]["name"] and sheet["C3"].data_type == "s"


@pytest.mark.parametrize("make", [corpus.truncated_xlsx, lambda folder: _encrypted(folder)])
def test_truncated_and_encrypted_workbooks_are_one_line_exit_2(tmp_path, make):
    result = run("validate", make(tmp_path))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def _encrypted(folder):
    from support import DATA

    return DATA / "encrypted.xlsx"


def test_every_generated_case_can_be_written(tmp_path):
    made = corpus.write_all(tmp_path / "corpus")
    assert len(made) == 45 and len(set(made)) == 45 and all(p.exists() for p in made)
    assert all(zipfile.is_zipfile(p) for p in made if p.suffix in (".docx", ".xlsx") and p.name != "truncated.xlsx")
