"""The answer to "is this voucher genuine?", disclosing no more than the paper shows.

A query names the NO and either the holder's name, the ID number or the code printed on the
voucher; any mismatch answers exactly like an unknown NO, so the answer never confirms a NO.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from fjvoucher.layout import half_width, normalise_no, without_invisible
from fjvoucher.ledger.storage import Voucher
from fjvoucher.ledger.store import Ledger
from fjvoucher.messages import STATUS_WORDS, status_text
from fjvoucher.querycode import normalise_code
from fjvoucher.roster.cells import chinese_date
from fjvoucher.roster.idcard import mask_id


@dataclass(frozen=True)
class Verification:
    """The answer: a state (genuine, expired, replaced, revoked, superseded, unknown) and the voucher if found."""

    state: str
    voucher: Voucher | None

    def to_dict(self, lang: str = "zh") -> dict:
        """Return what the paper shows, as verify --format json and the web API answer it."""
        if self.voucher is None:
            return {"status": "unknown", "status_text": status_text("unknown", lang)}
        v = self.voucher
        return {"status": self.state, "status_text": status_text(self.state, lang), "voucher_no": v.voucher_no,
                "name": v.fields["name"], "occupation": v.fields["occupation"], "level": v.fields["level"],
                "issued_on": v.issued_on.isoformat(), "expires_on": v.expires_on.isoformat(),
                "id_number": mask_id(v.fields["id_number"]), "replaced_by": v.replaced_by or None}

    def lines(self) -> list[str]:
        """Return the answer for the clerk, in Chinese."""
        if self.voucher is None:
            return [f"{STATUS_WORDS['unknown']}（编号与姓名、身份证号或查询码不符）(not found)"]
        v = self.voucher
        status = STATUS_WORDS[self.state] + (f"，已由 {v.replaced_by} 替换" if v.replaced_by else "")
        return [f"凭证 {v.voucher_no}：{status} ({self.state})",
                f"  姓名 {v.fields['name']}  身份证号 {mask_id(v.fields['id_number'])}",
                f"  职业 {v.fields['occupation']}  等级 {v.fields['level']}",
                f"  发证日期 {chinese_date(v.issued_on)}  有效期至 {chinese_date(v.expires_on)}"]


def same_name(typed: str, printed: str) -> bool:
    """Return True when a typed name is the printed one: widths, spaces and invisible characters aside.

    Vouchers issued before invisible characters were refused may hold them; the page's reader sees
    the name without them and types it so.
    """
    return half_width(without_invisible(typed)) == half_width(without_invisible(printed))


def verify(ledger: Ledger, voucher_no: str, *, name: str | None = None, id_number: str | None = None,
           code: str | None = None, today: dt.date | None = None, count_all: bool = True) -> Verification:
    """Check a voucher against the ledger; a wrong name, ID or code answers exactly like an unknown NO.

    Every credential given must match (the web form may send a name and a code); none given matches
    nothing.  Exactly like an unknown NO, in time too: an unknown NO is checked against a stand-in
    voucher, so both cost one lookup that finds a row, one that does not, and the same comparisons
    (a NO with a wrong name was 50 µs slower than an unknown NO: a stopwatch told which NOs exist).
    First the ledger must prove itself (signed head; this NO's events and row): a tampered ledger
    raises LedgerError rather than answer.  `count_all=False` (a server, per query) skips counting
    every event.  The stand-in's events are checked too, so the proof costs the same either way.
    """
    number = normalise_no(voucher_no)
    with ledger.snapshot():  # a merge committing meanwhile is not half seen (a head before, events after)
        ledger.require_sound(count_all=count_all)
        found = ledger.proved(number)  # read with its proof; a deleted row still has its events: refused
        stand_in_no = ledger.sample_no()
        held = found or ledger.proved(stand_in_no)
        if found is not None:
            ledger.proved("")  # the lookup that finds nothing, which an unknown NO made above: one of each, both ways
    if held is None:  # an empty ledger: nothing to tell apart
        return Verification("unknown", None)
    given = any(x is not None for x in (name, id_number, code))
    name_ok = name is None or same_name(name, held.fields["name"])
    id_ok = id_number is None or _same(half_width(id_number).upper(), held.fields["id_number"])
    code_ok = code is None or (held.verify_code != "" and _same(normalise_code(code), held.verify_code))
    if found is None or not given or not (name_ok and id_ok and code_ok):
        return Verification("unknown", None)
    return Verification(found.state(today or ledger.clock().date()), found)


def _same(typed: str, kept: str) -> bool:
    """Compare in time that does not depend on where the two differ."""
    return hmac.compare_digest(typed.encode("utf-8"), kept.encode("utf-8"))
