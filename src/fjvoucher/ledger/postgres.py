"""The ledger in PostgreSQL: one registry the province's centres share, behind the same Storage interface.

`ledger = "postgresql://role@host/db"` selects it.  The schema follows SQLite's (same tables,
columns, partial unique index and never-edited events), plus what sharing needs:

- Each centre connects as its own database role, listed in `centre_roles`; row-level security
  lets a role insert and change only the vouchers, events and serials of its own centre, and
  read everyone's (a candidate already issued elsewhere must be seen to be refused).
- Serials are taken with INSERT … ON CONFLICT DO UPDATE, which holds the centre's serial row
  locked until the batch commits: two merges of one centre take turns there, a failed batch
  gives its serials back (no gap), and centres never wait for each other.
- A certificate's history is read under a transaction-scoped advisory lock on the certificate,
  so two merges of the same certificate cannot both decide to issue it.
"""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fjvoucher.errors import InputError, LedgerError
from fjvoucher.ledger.location import shown
from fjvoucher.ledger.storage import (
    Clock,
    Event,
    Head,
    Voucher,
    read_events_between,
    read_history,
    select_where,
    stamp,
    voucher_from_row,
)
from fjvoucher.messages import CHANGE_EVENTS

APPLICATION = "fjvoucher ledger"  # in fjvoucher_meta: a database without it is not ours
LOCK_TIMEOUT = "60s"  # how long a merge waits for another one's batch of the same centre

V1 = """
CREATE TABLE fjvoucher_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE centre_roles (role_name TEXT PRIMARY KEY, center_code TEXT NOT NULL);
CREATE TABLE vouchers ( voucher_no TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', sex TEXT NOT NULL DEFAULT '',
 birth_date TEXT NOT NULL DEFAULT '', education TEXT NOT NULL DEFAULT '', id_number TEXT NOT NULL DEFAULT '',
 occupation TEXT NOT NULL DEFAULT '', level TEXT NOT NULL DEFAULT '', theory_score TEXT NOT NULL DEFAULT '',
 skill_score TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '', certificate_no TEXT NOT NULL DEFAULT '',
 issue_date TEXT NOT NULL DEFAULT '', exam_no TEXT NOT NULL DEFAULT '', center TEXT NOT NULL DEFAULT '',
 issued_on TEXT NOT NULL, expires_on TEXT NOT NULL, template_sha256 TEXT NOT NULL,
 batch_file TEXT NOT NULL DEFAULT '', page INTEGER,
 status TEXT NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'replaced', 'revoked', 'superseded')),
 replaces TEXT NOT NULL DEFAULT '', verify_code TEXT NOT NULL DEFAULT '', center_code TEXT NOT NULL,
 created_at TEXT NOT NULL, photo TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX one_in_force_per_certificate ON vouchers (certificate_no) WHERE status = 'issued';
CREATE INDEX vouchers_by_certificate ON vouchers (certificate_no);
CREATE INDEX vouchers_by_issue_date ON vouchers (issued_on);
CREATE UNIQUE INDEX vouchers_by_code ON vouchers (verify_code) WHERE verify_code <> '';
CREATE INDEX vouchers_in_force_by_person ON vouchers (id_number, occupation, level) WHERE status = 'issued';
CREATE TABLE events ( id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, voucher_no TEXT NOT NULL,
 kind TEXT NOT NULL CHECK (kind IN ('issued', 'reissued', 'replaced', 'revoked', 'restored', 'superseded', 'coded',
 'placed')),
 at TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '', other_no TEXT NOT NULL DEFAULT '',
 data TEXT NOT NULL DEFAULT '{}');
CREATE INDEX events_by_voucher ON events (voucher_no, id);
CREATE INDEX events_by_time ON events (at);
CREATE TABLE serials (center_code TEXT NOT NULL, year INTEGER NOT NULL, last INTEGER NOT NULL,
 PRIMARY KEY (center_code, year));
CREATE FUNCTION fjvoucher_refuse_edit() RETURNS trigger LANGUAGE plpgsql AS
 $$ BEGIN RAISE EXCEPTION 'ledger events are never edited or deleted'; END $$;
CREATE TRIGGER events_are_never_edited BEFORE UPDATE OR DELETE ON events
 FOR EACH ROW EXECUTE FUNCTION fjvoucher_refuse_edit();
CREATE FUNCTION fjvoucher_centre() RETURNS TEXT LANGUAGE sql STABLE AS
 $$ SELECT center_code FROM centre_roles WHERE role_name = current_user $$;
ALTER TABLE vouchers ENABLE ROW LEVEL SECURITY;
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE serials ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone_reads ON vouchers FOR SELECT USING (true);
CREATE POLICY centre_adds_its_own ON vouchers FOR INSERT WITH CHECK (center_code = fjvoucher_centre());
CREATE POLICY centre_changes_its_own ON vouchers FOR UPDATE USING (center_code = fjvoucher_centre())
 WITH CHECK (center_code = fjvoucher_centre());
CREATE POLICY everyone_reads ON events FOR SELECT USING (true);
CREATE POLICY centre_records_its_own ON events FOR INSERT WITH CHECK (EXISTS (SELECT 1 FROM vouchers v
 WHERE v.voucher_no = events.voucher_no AND v.center_code = fjvoucher_centre()));
CREATE POLICY centre_numbers_its_own ON serials FOR ALL USING (center_code = fjvoucher_centre())
 WITH CHECK (center_code = fjvoucher_centre());
"""

# 2: a hash chain per centre (centres write at once: one chain for the province would make them take turns).
# Each event carries its centre, its number in that centre's chain, prev and hash (chain.py's encoding);
# `heads` holds each centre's signed head.  Existing events get their centre here; their links are
# made by each centre's next command, with the centre's key, which only the centre's computer holds
# (PostgresStorage.upgrade).  An event may be changed once, from unchained to chained, and nothing else.
V2 = """
DROP TRIGGER events_are_never_edited ON events;
ALTER TABLE events ADD COLUMN center_code TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN number BIGINT;
ALTER TABLE events ADD COLUMN prev TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
UPDATE events e SET center_code = v.center_code FROM vouchers v WHERE v.voucher_no = e.voucher_no;
CREATE UNIQUE INDEX events_by_chain ON events (center_code, number);
CREATE TABLE heads (center_code TEXT PRIMARY KEY, count BIGINT NOT NULL, hash TEXT NOT NULL,
 signature TEXT NOT NULL, public_key TEXT NOT NULL, at TEXT NOT NULL);
CREATE FUNCTION fjvoucher_chain_once() RETURNS trigger LANGUAGE plpgsql AS
 $$ BEGIN
 IF OLD.hash = '' AND NEW.hash <> '' AND NEW.number IS NOT NULL AND (NEW.id, NEW.voucher_no, NEW.kind, NEW.at,
 NEW.reason, NEW.actor, NEW.other_no, NEW.center_code) IS NOT DISTINCT FROM (OLD.id, OLD.voucher_no, OLD.kind,
 OLD.at, OLD.reason, OLD.actor, OLD.other_no, OLD.center_code) THEN RETURN NEW; END IF;
 RAISE EXCEPTION 'ledger events are never edited or deleted'; END $$;
CREATE TRIGGER events_are_never_edited BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION fjvoucher_chain_once();
CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION fjvoucher_refuse_edit();
CREATE FUNCTION fjvoucher_come_chained() RETURNS trigger LANGUAGE plpgsql AS
 $$ BEGIN IF NEW.hash = '' OR NEW.number IS NULL THEN RAISE EXCEPTION 'ledger events are chained'; END IF;
 RETURN NEW; END $$;
CREATE TRIGGER events_come_chained BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION fjvoucher_come_chained();
DROP POLICY centre_records_its_own ON events;
CREATE POLICY centre_records_its_own ON events FOR INSERT WITH CHECK (center_code = fjvoucher_centre() AND
 EXISTS (SELECT 1 FROM vouchers v WHERE v.voucher_no = events.voucher_no AND v.center_code = events.center_code));
CREATE POLICY centre_chains_its_history ON events FOR UPDATE USING (center_code = fjvoucher_centre() AND hash = '')
 WITH CHECK (center_code = fjvoucher_centre());
ALTER TABLE heads ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone_reads ON heads FOR SELECT USING (true);
CREATE POLICY centre_signs_its_own ON heads FOR INSERT WITH CHECK (center_code = fjvoucher_centre());
CREATE POLICY centre_resigns_its_own ON heads FOR UPDATE USING (center_code = fjvoucher_centre())
 WITH CHECK (center_code = fjvoucher_centre());
"""

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, V1), (2, V2))

# What the group roles may do (the README's set-up creates them; `province init` grants this).
CENTRES, READERS = "fjvoucher_centres", "fjvoucher_readers"
GRANTS = f"""
GRANT SELECT, INSERT, UPDATE ON vouchers, serials, heads TO {CENTRES};
GRANT SELECT, INSERT ON events TO {CENTRES};
GRANT UPDATE (number, prev, hash, data) ON events TO {CENTRES};
GRANT SELECT ON centre_roles, fjvoucher_meta TO {CENTRES}, {READERS};
GRANT SELECT ON vouchers, events, heads TO {READERS};
"""
LATEST = MIGRATIONS[-1][0]

# The last status change joined LATERAL: PostgreSQL walks events_by_voucher backwards for each voucher
# (SQLite's "e.id = (SELECT max(id) …)" form makes PostgreSQL scan every event once per voucher).
_SELECT = ("SELECT v.*, coalesce(e.reason, '') AS last_reason, coalesce(e.kind, '') AS last_kind, "
           "coalesce(e.other_no, '') AS last_other FROM vouchers v LEFT JOIN LATERAL "
           "(SELECT reason, kind, other_no FROM events WHERE events.voucher_no = v.voucher_no AND kind IN "
           f"({', '.join(repr(k) for k in CHANGE_EVENTS)}) ORDER BY id DESC LIMIT 1) e ON true")


def _explained(method):
    """Turn psycopg's errors inside a storage method into one line naming the database and what to do."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        import psycopg

        try:
            return method(self, *args, **kwargs)
        except psycopg.Error as exc:
            raise database_error(self.path, exc) from exc

    return wrapper


def database_error(where: str, exc) -> LedgerError:
    """Return the one-line error for a PostgreSQL failure on the ledger `where`."""
    import psycopg
    import psycopg.errors as pe

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, pe.UniqueViolation):
        return LedgerError(f"凭证台账 {where}：编号、证书或查询码与已有的凭证重复（{exc.diag.constraint_name}），"
                           "本批没有记入 "
                           "(a duplicate)", code="voucher-no-taken")
    if isinstance(exc, pe.InsufficientPrivilege):
        return LedgerError(f"凭证台账 {where}：本数据库账号无权做这项改动（每个中心只能改本中心的凭证）：{first} "
                           "(permission denied)", code="ledger-permission")
    if isinstance(exc, pe.LockNotAvailable | pe.QueryCanceled):
        return LedgerError(f"凭证台账 {where}：另一个程序长时间占用，请稍后重新运行 ({first})", code="ledger-busy")
    if isinstance(exc, pe.DeadlockDetected | pe.SerializationFailure):
        return LedgerError(f"凭证台账 {where}：与同时运行的另一个 merge 冲突，本批没有记入；请重新运行 ({first})",
                           code="ledger-busy")
    if isinstance(exc, psycopg.ProgrammingError) and ("URI" in first or "conninfo" in first.lower()):
        return LedgerError(f"凭证台账网址 {where} 写法有误：{first}。格式为 postgresql://角色@服务器/数据库 "
                           "(bad URL)", code="ledger-connect")
    if isinstance(exc, psycopg.OperationalError):
        return LedgerError(f"连接不上凭证台账数据库 {where}：{first}。请检查网址、账号和网络 (cannot connect)",
                           code="ledger-connect")
    return LedgerError(f"凭证台账 {where}：{first} ({type(exc).__name__})", code="ledger-postgres")


class PostgresStorage:
    """A ledger in a PostgreSQL database, shared by centres that each connect as their own role.

    Chained per centre (`per_centre`): each centre's events form their own chain with their own signed
    head, so centres never wait for each other, and row-level security keeps each centre to its own
    chain.  The Storage methods of the chain answer for the role's own centre; `centre_chains` and
    `voucher_chain` give every centre's chain as a `CentreChain` view for the checks above storage.
    """

    chained = True
    per_centre = True

    @_explained
    def __init__(self, url: str, *, create: bool = True, readonly: bool = False, clock: Clock | None = None,
                 upgrade: Callable[[Any], str] | None = None):
        import psycopg
        from psycopg.rows import dict_row

        self.url, self.path = url, shown(url)
        self.created = False  # the registry is made by `province init`; the seen-head witness never applies
        self.clock: Clock = clock or dt.datetime.now
        self.notes: list[str] = []  # a centre's history chained on this open
        # What a batch read under its locks, kept until the transaction ends (see `prefetch`).
        self._histories: dict[str, list[Voucher]] = {}
        self._persons: dict[tuple[str, str, str], list[Voucher]] = {}
        self._serials: dict[tuple[str, int], int] = {}
        self._centres: dict[str, str] = {}  # voucher NO → centre, as read or inserted (vouchers never move)
        self._sample_no = ""
        self.readonly = readonly
        self.db = psycopg.connect(url, autocommit=True, row_factory=dict_row, application_name="fjvoucher")
        try:
            self.db.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            version = self._check_ours(create)
            if 0 < version < LATEST and readonly:
                raise _needs_upgrade(self.path)
            if version < LATEST and not readonly:
                self._migrate()
            row = self.db.execute("SELECT coalesce(fjvoucher_centre(), '') AS c").fetchone()
            self.own_centre: str = row["c"] if row else ""
            if readonly:
                self.db.execute("SET default_transaction_read_only = on")
            elif upgrade is not None and self.own_centre:
                self._chain_history(upgrade)
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @_explained
    def grant(self) -> list[str]:
        """Grant the group roles their rights (idempotent); return the centres registered so far."""
        missing = [r for r in (CENTRES, READERS) if self.db.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (r,)).fetchone() is None]
        if missing:
            raise LedgerError(f"数据库中还没有角色 {'、'.join(missing)}："
                              "请先按 README「省指导中心」一节的 SQL 建立角色 "
                              "(roles missing)", code="ledger-roles-missing")
        with self.db.transaction():
            self.db.execute(GRANTS)
        return [f"{r['center_code']} ← {r['role_name']}" for r in self.db.execute(
            "SELECT role_name, center_code FROM centre_roles ORDER BY center_code, role_name")]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block as one transaction; row locks (serials) and advisory locks last until it ends."""
        import psycopg

        try:
            # Pipeline mode: writes whose result nobody reads (inserts, events) travel with the next query
            # instead of waiting for their own round trip; a failure still surfaces and rolls back the whole.
            with self.db.pipeline(), self.db.transaction():
                yield
        except psycopg.Error as exc:
            raise database_error(self.path, exc) from exc
        finally:
            self._forget()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Run a block of reads as they come: each proof here is one query, reading its voucher, events and its
        centre's head in one statement's snapshot, so a merge committing between two of them is never half seen
        (a transaction would cost a server two more round trips a verification)."""
        yield

    def _forget(self) -> None:
        """Drop what was read under the transaction's locks: it is not ours to trust once they are gone."""
        self._histories.clear()
        self._persons.clear()
        self._serials.clear()

    def prefetch(self, certificates: list[str], persons: list[tuple[str, str, str]]) -> None:
        """Lock a batch's certificates and candidates at once, in one order, and read their vouchers.

        Inside the batch's transaction: for_certificate and in_force_elsewhere then answer from what
        was read here (three round trips a batch instead of four a voucher).  Locks are taken sorted,
        so two batches wanting the same certificates queue instead of deadlocking.
        """
        keys = sorted({_key("certificate:" + c) for c in certificates}
                      | {_key(f"person:{i}|{o}|{lv}") for i, o, lv in persons})
        self.db.execute("SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k "
                        "ORDER BY 1) AS locks", (keys,)).fetchone()
        wanted = list(dict.fromkeys(certificates))
        self._histories.update({c: [] for c in wanted})
        for row in self.db.execute(f"{_SELECT} WHERE v.certificate_no = ANY(%s) ORDER BY v.created_at, v.voucher_no",
                                   (wanted,)):
            self._histories[row["certificate_no"]].append(voucher_from_row(row))
            self._centres[row["voucher_no"]] = row["center_code"]
        people = list(dict.fromkeys(persons))
        self._persons.update({p: [] for p in people})
        for row in self.db.execute(
                f"{_SELECT} JOIN unnest(%s::text[], %s::text[], %s::text[]) AS p(i, o, l) ON v.id_number = p.i "
                "AND v.occupation = p.o AND v.level = p.l WHERE v.status = 'issued' ORDER BY v.voucher_no",
                ([p[0] for p in people], [p[1] for p in people], [p[2] for p in people])):
            self._persons[(row["id_number"], row["occupation"], row["level"])].append(voucher_from_row(row))

    def _check_ours(self, create: bool) -> int:
        """Return the schema version; refuse a database that holds other tables, or none when not creating."""
        tables = {r["tablename"] for r in self.db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        if not tables:
            if not create:
                raise InputError(f"数据库 {self.path} 中还没有凭证台账。"
                                 "请检查 --ledger 或 fjvoucher config 中的 ledger "
                                 "设置 (ledger not found)", code="ledger-not-found")
            return 0
        meta = {}
        if "fjvoucher_meta" in tables:
            meta = {r["key"]: r["value"] for r in self.db.execute("SELECT key, value FROM fjvoucher_meta")}
        if meta.get("application") != APPLICATION:
            raise LedgerError(f"数据库 {self.path} 中已有别的表，不是凭证台账，不会改动它。请换一个数据库 "
                              "(not a fjvoucher ledger)", code="ledger-not-ours")
        version = int(meta.get("version", "0"))
        if version > LATEST:
            raise LedgerError(f"凭证台账 {self.path} 由更新版本的 fjvoucher 建立（版本 {version}），请升级 fjvoucher",
                              code="ledger-too-new")
        return version

    def _migrate(self) -> None:
        import psycopg.errors as pe

        try:
            self._migrate_now()
        except pe.InsufficientPrivilege as exc:  # a centre's role met a registry the owner has not upgraded
            raise _needs_upgrade(self.path) from exc

    def _migrate_now(self) -> None:
        with self.db.transaction():
            # One migrator at a time: a second merge starting together waits here, then finds it done.
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_key("migrate"),))
            exists = self.db.execute("SELECT to_regclass('fjvoucher_meta') IS NOT NULL AS e").fetchone()
            current = 0
            if exists and exists["e"]:
                row = self.db.execute("SELECT value FROM fjvoucher_meta WHERE key = 'version'").fetchone()
                current = int(row["value"]) if row else 0
            for number, script in MIGRATIONS:
                if number > current:
                    self.db.execute(script)
            self.db.execute("INSERT INTO fjvoucher_meta VALUES ('application', %s), ('version', %s) "
                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (APPLICATION, str(LATEST)))

    # --- reading -------------------------------------------------------------------------------

    @_explained
    def get(self, voucher_no: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no`, or None."""
        row = self.db.execute(f"{_SELECT} WHERE v.voucher_no = %s", (voucher_no,)).fetchone()
        return voucher_from_row(row) if row else None

    @_explained
    def sample_no(self) -> str:
        """Return the NO of some voucher ("" in an empty ledger): verify's stand-in for an unknown NO.

        Kept once found (vouchers are never deleted): every verification would otherwise pay a round
        trip to the server for it.
        """
        if not self._sample_no:
            row = self.db.execute("SELECT voucher_no FROM vouchers ORDER BY voucher_no LIMIT 1").fetchone()
            self._sample_no = row["voucher_no"] if row else ""
        return self._sample_no

    @_explained
    def by_code(self, voucher_no: str, code: str) -> Voucher | None:
        """Return the voucher numbered `voucher_no` whose verification code is `code`, or None."""
        row = self.db.execute(f"{_SELECT} WHERE v.voucher_no = %s AND v.verify_code = %s AND v.verify_code <> ''",
                              (voucher_no, code)).fetchone()
        return voucher_from_row(row) if row else None

    @_explained
    def for_certificate(self, certificate_no: str) -> list[Voucher]:
        """Return every voucher ever issued for `certificate_no`, oldest first.

        Inside a transaction the certificate is locked first: the history read is the one issuing
        acts on, and another merge of the same certificate waits until this one commits.
        """
        if certificate_no in self._histories:
            return list(self._histories[certificate_no])
        if self.db.info.transaction_status != 0:  # not idle: a write transaction is open
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_key("certificate:" + certificate_no),))
        rows = self.db.execute(f"{_SELECT} WHERE v.certificate_no = %s ORDER BY v.created_at, v.voucher_no",
                               (certificate_no,)).fetchall()
        return [voucher_from_row(r) for r in rows]

    @_explained
    def select(self, *, month: str | None, status: str | None, expiring_within: int | None,
               today: dt.date, containing: tuple[str, str] | None = None,
               limit: int | None = None) -> list[Voucher]:
        """Return the vouchers matching every filter given (month of 发证日期), by issue date and NO."""
        where, params = select_where(month, status, expiring_within, today, "%s", containing, limit)
        rows = self.db.execute(f"{_SELECT} {where}", params)
        return [voucher_from_row(r) for r in rows]

    @_explained
    def history(self, voucher_no: str) -> list[Event]:
        """Return the events of `voucher_no`, oldest first."""
        return read_history(self.db, voucher_no, "%s")

    @_explained
    def events_between(self, start: dt.datetime, end: dt.datetime) -> list[Event]:
        """Return the events at or after `start` and before `end`, in order."""
        return read_events_between(self.db, start, end, "%s")

    @_explained
    def status_at(self, voucher_no: str, moment: dt.datetime) -> str:
        """Return the status `voucher_no` had just before `moment` (issued, replaced, revoked, superseded)."""
        row = self.db.execute("SELECT kind FROM events WHERE voucher_no = %s AND at < %s AND kind = ANY(%s) "
                              "ORDER BY id DESC LIMIT 1", (voucher_no, stamp(moment), list(CHANGE_EVENTS))).fetchone()
        return "issued" if row is None or row["kind"] == "restored" else row["kind"]

    @_explained
    def without_code(self) -> list[str]:
        """Return the NOs of this centre's vouchers issued before verification codes existed."""
        return [r["voucher_no"] for r in self.db.execute(
            "SELECT voucher_no FROM vouchers WHERE verify_code = '' AND "
            "(fjvoucher_centre() IS NULL OR center_code = fjvoucher_centre())")]

    @_explained
    def no_in_use(self, voucher_no: str) -> bool:
        """Return True when a voucher numbered `voucher_no` exists."""
        return self.db.execute("SELECT 1 FROM vouchers WHERE voucher_no = %s", (voucher_no,)).fetchone() is not None

    @_explained
    def nos_in_use(self, voucher_nos: list[str]) -> set[str]:
        """Return which of `voucher_nos` are NOs of existing vouchers (one round trip for all)."""
        return {r["voucher_no"] for r in self.db.execute("SELECT voucher_no FROM vouchers WHERE voucher_no = ANY(%s)",
                                                         (list(voucher_nos),))}

    @_explained
    def issue_time(self, voucher_nos: list[str]) -> dt.datetime | None:
        """Return when the latest of `voucher_nos` was first recorded, or None for none of them."""
        row = self.db.execute("SELECT max(created_at) AS t FROM vouchers WHERE voucher_no = ANY(%s)",
                              (list(voucher_nos),)).fetchone()
        return dt.datetime.fromisoformat(row["t"]) if row and row["t"] else None

    @_explained
    def in_force_elsewhere(self, id_number: str, occupation: str, level: str, center_code: str) -> Voucher | None:
        """Return a voucher in force for the same person, occupation and level from another centre, or None.

        Locked like a certificate: two centres issuing the same candidate at once take turns.
        """
        known = self._persons.get((id_number, occupation, level))
        if known is not None:
            return next((v for v in known if v.center_code != center_code), None)
        if self.db.info.transaction_status != 0:
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_key(f"person:{id_number}|{occupation}|{level}"),))
        row = self.db.execute(f"{_SELECT} WHERE v.id_number = %s AND v.occupation = %s AND v.level = %s "
                              "AND v.status = 'issued' AND v.center_code <> %s ORDER BY v.voucher_no LIMIT 1",
                              (id_number, occupation, level, center_code)).fetchone()
        return voucher_from_row(row) if row else None

    # --- writing: inside a transaction the caller opened -----------------------------------------

    def take_serial(self, center_code: str, year: int) -> int:
        """Return the next serial of the centre and year; the row stays locked until the batch commits.

        Once the row is locked, this transaction alone can change it: later serials are counted here
        and written without waiting for an answer.
        """
        key = (center_code, year)
        if key in self._serials:
            self._serials[key] += 1
            self.db.execute("UPDATE serials SET last = %s WHERE center_code = %s AND year = %s",
                            (self._serials[key], center_code, year))
            return self._serials[key]
        row = self.db.execute("INSERT INTO serials (center_code, year, last) VALUES (%s, %s, 1) "
                              "ON CONFLICT (center_code, year) DO UPDATE SET last = serials.last + 1 RETURNING last",
                              (center_code, year)).fetchone()
        assert row is not None  # INSERT … RETURNING always returns the row
        self._serials[key] = int(row["last"])
        return self._serials[key]

    def insert_voucher(self, row: dict) -> None:
        """Insert a new voucher row (keys: the columns); raise LedgerError when its NO is taken."""
        import psycopg.errors as pe

        self._histories.pop(row["certificate_no"], None)
        self._persons.pop((row["id_number"], row["occupation"], row["level"]), None)
        self._centres[row["voucher_no"]] = row["center_code"]
        try:  # the error ends the batch: its transaction rolls back whole
            self.db.execute(f"INSERT INTO vouchers ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
                            list(row.values()))
        except pe.UniqueViolation as exc:
            raise LedgerError(f"凭证编号 {row['voucher_no']} 已被使用，不能重复发放 ({exc.diag.constraint_name})",
                              code="voucher-no-taken") from exc

    def set_status(self, voucher_no: str, status: str) -> None:
        """Set a voucher's status; refuse a voucher this centre's role may not change."""
        self._histories.clear()
        self._persons.clear()
        changed = self.db.execute("UPDATE vouchers SET status = %s WHERE voucher_no = %s RETURNING voucher_no",
                                  (status, voucher_no)).fetchone()  # fetched: row-level security may hide it
        if changed is None:
            owner = self.db.execute("SELECT center_code FROM vouchers WHERE voucher_no = %s", (voucher_no,)).fetchone()
            raise LedgerError(f"凭证 {voucher_no} 属于中心 {owner['center_code'] if owner else '?'}，本中心的数据库账号"
                              "不能修改它 (another centre's voucher)", code="ledger-permission")

    def set_code(self, voucher_no: str, code: str) -> None:
        """Give a voucher its verification code."""
        self._histories.clear()
        self.db.execute("UPDATE vouchers SET verify_code = %s WHERE voucher_no = %s", (code, voucher_no))

    def place(self, voucher_no: str, batch_file: str, page: int | None, template_sha256: str,
              photo: str | None = None) -> None:
        """Record where a voucher is printed (its batch file and page), with which master and photo (None: as was)."""
        self.db.execute("UPDATE vouchers SET batch_file = %s, page = %s, template_sha256 = %s, "
                        "photo = coalesce(%s, photo) WHERE voucher_no = %s",
                        (batch_file, page, template_sha256, photo, voucher_no))

    def append_event(self, event: Event) -> None:
        """Append one event to its centre's chain, with its number and links as the chain computed them."""
        self.db.execute("INSERT INTO events (voucher_no, kind, at, reason, actor, other_no, data, center_code, number, "
                        "prev, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (event.voucher_no, event.kind, stamp(event.at), event.reason, event.actor, event.other_no,
                         event.data, event.center_code, event.number, event.prev, event.hash))

    # --- the chains: one per centre ----------------------------------------------------------------

    def lock_tip(self, center_code: str) -> tuple[tuple[int, str] | None, bool]:
        """Take the centre's turn on its chain (its head row, locked until the transaction ends); return its tip.

        Returns the number and hash of the chain's last event (None: no event yet), and whether the head
        row was made here (a centre's first write: it must be signed even if nothing is appended).
        """
        lock = "SELECT count FROM heads WHERE center_code = %s FOR UPDATE"
        fresh = self.db.execute(lock, (center_code,)).fetchone() is None
        if fresh:  # two first writers: the second waits on the key, then locks the row the first made
            self.db.execute("INSERT INTO heads VALUES (%s, 0, '', '', '', '') ON CONFLICT DO NOTHING", (center_code,))
            self.db.execute(lock, (center_code,)).fetchone()
        # Read after the lock, in a statement of its own: it sees what the merge before us committed.
        return self._tip(center_code), fresh

    def _tip(self, center_code: str, before: dt.datetime | None = None) -> tuple[int, str] | None:
        where, params = ("AND at < %s", (center_code, stamp(before))) if before else ("", (center_code,))
        row = self.db.execute("SELECT number, hash FROM events WHERE center_code = %s AND number IS NOT NULL "
                              f"{where} ORDER BY number DESC LIMIT 1", params).fetchone()
        return (int(row["number"]), row["hash"]) if row else None

    def set_centre_head(self, center_code: str, head: Head) -> None:
        """Store centre `center_code`'s signed head (its row, replaced after each write)."""
        self.db.execute("INSERT INTO heads VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (center_code) DO UPDATE SET "
                        "count = excluded.count, hash = excluded.hash, signature = excluded.signature, "
                        "public_key = excluded.public_key, at = excluded.at",
                        (center_code, head.count, head.hash, head.signature, head.public_key, head.at))

    def centre_of(self, voucher_no: str) -> str:
        """Return the centre whose chain voucher `voucher_no`'s events go on (its row's centre)."""
        if voucher_no not in self._centres:
            row = self.db.execute("SELECT center_code FROM vouchers WHERE voucher_no = %s", (voucher_no,)).fetchone()
            self._centres[voucher_no] = row["center_code"] if row else ""
        return self._centres[voucher_no]

    @_explained
    def centre_chains(self, *, everything: bool = False, every_centre: bool = False) -> list[CentreChain]:
        """Return the chains the checks cover: the role's own centre's, or every centre's (the province, the owner,
        or `every_centre`: a centre's role reading rows of the whole province).

        One query: each centre's head and last event.  `everything` (the audit) also finds centres that
        only have events or vouchers (a head deleted, a row forged under a new centre code).
        """
        if self.own_centre and not every_centre:
            centres, params = "SELECT %s::text AS center_code", [self.own_centre]
        else:
            centres, params = "SELECT center_code FROM heads UNION SELECT center_code FROM centre_roles", []
            if everything:
                centres += " UNION SELECT center_code FROM events UNION SELECT center_code FROM vouchers"
        rows = self.db.execute(f"SELECT c.center_code, {_HEAD_AND_TIP} FROM ({centres}) c ORDER BY 1", params)
        return [CentreChain(self, r["center_code"], _head(r["head"]), _pair(r["tip"])) for r in rows]

    @_explained
    def voucher_chain(self, voucher_no: str) -> tuple[CentreChain, list[dict], list[dict], Voucher | None]:
        """Return voucher `voucher_no`'s centre's chain, its events (as stored, with their neighbours' links), its
        row as stored, and the voucher (as `get` answers).

        One round trip (a server asks this for every query): the events carry `center_code`, and the
        view answers `link` for the events around them and `head`/`last_event` for their centre.
        """
        found = self.db.execute(_VOUCHER_CHAIN, {"no": voucher_no}).fetchall()
        first = found[0]  # the centre's row is always there, with or without a voucher and events
        events, links = [], {}
        for row in found:
            if row["ev__gid"] is None:
                continue
            number = row["ev__number"]
            event = {"id": number, "voucher_no": voucher_no, **{c: row[f"ev__{c}"] for c in _EVENT_COLUMNS[1:]}}
            events.append(event)
            if number is not None:
                links[number] = (event["prev"], event["hash"])
                for side, at in (("bf", number - 1), ("af", number + 1)):
                    if row[f"{side}__gid"] is not None:
                        links[at] = (row[f"{side}__prev"], row[f"{side}__hash"])
        head = _head({k[4:]: v for k, v in first.items() if k.startswith("hd__")}) if first["hd__count"] is not None \
            else None
        tip = (int(first["tp__number"]), first["tp__hash"]) if first["tp__number"] is not None else None
        view = CentreChain(self, first["centre__"], head, tip, links)
        # The row as stored, with its last change beside it (the projection compares columns by name).
        stored = {k: v for k, v in first.items() if "__" not in k} if first["voucher_no"] is not None else None
        return view, events, [stored] if stored else [], voucher_from_row(stored) if stored else None

    def _chain_history(self, upgrade: Callable[[Any], str]) -> None:
        """Chain this centre's events written before the chain existed, once, with the centre's key (`upgrade`).

        The owner's migration gave every event its centre; only the centre's own computer holds its key,
        so each centre's next command links and signs its own history.  Under the centre's head lock:
        a merge of the centre running meanwhile waits, and a second command finds it done.
        """
        pending = "SELECT 1 FROM events WHERE center_code = %s AND hash = '' LIMIT 1"
        if self.db.execute(pending, (self.own_centre,)).fetchone() is None:
            return
        with self.transaction():
            self.lock_tip(self.own_centre)
            history = _History(self, self.own_centre)
            if history.ids and not history.chained:
                self.notes.append(upgrade(history))

    # --- the role's own centre's chain, as the Storage interface asks -------------------------------

    @_explained
    def head(self) -> Head | None:
        """Return the signed head of the role's own centre, or None (none yet, or a role of no centre)."""
        if not self.own_centre:
            return None
        row = self.db.execute("SELECT * FROM heads WHERE center_code = %s", (self.own_centre,)).fetchone()
        return _head(row)

    def set_head(self, head: Head) -> None:
        """Store the role's own centre's signed head."""
        self.set_centre_head(self.own_centre, head)

    @_explained
    def last_event(self, before: dt.datetime | None = None) -> tuple[int, str] | None:
        """Return the number and hash of the own centre's last event (of the last one dated before `before`)."""
        return self._tip(self.own_centre, before) if self.own_centre else None

    @_explained
    def link(self, number: int) -> tuple[str, str] | None:
        """Return the stored prev and hash of event `number` of the own centre's chain, or None."""
        return _link(self, self.own_centre, number)

    def chain_existing(self, number: int, data: str, prev: str, hash: str) -> None:
        """Refuse: a centre's history is chained through `_History` (see `_chain_history`)."""
        raise LedgerError(f"凭证台账 {self.path}：中心的历史由中心自己的下一个命令连成链 (chained by the centre)",
                          code="ledger-error")

    @_explained
    def event_count(self) -> int:
        """Return how many events there are (every role reads every centre's)."""
        return self._count("SELECT count(*) AS n FROM events")

    @_explained
    def voucher_count(self) -> int:
        """Return how many vouchers there are."""
        return self._count("SELECT count(*) AS n FROM vouchers")

    @_explained
    def issue_count(self) -> int:
        """Return how many issue events there are."""
        return self._count("SELECT count(*) AS n FROM events WHERE kind IN ('issued', 'reissued')")

    def _count(self, query: str, params: tuple = ()) -> int:
        row = self.db.execute(query, params).fetchone()
        return int(row["n"]) if row else 0

    @_explained
    def raw_events(self, voucher_no: str | None = None) -> Iterator[dict]:
        """Yield events as stored, every centre's, by centre and number (`id` is the number in its centre's chain)."""
        where, params = ("WHERE voucher_no = %s", (voucher_no,)) if voucher_no is not None else ("", ())
        yield from self.db.execute(f"SELECT {_RAW_EVENT} FROM events {where} ORDER BY center_code, number", params)

    @_explained
    def raw_vouchers(self, voucher_no: str | None = None) -> Iterator[dict]:
        """Yield voucher rows as stored, by NO; or the one numbered `voucher_no`."""
        where, params = ("WHERE voucher_no = %s", (voucher_no,)) if voucher_no is not None else ("", ())
        yield from self.db.execute(f"SELECT * FROM vouchers {where} ORDER BY voucher_no", params)

    @_explained
    def schema_problems(self) -> list[str]:
        """Return what guards the registry that is missing or off: the events' triggers, row-level security."""
        problems = []
        triggers = {r["tgname"]: r["tgenabled"] for r in self.db.execute(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal")}
        for name in ("events_are_never_edited", "events_are_never_deleted", "events_come_chained"):
            if triggers.get(name, "D") == "D":
                problems.append(f"触发器 {name} 被删除或停用 (trigger missing or disabled)")
        secured = self.db.execute("SELECT relname, relrowsecurity FROM pg_class WHERE relname = ANY(%s) AND "
                                  "relnamespace = current_schema()::regnamespace", (list(_GUARDED),)).fetchall()
        problems += [f"表 {r['relname']} 的行级安全被关闭 (row-level security off)" for r in secured
                     if not r["relrowsecurity"]]
        return sorted(problems)

    def backup_to(self, target: Path) -> None:
        """Refuse: a database is backed up by its administrator (pg_dump), not by fjvoucher."""
        raise _not_here(self.path)

    def restore_from(self, source: Path) -> None:
        """Refuse: see `backup_to`."""
        raise _not_here(self.path)


_GUARDED = ("vouchers", "events", "serials", "heads")
_RAW_EVENT = "number AS id, center_code, voucher_no, kind, at, reason, actor, other_no, data, prev, hash"
# A centre's signed head and its chain's last event, as JSON, for the centre in `c` (see centre_chains).
_HEAD_AND_TIP = ("(SELECT to_jsonb(h) FROM heads h WHERE h.center_code = c.center_code) AS head, "
                 "(SELECT jsonb_build_array(t.number, t.hash) FROM events t WHERE t.center_code = c.center_code "
                 "AND t.number IS NOT NULL ORDER BY t.number DESC LIMIT 1) AS tip")
# A voucher's proof in one query, as plain rows (JSON built per query cost as much again): one row per event
# (one with no event columns when it has none), each carrying the voucher (as `get` reads it), its centre's
# head and last event, and the event's neighbours on the chain.  Prefixed names (hd__, ev__ …) keep the
# voucher's own columns apart.
_EVENT_COLUMNS = ("id", "center_code", "kind", "at", "reason", "actor", "other_no", "data", "prev", "hash")
_VOUCHER_CHAIN = (
    "SELECT c.center_code AS centre__, h.count AS hd__count, h.hash AS hd__hash, h.signature AS hd__signature, "
    "h.public_key AS hd__public_key, h.at AS hd__at, t.number AS tp__number, t.hash AS tp__hash, x.*, "
    "e.id AS ev__gid, e.number AS ev__number, "
    + ", ".join(f"e.{c} AS ev__{c}" for c in _EVENT_COLUMNS[1:]) + ", "
    "b.id AS bf__gid, b.prev AS bf__prev, b.hash AS bf__hash, a.id AS af__gid, a.prev AS af__prev, a.hash AS af__hash "
    "FROM (SELECT coalesce((SELECT center_code FROM vouchers WHERE voucher_no = %(no)s), "
    "(SELECT center_code FROM events WHERE voucher_no = %(no)s ORDER BY id LIMIT 1), '') AS center_code "
    "OFFSET 0) c "  # kept a subquery (OFFSET 0): its centre is a value the tip's backward index scan can use
    "LEFT JOIN heads h ON h.center_code = c.center_code "
    "LEFT JOIN LATERAL (SELECT number, hash FROM events WHERE center_code = c.center_code AND number IS NOT NULL "
    "ORDER BY number DESC LIMIT 1) t ON true "
    f"LEFT JOIN LATERAL ({_SELECT} WHERE v.voucher_no = %(no)s) x ON true "
    "LEFT JOIN events e ON e.voucher_no = %(no)s "
    "LEFT JOIN events b ON b.center_code = e.center_code AND b.number = e.number - 1 "
    "LEFT JOIN events a ON a.center_code = e.center_code AND a.number = e.number + 1 "
    "ORDER BY e.center_code, e.number")


class CentreChain:
    """One centre's chain in the registry, answering the Storage methods the checks read (audit.py), for that centre.

    Made with what one query read (its head, its last event, and for `voucher_chain` the links around a
    voucher's events); the rest is asked when needed.  Another centre's head is signed by a key only
    that centre holds, so its key is taken as the head names it (`foreign`); the seen-head record
    (witness.py) is kept for a centre's own file-like ledger, not here (`witnessed`).
    """

    chained = True
    witnessed = False

    def __init__(self, storage: PostgresStorage, centre: str, head: Head | None, tip: tuple[int, str] | None,
                 links: dict[int, tuple] | None = None):
        self.storage, self.centre, self._head, self._tip_ = storage, centre, head, tip
        self._links = links
        self.path = f"{storage.path}（中心 {centre or '?'}）"
        self.clock = storage.clock
        self.foreign = centre != storage.own_centre

    def head(self) -> Head | None:
        """Return the centre's signed head, as read."""
        return self._head

    def last_event(self, before: dt.datetime | None = None) -> tuple[int, str] | None:
        """Return the number and hash of the centre's last event, as read."""
        return self._tip_

    def link(self, number: int) -> tuple[str, str] | None:
        """Return the stored prev and hash of the centre's event `number`, or None."""
        if self._links is not None and number in self._links:
            return self._links[number]
        return _link(self.storage, self.centre, number)

    def event_count(self) -> int:
        """Return how many chained events the centre has."""
        return self.storage._count("SELECT count(*) AS n FROM events WHERE center_code = %s AND number IS NOT NULL",
                                   (self.centre,))

    def unchained(self) -> int:
        """Return how many of the centre's events are not chained yet (written before the chain existed)."""
        return self.storage._count("SELECT count(*) AS n FROM events WHERE center_code = %s AND number IS NULL",
                                   (self.centre,))

    def raw_events(self, voucher_no: str | None = None) -> Iterator[dict]:
        """Yield the centre's chained events as stored, in chain order (`id` is the number in the chain)."""
        where, params = ("AND voucher_no = %s", (self.centre, voucher_no)) if voucher_no else ("", (self.centre,))
        yield from self.storage.db.execute(f"SELECT {_RAW_EVENT} FROM events WHERE center_code = %s AND number IS "
                                           f"NOT NULL {where} ORDER BY number", params)

    def raw_vouchers(self, voucher_no: str | None = None) -> Iterator[dict]:
        """Yield the centre's voucher rows as stored, by NO."""
        where, params = ("AND voucher_no = %s", (self.centre, voucher_no)) if voucher_no else ("", (self.centre,))
        yield from self.storage.db.execute(f"SELECT * FROM vouchers WHERE center_code = %s {where} "
                                           "ORDER BY voucher_no", params)

    def schema_problems(self) -> list[str]:
        """Return []: the registry's guards are the audit's to check (PostgresStorage.schema_problems), once."""
        return []


class _History:
    """A centre's events written before the chain existed, numbered 1… in the order they were written.

    What chain.build_chain reads and writes to link and sign them, once (see `_chain_history`).
    """

    def __init__(self, storage: PostgresStorage, centre: str):
        self.storage, self.centre, self.clock = storage, centre, storage.clock
        self.path = f"{storage.path}（中心 {centre}）"
        self.rows = list(storage.db.execute(
            "SELECT id AS global_id, voucher_no, kind, at, reason, actor, other_no, data FROM events "
            "WHERE center_code = %s AND hash = '' ORDER BY id", (centre,)))
        self.ids = {number: row.pop("global_id") for number, row in enumerate(self.rows, start=1)}
        self.chained = storage._count("SELECT count(*) AS n FROM events WHERE center_code = %s AND hash <> ''",
                                      (centre,))

    def raw_events(self) -> Iterator[dict]:
        """Yield the unchained events as stored, numbered in order."""
        for number, row in enumerate(self.rows, start=1):
            yield {**row, "id": number}

    def chain_existing(self, number: int, data: str, prev: str, hash: str) -> None:
        """Give event `number` its place in the centre's chain, its data and links (the trigger allows it once)."""
        self.storage.db.execute("UPDATE events SET number = %s, data = %s, prev = %s, hash = %s WHERE id = %s",
                                (number, data, prev, hash, self.ids[number]))

    def set_head(self, head: Head) -> None:
        """Store the centre's signed head."""
        self.storage.set_centre_head(self.centre, head)


def _link(storage: PostgresStorage, centre: str, number: int) -> tuple[str, str] | None:
    row = storage.db.execute("SELECT prev, hash FROM events WHERE center_code = %s AND number = %s",
                             (centre, number)).fetchone()
    return (row["prev"], row["hash"]) if row else None


def _head(row: dict | None) -> Head | None:
    """Return the head a heads row holds; None for none, or for a centre's first write not signed yet."""
    if not row or (not row["signature"] and not row["count"]):
        return None
    return Head(int(row["count"]), row["hash"], row["signature"], row["public_key"], row["at"])


def _pair(value) -> tuple[int, str] | None:
    return (int(value[0]), str(value[1])) if value else None


def _needs_upgrade(path: str) -> LedgerError:
    return LedgerError(f"凭证台账 {path} 需要升级（每个中心一条哈希链）：请数据库所有者先运行 "
                       f"fjvoucher province init --ledger postgresql://fjvoucher_owner@…，然后各中心照常使用 "
                       "(the registry needs an upgrade by its owner)", code="ledger-error")


def _not_here(path: str) -> LedgerError:
    return LedgerError(f"凭证台账 {path} 在 PostgreSQL 上：由数据库管理员用 pg_dump 备份和恢复，"
                       "恢复后用 fjvoucher audit 核查 (back a PostgreSQL registry up with pg_dump)",
                       code="ledger-pg-dump")


def _key(text: str) -> int:
    """Return a stable 63-bit advisory lock key for `text` (the same in every process)."""
    return zlib.crc32(text.encode("utf-8")) | (zlib.adler32(text.encode("utf-8")) << 32) & 0x7FFF_FFFF_FFFF_FFFF
