"""The ledger's schema: migrations as frozen SQL text, applied in order and never changed once released.

A migration is the text that was run; it must not read today's layout, or a ledger written by an
old version would be migrated by SQL that version never knew.  Version 1 is 0.1.0's schema;
version 2 adds the event history (rebuilt from 0.1.0's rows), the superseded status, the
verification code and the application id that marks the file as a fjvoucher ledger.
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

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, V1), (2, V2), (3, V3))
LATEST = MIGRATIONS[-1][0]
