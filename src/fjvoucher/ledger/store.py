"""The ledger: every voucher issued, its NO, validity and status, in an embedded SQLite database.

The notice makes a centre answer authenticity queries (凭证真伪的查询), honour the one-year
validity, stop issuing once national certificates arrive, and report each month's vouchers.
One transaction per merge batch: a merge killed at any moment leaves the ledger as it was
before that batch or after it.  A certificate has at most one voucher in force (a partial
unique index), and a NO is never issued twice (the primary key, serials taken under a write lock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fjvoucher.errors import LedgerError
from fjvoucher.failures import explain_sqlite_error
from fjvoucher.layout import FIELD_BY_KEY, FIELDS, half_width
from fjvoucher.messages import STATUS_WORDS

LOCK_TIMEOUT_S = 60.0  # how long a merge waits for another one's batch before giving up
DEFAULT_NAME = "fjvoucher.db"
ENV_VAR = "FJVOUCHER_LEDGER"
DEFAULT_PATTERN = "{center_code}-{year}-{serial:06d}"
FIELD_KEYS = tuple(f.key for f in FIELDS if f.key != "voucher_no")
PRINTED_KEYS = tuple(k for k in FIELD_KEYS if k != "exam_no")  # what the voucher shows, for "changed?"
STATUSES = ("issued", "replaced", "revoked")
NATIONAL_CERTIFICATE = "国家职业资格证书已发放"

MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        "CREATE TABLE vouchers ("
        " voucher_no TEXT PRIMARY KEY,"
        + "".join(f" {key} TEXT NOT NULL DEFAULT ''," for key in FIELD_KEYS)
        + " issued_on TEXT NOT NULL,"      # ISO date of 发证日期
        " expires_on TEXT NOT NULL,"       # ISO date, the day before the first anniversary
        " template_sha256 TEXT NOT NULL,"
        " batch_file TEXT NOT NULL DEFAULT '',"
        " page INTEGER,"
        " status TEXT NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'replaced', 'revoked')),"
        " status_reason TEXT NOT NULL DEFAULT '',"
        " replaces TEXT NOT NULL DEFAULT '',"
        " replaced_by TEXT NOT NULL DEFAULT '',"
        " created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL)",
        "CREATE UNIQUE INDEX one_in_force_per_certificate ON vouchers (certificate_no) WHERE status = 'issued'",
        "CREATE INDEX vouchers_by_certificate ON vouchers (certificate_no)",
        "CREATE INDEX vouchers_by_issue_date ON vouchers (issued_on)",
        "CREATE TABLE serials (center_code TEXT NOT NULL, year INTEGER NOT NULL, last INTEGER NOT NULL,"
        " PRIMARY KEY (center_code, year))",
    ]),
]


@dataclass(frozen=True)
class Voucher:
    """One row of the ledger."""

    voucher_no: str
    fields: dict[str, str]
    issued_on: dt.date
    expires_on: dt.date
    status: str
    status_reason: str
    replaces: str
    replaced_by: str
    batch_file: str
    page: int | None

    def state(self, today: dt.date) -> str:
        """Return genuine, expired, replaced or revoked as of `today`."""
        if self.status != "issued":
            return self.status
        return "expired" if today > self.expires_on else "genuine"


@dataclass(frozen=True)
class Issued:
    """What the ledger decided for one candidate of a batch: its NO, and the NO it replaces, if any."""

    voucher_no: str
    replaces: str = ""


def default_path() -> Path:
    """Return the ledger path: $FJVOUCHER_LEDGER, else fjvoucher.db in the working folder."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_NAME)


def expiry(issued_on: dt.date) -> dt.date:
    """Return the last day of validity: one year from issue, the day before the anniversary."""
    try:
        anniversary = issued_on.replace(year=issued_on.year + 1)
    except ValueError:  # 29 February: the anniversary is 1 March
        anniversary = dt.date(issued_on.year + 1, 3, 1)
    return anniversary - dt.timedelta(days=1)


def _explained(method):
    """Turn SQLite's errors inside a ledger method into a LedgerError naming the file and what to do."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise LedgerError(f"凭证台账 {self.path}：{explain_sqlite_error(exc)}") from exc

    return wrapper


class Ledger:
    """An open ledger database."""

    @_explained
    def __init__(self, path: Path | str):
        self.path = Path(path)
        _create_private(self.path)
        self.db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S, isolation_level=None)  # we BEGIN ourselves
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one write transaction, taken at once so two merges never interleave."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        latest = MIGRATIONS[-1][0]
        if version > latest:
            raise LedgerError(f"凭证台账 {self.path} 由更新版本的 fjvoucher 建立（版本 {version}），请升级 fjvoucher")
        for number, statements in MIGRATIONS:
            if number > version:
                with self.transaction() as db:
                    for statement in statements:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number}")

    # --- reading -------------------------------------------------------------------------------

    @_explained
    def get(self, voucher_no: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no`, or None."""
        row = self.db.execute("SELECT * FROM vouchers WHERE voucher_no = ?", (voucher_no,)).fetchone()
        return _voucher(row) if row else None

    @_explained
    def for_certificate(self, certificate_no: str) -> list[Voucher]:
        """Return every voucher ever issued for `certificate_no`, oldest first."""
        rows = self.db.execute("SELECT * FROM vouchers WHERE certificate_no = ? ORDER BY created_at, voucher_no",
                               (certificate_no,)).fetchall()
        return [_voucher(r) for r in rows]

    @_explained
    def in_force(self, certificate_no: str) -> Voucher | None:
        """Return the voucher in force for `certificate_no` (status issued), or None."""
        row = self.db.execute("SELECT * FROM vouchers WHERE certificate_no = ? AND status = 'issued'",
                              (certificate_no,)).fetchone()
        return _voucher(row) if row else None

    @_explained
    def select(self, *, month: str | None = None, status: str | None = None,
               expiring_within: int | None = None, today: dt.date | None = None) -> list[Voucher]:
        """Return the vouchers matching every filter given, by issue date and NO."""
        clauses, params = [], []
        if month:
            clauses.append("substr(issued_on, 1, 7) = ?")
            params.append(month)
        if status in STATUSES:
            clauses.append("status = ?")
            params.append(status)
        if expiring_within is not None:
            today = today or dt.date.today()
            clauses.append("status = 'issued' AND expires_on >= ? AND expires_on <= ?")
            params += [today.isoformat(), (today + dt.timedelta(days=expiring_within)).isoformat()]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(f"SELECT * FROM vouchers {where} ORDER BY issued_on, voucher_no", params)
        vouchers = [_voucher(r) for r in rows]
        if status in ("genuine", "expired"):
            today = today or dt.date.today()
            vouchers = [v for v in vouchers if v.state(today) == status]
        return vouchers

    # --- writing -------------------------------------------------------------------------------

    @_explained
    def issue_batch(self, entries: list[dict], *, template_sha256: str, center_code: str | None,
                    pattern: str = DEFAULT_PATTERN, reissue: bool = False) -> list[Issued]:
        """Record one batch of vouchers in one transaction; return each candidate's NO.

        Each entry holds the printed fields, `issued_on` (a date), `batch_file` and `page`.
        A certificate already in the ledger with the same record keeps its NO; with a changed
        record it is an error unless `reissue`, which replaces the old voucher with a new NO.
        """
        now = dt.datetime.now().isoformat(timespec="seconds")
        with self.transaction() as db:
            return [self._issue_one(db, entry, now, template_sha256, center_code, pattern, reissue)
                    for entry in entries]

    def _issue_one(self, db, entry: dict, now: str, template_sha256: str, center_code: str | None,
                   pattern: str, reissue: bool) -> Issued:
        current = self.in_force(entry["certificate_no"])
        changes = differences(current.fields, entry) if current else {}
        if current and not changes:
            db.execute("UPDATE vouchers SET batch_file = ?, page = ?, template_sha256 = ?, updated_at = ? "
                       "WHERE voucher_no = ?",
                       (entry["batch_file"], entry["page"], template_sha256, now, current.voucher_no))
            return Issued(current.voucher_no, replaces=current.replaces)
        if current and not reissue:
            raise LedgerError(f"证书 {entry['certificate_no']} 已有凭证 {current.voucher_no}，但名册内容有变化："
                              f"{describe(changes)}。如需补发请加 --reissue")
        number = entry.get("voucher_no") or self._next_number(db, entry, center_code, pattern)
        if current:
            db.execute("UPDATE vouchers SET status = 'replaced', status_reason = '补发', replaced_by = ?, "
                       "updated_at = ? WHERE voucher_no = ?", (number, now, current.voucher_no))
        self._insert(db, number, entry, now, template_sha256, current.voucher_no if current else "")
        return Issued(number, replaces=current.voucher_no if current else "")

    def _next_number(self, db, entry: dict, center_code: str | None, pattern: str) -> str:
        """Take the next serial of the centre and year, skipping numbers a roster already used."""
        code = center_code or entry["certificate_no"][2:6]
        year = entry["issued_on"].year
        while True:
            row = db.execute("INSERT INTO serials (center_code, year, last) VALUES (?, ?, 1) "
                             "ON CONFLICT (center_code, year) DO UPDATE SET last = last + 1 RETURNING last",
                             (code, year)).fetchone()
            number = pattern.format(center_code=code, year=year, serial=row[0])
            if not db.execute("SELECT 1 FROM vouchers WHERE voucher_no = ?", (number,)).fetchone():
                return number

    def _insert(self, db, number: str, entry: dict, now: str, template_sha256: str, replaces: str) -> None:
        columns = ["voucher_no", *FIELD_KEYS, "issued_on", "expires_on", "template_sha256", "batch_file", "page",
                   "replaces", "created_at", "updated_at"]
        values = [number, *(entry.get(k, "") for k in FIELD_KEYS), entry["issued_on"].isoformat(),
                  expiry(entry["issued_on"]).isoformat(), template_sha256, entry["batch_file"], entry["page"],
                  replaces, now, now]
        try:
            db.execute(f"INSERT INTO vouchers ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})",
                       values)
        except sqlite3.IntegrityError as exc:
            raise LedgerError(f"凭证编号 {number} 已被使用，不能重复发放 ({exc})") from exc

    @_explained
    def set_status(self, voucher_no: str, status: str, reason: str) -> Voucher:
        """Mark a voucher in force as replaced or revoked; return it as it was."""
        voucher = self.get(voucher_no)
        if voucher is None:
            raise LedgerError(f"台账中没有凭证 {voucher_no}")
        if voucher.status != "issued":
            raise LedgerError(f"凭证 {voucher_no} 已是「{STATUS_WORDS[voucher.status]}」状态，不能再改为"
                              f"「{STATUS_WORDS[status]}」")
        with self.transaction() as db:
            db.execute("UPDATE vouchers SET status = ?, status_reason = ?, updated_at = ? WHERE voucher_no = ?",
                       (status, reason, dt.datetime.now().isoformat(timespec="seconds"), voucher_no))
        return voucher

    @_explained
    def supersede(self, certificate_numbers: list[str]) -> tuple[list[str], list[str]]:
        """Mark the vouchers of certificates whose national certificate arrived as replaced.

        Return the NOs replaced and the certificate numbers that had no voucher in force.
        """
        replaced, unknown = [], []
        now = dt.datetime.now().isoformat(timespec="seconds")
        with self.transaction() as db:
            for cert in dict.fromkeys(certificate_numbers):
                row = db.execute("SELECT voucher_no FROM vouchers WHERE certificate_no = ? AND status = 'issued'",
                                 (cert,)).fetchone()
                if row is None:
                    unknown.append(cert)
                    continue
                db.execute("UPDATE vouchers SET status = 'replaced', status_reason = ?, updated_at = ? "
                           "WHERE voucher_no = ?", (NATIONAL_CERTIFICATE, now, row[0]))
                replaced.append(row[0])
        return replaced, unknown


def differences(recorded: dict[str, str], entry: dict) -> dict[str, tuple[str, str]]:
    """Return the printed fields whose text differs: key → (recorded, now)."""
    return {k: (recorded.get(k, ""), entry.get(k, "")) for k in PRINTED_KEYS
            if recorded.get(k, "") != entry.get(k, "")}


def describe(changes: dict[str, tuple[str, str]]) -> str:
    """Return the differences for the clerk: 姓名「张三」→「张山」…"""
    return "；".join(f"{FIELD_BY_KEY[k].header}「{old}」→「{new}」" for k, (old, new) in changes.items())


def _voucher(row: sqlite3.Row) -> Voucher:
    try:
        return Voucher(
            voucher_no=row["voucher_no"], fields={k: row[k] for k in FIELD_KEYS},
            issued_on=dt.date.fromisoformat(row["issued_on"]), expires_on=dt.date.fromisoformat(row["expires_on"]),
            status=row["status"], status_reason=row["status_reason"], replaces=row["replaces"],
            replaced_by=row["replaced_by"], batch_file=row["batch_file"], page=row["page"])
    except (TypeError, ValueError) as exc:  # a row edited by hand outside fjvoucher
        raise LedgerError(f"台账中凭证 {row['voucher_no']} 的记录已损坏（{exc}），请用备份恢复或联系技术支持 "
                          "(a damaged ledger row)") from exc


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds ID numbers."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another merge created it a moment ago
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


@dataclass(frozen=True)
class Verification:
    """The answer to "is this voucher genuine?": a state, and the voucher when one matched."""

    state: str  # genuine, expired, replaced, revoked, not-found
    voucher: Voucher | None


def verify(ledger: Ledger, voucher_no: str, *, name: str | None = None, id_number: str | None = None,
           today: dt.date | None = None) -> Verification:
    """Check a voucher against the ledger; a wrong name or ID answers exactly like an unknown NO."""
    voucher = ledger.get(voucher_no.strip())
    matches = voucher is not None and (
        (name is not None and half_width(name) == half_width(voucher.fields["name"]))
        or (id_number is not None and half_width(id_number).upper() == voucher.fields["id_number"]))
    if not matches:
        return Verification("not-found", None)
    return Verification(voucher.state(today or dt.date.today()), voucher)
