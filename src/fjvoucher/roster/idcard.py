"""Citizen ID numbers (公民身份号码, GB 11643-1999): check digit, birth date, sex, masking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


@dataclass(frozen=True)
class IdProblem:
    """Why an ID number is not valid: a stable code and its parameters."""

    code: str
    params: dict


@dataclass(frozen=True)
class IdInfo:
    """What a valid ID number says: birth date, sex, and whether it is a 15-digit legacy number."""

    birth: dt.date
    sex: str
    legacy: bool


def check_digit(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_id(number: str) -> IdInfo | IdProblem:
    """Return what `number` says, or the first problem that makes it invalid."""
    if len(number) not in (15, 18):
        return IdProblem("id-length", {"length": len(number)})
    body = number[:17] if len(number) == 18 else number
    if not body.isdigit() or not (len(number) == 15 or number[17].isdigit() or number[17] == "X"):
        return IdProblem("id-characters", {})
    if len(number) == 18:
        birth_text, sex_digit = number[6:14], number[16]
    else:
        birth_text, sex_digit = "19" + number[6:12], number[14]
    try:
        birth = dt.date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:8]))
    except ValueError:
        return IdProblem("id-birth-impossible", {"birth": birth_text})
    if birth.year < 1900:
        return IdProblem("id-birth-impossible", {"birth": birth_text})
    if len(number) == 18:
        expected = check_digit(number[:17])
        if number[17] != expected:
            return IdProblem("id-check-digit", {"expected": expected, "found": number[17]})
    return IdInfo(birth, "男" if int(sex_digit) % 2 else "女", len(number) == 15)


def upgraded_id(number: str) -> str:
    """Return a 15-digit legacy number as the 18-digit number it became (19 before the year, a check digit);
    any other number as it is."""
    if len(number) != 15 or not number.isdigit():
        return number
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_digit(first17)


def mask_id(number: str) -> str:
    """Return `number` with the middle hidden (350102********123X); short strings are hidden whole."""
    if len(number) < 11:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
