"""The verification page as people use it: headless Chromium fills the form, follows a voucher's QR link
decoded from its rendered page, and meets the rate limit.  Screenshots are saved beside the test's files."""

import datetime as dt
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.pdf.libreoffice import find_soffice
from support.synthetic import make_candidates, write_roster_xlsx

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM.exists() and DRIVER.exists()),
                                 reason="needs Debian's chromium and chromium-driver (installed by scripts/setup.sh)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A ledger of vouchers with QR codes linking to a real `fjvoucher serve` on loopback."""
    folder = tmp_path_factory.mktemp("site")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rows = make_candidates(3, seed=95)
    issue = dt.date.today() - dt.timedelta(days=5)
    for row in rows:
        row["issue_date"] = issue
        row["certificate_no"] = f"{issue.year % 100:02d}" + row["certificate_no"][2:]
    ledger = folder / "ledger.db"
    fmt = "both" if find_soffice() else "docx"
    merge_roster(write_roster_xlsx(folder / "r.xlsx", rows), folder / "out",
                 MergeOptions(format=fmt, ledger=ledger, verify_url=url, per_candidate=False))
    server = subprocess.Popen([sys.executable, "-m", "fjvoucher", "serve", "--port", str(port), "--ledger",
                               str(ledger), "--rate-limit", "6"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield {"url": url, "rows": rows, "folder": folder, "year": issue.year}
    server.terminate()
    server.communicate(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1000,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    yield driver
    driver.quit()


def ask(browser, url: str, number: str, name: str):
    """Fill the form and submit it as a person does; return once the answer page has loaded."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as loaded
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url + "/")
    browser.find_element(By.ID, "no").send_keys(number)
    browser.find_element(By.ID, "name").send_keys(name)
    form_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "ask").click()
    # While the browser swaps pages, a lookup may hit the old document: wait through that.
    wait = WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,))
    wait.until(loaded.staleness_of(form_page))
    wait.until(lambda b: b.execute_script("return document.readyState") == "complete"
               and (b.find_elements(By.ID, "status") or b.find_elements(By.ID, "message")))
    return browser


def test_a_clerk_fills_the_form_and_reads_the_answer(site, browser, tmp_path):
    from selenium.webdriver.common.by import By

    row = site["rows"][0]
    ask(browser, site["url"], f"NO：3501-{site['year']}-000001", row["name"])
    browser.save_screenshot(str(tmp_path / "genuine.png"))
    assert browser.find_element(By.ID, "status").text == "真实有效"
    assert browser.find_element(By.ID, "occupation").text == row["occupation"]
    assert "********" in browser.find_element(By.ID, "id-number").text
    ask(browser, site["url"], f"3501-{site['year']}-000001", "某某")
    assert browser.find_element(By.ID, "status").text.startswith("查无此凭证")
    assert row["occupation"] not in browser.page_source


@pytest.mark.skipif(shutil.which("zbarimg") is None or find_soffice() is None,
                    reason="needs zbar-tools and LibreOffice")
def test_the_qr_code_on_a_printed_voucher_opens_its_record(site, browser, tmp_path):
    from selenium.webdriver.common.by import By

    pdf = site["folder"] / "out" / "batches" / "batch-001.pdf"
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-f", "2", "-l", "2", str(pdf), str(tmp_path / "page")],
                   check=True)
    page = next(tmp_path.glob("page*.png"))
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(page)], capture_output=True, text=True).stdout.strip()
    assert decoded.startswith(f"{site['url']}/v/3501-{site['year']}-000002?c=")
    browser.get(decoded)  # get() returns once the page has loaded
    browser.save_screenshot(str(tmp_path / "qr.png"))
    assert browser.find_element(By.ID, "status").text == "真实有效"
    assert browser.find_element(By.ID, "holder").text == site["rows"][1]["name"]


def test_too_many_queries_are_turned_away_in_chinese(site, browser, tmp_path):
    from selenium.webdriver.common.by import By

    for _ in range(8):
        ask(browser, site["url"], "3501-2009-999999", "某某")
    browser.save_screenshot(str(tmp_path / "limited.png"))
    assert "查询太频繁" in browser.find_element(By.ID, "message").text
