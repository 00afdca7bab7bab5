"""What checking a roster hands on: candidates to print and rows that get no voucher."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fjvoucher.layout import FIELDS
from fjvoucher.roster.report import Finding

KEY_INDEX = {f.key: i for i, f in enumerate(FIELDS)}


@dataclass(slots=True)
class Candidate:
    """One valid roster row: the text each field prints, in `FIELDS` order, and its parsed dates."""

    row: int
    values: tuple[str, ...]
    birth: dt.date | None
    issue: dt.date | None
    extra: tuple[str, ...] = ()  # text of columns outside the layout that a caller asked for (鉴定站 …)

    def __getitem__(self, key: str) -> str:
        return self.values[KEY_INDEX[key]]

    def as_dict(self) -> dict[str, str]:
        """Return the printed text of every field keyed by field key."""
        return {f.key: v for f, v in zip(FIELDS, self.values, strict=True)}


@dataclass(slots=True)
class Rejected:
    """A row that gets no voucher: its cells exactly as read and the findings that stop it."""

    row: int
    cells: list
    findings: list[Finding]
