"""The workbench without a browser: its door (token, Host, Origin, no CORS, sizes, folders) and its screens
answering as the CLI does.  The browser walk through a month is in test_desk_browser.py."""

import datetime as dt
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import openpyxl
import pytest
from starlette.testclient import TestClient

import fjvoucher
from fjvoucher.config import set_value
from fjvoucher.desk import work
from fjvoucher.desk.app import MAX_UPLOAD, DeskState, create_app
from fjvoucher.desk.guard import Guard
from fjvoucher.desk.jobs import MergeJob, MergeRunner
from fjvoucher.desk.launch import Watchdog, launch
from fjvoucher.messages import status_text
from support import SAMPLES, run
from support.synthetic import make_candidates, write_roster_xlsx

PORT = 47123
TOKEN = "t0ken-for-tests-only"
HOME = f"http://127.0.0.1:{PORT}"


@pytest.fixture
def opened():
    return []


@pytest.fixture
def desk(tmp_path, opened):
    """A workbench app behind its guard, settings in the test's own config folder, output in tmp_path."""
    set_value("center_name", "福州市职业技能鉴定指导中心")
    set_value("output", str(tmp_path / "out"))
    (tmp_path / "uploads").mkdir()
    state = DeskState(tmp_path / "uploads", opened.append)
    app = Guard(create_app(state), token=TOKEN, port=PORT, max_body=MAX_UPLOAD + 2**20)
    client = TestClient(app, base_url=HOME, follow_redirects=False)
    client.state = state
    return client


def signed_in(client: TestClient) -> TestClient:
    answer = client.get(f"/?t={TOKEN}")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    return client


def post(client: TestClient, url: str, **kwargs):
    return client.post(url, headers={"origin": HOME, **kwargs.pop("headers", {})}, **kwargs)


@pytest.fixture
def ledger_with_vouchers(tmp_path):
    """Five vouchers issued today into the test's default ledger (docx only: no LibreOffice)."""
    rows = make_candidates(5, seed=23)
    issue = dt.date.today() - dt.timedelta(days=3)
    for row in rows:
        row["issue_date"] = issue
        row["certificate_no"] = f"{issue.year % 100:02d}" + row["certificate_no"][2:]
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows)
    fjvoucher.merge(roster, tmp_path / "first", fjvoucher.merge_options(format="docx"))
    return rows, [f"3501-{issue.year}-{n:06d}" for n in range(1, 6)]


# --- the door ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/", "/settings", "/roster", "/static/desk.css", "/files/x.pdf", "/merge/status"])
def test_without_the_token_every_request_is_refused(desk, url):
    answer = desk.get(url)
    assert answer.status_code == 403
    assert "fjvoucher-desk" in answer.text
    assert desk.get(f"/?t={TOKEN}x").status_code == 403  # a wrong token in the first URL lets nobody in


def test_the_first_url_sets_the_cookie_and_leaves_the_token_out_of_the_address_bar(desk):
    answer = desk.get(f"/?t={TOKEN}")
    assert answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert f"fjvoucher-desk-{PORT}={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert desk.get("/settings").status_code == 200


@pytest.mark.parametrize("host", [f"evil.example:{PORT}", f"127.0.0.1:{PORT + 1}", "127.0.0.1", f"192.168.1.5:{PORT}"])
def test_a_foreign_host_header_is_refused_even_with_the_cookie(desk, host):
    signed_in(desk)
    answer = desk.get("/settings", headers={"host": host})
    assert answer.status_code == 421
    assert "center_name" not in answer.text


@pytest.mark.parametrize("origin", [None, "http://evil.example", f"http://127.0.0.1:{PORT + 1}", "null"])
def test_a_change_from_another_origin_is_refused_and_changes_nothing(desk, origin):
    from fjvoucher.config import setting

    signed_in(desk)
    headers = {"origin": origin} if origin else {}
    answer = desk.post("/settings", data={"center_name": "厦门市职业技能鉴定指导中心"}, headers=headers)
    assert answer.status_code == 403
    assert setting("center_name") == "福州市职业技能鉴定指导中心"
    assert desk.post("/quit", headers=headers).status_code == 403


def test_no_cors_header_is_ever_sent(desk):
    signed_in(desk)
    for answer in (desk.options("/settings", headers={"origin": "http://evil.example",
                                                       "access-control-request-method": "POST"}),
                   desk.get("/merge/status", headers={"origin": "http://evil.example"})):
        assert not any(k.lower().startswith("access-control-") for k in answer.headers)
    assert "frame-ancestors 'none'" in desk.get("/settings").headers["content-security-policy"]
    assert desk.get("/settings").headers["x-frame-options"] == "DENY"


def test_an_upload_over_the_limit_is_refused_before_it_is_read(desk):
    signed_in(desk)
    answer = post(desk, "/roster", content=b"", headers={"content-length": str(MAX_UPLOAD + 2**21),
                                                         "content-type": "multipart/form-data; boundary=x"})
    assert answer.status_code == 413

    def chunks():  # no length given: counted as it arrives
        for _ in range((MAX_UPLOAD + 2**21) // 2**20):
            yield b"x" * 2**20
    answer = post(desk, "/roster", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert answer.status_code == 413
    assert list(desk.state.uploads) == []


@pytest.mark.parametrize("path", ["../../../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd",
                                  "C:/Windows/win.ini", "link/secret.pdf", "notes.txt"])
def test_no_file_outside_the_output_folder_is_served(desk, tmp_path, path):
    signed_in(desk)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes(b"%PDF-1.4 secret")
    root = work.output_root()
    root.mkdir(parents=True, exist_ok=True)
    (root / "link").symlink_to(outside)  # a link inside the output folder to elsewhere is not followed out
    (root / "notes.txt").write_text("not ours to serve", encoding="utf-8")
    (root / "ok.pdf").write_bytes(b"%PDF-1.4 ours")
    assert desk.get("/files/ok.pdf").content == b"%PDF-1.4 ours"
    answer = desk.get(f"/files/{path}")
    assert answer.status_code == 404 and b"secret" not in answer.content and b"root:" not in answer.content
    assert post(desk, "/open-folder", data={"path": "link"}).status_code == 404


def test_open_folder_opens_only_a_folder_inside_the_output_folder(desk, opened):
    signed_in(desk)
    (work.output_root() / "2009-06").mkdir(parents=True)
    assert post(desk, "/open-folder", data={"path": "2009-06"}).status_code == 200
    assert post(desk, "/open-folder", data={"path": ".."}).status_code == 404
    assert opened == [(work.output_root() / "2009-06").resolve()]


def test_the_desk_binds_loopback_only_and_quit_stops_it(tmp_path):
    """The real program: `fjvoucher desk` on a free loopback port, reachable from nowhere else, 退出 ends it."""
    env = {**os.environ, "FJVOUCHER_LEDGER": str(tmp_path / "l.db")}
    proc = subprocess.Popen([sys.executable, "-m", "fjvoucher", "desk", "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = proc.stdout.readline().split()[-1]
        assert url.startswith("http://127.0.0.1:") and "/?t=" in url
        port = int(url.split(":")[2].split("/")[0])
        others = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
        others |= set(subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split())
        for address in others - {"127.0.0.1"}:
            if ":" not in address:
                with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
                    pass
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        assert "设置" in opener.open(url, timeout=10).read().decode("utf-8")  # first run: the settings
        quit_request = urllib.request.Request(f"http://127.0.0.1:{port}/quit", data=b"", method="POST",
                                              headers={"Origin": f"http://127.0.0.1:{port}"})
        assert "已退出" in opener.open(quit_request, timeout=10).read().decode("utf-8")
        assert proc.wait(timeout=15) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_the_desk_stops_by_itself_when_no_tab_is_left():
    urls = []
    started = time.monotonic()
    thread = threading.Thread(target=launch, kwargs={"browser": False, "announce": urls.append, "quiet_s": 1})
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive() and urls and time.monotonic() - started < 20


def test_the_watchdog_waits_for_the_quiet_time_after_the_last_heartbeat():
    now = [0.0]
    dog = Watchdog(90, clock=lambda: now[0])
    now[0] = 89
    assert not dog.alone()
    dog.seen()
    now[0] = 170
    assert not dog.alone()
    now[0] = 180.5
    assert dog.alone()


def test_one_merge_at_a_time():
    runner, release = MergeRunner(), threading.Event()
    first = MergeJob("a.xlsx", Path("a"))
    assert runner.start(first, lambda progress: release.wait(10) and None)
    assert not runner.start(MergeJob("b.xlsx", Path("b")), lambda progress: None)
    assert runner.job is first and runner.busy
    release.set()
    while first.running:
        time.sleep(0.01)
    assert runner.start(MergeJob("c.xlsx", Path("c")), lambda progress: None)


def test_the_log_names_no_one(desk, caplog, ledger_with_vouchers):
    rows, numbers = ledger_with_vouchers
    signed_in(desk)
    with caplog.at_level(logging.INFO, logger="fjvoucher.desk"):
        desk.get(f"/ledger?q={rows[0]['name']}")
        desk.get(f"/voucher/{numbers[0]}")
        post(desk, "/verify", data={"no": numbers[0], "by": "name", "value": rows[0]["name"]})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /ledger 200" in logged and "/voucher/…" in logged
    assert rows[0]["name"] not in logged and numbers[0] not in logged and rows[0]["id_number"] not in logged


# --- the screens ---------------------------------------------------------------------------------------

def cli_json(*args) -> dict:
    """Return the JSON a command printed (the ledger's line follows it on stderr, mixed in here)."""
    return json.JSONDecoder().raw_decode(run(*args).output)[0]


def upload(client: TestClient, path: Path, name: str | None = None):
    with path.open("rb") as f:
        return post(client, "/roster", files={"roster": (name or path.name, f, "application/octet-stream")})


def test_first_run_shows_the_settings_and_warns_of_a_near_miss_centre(desk):
    from fjvoucher.config import setting

    set_value("center_name", "")
    signed_in(desk)
    assert desk.get("/").headers["location"] == "/settings"
    page = desk.get("/settings").text
    assert 'id="first-run"' in page and "福州市职业技能鉴定指导中心" in page  # the province's list to choose from
    answer = post(desk, "/settings", data={"center_name": "厦门职业技能鉴定指导中心", "center_code": "3502",
                                           "phone": "0592-1234567", "photos": "", "verify_url": "",
                                           "output": str(work.output_root())})
    assert "厦门市职业技能鉴定指导中心" in answer.text  # validate's own near-miss warning, with the likely name
    assert setting("center_name") == "厦门职业技能鉴定指导中心" and setting("phone") == "0592-1234567"
    bad = post(desk, "/settings", data={"center_name": "", "photos": "/no/such/folder", "center_code": "x",
                                        "phone": "", "verify_url": "ftp://x", "output": ""})
    assert bad.status_code == 400 and "/no/such/folder" in bad.text
    assert setting("center_name") == "厦门职业技能鉴定指导中心"
    assert work.ledger_path().name in desk.get("/settings").text


def test_a_roster_with_errors_shows_the_clis_findings_errors_first(desk):
    signed_in(desk)
    answer = upload(desk, SAMPLES / "roster_with_errors.xlsx")
    assert answer.status_code == 303
    page = desk.get(answer.headers["location"]).text
    cli = json.loads(run("validate", SAMPLES / "roster_with_errors.xlsx", "--format", "json",
                         "--center", "福州市职业技能鉴定指导中心").output)
    table = page.split('id="findings"')[1].split("</table>")[0]
    rows = table.split("<tr class=")[1:]
    assert len(rows) == len(cli["problems"])
    severities = [r.split('"')[1] for r in rows]
    assert severities == sorted(severities)  # "error" < "warning": errors first
    for problem in cli["problems"]:
        assert _escaped(problem["message"]) in table
    first_error = next(p for p in cli["problems"] if p["row"] is not None and p["severity"] == "error")
    assert f'<td>{first_error["row"]}</td><td>B</td>\n      <td>{first_error["column"]}</td>' in table
    only_errors = desk.get(answer.headers["location"] + "?severity=error").text
    assert only_errors.count('<tr class="error"') == cli["errors"] and '<tr class="warning"' not in only_errors


def _escaped(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def test_the_rejected_rows_and_the_blank_roster_download_as_workbooks(desk):
    signed_in(desk)
    location = upload(desk, SAMPLES / "roster_with_errors.xlsx").headers["location"]
    rejected = desk.get(location + "/rejected.xlsx")
    assert rejected.status_code == 200 and "attachment" in rejected.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(rejected.content)).active
    assert sheet.cell(1, 1).value == "原行号" and sheet.max_row > 1
    blank = openpyxl.load_workbook(io.BytesIO(desk.get("/blank.xlsx").content)).active
    assert "姓名" in [c.value for c in blank[1]] + [c.value for c in blank[2]]


def test_an_unreadable_upload_gets_the_clis_one_line(desk, tmp_path):
    signed_in(desk)
    fake = tmp_path / "名册.xlsx"
    fake.write_bytes(b"this is not a spreadsheet")
    answer = upload(desk, fake)
    cli = run("validate", fake)
    assert answer.status_code == 400 and cli.exit_code == 2
    line = cli.output.strip().splitlines()[-1].removeprefix("错误 Error: ").split(fake.name)[-1]
    assert _escaped(line) in answer.text and "Traceback" not in answer.text


def test_a_3000_row_roster_with_300_findings_shows_in_under_a_second(desk, tmp_path):
    rows = make_candidates(3000, seed=3)
    for row in rows[::10]:
        row["theory_score"] = 150
    signed_in(desk)
    location = upload(desk, write_roster_xlsx(tmp_path / "big.xlsx", rows)).headers["location"]
    started = time.perf_counter()
    page = desk.get(location)
    took = time.perf_counter() - started
    assert page.text.count('<tr class="error"') == 300
    assert took < 1.0, f"{took:.2f} s"


def test_merge_from_the_page_writes_what_the_cli_writes_and_counts_reconcile(desk, tmp_path):
    signed_in(desk)
    location = upload(desk, SAMPLES / "roster_with_errors.xlsx").headers["location"]
    upload_id = location.rsplit("/", 1)[1]
    answer = post(desk, "/merge", data={"upload": upload_id, "photos": str(SAMPLES / "photos"), "folder": "6月",
                                        "sort_by": "", "format": "docx", "skip_invalid": "on"})
    assert answer.status_code == 303
    deadline = time.monotonic() + 120
    while (status := desk.get("/merge/status").json())["running"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status["ok"] and status["stages"]["docx"]["done"] == status["stages"]["docx"]["total"] > 0
    page = desk.get("/merge").text
    rows, merged, rejected = (int(page.split(f'id="{k}">')[1].split("<")[0]) for k in ("rows", "merged",
                                                                                       "rejected-count"))
    assert rows == merged + rejected and rejected > 0
    out = work.output_root() / "6月"
    assert len(list((out / "vouchers").glob("*.docx"))) == merged
    assert (out / "发放登记表.xlsx").is_file() and (out / "rejected.xlsx").is_file()
    assert "/files/6%E6%9C%88/batches/batch-001.docx" in page or "/files/6月/batches/batch-001.docx" in page
    assert desk.get("/files/6月/batches/batch-001.docx").status_code == 200
    bad = post(desk, "/merge", data={"upload": upload_id, "photos": "", "folder": "../escape", "format": "docx"})
    assert bad.status_code == 400 and not (work.output_root().parent / "escape").exists()


def test_ledger_search_revoke_with_confirmation_restore_and_supersede(desk, ledger_with_vouchers):
    rows, numbers = ledger_with_vouchers
    signed_in(desk)
    assert numbers[0] in desk.get(f"/ledger?q={rows[0]['name']}").text
    assert numbers[1] in desk.get(f"/ledger?q={rows[1]['certificate_no']}").text
    assert numbers[1] in desk.get(f"/ledger?q={rows[1]['certificate_no'][-7:]}").text  # part of it
    assert desk.get(f"/ledger?q=NO：{numbers[2]}").text.count("/voucher/") == 1
    asked = post(desk, f"/voucher/{numbers[0]}/revoke", data={"reason": "实为不合格"})
    revoked = status_text("revoked")
    assert 'id="confirm-question"' in asked.text and revoked not in asked.text.split('id="state"')[1][:40]
    done = post(desk, f"/voucher/{numbers[0]}/revoke", data={"reason": "实为不合格", "confirmed": "yes"})
    assert revoked in done.text.split('id="state"')[1][:60]
    assert cli_json("verify", numbers[0], "--name", rows[0]["name"], "--format", "json")["status"] == "revoked"
    assert post(desk, f"/voucher/{numbers[0]}/restore", data={"reason": ""}).status_code == 400
    restored = post(desk, f"/voucher/{numbers[0]}/restore", data={"reason": "误操作"})
    assert status_text("genuine") in restored.text.split('id="state"')[1][:60]
    post(desk, f"/voucher/{numbers[1]}/supersede", data={"confirmed": "yes"})
    assert cli_json("verify", numbers[1], "--name", rows[1]["name"], "--format", "json")["status"] == "superseded"
    page = desk.get(f"/voucher/{numbers[0]}").text
    assert [k for k in ("issued", "revoked", "restored") if f'data-kind="{k}"' in page] == ["issued", "revoked",
                                                                                          "restored"]
    assert rows[0]["id_number"] not in page and rows[0]["id_number"][:6] in page  # masked


def test_verify_answers_as_the_public_page_does(desk, ledger_with_vouchers):
    from fjvoucher.messages import status_text
    from fjvoucher.web.app import WORDS

    rows, numbers = ledger_with_vouchers
    signed_in(desk)
    good = post(desk, "/verify", data={"no": numbers[2], "by": "name", "value": rows[2]["name"]}).text
    assert f'<h2 id="status">{status_text("genuine")}</h2>' in good
    wrong = post(desk, "/verify", data={"no": numbers[2], "by": "name", "value": "某某"}).text
    unknown = post(desk, "/verify", data={"no": "3501-1999-999999", "by": "name", "value": "某某"}).text
    assert f'<h2 id="status">{status_text("unknown")}{WORDS["zh"]["unknown_why"]}</h2>' in wrong
    assert wrong.split('id="answer"')[1] == unknown.split('id="answer"')[1]  # a wrong name tells nothing more
    by_id = post(desk, "/verify", data={"no": numbers[2], "by": "id_number", "value": rows[2]["id_number"]}).text
    assert status_text("genuine") in by_id


def test_the_monthly_report_is_the_clis(desk, ledger_with_vouchers, tmp_path):
    signed_in(desk)
    month = dt.date.today().strftime("%Y-%m")
    page = post(desk, "/report", data={"month": month}).text
    assert 'id="issued">5<' in page
    written = work.output_root() / "月报" / f"{month}.xlsx"
    run("report", "--month", month, "-o", tmp_path / "cli.xlsx")
    ours, theirs = (openpyxl.load_workbook(p) for p in (written, tmp_path / "cli.xlsx"))
    assert ours.sheetnames == theirs.sheetnames
    for name in ours.sheetnames:
        assert [[c.value for c in r] for r in ours[name].iter_rows()] == \
               [[c.value for c in r] for r in theirs[name].iter_rows()]
    assert desk.get(f"/files/月报/{month}.xlsx").status_code == 200
    assert post(desk, "/report", data={"month": "2009-13"}).status_code == 400


def test_english_switch(desk):
    signed_in(desk)
    answer = desk.get("/lang/en?next=/verify")
    assert answer.headers["location"] == "/verify"
    assert "Verify a voucher" in desk.get("/verify").text
    assert desk.get("/lang/en?next=//evil.example").headers["location"] == "/"


def test_the_desktop_icon_starts_the_installed_workbench(tmp_path):
    from fjvoucher.desk.shortcut import NAME, desk_program, make_shortcut

    program = desk_program()
    assert program.name == "fjvoucher-desk" and program.is_file()  # the [project.gui-scripts] entry, installed
    link = make_shortcut(tmp_path / "桌面", program, windows=False)
    text = link.read_text(encoding="utf-8")
    assert f"Name={NAME}\n" in text and f'Exec="{program}"\n' in text and "Terminal=false" in text
    assert os.access(link, os.X_OK)


def test_on_windows_the_paths_reach_powershell_only_through_the_environment(tmp_path):
    from fjvoucher.desk.shortcut import make_shortcut

    calls = []
    odd = tmp_path / "桌面 '; Remove-Item C:\\ $(x)"
    link = make_shortcut(odd, Path("C:/Users/王芳/AppData/Roaming/Python/Scripts/fjvoucher-desk.exe"), windows=True,
                         run=lambda command, **kw: calls.append((command, kw)))
    (command, kw), = calls
    assert link == odd / "凭证工作台.lnk"
    assert kw["env"]["FJV_LINK"] == str(link) and kw["env"]["FJV_TARGET"].endswith("fjvoucher-desk.exe")
    assert not any("Remove-Item" in part or "王芳" in part for part in command)


def test_the_desk_command_makes_the_icon(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DESKTOP_DIR", str(tmp_path / "Desktop"))
    result = run("desk", "--shortcut")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "Desktop" / "fjvoucher-desk.desktop").is_file()


def test_a_roster_with_more_findings_than_a_page_lists_the_first_and_says_how_many_more(desk, tmp_path, monkeypatch):
    from fjvoucher.desk import app

    monkeypatch.setattr(app, "LISTED_FINDINGS", 7)
    rows = make_candidates(20, seed=4)
    for row in rows:
        row["theory_score"] = 150
    signed_in(desk)
    page = desk.get(upload(desk, write_roster_xlsx(tmp_path / "r.xlsx", rows)).headers["location"]).text
    summary = page.split('id="summary"')[1]
    errors, warnings = (int(summary.split(word)[1].split("处")[0].strip()) for word in ("错误", "警告"))
    assert page.count('<tr class="error"') == 7 and f"另有 {errors + warnings - 7} 条未列出" in page


def test_national_certificates_retire_vouchers_from_typed_numbers_or_a_roster(desk, ledger_with_vouchers, tmp_path):
    rows, numbers = ledger_with_vouchers
    signed_in(desk)
    typed = post(desk, "/ledger", data={"certificates": f"{rows[0]['certificate_no']}\n9999999999999999"},
                 files={"roster": ("", b"", "application/octet-stream")})
    assert "1 张凭证" in typed.text and "9999999999999999" in typed.text  # the unknown one is named
    national = write_roster_xlsx(tmp_path / "国家证书.xlsx", rows[1:3])
    with national.open("rb") as f:
        post(desk, "/ledger", data={"certificates": ""}, files={"roster": (national.name, f, "application/vnd")})
    states = [cli_json("verify", n, "--name", r["name"], "--format", "json")["status"]
              for n, r in zip(numbers, rows, strict=True)]
    assert states == ["superseded"] * 3 + ["genuine"] * 2
