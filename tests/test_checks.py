"""Every rule of the validate issue: a valid row changed in one way gives exactly the expected finding."""

import datetime as dt

import pytest

from fjvoucher.roster.checks import check_roster, validate
from fjvoucher.roster.idcard import check_digit
from support import SAMPLES, TODAY
from support.synthetic import write_roster_csv


def flatten(report):
    return [(f.row, f.field, f.severity, f.code) for f in report.findings]


def id_for(birth: str, male: bool) -> str:
    first17 = f"350102{birth}12{1 if male else 2}"
    return first17 + check_digit(first17)


CASES = [
    # (changes to row 3, field, severity, code)
    ({"name": "  "}, "name", "error", "required-missing"),
    ({"sex": "M"}, "sex", "error", "sex-invalid"),
    ({"birth_date": "1985-02-30"}, "birth_date", "error", "date-invalid"),
    ({"issue_date": dt.date(2027, 1, 1)}, "issue_date", "error", "date-future"),
    ({"education": "函授"}, "education", "warning", "education-unknown"),
    ({"id_number": 350102198503121234}, "id_number", "error", "stored-as-number"),
    ({"id_number": "3.50102E+17"}, "id_number", "error", "stored-as-number"),
    ({"id_number": "35010219850312123"}, "id_number", "error", "id-length"),
    ({"id_number": "3501021985031212A4"}, "id_number", "error", "id-characters"),
    ({"id_number": "350102198502301234"}, "id_number", "error", "id-birth-impossible"),
    ({"id_number": "350102198503121230"}, "id_number", "error", "id-check-digit"),
    ({"level": "特级"}, "level", "error", "level-unknown"),
    ({"level": "初级/中级"}, "level", "error", "level-unknown"),
    ({"theory_score": "缺考"}, "theory_score", "error", "score-not-number"),
    ({"skill_score": 100.5}, "skill_score", "error", "score-out-of-range"),
    ({"skill_score": -1}, "skill_score", "error", "score-out-of-range"),
    ({"theory_score": 85.25}, "theory_score", "error", "score-decimals"),
    ({"skill_score": 59.5}, "skill_score", "error", "score-fail"),
    ({"result": "不合格"}, "result", "error", "result-not-pass"),
    ({"certificate_no": "093501100150001"}, "certificate_no", "error", "cert-format"),
    ({"certificate_no": "09350110015000１X"}, "certificate_no", "error", "cert-format"),
    ({"certificate_no": 1935011001500011}, "certificate_no", "error", "stored-as-number"),
    ({"exam_no": 12345678901234567}, "exam_no", "error", "stored-as-number"),
    ({"center": "福州"}, "center", "warning", "center-incomplete"),
    ({"name": "王𪚥"}, "name", "warning", "name-rare-characters"),
    ({"occupation": "车工\x0b"}, "occupation", "warning", "control-characters"),
]


@pytest.mark.parametrize("changes, field, severity, code", CASES, ids=[c[3] + str(i) for i, c in enumerate(CASES)])
def test_each_rule_gives_its_finding(write_xlsx, tmp_path, rows, changes, field, severity, code):
    rows[0].update(changes)
    if any("\x0b" in str(v) for v in changes.values()):  # openpyxl refuses control characters; CSV carries them
        path = write_roster_csv(tmp_path / "r.csv", rows)
        row = 2
    else:
        path, row = write_xlsx(rows), 3
    assert flatten(validate(path, today=TODAY)) == [(row, field, severity, code)]


def test_id_must_agree_with_birth_date_and_sex(write_xlsx, rows):
    rows[0].update(id_number=id_for("19850312", male=True), birth_date=dt.date(1985, 3, 21), sex="女")
    assert flatten(validate(write_xlsx(rows), today=TODAY)) == [
        (3, "birth_date", "error", "id-birth-mismatch"),
        (3, "sex", "error", "id-sex-mismatch"),
    ]


def test_sex_codes_of_gb_t_2261_print_as_words(write_xlsx, rows):
    rows[0].update(id_number=id_for("19850312", male=True), birth_date=dt.date(1985, 3, 12), sex=1)
    checked = check_roster(write_xlsx(rows), today=TODAY, keep=True)
    assert checked.report.valid and checked.candidates[0]["sex"] == "男"


def test_legacy_15_digit_id_is_a_warning(write_xlsx, rows):
    rows[0].update(id_number="350102850312123", birth_date=dt.date(1985, 3, 12), sex="男")
    assert flatten(validate(write_xlsx(rows), today=TODAY)) == [(3, "id_number", "warning", "id-legacy")]


def test_lower_case_x_and_full_width_digits_in_ids_are_normalised(write_xlsx, rows):
    id_number = rows[0]["id_number"]
    rows[0]["id_number"] = " " + id_number[:6].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + \
        id_number[6:].lower() + "\u3000"
    checked = check_roster(write_xlsx(rows), today=TODAY, keep=True)
    assert checked.report.valid and checked.candidates[0]["id_number"] == id_number


def test_certificate_number_stored_as_number_gets_its_leading_zero_back(write_xlsx, rows):
    cert = rows[0]["certificate_no"]
    rows[0]["certificate_no"] = int(cert)
    checked = check_roster(write_xlsx(rows), today=TODAY, keep=True)
    assert flatten(checked.report) == [(3, "certificate_no", "warning", "cert-leading-zero-restored")]
    assert checked.candidates[0]["certificate_no"] == cert


def test_certificate_level_digit_must_agree_with_level(write_xlsx, rows):
    rows[0].update(level="一级/高级技师")
    assert flatten(validate(write_xlsx(rows), today=TODAY)) == [
        (3, "certificate_no", "error", "cert-level-mismatch")]


@pytest.mark.parametrize("level", ["五级", "初级", "初级（国家职业资格五级）", "五级/初级",
                                   "国家职业资格五级", "初级工"])
def test_level_forms_are_all_recognised(write_xlsx, rows, level):
    rows[0]["certificate_no"] = rows[0]["certificate_no"][:10] + "5" + rows[0]["certificate_no"][11:]
    rows[0]["level"] = level
    checked = check_roster(write_xlsx(rows), today=TODAY, keep=True)
    assert checked.report.valid and checked.candidates[0]["level"] == level  # printed as written


def test_certificate_year_and_province_are_warnings(write_xlsx, rows):
    cert = rows[0]["certificate_no"]
    rows[0]["certificate_no"] = "08" + cert[2:]
    other = rows[1]["certificate_no"]
    rows[1]["certificate_no"] = other[:2] + "44" + other[4:]
    assert flatten(validate(write_xlsx(rows), today=TODAY)) == [
        (3, "certificate_no", "warning", "cert-year-mismatch"),
        (4, "certificate_no", "warning", "cert-province"),
    ]


def test_unusual_age_is_a_warning(write_xlsx, rows):
    rows[0].update(birth_date=dt.date(1995, 1, 1), id_number=id_for("19950101", True), sex="男")
    assert flatten(validate(write_xlsx(rows), today=TODAY)) == [(3, "birth_date", "warning", "age-unusual")]


def test_duplicates_flag_the_later_row(write_xlsx, rows):
    first = rows[0]
    rows[2]["certificate_no"] = first["certificate_no"]
    rows[2]["level"] = first["level"]
    rows[3].update({k: first[k] for k in ("id_number", "sex", "birth_date")}, name="别人")
    rows[4].update({k: first[k] for k in ("id_number", "sex", "birth_date", "name", "occupation", "level")})
    rows[4]["certificate_no"] = first["certificate_no"][:11] + "99999"
    assert flatten(validate(write_xlsx(rows), today=TODAY)) == [
        (5, "certificate_no", "error", "duplicate-certificate"),
        (6, "id_number", "error", "duplicate-id-name"),
        (7, "id_number", "error", "duplicate-id-occupation"),
    ]


def test_one_person_passing_two_occupations_is_normal(write_xlsx, rows):
    first = rows[0]
    rows[1].update({k: first[k] for k in ("id_number", "sex", "birth_date", "name")}, occupation="另一职业")
    assert validate(write_xlsx(rows), today=TODAY).valid


def test_missing_and_duplicated_columns_are_file_level_errors(tmp_path, rows):
    from openpyxl import Workbook

    from fjvoucher.layout import FIELDS

    book = Workbook()
    sheet = book.active
    keys = [f.key for f in FIELDS if f.key != "certificate_no"] + ["name"]
    sheet.append([f.header for f in FIELDS if f.key != "certificate_no"] + ["姓名"])
    for row in rows:
        sheet.append([row[k] for k in keys])
    book.save(tmp_path / "cols.xlsx")
    report = validate(tmp_path / "cols.xlsx", today=TODAY)
    assert flatten(report) == [(None, "certificate_no", "error", "column-missing"),
                               (None, "name", "error", "column-duplicated")]
    assert report.valid_rows == 0


def test_header_not_found(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["甲", "乙"])
    book.active.append([1, 2])
    book.save(tmp_path / "nohead.xlsx")
    assert flatten(validate(tmp_path / "nohead.xlsx")) == [(None, None, "error", "header-not-found")]


def test_extra_columns_are_mentioned_once(write_xlsx, rows):
    for row in rows:
        row["seq"] = 1
    report = validate(write_xlsx(rows, extra_headers={"序号": "seq", "备注": "seq"}), today=TODAY)
    assert flatten(report) == [(None, None, "warning", "columns-ignored")]
    assert "序号、备注" in report.findings[0].message()


def test_the_error_sample_shows_one_finding_of_each_kind():
    from fjvoucher.messages import MESSAGES
    from fjvoucher.word.master import prepare_template

    report = validate(SAMPLES / "roster_with_errors.xlsx", today=TODAY, boxes=prepare_template().boxes)
    codes = [f.code for f in report.findings]
    assert len(codes) == len(set(codes)) >= 30

    file_level = {"header-not-found", "column-missing", "column-duplicated", "other-sheets",
                  "cell-too-long"}  # a 32,768-character cell has its own test
    merge_only = {"center-missing", "photo-missing", "photo-unreadable", "photos-none", "no-glyph", "ledger-changed",
                  "ledger-reissue", "ledger-retired", "voucher-no-clash", "upload-missing",
                  "ledger-other-centre"}
    failures = {code for code in MESSAGES if code.startswith("master-")}  # why a master is refused: not findings
    hostile = {"name-invisible", "name-no-letter", "formula-error"}  # tests/hostile/test_rosters.py
    assert set(MESSAGES) - set(codes) == file_level | merge_only | failures | hostile


def test_the_valid_sample_is_valid():
    report = validate(SAMPLES / "roster.xlsx", today=TODAY)
    assert (report.rows, report.valid_rows, report.errors, report.warnings) == (50, 50, 0, 0)


def test_the_glyph_probe_is_handed_in_so_the_same_roster_gives_the_same_findings(write_xlsx, rows):
    rows[0]["name"] = "王𪚥"
    path = write_xlsx(rows)
    asked = []

    def no_font_has(char):
        asked.append(char)
        return False

    assert [f.code for f in validate(path, today=TODAY, glyphs=no_font_has).findings] == ["no-glyph"]
    assert asked == ["𪚥"]
    assert [f.code for f in validate(path, today=TODAY, glyphs=lambda c: True).findings] == ["name-rare-characters"]
    assert [f.code for f in validate(path, today=TODAY).findings] == ["name-rare-characters"]  # no probe: no program


def test_an_id_stored_as_a_number_is_shown_as_excel_shows_it_and_what_is_lost(write_xlsx, rows):
    rows[0]["id_number"] = 350105196710305983  # Excel keeps 350105196710306000 (15 digits)
    finding = validate(write_xlsx(rows), today=TODAY).findings[0]
    text = finding.message("zh")
    assert finding.code == "stored-as-number"
    assert "3.50105E+17" in text and "350105196710306000" in text and "末尾 3 位" in text
    assert "350105196710305984" not in text  # the float's own digits: never shown in Excel


def test_a_number_typed_as_excel_shows_it_counts_its_lost_digits(write_xlsx, rows):
    rows[0]["id_number"] = "3.50102E+17"
    text = validate(write_xlsx(rows), today=TODAY).findings[0].message("zh")
    assert "3.50102E+17" in text and "末尾 12 位" in text
