"""fjvoucher serve: the verification page and API, their rules, and the page in a real browser."""

import datetime as dt
import json
import time

import pytest

from fjvoucher.ledger.store import Ledger
from fjvoucher.ledger.verify import verify
from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.web.app import Ledgers, create_app
from support.synthetic import make_candidates, write_roster_xlsx


class FakeTime:
    """Seconds for the rate limiter, moved by the test."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def issued(tmp_path):
    """A ledger with three vouchers still valid (issued ten days ago) and one revoked."""
    issue = dt.date.today() - dt.timedelta(days=10)
    rows = make_candidates(3, seed=91)
    for row in rows:
        row["issue_date"] = issue
        row["certificate_no"] = f"{issue.year % 100:02d}" + row["certificate_no"][2:]
    ledger = tmp_path / "ledger.db"
    merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                 MergeOptions(format="docx", ledger=ledger))
    with Ledger(ledger) as book:
        book.revoke(f"3501-{issue.year}-000003", "实为不合格")
        vouchers = {v.voucher_no: v for v in book.select()}
    return ledger, rows, vouchers, issue.year


@pytest.fixture
def client(issued):
    from starlette.testclient import TestClient

    ledger, *_ = issued
    ledgers = Ledgers([ledger])
    time = FakeTime()
    with TestClient(create_app(ledgers, per_minute=5, clock=time)) as test_client:
        test_client.time = time
        yield test_client
    ledgers.close()


def test_the_api_answers_genuine_with_what_the_paper_shows(client, issued):
    _, rows, vouchers, year = issued
    answer = client.get("/api/verify", params={"no": f"NO：3501-{year}-000001", "name": rows[0]["name"]}).json()
    assert answer["status"] == "genuine" and answer["name"] == rows[0]["name"]
    assert (answer["occupation"], answer["level"]) == (rows[0]["occupation"], rows[0]["level"])
    assert answer["id_number"] != rows[0]["id_number"] and "********" in answer["id_number"]
    assert rows[0]["id_number"] not in json.dumps(answer, ensure_ascii=False)


def test_a_wrong_name_answers_exactly_like_an_unknown_no(client, issued):
    _, rows, _, year = issued
    wrong = client.get("/api/verify", params={"no": f"3501-{year}-000001", "name": "某某"})
    unknown = client.get("/api/verify", params={"no": f"3501-{year}-009999", "name": rows[0]["name"]})
    assert ((wrong.status_code, wrong.content) == (unknown.status_code, unknown.content)
            == (200, '{"status":"unknown","status_text":"查无此凭证"}'.encode()))
    page_wrong = client.post("/", data={"no": f"3501-{year}-000001", "name": "某某"})
    page_unknown = client.post("/", data={"no": f"3501-{year}-000001x", "name": "某某"})
    assert page_wrong.status_code == page_unknown.status_code == 200
    assert page_wrong.text.replace(f"3501-{year}-000001", "N") == page_unknown.text.replace(
        f"3501-{year}-000001x", "N")


def test_the_qr_link_opens_the_record_with_its_code_only(client, issued):
    _, rows, vouchers, year = issued
    number = f"3501-{year}-000002"
    good = client.get(f"/v/{number}", params={"c": vouchers[number].verify_code})
    assert good.status_code == 200 and rows[1]["name"] in good.text and "真实有效" in good.text
    bad = client.get(f"/v/{number}", params={"c": "0" * 12})
    assert bad.status_code == 200 and rows[1]["name"] not in bad.text and "查无此凭证" in bad.text
    api = client.get("/api/verify", params={"no": number, "code": vouchers[number].verify_code}).json()
    assert api["status"] == "genuine"


def test_revoked_and_english(client, issued):
    _, rows, _, year = issued
    page = client.post("/?lang=en", data={"no": f"3501-{year}-000003", "name": rows[2]["name"]})
    assert "Revoked" in page.text and rows[2]["name"] in page.text and 'lang="en"' in page.text


def test_too_many_queries_get_429_with_a_chinese_message_and_retry_after(client, issued):
    _, rows, _, year = issued
    for _ in range(5):
        assert client.get("/api/verify", params={"no": "x", "name": "y"}).status_code == 200
    limited = client.get("/api/verify", params={"no": "x", "name": "y"})
    assert limited.status_code == 429 and "查询太频繁" in limited.json()["message"]
    assert int(limited.headers["retry-after"]) > 0
    assert client.post("/", data={"no": "x", "name": "y"}).status_code == 429
    client.time.now += 61
    assert client.get("/api/verify", params={"no": "x", "name": "y"}).status_code == 200


def test_security_headers_and_everything_served_from_the_package(client):
    page = client.get("/")
    headers = page.headers
    assert "default-src 'none'" in headers["content-security-policy"] and headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok", "ledgers": 1}


def test_the_log_records_no_names_ids_or_codes(client, issued, caplog):
    import logging

    _, rows, vouchers, year = issued
    number = f"3501-{year}-000001"
    with caplog.at_level(logging.INFO, logger="fjvoucher.serve"):
        client.get("/api/verify", params={"no": number, "name": rows[0]["name"]})
        client.get(f"/v/{number}", params={"c": vouchers[number].verify_code})
        client.post("/", data={"no": number, "name": rows[0]["name"]})
    text = caplog.text
    assert "GET /api/verify 200" in text and "GET /v/… 200" in text
    assert rows[0]["name"] not in text and rows[0]["id_number"] not in text and vouchers[number].verify_code not in text


def test_one_server_answers_for_several_centres(tmp_path, issued):
    from starlette.testclient import TestClient

    ledger, rows, _, year = issued
    other_rows = make_candidates(1, seed=92, city="厦门市")
    for row in other_rows:
        row["issue_date"] = dt.date.today() - dt.timedelta(days=3)
    other = tmp_path / "xiamen.db"
    merge_roster(write_roster_xlsx(tmp_path / "x.xlsx", other_rows), tmp_path / "xo",
                 MergeOptions(format="docx", ledger=other))
    ledgers = Ledgers([ledger, other])
    with TestClient(create_app(ledgers, per_minute=0)) as both:
        fuzhou = both.get("/api/verify", params={"no": f"3501-{year}-000001", "name": rows[0]["name"]}).json()
        xiamen_no = f"3502-{other_rows[0]['issue_date'].year}-000001"
        xiamen = both.get("/api/verify", params={"no": xiamen_no, "name": other_rows[0]["name"]}).json()
    ledgers.close()
    assert fuzhou["status"] == xiamen["status"] == "genuine"


def test_the_ledger_is_read_only_while_a_merge_writes(tmp_path, issued):
    from starlette.testclient import TestClient

    ledger, rows, _, year = issued
    ledgers = Ledgers([ledger])
    with TestClient(create_app(ledgers, per_minute=0)) as reader:
        more = make_candidates(30, seed=93)
        merge_roster(write_roster_xlsx(tmp_path / "m.xlsx", more), tmp_path / "mo",
                     MergeOptions(format="docx", ledger=ledger, batch_size=5))
        answer = reader.get("/api/verify", params={"no": f"3501-{year}-000001", "name": rows[0]["name"]}).json()
        with pytest.raises(Exception, match="readonly|read-only"):
            ledgers.ledgers[0].storage.db.execute("DELETE FROM serials")
    ledgers.close()
    assert answer["status"] == "genuine"


def test_a_write_committed_between_two_reads_of_one_answer_is_not_taken_for_tampering(issued):
    ledger, rows, _, year = issued
    with Ledger(ledger, create=False, readonly=True) as reader:
        storage, read_tip = reader.storage, reader.storage.last_event
        wrote = []

        def tip_after_a_write(*args, **kwargs):  # a merge commits just after the head was read, before the tip
            if not wrote:
                with Ledger(ledger) as writer:
                    writer.revoke(f"3501-{year}-000002", "误发")
                wrote.append(True)
            return read_tip(*args, **kwargs)

        storage.last_event = tip_after_a_write
        answer = verify(reader, f"3501-{year}-000001", name=rows[0]["name"], count_all=False)
        assert wrote and answer.state == "genuine"  # the answer read one state: the write comes in the next
        assert verify(reader, f"3501-{year}-000002", name=rows[1]["name"]).state == "revoked"


def test_behind_a_reverse_proxy_under_a_path_prefix_links_keep_the_prefix(issued):
    from starlette.testclient import TestClient

    ledger, *_ = issued
    ledgers = Ledgers([ledger])
    with TestClient(create_app(ledgers, per_minute=0), root_path="/verify") as proxied:
        page = proxied.get("/")
    ledgers.close()
    assert 'href="/verify/static/style.css"' in page.text and 'action="/verify/?lang=zh"' in page.text


def test_serve_refuses_a_missing_ledger_in_one_line(tmp_path):
    from support import run

    result = run("serve", "--ledger", tmp_path / "none.db")
    assert result.exit_code == 2 and "找不到凭证台账" in result.output


def test_vouchers_issued_before_codes_existed_get_one_when_served(tmp_path):
    import shutil

    from fjvoucher.web.server import give_codes
    from support import DATA

    copy = tmp_path / "old.db"
    shutil.copy(DATA / "ledger-0.1.0.db", copy)
    assert "6 张旧凭证生成了查询码" in give_codes([copy])[0]
    with Ledger(copy) as ledger:
        assert all(v.verify_code for v in ledger.select())
        assert ledger.history("3501-2009-000001")[-1].kind == "coded"
    assert give_codes([copy]) == []  # once only


def _typed_forms(code: str) -> list[str]:
    """Return the ways a person types the code printed on a voucher (SQ7A-FFX4-GNB9)."""
    from fjvoucher.querycode import printed_code

    shown = printed_code(code)
    folded_back = shown.replace("0", "O").replace("1", "l")  # Crockford folds O→0, I/L→1
    return [shown, shown.lower(), shown.replace("-", " "), f" {shown} ", shown.replace("-", "－"),
            "查询码：" + shown, folded_back, code]


def test_every_printed_form_of_a_code_verifies_in_the_cli_the_api_and_the_qr_link(client, issued):
    from fjvoucher.querycode import normalise_code
    from support import run

    ledger, rows, vouchers, year = issued
    number = f"3501-{year}-000002"
    code = vouchers[number].verify_code
    for typed in _typed_forms(code):
        assert normalise_code(typed) == code
        assert run("verify", number, "--code", typed, "--ledger", ledger).exit_code == 0, typed
        assert client.get("/api/verify", params={"no": number, "code": typed}).json()["status"] == "genuine", typed
        page = client.get(f"/v/{number}", params={"c": typed})
        assert rows[1]["name"] in page.text and "真实有效" in page.text, typed
        client.time.now += 61  # past the rate limit of the fixture (5 a minute)
    wrong = code[:-1] + ("X" if code[-1] != "X" else "Y")
    assert run("verify", number, "--code", wrong, "--ledger", ledger).exit_code == 1


def test_the_form_has_a_code_field_and_answers_by_it(client, issued):
    from fjvoucher.querycode import printed_code

    _, rows, vouchers, year = issued
    number = f"3501-{year}-000001"
    assert 'name="code"' in client.get("/").text
    by_code = client.post("/", data={"no": number, "name": "", "code": printed_code(vouchers[number].verify_code)})
    assert "真实有效" in by_code.text and rows[0]["name"] in by_code.text
    both_wrong_name = client.post("/", data={"no": number, "name": "某某", "code": vouchers[number].verify_code})
    assert "查无此凭证" in both_wrong_name.text and rows[0]["name"] not in both_wrong_name.text
    assert "查询码" in client.post("/", data={"no": number, "name": "", "code": ""}).text


def test_list_codes_shows_them_as_the_voucher_prints_them(issued):
    from fjvoucher.querycode import printed_code
    from support import run

    ledger, _, vouchers, year = issued
    number = f"3501-{year}-000001"
    listed = run("list", "--codes", "--ledger", ledger)
    assert printed_code(vouchers[number].verify_code) in listed.output
    assert vouchers[number].verify_code not in listed.output


def test_the_page_prints_dates_as_the_voucher_does_and_names_the_centre_and_its_phone(issued):
    from starlette.testclient import TestClient

    from fjvoucher.roster.cells import chinese_date

    ledger, rows, vouchers, year = issued
    number = f"3501-{year}-000001"
    ledgers = Ledgers([ledger])
    with TestClient(create_app(ledgers, per_minute=0, center="福州市职业技能鉴定指导中心",
                               phone="0591-87654321")) as site:
        answer = site.post("/", data={"no": number, "name": rows[0]["name"]}).text
        home = site.get("/").text
        api = site.get("/api/verify", params={"no": number, "name": rows[0]["name"]}).json()
    ledgers.close()
    issued_on = vouchers[number].issued_on
    assert chinese_date(issued_on) in answer and issued_on.isoformat() not in answer  # 2026年12月4日, not 2026-12-04
    assert api["issued_on"] == issued_on.isoformat()  # programs keep ISO dates
    printed_center = vouchers[number].fields["center"] or "福州市职业技能鉴定指导中心"
    assert f"请联系发证的{printed_center}" in answer
    assert "福州市职业技能鉴定指导中心（电话 0591-87654321）" in home


def test_config_set_center_phone_is_the_phone_setting(tmp_path):
    from fjvoucher.config import setting
    from support import run

    assert run("config", "set", "center_phone", "0591-87654321").exit_code == 0  # the name the issue asked for
    assert setting("phone") == "0591-87654321"  # one setting: the desk's phone, also on serve's page
    assert "0591-87654321" in run("config").output


def test_serve_under_a_root_path_says_the_page_works_only_behind_the_proxy(issued):
    import socket
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    ledger, *_ = issued
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "fjvoucher", "serve", "--port", str(port), "--ledger", ledger,
                               "--root-path", "/verify"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = [server.stdout.readline() for _ in range(2)]
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError):  # the prefixed address, opened directly, is not found
            urllib.request.urlopen(f"http://127.0.0.1:{port}/verify/", timeout=5)
    finally:
        server.terminate()
        server.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/verify/" not in said[0]  # never offered as an address that works
    assert "反向代理" in said[1] and "只有经反向代理访问才完整" in said[1]
