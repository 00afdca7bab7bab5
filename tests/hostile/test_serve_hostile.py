"""Issue 19, classes 15-18: the verification server as an attacker and a careless operator meet it.

Most cases run the real `fjvoucher serve` (uvicorn, a real socket): forwarding headers, the
server's own 400 answers and its log lines are the HTTP server's business, not the app's.
"""

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from fjvoucher.ledger.store import Ledger
from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.web.limits import RateLimiter
from hostile import corpus
from support import TODAY
from support.synthetic import make_candidates, write_roster_xlsx


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    merge_roster(write_roster_xlsx(folder / "r.xlsx", make_candidates(3, seed=97)), folder / "out",
                 MergeOptions(format="docx", ledger=folder / "l.db", today=TODAY))
    return folder / "l.db"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`fjvoucher serve` in a process of its own, on a free port; its log is read after it stops."""

    def __init__(self, ledger, *options):
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "fjvoucher", "serve", "--ledger", str(ledger),
                                         "--port", str(self.port), *map(str, options)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("serve did not start")

    def get(self, path: str, headers: dict | None = None) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    def raw(self, data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            connection.sendall(data)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def stop(self) -> str:
        self.process.terminate()
        _, err = self.process.communicate(timeout=20)
        return err.decode("utf-8", "replace")


# --- 15: forwarding headers and the limiter's memory -----------------------------------------------

def test_x_forwarded_for_from_loopback_does_not_make_a_new_client(ledger):
    server = Server(ledger, "--rate-limit", "2")
    try:
        answers = [server.get("/api/verify?no=X&name=Y", corpus.forwarded_for(n)) for n in range(4)]
    finally:
        server.stop()
    assert answers == [200, 200, 429, 429]


def test_a_proxy_the_operator_names_is_believed(ledger):
    server = Server(ledger, "--rate-limit", "2", "--forwarded-allow-ips", "127.0.0.1")
    try:
        answers = [server.get("/api/verify?no=X&name=Y", corpus.forwarded_for(n)) for n in range(4)]
    finally:
        server.stop()
    assert answers == [200, 200, 200, 200]


def test_the_limiter_holds_a_bounded_number_of_clients_and_an_ipv6_host_is_its_64():
    limiter = RateLimiter(2, clock=lambda: 1000.0)
    for n in range(limiter.max_clients * 3):  # 5,000 clients in 5 s kept 5,200 entries; at most max_clients now
        limiter.check(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
    assert len(limiter.seen) == limiter.max_clients <= 10_000
    answers = [limiter.check(f"2001:db8:1:2::{n:x}") for n in range(5)]
    assert answers[:2] == [0, 0] and all(answers[2:]) and "2001:db8:1:2::/64" in limiter.seen


# --- 16: an existing NO with a wrong name does the same work as an unknown NO ----------------------

def test_a_wrong_name_and_an_unknown_no_cost_the_same_lookups(ledger):
    from fjvoucher.ledger.verify import verify

    with Ledger(ledger, create=False, readonly=True) as book:
        existing = book.select()[0].voucher_no
        lookups = []
        real_proved = book.proved  # each lookup reads the voucher with its proof

        def recording_proved(number):
            found = real_proved(number)
            lookups.append(found is not None)
            return found

        book.proved = recording_proved
        work = []
        for number in (existing, "3501-1999-999999"):
            lookups.clear()
            assert verify(book, number, name="不是本人").state == "unknown"
            work.append(sorted(lookups))
    assert work[0] == work[1] == [False, True]


# --- 17: logs ---------------------------------------------------------------------------------------

def test_the_log_cannot_be_forged_names_routes_not_numbers_and_has_every_answer(ledger):
    with Ledger(ledger, create=False, readonly=True) as book:
        number = book.select()[0].voucher_no
    server = Server(ledger, "--root-path", "/verify")
    try:
        # what the reverse proxy forwards once it has taken /verify off (uvicorn puts it back in the scope)
        server.get(corpus.FORGED_LOG_PATH)
        server.get(f"/v/{number}?c=ABCD")
        server.get("/nothing-here")
    finally:
        log = server.stop()
    lines = [line for line in log.splitlines() if " ms" in line]
    assert len(lines) == 3, log
    assert number not in log and "healthz" not in log and "nothing-here" not in log
    assert [line.split()[2:5] for line in lines] == [["GET", "/v/…", "404"], ["GET", "/v/…", "200"],
                                                     ["GET", "(other)", "404"]]


def test_an_answer_that_fails_is_logged_as_500(ledger, caplog):
    from starlette.testclient import TestClient

    from fjvoucher.web.app import Ledgers, create_app

    ledgers = Ledgers([ledger])
    ledgers.close()  # every query now fails inside the app
    with TestClient(create_app(ledgers, per_minute=0), raise_server_exceptions=False) as client:
        with caplog.at_level("INFO", logger="fjvoucher.serve"):
            assert client.get("/api/verify?no=X&name=Y").status_code == 500
    assert [r.getMessage().split()[:3] for r in caplog.records] == [["GET", "/api/verify", "500"]]


# --- 18: the server's own answers and its start-up ---------------------------------------------------

@pytest.mark.parametrize("request_bytes", corpus.MALFORMED_REQUESTS)
def test_the_servers_own_400_answers_carry_the_security_headers(ledger, request_bytes):
    server = Server(ledger)
    try:
        answer = server.raw(request_bytes).lower()
    finally:
        server.stop()
    assert answer.startswith(b"http/1.1 400")
    assert b"x-frame-options: deny" in answer and b"content-security-policy:" in answer and b"nosniff" in answer


def test_a_taken_port_is_one_line_exit_2_and_serving_is_never_said(ledger):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "fjvoucher", "serve", "--ledger", str(ledger),
                                 "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "serving" not in result.stdout
    assert "已被其他程序占用" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_file_that_is_not_a_ledger_fails_before_serving(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a ledger\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "fjvoucher", "serve", "--ledger", str(notes),
                             "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert result.returncode in (1, 2) and "serving" not in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize("given, prefix", [("verify", "/verify"), ("/verify/", "/verify"), ("/a/b", "/a/b"),
                                           ("", ""), ("/", "")])
def test_a_root_path_is_made_a_prefix(given, prefix):
    from fjvoucher.web.server import root_path_of

    assert root_path_of(given) == prefix


@pytest.mark.parametrize("root_path", corpus.HOSTILE_ROOT_PATHS)
def test_a_root_path_the_links_cannot_hold_is_refused_before_serving(ledger, root_path):
    result = subprocess.run([sys.executable, "-m", "fjvoucher", "serve", "--ledger", str(ledger), "--root-path",
                             root_path, "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "serving" not in result.stdout and "--root-path" in result.stderr


def test_a_root_path_without_its_slash_keeps_the_links(ledger):
    server = Server(ledger, "--root-path", "verify")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=10) as answer:
            page = answer.read().decode("utf-8")
    finally:
        server.stop()
    assert 'href="/verify/static/style.css"' in page


@pytest.mark.skipif(sys.platform != "linux" or subprocess.run(["which", "chattr"], capture_output=True).returncode,
                    reason="needs chattr to make a folder read-only even for root")
def test_a_ledger_on_read_only_media_is_served(ledger, tmp_path):
    import shutil

    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(ledger, media / "l.db")
    if subprocess.run(["chattr", "+i", str(media / "l.db"), str(media)], capture_output=True).returncode:
        pytest.skip("chattr +i is not permitted here")
    try:
        server = Server(media / "l.db")
        try:
            assert server.get("/healthz") == 200 and server.get("/api/verify?no=X&name=Y") == 200
        finally:
            log = server.stop()
    finally:
        subprocess.run(["chattr", "-i", str(media / "l.db"), str(media)], check=True)
    assert "Traceback" not in log
