"""Issue 19, classes 12, 13 and 19: names that print alike, one person under two ID numbers, formula errors."""

import pytest

from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.pdf.libreoffice import find_soffice
from fjvoucher.roster.checks import validate
from hostile import corpus
from support import TODAY


def flat(report) -> list[tuple]:
    return [(f.row, f.column, f.code) for f in report.findings if f.severity == "error"]


# --- 12: invisible characters and names without letters --------------------------------------------

def test_invisible_characters_in_a_name_are_errors_naming_the_character(tmp_path):
    report = validate(corpus.roster_invisible_names(tmp_path), today=TODAY)
    count = len(corpus.INVISIBLE_NAMES)
    assert [(f.row, f.code) for f in report.findings if f.severity == "error"] == (
        [(n, "name-invisible") for n in range(3, 3 + count)]
        + [(n, "name-no-letter") for n in range(3 + count, 3 + count + len(corpus.MARKS_ONLY_NAMES))])
    said = [f.message() for f in report.findings]
    assert "U+200B ZERO WIDTH SPACE" in said[0] and "王⟨U+200B⟩芳" in said[0]
    assert "U+202E" in said[1] and "U+00AD" in said[2] and "U+3164" in said[7]


def test_merge_prints_no_voucher_for_them(tmp_path):
    result = merge_roster(corpus.roster_invisible_names(tmp_path), tmp_path / "out",
                          MergeOptions(format="docx", today=TODAY, ledger=tmp_path / "l.db"))
    assert not result.written


def test_verify_takes_the_name_as_printed_whatever_invisible_characters_it_was_typed_with(tmp_path):
    from fjvoucher.ledger.store import Ledger
    from fjvoucher.ledger.verify import verify
    from support.synthetic import make_candidates, write_roster_xlsx

    rows = make_candidates(1, seed=93)
    rows[0]["name"] = "王芳"
    merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                 MergeOptions(format="docx", today=TODAY, ledger=tmp_path / "l.db"))
    with Ledger(tmp_path / "l.db", create=False) as ledger:
        (voucher,) = ledger.select()
        assert verify(ledger, voucher.voucher_no, name="王\u200b芳").state != "unknown"
        assert verify(ledger, voucher.voucher_no, name="王\u200b").state == "unknown"


# --- 13: a 15-digit legacy ID is the same person as its 18-digit number ----------------------------

def test_a_legacy_id_and_its_18_digit_number_are_one_person(tmp_path):
    report = validate(corpus.roster_legacy_duplicates(tmp_path), today=TODAY)
    errors = [(f.row, f.code) for f in report.findings if f.severity == "error"]
    assert errors == [(4, "duplicate-id-occupation"), (6, "duplicate-id-name")]  # data from row 3
    assert all("*****" in f.message() for f in report.findings if f.code.startswith("duplicate"))


# --- 19: formula errors are errors naming the cell, never blank or 0 -------------------------------


def test_error_and_uncalculated_formula_cells_in_xlsx_name_the_cell(tmp_path):
    report = validate(corpus.roster_formula_errors_xlsx(tmp_path), today=TODAY)
    found = [(f.row, f.field, f.code, f.params.get("value")) for f in report.findings if f.severity == "error"]
    assert found == [(3, "name", "formula-error", "#REF!"), (4, "theory_score", "formula-error", "#DIV/0!"),
                     (5, "name", "formula-error", "（公式未计算）")]
    assert report.valid_rows == 1


def test_error_cells_in_csv_are_errors_too(tmp_path):
    report = validate(corpus.roster_formula_errors_csv(tmp_path), today=TODAY)
    found = [(f.row, f.field, f.code, f.params.get("value")) for f in report.findings if f.severity == "error"]
    assert found == [(2, "name", "formula-error", "#REF!"), (3, "theory_score", "formula-error", "#DIV/0!"),
                     (4, "name", "formula-error", "Err:502")]


def test_an_ods_error_stored_as_zero_is_not_a_person_named_0(tmp_path):
    path = corpus.roster_formula_errors_ods(tmp_path)
    report = validate(path, today=TODAY)
    found = [(f.row, f.field, f.code, f.params.get("value")) for f in report.findings if f.severity == "error"]
    assert found == [(2, "name", "formula-error", "#DIV/0!"), (3, "theory_score", "formula-error", "#REF!")]
    result = merge_roster(path, tmp_path / "out", MergeOptions(format="docx", today=TODAY, ledger=tmp_path / "l.db",
                                                               skip_invalid=True))
    assert result.merged == 1


@pytest.mark.slow
@pytest.mark.skipif(find_soffice() is None, reason="needs LibreOffice to write the .xls")
def test_error_cells_in_an_xls_saved_by_libreoffice_name_the_cell(tmp_path):
    xls = corpus.roster_formula_errors_xls(tmp_path)
    report = validate(xls, today=TODAY)
    found = [(f.row, f.field, f.code, f.params.get("value")) for f in report.findings if f.severity == "error"]
    assert found == [(3, "name", "formula-error", "#REF!"), (4, "theory_score", "formula-error", "#DIV/0!")]
