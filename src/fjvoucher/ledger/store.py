"""The ledger: every voucher produced, its NO, validity and status, and the events that made them.

The notice makes a centre answer authenticity queries (凭证真伪的查询), honour the one-year
validity, stop issuing once national certificates arrive, and report each month's vouchers.
History is kept as events that are never edited (SQLite triggers refuse it); a voucher's status
is the outcome of its events.  A certificate has at most one voucher in force (a partial unique
index), and a NO is never issued twice (the primary key, serials taken under a write lock).
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import os
import secrets
import shutil
import sqlite3
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fjvoucher.errors import InputError, LedgerError
from fjvoucher.failures import explain_sqlite_error
from fjvoucher.layout import FIELD_BY_KEY, FIELDS, valid_until
from fjvoucher.ledger.schema import APPLICATION_ID, LATEST, MIGRATIONS
from fjvoucher.messages import STATUS_WORDS

FREE_SPACE_NEEDED = 1 << 20  # below this a failed write is taken for a full disk
LOCK_TIMEOUT_S = 60.0  # how long a merge waits for another one's batch before giving up
DEFAULT_PATTERN = "{center_code}-{year}-{serial:06d}"
PATTERN_KEYS = {"center_code", "year", "serial"}
MAX_NO_LENGTH = 40
FIELD_KEYS = tuple(f.key for f in FIELDS if f.key != "voucher_no")
PRINTED_KEYS = tuple(k for k in FIELD_KEYS if k != "exam_no")  # what the voucher shows, for "changed?"
STATUSES = ("issued", "replaced", "revoked", "superseded")
STATUS_EVENTS = ("replaced", "revoked", "restored", "superseded")  # events that change a voucher's status
NATIONAL_CERTIFICATE = "国家职业资格证书已发放"
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 12  # 60 bits

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Voucher:
    """One voucher as the ledger knows it, with the reason and counterpart of its last status change."""

    voucher_no: str
    fields: dict[str, str]
    issued_on: dt.date
    expires_on: dt.date
    status: str  # issued, replaced, revoked, superseded
    reason: str  # of the last status change ('' for none)
    replaces: str
    replaced_by: str
    batch_file: str
    page: int | None
    verify_code: str
    center_code: str

    def state(self, today: dt.date) -> str:
        """Return genuine, expired, replaced, revoked or superseded as of `today`."""
        if self.status != "issued":
            return self.status
        return "expired" if today > self.expires_on else "genuine"


@dataclass(frozen=True)
class Event:
    """One change in a voucher's life; never edited once written."""

    voucher_no: str
    kind: str  # issued, reissued, replaced, revoked, restored, superseded, coded
    at: dt.datetime
    reason: str
    actor: str
    other_no: str  # the voucher replaced (reissued) or replacing (replaced)


@dataclass(frozen=True)
class Issued:
    """What the ledger recorded for one candidate of a batch: its NO, the NO it replaces, its code."""

    voucher_no: str
    replaces: str = ""
    verify_code: str = ""


def check_pattern(pattern: str) -> None:
    """Raise InputError unless `pattern` makes bounded NOs from {center_code}, {year} and {serial}."""
    try:
        keys = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
        sample = pattern.format(center_code="3501", year=2009, serial=999999)
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise InputError(f"--no-pattern「{pattern}」写法有误：{exc} (bad NO pattern)") from exc
    if "serial" not in keys:
        raise InputError(f"--no-pattern「{pattern}」必须含有 {{serial}}（流水号），否则编号会重复 (needs {{serial}})")
    if keys - PATTERN_KEYS:
        raise InputError(f"--no-pattern「{pattern}」中的 {'、'.join(sorted(keys - PATTERN_KEYS))} 不认识；"
                         "只能用 {center_code}、{year}、{serial} (unknown keys)")
    if len(sample) > MAX_NO_LENGTH:
        raise InputError(f"--no-pattern「{pattern}」生成的编号超过 {MAX_NO_LENGTH} 个字符 (NOs too long)")


def new_code() -> str:
    """Return an unguessable verification code: 12 Crockford base32 characters, 60 random bits."""
    bits = secrets.randbits(5 * CODE_LENGTH)  # one call to the system's randomness, not twelve
    return "".join(CODE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(CODE_LENGTH))


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name on this machine (a service account, a container)
        return ""


def _explained(method):
    """Turn SQLite's errors inside a ledger method into a LedgerError naming the file and what to do."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise ledger_error(self.path, exc) from exc

    return wrapper


def ledger_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    """Return the one-line error for a SQLite failure on the ledger at `path`.

    SQLite says "disk I/O error" or "unable to open" for a full or read-only disk (the WAL files
    cannot be written); the file system tells which it is.
    """
    folder = path.resolve().parent
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return LedgerError(f"凭证台账 {path}：所在的磁盘或文件夹是只读的，请检查权限或换一个位置 (read-only)")
    try:
        full = shutil.disk_usage(folder).free < FREE_SPACE_NEEDED
    except OSError:
        full = False
    if full:
        return LedgerError(f"凭证台账 {path}：磁盘已满，请腾出空间后重新运行；台账没有被改动 (disk full)")
    return LedgerError(f"凭证台账 {path}：{explain_sqlite_error(exc)}")


class Ledger:
    """An open ledger database.

    `create=False` (every command that only reads or changes existing vouchers) refuses a missing
    file instead of creating an empty ledger; `readonly` opens it without write access (serve).
    """

    @_explained
    def __init__(self, path: Path | str, *, create: bool = True, readonly: bool = False,
                 clock: Clock | None = None):
        self.path = Path(path)
        self.clock = clock or dt.datetime.now
        if not self.path.is_file() and not create:
            raise InputError(f"找不到凭证台账 {self.path}。请检查 --ledger 或 fjvoucher config 中的 ledger 设置 "
                             "(ledger not found)")
        if create:
            _create_private(self.path)
        _keep_private(self.path)
        uri = self.path.resolve().as_uri() + ("?mode=ro" if readonly else "")
        self.db = sqlite3.connect(uri, uri=True, timeout=LOCK_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            self.db.row_factory = sqlite3.Row
            self._check_ours()
            if not readonly:
                self._migrate()
                self.db.execute("PRAGMA journal_mode = WAL")  # readers (serve) never wait for a merge
        except BaseException:
            self.db.close()
            raise

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

    def _check_ours(self) -> None:
        """Refuse a SQLite file that is not a fjvoucher ledger, before anything is written to it."""
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        fresh = not tables and version == 0 and app_id == 0
        legacy = app_id == 0 and version == 1 and {"vouchers", "serials"} <= tables  # written by 0.1.0
        if not (fresh or legacy or app_id == APPLICATION_ID):
            raise LedgerError(f"凭证台账 {self.path}：这不是凭证台账文件，不会改动它。请检查 --ledger 指向的文件 "
                              "(not a fjvoucher ledger)")
        if version > LATEST:
            raise LedgerError(f"凭证台账 {self.path} 由更新版本的 fjvoucher 建立（版本 {version}），请升级 fjvoucher")

    def _migrate(self) -> None:
        for number, script in MIGRATIONS:
            if self.db.execute("PRAGMA user_version").fetchone()[0] >= number:
                continue
            with self.transaction() as db:
                # Read again under the write lock: another merge may have migrated meanwhile.
                if db.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    # --- reading -------------------------------------------------------------------------------

    _SELECT = ("SELECT v.*, coalesce(e.reason, '') AS last_reason, coalesce(e.kind, '') AS last_kind, "
               "coalesce(e.other_no, '') AS last_other FROM vouchers v LEFT JOIN events e ON e.id = "
               "(SELECT max(id) FROM events WHERE voucher_no = v.voucher_no AND kind IN "
               "('replaced', 'revoked', 'restored', 'superseded'))")

    @_explained
    def get(self, voucher_no: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no`, or None."""
        row = self.db.execute(f"{self._SELECT} WHERE v.voucher_no = ?", (voucher_no,)).fetchone()
        return _voucher(row) if row else None

    @_explained
    def by_code(self, voucher_no: str, code: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no` whose verification code is `code`, or None."""
        row = self.db.execute(f"{self._SELECT} WHERE v.voucher_no = ? AND v.verify_code = ? AND v.verify_code <> ''",
                              (voucher_no, code)).fetchone()
        return _voucher(row) if row else None

    @_explained
    def for_certificate(self, certificate_no: str) -> list[Voucher]:
        """Return every voucher ever issued for `certificate_no`, oldest first."""
        rows = self.db.execute(f"{self._SELECT} WHERE v.certificate_no = ? ORDER BY v.created_at, v.voucher_no",
                               (certificate_no,)).fetchall()
        return [_voucher(r) for r in rows]

    @_explained
    def select(self, *, month: str | None = None, status: str | None = None,
               expiring_within: int | None = None, today: dt.date | None = None) -> list[Voucher]:
        """Return the vouchers matching every filter given (month of 发证日期), by issue date and NO."""
        today = today or self.clock().date()
        clauses, params = [], []
        if month:
            clauses.append("substr(v.issued_on, 1, 7) = ?")
            params.append(month)
        if status in STATUSES:
            clauses.append("v.status = ?")
            params.append(status)
        if expiring_within is not None:
            clauses.append("v.status = 'issued' AND v.expires_on >= ? AND v.expires_on <= ?")
            params += [today.isoformat(), (today + dt.timedelta(days=expiring_within)).isoformat()]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(f"{self._SELECT} {where} ORDER BY v.issued_on, v.voucher_no", params)
        vouchers = [_voucher(r) for r in rows]
        if status in ("genuine", "expired"):
            vouchers = [v for v in vouchers if v.state(today) == status]
        return vouchers

    @_explained
    def history(self, voucher_no: str) -> list[Event]:
        """Return the events of `voucher_no`, oldest first."""
        rows = self.db.execute("SELECT * FROM events WHERE voucher_no = ? ORDER BY id", (voucher_no,))
        return [_event(r) for r in rows]

    @_explained
    def events_between(self, start: dt.datetime, end: dt.datetime) -> list[Event]:
        """Return the events at or after `start` and before `end`, in order."""
        rows = self.db.execute("SELECT * FROM events WHERE at >= ? AND at < ? ORDER BY at, id",
                               (_stamp(start), _stamp(end)))
        return [_event(r) for r in rows]

    @_explained
    def status_at(self, voucher_no: str, moment: dt.datetime) -> str:
        """Return the status `voucher_no` had just before `moment` (issued, replaced, revoked, superseded)."""
        row = self.db.execute("SELECT kind FROM events WHERE voucher_no = ? AND at < ? AND kind IN "
                              "('replaced', 'revoked', 'restored', 'superseded') ORDER BY id DESC LIMIT 1",
                              (voucher_no, _stamp(moment))).fetchone()
        return "issued" if row is None or row[0] == "restored" else row[0]

    # --- writing -------------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Yield a batch to record vouchers in; it commits when the block ends without an error.

        The merge renders and stages the batch's files inside the block: a failure anywhere
        records nothing, and the files are moved into place only after the commit.
        """
        try:
            with self.transaction() as db:
                yield Batch(self, db)
        except sqlite3.Error as exc:
            raise ledger_error(self.path, exc) from exc

    @_explained
    def revoke(self, voucher_no: str, reason: str) -> Voucher:
        """Revoke a voucher in force (issued by mistake); return it as it was."""
        voucher = self.require(voucher_no, "issued", "作废")
        with self.transaction() as db:
            self._change(db, voucher, "revoked", "revoked", _reason(reason))
        return voucher

    @_explained
    def restore(self, voucher_no: str, reason: str) -> Voucher:
        """Undo a revocation: the voucher is in force again; return it as it was."""
        voucher = self.require(voucher_no, "revoked", "恢复")
        with self.transaction() as db:
            other = db.execute("SELECT voucher_no FROM vouchers WHERE certificate_no = ? AND status = 'issued'",
                               (voucher.fields["certificate_no"],)).fetchone()
            if other:
                raise LedgerError(f"证书 {voucher.fields['certificate_no']} 已有有效凭证 {other[0]}，不能恢复 {voucher_no}")
            self._change(db, voucher, "issued", "restored", _reason(reason))
        return voucher

    @_explained
    def supersede(self, certificate_numbers: list[str], reason: str = NATIONAL_CERTIFICATE) -> tuple[list[str], list[str]]:
        """Retire the vouchers of certificates whose national certificate arrived.

        Return the NOs superseded and the certificate numbers that had no voucher in force.
        """
        done, unknown = [], []
        with self.transaction() as db:
            for cert in dict.fromkeys(certificate_numbers):
                row = db.execute(f"{self._SELECT} WHERE v.certificate_no = ? AND v.status = 'issued'",
                                 (cert,)).fetchone()
                if row is None:
                    unknown.append(cert)
                    continue
                self._change(db, _voucher(row), "superseded", "superseded", reason)
                done.append(row["voucher_no"])
        return done, unknown

    @_explained
    def ensure_codes(self) -> int:
        """Give every voucher without a verification code one (recorded as an event); return how many."""
        with self.transaction() as db:
            missing = [r[0] for r in db.execute("SELECT voucher_no FROM vouchers WHERE verify_code = ''")]
            for number in missing:
                db.execute("UPDATE vouchers SET verify_code = ? WHERE voucher_no = ?", (new_code(), number))
                self.event(db, number, "coded")
        return len(missing)

    def require(self, voucher_no: str, status: str, action: str) -> Voucher:
        """Return the voucher `voucher_no` when its status is `status`; raise LedgerError saying why not."""
        voucher = self.get(voucher_no)
        if voucher is None:
            raise LedgerError(f"台账中没有凭证 {voucher_no} (no such voucher)")
        if voucher.status != status:
            raise LedgerError(f"凭证 {voucher_no} 现为「{STATUS_WORDS[voucher.status]}」，不能{action}"
                              f"（只有「{STATUS_WORDS[status]}」的凭证可以）")
        return voucher

    def _change(self, db, voucher: Voucher, status: str, kind: str, reason: str, other_no: str = "") -> None:
        db.execute("UPDATE vouchers SET status = ? WHERE voucher_no = ?", (status, voucher.voucher_no))
        self.event(db, voucher.voucher_no, kind, reason, other_no)

    def event(self, db, voucher_no: str, kind: str, reason: str = "", other_no: str = "") -> None:
        """Append one event (inside the caller's transaction)."""
        db.execute("INSERT INTO events (voucher_no, kind, at, reason, actor, other_no) VALUES (?, ?, ?, ?, ?, ?)",
                   (voucher_no, kind, _stamp(self.clock()), reason, _actor(), other_no))


class Batch:
    """Vouchers being recorded inside one open write transaction (see `Ledger.batch`)."""

    def __init__(self, ledger: Ledger, db: sqlite3.Connection):
        self.ledger, self.db = ledger, db

    def issue(self, entries: list[dict], *, template_sha256: str, center_code: str | None,
              pattern: str = DEFAULT_PATTERN, reissue: bool = False, reserved: frozenset[str] = frozenset()
              ) -> list[Issued]:
        """Record one batch of vouchers; return each candidate's NO.

        Each entry holds the printed fields, `issued_on` (a date), `batch_file` and `page`.
        A certificate whose voucher in force has the same record keeps its NO; a changed record
        is an error unless `reissue`, which replaces the old voucher with a new NO.  New serials
        skip `reserved`: NOs the roster itself gives to later rows.
        """
        return [self._issue_one(entry, template_sha256, center_code, pattern, reissue, reserved)
                for entry in entries]

    def _issue_one(self, entry: dict, template_sha256: str, center_code: str | None, pattern: str,
                   reissue: bool, reserved: frozenset[str]) -> Issued:
        history = self.ledger.for_certificate(entry["certificate_no"])
        current = next((v for v in history if v.status == "issued"), None)
        changes = differences(current.fields, entry) if current else {}
        if current and not changes:
            code = current.verify_code or self._give_code(current.voucher_no)
            self.db.execute("UPDATE vouchers SET batch_file = ?, page = ?, template_sha256 = ? WHERE voucher_no = ?",
                            (entry["batch_file"], entry["page"], template_sha256, current.voucher_no))
            return Issued(current.voucher_no, current.replaces, code)
        retired = history[-1] if history and not current and history[-1].status in ("revoked", "superseded") else None
        if (current or retired) and not reissue:
            voucher = current or retired
            raise LedgerError(f"证书 {entry['certificate_no']} 已有凭证 {voucher.voucher_no}（{STATUS_WORDS[voucher.status]}）"
                              f"{'，名册内容有变化：' + describe(changes) if changes else ''}。如需补发请加 --reissue")
        code = center_code or entry["certificate_no"][2:6]
        number = entry.get("voucher_no") or self._next_number(code, entry["issued_on"].year, pattern, reserved)
        old = current or retired
        if current:
            self.ledger._change(self.db, current, "replaced", "replaced", "补发", number)
        issued = self._insert(number, entry, template_sha256, code, old.voucher_no if old else "")
        self.ledger.event(self.db, number, "reissued" if old else "issued", "补发" if old else "",
                          old.voucher_no if old else "")
        return issued

    def replace(self, old: Voucher, reason: str, center_code: str, pattern: str) -> Issued:
        """Issue a new NO with `old`'s record and mark `old` replaced (a lost voucher)."""
        reason = _reason(reason)
        entry = {**old.fields, "issued_on": old.issued_on, "batch_file": "", "page": None}
        number = self._next_number(center_code, old.issued_on.year, pattern, frozenset())
        self.ledger._change(self.db, old, "replaced", "replaced", reason, number)
        issued = self._insert(number, entry, "", center_code, old.voucher_no)
        self.ledger.event(self.db, number, "reissued", reason, old.voucher_no)
        return issued

    def place(self, voucher_no: str, batch_file: str, page: int, template_sha256: str) -> None:
        """Record where a voucher is printed (its batch file and page) and with which master."""
        self.db.execute("UPDATE vouchers SET batch_file = ?, page = ?, template_sha256 = ? WHERE voucher_no = ?",
                        (batch_file, page, template_sha256, voucher_no))

    def _give_code(self, voucher_no: str) -> str:
        code = new_code()
        self.db.execute("UPDATE vouchers SET verify_code = ? WHERE voucher_no = ?", (code, voucher_no))
        self.ledger.event(self.db, voucher_no, "coded")
        return code

    def _next_number(self, code: str, year: int, pattern: str, reserved: frozenset[str]) -> str:
        """Take the next serial of the centre and year, skipping NOs in use or reserved by the roster."""
        for _ in range(1_000_000):
            row = self.db.execute("INSERT INTO serials (center_code, year, last) VALUES (?, ?, 1) "
                                  "ON CONFLICT (center_code, year) DO UPDATE SET last = last + 1 RETURNING last",
                                  (code, year)).fetchone()
            number = pattern.format(center_code=code, year=year, serial=row[0])
            if number not in reserved and not self.db.execute(
                    "SELECT 1 FROM vouchers WHERE voucher_no = ?", (number,)).fetchone():
                return number
        raise LedgerError(f"中心 {code} 的 {year} 年编号已用尽 (no serial left)")

    def _insert(self, number: str, entry: dict, template_sha256: str, center_code: str, replaces: str) -> Issued:
        code = new_code()
        columns = ["voucher_no", *FIELD_KEYS, "issued_on", "expires_on", "template_sha256", "batch_file", "page",
                   "replaces", "verify_code", "center_code", "created_at"]
        values = [number, *(entry.get(k, "") for k in FIELD_KEYS), entry["issued_on"].isoformat(),
                  valid_until(entry["issued_on"]).isoformat(), template_sha256, entry["batch_file"], entry["page"],
                  replaces, code, center_code, _stamp(self.ledger.clock())]
        try:
            self.db.execute(f"INSERT INTO vouchers ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})",
                            values)
        except sqlite3.IntegrityError as exc:
            raise LedgerError(f"凭证编号 {number} 已被使用，不能重复发放 ({exc})") from exc
        return Issued(number, replaces, code)


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


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InputError("请写明原因（--reason），它会记入台账 (a reason is required)")
    return reason


def _stamp(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _statements(script: str) -> Iterator[str]:
    """Yield the statements of a SQL script one by one (executescript would commit midway)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


def _voucher(row: sqlite3.Row) -> Voucher:
    try:
        return Voucher(
            voucher_no=row["voucher_no"], fields={k: row[k] for k in FIELD_KEYS},
            issued_on=dt.date.fromisoformat(row["issued_on"]), expires_on=dt.date.fromisoformat(row["expires_on"]),
            status=row["status"], reason=row["last_reason"], replaces=row["replaces"],
            replaced_by=row["last_other"] if row["last_kind"] == "replaced" else "",
            batch_file=row["batch_file"], page=row["page"], verify_code=row["verify_code"],
            center_code=row["center_code"])
    except (TypeError, ValueError) as exc:  # a row edited by hand outside fjvoucher
        raise LedgerError(f"台账中凭证 {row['voucher_no']} 的记录已损坏（{exc}），请用备份恢复或联系技术支持 "
                          "(a damaged ledger row)") from exc


def _event(row: sqlite3.Row) -> Event:
    return Event(row["voucher_no"], row["kind"], dt.datetime.fromisoformat(row["at"]), row["reason"], row["actor"],
                 row["other_no"])


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds ID numbers."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:  # another merge created it a moment ago
        pass


def _keep_private(path: Path) -> None:
    """Make the ledger and its WAL files owner-only on every open (an old or copied file may not be)."""
    if os.name != "posix":
        return  # Windows: the per-user data folder is private to the user already
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if part.exists() and part.stat().st_mode & 0o077:
                os.chmod(part, 0o600)
        except PermissionError:
            pass  # not ours to change (opened read-only by serve as another user)
