"""Candidates holding vouchers in force from more than one centre: the same person, occupation and level.

A candidate examined twice, in two cities, gets two certificates for one skill; the notice's one
registry is where that shows.  Levels are compared by their number (四级/中级 and 中级 are one level).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from fjvoucher.ledger.storage import Voucher
from fjvoucher.ledger.store import Ledger
from fjvoucher.roster.cells import level_digit
from fjvoucher.roster.idcard import mask_id


@dataclass(frozen=True)
class Duplicate:
    """One candidate's vouchers in force from several centres, oldest NO first."""

    id_number: str
    occupation: str
    level: str
    vouchers: tuple[Voucher, ...]

    def line(self, show_id: bool = False) -> str:
        """Return the duplicate in one line for the province's clerk (ID masked unless `show_id`)."""
        shown = self.id_number if show_id else mask_id(self.id_number)
        held = "、".join(f"{v.voucher_no}（中心 {v.center_code}，证书 {v.fields['certificate_no']}，"
                        f"{v.fields['name']}）" for v in self.vouchers)
        return f"{shown} {self.occupation} {self.level}：{held}"

    def to_dict(self, show_id: bool = False) -> dict:
        """Return the duplicate as JSON data."""
        return {"id_number": self.id_number if show_id else mask_id(self.id_number), "occupation": self.occupation,
                "level": self.level, "vouchers": [{"voucher_no": v.voucher_no, "center_code": v.center_code,
                                                   "certificate_no": v.fields["certificate_no"],
                                                   "name": v.fields["name"]} for v in self.vouchers]}


def find_duplicates(ledger: Ledger) -> list[Duplicate]:
    """Return every candidate with vouchers in force from more than one centre, by ID number."""
    groups: dict[tuple[str, str, int | str], list[Voucher]] = defaultdict(list)
    for voucher in ledger.select(status="issued"):
        level = voucher.fields["level"]
        key = (voucher.fields["id_number"], voucher.fields["occupation"], level_digit(level) or level)
        groups[key].append(voucher)
    found = []
    for (id_number, occupation, _), vouchers in sorted(groups.items(), key=lambda item: str(item[0])):
        if len({v.center_code for v in vouchers}) > 1:
            ordered = tuple(sorted(vouchers, key=lambda v: v.voucher_no))
            found.append(Duplicate(id_number, occupation, ordered[0].fields["level"], ordered))
    return found
