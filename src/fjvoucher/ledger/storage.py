"""Where the ledger's rows live: the Storage interface, and SQLite, the embedded backend that implements it.

Storage opens, migrates and answers queries; it writes only the primitive rows that issuing and
the state changes ask for, inside a transaction they open.  It knows nothing of the issuing rule
(policy.py) or of NOs and codes (issuing.py), so a second backend implements this file's
`Storage` and nothing else.

History is kept as events that are never edited (SQLite triggers refuse it); a voucher's status
is the outcome of its events.  For the chain (chain.py, audit.py) a backend does little: it keeps
each event's `data`, `prev` and `hash` verbatim with the number it is given, keeps one signed
`Head`, hands rows back as stored (`raw_*`: never parsed, the audit judges them), says how its
schema differs from its own migrations, and calls `upgrade` inside the transaction of migration
`schema.CHAINED`.  Hashing, signing, projection and every check sit above it.  A certificate
has at most one voucher in force (a partial unique index), and a NO is never issued twice (the
primary key, serials taken under a write lock).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import secrets
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from fjvoucher.atomic import make_folder
from fjvoucher.errors import InputError, LedgerError, NotALedger
from fjvoucher.failures import explain_sqlite_error
from fjvoucher.layout import FIELDS
from fjvoucher.ledger.schema import APPLICATION_ID, CHAINED, LATEST, MIGRATIONS
from fjvoucher.messages import CHANGE_EVENTS, VOUCHER_STATUSES

FREE_SPACE_NEEDED = 1 << 20  # below this a failed write is taken for a full disk
LOCK_TIMEOUT_S = 60.0  # how long a merge waits for another one's batch before giving up
FIELD_KEYS = tuple(f.key for f in FIELDS if f.key != "voucher_no")

Clock = Callable[[], dt.datetime]


def now() -> dt.datetime:
    """Return the local time: the one clock the ledger and the merge read (a test moves it by replacing this)."""
    return dt.datetime.now()


@dataclass(frozen=True)
class Voucher:
    """One voucher as the ledger knows it, with the reason and counterpart of its last status change."""

    voucher_no: str
    fields: dict[str, str]
    issued_on: dt.date
    expires_on: dt.date
    status: str  # one of VOUCHER_STATUSES
    reason: str  # of the last status change ('' for none)
    replaces: str
    replaced_by: str
    batch_file: str
    page: int | None
    verify_code: str
    center_code: str
    photo: str = ""  # the photo file it was printed with ('' for none, or issued before this was kept)
    template_sha256: str = ""

    def state(self, today: dt.date) -> str:
        """Return genuine, expired, replaced, revoked or superseded as of `today`."""
        if self.status != "issued":
            return self.status
        return "expired" if today > self.expires_on else "genuine"


@dataclass(frozen=True)
class Event:
    """One change in a voucher's life; never edited once written."""

    voucher_no: str
    kind: str  # one of EVENT_KINDS
    at: dt.datetime
    reason: str
    actor: str
    other_no: str  # the voucher replaced (reissued) or replacing (replaced)
    data: str = "{}"  # what it sets in the voucher's row, canonical JSON (chain.encode_data): all of it at issue
    number: int = 0  # its place in the chain, 1…n (0: not appended yet)
    prev: str = ""  # the hash of event number - 1
    hash: str = ""  # its own hash (chain.event_hash)
    center_code: str = ""  # whose chain it is on, where there is one per centre (PostgreSQL); '' for the one chain


@dataclass(frozen=True)
class Head:
    """The chain's head as signed after each write: how many events, the last one's hash, and the signature."""

    count: int
    hash: str
    signature: str  # hex Ed25519 signature of chain.head_message(count, hash)
    public_key: str  # hex raw Ed25519 public key that made it
    at: str  # when it was signed (not signed itself)


class Storage(Protocol):
    """What issuing, policy and the commands need of a backend: queries, and primitive writes in a transaction."""

    path: Path | str  # a file, or a URL without its password (PostgreSQL)
    clock: Clock
    chained: bool  # keeps the hash chain and the signed head (see chain.chained)
    notes: list[str]  # what opening it did that the clerk should hear (the upgrade's note)
    created: bool  # this open made a new ledger where nothing was

    def close(self) -> None: ...
    def transaction(self) -> AbstractContextManager[None]: ...
    def snapshot(self) -> AbstractContextManager[None]: ...
    def get(self, voucher_no: str) -> Voucher | None: ...
    def sample_no(self) -> str: ...
    def by_code(self, voucher_no: str, code: str) -> Voucher | None: ...
    def for_certificate(self, certificate_no: str) -> list[Voucher]: ...
    def select(self, *, month: str | None, status: str | None, expiring_within: int | None,
               today: dt.date, containing: tuple[str, str] | None = None,
               limit: int | None = None) -> list[Voucher]: ...
    def history(self, voucher_no: str) -> list[Event]: ...
    def events_between(self, start: dt.datetime, end: dt.datetime) -> list[Event]: ...
    def status_at(self, voucher_no: str, moment: dt.datetime) -> str: ...
    def without_code(self) -> list[str]: ...
    def no_in_use(self, voucher_no: str) -> bool: ...
    def nos_in_use(self, voucher_nos: list[str]) -> set[str]: ...
    def issue_time(self, voucher_nos: list[str]) -> dt.datetime | None: ...
    def in_force_elsewhere(self, id_number: str, occupation: str, level: str,
                           center_code: str) -> Voucher | None: ...
    def prefetch(self, certificates: list[str], persons: list[tuple[str, str, str]]) -> None: ...
    def take_serial(self, center_code: str, year: int) -> int: ...
    def insert_voucher(self, row: dict) -> None: ...
    def set_status(self, voucher_no: str, status: str) -> None: ...
    def set_code(self, voucher_no: str, code: str) -> None: ...
    def place(self, voucher_no: str, batch_file: str, page: int | None, template_sha256: str,
              photo: str | None = None) -> None: ...
    def append_event(self, event: Event) -> None: ...
    # The chain: rows as stored (text, never parsed), for the audit and the checks above storage.
    def last_event(self, before: dt.datetime | None = None) -> tuple[int, str] | None: ...
    def event_count(self) -> int: ...
    def link(self, number: int) -> tuple[str, str] | None: ...
    def raw_events(self, voucher_no: str | None = None) -> Iterator[dict]: ...
    def raw_vouchers(self, voucher_no: str | None = None) -> Iterator[dict]: ...
    def voucher_count(self) -> int: ...
    def issue_count(self) -> int: ...
    def head(self) -> Head | None: ...
    def set_head(self, head: Head) -> None: ...
    def chain_existing(self, number: int, data: str, prev: str, hash: str) -> None: ...
    def schema_problems(self) -> list[str]: ...
    def backup_to(self, target: Path) -> None: ...
    def restore_from(self, source: Path) -> None: ...


class CentreStorage(Storage, Protocol):
    """A backend with one chain per centre (PostgreSQL's registry): centres write at once, each on its own chain.

    The Storage methods of the chain (`head`, `last_event`, `link`, `set_head`) answer for the role's own
    centre; every centre's chain is seen through `centre_chains` and `voucher_chain` (views that answer
    the same methods for one centre, so the audit's checks run on them unchanged).
    """

    per_centre: bool  # True
    own_centre: str  # the centre of the role connected ('' for the owner or the province)

    def centre_chains(self, *, everything: bool = False, every_centre: bool = False) -> list[Any]: ...
    def voucher_chain(self, voucher_no: str) -> tuple[Any, list[dict], list[dict], Voucher | None]: ...
    def lock_tip(self, center_code: str) -> tuple[tuple[int, str] | None, bool]: ...
    def centre_of(self, voucher_no: str) -> str: ...
    def set_centre_head(self, center_code: str, head: Head) -> None: ...


def _explained(method):
    """Turn SQLite's errors inside a storage method into a LedgerError naming the file and what to do."""

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
        return LedgerError(f"凭证台账 {path}：所在的磁盘或文件夹是只读的，请检查权限或换一个位置 (read-only)",
                           code="ledger-read-only")
    try:
        full = shutil.disk_usage(folder).free < FREE_SPACE_NEEDED
    except OSError:
        full = False
    if full:
        return LedgerError(f"凭证台账 {path}：磁盘已满，请腾出空间后重新运行；台账没有被改动 (disk full)",
                           code="disk-full")
    return LedgerError(f"凭证台账 {path}：{explain_sqlite_error(exc)}", code="ledger-sqlite")


_SELECT = ("SELECT v.*, coalesce(e.reason, '') AS last_reason, coalesce(e.kind, '') AS last_kind, "
           "coalesce(e.other_no, '') AS last_other FROM vouchers v LEFT JOIN events e ON e.id = "
           "(SELECT max(id) FROM events WHERE voucher_no = v.voucher_no AND kind IN "
           f"({', '.join(repr(k) for k in CHANGE_EVENTS)}))")


class SqliteStorage:
    """A ledger in one SQLite file (WAL: readers never wait for a merge).

    `create=False` refuses a missing file instead of creating an empty ledger; `readonly` opens
    it without write access (serve).
    """

    chained = True

    @_explained
    def __init__(self, path: Path | str, *, create: bool = True, readonly: bool = False,
                 clock: Clock | None = None, upgrade: Callable[[Storage], str] | None = None):
        self.path = Path(path)
        self.clock: Clock = clock or now
        self.upgrade = upgrade
        self.notes: list[str] = []
        self.created = False  # True when this open made a new, empty ledger where nothing was
        found = identify(self.path)
        if found == "missing" and not create:
            raise InputError(f"找不到凭证台账 {self.path}。请检查 --ledger 或 fjvoucher config 中的 ledger 设置 "
                             "(ledger not found)", code="ledger-not-found")
        if found == "missing":
            found = self._create()
        if found not in ("ledger", "maybe"):
            raise _not_a_ledger(self.path, found)
        self.db = self._connect(readonly)
        try:
            self._check_ours()
            _keep_private(self.path)  # identified as ours: only now may its mode change
            if not readonly:
                self._migrate()
                self.db.execute("PRAGMA journal_mode = WAL")  # readers (serve) never wait for a merge
            elif self.db.execute("PRAGMA user_version").fetchone()[0] < LATEST:
                raise LedgerError(f"凭证台账 {self.path} 需要升级：请先运行 fjvoucher audit --ledger {self.path} "
                                  "(the ledger needs an upgrade)", code="ledger-error")
        except BaseException:
            self.db.close()
            raise

    def _connect(self, readonly: bool, path: Path | None = None) -> sqlite3.Connection:
        uri = (path or self.path).resolve().as_uri() + ("?mode=ro" if readonly else "")
        db = sqlite3.connect(uri, uri=True, timeout=LOCK_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        if readonly and not _readable(db):
            # A WAL ledger on read-only media (a CD, a read-only share): SQLite cannot make its -shm file.
            # Nobody can write there either, so the file is read as immutable.
            db.close()
            db = sqlite3.connect(f"{uri}&immutable=1", uri=True, timeout=LOCK_TIMEOUT_S, isolation_level=None,
                                 check_same_thread=False)
        db.row_factory = sqlite3.Row
        return db

    def _create(self) -> str:
        """Create a new ledger where nothing exists: built beside it, then linked into place, never half-made.

        Linking fails when another merge created the ledger meanwhile: then that one is opened.
        """
        make_folder(self.path.parent)
        fresh = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
        os.close(os.open(fresh, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        try:
            self.db = self._connect(False, fresh)
            try:
                self._migrate()
            finally:
                self.db.close()
            try:
                os.link(fresh, self.path)
                self.created = True
            except FileExistsError:
                self.notes.clear()  # another merge made it: its upgrade note, not ours
            except OSError:  # a file system without hard links: take the place only while it is still empty
                if not os.path.lexists(self.path):
                    os.replace(fresh, self.path)
        finally:
            fresh.unlink(missing_ok=True)
        return identify(self.path)

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block as one write transaction, taken at once so two writers never interleave."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise ledger_error(self.path, exc) from exc
        try:
            yield
        except sqlite3.Error as exc:
            self.db.execute("ROLLBACK")
            raise ledger_error(self.path, exc) from exc
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise ledger_error(self.path, exc) from exc

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Run a block of reads on one state of the file: a merge committing between two of them is not half seen
        (its new events beside the old signed head read a moment before would look like tampering).

        A read transaction in WAL mode: it waits for no writer and no writer waits for it.  Inside a write
        transaction the block already reads one state.
        """
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def _check_ours(self) -> None:
        """Refuse a SQLite file that is not a fjvoucher ledger, before anything is written to it or its mode changed."""
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        legacy = app_id == 0 and version == 1 and {"vouchers", "serials"} <= tables  # written by 0.1.0
        if not (legacy or app_id == APPLICATION_ID):  # an empty SQLite file too: ledgers are made by _create
            raise _not_a_ledger(self.path, "foreign")
        if version < CHAINED and "head" in tables:  # made by a migration the version says did not run
            raise LedgerError(f"凭证台账 {self.path} 的版本标记被改动（{version}）。请运行 fjvoucher audit 查看，"
                              "并用备份恢复 (the file's marks were changed)", code="ledger-tampered")
        if version > LATEST:
            raise LedgerError(f"凭证台账 {self.path} 由更新版本的 fjvoucher 建立（版本 {version}），请升级 fjvoucher",
                              code="ledger-too-new")

    def _migrate(self) -> None:
        for number, script in MIGRATIONS:
            if self.db.execute("PRAGMA user_version").fetchone()[0] >= number:
                continue
            with self.transaction():
                # Read again under the write lock: another merge may have migrated meanwhile.
                if self.db.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue
                for statement in _statements(script):
                    self.db.execute(statement)
                if number == CHAINED and self.upgrade:
                    self.notes.append(self.upgrade(cast("Storage", self)))
                self.db.execute(f"PRAGMA user_version = {number}")
                self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    # --- reading -------------------------------------------------------------------------------

    @_explained
    def get(self, voucher_no: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no`, or None."""
        row = self.db.execute(f"{_SELECT} WHERE v.voucher_no = ?", (voucher_no,)).fetchone()
        return voucher_from_row(row) if row else None

    @_explained
    def sample_no(self) -> str:
        """Return the NO of some voucher ("" in an empty ledger): verify's stand-in for an unknown NO."""
        row = self.db.execute("SELECT voucher_no FROM vouchers ORDER BY rowid LIMIT 1").fetchone()
        return row[0] if row else ""

    @_explained
    def by_code(self, voucher_no: str, code: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no` whose verification code is `code`, or None."""
        row = self.db.execute(f"{_SELECT} WHERE v.voucher_no = ? AND v.verify_code = ? AND v.verify_code <> ''",
                              (voucher_no, code)).fetchone()
        return voucher_from_row(row) if row else None

    @_explained
    def for_certificate(self, certificate_no: str) -> list[Voucher]:
        """Return every voucher ever issued for `certificate_no`, oldest first."""
        rows = self.db.execute(f"{_SELECT} WHERE v.certificate_no = ? ORDER BY v.created_at, v.voucher_no",
                               (certificate_no,)).fetchall()
        return [voucher_from_row(r) for r in rows]

    @_explained
    def select(self, *, month: str | None, status: str | None, expiring_within: int | None,
               today: dt.date, containing: tuple[str, str] | None = None,
               limit: int | None = None) -> list[Voucher]:
        """Return the vouchers matching every filter given (month of 发证日期), by issue date and NO."""
        where, params = select_where(month, status, expiring_within, today, "?", containing, limit)
        rows = self.db.execute(f"{_SELECT} {where}", params)
        return [voucher_from_row(r) for r in rows]

    @_explained
    def history(self, voucher_no: str) -> list[Event]:
        """Return the events of `voucher_no`, oldest first."""
        return read_history(self.db, voucher_no, "?")

    @_explained
    def events_between(self, start: dt.datetime, end: dt.datetime) -> list[Event]:
        """Return the events at or after `start` and before `end`, in order."""
        return read_events_between(self.db, start, end, "?")

    @_explained
    def status_at(self, voucher_no: str, moment: dt.datetime) -> str:
        """Return the status `voucher_no` had just before `moment` (issued, replaced, revoked, superseded)."""
        row = self.db.execute("SELECT kind FROM events WHERE voucher_no = ? AND at < ? AND kind IN "
                              f"({', '.join('?' * len(CHANGE_EVENTS))}) ORDER BY id DESC LIMIT 1",
                              (voucher_no, stamp(moment), *CHANGE_EVENTS)).fetchone()
        return "issued" if row is None or row[0] == "restored" else row[0]

    @_explained
    def without_code(self) -> list[str]:
        """Return the NOs of vouchers issued before verification codes existed."""
        return [r[0] for r in self.db.execute("SELECT voucher_no FROM vouchers WHERE verify_code = ''")]

    @_explained
    def no_in_use(self, voucher_no: str) -> bool:
        """Return True when a voucher numbered `voucher_no` exists."""
        return self.db.execute("SELECT 1 FROM vouchers WHERE voucher_no = ?", (voucher_no,)).fetchone() is not None

    @_explained
    def nos_in_use(self, voucher_nos: list[str]) -> set[str]:
        """Return which of `voucher_nos` are NOs of existing vouchers."""
        marks = ", ".join("?" * len(voucher_nos))
        return {r[0] for r in self.db.execute(f"SELECT voucher_no FROM vouchers WHERE voucher_no IN ({marks})",
                                              voucher_nos)}

    @_explained
    def issue_time(self, voucher_nos: list[str]) -> dt.datetime | None:
        """Return when the latest of `voucher_nos` was first recorded, or None for none of them."""
        marks = ", ".join("?" * len(voucher_nos))
        row = self.db.execute(f"SELECT max(created_at) FROM vouchers WHERE voucher_no IN ({marks})",
                              voucher_nos).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row and row[0] else None

    def in_force_elsewhere(self, id_number: str, occupation: str, level: str, center_code: str) -> Voucher | None:
        """Return None: a centre's SQLite ledger holds its own vouchers (the shared registry is PostgreSQL's)."""
        return None

    def prefetch(self, certificates: list[str], persons: list[tuple[str, str, str]]) -> None:
        """Do nothing: SQLite answers in-process, and its write lock already covers the whole batch."""

    # --- writing: inside a transaction the caller opened -----------------------------------------

    def take_serial(self, center_code: str, year: int) -> int:
        """Return the next serial of the centre and year (under the write lock: never twice)."""
        row = self.db.execute("INSERT INTO serials (center_code, year, last) VALUES (?, ?, 1) "
                              "ON CONFLICT (center_code, year) DO UPDATE SET last = last + 1 RETURNING last",
                              (center_code, year)).fetchone()
        return int(row[0])

    def insert_voucher(self, row: dict) -> None:
        """Insert a new voucher row (keys: the columns); raise LedgerError when its NO is taken."""
        try:
            self.db.execute(f"INSERT INTO vouchers ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                            list(row.values()))
        except sqlite3.IntegrityError as exc:
            raise LedgerError(f"凭证编号 {row['voucher_no']} 已被使用，不能重复发放 ({exc})",
                              code="voucher-no-taken") from exc

    def set_status(self, voucher_no: str, status: str) -> None:
        """Set a voucher's status (its event is appended by the caller)."""
        self.db.execute("UPDATE vouchers SET status = ? WHERE voucher_no = ?", (status, voucher_no))

    def set_code(self, voucher_no: str, code: str) -> None:
        """Give a voucher its verification code."""
        self.db.execute("UPDATE vouchers SET verify_code = ? WHERE voucher_no = ?", (code, voucher_no))

    def place(self, voucher_no: str, batch_file: str, page: int | None, template_sha256: str,
              photo: str | None = None) -> None:
        """Record where a voucher is printed (its batch file and page), with which master and photo (None: as was)."""
        self.db.execute("UPDATE vouchers SET batch_file = ?, page = ?, template_sha256 = ?, photo = coalesce(?, photo) "
                        "WHERE voucher_no = ?", (batch_file, page, template_sha256, photo, voucher_no))

    def append_event(self, event: Event) -> None:
        """Append one event, with its number, data and links as the chain computed them."""
        self.db.execute("INSERT INTO events (id, voucher_no, kind, at, reason, actor, other_no, data, prev, hash) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (event.number, event.voucher_no, event.kind, stamp(event.at), event.reason, event.actor,
                         event.other_no, event.data, event.prev, event.hash))

    def chain_existing(self, number: int, data: str, prev: str, hash: str) -> None:
        """Give an event written before the chain existed its data and links (once: the trigger allows no more)."""
        self.db.execute("UPDATE events SET data = ?, prev = ?, hash = ? WHERE id = ?", (data, prev, hash, number))

    def set_head(self, head: Head) -> None:
        """Store the signed head (one row, replaced after each write)."""
        self.db.execute("INSERT OR REPLACE INTO head (id, count, hash, signature, public_key, at) "
                        "VALUES (1, ?, ?, ?, ?, ?)", (head.count, head.hash, head.signature, head.public_key, head.at))

    # --- the chain as stored: text, never parsed (the audit judges it) -----------------------------

    @_explained
    def last_event(self, before: dt.datetime | None = None) -> tuple[int, str] | None:
        """Return the number and hash of the chain's last event (of the last one dated before `before`), or None."""
        where, params = ("WHERE at < ?", (stamp(before),)) if before else ("", ())
        row = self.db.execute(f"SELECT id, hash FROM events {where} ORDER BY id DESC LIMIT 1", params).fetchone()
        return (row[0], row[1]) if row else None

    @_explained
    def event_count(self) -> int:
        """Return how many events there are."""
        return self.db.execute("SELECT count(*) FROM events").fetchone()[0]

    @_explained
    def link(self, number: int) -> tuple[str, str] | None:
        """Return the stored prev and hash of event `number`, or None when there is no such event."""
        row = self.db.execute("SELECT prev, hash FROM events WHERE id = ?", (number,)).fetchone()
        return (row[0], row[1]) if row else None

    @_explained
    def raw_events(self, voucher_no: str | None = None) -> Iterator[dict]:
        """Yield events as stored (every column, values as SQLite holds them), in chain order; of one voucher."""
        where, params = ("WHERE voucher_no = ?", (voucher_no,)) if voucher_no is not None else ("", ())
        yield from self._dicts(f"SELECT * FROM events {where} ORDER BY id", params)

    @_explained
    def raw_vouchers(self, voucher_no: str | None = None) -> Iterator[dict]:
        """Yield voucher rows as stored (every column), by NO; or the one numbered `voucher_no`."""
        where, params = ("WHERE voucher_no = ?", (voucher_no,)) if voucher_no is not None else ("", ())
        yield from self._dicts(f"SELECT * FROM vouchers {where} ORDER BY voucher_no", params)

    def _dicts(self, query: str, params: tuple) -> Iterator[dict]:
        """Yield the rows of `query` as plain dicts (a plain cursor: sqlite3.Row costs twice as much per row)."""
        cursor = self.db.cursor()
        cursor.row_factory = None
        cursor.execute(query, params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    @_explained
    def voucher_count(self) -> int:
        """Return how many voucher rows there are."""
        return self.db.execute("SELECT count(*) FROM vouchers").fetchone()[0]

    @_explained
    def issue_count(self) -> int:
        """Return how many issue events (issued, reissued) there are: one per voucher row."""
        return self.db.execute("SELECT count(*) FROM events WHERE kind IN ('issued', 'reissued')").fetchone()[0]

    @_explained
    def head(self) -> Head | None:
        """Return the signed head, or None when there is none."""
        row = self.db.execute("SELECT count, hash, signature, public_key, at FROM head WHERE id = 1").fetchone()
        return Head(*(row[k] for k in ("count", "hash", "signature", "public_key", "at"))) if row else None

    @_explained
    def schema_problems(self) -> list[str]:
        """Return how the file's tables, indexes, triggers and marks differ from what the migrations make."""
        return schema_differences(self.db)

    # --- copies ----------------------------------------------------------------------------------

    @_explained
    def backup_to(self, target: Path) -> None:
        """Copy the ledger to the new file `target` as of one moment (SQLite's online backup), as one file."""
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        copy = sqlite3.connect(target, isolation_level=None)
        try:
            self.db.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no WAL beside it
        finally:
            copy.close()

    @_explained
    def restore_from(self, source: Path) -> None:
        """Replace this ledger's content with the ledger at `source`, page by page, through its own connection.

        The file stays the same file and its WAL its own, so a server reading it sees the restored
        ledger at its next query, never a mix; no other file's WAL is ever applied to it.
        """
        origin = self._connect(True, source)
        try:
            origin.backup(self.db)
        finally:
            origin.close()

    # --- the province's registry of imported centre chains (SQLite only; province/imports.py) ---------

    @_explained
    def centre_keys(self) -> dict[str, str]:
        """Return the centres' public keys (hex) in use, by centre code."""
        return dict(self.db.execute("SELECT center_code, public_key FROM centre_keys WHERE until_count IS NULL "
                                    "ORDER BY center_code"))

    @_explained
    def key_rows(self, public_key: str | None = None) -> list[dict]:
        """Return every key ever listed (or the one `public_key`): centre, key, when, until which event, since when
        replaced."""
        where, params = ("WHERE public_key = ?", (public_key,)) if public_key else ("", ())
        return list(self._dicts(f"SELECT * FROM centre_keys {where} ORDER BY center_code, added_at, public_key",
                                params))

    def add_centre_key(self, center_code: str, public_key: str, at: str) -> None:
        """List a centre's public key (inside the caller's transaction)."""
        self.db.execute("INSERT INTO centre_keys (center_code, public_key, added_at) VALUES (?, ?, ?)",
                        (center_code, public_key, at))

    def retire_centre_key(self, center_code: str, public_key: str, until_count: int, at: str) -> None:
        """Mark a centre's key replaced: it proves nothing past event `until_count` of the centre's chain."""
        self.db.execute("UPDATE centre_keys SET until_count = ?, replaced_at = ? WHERE center_code = ? "
                        "AND public_key = ?", (until_count, at, center_code, public_key))

    BOOKKEEPING = {"centre_keys": "center_code, public_key", "imports": "sha256", "imported_events": "number"}

    def bookkeeping(self, table: str, after: int = 0) -> Iterator[tuple]:
        """Yield a bookkeeping table's rows (BOOKKEEPING) in its key's order, every column (imported events numbered
        after `after` only)."""
        where = "WHERE number > ?" if table == "imported_events" else "WHERE ? = ?"
        yield from self.db.execute(f"SELECT * FROM {table} {where} ORDER BY {self.BOOKKEEPING[table]}",
                                   (after,) if table == "imported_events" else (0, 0))

    @_explained
    def seal(self) -> dict | None:
        """Return the registry's seal of its bookkeeping (ledger/bookkeeping.py), or None."""
        return next(self._dicts("SELECT count, hash, digests, signature, public_key, at FROM registry_seal", ()), None)

    def set_seal(self, seal: dict) -> None:
        """Store the seal (one row, replaced after each change of the bookkeeping)."""
        self.db.execute("INSERT OR REPLACE INTO registry_seal (id, count, hash, digests, signature, public_key, at) "
                        "VALUES (1, :count, :hash, :digests, :signature, :public_key, :at)", seal)

    @_explained
    def centre_tip(self, center_code: str) -> tuple[int, str] | None:
        """Return the number and hash of the last event imported from `center_code`'s chain, or None."""
        row = self.db.execute("SELECT center_number, center_hash FROM imported_events WHERE center_code = ? "
                              "ORDER BY center_number DESC LIMIT 1", (center_code,)).fetchone()
        return (row[0], row[1]) if row else None

    @_explained
    def centre_events(self, center_code: str, first: int, last: int) -> Iterator[dict]:
        """Yield the imported events numbered `first`…`last` in `center_code`'s chain: its number and hash, with
        the registry's event (voucher NO, kind), in order."""
        yield from self._dicts("SELECT i.center_number, i.center_hash, e.voucher_no, e.kind FROM imported_events i "
                               "JOIN events e ON e.id = i.number WHERE i.center_code = ? AND i.center_number "
                               "BETWEEN ? AND ? ORDER BY i.center_number", (center_code, first, last))

    def link_imported(self, links: list[tuple[int, str, int, str]]) -> None:
        """Record where appended events sit in their centre's chain: (registry number, centre, number, hash)."""
        self.db.executemany("INSERT INTO imported_events (number, center_code, center_number, center_hash) "
                            "VALUES (?, ?, ?, ?)", links)

    @_explained
    def issuing_centre(self, voucher_no: str) -> str | None:
        """Return the centre whose imported chain issued voucher `voucher_no` ('' for the registry's own), or None."""
        row = self.db.execute("SELECT coalesce(i.center_code, '') FROM events e LEFT JOIN imported_events i "
                              "ON i.number = e.id WHERE e.voucher_no = ? AND e.kind IN ('issued', 'reissued') "
                              "ORDER BY e.id LIMIT 1", (voucher_no,)).fetchone()
        return row[0] if row else None

    @_explained
    def province_status(self, voucher_no: str, kinds: tuple[str, ...]) -> tuple[int, str] | None:
        """Return the number and kind of the last status event (`kinds`) of `voucher_no` when the registry itself
        wrote it (not imported from a centre); else None."""
        marks = ", ".join("?" * len(kinds))
        row = self.db.execute(f"SELECT e.id, e.kind, i.number FROM events e LEFT JOIN imported_events i "
                              f"ON i.number = e.id WHERE e.voucher_no = ? AND e.kind IN ({marks}) "
                              "ORDER BY e.id DESC LIMIT 1", (voucher_no, *kinds)).fetchone()
        return (row[0], row[1]) if row and row[2] is None else None

    def set_fields(self, voucher_no: str, fields: dict) -> None:
        """Set named columns of a voucher row (projection.SETS decides which; only the table's own names pass)."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(vouchers)")}
        if not set(fields) <= columns - {"voucher_no", "status"}:
            raise ValueError(f"not a voucher column: {sorted(set(fields) - columns)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self.db.execute(f"UPDATE vouchers SET {assignments} WHERE voucher_no = ?", (*fields.values(), voucher_no))

    @_explained
    def imports(self, center_code: str | None = None) -> list[dict]:
        """Return the files imported (of one centre), by centre and range."""
        where, params = ("WHERE center_code = ?", (center_code,)) if center_code else ("", ())
        return list(self._dicts(f"SELECT * FROM imports {where} ORDER BY center_code, from_count, to_count",
                                params))

    def record_import(self, row: dict) -> None:
        """Record one file imported (keys: the imports table's columns); the same file twice is kept once."""
        self.db.execute(f"INSERT OR IGNORE INTO imports ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                        list(row.values()))


def stamp(moment: dt.datetime) -> str:
    """Return how the ledger writes a moment: ISO 8601 to the second."""
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


SEARCHABLE = ("name", "certificate_no")  # the columns `select(containing=…)` may look into


def select_where(month: str | None, status: str | None, expiring_within: int | None, today: dt.date,
                 mark: str, containing: tuple[str, str] | None = None,
                 limit: int | None = None) -> tuple[str, list]:
    """Return the WHERE, ORDER and LIMIT clauses and parameters of `select`, with `mark` as the backend's placeholder.

    `containing` (column, text) keeps the vouchers whose column holds the text anywhere: LIKE with the
    text's own % and _ escaped, so both backends search in the database rather than in Python.
    """
    clauses: list[str] = []
    params: list[str | int] = []
    if containing is not None:
        column, text = containing
        if column not in SEARCHABLE:
            raise ValueError(f"not a searchable column: {column}")
        clauses.append(f"v.{column} LIKE {mark} ESCAPE '!'")
        params.append("%" + re.sub(r"([!%_])", r"!\1", text) + "%")
    if month:
        clauses.append(f"substr(v.issued_on, 1, 7) = {mark}")
        params.append(month)
    if status in VOUCHER_STATUSES:
        clauses.append(f"v.status = {mark}")
        params.append(status)
    if expiring_within is not None:
        clauses.append(f"v.status = 'issued' AND v.expires_on >= {mark} AND v.expires_on <= {mark}")
        params += [today.isoformat(), (today + dt.timedelta(days=expiring_within)).isoformat()]
    where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    order = "ORDER BY v.issued_on, v.voucher_no"
    if limit is not None:
        order += f" LIMIT {mark}"
        params.append(limit)
    return where + order, params


def voucher_from_row(row: Any) -> Voucher:
    """Return the voucher a vouchers row (joined with its last status change) holds, on either backend."""
    try:
        return Voucher(
            voucher_no=row["voucher_no"], fields={k: row[k] for k in FIELD_KEYS},
            issued_on=dt.date.fromisoformat(row["issued_on"]), expires_on=dt.date.fromisoformat(row["expires_on"]),
            status=row["status"], reason=row["last_reason"], replaces=row["replaces"],
            replaced_by=row["last_other"] if row["last_kind"] == "replaced" else "",
            batch_file=row["batch_file"], page=row["page"], verify_code=row["verify_code"],
            center_code=row["center_code"], photo=row["photo"], template_sha256=row["template_sha256"])
    except (TypeError, ValueError) as exc:  # a row edited by hand outside fjvoucher
        raise LedgerError(f"台账中凭证 {row['voucher_no']} 的记录已损坏（{exc}），请用备份恢复或联系技术支持 "
                          "(a damaged ledger row)", code="ledger-damaged") from exc


def read_history(db: Any, voucher_no: str, mark: str) -> list[Event]:
    """Return the events of `voucher_no`, oldest first, from either backend's connection (`mark`: its placeholder)."""
    rows = db.execute(f"SELECT * FROM events WHERE voucher_no = {mark} ORDER BY id", (voucher_no,))
    return [event_from_row(r) for r in rows]


def read_events_between(db: Any, start: dt.datetime, end: dt.datetime, mark: str) -> list[Event]:
    """Return the events at or after `start` and before `end`, in order, from either backend's connection."""
    rows = db.execute(f"SELECT * FROM events WHERE at >= {mark} AND at < {mark} ORDER BY at, id",
                      (stamp(start), stamp(end)))
    return [event_from_row(r) for r in rows]


def event_from_row(row: Any) -> Event:
    """Return the event an events row holds, on either backend (PostgreSQL's carry their centre and their number
    in its chain beside the table's own id); a row damaged by hand is one line (ledger-damaged), not a traceback."""
    keys = row.keys()
    number = row["number"] if "number" in keys else row["id"]
    try:
        return Event(row["voucher_no"], row["kind"], dt.datetime.fromisoformat(row["at"]), row["reason"],
                     row["actor"], row["other_no"], row["data"], number or 0, row["prev"], row["hash"],
                     row["center_code"] if "center_code" in keys else "")
    except (TypeError, ValueError) as exc:  # a row edited by hand outside fjvoucher
        raise LedgerError(f"台账中第 {row['id']} 条事件（凭证 {row['voucher_no']}）已损坏："
                          f"时间「{row['at']}」无法识别。请运行 fjvoucher audit 查看，并用备份恢复 "
                          "(a damaged event row)",
                          code="ledger-damaged") from exc


SQLITE_MAGIC = b"SQLite format 3\x00"


def identify(path: Path) -> str:
    """Say what is at `path` without changing it: missing, ledger, maybe (SQLite, decided after opening), or why not.

    Not a ledger: "folder" or "special" (a FIFO or device: never opened), "empty" (0 bytes), "foreign".
    Only the 100-byte header is read; a 0.1.0 ledger has no application id, so it is "maybe".
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "missing" if not os.path.lexists(path) else "foreign"  # a dangling link is not ours to follow
    except OSError:
        return "foreign"
    if stat.S_ISDIR(info.st_mode):
        return "folder"
    if not stat.S_ISREG(info.st_mode):
        return "special"
    if info.st_size == 0:
        return "empty"
    try:
        with open(path, "rb") as file:
            header = file.read(100)
    except OSError:
        return "foreign"
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return "foreign"
    app_id = int.from_bytes(header[68:72], "big")
    if app_id == APPLICATION_ID:
        return "ledger"
    legacy = int.from_bytes(header[60:64], "big") == 1 or os.path.exists(f"{path}-wal")  # 0.1.0, or not checkpointed
    return "maybe" if app_id == 0 and legacy else "foreign"


NOT_A_LEDGER = {"folder": "是一个文件夹", "special": "不是普通文件（设备或管道）", "empty": "是空文件（0 字节）",
                "foreign": "这不是凭证台账文件"}


def _not_a_ledger(path: Path, found: str) -> NotALedger:
    hint = "；如果是中断留下的空文件，删除它后重新运行 merge" if found == "empty" else ""
    return NotALedger(f"凭证台账 {path}：{NOT_A_LEDGER.get(found, NOT_A_LEDGER['foreign'])}，不会读取或改动它。"
                      f"请检查 --ledger 或 fjvoucher config 中的 ledger 设置{hint} (not a fjvoucher ledger)")


def schema_differences(db: sqlite3.Connection) -> list[str]:
    """Return how `db`'s schema (tables, indexes, triggers) and marks differ from a ledger the migrations make."""
    expected = _fresh_schema()
    found = _schema_of(db)
    problems = [f"缺少 {kind} {name}（被删除）(missing {kind})" for (kind, name) in expected.keys() - found.keys()]
    problems += [f"多出 {kind} {name}（不是 fjvoucher 建立的）(unknown {kind})"
                 for (kind, name) in found.keys() - expected.keys()]
    problems += [f"{kind} {name} 的定义被改动 ({kind} changed)" for key in expected.keys() & found.keys()
                 if expected[key] != found[key] for (kind, name) in [key]]
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if (app_id, version) != (APPLICATION_ID, LATEST):
        problems.append(f"文件标记为 application_id {app_id}、版本 {version}，应为 {APPLICATION_ID}、{LATEST} "
                        "(file marks changed)")
    return sorted(problems)


def _schema_of(db: sqlite3.Connection) -> dict[tuple[str, str], str]:
    rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    return {(r[0], r[1]): " ".join((r[2] or "").split()) for r in rows}


@functools.cache
def _fresh_schema() -> dict[tuple[str, str], str]:
    """Return the schema every migration applied in order makes (0.1.0's own first one included)."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for _, script in MIGRATIONS:
            for statement in _statements(script):
                db.execute(statement)
        return _schema_of(db)
    finally:
        db.close()


def _readable(db: sqlite3.Connection) -> bool:
    """Return True when `db` can be read (False: SQLite cannot open it as it is, e.g. WAL on read-only media)."""
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        return False
    except sqlite3.DatabaseError:
        return True  # not a database at all: _check_ours says so in the clerk's words
    return True


def _keep_private(path: Path) -> None:
    """Make the ledger and its WAL files owner-only on every open (an old or copied file may not be).

    Called only once the file is known to be a ledger, and only files this user owns are changed.
    """
    if os.name != "posix":
        return  # Windows: the per-user data folder is private to the user already
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = os.lstat(part)
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and info.st_mode & 0o077:
                os.chmod(part, 0o600)
        except (FileNotFoundError, PermissionError):
            pass  # not there, or not ours to change (opened read-only by serve as another user)
