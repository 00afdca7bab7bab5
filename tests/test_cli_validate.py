import json
import subprocess
import sys

import pytest

from fjvoucher import __version__
from fjvoucher.roster.checks import validate
from support import SAMPLES, run


def test_valid_sample_exits_0_with_summary_and_one_grouped_warning_line():
    result = run("validate", SAMPLES / "roster.xlsx")  # today: the sample's 2009 vouchers have expired
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "共读取 50 行：可打印 50 行，错误 0 处，警告 50 处。"
    grouped = [line for line in result.output.splitlines() if line.startswith("  [警告]")]
    assert len(grouped) == 1 and grouped[0].startswith("  [警告] 50 处，第 3、4、5、6、7、8、9、10… 行。例：")
    every = run("validate", SAMPLES / "roster.xlsx", "--all-warnings").output.splitlines()
    assert len([line for line in every if line.startswith("  [警告]")]) == 50


def test_errors_exit_1_and_json_equals_the_library_report():
    path = SAMPLES / "roster_with_errors.xlsx"
    result = run("validate", path, "--format", "json")
    assert result.exit_code == 1
    from fjvoucher.word.master import prepare_template

    assert json.loads(result.output) == validate(path, boxes=prepare_template().boxes).to_dict("zh")


def test_json_has_the_documented_shape():
    data = json.loads(run("validate", SAMPLES / "roster_with_errors.xlsx", "--format", "json").output)
    assert set(data) == {"file", "sheet", "rows", "valid_rows", "errors", "warnings", "problems"}
    assert all(set(p) == {"row", "column", "field", "severity", "code", "message"} for p in data["problems"])
    first_row_problem = next(p for p in data["problems"] if p["row"] is not None and p["severity"] == "error")
    assert first_row_problem == {"row": 6, "column": "姓名", "field": "name", "severity": "error",
                                 "code": "required-missing", "message": "「姓名」为必填项，但此格为空。请补填"}


def test_text_groups_by_row_with_column_letter_header_and_masked_id():
    lines = run("validate", SAMPLES / "roster_with_errors.xlsx").output.splitlines()
    i = lines.index(next(line for line in lines if line.startswith("第 7 行")))
    assert lines[i].startswith("第 7 行（") and "********" in lines[i]
    assert lines[i + 1] == "  [错误] C 列「性别」：性别「M」无法识别。请填写「男」或「女」（或代码 1、2）"


def test_full_ids_appear_only_where_the_id_is_the_problem():
    import re

    output = run("validate", SAMPLES / "roster_with_errors.xlsx").output
    for line in output.splitlines():
        if re.search(r"\d{17}[\dX]", line):
            assert "F 列「身份证号」" in line, line  # a finding on the ID column itself


def test_english_report():
    result = run("validate", SAMPLES / "roster_with_errors.xlsx", "--lang", "en")
    assert "Row 7 (" in result.output
    assert "column C (性别): Sex 'M' is not recognised" in result.output
    from fjvoucher.word.master import prepare_template

    expected = validate(SAMPLES / "roster_with_errors.xlsx", boxes=prepare_template().boxes)
    assert result.output.splitlines()[-1].endswith(f"{expected.errors} errors, {expected.warnings} warnings.")


@pytest.mark.parametrize("content", [b"", b"garbage"])
def test_unreadable_file_exits_2_with_one_line(tmp_path, content):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("错误 Error: ")


def test_wrong_arguments_exit_2():
    assert run("validate", "--format", "xml", "x.xlsx").exit_code == 2


def test_layout_writes_an_empty_official_roster(tmp_path):
    from openpyxl import load_workbook

    from fjvoucher.layout import FIELDS

    out = tmp_path / "名册模板.xlsx"
    assert run("layout", "-o", out).exit_code == 0
    sheet = load_workbook(out).active
    assert [c.value for c in sheet[1]] == [f.header for f in FIELDS]
    formats = {f.key: sheet.cell(row=2, column=i + 1).number_format for i, f in enumerate(FIELDS)}
    assert formats["id_number"] == formats["certificate_no"] == formats["exam_no"] == "@"
    lists = {str(rule.sqref)[0]: rule.formula1 for rule in sheet.data_validations.dataValidation}
    assert set(lists) == {"C", "E", "H", "K"}  # 性别, 文化程度, 等级, 评定成绩
    assert lists["C"] == '"男,女"'
    assert validate(out).rows == 0


def test_version_and_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "fjvoucher", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


def test_clicks_own_messages_are_in_chinese_too():
    result = run("merge")
    assert result.exit_code == 2 and "缺少参数 'ROSTER'" in result.output and "用法 Usage:" in result.output
    assert "显示本帮助" in run("--help").output


def test_progress_on_a_log_file_is_a_start_and_an_end_line_not_a_stream_of_updates(tmp_path):
    result = run("merge", SAMPLES / "roster.xlsx", "-o", tmp_path / "o", "--format", "docx", "--batch-size", "10",
                 "--ledger", tmp_path / "l.db")  # CliRunner's stderr is no terminal
    lines = [line for line in result.stderr.splitlines() if "已生成" in line]
    assert lines[0].startswith("开始 start: 已生成 0/50") and lines[-1].startswith("完成 done: 已生成 50/50")
    assert len(lines) == 2 and "\r" not in result.stderr


def test_a_console_that_cannot_show_a_rare_character_gets_its_code_point(tmp_path):
    import subprocess
    import sys

    from support.synthetic import make_candidates, write_roster_xlsx

    rows = make_candidates(2)
    rows[0]["name"] = "王𪚥"
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows)
    done = subprocess.run([sys.executable, "-m", "fjvoucher", "validate", str(roster)], capture_output=True,
                          env={**__import__("os").environ, "PYTHONIOENCODING": "gbk"})
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert "王U+2A6A5".encode("gbk") in done.stdout


def test_layout_never_overwrites_without_force_and_names_the_folders_it_makes(tmp_path):
    target = tmp_path / "new" / "deeper" / "名册.xlsx"
    made = run("layout", "-o", target)
    assert made.exit_code == 0 and target.exists()
    assert f"已新建文件夹 (folder created): {tmp_path / 'new'}" in made.output
    assert f"{tmp_path / 'new' / 'deeper'}" in made.output
    target.write_bytes(b"the clerk's own roster")
    again = run("layout", "-o", target)
    assert again.exit_code == 2 and "--force" in again.output and target.read_bytes() == b"the clerk's own roster"
    assert run("layout", "-o", target, "--force").exit_code == 0 and target.read_bytes() != b"the clerk's own roster"


def test_a_photo_folder_that_does_not_exist_is_exit_2(tmp_path):
    result = run("merge", SAMPLES / "roster.xlsx", "--photos", tmp_path / "照片", "-o", tmp_path / "o",
                 "--ledger", tmp_path / "l.db")
    assert result.exit_code == 2 and "照片文件夹不存在" in result.output and not (tmp_path / "o").exists()


def test_clicks_own_words_are_chinese_too():
    from support import run

    typo = run("merg")
    assert "您是不是要输入 'merge'" in typo.output and "Did you mean" not in typo.output
    missing = run("report")
    assert "缺少选项 '--month'" in missing.output and "Missing option" not in missing.output
