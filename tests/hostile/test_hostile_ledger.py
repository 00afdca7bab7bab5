"""The ledger proves itself: each tampering made with plain SQL is found by `audit` and refused by the
reading commands (issue 21); the ledger file is identified before it is touched (issue 19, 6 and 7)."""

import json
import os
import shutil
import sqlite3
import stat

import pytest

from hostile import ledger_corpus
from hostile.ledger_corpus import NO
from support import run


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The ledger of ledger_corpus.make_ledger, and the key that signed it (the module's own user folders)."""
    folder = tmp_path_factory.mktemp("pristine")
    key_home = tmp_path_factory.mktemp("keyhome")
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(key_home)
    try:
        path = ledger_corpus.make_ledger(folder)
    finally:
        if saved is None:
            del os.environ["XDG_DATA_HOME"]
        else:
            os.environ["XDG_DATA_HOME"] = saved
    return path, key_home


@pytest.fixture
def ledger(pristine, tmp_path, monkeypatch):
    """A fresh copy of the pristine ledger, with this test's user holding the centre key that signed it."""
    path, key_home = pristine
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    shutil.copytree(key_home, tmp_path / "data")
    copy = tmp_path / "ledger.db"
    shutil.copy(path, copy)
    return copy


def one_line_failure(result, code: str = "ledger-tampered") -> str:
    """Assert the command refused in one line with exit 1 and the JSON code `code` (never a bug, exit 3)."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_the_untouched_ledger_audits_clean_and_answers(ledger):
    result = run("audit", "--ledger", ledger)
    assert result.exit_code == 0, result.output
    assert "0 处问题" in result.output
    assert run("verify", NO(1), "--code", "X" * 12, "--ledger", ledger).exit_code == 1  # unknown: answered
    assert run("list", "--ledger", ledger).exit_code == 0
    assert run("report", "--month", "2009-06", "-o", ledger.parent / "m.xlsx", "--ledger", ledger).exit_code == 0


@pytest.mark.parametrize("tamper", ledger_corpus.CASES, ids=lambda f: f.__name__)
def test_each_tampering_is_found_by_audit_and_refused_by_the_reading_commands(ledger, tamper):
    number = tamper(ledger)
    audited = run("audit", "--ledger", ledger, "--format", "json")
    assert audited.exit_code == 1, audited.output
    found = json.loads(audited.stdout)
    if "ok" in found:
        assert not found["ok"] and found["discrepancies"]
    else:  # marks changed: the file cannot even be opened as the version it claims
        assert found["error"]["code"] == "ledger-tampered"
    text = run("audit", "--ledger", ledger)
    assert text.exit_code == 1 and ("处问题" in text.output or "audit" in text.output)
    with sqlite3.connect(ledger) as db:
        name = db.execute("SELECT name FROM vouchers WHERE voucher_no = ?", (number,)).fetchone()
    refused = [run("verify", number, "--name", name[0] if name else "某人", "--ledger", ledger),
               run("history", number, "--ledger", ledger),
               run("report", "--month", "2009-06", "-o", ledger.parent / "m.xlsx", "--ledger", ledger)]
    if tamper not in (ledger_corpus.row_edited, ledger_corpus.code_swapped):  # one row: verify and history refuse
        refused.append(run("list", "--ledger", ledger))
    for result in refused:
        line = one_line_failure(result)
        assert str(ledger) in line and "audit" in line, line
    assert not (ledger.parent / "m.xlsx").exists()


def test_an_edited_row_is_refused_by_list_too(ledger):
    ledger_corpus.row_edited(ledger)
    line = one_line_failure(run("list", "--ledger", ledger))
    assert NO(4) in line


def test_audit_names_what_differs_and_since_when(ledger):
    ledger_corpus.edit_revocation(ledger)
    lines = run("audit", "--ledger", ledger).output.splitlines()
    assert any("[event-edited]" in line and "2009-06-15T10:00:00" in line for line in lines), lines
    assert any("[voucher-edited]" in line and NO(2) in line and "status" in line for line in lines), lines


def test_a_month_report_commits_its_closing_head_and_audit_checks_it(ledger, tmp_path):
    report = tmp_path / "2009-06.xlsx"
    assert run("report", "--month", "2009-06", "-o", report, "--ledger", ledger).exit_code == 0
    assert run("audit", "--report", report, "--ledger", ledger).exit_code == 0
    again = tmp_path / "again.xlsx"
    assert run("report", "--month", "2009-06", "-o", again, "--ledger", ledger).exit_code == 0
    from openpyxl import load_workbook

    sheets = [{r[0]: r[2] for r in load_workbook(p)["台账链头"].iter_rows(values_only=True)} for p in (report, again)]
    assert sheets[0] == sheets[1] and int(sheets[0]["count"]) == 8  # the same head, the same signature
    # rewrite history before the report, consistently, with the centre's own key: the report still notices
    ledger_corpus.resigned_with_own_key(ledger)
    audited = run("audit", "--report", report, "--ledger", ledger)
    assert audited.exit_code == 1 and "report-head-lost" in audited.output


def test_an_upgraded_0_1_0_ledger_says_so_once_and_audits_clean(tmp_path):
    from support import DATA

    copy = tmp_path / "old.db"
    shutil.copy(DATA / "ledger-0.1.0.db", copy)
    first = run("audit", "--ledger", copy)
    assert first.exit_code == 0, first.output
    assert "已升级" in first.output and "0 处问题" in first.output
    again = run("audit", "--ledger", copy)
    assert again.exit_code == 0 and "已升级" not in again.output


def test_a_write_on_top_of_a_tampered_chain_is_refused_and_signs_nothing(ledger):
    ledger_corpus.delete_last_event(ledger)
    with sqlite3.connect(ledger) as db:
        before = db.execute("SELECT * FROM head").fetchone()
    result = run("revoke", NO(1), "--reason", "误发", "--yes", "--ledger", ledger)
    assert result.exit_code == 1 and "audit" in result.output
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT * FROM head").fetchone() == before


# --- backup and restore ----------------------------------------------------------------------------

def test_backup_audits_the_copy_and_restore_keeps_the_current_ledger(ledger, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    made = run("backup", folder, "--ledger", ledger)
    assert made.exit_code == 0, made.output
    copy = next(folder.glob("*.db"))
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and not list(folder.glob("*.pem"))
    assert "签名密钥不在备份中" in made.output
    ledger_corpus.row_edited(ledger)  # damage after the backup
    restored = run("restore-backup", copy, "--yes", "--ledger", ledger)
    assert restored.exit_code == 0, restored.output
    assert run("audit", "--ledger", ledger).exit_code == 0
    kept = list(tmp_path.glob("ledger.db.before-restore-*"))
    assert len(kept) == 1
    with sqlite3.connect(kept[0]) as db:  # the damaged one, kept as it was
        assert db.execute("SELECT name FROM vouchers WHERE voucher_no = ?", (NO(4),)).fetchone()[0] == "李四"


def test_a_tampered_backup_is_not_restored(ledger, tmp_path):
    bad = tmp_path / "bad.db"
    assert run("backup", bad, "--ledger", ledger).exit_code == 0
    ledger_corpus.forged_voucher(bad)
    before = ledger.read_bytes()
    result = run("restore-backup", bad, "--yes", "--ledger", ledger)
    assert result.exit_code == 1 and "没有恢复" in result.output
    assert ledger.read_bytes() == before


def test_backup_with_key_warns_and_copies_it_owner_only(ledger, tmp_path):
    result = run("backup", tmp_path / "b.db", "--with-key", "--ledger", ledger)
    assert result.exit_code == 0 and "[警告]" in result.output
    key = tmp_path / "b.db.key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and b"PRIVATE KEY" in key.read_bytes()


def test_backup_never_overwrites(ledger, tmp_path):
    target = tmp_path / "mine.db"
    target.write_text("my own file", encoding="utf-8")
    result = run("backup", target, "--ledger", ledger)
    assert result.exit_code == 2 and target.read_text(encoding="utf-8") == "my own file"


# --- issue 19, classes 6 and 7: identify first, touch nothing that is not ours ---------------------

READING = [("verify", NO(1), "--name", "张三"), ("list",), ("report", "--month", "2009-06"), ("history", NO(1)),
           ("audit",), ("revoke", NO(1), "--reason", "误发", "--yes"), ("supersede", "0935011001500001"),
           ("merge", "r.xlsx", "-o", "out", "-q", "--format", "docx")]


@pytest.mark.parametrize("command", READING, ids=lambda c: c[0])
@pytest.mark.parametrize("content", [b"", b"my notes, not a ledger\n" * 50, b"SQLite format 3\x00" + b"\x00" * 200],
                         ids=["empty", "text", "sqlite-header-only"])
def test_a_foreign_or_empty_file_is_not_a_ledger_and_keeps_its_mode_and_bytes(tmp_path, command, content):
    from support.synthetic import make_candidates, write_roster_xlsx

    write_roster_xlsx(tmp_path / "r.xlsx", make_candidates(2, seed=5))
    os.chdir(tmp_path)
    foreign = tmp_path / "some.txt"
    foreign.write_bytes(content)
    os.chmod(foreign, 0o644)
    result = run(*command, "--ledger", foreign)
    assert result.exit_code == 2, result.output
    assert "不是凭证台账" in result.output or "空文件" in result.output
    assert stat.S_IMODE(foreign.stat().st_mode) == 0o644 and foreign.read_bytes() == content
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.name != "posix", reason="folders' modes and FIFOs are POSIX")
@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_folder_or_fifo_named_as_the_ledger_is_refused_untouched(tmp_path, kind):
    target = tmp_path / "ledger.db"
    if kind == "folder":
        target.mkdir(mode=0o755)
    else:
        os.mkfifo(target, 0o644)
    mode = stat.S_IMODE(os.stat(target).st_mode)
    result = run("list", "--ledger", target)  # a FIFO would block a reader: it must not even be opened
    assert result.exit_code == 2 and "不是" in result.output or "文件夹" in result.output, result.output
    assert stat.S_IMODE(os.stat(target).st_mode) == mode


def test_another_users_style_sqlite_file_keeps_its_mode(tmp_path):
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    os.chmod(other, 0o644)
    before = other.read_bytes()
    assert run("list", "--ledger", other).exit_code == 2
    assert stat.S_IMODE(other.stat().st_mode) == 0o644 and other.read_bytes() == before


# --- issue 19, class 14: the server and a replaced or deleted ledger ------------------------------

@pytest.fixture
def served(ledger):
    """A test client answering from `ledger`, and a function asking it about voucher NO(1) by name."""
    from starlette.testclient import TestClient

    from fjvoucher.web.app import Ledgers, create_app

    with sqlite3.connect(ledger) as db:
        name = db.execute("SELECT name FROM vouchers WHERE voucher_no = ?", (NO(1),)).fetchone()[0]
    ledgers = Ledgers([ledger])
    with TestClient(create_app(ledgers, per_minute=0)) as client:
        yield client, lambda: client.get("/api/verify", params={"no": NO(1), "name": name})
    ledgers.close()


def test_the_server_answers_from_a_ledger_copied_over_the_one_it_opened(ledger, served, tmp_path):
    client, ask = served
    assert ask().json()["status"] == "expired"  # 2009's voucher, today
    changed = tmp_path / "changed.db"
    shutil.copy(ledger, changed)
    assert run("revoke", NO(1), "--reason", "误发", "--yes", "--ledger", changed).exit_code == 0
    os.replace(changed, ledger)  # what a clerk restoring by hand does
    assert ask().json()["status"] == "revoked"
    assert client.get("/healthz").json()["status"] == "ok"


def test_the_server_says_503_for_a_deleted_or_tampered_ledger_and_healthz_tells_why(ledger, served, tmp_path):
    client, ask = served
    assert ask().status_code == 200
    tampered = tmp_path / "t.db"
    shutil.copy(ledger, tampered)
    ledger_corpus.forged_signature(tampered)
    os.replace(tampered, ledger)
    answer = ask()
    assert answer.status_code == 503 and answer.json()["status"] == "unavailable"
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["problems"] == [{"ledger": 1, "reason": "tampered"}]
    page = client.get(f"/v/{NO(1)}", params={"c": "X"})
    assert page.status_code == 503 and "暂时无法核验" in page.text
    ledger.unlink()
    assert ask().status_code == 503
    assert client.get("/healthz").json()["problems"] == [{"ledger": 1, "reason": "missing"}]


def test_restoring_a_backup_while_serving_keeps_both_files_whole(ledger, served, tmp_path):
    client, ask = served
    backup = tmp_path / "b.db"
    assert run("backup", backup, "--ledger", ledger).exit_code == 0
    assert run("revoke", NO(1), "--reason", "误发", "--yes", "--ledger", ledger).exit_code == 0
    assert ask().json()["status"] == "revoked"
    backup_bytes = backup.read_bytes()
    restored = run("restore-backup", backup, "--yes", "--ledger", ledger)
    assert restored.exit_code == 0, restored.output
    assert ask().json()["status"] == "expired"  # the server sees the restored ledger at once
    assert backup.read_bytes() == backup_bytes  # the backup is never written into
    assert run("revoke", NO(5), "--reason", "误发", "--yes", "--ledger", ledger).exit_code == 0
    assert run("audit", "--ledger", ledger).exit_code == 0
    kept = next(tmp_path.glob("ledger.db.before-restore-*"))
    assert run("audit", "--ledger", kept).exit_code == 0
    assert client.get("/healthz").json()["status"] == "ok"


def test_serve_refuses_a_file_that_is_not_a_ledger_before_serving(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"")
    result = run("serve", "--ledger", notes)
    assert result.exit_code == 2 and "serving" not in result.output and "空文件" in result.output
    assert notes.read_bytes() == b""


def test_a_chain_resigned_with_another_key_is_found_even_when_the_centre_key_is_deleted(ledger, tmp_path,
                                                                                         monkeypatch):
    from fjvoucher.ledger.keys import key_path

    shutil.copy(key_path(), tmp_path / "key.pem")
    monkeypatch.setenv("FJVOUCHER_KEY", str(tmp_path / "key.pem"))  # this test's own copy of the centre key
    assert run("list", "--ledger", ledger).exit_code == 0  # this computer has seen the ledger and its key
    ledger_corpus.resigned_with_own_key(ledger)
    key_path().unlink()  # whoever rewrote it removes the key that would betray it
    result = run("verify", NO(1), "--name", "改名", "--ledger", ledger)
    line = one_line_failure(result)
    assert "re-signed" in line or "另一把密钥" in line or "签名" in line, line


def test_revoking_a_forged_row_is_refused_and_signs_nothing(ledger):
    ledger_corpus.forged_voucher(ledger)
    with sqlite3.connect(ledger) as db:
        before = db.execute("SELECT * FROM head").fetchone()
    result = run("revoke", NO(99), "--reason", "误发", "--yes", "--ledger", ledger)
    assert result.exit_code == 1 and "audit" in result.output
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT * FROM head").fetchone() == before


def test_config_shows_the_key_fingerprint_that_signed_the_ledger(ledger):
    shown = run("config").output
    audited = json.loads(run("audit", "--format", "json", "--ledger", ledger).stdout)
    assert "中心签名密钥" in shown and audited["head"]["key"] in shown


def test_a_backup_taken_while_a_merge_writes_audits_clean_and_restores(tmp_path, write_xlsx):
    """SQLite's online backup copies a consistent state while another process commits batches."""
    import subprocess
    import sys
    import time

    from support.synthetic import make_candidates

    ledger, folder = tmp_path / "ledger.db", tmp_path / "backups"
    folder.mkdir()
    rows = make_candidates(3005, seed=2)
    assert run("merge", write_xlsx(rows[:5]), "-o", tmp_path / "first", "--format", "docx",
               "--ledger", ledger).exit_code == 0
    big = write_xlsx(rows[5:])
    merging = subprocess.Popen([sys.executable, "-m", "fjvoucher", "merge", str(big), "-o", str(tmp_path / "big"),
                                "--format", "docx", "--batch-size", "50", "--no-per-candidate", "-q",
                                "--ledger", str(ledger)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    copies = []
    try:
        while merging.poll() is None and len(copies) < 3:
            time.sleep(0.5)
            copy = folder / f"copy-{len(copies)}.db"
            made = run("backup", copy, "--ledger", ledger)
            assert made.exit_code == 0, made.output
            copies.append(copy)
    finally:
        _, err = merging.communicate(timeout=600)
    assert merging.returncode == 0, err.decode()
    assert copies, "the merge ended before a backup could be taken"
    counts = []
    for copy in copies:
        assert run("audit", "--ledger", copy).exit_code == 0
        with sqlite3.connect(copy) as db:
            counts.append(db.execute("SELECT count(*) FROM vouchers").fetchone()[0])
    assert any(5 <= n < len(rows) for n in counts), counts  # at least one taken mid-merge
    restored = run("restore-backup", copies[-1], "--yes", "--ledger", ledger)
    assert restored.exit_code == 0, restored.output
    assert run("audit", "--ledger", ledger).exit_code == 0
