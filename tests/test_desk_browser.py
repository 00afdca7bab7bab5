"""A month at the clerk's desk in headless Chromium: first run, a roster with errors, the fixed roster, a merge
with photos, the batch PDF, revoke, restore, reissue, supersede, the monthly report, 真伪查询, 退出; then the
keyboard alone.  The files on disk are checked as the CLI's tests check them.  Screenshots of each screen are
saved beside the test's files, and into FJVOUCHER_SCREENSHOTS when set (docs/desk for the README)."""

import datetime as dt
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

import fjvoucher
from fjvoucher.desk.launch import launch
from fjvoucher.messages import status_text
from fjvoucher.pdf.libreoffice import find_soffice
from fjvoucher.web.app import WORDS as PUBLIC_WORDS
from support import SAMPLES, run

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM.exists() and DRIVER.exists()),
                                 reason="needs Debian's chromium and chromium-driver (installed by scripts/setup.sh)")]


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1100,860", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def desk(tmp_path):
    """The workbench as `fjvoucher desk` starts it, in a thread; folders opened are recorded, not shown."""
    urls, opened = [], []
    thread = threading.Thread(target=launch, kwargs={"browser": False, "announce": urls.append,
                                                      "opener": opened.append}, daemon=True)
    thread.start()
    while not urls:
        time.sleep(0.05)
    yield {"url": urls[0], "opened": opened, "thread": thread, "home": urls[0].split("/?")[0]}
    if thread.is_alive():  # a failed test left it running: stop it as 退出 does
        import urllib.request

        request = urllib.request.Request(urls[0].split("/?")[0] + "/quit", data=b"", method="POST",
                                         headers={"Origin": urls[0].split("/?")[0]})
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        opener.open(urls[0], timeout=10)
        opener.open(request, timeout=10)
        thread.join(timeout=30)


class Screens:
    """Shots of each screen: small PNGs beside the test's files, and into FJVOUCHER_SCREENSHOTS when set."""

    def __init__(self, browser, folder: Path):
        self.browser, self.folder = browser, folder
        self.docs = Path(os.environ["FJVOUCHER_SCREENSHOTS"]).resolve() if os.environ.get("FJVOUCHER_SCREENSHOTS") \
            else None

    def shoot(self, name: str) -> Path:
        from PIL import Image

        path = self.folder / f"{name}.png"
        self.browser.set_window_size(1100, 900)
        bottom = self.browser.execute_script("return document.querySelector('main').getBoundingClientRect().bottom")
        self.browser.set_window_size(1100, min(max(int(bottom) + 150, 420), 1400))  # the page, not empty space
        self.browser.save_screenshot(str(path))
        Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)  # small enough for a README
        if self.docs:
            self.docs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.docs / path.name)
        return path


def by_id(browser, element_id: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.ID, element_id)


def wait_for(browser, element_id: str, timeout: float = 60):
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, timeout, ignored_exceptions=(WebDriverException,))
    return wait.until(lambda b: b.find_element(By.ID, element_id))


def submit(browser, button_id: str, then: str):
    """Press a button as a person does and wait for the next page to show `then`."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as loaded
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    by_id(browser, button_id).click()
    WebDriverWait(browser, 120).until(loaded.staleness_of(page))
    return wait_for(browser, then)


def fill(browser, element_id: str, text: str) -> None:
    field = by_id(browser, element_id)
    field.clear()
    field.send_keys(text)


def assert_every_control_is_labelled(browser) -> None:
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.name)")
    assert unlabelled == []


def tab_order(browser, presses: int) -> list[str]:
    """Return what the Tab key reaches, in order, from the top of the page."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    reached = []
    for _ in range(presses):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        reached.append(browser.execute_script(
            "const e = document.activeElement; return e.id || e.getAttribute('href') || e.tagName"))
    return reached


def test_a_month_at_the_desk(desk, browser, tmp_path):
    shots = Screens(browser, tmp_path)
    out = tmp_path / "凭证输出"
    b = browser

    # 1. First run: the settings, the ledger's place.
    b.get(desk["url"])
    wait_for(b, "first-run")
    shots.shoot("1-settings")
    assert_every_control_is_labelled(b)
    fill(b, "center_name", "福州市职业技能鉴定指导中心")
    fill(b, "center_code", "3501")
    fill(b, "phone", "0591-87654321")
    fill(b, "photos", str(SAMPLES / "photos"))
    fill(b, "output", str(out))
    assert "已保存" in submit(b, "save", "message").text
    assert by_id(b, "ledger-path").text.endswith("ledger.db")

    # 2. A roster with errors: the table, errors first, as `fjvoucher validate` reports them.
    by_id(b, "nav-roster").click()
    by_id(b, "roster").send_keys(str(SAMPLES / "roster_with_errors.xlsx"))
    submit(b, "check", "findings")
    shots.shoot("2-roster-errors")
    assert_every_control_is_labelled(b)
    cli = json.JSONDecoder().raw_decode(run("validate", SAMPLES / "roster_with_errors.xlsx", "--format", "json",
                                            "--center", "福州市职业技能鉴定指导中心").output)[0]
    shown = b.execute_script("return [...document.querySelectorAll('#findings tbody tr')].map(r => r.className)")
    assert len(shown) == len(cli["problems"]) and shown[0] == "error" and shown == sorted(shown)
    assert by_id(b, "rejected").get_attribute("href").endswith("/rejected.xlsx")

    # 3. Fixed and uploaded again: no errors.
    by_id(b, "roster").send_keys(str(SAMPLES / "roster.xlsx"))
    submit(b, "check", "summary")
    assert "ok" in by_id(b, "summary").get_attribute("class")
    shots.shoot("3-roster-ok")

    # 4. Merge with photos: the progress moves at least once a second, the counts reconcile.
    assert by_id(b, "photos").get_attribute("value") == str(SAMPLES / "photos")
    fill(b, "folder", "2009-06")
    submit(b, "start-merge", "progress")
    seen, changes, shot, stalled = None, [], False, []
    deadline = time.monotonic() + 600
    while not b.find_elements("id", "result") and time.monotonic() < deadline:
        now = b.execute_script("const t = id => (document.getElementById(id) || {}).textContent; "
                               "const bar = document.getElementById('bar-pdf'); "
                               "return [t('count-docx'), t('count-pdf'), bar && !bar.hasAttribute('value')]")
        if now and now[:2] != seen:
            seen = now[:2]
            changes.append(time.monotonic())
        elif now and changes and time.monotonic() - changes[-1] > 1.5 and not now[2]:
            stalled.append(now)  # neither the counts nor the moving bar: the clerk would think it hung
        if not shot and now and now[1].startswith("…") and changes and time.monotonic() - changes[-1] > 1.2:
            shots.shoot("4-merge-progress")
            shot = True
        time.sleep(0.1)
    assert changes and stalled == []
    wait_for(b, "result")
    shots.shoot("5-merge-done")
    assert_every_control_is_labelled(b)
    rows, merged, rejected = (int(by_id(b, k).text) for k in ("rows", "merged", "rejected-count"))
    assert rows == merged + rejected == 50
    folder = out / "2009-06"
    assert len(list((folder / "vouchers").glob("*.pdf"))) == merged
    assert (folder / "发放登记表.xlsx").is_file()
    if find_soffice():
        pages = subprocess.run(["pdfinfo", str(folder / "batches" / "batch-001.pdf")], capture_output=True,
                               text=True).stdout
        assert f"Pages:           {merged}" in pages
    by_id(b, "open-folder").click()
    wait_for(b, "message")
    assert desk["opened"] == [folder.resolve()]
    b.back()

    # 5. The batch PDF opens from the page (the browser's PDF viewer is not in headless Chromium: fetched).
    b.get(desk["home"] + "/merge")
    link = wait_for(b, "batches").find_element("tag name", "a").get_attribute("href")
    got = b.execute_script("const r = await fetch(arguments[0]); const a = new Uint8Array(await r.arrayBuffer());"
                           "return [r.status, r.headers.get('content-type'), String.fromCharCode(...a.slice(0, 5))]",
                           link)
    assert got == [200, "application/pdf", "%PDF-"]

    with fjvoucher.open_ledger() as book:
        vouchers = book.select()
    first, second, third = vouchers[0], vouchers[1], vouchers[2]

    # 6. The ledger: find by name, revoke (confirmed), restore, reissue (confirmed), supersede.
    by_id(b, "nav-ledger").click()
    fill(b, "q", first.fields["name"])
    submit(b, "search", "vouchers")
    b.find_element("link text", first.voucher_no).click()
    wait_for(b, "printed")
    shots.shoot("6-voucher")
    assert_every_control_is_labelled(b)
    fill(b, "reason-revoke", "实为不合格")
    submit(b, "do-revoke", "confirm-question")
    shots.shoot("7-confirm-revoke")
    assert first.fields["name"] in by_id(b, "holder").text and "********" in by_id(b, "holder").text
    assert status_text("revoked") in submit(b, "confirm", "state").text
    fill(b, "reason-restore", "误操作")
    restored = submit(b, "do-restore", "state").text  # the sample's 2009 vouchers have expired
    assert restored.startswith(status_text(first.state(dt.date.today()))) and status_text("revoked") not in restored
    fill(b, "reason-reissue", "遗失")
    submit(b, "do-reissue", "confirm-question")
    submit(b, "confirm", "new-files")
    shots.shoot("8-reissued")
    new_no = by_id(b, "voucher-no").text
    assert new_no != first.voucher_no and by_id(b, "replaces").text == first.voucher_no
    reissued = list((out / "补发" / "vouchers").glob("*.pdf")) or list((out / "补发" / "vouchers").glob("*.docx"))
    assert len(reissued) == 1
    if reissued[0].suffix == ".pdf":
        text = subprocess.run(["pdftotext", str(reissued[0]), "-"], capture_output=True, text=True).stdout
        assert "补发" in text and first.voucher_no in text
    b.get(f"{desk['home']}/voucher/{second.voucher_no}")
    submit(b, "do-supersede", "confirm-question")
    assert status_text("superseded") in submit(b, "confirm", "state").text

    # 7. The monthly report of this month (the month the events happened in).
    by_id(b, "nav-report").click()
    month = dt.date.today().strftime("%Y-%m")
    b.execute_script("arguments[0].value = arguments[1]", by_id(b, "month"), month)
    submit(b, "write-report", "report-done")
    shots.shoot("9-report")
    assert by_id(b, "issued").text == str(merged + 1)  # the merge and the reissue
    assert by_id(b, "changes").text == "5"  # reissued, replaced, revoked, restored, superseded
    assert (out / "月报" / f"{month}.xlsx").is_file()

    # 8. 真伪查询 at the desk answers as the public page does.
    by_id(b, "nav-verify").click()
    fill(b, "no", f"NO：{third.voucher_no}")
    fill(b, "value", third.fields["name"])
    submit(b, "ask", "status")
    shots.shoot("10-verify")
    assert_every_control_is_labelled(b)
    assert by_id(b, "status").text == status_text(third.state(dt.date.today()))
    fill(b, "no", third.voucher_no)
    fill(b, "value", "某某")
    assert submit(b, "ask", "status").text == status_text("unknown") + PUBLIC_WORDS["zh"]["unknown_why"]

    # 9. English, then 退出 stops the program.
    by_id(b, "switch").click()
    wait_for(b, "ask")
    assert by_id(b, "nav-ledger").text == "Ledger"
    shots.shoot("11-verify-en")
    by_id(b, "switch").click()
    wait_for(b, "ask")
    submit(b, "quit", "message")
    desk["thread"].join(timeout=30)
    assert not desk["thread"].is_alive()


def test_the_keyboard_alone_reaches_every_control_in_order(desk, browser, tmp_path):
    b = browser
    b.get(desk["url"])
    wait_for(b, "first-run")
    order = tab_order(b, 16)
    assert order == ["#main", "nav-settings", "nav-roster", "nav-merge", "nav-ledger", "nav-report", "nav-verify",
                     "switch", "quit", "center_name", "center_code", "phone", "photos", "verify_url", "output",
                     "save"]
    fill(b, "center_name", "福州市职业技能鉴定指导中心")
    fill(b, "output", str(tmp_path / "out"))
    try:
        submit(b, "save", "message")
    except Exception:
        print(b.page_source)
        raise
    b.get(desk["home"] + "/roster")
    wait_for(b, "roster")
    assert tab_order(b, 12)[9:] == ["roster", "check", "blank"]
    b.get(desk["home"] + "/verify")
    wait_for(b, "no")
    assert tab_order(b, 13)[9:] == ["no", "by", "value", "ask"]
    by_id(b, "no").send_keys("3501-2009-000001")
    from selenium.webdriver.common.keys import Keys

    by_id(b, "value").send_keys("某某", Keys.ENTER)  # Enter submits, as in any form; no ledger yet: one line
    assert "找不到凭证台账" in wait_for(b, "message").text
