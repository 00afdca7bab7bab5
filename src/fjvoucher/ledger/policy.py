"""The issuing rule, once: what becomes of a roster row given what the ledger already holds.

Pure functions of the certificate's history, the row and the options.  `validate` and merge's
pre-check turn the decision into findings; issuing applies it again inside the write
transaction, where the history is read under the lock, so a race cannot slip past it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fjvoucher.errors import LedgerError
from fjvoucher.layout import FIELD_BY_KEY, FIELDS
from fjvoucher.ledger.storage import Voucher
from fjvoucher.messages import STATUS_WORDS

PRINTED_KEYS = tuple(f.key for f in FIELDS if f.key not in ("voucher_no", "exam_no"))  # what "changed?" compares
RETIRED = ("revoked", "superseded")


@dataclass(frozen=True)
class Decision:
    """What to do with a row: keep its voucher, issue a new one, replace one, or refuse (with a code)."""

    action: str  # keep, issue, replace, refuse
    code: str = ""  # the finding code: ledger-changed, ledger-retired (refuse), ledger-reissue (replace)
    voucher: Voucher | None = None  # the voucher in force, or the retired one the row would follow
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)


def decide(history: list[Voucher], entry: dict, *, reissue: bool) -> Decision:
    """Return what issuing `entry` means given its certificate's `history` (oldest first).

    The same record keeps its voucher; a changed record, or a certificate whose voucher was
    revoked or superseded, is refused unless `reissue`, which replaces it under a new NO.
    """
    current = next((v for v in history if v.status == "issued"), None)
    if current:
        changes = differences(current.fields, entry)
        if not changes:
            return Decision("keep", voucher=current)
        if reissue:
            return Decision("replace", "ledger-reissue", current, changes)
        return Decision("refuse", "ledger-changed", current, changes)
    latest = history[-1] if history else None
    if latest and latest.status in RETIRED:
        return Decision("replace", "", latest) if reissue else Decision("refuse", "ledger-retired", latest)
    return Decision("issue")


def other_centre_severity(other: Voucher | None, decision: Decision, mode: str) -> str | None:
    """Return how a new certificate's row is held when another centre has the same candidate in force.

    Same ID, occupation and level under another centre's voucher: "error" (mode refuse) or
    "warning" (mode warn); None when there is no such voucher or the row issues nothing new.
    """
    if other is None or decision.action != "issue":
        return None
    return "warning" if mode == "warn" else "error"


def other_centre_error(entry: dict, other: Voucher) -> LedgerError:
    """Return the refusal of a candidate another centre issued (raised under the lock, in the batch)."""
    return LedgerError(f"证书 {entry['certificate_no']}：此人同一职业、同一等级已由中心 {other.center_code} 发过凭证 "
                       f"{other.voucher_no}（证书编号 {other.fields['certificate_no']}）(issued by another centre)",
                       code="ledger-other-centre")


def own_no_clash(own_no: str, holder: Voucher | None, certificate_no: str, decision: Decision,
                 reissue: bool) -> str | None:
    """Return what the roster's own NO clashes with ('' for none), or None: the NO is free to use.

    A NO the ledger gives another certificate, or a new NO for a certificate that already has a
    voucher in force (without `reissue`), cannot be printed.
    """
    if holder and holder.fields["certificate_no"] != certificate_no:
        return holder.fields["certificate_no"]
    current = decision.voucher if decision.voucher and decision.voucher.status == "issued" else None
    if current and not holder and not reissue:
        return f"{certificate_no}（台账中为 {current.voucher_no}）"
    return None


def require_status(voucher: Voucher | None, voucher_no: str, status: str | tuple[str, ...], action: str) -> Voucher:
    """Return `voucher` when it exists with `status` (or one of them); raise LedgerError saying why not."""
    allowed = (status,) if isinstance(status, str) else status
    if voucher is None:
        raise LedgerError(f"台账中没有凭证 {voucher_no} (no such voucher)", code="voucher-not-found")
    if voucher.status not in allowed:
        words = "」或「".join(STATUS_WORDS[s] for s in allowed)
        raise LedgerError(f"凭证 {voucher_no} 现为「{STATUS_WORDS[voucher.status]}」，不能{action}"
                          f"（只有「{words}」的凭证可以）", code="voucher-wrong-status")
    return voucher


def differences(recorded: dict[str, str], entry: dict) -> dict[str, tuple[str, str]]:
    """Return the printed fields whose text differs: key → (recorded, now)."""
    return {k: (recorded.get(k, ""), entry.get(k, "")) for k in PRINTED_KEYS
            if recorded.get(k, "") != entry.get(k, "")}


def describe(changes: dict[str, tuple[str, str]], mask: Callable[[str], str] | None = None) -> str:
    """Return the differences for the clerk: 姓名「张三」→「张山」…; ID numbers through `mask`."""
    def shown(key: str, text: str) -> str:
        return mask(text) if mask and key == "id_number" else text

    return "；".join(f"{FIELD_BY_KEY[k].header}「{shown(k, old)}」→「{shown(k, new)}」"
                    for k, (old, new) in changes.items())
