"""The ledger as the commands use it: a storage backend, the batch that issues, and the state changes.

The notice makes a centre answer authenticity queries (凭证真伪的查询), honour the one-year
validity, stop issuing once national certificates arrive, and report each month's vouchers.
Every state change reads the voucher again inside its own write transaction, so two clerks
(or a `reissue` and a `revoke` run together) can never both act on the same old state.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from fjvoucher.errors import LedgerError
from fjvoucher.ledger import witness
from fjvoucher.ledger.audit import (
    AuditReport,
    audit,
    head_problem,
    proved_voucher,
    require_sound,
    rows_problem,
    voucher_problem,
)
from fjvoucher.ledger.backends import open_storage
from fjvoucher.ledger.chain import Chain, build_chain, open_chain
from fjvoucher.ledger.issuing import Batch, change_status, give_code, required_reason
from fjvoucher.ledger.keys import CentreKey, fingerprint, key_path, load_key
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
        self.storage: Storage = open_storage(path, create=create, readonly=readonly, clock=clock,
                                             upgrade=lambda storage: build_chain(storage, self.key))
        self.path = self.storage.path
        self.clock = self.storage.clock
        self.notes: list[str] = [n for n in self.storage.notes if n]  # e.g. the upgrade that chained the history
        if self.storage.created and (known := witness.seen(self.path)):  # a ledger deleted, a new one begun
            witness.forget(self.path)
            self.notes.append(f"注意：这里原有的台账（本机见过 {known[0]} 条事件）已不在，已新建空台账 {self.path}。"
                              "如果原台账是被误删的，请用 fjvoucher restore-backup 恢复 (a new ledger where one was)")

    @functools.cached_property
    def key(self) -> CentreKey:
        """Return the centre key that signs this ledger's head (made on first use).

        A ledger already signed with a key this computer does not hold is refused, never re-signed
        with a new one: that would hide whatever was done to it.
        """
        storage = getattr(self, "storage", None)  # None while the ledger is being made or upgraded: no head yet
        head = storage.head() if storage is not None else None
        if load_key(create=False) is None and head and head.count:
            raise LedgerError(f"凭证台账 {self.path} 由密钥 {fingerprint(head.public_key)} 签名，本机没有中心签名密钥 "
                              f"{key_path()}。请从密钥备份恢复它（backup --with-key 的 .key.pem 文件）"
                              "(this computer lacks the key that signed the ledger)", code="ledger-error")
        key = load_key(create=True)
        assert key is not None  # create=True always gives one
        return key

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
        """Return the vouchers matching every filter given (month of 发证日期), by issue date and NO.

        The signed head and the count of rows are checked first (no walk: `audit` walks).
        """
        self.require_sound(rows=True)
        today = today or self.clock().date()
        vouchers = self.storage.select(month=month, status=status, expiring_within=expiring_within, today=today)
        self.require_rows([v.voucher_no for v in vouchers])
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

    # --- proving itself ---------------------------------------------------------------------------

    def require_sound(self, voucher_no: str | None = None, *, count_all: bool = True, rows: bool = False) -> None:
        """Raise LedgerError unless the signed head matches the chain (and voucher `voucher_no` its events)."""
        with self.snapshot():
            require_sound(self.storage, voucher_no, count_all=count_all, rows=rows)

    def require_voucher(self, voucher_no: str) -> None:
        """Raise LedgerError unless voucher `voucher_no`'s events and row prove themselves (no head check)."""
        if problem := voucher_problem(self.storage, voucher_no):
            raise self._tampered(voucher_no, problem)

    def snapshot(self) -> AbstractContextManager[None]:
        """Return a context in which every read sees one state of the ledger (see the backends' `snapshot`)."""
        return self.storage.snapshot()

    def proved(self, voucher_no: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no`, or None; raise LedgerError unless its events and row prove
        themselves (a deleted row still has its events: refused, never "not found")."""
        voucher, problem = proved_voucher(self.storage, voucher_no)
        if problem:
            raise self._tampered(voucher_no, problem)
        return voucher

    def _tampered(self, voucher_no: str, problem: str) -> LedgerError:
        return LedgerError(f"凭证台账 {self.path} 与其签名的记录不符：凭证 {voucher_no}：{problem}。"
                           "请运行 fjvoucher audit 查看，并用备份恢复 (the ledger does not prove itself)",
                           code="ledger-tampered")

    def require_rows(self, numbers: list[str]) -> None:
        """Raise LedgerError unless the head proves itself and the rows of `numbers` are what their events make."""
        if problem := head_problem(self.storage) or rows_problem(self.storage, numbers):
            raise LedgerError(f"凭证台账 {self.path} 与其签名的记录不符：{problem}。请运行 fjvoucher audit 查看，"
                              "并用备份恢复 (the ledger does not prove itself)", code="ledger-tampered")

    def audit(self, centres: set[str] | None = None) -> AuditReport:
        """Walk the whole ledger: chain, signature, schema and every voucher row (of `centres`' chains only,
        where a registry keeps one chain per centre)."""
        return audit(self.storage, centres)

    # --- writing: each change reads the voucher again under the write lock ------------------------

    @contextmanager
    def _writing(self) -> Iterator[Chain]:
        """Yield the chain inside one write transaction; sign its new head before the commit.

        The head is checked first: writing on top of a tampered chain and signing it would hide the tampering.
        """
        with self.storage.transaction():
            chain = open_chain(self.storage)  # first: a centre's turn on its chain (PostgreSQL) comes before its checks
            require_sound(self.storage, count_all=False)
            yield chain
            chain.sign(self.key)
        if chain.count != chain.started:
            witness.remember(self.path, chain.count, chain.hash, self.key.public_key)

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Yield a batch to record vouchers in; it commits when the block ends without an error.

        The merge renders and stages the batch's files inside the block: a failure anywhere
        records nothing, and the files are moved into place only after the commit.
        """
        with self._writing() as chain:
            yield Batch(chain)

    def revoke(self, voucher_no: str, reason: str) -> Voucher:
        """Revoke a voucher in force (issued by mistake); return it as it was."""
        reason = required_reason(reason)
        with self._writing() as chain:
            voucher = require_status(self.storage.get(voucher_no), voucher_no, "issued", "作废")
            change_status(chain, voucher, "revoked", "revoked", reason)
        return voucher

    def restore(self, voucher_no: str, reason: str) -> Voucher:
        """Undo a revocation or a supersession made by mistake: the voucher is in force again; return it as it was."""
        reason = required_reason(reason)
        with self._writing() as chain:
            voucher = require_status(self.storage.get(voucher_no), voucher_no, ("revoked", "superseded"), "恢复")
            cert = voucher.fields["certificate_no"]
            other = next((v for v in self.storage.for_certificate(cert) if v.status == "issued"), None)
            if other:
                raise LedgerError(f"证书 {cert} 已有有效凭证 {other.voucher_no}，不能恢复 {voucher_no}",
                                  code="certificate-in-force")
            change_status(chain, voucher, "issued", "restored", reason)
        return voucher

    def supersede(self, certificate_numbers: list[str], reason: str = NATIONAL_CERTIFICATE
                  ) -> tuple[list[str], list[str]]:
        """Retire the vouchers of certificates whose national certificate arrived.

        Return the NOs superseded and the certificate numbers that had no voucher in force.
        """
        done, unknown = [], []
        with self._writing() as chain:
            for cert in dict.fromkeys(certificate_numbers):
                current = next((v for v in self.storage.for_certificate(cert) if v.status == "issued"), None)
                if current is None:
                    unknown.append(cert)
                    continue
                change_status(chain, current, "superseded", "superseded", required_reason(reason))
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
        if not self.storage.without_code():
            return 0  # nothing to give: no write, no lock
        with self._writing() as chain:
            missing = self.storage.without_code()
            for number in missing:
                give_code(chain, number)
        return len(missing)
