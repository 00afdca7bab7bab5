"""The ledger's answers can be trusted: one ledger wherever a command runs, events never edited,
records exactly for produced vouchers, refusals, lost vouchers, stable monthly reports, registers."""

import datetime as dt
import json
import os
import shutil
import sqlite3

import docx
import pytest
from openpyxl import load_workbook

from fjvoucher.errors import LedgerError
from fjvoucher.ledger.monthly import CLOSING
from fjvoucher.ledger.store import Ledger
from fjvoucher.merging import MergeOptions, merge_roster
from support import DATA, Clock, run
from support.synthetic import make_candidates, write_roster_xlsx


@pytest.fixture
def roster(tmp_path):
    """Five candidates issued 2009-06-10 (vouchers valid until 2010-06-09)."""
    rows = make_candidates(5, seed=31)
    return write_roster_xlsx(tmp_path / "六月名册.xlsx", rows), rows


@pytest.fixture
def clock():
    return Clock(dt.datetime(2009, 6, 12, 9, 30))


def merged(tmp_path, path, clock, name="out", **options):
    options = {"format": "docx", "ledger": tmp_path / "ledger.db", "today": clock().date(), "clock": clock,
               **options}
    return merge_roster(path, tmp_path / name, MergeOptions(**options))


# --- where the ledger is -------------------------------------------------------------------------

def test_every_command_finds_the_same_ledger_from_any_folder(tmp_path, roster, monkeypatch, private_user_folders):
    path, rows = roster
    monkeypatch.chdir(tmp_path)
    merged_run = run("merge", path, "-o", "out", "-q", "--format", "docx")
    assert merged_run.exit_code == 0, merged_run.output
    ledger = private_user_folders / "data" / "fjvoucher" / "ledger.db"
    assert merged_run.output.splitlines()[-1] == f"台账 ledger: {ledger}"
    elsewhere = tmp_path / "another folder"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    answer = run("verify", "3501-2009-000001", "--name", rows[0]["name"])
    assert "3501-2009-000001" in answer.output and "查无此凭证" not in answer.output
    assert answer.output.splitlines()[-1] == f"台账 ledger: {ledger}"
    assert not list(elsewhere.iterdir())  # nothing created here


@pytest.mark.parametrize("command", [("verify", "3501-2009-000001", "--name", "张三"), ("list",),
                                     ("report", "--month", "2009-06"), ("history", "3501-2009-000001"),
                                     ("revoke", "3501-2009-000001", "--reason", "误发", "--yes")])
def test_commands_that_read_never_create_a_ledger(tmp_path, command):
    missing = tmp_path / "nowhere.db"
    result = run(*command, "--ledger", missing)
    assert result.exit_code == 2 and "找不到凭证台账" in result.output
    assert not missing.exists()


def test_a_0_1_0_ledger_in_the_working_folder_is_used_with_a_note(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "ledger-0.1.0.db", tmp_path / "fjvoucher.db")
    result = run("list")
    assert "共 6 张" in result.output and "0.1.0 版的台账" in result.output
    assert "fjvoucher config set ledger" in result.output


def test_config_holds_the_centre_and_the_ledger_and_says_where_each_comes_from(tmp_path, roster, monkeypatch):
    path, rows = roster
    rows[0]["center"] = ""
    path = write_roster_xlsx(tmp_path / "nocenter.xlsx", rows)
    assert run("config", "set", "center_name", "福州市职业技能鉴定指导中心").exit_code == 0
    assert run("config", "set", "ledger", tmp_path / "centre.db").exit_code == 0
    shown = run("config").output
    assert "center_name = 福州市职业技能鉴定指导中心" in shown and f"ledger = {tmp_path / 'centre.db'}" in shown
    assert run("merge", path, "-o", tmp_path / "o", "-q", "--format", "docx").exit_code == 0
    assert (tmp_path / "centre.db").exists()
    monkeypatch.setenv("FJVOUCHER_LEDGER", str(tmp_path / "env.db"))
    assert "环境变量" in run("config").output
    assert run("config", "set", "colour", "red").exit_code == 2


# --- history -------------------------------------------------------------------------------------

def test_every_change_is_an_event_that_cannot_be_edited(tmp_path, roster, clock):
    path, rows = roster
    merged(tmp_path, path, clock)
    with Ledger(tmp_path / "ledger.db", clock=clock) as ledger:
        clock.set(2009, 7, 1, 10)
        ledger.revoke("3501-2009-000002", "实为不合格")
        clock.set(2009, 7, 2, 11)
        ledger.restore("3501-2009-000002", "误操作")
        ledger.supersede([rows[2]["certificate_no"]])
        kinds = [e.kind for e in ledger.history("3501-2009-000002")]
        assert kinds == ["issued", "revoked", "restored"]
        event = ledger.history("3501-2009-000002")[1]
        assert (event.at, event.reason) == (dt.datetime(2009, 7, 1, 10), "实为不合格") and event.actor
        assert ledger.get("3501-2009-000003").status == "superseded"
        for statement in ("UPDATE events SET reason = 'x'", "DELETE FROM events"):
            with pytest.raises(sqlite3.DatabaseError, match="never"):
                ledger.storage.db.execute(statement)
    shown = run("history", "3501-2009-000002", "--ledger", tmp_path / "ledger.db").output
    assert "作废 (revoked)" in shown and "原因 实为不合格" in shown and "恢复 (restored)" in shown


# --- records exist exactly for produced vouchers -------------------------------------------------

def test_a_master_failing_while_rendering_records_nothing_for_its_batch(tmp_path, clock):
    master = tmp_path / "m.docx"
    document = docx.Document()
    document.add_paragraph("{{ name|replace('失败') if name == '失败' else name }}")  # fails for that name only
    document.save(master)
    rows = make_candidates(4, seed=32)
    rows[3]["name"] = "失败"
    path = write_roster_xlsx(tmp_path / "r.xlsx", rows)
    with pytest.raises(Exception, match="无法套用"):
        merged(tmp_path, path, clock, template=master, batch_size=2)
    with Ledger(tmp_path / "ledger.db") as ledger:
        assert [v.voucher_no for v in ledger.select()] == ["3501-2009-000001", "3501-2009-000002"]
    assert sorted(p.name for p in (tmp_path / "out" / "batches").iterdir()) == ["batch-001.docx"]
    assert len(list((tmp_path / "out" / "vouchers").iterdir())) == 2


def test_a_roster_that_fails_creates_no_ledger_and_writes_nothing(tmp_path, roster, clock):
    _, rows = roster
    rows[0]["id_number"] = rows[0]["id_number"][:-1] + ("1" if rows[0]["id_number"][-1] != "1" else "2")
    path = write_roster_xlsx(tmp_path / "bad.xlsx", rows)
    result = merged(tmp_path, path, clock)
    assert not result.written
    assert not (tmp_path / "ledger.db").exists() and not (tmp_path / "out").exists()


# --- refusals ------------------------------------------------------------------------------------

def test_a_revoked_certificate_is_refused_unless_reissued_explicitly(tmp_path, roster, clock):
    path, rows = roster
    merged(tmp_path, path, clock)
    with Ledger(tmp_path / "ledger.db", clock=clock) as ledger:
        ledger.revoke("3501-2009-000002", "实为不合格")
    again = merged(tmp_path, path, clock, name="again")
    assert not again.written
    finding = next(f for f in again.checked.report.findings if f.code == "ledger-retired")
    assert "3501-2009-000002" in finding.message() and "已作废" in finding.message()
    assert "实为不合格" in finding.message()
    reissued = merged(tmp_path, path, clock, name="again", reissue=True)
    assert reissued.written
    with Ledger(tmp_path / "ledger.db") as ledger:
        new = ledger.for_certificate(rows[1]["certificate_no"])[-1]
        assert (new.voucher_no, new.replaces, new.status) == ("3501-2009-000006", "3501-2009-000002", "issued")
        assert ledger.get("3501-2009-000002").status == "revoked"


def test_new_nos_skip_the_nos_the_roster_itself_gives_later(tmp_path, clock):
    rows = make_candidates(3, seed=33)
    rows[2]["voucher_no"] = "3501-2009-000001"
    merged(tmp_path, write_roster_xlsx(tmp_path / "r.xlsx", rows), clock)
    with Ledger(tmp_path / "ledger.db") as ledger:
        by_cert = {v.fields["certificate_no"]: v.voucher_no for v in ledger.select()}
    assert [by_cert[r["certificate_no"]] for r in rows] == ["3501-2009-000002", "3501-2009-000003",
                                                           "3501-2009-000001"]


@pytest.mark.parametrize("pattern", ["{center_code}-{year}", "{center_code}-{serial}-{name}", "{serial:0200d}",
                                     "{serial"])
def test_a_no_pattern_that_cannot_work_is_refused_up_front(tmp_path, roster, pattern):
    path, _ = roster
    result = run("merge", path, "-o", tmp_path / "o", "--format", "docx", "--no-pattern", pattern,
                 "--ledger", tmp_path / "l.db")
    assert result.exit_code == 2 and "--no-pattern" in result.output
    assert not (tmp_path / "l.db").exists()


# --- lost vouchers and mistakes ------------------------------------------------------------------

def test_a_lost_voucher_is_reissued_under_a_new_no(tmp_path, roster, clock):
    path, rows = roster
    merged(tmp_path, path, clock)
    ledger = ("--ledger", tmp_path / "ledger.db")
    result = run("reissue", "3501-2009-000003", "--reason", "遗失", "-o", tmp_path / "补发", "--format", "docx",
                 "--yes", *ledger)
    assert result.exit_code == 0, result.output
    assert "3501-2009-000003 → 3501-2009-000006" in result.output
    page = docx.Document(tmp_path / "补发" / "vouchers" / f"3501-2009-000006_{rows[2]['name']}.docx")  # the new NO
    texts = [p.text for p in page.paragraphs]
    assert "NO：3501-2009-000006" in texts and "补发（原凭证 3501-2009-000003 作废）" in texts
    old = run("verify", "3501-2009-000003", "--name", rows[2]["name"], "--format", "json", *ledger)
    assert json.loads(old.stdout)["status"] == "replaced"
    assert json.loads(old.stdout)["replaced_by"] == "3501-2009-000006"


def test_a_reissue_prints_the_photo_the_voucher_had_and_writes_its_own_register_row(tmp_path, clock):
    from openpyxl import load_workbook as load

    from support.synthetic import make_photo

    rows = make_candidates(2, seed=36)
    photos = tmp_path / "照片"
    photos.mkdir()
    for i, row in enumerate(rows):
        make_photo(photos / f"{row['id_number']}.jpg", seed=i)
    merged(tmp_path, write_roster_xlsx(tmp_path / "r.xlsx", rows), clock, photos=photos)
    ledger = ("--ledger", tmp_path / "ledger.db")
    # As the README does it: no --photos, none configured; the ledger remembers the photo of each voucher.
    result = run("reissue", "3501-2009-000001", "--reason", "遗失", "-o", tmp_path / "补发", "--format", "docx",
                 "--yes", *ledger)
    assert result.exit_code == 0, result.output
    out = tmp_path / "补发"
    single = docx.Document(out / "vouchers" / f"3501-2009-000003_{rows[0]['name']}.docx")
    assert len(single.inline_shapes) == 1  # the photo, not an empty box
    assert sorted(p.name for p in (out / "batches").iterdir()) == ["补发-3501-2009-000003.docx"]
    register = load(out / "发放登记表-补发-3501-2009-000003.xlsx").active
    signed_row = [c.value for c in register[3]]
    assert signed_row[:5] == [1, "3501-2009-000003", rows[0]["name"], None, None]  # a row to sign for the new NO
    assert "原凭证 3501-2009-000001" in register["A1"].value
    # The photo gone and none in a folder: refused in one line, unless an empty box is asked for.
    (photos / f"{rows[1]['id_number']}.jpg").unlink()
    refused = run("reissue", "3501-2009-000002", "--reason", "遗失", "-o", out, "--format", "docx", "--yes", *ledger)
    assert refused.exit_code == 2 and "--no-photo" in refused.output and "照片" in refused.output
    with Ledger(tmp_path / "ledger.db") as book:
        assert book.get("3501-2009-000002").status == "issued"  # nothing recorded
    empty = run("reissue", "3501-2009-000002", "--reason", "遗失", "-o", out, "--format", "docx", "--yes",
                "--no-photo", *ledger)
    assert empty.exit_code == 0 and "照片框为空" in empty.output


def test_revoke_names_the_holder_and_asks(tmp_path, roster, clock, monkeypatch):
    from fjvoucher import cli

    path, rows = roster
    merged(tmp_path, path, clock)
    ledger = ("--ledger", tmp_path / "ledger.db")
    refused = run("revoke", "3501-2009-000001", "--reason", "误发", *ledger)  # no terminal, no --yes
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert rows[0]["name"] in refused.output and rows[0]["occupation"] in refused.output
    assert rows[0]["id_number"] not in refused.output and "********" in refused.output
    assert run("revoke", "3501-2009-000001", "--reason", "  ", "--yes", *ledger).exit_code == 2  # empty reason
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    assert run("revoke", "3501-2009-000001", "--reason", "误发", *ledger, input="n\n").exit_code == 1
    assert run("revoke", "3501-2009-000001", "--reason", "误发", *ledger, input="y\n").exit_code == 0
    assert "已作废" in run("verify", "3501-2009-000001", "--name", rows[0]["name"], *ledger).output
    assert run("restore", "3501-2009-000001", "--reason", "误操作", *ledger).exit_code == 0


# --- verify --------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["NO：3501-2009-000001", "NO:3501-2009-000001", " ３５０１－２００９－０００００１ ",
                                   "no. 3501-2009-000001"])
def test_verify_takes_the_no_as_printed_and_shows_what_the_paper_shows(tmp_path, roster, clock, typed):
    path, rows = roster
    merged(tmp_path, path, clock)
    result = run("verify", typed, "--name", rows[0]["name"], "--format", "json", "--ledger", tmp_path / "ledger.db")
    answer = json.loads(result.stdout)
    assert (answer["status"], answer["voucher_no"], answer["name"]) == ("expired", "3501-2009-000001", rows[0]["name"])
    assert (answer["occupation"], answer["level"]) == (rows[0]["occupation"], rows[0]["level"])
    assert (answer["issued_on"], answer["expires_on"]) == ("2009-06-10", "2010-06-09")
    assert answer["id_number"] != rows[0]["id_number"] and answer["id_number"].endswith(rows[0]["id_number"][-4:])
    text = run("verify", typed, "--name", rows[0]["name"], "--ledger", tmp_path / "ledger.db").output
    assert rows[0]["occupation"] in text and rows[0]["level"] in text and "2010年6月9日" in text


# --- the monthly report --------------------------------------------------------------------------

def _sheet(path, name):
    return list(load_workbook(path)[name].iter_rows(values_only=True))


def test_a_past_months_report_reads_the_same_after_later_changes(tmp_path, roster, clock):
    path, rows = roster
    merged(tmp_path, path, clock)  # June 12
    june = tmp_path / "june.xlsx"
    ledger = ("--ledger", tmp_path / "ledger.db")
    assert run("report", "--month", "2009-06", "-o", june, *ledger).exit_code == 0
    before = {name: _sheet(june, name) for name in ("本月发放", "本月变更", "汇总", "明细数据")}
    assert len(before["明细数据"]) == 2 + 5 and len(before["本月变更"]) == 2 + len(CLOSING) + 1
    with Ledger(tmp_path / "ledger.db", clock=clock) as book:
        clock.set(2009, 8, 3, 15)
        book.revoke("3501-2009-000004", "实为不合格")
        book.supersede([rows[4]["certificate_no"]])
    clock.set(2009, 8, 5, 9)
    changed = write_roster_xlsx(tmp_path / "r2.xlsx", [{**rows[0], "name": rows[0]["name"] + "华"}])
    merged(tmp_path, changed, clock, name="aug", reissue=True)
    june_again = tmp_path / "june-again.xlsx"
    run("report", "--month", "2009-06", "-o", june_again, *ledger)
    assert {name: _sheet(june_again, name) for name in before} == before
    august = tmp_path / "august.xlsx"
    assert "发放 1 张，变更 4 项" in run("report", "--month", "2009-08", "-o", august, *ledger).output
    issued = _sheet(august, "明细数据")
    assert [r[0] for r in issued[2:]] == ["3501-2009-000006"] and issued[2][-2] == "3501-2009-000001"
    kinds = [r[1] for r in _sheet(august, "本月变更")[2:-len(CLOSING) - 1]]
    assert kinds == ["作废", "换发国家证书", "被补发替换", "补发"]


def test_the_report_is_typed_and_printable(tmp_path, roster, clock):
    path, rows = roster
    merged(tmp_path, path, clock)
    out = tmp_path / "2009-06.xlsx"
    run("report", "--month", "2009-06", "-o", out, "--ledger", tmp_path / "ledger.db")
    book = load_workbook(out)
    sheet = book["明细数据"]
    header = [c.value for c in sheet[2]]
    row = dict(zip(header, [c.value for c in sheet[3]], strict=True))
    assert row["中心代码"] == "3501" and isinstance(row["理论知识考核成绩"], (int, float))
    assert row["发证日期"] == dt.datetime(2009, 6, 10) and row["有效期至"] == dt.datetime(2010, 6, 9)
    assert "2009年6月" in sheet["A1"].value
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$2" and "&P" in sheet.oddFooter.center.text


def test_the_printed_report_is_sized_for_a4_landscape_at_a_readable_size(tmp_path, roster, clock):
    from fjvoucher.ledger.monthly import FONT_PT, PRINT_COLUMNS
    from fjvoucher.sheets.workbook import Table, header_height

    path, _ = roster
    merged(tmp_path, path, clock)
    out = tmp_path / "2009-06.xlsx"
    run("report", "--month", "2009-06", "-o", out, "--ledger", tmp_path / "ledger.db")
    book = load_workbook(out)
    sheet = book["本月发放"]
    assert [c.value for c in sheet[2]] == [c[0] for c in PRINT_COLUMNS]
    printed = Table("", [c[0] for c in PRINT_COLUMNS], [], widths={i: c[1] for i, c in enumerate(PRINT_COLUMNS)},
                    font_size=FONT_PT)
    # 理论知识考核成绩 wraps to three lines in its narrow column: the row is raised to hold them.
    assert sheet.row_dimensions[2].height == header_height(printed) >= 3 * FONT_PT
    body = [c for row in sheet.iter_rows(min_row=3, max_row=7) for c in row]
    assert {c.font.sz for c in body} == {FONT_PT} and all(c.font.sz >= 9 for c in sheet[2])
    # Widths in digits of 宋体 10 pt: at most what A4 landscape holds within its margins at 100 %.
    assert book._fonts[0].name == "宋体" and book._fonts[0].sz == FONT_PT
    assert sum(c[1] for c in PRINT_COLUMNS) <= 150
    lines = [row[0] for row in sheet.iter_rows(values_only=True)
             if row[0] and str(row[0]).startswith(("制表人", "（单位盖章"))]
    assert len(lines) == 2 and "审核人" in lines[0] and "盖章" in lines[1]
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$1:$2"


def test_the_summary_orders_levels_five_to_one_occupations_by_pinyin_and_counts_a_reissue_once(tmp_path, clock):
    from fjvoucher.merging import reissue_voucher

    rows = make_candidates(7, seed=33)
    plan = [("中式烹调师", "五级/初级"), ("车工", "二级/技师"), ("车工", "五级/初级"), ("养老护理员", "四级/中级"),
            ("电工", "三级/高级"), ("车工", "初级"), ("钳工", "一级/高级技师")]
    for row, (occupation, level) in zip(rows, plan, strict=True):
        digit = {"五": 5, "初": 5, "四": 4, "三": 3, "二": 2, "一": 1}[level[0]]
        row.update(occupation=occupation, level=level,
                   certificate_no=row["certificate_no"][:10] + str(digit) + row["certificate_no"][11:])
    merged(tmp_path, write_roster_xlsx(tmp_path / "r.xlsx", rows), clock)
    clock.set(2009, 6, 20, 9)
    reissue_voucher("3501-2009-000002", "遗失", tmp_path / "补发",
                    MergeOptions(format="docx", ledger=tmp_path / "ledger.db", clock=clock))
    out = tmp_path / "2009-06.xlsx"
    assert run("report", "--month", "2009-06", "-o", out, "--ledger", tmp_path / "ledger.db").exit_code == 0
    summary = [r for r in _sheet(out, "汇总")[2:] if r[0]]
    by_kind = [(r[1], r[2], r[3]) for r in summary if r[0] == "按职业和等级"]
    assert by_kind == [("车工", "五级（初级）", 2), ("车工", "二级（技师）", 1), ("电工", "三级（高级）", 1),
                       ("钳工", "一级（高级技师）", 1), ("养老护理员", "四级（中级）", 1),
                       ("中式烹调师", "五级（初级）", 1)]
    assert [r[2] for r in summary if r[0] == "按等级"] == [
        "五级（初级）", "四级（中级）", "三级（高级）", "二级（技师）", "一级（高级技师）"]
    totals = {r[0]: r[3] for r in summary}
    assert totals["发放人数合计（补发不重复计）"] == 7 and totals["印发凭证张数（含补发）"] == 8
    printed = load_workbook(out)["本月发放"]
    replaced = next(row[0].row for row in printed.iter_rows(min_row=3) if row[1].value == "3501-2009-000002")
    assert printed.row_dimensions[replaced].height >= 2 * 10  # 已补发替换（原凭证作废） wraps: its row is raised


# --- the register --------------------------------------------------------------------------------

def test_the_register_is_a_sign_off_sheet_and_a_rerun_never_overwrites_signatures(tmp_path, roster, clock):
    from openpyxl import load_workbook as load

    path, rows = roster
    result = merged(tmp_path, path, clock, center="福州市职业技能鉴定指导中心")
    sheet = load(result.register).active
    assert "福州市职业技能鉴定指导中心" in sheet["A1"].value and "六月名册.xlsx" in sheet["A1"].value
    assert [c.value for c in sheet[2]][:5] == ["序号", "凭证编号", "姓名", "领取人签名", "领取日期"]
    assert sheet.sheet_format.defaultRowHeight >= 34  # 12 mm to sign in
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.print_title_rows == "$1:$2"
    before = result.register.read_bytes()
    merged(tmp_path, path, clock)  # the same content: left as it is
    assert result.register.read_bytes() == before
    signed = load(result.register)
    signed.active["D3"] = rows[0]["name"]
    signed.save(result.register)
    signed_bytes = result.register.read_bytes()
    again = merged(tmp_path, path, clock)
    assert result.register.read_bytes() == signed_bytes
    assert again.register.name == "发放登记表（2）.xlsx"


# --- the file ------------------------------------------------------------------------------------

def test_an_existing_world_readable_ledger_is_made_private(tmp_path):
    copy = tmp_path / "l.db"
    shutil.copy(DATA / "ledger-0.1.0.db", copy)
    os.chmod(copy, 0o644)
    Ledger(copy).close()
    if os.name == "posix":
        assert os.stat(copy).st_mode & 0o777 == 0o600


def test_another_programs_sqlite_file_is_refused_and_left_as_it_was(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE customers (name TEXT)")
    before = other.read_bytes()
    with pytest.raises(LedgerError, match="这不是凭证台账文件"):
        Ledger(other)
    assert other.read_bytes() == before


def test_a_0_1_0_ledger_upgrades_keeping_every_voucher_status_and_reason(tmp_path):
    copy = tmp_path / "l.db"
    shutil.copy(DATA / "ledger-0.1.0.db", copy)
    with Ledger(copy) as ledger:
        vouchers = {v.voucher_no: v for v in ledger.select()}
        assert len(vouchers) == 6
        assert {no: v.status for no, v in vouchers.items()} == {
            "3501-2009-000001": "issued", "3501-2009-000002": "replaced", "3501-2009-000003": "revoked",
            "3501-2009-000004": "superseded", "3501-2009-000005": "issued", "3501-2009-000006": "issued"}
        assert vouchers["3501-2009-000003"].reason == "实为不合格"
        assert vouchers["3501-2009-000004"].reason == "国家职业资格证书已发放"
        assert (vouchers["3501-2009-000002"].replaced_by, vouchers["3501-2009-000006"].replaces) == (
            "3501-2009-000006", "3501-2009-000002")
        assert [e.kind for e in ledger.history("3501-2009-000003")] == ["issued", "revoked"]
        assert [e.kind for e in ledger.history("3501-2009-000006")] == ["reissued"]
        assert vouchers["3501-2009-000001"].fields["name"] == "江秀兰"
    assert run("verify", "3501-2009-000003", "--name", "周宏", "--ledger", copy).output.count("已作废") == 1


def test_list_lines_its_columns_up_where_chinese_characters_are_two_columns_wide(tmp_path, clock):
    import unicodedata

    rows = make_candidates(3, seed=34)
    rows[0]["name"], rows[1]["name"], rows[2]["name"] = "王芳", "欧阳建国", "Ayxan·Memet"
    merged(tmp_path, write_roster_xlsx(tmp_path / "r.xlsx", rows), clock)
    lines = run("list", "--codes", "--ledger", tmp_path / "ledger.db").output.splitlines()[:4]

    def column_of(line: str, text: str) -> int:
        before = line[:line.index(text)]
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before)

    certificates = [column_of(line, "0935") for line in lines[1:]] + [column_of(lines[0], "证书编号")]
    assert len(set(certificates)) == 1, lines


def test_a_register_nobody_touched_is_replaced_and_only_a_signed_one_is_kept_beside_saying_so(tmp_path, clock):
    from openpyxl import load_workbook as load

    rows = make_candidates(4, seed=35)
    first = merged(tmp_path, write_roster_xlsx(tmp_path / "r1.xlsx", rows[:2]), clock)
    second = merged(tmp_path, write_roster_xlsx(tmp_path / "r2.xlsx", rows[:3]), clock)  # a row added
    assert second.register == first.register and not (tmp_path / "out" / "发放登记表（2）.xlsx").exists()
    assert len(list(load(second.register).active.iter_rows(min_row=3))) == 3 and not second.notes
    signed = load(second.register)
    signed.active["D3"] = rows[0]["name"]
    signed.save(second.register)
    third = merged(tmp_path, write_roster_xlsx(tmp_path / "r3.xlsx", rows), clock)
    assert third.register.name == "发放登记表（2）.xlsx"
    assert load(tmp_path / "out" / "发放登记表.xlsx").active["D3"].value == rows[0]["name"]  # kept as signed
    assert [n for n in third.notes if "已有改动" in n and "发放登记表（2）.xlsx" in n]
    fourth = merged(tmp_path, write_roster_xlsx(tmp_path / "r4.xlsx", rows[:3]), clock)
    assert fourth.register.name == "发放登记表（2）.xlsx"  # the unsigned copy is replaced, no （3）
    assert not (tmp_path / "out" / "发放登记表（3）.xlsx").exists()
