"""The template contract: every name a voucher master may print, and the index Word field names map through.

A docxtpl master writes `{{ name }}`; a Word mail-merge master writes «姓名» or «理论成绩»; both end
up as the names below.  This module imports nothing of ours but `layout`, so the master, the
MERGEFIELD converter and the CLI can all read it without importing each other.
"""

from __future__ import annotations

from fjvoucher.layout import FIELDS, fold_key

DATE_PARTS = ("birth_year", "birth_month", "birth_day", "issue_year", "issue_month", "issue_day")
EXTRA_NAMES = ("photo", "reissue", "replaces", "verify_code", "qr")
CONTRACT: tuple[str, ...] = tuple(f.key for f in FIELDS) + DATE_PARTS + EXTRA_NAMES
# Names every voucher of a batch shares, so they may sit in a batch's one header or footer.
BATCH_SHARED = frozenset({"center", "issue_date", *DATE_PARTS[3:]})

PHOTO_NAMES = ("照片", "相片", "PHOTO", "{{PHOTO}}", "«照片»")
DATE_PART_NAMES = {"出生年": "birth_year", "出生月": "birth_month", "出生日": "birth_day",
                   "发证年": "issue_year", "发证月": "issue_month", "发证日": "issue_day"}
DATE_FIELD_PREFIX = {"birth_date": "birth", "issue_date": "issue"}  # a date field and its parts' prefix


def _name_index() -> dict[str, str]:
    index = {fold_key(name): f.key for f in FIELDS for name in (f.header, f.key, *f.aliases)}
    index.update({fold_key(name): key for name, key in DATE_PART_NAMES.items()})
    index.update({fold_key(name): name for name in CONTRACT})
    index.update({fold_key(name): "photo" for name in PHOTO_NAMES})
    return index


NAME_INDEX: dict[str, str] = _name_index()  # folded field name as a master writes it → contract name
PHOTO_KEYS = frozenset(fold_key(name) for name in PHOTO_NAMES)


def contract_name(written: str) -> str | None:
    """Return the contract name a Word merge field name (header, alias, key, 出生年 …) fills, or None."""
    return NAME_INDEX.get(fold_key(written))


def known_field_names() -> list[str]:
    """Return the names a merge field may use: the layout's headers, the date parts, 照片, the contract names."""
    return [f.header for f in FIELDS] + list(DATE_PART_NAMES) + ["照片"] + [n for n in CONTRACT if n != "photo"]
