import datetime as dt

import pytest

from fjvoucher.roster.idcard import IdInfo, IdProblem, check_digit, mask_id, parse_id


@pytest.mark.parametrize("first17, expected", [
    ("11010519491231002", "X"),  # the worked example of GB 11643-1999
    ("44052418800101001", "4"),
    ("35010219850312121", "3"),
])
def test_check_digit_follows_iso_7064_mod_11_2(first17, expected):
    assert check_digit(first17) == expected


def test_valid_18_digit_id_gives_birth_and_sex():
    info = parse_id("11010519491231002X")
    assert info == IdInfo(dt.date(1949, 12, 31), "女", False)


def test_legacy_15_digit_id_is_accepted_and_marked():
    info = parse_id("350102850312123")
    assert info == IdInfo(dt.date(1985, 3, 12), "男", True)


@pytest.mark.parametrize("number, code", [
    ("1101051949123100", "id-length"),
    ("11010519491231002Y", "id-characters"),
    ("1101051949123100XX", "id-characters"),
    ("110105194902300026", "id-birth-impossible"),
    ("110105194912310021", "id-check-digit"),
])
def test_invalid_ids_name_their_problem(number, code):
    problem = parse_id(number)
    assert isinstance(problem, IdProblem) and problem.code == code


def test_mask_keeps_area_and_last_four():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_id("350102850312123") == "350102*****2123"
