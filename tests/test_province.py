"""The province's side: the month's upload to the national query system, checked before it is written."""

import csv
import datetime as dt
import io
import json
import sqlite3

import pytest
from openpyxl import load_workbook

from fjvoucher.errors import InputError
from fjvoucher.ledger.store import Ledger
from fjvoucher.merging import MergeOptions, merge_roster, reissue_voucher
from fjvoucher.province.columns import UPLOAD_COLUMNS, chosen_columns
from support import Clock, run
from support.synthetic import make_candidates, write_roster_xlsx

DEFAULT_HEADERS = ["证书编号", "姓名", "性别", "身份证号", "职业（工种）", "等级", "理论知识考核成绩",
                   "操作技能考核成绩", "评定成绩", "发证日期", "发证机构", "凭证编号", "凭证状态"]


@pytest.fixture
def clock():
    return Clock(dt.datetime(2009, 6, 12, 9, 30))


def merged(tmp_path, rows, clock, name="r", **options):
    roster = write_roster_xlsx(tmp_path / f"{name}.xlsx", rows)
    options = {"format": "docx", "ledger": tmp_path / "ledger.db", "today": clock().date(), "clock": clock,
               **options}
    return merge_roster(roster, tmp_path / f"out-{name}", MergeOptions(**options))


def read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel's UTF-8 mark: opens without garbling
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_the_default_columns_are_the_ones_the_issue_names():
    assert [c.header for c in UPLOAD_COLUMNS] == DEFAULT_HEADERS


def test_the_month_is_written_as_xlsx_and_csv_leaving_out_revoked_and_replaced(tmp_path, clock, where):
    rows = make_candidates(5, seed=41)
    merged(tmp_path, rows, clock, ledger=where)
    with Ledger(where, clock=clock) as ledger:
        ledger.revoke("3501-2009-000002", "实为不合格")
    reissue_voucher("3501-2009-000003", "遗失", tmp_path / "补发",
                    MergeOptions(format="docx", ledger=where, clock=clock))
    result = run("province", "upload", "--month", "2009-06", "-o", tmp_path / "上报", "--ledger", where)
    assert result.exit_code == 0, result.output
    assert "证书记录 4 条" in result.output and "凭证 2 张" in result.output
    table = read_csv(tmp_path / "上报.csv")
    assert table[0] == DEFAULT_HEADERS
    nos = [r[11] for r in table[1:]]
    assert "3501-2009-000002" not in nos and "3501-2009-000003" not in nos and len(nos) == 4
    first = table[1]
    assert first[:2] == [rows[0]["certificate_no"], rows[0]["name"]] and first[3] == rows[0]["id_number"]
    assert first[9] == "2009-06-10" and first[12] == "真实有效"
    book = load_workbook(tmp_path / "上报.xlsx")
    sheet = book.active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == DEFAULT_HEADERS and len(values) == 5
    assert values[1][0] == rows[0]["certificate_no"] and sheet["D2"].number_format == "@"
    assert isinstance(values[1][6], (int, float)) and values[1][9] == dt.datetime(2009, 6, 10)


def test_the_province_maps_orders_and_leaves_out_columns(tmp_path, clock):
    merged(tmp_path, make_candidates(2, seed=42), clock)
    assert run("config", "set", "upload_columns", "id_number=SFZH， name=XM,certificate_no").exit_code == 0
    result = run("province", "upload", "--month", "2009-06", "-o", tmp_path / "u", "--ledger", tmp_path / "ledger.db")
    assert result.exit_code == 0, result.output
    table = read_csv(tmp_path / "u.csv")
    assert table[0] == ["SFZH", "XM", "证书编号"] and all(len(r) == 3 for r in table)


@pytest.mark.parametrize("setting, complaint", [
    ("name,xm", "「xm」不认识"), ("name,name=XM", "出现了两次"), ("name=A,sex=A", "表头相同")])
def test_a_wrong_column_setting_is_one_clear_error(setting, complaint):
    with pytest.raises(InputError, match=complaint):
        chosen_columns(setting)


def test_what_blocks_the_upload_is_listed_and_nothing_is_written(tmp_path, clock):
    rows = make_candidates(3, seed=43)
    merged(tmp_path, rows, clock)
    twin = dict(rows[0], certificate_no=rows[0]["certificate_no"][:-4] + "9999")  # same person, occupation, level
    merged(tmp_path, [twin], clock, name="again")
    result = run("province", "upload", "--month", "2009-06", "-o", tmp_path / "u", "--ledger", tmp_path / "ledger.db")
    assert result.exit_code == 1
    assert not (tmp_path / "u.csv").exists() and not (tmp_path / "u.xlsx").exists()
    assert "第 5 行（3501-2009-000004" in result.output and "同一职业、同一等级已在第 2 行" in result.output
    assert rows[1]["id_number"] not in result.output  # masked
    as_json = run("province", "upload", "--month", "2009-06", "--format", "json", "--ledger", tmp_path / "ledger.db")
    problems = json.loads(as_json.stdout)["problems"]
    assert {(p["voucher_no"], p["code"]) for p in problems} == {("3501-2009-000004", "duplicate-id-occupation")}


def test_a_record_damaged_outside_fjvoucher_blocks_the_upload_as_a_chain_problem(tmp_path, clock):
    merged(tmp_path, make_candidates(3, seed=43), clock)
    with sqlite3.connect(tmp_path / "ledger.db") as db:  # the chain finds it: the upload never trusts the record
        db.execute("UPDATE vouchers SET theory_score = '45', center = '' WHERE voucher_no = '3501-2009-000002'")
    result = run("province", "upload", "--month", "2009-06", "-o", tmp_path / "u", "--ledger", tmp_path / "ledger.db")
    assert result.exit_code == 1 and not list(tmp_path.glob("u.*")) and "Traceback" not in result.output
    blockers = [line for line in result.output.splitlines() if line.startswith("台账链不完整")]
    assert blockers == ["台账链不完整 [voucher-edited] 凭证 3501-2009-000002：记录与其事件不符：theory_score「45」应为"
                        f"「{make_candidates(3, seed=43)[1]['theory_score']}」、center「」应为"
                        f"「{make_candidates(3, seed=43)[1]['center']}」 (row differs from its events)"]
    assert "台账链有 1 处问题" in result.output
    as_json = json.loads(run("province", "upload", "--month", "2009-06", "--check", "--format", "json",
                             "--ledger", tmp_path / "ledger.db").stdout)
    assert [(c["code"], c["where"]) for c in as_json["chain"]] == [("voucher-edited", "凭证 3501-2009-000002")]
    assert not as_json["valid"]


def test_a_damaged_record_the_chain_proves_is_listed_with_its_columns(tmp_path, clock):
    rows = make_candidates(4, seed=43)
    merged(tmp_path, rows[:3], clock)
    bad = dict(rows[3], theory_score="45", center="")  # issued through the library: no roster check on the way
    with Ledger(tmp_path / "ledger.db", clock=clock) as ledger, ledger.batch() as batch:
        batch.issue([{**{k: str(v) for k, v in bad.items()}, "issued_on": bad["issue_date"], "batch_file": "",
                      "page": None}], template_sha256="", center_code="3501")
    twin = dict(rows[0], certificate_no=rows[0]["certificate_no"][:-4] + "9999")  # same person, occupation, level
    merged(tmp_path, [twin], clock, name="again")
    assert run("audit", "--ledger", tmp_path / "ledger.db").exit_code == 0  # the ledger proves every record
    result = run("province", "upload", "--month", "2009-06", "-o", tmp_path / "u", "--ledger", tmp_path / "ledger.db")
    assert result.exit_code == 1 and not list(tmp_path.glob("u.*"))
    assert "第 5 行（3501-2009-000004" in result.output and "「发证机构」" in result.output
    assert "第 6 行（3501-2009-000005" in result.output and "同一职业、同一等级已在第 2 行" in result.output
    assert rows[3]["id_number"] not in result.output  # masked
    as_json = run("province", "upload", "--month", "2009-06", "--format", "json", "--ledger", tmp_path / "ledger.db")
    problems = json.loads(as_json.stdout)["problems"]
    assert {(p["voucher_no"], p["code"]) for p in problems} == {
        ("3501-2009-000004", "score-fail"), ("3501-2009-000004", "upload-missing"),
        ("3501-2009-000005", "duplicate-id-occupation")}


def test_check_only_writes_nothing_and_a_clean_month_exits_0(tmp_path, clock):
    merged(tmp_path, make_candidates(2, seed=44), clock)
    result = run("province", "upload", "--month", "2009-06", "--check", "-o", tmp_path / "u",
                 "--ledger", tmp_path / "ledger.db")
    assert result.exit_code == 0 and "证书记录 2 条，其中 0 条有问题" in result.output
    assert not list(tmp_path.glob("u.*"))


def test_the_csv_is_byte_identical_when_written_again(tmp_path, clock):
    merged(tmp_path, make_candidates(3, seed=45), clock)
    for name in ("a", "b"):
        assert run("province", "upload", "--month", "2009-06", "-o", tmp_path / name,
                   "--ledger", tmp_path / "ledger.db").exit_code == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_duplicates_lists_a_candidate_two_centres_issued_and_nothing_else(tmp_path, clock):
    rows = make_candidates(3, seed=46)
    merged(tmp_path, rows, clock, center_code="3501")
    twin = dict(rows[1], certificate_no="0935020" + rows[1]["certificate_no"][7:], exam_no="X1",
                level=rows[1]["level"].split("/")[-1])  # 四级/中级 and 中级: one level
    merged(tmp_path, [twin], clock, name="xm", center_code="3502")
    result = run("province", "duplicates", "--ledger", tmp_path / "ledger.db")
    assert result.exit_code == 1 and "1 人" in result.output
    assert "3501-2009-000002（中心 3501" in result.output and "3502-2009-000001（中心 3502" in result.output
    with Ledger(tmp_path / "ledger.db") as ledger:
        ledger.revoke("3502-2009-000001", "重复鉴定")
    assert run("province", "duplicates", "--ledger", tmp_path / "ledger.db").exit_code == 0


def test_a_candidate_another_centre_also_issued_blocks_the_upload(tmp_path, clock):
    rows = make_candidates(2, seed=47)
    merged(tmp_path, rows, clock, center_code="3501")
    twin = dict(rows[0], certificate_no="0935020" + rows[0]["certificate_no"][7:], exam_no="X1")
    merged(tmp_path, [twin], clock, name="xm", center_code="3502")
    result = run("province", "upload", "--month", "2009-06", "--check", "--ledger", tmp_path / "ledger.db")
    assert result.exit_code == 1
    assert "第 2 行（3501-2009-000001" in result.output and "中心 3502 发过凭证 3502-2009-000001" in result.output
    assert "第 4 行（3502-2009-000001" in result.output and "中心 3501 发过凭证 3501-2009-000001" in result.output


def test_a_ledger_url_is_kept_whole_and_its_password_never_shown():
    assert run("config", "set", "ledger", "postgresql://centre_3501:s3cret@db.example/fjvoucher").exit_code == 0
    shown = run("config").output
    assert "postgresql://centre_3501:***@db.example/fjvoucher" in shown and "s3cret" not in shown
    from fjvoucher.config import choose_ledger

    assert choose_ledger().path == "postgresql://centre_3501:s3cret@db.example/fjvoucher"  # not a folded Path
