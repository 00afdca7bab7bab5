"""The province's shared ledger on a real PostgreSQL: set up by the README's SQL, centres as roles.

The server is the session's throw-away cluster (support.postgres); each test gets its own database,
owned by the README's owner role, set up by `fjvoucher province init` and the README's SQL.
"""

import datetime as dt
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

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
    return merge_roster(roster, tmp_path / f"out-{name}", MergeOptions(
        format="docx", ledger=ledger, center_code=code, today=dt.date(2009, 6, 20),
        clock=Clock(dt.datetime(2009, 6, 12, 9, 30)), **options))


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
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("INSERT INTO events (voucher_no, kind, at) VALUES ('3501-2009-000001', 'revoked', '2009')")
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
        roster = write_roster_xlsx(tmp_path / f"{code}.xlsx", centre_rows(city, 60, seed))
        jobs += [_merge_as(roster, tmp_path / f"o{code}a", registry[code], code),
                 _merge_as(roster, tmp_path / f"o{code}b", registry[code], code)]  # the same roster twice at once
    for job in jobs:
        _, err = job.communicate(timeout=180)
        assert job.returncode == 0, err.decode()
    with Ledger(registry["province"], create=False, readonly=True) as ledger:
        vouchers = ledger.select()
    nos = sorted(v.voucher_no for v in vouchers)
    assert nos == [f"{c}-2009-{i:06d}" for c in ("3501", "3502") for i in range(1, 61)]
    assert {v.center_code for v in vouchers if v.voucher_no.startswith("3502")} == {"3502"}


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

    from fjvoucher.web.app import Ledgers, create_app

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
    finally:
        ledgers.close()


def test_a_postgresql_registry_is_not_chained_yet_and_audit_says_so_in_one_line(registry, tmp_path):
    merged(tmp_path, centre_rows("福州市", 2, 61), registry["3501"], "3501", "fz")
    with Ledger(registry["3501"], create=False) as ledger:
        assert ledger.storage.head() is None  # nothing signed: no key was needed to write
        assert [e.kind for e in ledger.history("3501-2009-000001")] == ["issued"]
    audited = run("audit", "--ledger", registry["3501"])
    assert audited.exit_code == 0, audited.output
    assert [line for line in audited.output.splitlines() if "not chained yet" in line] != []
    assert "discrepancies" not in audited.output
    backed = run("backup", str(tmp_path), "--ledger", registry["3501"])
    assert backed.exit_code == 1 and "pg_dump" in backed.output and not list(tmp_path.glob("*.db"))
    assert "Traceback" not in backed.output


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
