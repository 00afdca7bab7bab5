import datetime as dt

import pytest

from fjvoucher.errors import RosterUnreadable
from fjvoucher.roster.checks import check_roster, validate
from fjvoucher.roster.reading import column_letter, open_roster
from support import DATA, TODAY
from support.synthetic import write_roster_csv, write_roster_xlsx


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_title_rows_above_header_are_skipped_and_rows_keep_excel_numbers(rows, write_xlsx):
    path = write_xlsx(rows)  # title in row 1, header in row 2
    roster = open_roster(path)
    assert roster.header_row == 2
    assert [n for n, _ in roster.rows] == [3, 4, 5, 6, 7]


def test_column_letters_count_from_column_a_when_the_sheet_starts_further_right(tmp_path, rows):
    from openpyxl import Workbook

    from fjvoucher.layout import FIELDS

    book = Workbook()
    sheet = book.active
    for col, fld in enumerate(FIELDS, start=3):  # header starts in column C, row 4
        sheet.cell(row=4, column=col, value=fld.header)
    rows[0]["sex"] = "X"
    for col, fld in enumerate(FIELDS, start=3):
        sheet.cell(row=5, column=col, value=rows[0][fld.key])
    book.save(tmp_path / "shifted.xlsx")
    finding = validate(tmp_path / "shifted.xlsx", today=TODAY).findings[0]
    assert (finding.row, finding.letter, finding.column) == (5, "E", "性别")


def test_headers_match_aliases_full_width_and_ideographic_spaces_in_any_order(tmp_path, rows):
    from openpyxl import Workbook

    from fjvoucher.layout import FIELDS

    headers = {f.key: f.header for f in FIELDS}
    headers.update(id_number="身份证号码", theory_score=" 理论成绩\u3000", skill_score="实操成绩",
                   occupation="职业(工种)", name="姓\u3000名", voucher_no="ＮＯ")
    order = list(reversed(FIELDS))
    book = Workbook()
    sheet = book.active
    sheet.append([headers[f.key] for f in order])
    sheet.append([rows[0][f.key] for f in order])
    book.save(tmp_path / "aliases.xlsx")
    roster = open_roster(tmp_path / "aliases.xlsx")
    assert {c.field.key for c in roster.mapped()} == set(headers)
    assert validate(tmp_path / "aliases.xlsx", today=TODAY).valid


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_utf8_or_gbk_is_detected(tmp_path, rows, encoding):
    path = write_roster_csv(tmp_path / "r.csv", rows, encoding=encoding)
    checked = check_roster(path, today=TODAY, keep=True)
    assert checked.report.valid and checked.report.rows == 5
    assert [c["name"] for c in checked.candidates] == [r["name"] for r in rows]


@pytest.mark.parametrize("name", ["roster.xls", "roster.ods"])
def test_legacy_xls_and_ods_read_like_xlsx(name):
    # roster.xls and roster.ods were converted from roster.xlsx by LibreOffice Calc
    expected = check_roster(DATA / "roster.xlsx", today=TODAY, keep=True)
    checked = check_roster(DATA / name, today=TODAY, keep=True)
    assert checked.report.valid
    assert [c.values for c in checked.candidates] == [c.values for c in expected.candidates]


def test_formulas_give_their_cached_value_never_the_formula(tmp_path, rows):
    path = write_roster_xlsx(tmp_path / "f.xlsx", rows)
    from openpyxl import load_workbook

    book = load_workbook(path)
    book.active["K3"] = '=IF(1>0,"合格","不合格")'  # no cached value: openpyxl does not compute
    book.save(path)
    finding = validate(path, today=TODAY).findings[0]  # named as what it is, not as an empty cell (issue 19)
    assert (finding.row, finding.column, finding.code) == (3, "评定成绩", "formula-error")


def test_blank_rows_are_skipped(tmp_path, rows):
    path = write_roster_xlsx(tmp_path / "b.xlsx", rows[:2] + [{}, {}] + rows[2:])
    report = validate(path, today=TODAY)
    assert report.rows == 5 and report.valid


def test_second_sheet_by_name_or_number(tmp_path, rows):
    from openpyxl import load_workbook

    path = write_roster_xlsx(tmp_path / "s.xlsx", rows)
    book = load_workbook(path)
    book.create_sheet("说明", 0)
    book.save(path)
    assert validate(path, "合格人员名册", today=TODAY).rows == 5
    assert validate(path, "2", today=TODAY).rows == 5
    with pytest.raises(RosterUnreadable, match="没有名为「第三张」的工作表"):
        validate(path, "第三张")


@pytest.mark.parametrize("content, suffix, words", [
    (b"", ".xlsx", "空的"),
    (b"this is not a workbook", ".xlsx", "无法读取"),
    (b"%PDF-1.4", ".pdf", "不是电子表格"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xls", "无法读取"),
])
def test_unreadable_files_raise_one_clear_error(tmp_path, content, suffix, words):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(RosterUnreadable, match=words):
        validate(path)


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(RosterUnreadable, match="不存在"):
        validate(tmp_path / "nope.xlsx")


def test_real_excel_dates_serial_numbers_and_text_dates_all_read(tmp_path, rows):
    rows[0]["birth_date"] = "1985/3/12"
    rows[1]["birth_date"] = 31118.0  # Excel serial of 1985-03-12
    rows[2]["birth_date"] = "1985年3月12日"
    rows[3]["birth_date"] = "19850312"
    rows[4]["birth_date"] = dt.datetime(1985, 3, 12)
    for row in rows:
        row["id_number"] = "35010219850312123X"
        row["sex"] = "男"
        row["name"] = "林建国"
    for i, row in enumerate(rows):
        row["occupation"] = f"职业{i}"
    checked = check_roster(write_roster_xlsx(tmp_path / "d.xlsx", rows), today=TODAY, keep=True)
    assert checked.report.valid, checked.report.to_text()
    assert {c["birth_date"] for c in checked.candidates} == {"1985年3月12日"}


def test_a_password_protected_workbook_says_so():
    # tests/data/encrypted.xlsx is tests/data/roster.xlsx encrypted with the password 1234 (msoffcrypto-tool)
    with pytest.raises(RosterUnreadable, match="文件已加密"):
        validate(DATA / "encrypted.xlsx")
