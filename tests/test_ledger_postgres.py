"""The province's shared ledger on a real PostgreSQL: set up by the README's SQL, centres as roles.

The server is the session's throw-away cluster (support.postgres); each test gets its own database,
owned by the README's owner role, set up by `fjvoucher province init` and the README's SQL.
"""

import datetime as dt
import itertools
import json
import re
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from fjvoucher.ledger.chain import head_message
from fjvoucher.ledger.keys import signature_valid
from fjvoucher.ledger.postgres import GRANTS
from fjvoucher.ledger.store import Ledger
from fjvoucher.merging import MergeOptions, merge_roster
from support import ROOT, Clock, run
from support.synthetic import make_candidates, write_roster_xlsx

README = (ROOT / "README.md").read_text(encoding="utf-8")
NAMES = itertools.count(1)


def readme_sql(label: str) -> list[str]:
    """Return the statements of the README's SQL block marked `<!-- sql:label … -->`."""
    block = re.search(rf"<!-- sql:{label}\b[^>]*-->\n```sql\n(.*?)```", README, re.S).group(1)
    return [s.strip() for s in block.split(";") if s.strip()]


@pytest.fixture(scope="session")
def roles(postgres_server):
    """Create the README's roles once for the session (roles belong to the whole cluster)."""
    with psycopg.connect(postgres_server.url(), autocommit=True) as db:
        for statement in readme_sql("superuser"):
            if not statement.startswith("CREATE DATABASE"):
                db.execute(statement)
    return postgres_server


@pytest.fixture
def registry(roles, tmp_path):
    """Return the URLs of a new province registry set up as the README says: owner, centres, province."""
    name = f"registry{next(NAMES)}"
    create = next(s for s in readme_sql("superuser") if s.startswith("CREATE DATABASE"))
    with psycopg.connect(roles.url(), autocommit=True) as db:
        db.execute(create.replace("DATABASE fjvoucher", f"DATABASE {name}"))
    urls = {who: roles.url(name, role) for who, role in
            (("owner", "fjvoucher_owner"), ("3501", "centre_3501"), ("3502", "centre_3502"), ("province", "province"))}
    result = run("province", "init", "--ledger", urls["owner"])
    assert result.exit_code == 0, result.output
    with psycopg.connect(urls["owner"], autocommit=True) as db:
        for statement in readme_sql("centres"):
            db.execute(statement)
    return urls


def centre_rows(city: str, count: int, seed: int) -> list[dict]:
    return make_candidates(count, seed=seed, city=city)


def merged(tmp_path, rows, ledger, code, name, **options):
    roster = write_roster_xlsx(tmp_path / f"{name}.xlsx", rows)
    options = {"today": dt.date(2009, 6, 20), "clock": Clock(dt.datetime(2009, 6, 12, 9, 30)), **options}
    return merge_roster(roster, tmp_path / f"out-{name}", MergeOptions(format="docx", ledger=ledger, center_code=code,
                                                                      **options))


def test_the_postgresql_backend_implements_every_method_of_the_storage_interface():
    from fjvoucher.ledger.postgres import PostgresStorage
    from fjvoucher.ledger.storage import SqliteStorage, Storage

    wanted = {name for name in vars(Storage) if not name.startswith("_")}
    assert wanted <= set(dir(PostgresStorage)) and wanted <= set(dir(SqliteStorage))


def test_the_readme_grants_are_the_ones_init_gives():
    assert readme_sql("grants") == [s.strip() for s in GRANTS.split(";") if s.strip()]


def test_init_twice_changes_nothing_and_lists_the_centres(registry):
    again = run("province", "init", "--ledger", registry["owner"])
    assert again.exit_code == 0 and "3501 ← centre_3501、3502 ← centre_3502" in again.output
    assert "change-me" not in again.output


def test_a_centre_cannot_revoke_another_centres_voucher(registry, tmp_path):
    merged(tmp_path, centre_rows("福州市", 3, 1), registry["3501"], "3501", "fz")
    theirs = run("revoke", "3501-2009-000001", "--reason", "试图作废", "--yes", "--ledger", registry["3502"])
    assert theirs.exit_code == 1
    assert "凭证 3501-2009-000001 属于中心 3501，本中心的数据库账号不能修改它" in theirs.output
    assert "Traceback" not in theirs.output
    with psycopg.connect(registry["3502"], autocommit=True) as db:  # and plain SQL changes nothing either
        assert db.execute("UPDATE vouchers SET status = 'revoked'").rowcount == 0
        for centre in ("3501", "3502"):  # on 3501's chain, or on its own chain for 3501's voucher
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute("INSERT INTO events (voucher_no, kind, at, center_code, number, prev, hash) VALUES "
                           "('3501-2009-000001', 'revoked', '2009', %s, 99, 'x', 'y')", (centre,))
        # nor another centre's chain or head: not its history to chain, not its head to sign
        assert db.execute("UPDATE events SET number = 7, hash = 'forged' WHERE center_code = '3501'").rowcount == 0
        assert db.execute("UPDATE heads SET count = 0, signature = 'forged'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("INSERT INTO heads VALUES ('3501', 1, 'x', 'y', 'z', '2009') ON CONFLICT (center_code) "
                       "DO UPDATE SET signature = 'forged'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("DELETE FROM heads")
    assert run("audit", "--ledger", registry["province"]).exit_code == 0
    ours = run("revoke", "3501-2009-000001", "--reason", "误发", "--yes", "--ledger", registry["3501"])
    assert ours.exit_code == 0, ours.output


def test_the_province_reads_every_centre_and_changes_nothing(registry, tmp_path):
    merged(tmp_path, centre_rows("福州市", 2, 1), registry["3501"], "3501", "fz")
    merged(tmp_path, centre_rows("厦门市", 2, 2), registry["3502"], "3502", "xm")
    listed = json.loads(run("list", "--format", "json", "--ledger", registry["province"]).stdout)
    assert sorted(v["voucher_no"] for v in listed) == ["3501-2009-000001", "3501-2009-000002",
                                                        "3502-2009-000001", "3502-2009-000002"]
    refused = run("revoke", "3502-2009-000001", "--reason", "x", "--yes", "--ledger", registry["province"])
    assert refused.exit_code == 1 and "台账" in refused.output and "Traceback" not in refused.output
    with psycopg.connect(registry["owner"], autocommit=True) as db:
        with pytest.raises(psycopg.errors.RaiseException, match="never edited"):
            db.execute("UPDATE events SET reason = 'forged'")


def test_a_candidate_another_centre_issued_is_refused_naming_its_no_or_warned(registry, tmp_path, monkeypatch):
    fuzhou = centre_rows("福州市", 2, 1)
    merged(tmp_path, fuzhou, registry["3501"], "3501", "fz")
    twin = dict(fuzhou[0], certificate_no="0935020" + fuzhou[0]["certificate_no"][7:], exam_no="X1")
    refused = merged(tmp_path, [twin], registry["3502"], "3502", "xm")
    assert not refused.written
    finding = next(f for f in refused.checked.report.findings if f.code == "ledger-other-centre")
    assert finding.severity == "error" and "中心 3501 发过凭证 3501-2009-000001" in finding.message()
    warned = merged(tmp_path, [twin], registry["3502"], "3502", "xm2", other_centre="warn")
    assert warned.written
    assert any(f.code == "ledger-other-centre" and f.severity == "warning" for f in warned.checked.report.findings)
    listed = run("province", "duplicates", "--ledger", registry["province"])
    assert listed.exit_code == 1 and "3501-2009-000001（中心 3501" in listed.output
    assert "3502-2009-000001（中心 3502" in listed.output and fuzhou[0]["id_number"] not in listed.output
    found = json.loads(run("province", "duplicates", "--format", "json", "--show-id",
                           "--ledger", registry["province"]).stdout)
    assert [d["id_number"] for d in found] == [fuzhou[0]["id_number"]]


def _merge_as(roster: Path, outdir: Path, url: str, code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fjvoucher", "merge", str(roster), "-o", str(outdir), "-q",
                             "--format", "docx", "--ledger", url, "--center-code", code, "--batch-size", "10"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_centres_merging_at_once_each_get_their_own_nos_without_gaps(registry, tmp_path):
    jobs = []
    for code, city, seed in (("3501", "福州市", 1), ("3502", "厦门市", 2)):
        roster = write_roster_xlsx(tmp_path / f"{code}.xlsx", centre_rows(city, 110, seed))
        jobs += [_merge_as(roster, tmp_path / f"o{code}a", registry[code], code),
                 _merge_as(roster, tmp_path / f"o{code}b", registry[code], code)]  # the same roster twice at once
    for job in jobs:
        _, err = job.communicate(timeout=180)
        assert job.returncode == 0, err.decode()
    with Ledger(registry["province"], create=False, readonly=True) as ledger:
        vouchers = ledger.select()  # more than a few: proved by walking every centre's chain
    nos = sorted(v.voucher_no for v in vouchers)
    assert nos == [f"{c}-2009-{i:06d}" for c in ("3501", "3502") for i in range(1, 111)]
    assert {v.center_code for v in vouchers if v.voucher_no.startswith("3502")} == {"3502"}
    code, output = audited(registry["province"])  # four writers, two chains: each proves itself
    assert code == 0 and "中心 3501：110 条事件" in output and "中心 3502：110 条事件" in output, output
    with psycopg.connect(registry["owner"], autocommit=True) as db:
        db.execute("UPDATE vouchers SET name = '伪造' WHERE voucher_no = '3502-2009-000107'")
    listed = run("list", "--ledger", registry["3501"])  # a centre listing the province: the other chain too
    assert listed.exit_code == 1 and "中心 3502" in listed.output and "does not prove itself" in listed.output


def test_a_database_that_is_not_a_ledger_is_left_alone(postgres_server):
    other, empty = postgres_server.new_database(), postgres_server.new_database()
    with psycopg.connect(other, autocommit=True) as db:
        db.execute("CREATE TABLE customers (id int)")
    result = run("list", "--ledger", other)
    assert result.exit_code == 1 and "不是凭证台账" in result.output
    assert run("list", "--ledger", empty).exit_code == 2  # no ledger there: never created by a reading command
    with psycopg.connect(empty) as db:
        assert db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


@pytest.mark.parametrize("url, says", [
    ("postgresql://nobody@/nodb?host={tmp}", "连接不上凭证台账数据库"),
    ("postgresql://x@/db?host=/a?host=/b", "写法有误"),
])
def test_a_wrong_address_is_one_line(tmp_path, url, says):
    result = run("list", "--ledger", url.format(tmp=tmp_path))
    assert result.exit_code == 1 and says in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_serve_answers_for_the_whole_province_from_postgresql(registry, tmp_path):
    from starlette.testclient import TestClient

    from fjvoucher.web.app import CONNECTIONS, Ledgers, create_app

    recent = dt.date.today() - dt.timedelta(days=3)
    rows = {}
    for code, city, seed in (("3501", "福州市", 1), ("3502", "厦门市", 2)):
        rows[code] = centre_rows(city, 2, seed)
        for row in rows[code]:
            row["issue_date"] = recent
            row["certificate_no"] = f"{recent.year % 100:02d}" + row["certificate_no"][2:]
        roster = write_roster_xlsx(tmp_path / f"{code}.xlsx", rows[code])
        assert merge_roster(roster, tmp_path / f"o{code}", MergeOptions(format="docx", ledger=registry[code],
                                                                        center_code=code)).written
    ledgers = Ledgers([registry["province"]])
    try:
        with TestClient(create_app(ledgers, per_minute=0)) as client:
            for code in ("3501", "3502"):
                answer = client.get("/api/verify", params={"no": f"{code}-{recent.year}-000002",
                                                           "name": rows[code][1]["name"]}).json()
                assert answer["status"] == "genuine"
            wrong = client.get("/api/verify", params={"no": f"3502-{recent.year}-000002", "name": "某某"}).json()
            assert wrong["status"] == "unknown"
            asks = [(code, i, good) for code in ("3501", "3502") for i in (0, 1) for good in (True, False)] * 6
            with ThreadPoolExecutor(16) as pool:  # queries at once share the connections, each right
                answers = list(pool.map(lambda a: client.get("/api/verify", params={
                    "no": f"{a[0]}-{recent.year}-{a[1] + 1:06d}",
                    "name": rows[a[0]][a[1]]["name"] if a[2] else "某某"}).json()["status"], asks))
            assert answers == ["genuine" if good else "unknown" for _, _, good in asks]
        with psycopg.connect(registry["owner"], autocommit=True) as db:
            serving = db.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'province' "
                                 "AND application_name = 'fjvoucher'").fetchone()[0]
        assert 2 < serving <= 1 + CONNECTIONS  # several at once, never more than the server keeps (+ the first)
    finally:
        ledgers.close()


def audited(url: str):
    """Return the exit code and the lines of `fjvoucher audit` on the registry at `url`."""
    result = run("audit", "--ledger", url)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_each_centre_keeps_its_own_chain_signed_with_its_key_and_the_registry_audits_clean(registry, tmp_path):
    merged(tmp_path, centre_rows("福州市", 3, 61), registry["3501"], "3501", "fz")
    merged(tmp_path, centre_rows("厦门市", 2, 62), registry["3502"], "3502", "xm")
    assert run("revoke", "3501-2009-000002", "--reason", "误发", "--yes", "--ledger", registry["3501"]).exit_code == 0
    with psycopg.connect(registry["owner"], autocommit=True) as db:
        chains = db.execute("SELECT center_code, array_agg(number ORDER BY number) FROM events "
                            "GROUP BY center_code ORDER BY 1").fetchall()
        heads = db.execute("SELECT center_code, count, hash, signature, public_key FROM heads ORDER BY 1").fetchall()
    assert chains == [("3501", [1, 2, 3, 4]), ("3502", [1, 2])]  # numbered within each centre
    for centre, count, last, signature, public_key in heads:
        assert signature_valid(public_key, signature, head_message(count, last)), centre
    assert [h[1] for h in heads] == [4, 2]
    code, output = audited(registry["province"])  # the province walks every centre's chain
    assert code == 0 and "0 处问题" in output, output
    assert "中心 3501：4 条事件" in output and "中心 3502：2 条事件" in output
    code, output = audited(registry["3502"])  # a centre walks its own
    assert code == 0 and "中心 3502：2 条事件" in output and "中心 3501" not in output
    backed = run("backup", str(tmp_path), "--ledger", registry["3501"])
    assert backed.exit_code == 1 and "pg_dump" in backed.output and not list(tmp_path.glob("*.db"))
    assert "Traceback" not in backed.output
    exported = run("export", "--month", "2009-06", "-o", tmp_path / "3501.fjv", "--ledger", registry["3501"])
    assert exported.exit_code == 1 and "已经是共享登记库" in exported.output and not (tmp_path / "3501.fjv").exists()


def test_a_search_by_part_of_a_name_runs_in_the_database_on_both_backends(registry, tmp_path):
    rows = centre_rows("福州市", 5, 3)
    rows[1]["name"], rows[3]["name"] = "林%_小", "林%_大"  # the clerk's text is text: % and _ are not wildcards
    merged(tmp_path, rows, registry["3501"], "3501", "fz")
    merged(tmp_path, rows, tmp_path / "ledger.db", "3501", "fz-sqlite")
    for where in (registry["province"], tmp_path / "ledger.db"):
        with Ledger(where, create=False, readonly=True) as ledger:
            def found(text, column="name", limit=None):
                return [v.voucher_no for v in ledger.storage.select(
                    month=None, status=None, expiring_within=None, today=dt.date(2009, 6, 20),
                    containing=(column, text), limit=limit)]
            assert found("%_") == ["3501-2009-000002", "3501-2009-000004"]
            assert found("%_", limit=1) == ["3501-2009-000002"]
            assert found("_") == found("%") == found("%_")
            assert found(rows[0]["certificate_no"][-6:], "certificate_no") == ["3501-2009-000001"]
            assert found("没有这个人") == []


def _forge_head(db):
    row = db.execute("SELECT count, hash FROM heads WHERE center_code = '3501'").fetchone()
    db.execute("UPDATE heads SET signature = %s WHERE center_code = '3501'", ("00" * 64,))
    return row


TAMPERING = {  # what the registry's owner (who may switch its guards off) does with plain SQL → audit's code
    "event-edited": ["ALTER TABLE events DISABLE TRIGGER events_are_never_edited",
                     "UPDATE events SET reason = '伪造' WHERE center_code = '3501' AND number = 4"],
    "voucher-edited": ["UPDATE vouchers SET status = 'issued' WHERE voucher_no = '3501-{y}-000002'"],
    "voucher-forged": ["INSERT INTO vouchers SELECT '3501-{y}-000009', name, sex, birth_date, education, "
                       "id_number, occupation, level, theory_score, skill_score, result, "
                       "substr(certificate_no, 1, 6) || '9' || substr(certificate_no, 8), issue_date, exam_no, center, "
                       "issued_on, expires_on, template_sha256, batch_file, page, 'issued', replaces, 'FORGEDCODE1', "
                       "center_code, created_at, photo FROM vouchers WHERE voucher_no = '3501-{y}-000001'"],
    "head-mismatch": ["INSERT INTO events (voucher_no, kind, at, center_code, number, prev, hash) SELECT "
                      "'3501-{y}-000003', 'revoked', '2009-06-13T09:00:00', '3501', 5, hash, repeat('a', 64) "
                      "FROM events WHERE center_code = '3501' AND number = 4",
                      "UPDATE vouchers SET status = 'revoked' WHERE voucher_no = '3501-{y}-000003'"],
    "head-missing": ["DELETE FROM heads WHERE center_code = '3501'"],
    "head-signature": [_forge_head],
    "chain-broken": ["ALTER TABLE events DISABLE TRIGGER events_are_never_deleted",
                     "DELETE FROM events WHERE center_code = '3501' AND number = 2"],
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_the_owners_plain_sql_is_found_by_audit_and_refused_by_verify(registry, tmp_path, kind):
    rows = centre_rows("福州市", 3, 63)
    recent = dt.date.today() - dt.timedelta(days=3)
    for row in rows:  # valid today: verify answers "genuine" until the ledger is tampered with
        row["issue_date"] = recent
        row["certificate_no"] = f"{recent.year % 100:02d}" + row["certificate_no"][2:]
    y = recent.year
    assert merged(tmp_path, rows, registry["3501"], "3501", "fz", today=None, clock=None).written
    merged(tmp_path, centre_rows("厦门市", 2, 64), registry["3502"], "3502", "xm")
    assert run("revoke", f"3501-{y}-000002", "--reason", "误发", "--yes", "--ledger", registry["3501"]).exit_code == 0
    serial, row = {"voucher-forged": (9, 0), "event-edited": (2, 1), "voucher-edited": (2, 1)}.get(kind, (3, 2))
    number = f"3501-{y}-{serial:06d}"  # the voucher the edit touched
    before = run("verify", f"3501-{y}-000003", "--name", rows[2]["name"], "--ledger", registry["province"])
    assert before.exit_code == 0 and audited(registry["province"])[0] == 0, before.output
    with psycopg.connect(registry["owner"], autocommit=True) as db:
        for step in TAMPERING[kind]:
            step(db) if callable(step) else db.execute(step.replace("{y}", str(y)))
    code, output = audited(registry["province"])
    assert code == 1 and f"[{kind}] 中心 3501" in output, output
    assert "中心 3502 " not in output.split("0 处问题")[0].replace("中心 3502：", "")  # the other chain is sound
    verified = run("verify", number, "--name", rows[row]["name"], "--ledger", registry["province"])
    assert verified.exit_code == 1 and "does not prove itself" in verified.output, verified.output
    assert "Traceback" not in verified.output
    from starlette.testclient import TestClient

    from fjvoucher.web.app import Ledgers, create_app

    ledgers = Ledgers([registry["province"]])  # the province's server refuses it too, and still answers for 3502
    try:
        with TestClient(create_app(ledgers, per_minute=0)) as client:
            assert client.get("/api/verify", params={"no": number, "name": rows[row]["name"]}).status_code == 503
            other = client.get("/api/verify", params={"no": "3502-2009-000001", "name": "某某"})
            assert other.status_code == 200 and other.json()["status"] == "unknown"
    finally:
        ledgers.close()
    upload = run("province", "upload", "--month", dt.date.today().strftime("%Y-%m"), "--check",  # events dated now
                 "--ledger", registry["province"])
    assert upload.exit_code == 1 and f"台账链不完整 [{kind}] 中心 3501" in upload.output, upload.output


V1_GRANTS = """GRANT SELECT, INSERT, UPDATE ON vouchers, serials TO fjvoucher_centres;
GRANT SELECT, INSERT ON events TO fjvoucher_centres;
GRANT SELECT ON centre_roles, fjvoucher_meta TO fjvoucher_centres, fjvoucher_readers;
GRANT SELECT ON vouchers, events TO fjvoucher_readers;"""  # what `province init` granted before the chain


def unchained_registry(roles, tmp_path) -> dict[str, str]:
    """Return the URLs of a registry as the version before the chain left it: two centres' events, unlinked."""
    from fjvoucher.ledger.postgres import APPLICATION, V1

    name = f"registry{next(NAMES)}"
    with psycopg.connect(roles.url(), autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name} OWNER fjvoucher_owner")
    urls = {who: roles.url(name, role) for who, role in
            (("owner", "fjvoucher_owner"), ("3501", "centre_3501"), ("3502", "centre_3502"), ("province", "province"))}
    source = tmp_path / "written-before.db"  # the same rows and events the old version wrote, through SQLite
    merged(tmp_path, centre_rows("福州市", 3, 71), source, "3501", "fz")
    merged(tmp_path, centre_rows("厦门市", 2, 72), source, "3502", "xm")
    with Ledger(source) as ledger:
        ledger.revoke("3501-2009-000002", "误发")
    events = "voucher_no, kind, at, reason, actor, other_no, data"
    with psycopg.connect(urls["owner"], autocommit=True) as db, sqlite3.connect(source) as old:
        db.execute(V1)
        db.execute("INSERT INTO fjvoucher_meta VALUES ('application', %s), ('version', '1')", (APPLICATION,))
        db.execute(V1_GRANTS)
        for statement in readme_sql("centres"):
            db.execute(statement)
        names = [r[1] for r in old.execute("PRAGMA table_info(vouchers)")]
        with db.cursor().copy(f"COPY vouchers ({', '.join(names)}) FROM STDIN") as copy:
            for row in old.execute(f"SELECT {', '.join(names)} FROM vouchers ORDER BY rowid"):
                copy.write_row(row)
        with db.cursor().copy(f"COPY events ({events}) FROM STDIN") as copy:
            for row in old.execute(f"SELECT {events} FROM events ORDER BY id"):
                copy.write_row(row)
    return urls


def test_an_unchained_registry_is_upgraded_by_its_owner_then_each_centre_chains_its_own_history(roles, tmp_path):
    urls = unchained_registry(roles, tmp_path)
    early = run("list", "--ledger", urls["3501"])  # a centre cannot change the tables: the owner upgrades them
    assert early.exit_code == 1 and "province init" in early.output and "Traceback" not in early.output
    assert run("province", "init", "--ledger", urls["owner"]).exit_code == 0
    code, output = audited(urls["province"])
    assert code == 1 and "[chain-not-built] 中心 3501" in output and "[chain-not-built] 中心 3502" in output
    refused = run("verify", "3501-2009-000001", "--name", "x", "--ledger", urls["province"])
    assert refused.exit_code == 1 and "not chained yet" in refused.output
    code, output = audited(urls["3501"])  # the centre's next command chains its history with its own key, once
    assert code == 0 and "已升级，4 条历史事件按顺序连成哈希链并签名" in output, output
    code, output = audited(urls["province"])
    assert code == 1 and "[chain-not-built] 中心 3502" in output
    assert "中心 3501 " not in output.replace("中心 3501：", "")  # no problem left on 3501's chain
    assert "已升级" not in run("list", "--ledger", urls["3501"]).output  # only once
    assert audited(urls["3502"])[0] == 0
    later = centre_rows("福州市", 2, 73)
    for row in later:  # certificates not seen yet
        row["certificate_no"] = row["certificate_no"][:6] + "5" + row["certificate_no"][7:]
    more = merged(tmp_path, later, urls["3501"], "3501", "fz2")  # the chain goes on from there
    assert more.written, [f.message() for f in more.checked.report.findings]
    code, output = audited(urls["province"])
    assert code == 0 and "中心 3501：6 条事件" in output and "中心 3502：2 条事件" in output, output
    with psycopg.connect(urls["owner"], autocommit=True) as db:
        assert db.execute("SELECT count(*) FROM events WHERE hash = ''").fetchone() == (0,)
        with pytest.raises(psycopg.errors.RaiseException):  # chained once: never again
            db.execute("UPDATE events SET hash = 'x', number = 99 WHERE number = 1")
