"""The ledger: NOs issued once, re-runs, reissue, verify, the monthly report, supersede, revoke, list."""

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import docx
import pytest
from openpyxl import load_workbook

from fjvoucher.errors import FjvoucherError
from fjvoucher.layout import valid_until as expiry
from fjvoucher.ledger.schema import LATEST
from fjvoucher.ledger.store import Ledger, LedgerError
from fjvoucher.merging import MergeOptions, merge_roster
from support import TODAY, digest, run
from support.synthetic import make_candidates, write_roster_xlsx


def recent_rows(count=5, seed=1, days_ago=10):
    """Candidates issued `days_ago` days before today, so their vouchers are still valid."""
    issued = dt.date.today() - dt.timedelta(days=days_ago)
    rows = make_candidates(count, seed=seed)
    for row in rows:
        row["issue_date"] = issued
        row["certificate_no"] = f"{issued.year % 100:02d}" + row["certificate_no"][2:]
    return rows


def merge(tmp_path, rows, name="r", **options):
    roster = write_roster_xlsx(tmp_path / f"{name}.xlsx", rows)
    options.setdefault("format", "docx")
    options.setdefault("ledger", tmp_path / "ledger.db")
    return merge_roster(roster, tmp_path / f"out-{name}", MergeOptions(**options))


def all_nos(where):
    """Return every NO in the ledger at `where` (a file or a database), sorted."""
    with Ledger(where, create=False, readonly=True) as ledger:
        return sorted(v.voucher_no for v in ledger.select())


@pytest.mark.parametrize("issued, expires", [
    (dt.date(2009, 6, 10), dt.date(2010, 6, 9)),
    (dt.date(2008, 2, 29), dt.date(2009, 2, 28)),
    (dt.date(2009, 12, 31), dt.date(2010, 12, 30)),
])
def test_valid_one_year_the_day_before_the_anniversary(issued, expires):
    assert expiry(issued) == expires


def test_merge_records_every_voucher_and_prints_its_no(tmp_path):
    rows = make_candidates(6)
    result = merge(tmp_path, rows, batch_size=4, today=TODAY)
    with Ledger(tmp_path / "ledger.db") as ledger:
        vouchers = ledger.select()
    assert [v.voucher_no for v in vouchers] == [f"3501-2009-{i:06d}" for i in range(1, 7)]
    first = vouchers[0]
    assert first.fields["name"] == rows[0]["name"] and first.fields["birth_date"].endswith("日")
    assert (first.issued_on, first.expires_on) == (dt.date(2009, 6, 10), dt.date(2010, 6, 9))
    assert (vouchers[4].batch_file, vouchers[4].page) == ("batch-002.docx", 1)
    page = docx.Document(tmp_path / "out-r" / "vouchers" / f"{rows[0]['certificate_no']}_{rows[0]['name']}.docx")
    assert page.paragraphs[1].text == "NO：3501-2009-000001"
    register = list(load_workbook(result.register).active.iter_rows(values_only=True))
    assert [r[1] for r in register[2:]] == [v.voucher_no for v in vouchers]


def test_ledger_file_is_private_and_versioned(tmp_path):
    merge(tmp_path, make_candidates(1), today=TODAY)
    if os.name == "posix":
        assert os.stat(tmp_path / "ledger.db").st_mode & 0o777 == 0o600
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x464A5643
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(LedgerError, match="更新版本"):
        Ledger(tmp_path / "ledger.db")


def test_not_a_ledger_is_a_clear_error(tmp_path):
    (tmp_path / "x.db").write_text("hello, I am not a database" * 100)
    with pytest.raises(LedgerError, match="这不是凭证台账文件"):
        Ledger(tmp_path / "x.db")


def test_running_the_same_merge_again_issues_nothing_new(tmp_path, where):
    rows = make_candidates(5)
    merge(tmp_path, rows, today=TODAY, ledger=where)
    first = sorted((tmp_path / "out-r" / "batches").glob("*.docx"))[0].read_bytes()
    merge(tmp_path, rows, today=TODAY, ledger=where)
    assert all_nos(where) == [f"3501-2009-{i:06d}" for i in range(1, 6)]
    assert sorted((tmp_path / "out-r" / "batches").glob("*.docx"))[0].read_bytes() == first


def test_a_changed_record_is_an_error_naming_the_differences(tmp_path, where):
    rows = make_candidates(3)
    merge(tmp_path, rows, today=TODAY, ledger=where)
    rows[1]["name"] = rows[1]["name"] + "华"
    result = merge(tmp_path, rows, name="again", today=TODAY, ledger=where)
    assert not result.written
    finding = next(f for f in result.checked.report.findings if f.code == "ledger-changed")
    assert finding.row == 4 and "3501-2009-000002" in finding.message() and "姓名" in finding.message()


def test_reissue_replaces_the_old_voucher_with_a_new_no_and_says_so(tmp_path, where):
    rows = make_candidates(3)
    merge(tmp_path, rows, today=TODAY, ledger=where)
    rows[1]["name"] = rows[1]["name"] + "华"
    result = merge(tmp_path, rows, name="again", reissue=True, today=TODAY, ledger=where)
    assert result.written
    with Ledger(where) as ledger:
        old, new = ledger.get("3501-2009-000002"), ledger.get("3501-2009-000004")
    assert (old.status, old.replaced_by, new.replaces) == ("replaced", "3501-2009-000004", "3501-2009-000002")
    page = docx.Document(tmp_path / "out-again" / "vouchers" / f"{rows[1]['certificate_no']}_{rows[1]['name']}.docx")
    assert "补发（原凭证 3501-2009-000002 作废）" in [p.text for p in page.paragraphs]
    unchanged = docx.Document(tmp_path / "out-again" / "vouchers" /
                              f"{rows[0]['certificate_no']}_{rows[0]['name']}.docx")
    assert not any("补发" in p.text for p in unchanged.paragraphs)


def test_the_rosters_own_voucher_no_is_honoured_and_checked(tmp_path, where):
    rows = make_candidates(3)
    rows[0]["voucher_no"] = "FZ-2009-0001"
    merge(tmp_path, rows, today=TODAY, ledger=where)
    assert all_nos(where) == ["3501-2009-000001", "3501-2009-000002", "FZ-2009-0001"]
    others = make_candidates(2, seed=99)
    for row in others:  # another institution: certificates the ledger has not seen
        row["certificate_no"] = row["certificate_no"][:7] + "003" + row["certificate_no"][10:]
    others[0]["voucher_no"] = "FZ-2009-0001"  # already belongs to another certificate
    result = merge(tmp_path, others, name="other", today=TODAY, ledger=where)
    assert [f.code for f in result.checked.report.findings] == ["photos-none", "voucher-no-clash"]


def test_verify_genuine_and_minimal_disclosure(tmp_path, where):
    rows = recent_rows()
    merge(tmp_path, rows, ledger=where)
    ledger = ("--ledger", where)
    good = run("verify", f"3501-{rows[0]['issue_date'].year}-000001", "--name", rows[0]["name"], *ledger)
    assert good.exit_code == 0 and "真实有效" in good.output and "********" in good.output
    assert rows[0]["id_number"] not in good.output
    by_id = run("verify", f"3501-{rows[0]['issue_date'].year}-000001", "--id", rows[0]["id_number"].lower(), *ledger)
    assert by_id.exit_code == 0
    wrong_name = run("verify", f"3501-{rows[0]['issue_date'].year}-000001", "--name", "某某", *ledger)
    unknown = run("verify", f"3501-{rows[0]['issue_date'].year}-009999", "--name", "某某", *ledger)
    assert wrong_name.exit_code == unknown.exit_code == 1
    assert wrong_name.output == unknown.output
    assert run("verify", "X", *ledger).exit_code == 2  # neither --name nor --id


def test_verify_expired_replaced_and_revoked(tmp_path, where):
    rows = recent_rows(3)
    merge(tmp_path, rows, ledger=where)
    year = rows[0]["issue_date"].year
    ledger = ("--ledger", where)
    assert run("revoke", f"3501-{year}-000002", "--reason", "误发", "--yes", *ledger).exit_code == 0
    assert "已作废" in run("verify", f"3501-{year}-000002", "--name", rows[1]["name"], *ledger).output
    assert run("revoke", f"3501-{year}-000002", "--reason", "again", "--yes", *ledger).exit_code == 1
    assert run("supersede", rows[2]["certificate_no"], "--yes", *ledger).exit_code == 0
    superseded = run("verify", f"3501-{year}-000003", "--name", rows[2]["name"], *ledger)
    assert superseded.exit_code == 1 and "已换发国家职业资格证书" in superseded.output
    old = make_candidates(1, seed=5)
    merge(tmp_path, old, name="old", today=TODAY, ledger=where)
    expired = run("verify", "3501-2009-000001", "--name", old[0]["name"], *ledger)
    assert expired.exit_code == 1 and "已过有效期" in expired.output


def test_supersede_from_a_roster_stops_further_vouchers(tmp_path, where):
    rows = make_candidates(4)
    merge(tmp_path, rows, today=TODAY, ledger=where)
    roster = write_roster_xlsx(tmp_path / "national.xlsx", rows[:2])
    result = run("supersede", roster, "--yes", "--ledger", where)
    assert "已标记为「已换发国家职业资格证书」(superseded): 2 张凭证" in result.output
    again = merge(tmp_path, rows, name="again", today=TODAY, ledger=where)
    assert [f.code for f in again.checked.report.findings] == ["photos-none", "ledger-retired", "ledger-retired"]


def test_list_filters_and_masks(tmp_path, where):
    rows = recent_rows(3, days_ago=360)
    merge(tmp_path, rows, ledger=where)
    ledger = ("--ledger", where)
    listed = json.loads(run("list", "--format", "json", *ledger).stdout)
    assert len(listed) == 3 and all("********" in r["id_number"] for r in listed)
    assert {"voucher_no", "name", "certificate_no", "id_number", "issued_on", "expires_on", "state",
            "reason"} <= set(listed[0])  # the keys scripts already read stay
    shown = json.loads(run("list", "--format", "json", "--show-id", *ledger).stdout)
    assert shown[0]["id_number"] == rows[0]["id_number"]
    assert len(json.loads(run("list", "--format", "json", "--expiring-within", "10", *ledger).stdout)) == 3
    assert json.loads(run("list", "--format", "json", "--expiring-within", "1", *ledger).stdout) == []
    month = rows[0]["issue_date"].strftime("%Y-%m")
    assert "共 3 张" in run("list", "--month", month, "--status", "genuine", *ledger).output


def _merge_process(roster, outdir, ledger, *extra):
    return subprocess.Popen([sys.executable, "-m", "fjvoucher", "merge", str(roster), "-o", str(outdir), "-q",
                             "--format", "docx", "--ledger", str(ledger), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_two_merges_at_once_never_issue_a_no_twice(tmp_path, where):
    from support.synthetic import CITIES

    fuzhou, xiamen = make_candidates(150, seed=1), make_candidates(150, seed=2, city="厦门市")
    for row in xiamen:  # same centre code for both: their serials compete
        cert = row["certificate_no"]  # Fuzhou's city code, another institution: distinct certificates
        row["certificate_no"] = cert[:4] + CITIES["福州市"][1] + cert[6] + "002" + cert[10:]
        row["exam_no"] = "X" + row["exam_no"]
    a = write_roster_xlsx(tmp_path / "a.xlsx", fuzhou)
    b = write_roster_xlsx(tmp_path / "b.xlsx", xiamen)
    ledger = where
    procs = [_merge_process(a, tmp_path / "oa", ledger, "--batch-size", "10"),
             _merge_process(b, tmp_path / "ob", ledger, "--batch-size", "10"),
             _merge_process(a, tmp_path / "oa2", ledger, "--batch-size", "10")]  # the same roster twice at once
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    nos = all_nos(ledger)
    assert nos == [f"3501-2009-{i:06d}" for i in range(1, 301)]  # 300 certificates, each once, no gaps
    assert len({r[3] for r in records(ledger)}) == 300
    audited = run("audit", "--ledger", ledger)  # three writers took turns on one chain: it proves itself
    assert audited.exit_code == 0 and "0 处问题" in audited.output, audited.output


def test_a_merge_killed_midway_then_rerun_issues_every_voucher_once(tmp_path, where):
    rows = make_candidates(2000, seed=3)
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows)
    ledger = where
    proc = _merge_process(roster, tmp_path / "out", ledger, "--batch-size", "20")
    deadline = time.monotonic() + 60
    recorded = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            recorded = len(all_nos(ledger))
        except FjvoucherError:  # not created yet, or being created
            recorded = 0
        if recorded >= 100:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the merge finished before it could be killed"
    partial = all_nos(ledger)
    assert 0 < len(partial) < 2000 and len(partial) % 20 == 0  # whole batches only
    rerun = _merge_process(roster, tmp_path / "out", ledger, "--batch-size", "20")
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    assert all_nos(ledger) == [f"3501-2009-{i:06d}" for i in range(1, 2001)]
    audited = run("audit", "--ledger", ledger)  # the killed batch left no half of a link behind
    assert audited.exit_code == 0 and "0 处问题" in audited.output, audited.output
    assert len(list((tmp_path / "out" / "vouchers").glob("*.docx"))) == 2000
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.startswith(".") and ".tmp" in p.name]
    whole = _merge_process(roster, tmp_path / "whole", tmp_path / "whole.db", "--batch-size", "20")
    whole.communicate(timeout=120)
    assert whole.returncode == 0  # one uninterrupted run ends with the same ledger and files
    assert records(ledger) == records(tmp_path / "whole.db")
    documents = {k: v for k, v in digest(tmp_path / "out").items() if k.endswith(".docx")}
    assert documents == {k: v for k, v in digest(tmp_path / "whole").items() if k.endswith(".docx")}


def records(where):
    """Return every voucher's NO, printed fields, batch and page (what a run decides, not when it ran)."""
    with Ledger(where, create=False, readonly=True) as ledger:
        return sorted((v.voucher_no, v.fields["name"], v.fields["id_number"], v.fields["certificate_no"],
                       v.batch_file, v.page, v.status) for v in ledger.select())


def test_supersede_checks_what_it_is_given_shows_whom_asks_records_why_and_can_be_undone(tmp_path, monkeypatch):
    from openpyxl import Workbook

    from fjvoucher import cli

    rows = make_candidates(3, seed=8)
    merge(tmp_path, rows, today=TODAY)
    ledger = ("--ledger", tmp_path / "ledger.db")
    for typo in ("123", "国家证书名册.xlsx", rows[0]["certificate_no"][:-1]):
        refused = run("supersede", typo, "--yes", *ledger)
        assert refused.exit_code == 2 and typo in refused.output  # never exit 0 for a number that is none
    book = Workbook()
    book.active.append(["国家职业资格证书发放名单"])
    book.active.append(["姓名", "证书编号"])  # only these two columns: accepted
    book.active.append([rows[0]["name"], rows[0]["certificate_no"]])
    book.save(tmp_path / "national.xlsx")
    assert run("supersede", tmp_path / "national.xlsx", *ledger).exit_code == 2  # no terminal, no --yes: refused
    monkeypatch.setattr(cli, "_interactive", lambda: True)  # a clerk at the terminal answers the question
    declined = run("supersede", tmp_path / "national.xlsx", *ledger, input="n\n")
    assert rows[0]["name"] in declined.output and rows[0]["id_number"] not in declined.output  # masked
    assert "********" in declined.output and declined.exit_code == 1
    with Ledger(tmp_path / "ledger.db") as book_:
        assert book_.get("3501-2009-000001").status == "issued"  # asked, declined: nothing changed
    done = run("supersede", tmp_path / "national.xlsx", "--yes", "--reason", "国家证书2010年3月下发", *ledger)
    assert done.exit_code == 0 and "1 张凭证" in done.output
    undone = run("restore", "3501-2009-000001", "--reason", "名单有误", *ledger)
    assert undone.exit_code == 0
    with Ledger(tmp_path / "ledger.db") as book_:
        events = [(e.kind, e.reason) for e in book_.history("3501-2009-000001")]
        assert book_.get("3501-2009-000001").status == "issued"
    assert events[-2:] == [("superseded", "国家证书2010年3月下发"), ("restored", "名单有误")]
