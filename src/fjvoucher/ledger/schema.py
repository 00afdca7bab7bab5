"""The ledger's schema: migrations as frozen SQL text, applied in order and never changed once released.

A migration is the text that was run; it must not read today's layout, or a ledger written by an
old version would be migrated by SQL that version never knew.  Version 1 is 0.1.0's schema;
version 2 adds the event history (rebuilt from 0.1.0's rows), the superseded status, the
verification code and the application id that marks the file as a fjvoucher ledger.  Version 4
chains the events (each carries the hash of the one before it and its own, see chain.py), adds
what each event changes in the voucher's row (`data`: the whole row at issue), the `placed` event,
and the signed head; the chain itself is built by the code above storage, in the same transaction.
Version 5 adds the province's registry of imported centre chains (province/imports.py): the centres'
public keys, each imported event's place in its centre's chain, and the files imported; a centre's
own ledger keeps these tables empty.  Version 6 lets a centre's key be replaced and seals that
bookkeeping with the registry's key (ledger/bookkeeping.py).
"""

from __future__ import annotations

APPLICATION_ID = 0x464A5643  # "FJVC" in the SQLite header: a file without it is not ours

V1 = """
CREATE TABLE vouchers ( voucher_no TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', sex TEXT NOT NULL DEFAULT '',
 birth_date TEXT NOT NULL DEFAULT '', education TEXT NOT NULL DEFAULT '', id_number TEXT NOT NULL DEFAULT '',
 occupation TEXT NOT NULL DEFAULT '', level TEXT NOT NULL DEFAULT '', theory_score TEXT NOT NULL DEFAULT '',
 skill_score TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '', certificate_no TEXT NOT NULL DEFAULT '',
 issue_date TEXT NOT NULL DEFAULT '', exam_no TEXT NOT NULL DEFAULT '', center TEXT NOT NULL DEFAULT '',
 issued_on TEXT NOT NULL, expires_on TEXT NOT NULL, template_sha256 TEXT NOT NULL,
 batch_file TEXT NOT NULL DEFAULT '', page INTEGER,
 status TEXT NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'replaced', 'revoked')),
 status_reason TEXT NOT NULL DEFAULT '', replaces TEXT NOT NULL DEFAULT '', replaced_by TEXT NOT NULL DEFAULT '',
 created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE UNIQUE INDEX one_in_force_per_certificate ON vouchers (certificate_no) WHERE status = 'issued';
CREATE INDEX vouchers_by_certificate ON vouchers (certificate_no);
CREATE INDEX vouchers_by_issue_date ON vouchers (issued_on);
CREATE TABLE serials (center_code TEXT NOT NULL, year INTEGER NOT NULL, last INTEGER NOT NULL,
 PRIMARY KEY (center_code, year));
"""

V2 = """
CREATE TABLE vouchers2 ( voucher_no TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', sex TEXT NOT NULL DEFAULT '',
 birth_date TEXT NOT NULL DEFAULT '', education TEXT NOT NULL DEFAULT '', id_number TEXT NOT NULL DEFAULT '',
 occupation TEXT NOT NULL DEFAULT '', level TEXT NOT NULL DEFAULT '', theory_score TEXT NOT NULL DEFAULT '',
 skill_score TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '', certificate_no TEXT NOT NULL DEFAULT '',
 issue_date TEXT NOT NULL DEFAULT '', exam_no TEXT NOT NULL DEFAULT '', center TEXT NOT NULL DEFAULT '',
 issued_on TEXT NOT NULL, expires_on TEXT NOT NULL, template_sha256 TEXT NOT NULL,
 batch_file TEXT NOT NULL DEFAULT '', page INTEGER,
 status TEXT NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'replaced', 'revoked', 'superseded')),
 replaces TEXT NOT NULL DEFAULT '', verify_code TEXT NOT NULL DEFAULT '', center_code TEXT NOT NULL DEFAULT '',
 created_at TEXT NOT NULL);
INSERT INTO vouchers2 SELECT voucher_no, name, sex, birth_date, education, id_number, occupation, level,
 theory_score, skill_score, result, certificate_no, issue_date, exam_no, center, issued_on, expires_on,
 template_sha256, batch_file, page,
 CASE WHEN status = 'replaced' AND status_reason = '国家职业资格证书已发放' THEN 'superseded' ELSE status END,
 replaces, '', substr(certificate_no, 3, 4), created_at FROM vouchers;
CREATE TABLE events ( id INTEGER PRIMARY KEY, voucher_no TEXT NOT NULL,
 kind TEXT NOT NULL CHECK (kind IN ('issued', 'reissued', 'replaced', 'revoked', 'restored', 'superseded', 'coded')),
 at TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '', other_no TEXT NOT NULL DEFAULT '');
INSERT INTO events (voucher_no, kind, at, reason, actor, other_no)
 SELECT voucher_no, CASE WHEN replaces <> '' THEN 'reissued' ELSE 'issued' END, created_at,
 CASE WHEN replaces <> '' THEN '补发' ELSE '' END, '(0.1.0)', replaces FROM vouchers ORDER BY created_at, voucher_no;
INSERT INTO events (voucher_no, kind, at, reason, actor, other_no)
 SELECT voucher_no, CASE WHEN status_reason = '国家职业资格证书已发放' THEN 'superseded'
 WHEN status = 'revoked' THEN 'revoked' ELSE 'replaced' END, updated_at, status_reason, '(0.1.0)', replaced_by
 FROM vouchers WHERE status <> 'issued' ORDER BY updated_at, voucher_no;
DROP TABLE vouchers;
ALTER TABLE vouchers2 RENAME TO vouchers;
CREATE UNIQUE INDEX one_in_force_per_certificate ON vouchers (certificate_no) WHERE status = 'issued';
CREATE INDEX vouchers_by_certificate ON vouchers (certificate_no);
CREATE UNIQUE INDEX vouchers_by_code ON vouchers (verify_code) WHERE verify_code <> '';
CREATE INDEX events_by_voucher ON events (voucher_no, id);
CREATE INDEX events_by_time ON events (at);
CREATE TRIGGER events_are_never_edited BEFORE UPDATE ON events
 BEGIN SELECT RAISE(ABORT, 'ledger events are never edited'); END;
CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
 BEGIN SELECT RAISE(ABORT, 'ledger events are never deleted'); END;
"""

# 3: where each voucher's photo came from at issue time, so a reissue prints the same photo.
V3 = """
ALTER TABLE vouchers ADD COLUMN photo TEXT NOT NULL DEFAULT '';
"""

# 4: event ids are renumbered 1..n (a hand-deleted row of 0.2 left a gap): the chain counts them.  An issue's
# data is the voucher's row as it stands, the best record of it there is, as values in projection.ROW_KEYS
# order; later events start empty.
V4 = """
CREATE TABLE events3 ( id INTEGER PRIMARY KEY, voucher_no TEXT NOT NULL,
 kind TEXT NOT NULL CHECK (kind IN ('issued', 'reissued', 'replaced', 'revoked', 'restored', 'superseded', 'coded',
 'placed')),
 at TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '', other_no TEXT NOT NULL DEFAULT '',
 data TEXT NOT NULL DEFAULT '{}', prev TEXT NOT NULL DEFAULT '', hash TEXT NOT NULL DEFAULT '');
INSERT INTO events3 (id, voucher_no, kind, at, reason, actor, other_no, data)
 SELECT row_number() OVER (ORDER BY e.id), e.voucher_no, e.kind, e.at, e.reason, e.actor, e.other_no,
 CASE WHEN e.kind IN ('issued', 'reissued') AND v.voucher_no IS NOT NULL THEN json_array(
 v.name, v.sex, v.birth_date, v.education, v.id_number, v.occupation, v.level, v.theory_score, v.skill_score,
 v.result, v.certificate_no, v.issue_date, v.exam_no, v.center, v.issued_on, v.expires_on, v.template_sha256,
 v.batch_file, v.page, v.replaces, v.verify_code, v.center_code, v.created_at, v.photo) ELSE '{}' END
 FROM events e LEFT JOIN vouchers v ON v.voucher_no = e.voucher_no ORDER BY e.id;
DROP TABLE events;
ALTER TABLE events3 RENAME TO events;
CREATE INDEX events_by_voucher ON events (voucher_no, id);
CREATE INDEX events_by_time ON events (at);
CREATE TABLE head ( id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL, hash TEXT NOT NULL,
 signature TEXT NOT NULL, public_key TEXT NOT NULL, at TEXT NOT NULL);
CREATE TRIGGER events_are_never_edited BEFORE UPDATE ON events WHEN OLD.hash <> ''
 BEGIN SELECT RAISE(ABORT, 'ledger events are never edited'); END;
CREATE TRIGGER events_are_chained_once BEFORE UPDATE ON events WHEN OLD.hash = '' AND (NEW.id IS NOT OLD.id
 OR NEW.voucher_no IS NOT OLD.voucher_no OR NEW.kind IS NOT OLD.kind OR NEW.at IS NOT OLD.at
 OR NEW.reason IS NOT OLD.reason OR NEW.actor IS NOT OLD.actor OR NEW.other_no IS NOT OLD.other_no)
 BEGIN SELECT RAISE(ABORT, 'ledger events are never edited'); END;
CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
 BEGIN SELECT RAISE(ABORT, 'ledger events are never deleted'); END;
CREATE TRIGGER events_come_chained BEFORE INSERT ON events WHEN NEW.hash = ''
 BEGIN SELECT RAISE(ABORT, 'ledger events are chained'); END;
"""

# 5: the province's registry of imported monthly exchanges.  `imported_events` ties an event of the registry's
# own chain (`number`, its events.id) to its place in its centre's chain; like events, never edited or deleted.
V5 = """
CREATE TABLE centre_keys ( center_code TEXT PRIMARY KEY, public_key TEXT NOT NULL, added_at TEXT NOT NULL);
CREATE TABLE imported_events ( number INTEGER PRIMARY KEY, center_code TEXT NOT NULL, center_number INTEGER NOT NULL,
 center_hash TEXT NOT NULL, UNIQUE (center_code, center_number));
CREATE TABLE imports ( sha256 TEXT PRIMARY KEY, center_code TEXT NOT NULL, month TEXT NOT NULL,
 from_count INTEGER NOT NULL, to_count INTEGER NOT NULL, added INTEGER NOT NULL, at TEXT NOT NULL);
CREATE TRIGGER imported_events_are_never_edited BEFORE UPDATE ON imported_events
 BEGIN SELECT RAISE(ABORT, 'imported events are never edited'); END;
CREATE TRIGGER imported_events_are_never_deleted BEFORE DELETE ON imported_events
 BEGIN SELECT RAISE(ABORT, 'imported events are never deleted'); END;
"""

# 6: a centre's key can be replaced (the old one then signs nothing past `until_count` of the centre's chain, the
# registry's copy of it when the key was replaced); a key speaks for one centre; and the registry's bookkeeping (keys,
# imports, imported events) is sealed with the province's key, bound to the chain's head (ledger/bookkeeping.py).
V6 = """
CREATE TABLE centre_keys6 ( center_code TEXT NOT NULL, public_key TEXT NOT NULL, added_at TEXT NOT NULL,
 until_count INTEGER, replaced_at TEXT NOT NULL DEFAULT '', PRIMARY KEY (center_code, public_key));
INSERT INTO centre_keys6 (center_code, public_key, added_at) SELECT center_code, public_key, added_at FROM centre_keys;
DROP TABLE centre_keys;
ALTER TABLE centre_keys6 RENAME TO centre_keys;
CREATE UNIQUE INDEX one_key_in_use_per_centre ON centre_keys (center_code) WHERE until_count IS NULL;
CREATE UNIQUE INDEX a_key_speaks_for_one_centre ON centre_keys (public_key);
CREATE TABLE registry_seal ( id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL, hash TEXT NOT NULL,
 digests TEXT NOT NULL, signature TEXT NOT NULL, public_key TEXT NOT NULL, at TEXT NOT NULL);
"""

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, V1), (2, V2), (3, V3), (4, V4), (5, V5), (6, V6))
CHAINED = 4  # the version whose migration asks the code above storage to build the chain
LATEST = MIGRATIONS[-1][0]
