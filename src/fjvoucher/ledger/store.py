"""The ledger as the commands use it: a storage backend, the batch that issues, and the state changes.

The notice makes a centre answer authenticity queries (凭证真伪的查询), honour the one-year
validity, stop issuing once national certificates arrive, and report each month's vouchers.
Every state change reads the voucher again inside its own write transaction, so two clerks
(or a `reissue` and a `revoke` run together) can never both act on the same old state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from fjvoucher.errors import LedgerError
from fjvoucher.ledger.backends import open_storage
from fjvoucher.ledger.issuing import Batch, change_status, new_code, record_event, required_reason
from fjvoucher.ledger.location import Location
from fjvoucher.ledger.policy import require_status
from fjvoucher.ledger.storage import Clock, Event, Storage, Voucher
from fjvoucher.messages import NATIONAL_CERTIFICATE


class Ledger:
    """An open ledger.

    `create=False` (every command that only reads or changes existing vouchers) refuses a missing
    ledger instead of creating an empty one; `readonly` opens it without write access (serve).
    """

    def __init__(self, path: Location, *, create: bool = True, readonly: bool = False,
                 clock: Clock | None = None):
        self.storage: Storage = open_storage(path, create=create, readonly=readonly, clock=clock)
        self.path = self.storage.path
        self.clock = self.storage.clock

    def close(self) -> None:
        """Close the ledger."""
        self.storage.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------------

    def get(self, voucher_no: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no`, or None."""
        return self.storage.get(voucher_no)

    def sample_no(self) -> str:
        """Return the NO of some voucher ("" in an empty ledger)."""
        return self.storage.sample_no()

    def by_code(self, voucher_no: str, code: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no` whose verification code is `code`, or None."""
        return self.storage.by_code(voucher_no, code)

    def for_certificate(self, certificate_no: str) -> list[Voucher]:
        """Return every voucher ever issued for `certificate_no`, oldest first."""
        return self.storage.for_certificate(certificate_no)

    def select(self, *, month: str | None = None, status: str | None = None,
               expiring_within: int | None = None, today: dt.date | None = None) -> list[Voucher]:
        """Return the vouchers matching every filter given (month of 发证日期), by issue date and NO."""
        today = today or self.clock().date()
        vouchers = self.storage.select(month=month, status=status, expiring_within=expiring_within, today=today)
        if status in ("genuine", "expired"):
            vouchers = [v for v in vouchers if v.state(today) == status]
        return vouchers

    def history(self, voucher_no: str) -> list[Event]:
        """Return the events of `voucher_no`, oldest first."""
        return self.storage.history(voucher_no)

    def events_between(self, start: dt.datetime, end: dt.datetime) -> list[Event]:
        """Return the events at or after `start` and before `end`, in order."""
        return self.storage.events_between(start, end)

    def in_force_elsewhere(self, id_number: str, occupation: str, level: str, center_code: str) -> Voucher | None:
        """Return a voucher in force for the same person, occupation and level from another centre, or None."""
        return self.storage.in_force_elsewhere(id_number, occupation, level, center_code)

    def status_at(self, voucher_no: str, moment: dt.datetime) -> str:
        """Return the status `voucher_no` had just before `moment`."""
        return self.storage.status_at(voucher_no, moment)

    def issue_time(self, voucher_nos: list[str]) -> dt.datetime | None:
        """Return when the latest of `voucher_nos` was first recorded (a batch's document date), or None."""
        return self.storage.issue_time(voucher_nos)

    # --- writing: each change reads the voucher again under the write lock ------------------------

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Yield a batch to record vouchers in; it commits when the block ends without an error.

        The merge renders and stages the batch's files inside the block: a failure anywhere
        records nothing, and the files are moved into place only after the commit.
        """
        with self.storage.transaction():
            yield Batch(self.storage)

    def revoke(self, voucher_no: str, reason: str) -> Voucher:
        """Revoke a voucher in force (issued by mistake); return it as it was."""
        reason = required_reason(reason)
        with self.storage.transaction():
            voucher = require_status(self.storage.get(voucher_no), voucher_no, "issued", "作废")
            change_status(self.storage, voucher, "revoked", "revoked", reason)
        return voucher

    def restore(self, voucher_no: str, reason: str) -> Voucher:
        """Undo a revocation or a supersession made by mistake: the voucher is in force again; return it as it was."""
        reason = required_reason(reason)
        with self.storage.transaction():
            voucher = require_status(self.storage.get(voucher_no), voucher_no, ("revoked", "superseded"), "恢复")
            cert = voucher.fields["certificate_no"]
            other = next((v for v in self.storage.for_certificate(cert) if v.status == "issued"), None)
            if other:
                raise LedgerError(f"证书 {cert} 已有有效凭证 {other.voucher_no}，不能恢复 {voucher_no}",
                                  code="certificate-in-force")
            change_status(self.storage, voucher, "issued", "restored", reason)
        return voucher

    def supersede(self, certificate_numbers: list[str], reason: str = NATIONAL_CERTIFICATE
                  ) -> tuple[list[str], list[str]]:
        """Retire the vouchers of certificates whose national certificate arrived.

        Return the NOs superseded and the certificate numbers that had no voucher in force.
        """
        done, unknown = [], []
        with self.storage.transaction():
            for cert in dict.fromkeys(certificate_numbers):
                current = next((v for v in self.storage.for_certificate(cert) if v.status == "issued"), None)
                if current is None:
                    unknown.append(cert)
                    continue
                change_status(self.storage, current, "superseded", "superseded", required_reason(reason))
                done.append(current.voucher_no)
        return done, unknown

    def in_force(self, certificate_numbers: list[str]) -> tuple[list[Voucher], list[str]]:
        """Return the vouchers in force for `certificate_numbers` and the numbers that have none (read only)."""
        found, unknown = [], []
        for cert in dict.fromkeys(certificate_numbers):
            current = next((v for v in self.storage.for_certificate(cert) if v.status == "issued"), None)
            if current is None:
                unknown.append(cert)
            else:
                found.append(current)
        return found, unknown

    def ensure_codes(self) -> int:
        """Give every voucher without a verification code one (recorded as an event); return how many."""
        with self.storage.transaction():
            missing = self.storage.without_code()
            for number in missing:
                self.storage.set_code(number, new_code())
                record_event(self.storage, number, "coded")
        return len(missing)
