# ruff: noqa: F811  (the fixtures of test_exchange, imported by name, are the tests' arguments)
"""Red team of the offline monthly exchange: a hostile or careless centre, and whoever holds the registry file.

Every file is made by the real `fjvoucher export` of a real ledger, then damaged, or rewritten and re-signed
with the centre's own key (what a hostile centre can do); every import goes through the CLI.  Each refusal is
one line naming the file, and the registry is left exactly as it was (one file, one transaction).
"""

import datetime as dt
import json
import sqlite3

import pytest

from support import Clock, run
from test_exchange import (  # noqa: F401  (fixtures)
    CENTRES,
    act_as,
    candidates,
    centres,
    content,
    export,
    files,
    forged,
    import_,
    issue,
    keys,
    registry,
    signed_file,
)

NOVEMBER = "2026-11"


def rows_of(path):
    doc = json.loads(path.read_bytes())
    return doc, [list(r) for r in doc["events"]]


def rehash(rows, prev):
    """Relink and rehash `rows` from `prev`, as a centre rewriting its own chain would."""
    from fjvoucher.ledger.chain import event_hash

    for row in rows:
        row[1] = prev
        row[2] = prev = event_hash(row[0], row[1], *row[3:])
    return rows


def resigned(tmp_path, act_as, source, centre, change, month=None, name="hostile.fjv"):
    """Return a file with `source`'s events changed by `change(rows)`, rehashed and signed with `centre`'s key."""
    doc, rows = rows_of(source)
    change(rows)
    start = (doc["from"]["count"], doc["from"]["hash"])
    act_as(centre)
    return signed_file(tmp_path / name, centre, month or doc["month"], start, rehash(rows, start[1]))


def refused_cleanly(act_as, registry, path, code):
    """Import `path`: assert it is refused with `code` in one line naming the file, and nothing changed."""
    before = content(registry)
    result = import_(act_as, registry, path, "--format", "json")
    [outcome] = json.loads(result.stdout)["files"]
    assert outcome["status"] == "refused" and outcome["code"] == code, result.output
    assert str(path) in outcome["message"] and "\n" not in outcome["message"] and "Traceback" not in result.output
    assert content(registry) == before
    return outcome["message"]


def audits_clean(act_as, registry):
    act_as("province")
    audited = run("audit", "--ledger", registry)
    assert audited.exit_code == 0, audited.output


# --- the header lies, or the month carries what is not its own ----------------------------------------------

def test_an_event_of_the_next_month_smuggled_into_a_month_is_refused(tmp_path, act_as, centres, registry):
    december = export(act_as, tmp_path, centres, "3501", "2026-12")
    november = export(act_as, tmp_path, centres, "3501", NOVEMBER)
    _, december_rows = rows_of(december)
    smuggled = resigned(tmp_path, act_as, november, "3501", lambda rows: rows.append(december_rows[0]))
    message = refused_cleanly(act_as, registry, smuggled, "exchange-wrong-month")
    assert "2026-12-03" in message and NOVEMBER in message
    whole = resigned(tmp_path, act_as, november, "3501", lambda rows: rows.extend(december_rows), month="2026-12",
                     name="whole.fjv")  # November and December under December's name
    assert "2026-11-10" in refused_cleanly(act_as, registry, whole, "exchange-wrong-month")


@pytest.mark.parametrize("change", [
    lambda doc: doc["events"].insert(0, doc["events"].pop(1)),  # reordered
    lambda doc: doc["events"].pop(1),  # one dropped in the middle
    lambda doc: doc["events"].insert(2, doc["events"][1]),  # duplicated
    lambda doc: doc["from"].update(count=1),  # the header's counts lie
    lambda doc: doc["to"].update(count=3),
    lambda doc: doc.update(centre="3502"),  # the header's centre lies
    lambda doc: doc.update(month="2026-10"),
], ids=["reordered", "dropped", "duplicated", "from", "to", "centre", "month"])
def test_a_reordered_dropped_duplicated_or_relabelled_file_is_refused(tmp_path, act_as, centres, registry, change):
    bad = forged(export(act_as, tmp_path, centres, "3501", NOVEMBER), change)
    before = content(registry)
    result = import_(act_as, registry, bad)
    assert result.exit_code == 1 and "未导入" in result.output and str(bad) in result.output, result.output
    assert content(registry) == before


def raw(path, change):
    out = path.with_name("raw-" + path.name)
    out.write_bytes(change(path.read_bytes()))
    return out


@pytest.mark.parametrize("change", [
    lambda data: data[: len(data) // 2],  # truncated in transit
    lambda data: b"\xef\xbb\xbf" + data,  # a BOM an editor added
    lambda data: data.replace("福州".encode(), "福州".encode("gb18030"), 1),  # not UTF-8
    lambda data: data.replace(b'"from":{"count":0', b'"from":{"count":NaN', 1),
    lambda data: data.replace(b'"from":{"count":0', b'"from":{"count":Infinity', 1),
    lambda data: data.replace(b'"centre":"3501"', b'"centre":"3502","centre":"3501"', 1),  # duplicate keys
    lambda data: data.replace(b'"columns"', b'"x":' + b"[" * 200_000 + b"]" * 200_000 + b',"columns"', 1),
    lambda data: data.replace(b'"columns"', b'"x":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b',"columns"', 1),
], ids=["truncated", "bom", "gb18030", "nan", "infinity", "duplicate-keys", "deep-list", "deep-object"])
def test_an_unreadable_file_is_one_line_never_a_traceback(tmp_path, act_as, centres, registry, change):
    bad = raw(export(act_as, tmp_path, centres, "3501", NOVEMBER), change)
    message = refused_cleanly(act_as, registry, bad, "exchange-unreadable")
    assert len(message) < 400


def test_a_file_too_large_to_be_a_month_is_refused_unread(tmp_path, act_as, centres, registry):
    from fjvoucher.ledger.exchange import MAX_FILE_BYTES

    big = raw(export(act_as, tmp_path, centres, "3501", NOVEMBER), lambda data: data)
    with open(big, "r+b") as file:  # sparse: the size of a huge file, no disk or memory spent making it
        file.truncate(MAX_FILE_BYTES + 1)
    message = refused_cleanly(act_as, registry, big, "exchange-unreadable")
    assert "文件过大" in message


# --- events valid for the hash, not for the registry ----------------------------------------------------------

def issue_data(rows, index, **changes):
    from fjvoucher.ledger.projection import ROW_KEYS

    data = json.loads(rows[index][9])
    for key, value in changes.items():
        data[ROW_KEYS.index(key)] = value
    rows[index][9] = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize("change", [
    lambda rows: issue_data(rows, 1, name=5),
    lambda rows: issue_data(rows, 1, name=["甲", "乙"]),
    lambda rows: issue_data(rows, 1, page="第一页"),
    lambda rows: issue_data(rows, 1, result={"a": 1}),
    lambda rows: rows[1].__setitem__(9, rows[1][9].replace('"福州', 'NaN,"福州', 1)),  # NaN as a value
    lambda rows: rows[1].__setitem__(9, json.dumps(json.loads(rows[1][9])[:-1])),  # ROW_KEYS one short
    lambda rows: rows[1].__setitem__(4, "exploded"),  # unknown kind
    lambda rows: rows[1].__setitem__(9, "[" * 100_000 + "]" * 100_000),  # nested too deep for the projection
    lambda rows: rows.append([5, "", "", rows[0][3], "placed", "2026-11-20T09:00:00", "", "", "", '{"page":"x"}']),
    lambda rows: rows.append([5, "", "", rows[0][3], "coded", "2026-11-20T09:00:00", "", "", "", '{"verify_code":7}']),
    lambda rows: rows.append([5, "", "", rows[0][3], "placed", "2026-11-20T09:00:00", "", "", "",
                              '{"template_sha256":null}']),
], ids=["int-name", "list-name", "text-page", "object-result", "nan", "short-row", "unknown-kind", "deep-data",
        "placed-page", "coded-int", "null"])
def test_an_event_valid_for_its_hash_but_not_for_the_registry_is_refused(tmp_path, act_as, centres, registry,
                                                                          change):
    november = export(act_as, tmp_path, centres, "3501", NOVEMBER)
    hostile = resigned(tmp_path, act_as, november, "3501", change)
    refused_cleanly(act_as, registry, hostile, "exchange-broken")
    audits_clean(act_as, registry)


def test_a_verification_code_twice_is_refused_not_a_crash(tmp_path, act_as, centres, registry):
    november = export(act_as, tmp_path, centres, "3501", NOVEMBER)

    def code_twice(rows):
        for number, voucher in ((5, rows[0][3]), (6, rows[1][3])):
            rows.append([number, "", "", voucher, "coded", "2026-11-20T09:00:00", "", "", "",
                         '{"verify_code":"ABCD2345"}'])

    refused_cleanly(act_as, registry, resigned(tmp_path, act_as, november, "3501", code_twice), "exchange-broken")
    audits_clean(act_as, registry)


def test_a_voucher_of_another_centres_code_is_refused(tmp_path, act_as, centres, registry):
    """3502 issues, in its own chain, a voucher that says it is 3501's (an unused NO of 3501's): taking it would
    block 3501's own voucher of that NO later."""
    november = export(act_as, tmp_path, centres, "3502", NOVEMBER)

    def foreign(rows):
        issue_data(rows, 3, center_code="3501")
        rows[3][3] = "3501-2026-000099"

    message = refused_cleanly(act_as, registry, resigned(tmp_path, act_as, november, "3502", foreign),
                              "exchange-foreign-voucher")
    assert "3501-2026-000099" in message and "3501" in message


def test_a_centre_cannot_undo_what_the_province_did_to_its_voucher(tmp_path, act_as, centres, registry):
    """The province revokes 3502's voucher in the registry; 3502's next file restores it: refused, named."""
    november = export(act_as, tmp_path, centres, "3502", NOVEMBER)
    assert import_(act_as, registry, november).exit_code == 0
    act_as("province")
    with_reason = run("revoke", "3502-2026-000001", "--reason", "省中心核查：证书不实", "--yes", "--ledger",
                      registry)
    assert with_reason.exit_code == 0, with_reason.output
    doc, _ = rows_of(november)
    restore = [[5, "", "", "3502-2026-000001", "restored", "2026-12-02T09:00:00", "中心恢复", "clerk", "", "{}"]]
    act_as("3502")
    start = (doc["to"]["count"], doc["to"]["hash"])
    hostile = signed_file(tmp_path / "restore.fjv", "3502", "2026-12", start, rehash(restore, start[1]))
    message = refused_cleanly(act_as, registry, hostile, "exchange-province-changed")
    assert "3502-2026-000001" in message
    audits_clean(act_as, registry)
    undone = run("restore", "3502-2026-000001", "--reason", "与中心核实后撤销", "--ledger", registry)
    assert undone.exit_code == 0, undone.output  # the province undoes its own change: the file comes in
    assert import_(act_as, registry, hostile).exit_code == 0
    audits_clean(act_as, registry)


def test_a_key_listed_after_the_file_was_signed_is_the_centres_key(tmp_path, act_as, centres):
    """The signature carries no time: the province may list the key after the file came (compare fingerprints)."""
    november = export(act_as, tmp_path, centres, "3501", NOVEMBER)
    act_as("3501")
    assert run("config", "key", "-o", tmp_path / "late.pub").exit_code == 0
    act_as("province")
    late = tmp_path / "late.db"
    assert run("province", "keys", "add", "3501", tmp_path / "late.pub", "--ledger", late).exit_code == 0
    assert import_(act_as, late, november).exit_code == 0


def test_an_old_file_after_a_newer_one_changes_nothing(tmp_path, act_as, centres, registry):
    act_as("3501")
    early = tmp_path / "early.fjv"
    assert run("export", "--month", "2026-12", "-o", early, "--ledger", centres["3501"]).exit_code == 0
    issue(centres["3501"], "3501", candidates("3501", 1, 71), Clock(dt.datetime(2026, 12, 20, 9)))
    sent = files(act_as, tmp_path, centres)
    assert import_(act_as, registry, *sent).exit_code == 0
    with sqlite3.connect(registry) as db:
        before = db.execute("SELECT * FROM events").fetchall(), db.execute("SELECT * FROM vouchers").fetchall()
    replay = import_(act_as, registry, early, sent[0])
    assert replay.exit_code == 0 and "新增 0 条事件" in replay.output, replay.output
    with sqlite3.connect(registry) as db:
        assert (db.execute("SELECT * FROM events").fetchall(), db.execute("SELECT * FROM vouchers").fetchall()) \
            == before


# --- whoever holds the registry file edits its bookkeeping with plain SQL ----------------------------------------

def a_public_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                 serialization.PublicFormat.Raw)
    return raw.hex()


@pytest.mark.parametrize("sql, code, table", [
    ("INSERT INTO centre_keys (center_code, public_key, added_at) VALUES ('3599', '{key}', '2026-12-01T00:00:00')",
     "registry-edited", "centre_keys"),
    ("UPDATE centre_keys SET public_key = '{key}' WHERE center_code = '3501'", "registry-edited", "centre_keys"),
    ("DELETE FROM imports WHERE center_code = '3502'", "registry-edited", "imports"),
    ("INSERT INTO imported_events (number, center_code, center_number, center_hash) VALUES (999, '3501', 999, 'x')",
     "registry-edited", "imported_events"),
    ("DELETE FROM registry_seal", "registry-unsealed", "registry"),
    ("UPDATE registry_seal SET count = 1", "registry-seal", "registry"),
], ids=["key-added", "key-swapped", "import-deleted", "event-linked", "seal-deleted", "seal-moved"])
def test_the_registrys_bookkeeping_edited_with_sql_is_found_and_blocks_imports(tmp_path, act_as, centres, registry,
                                                                                sql, code, table):
    sent = files(act_as, tmp_path, centres)
    assert import_(act_as, registry, *sent[:2], sent[2]).exit_code == 0
    audits_clean(act_as, registry)
    with sqlite3.connect(registry) as db:
        db.execute(sql.format(key=a_public_key()))
    audited = run("audit", "--ledger", registry, "--format", "json")
    assert audited.exit_code == 1, audited.output
    found = json.loads(audited.stdout)["discrepancies"]
    assert any(d["code"] == code and table in d["where"] for d in found), found
    before = content(registry)
    blocked = import_(act_as, registry, sent[3])
    assert blocked.exit_code != 0 and "没有导入任何文件" in blocked.output and "Traceback" not in blocked.output
    assert content(registry) == before


def test_a_key_speaks_for_one_centre(tmp_path, act_as, registry):
    """The province lists 3501's key for 3502 by mistake: refused (3501 could then sign 3502's files)."""
    act_as("province")
    taken = run("province", "keys", "add", "3599", tmp_path / "3501.pub", "--ledger", registry)
    assert taken.exit_code == 1 and "已登记给中心 3501" in taken.output, taken.output

