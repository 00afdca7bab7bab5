"""fjvoucher merge on real rosters, photos and output folders."""

import shutil

import docx
import pytest
from openpyxl import load_workbook

from fjvoucher.cli import merge_summary
from fjvoucher.collation import pinyin_key
from fjvoucher.merging import MergeOptions, merge_roster
from support import SAMPLES, TODAY, digest, run
from support.synthetic import make_candidates, make_photo, write_roster_xlsx


def test_sample_merge_writes_vouchers_batches_and_register(tmp_path):
    out = tmp_path / "out"
    result = merge_roster(SAMPLES / "roster.xlsx", out,
                          MergeOptions(format="docx", photos=SAMPLES / "photos", batch_size=20, today=TODAY))
    assert (result.merged, result.rejected, result.rows) == (50, 0, 50)
    assert [p.name for p in result.batches] == ["batch-001.docx", "batch-002.docx", "batch-003.docx"]
    assert len(list((out / "vouchers").glob("*.docx"))) == 50
    batch = docx.Document(out / "batches" / "batch-003.docx")
    assert len(batch.inline_shapes) == 10  # every sample candidate has a photo
    register = list(load_workbook(out / "发放登记表.xlsx").active.iter_rows(values_only=True))
    assert "凭证发放登记表" in register[0][0] and "roster.xlsx" in register[0][0]
    assert register[1] == ("序号", "凭证编号", "姓名", "领取人签名", "领取日期", "证书编号", "身份证号", "职业", "等级",
                           "批次文件", "页码")
    assert len(register) == 52
    assert register[22][9:11] == ("batch-002.docx", 1)
    assert "********" in register[2][6]
    assert not list(out.rglob(".*.tmp*"))


def test_per_candidate_files_are_named_by_certificate_and_name(tmp_path):
    merge_roster(SAMPLES / "roster.xlsx", tmp_path, MergeOptions(format="docx", today=TODAY))
    first = make_candidates(50)[0]
    document = docx.Document(tmp_path / "vouchers" / f"{first['certificate_no']}_{first['name']}.docx")
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert first["id_number"] in cells and first["name"] in cells


def test_no_per_candidate(tmp_path):
    merge_roster(SAMPLES / "roster.xlsx", tmp_path, MergeOptions(format="docx", per_candidate=False, today=TODAY))
    assert not (tmp_path / "vouchers").exists() and (tmp_path / "batches" / "batch-001.docx").exists()


def test_errors_write_nothing_and_exit_1(tmp_path):
    result = run("merge", str(SAMPLES / "roster_with_errors.xlsx"), "-o", str(tmp_path / "o"),
                                      "--format", "docx")
    assert result.exit_code == 1
    assert "未生成任何凭证" in result.output
    assert not (tmp_path / "o").exists()


def test_skip_invalid_reconciles_and_keeps_rejected_rows_as_they_were(tmp_path):
    result = merge_roster(SAMPLES / "roster_with_errors.xlsx", tmp_path,
                          MergeOptions(format="docx", skip_invalid=True, today=TODAY))
    assert result.merged + result.rejected == result.rows == 44  # the two footer lines are not rows
    rejected = list(load_workbook(tmp_path / "rejected.xlsx").active.iter_rows(values_only=True))
    assert rejected[0][:3] == ("原行号", "不能发凭证的原因", "凭证编号")
    assert len(rejected) - 1 == result.rejected
    original = list(load_workbook(SAMPLES / "roster_with_errors.xlsx").active.iter_rows(values_only=True))
    by_row = {r[0]: r for r in rejected[1:]}
    assert by_row[7][2:] == original[6]  # spreadsheet row 7, cells exactly as in the roster
    assert "性别「M」无法识别" in by_row[7][1]


def test_skip_invalid_does_not_override_file_level_errors(tmp_path):
    rows = make_candidates(3)
    for row in rows:
        row.pop("certificate_no")
    from openpyxl import Workbook

    from fjvoucher.layout import FIELDS

    book = Workbook()
    keys = [f.key for f in FIELDS if f.key != "certificate_no"]
    book.active.append([f.header for f in FIELDS if f.key != "certificate_no"])
    for row in rows:
        book.active.append([row[k] for k in keys])
    book.save(tmp_path / "r.xlsx")
    result = merge_roster(tmp_path / "r.xlsx", tmp_path / "o",
                          MergeOptions(format="docx", skip_invalid=True, today=TODAY))
    assert not result.written and not (tmp_path / "o").exists()


@pytest.fixture
def photo_roster(tmp_path):
    rows = make_candidates(4, seed=3)
    photos = tmp_path / "photos"
    photos.mkdir()
    make_photo(photos / f"{rows[0]['id_number'].lower()}.JPG", seed=1)  # x/X and case tolerated
    make_photo(photos / f" {rows[1]['exam_no']} .jpeg", seed=2)  # by exam number, stray spaces
    (photos / f"{rows[2]['id_number']}.png").write_text("not an image")
    return write_roster_xlsx(tmp_path / "r.xlsx", rows), photos, rows


def test_photos_found_by_id_then_exam_number_missing_is_a_warning(tmp_path, photo_roster):
    roster, photos, rows = photo_roster
    (photos / f"{rows[2]['id_number']}.png").unlink()
    result = merge_roster(roster, tmp_path / "o", MergeOptions(format="docx", photos=photos, today=TODAY))
    assert result.merged == 4
    assert [(f.row, f.code, f.severity) for f in result.checked.report.findings] == [
        (5, "photo-missing", "warning"), (6, "photo-missing", "warning")]
    assert len(docx.Document(tmp_path / "o" / "batches" / "batch-001.docx").inline_shapes) == 2


def test_require_photos_and_unreadable_photos_are_errors(tmp_path, photo_roster):
    roster, photos, _ = photo_roster
    result = merge_roster(roster, tmp_path / "o",
                          MergeOptions(format="docx", photos=photos, require_photos=True, today=TODAY))
    assert not result.written
    assert [(f.row, f.code, f.severity) for f in result.checked.report.findings] == [
        (5, "photo-unreadable", "error"), (6, "photo-missing", "error")]


def test_center_option_fills_a_roster_without_centre_column(tmp_path):
    rows = make_candidates(2)
    for row in rows:
        row["center"] = ""
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows)
    failed = merge_roster(roster, tmp_path / "a", MergeOptions(format="docx", today=TODAY))
    assert not failed.written
    center = [f for f in failed.checked.report.findings if f.code == "center-missing"]
    assert len(center) == 1 and center[0].row is None and "2 行" in center[0].message()  # once, not per row
    merge_roster(roster, tmp_path / "b", MergeOptions(format="docx", center="厦门市职业技能鉴定指导中心", today=TODAY))
    batch = docx.Document(tmp_path / "b" / "batches" / "batch-001.docx")
    assert "厦门市职业技能鉴定指导中心（印）" in [c.text for t in batch.tables for r in t.rows for c in r.cells]


def test_file_names_cannot_leave_outdir_and_are_valid_on_windows(tmp_path):
    rows = make_candidates(2)
    rows[0]["name"] = "../../..\\evil:*?"
    merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "o", MergeOptions(format="docx", today=TODAY))
    names = [p.name for p in (tmp_path / "o" / "vouchers").iterdir()]
    assert all(not set('<>:"/\\|?*') & set(n) for n in names)
    assert {p.parent for p in (tmp_path / "o").rglob("*.docx")} <= {tmp_path / "o" / "vouchers",
                                                                    tmp_path / "o" / "batches"}


def test_sort_by_occupation_orders_the_batch(tmp_path):
    result = merge_roster(SAMPLES / "roster.xlsx", tmp_path,
                          MergeOptions(format="docx", sort_by=("职业",), today=TODAY))
    register = list(load_workbook(result.register).active.iter_rows(values_only=True))[2:]
    occupations = [r[7] for r in register]
    assert occupations == sorted(occupations, key=pinyin_key)  # 车工, 电工 … 中式烹调师: pinyin order


def test_running_again_gives_the_same_files(tmp_path):
    options = MergeOptions(format="docx", photos=SAMPLES / "photos", batch_size=20, today=TODAY)
    merge_roster(SAMPLES / "roster.xlsx", tmp_path / "a", options)
    merge_roster(SAMPLES / "roster.xlsx", tmp_path / "a2", options)
    first = {k: v for k, v in digest(tmp_path / "a").items() if k.endswith(".docx")}
    assert first == {k: v for k, v in digest(tmp_path / "a2").items() if k.endswith(".docx")}


def test_interrupted_run_leaves_no_partial_file_and_rerun_completes(tmp_path, monkeypatch):
    from fjvoucher.word import render

    calls = {"n": 0}
    original = render.VoucherRenderer.single

    def crash_after_ten(self, voucher, body=None):
        calls["n"] += 1
        if calls["n"] > 10:
            raise KeyboardInterrupt
        return original(self, voucher, body)

    monkeypatch.setattr(render.VoucherRenderer, "single", crash_after_ten)
    with pytest.raises(KeyboardInterrupt):
        merge_roster(SAMPLES / "roster.xlsx", tmp_path, MergeOptions(format="docx", batch_size=20, today=TODAY))
    written = sorted((tmp_path / "vouchers").iterdir())
    assert len(written) == 0  # the first batch was not finished: none of its files appear, half-written or whole
    monkeypatch.undo()
    result = merge_roster(SAMPLES / "roster.xlsx", tmp_path, MergeOptions(format="docx", today=TODAY))
    assert result.merged == 50 and len(list((tmp_path / "vouchers").iterdir())) == 50


def test_rerun_removes_vouchers_of_rows_that_are_no_longer_merged(tmp_path):
    rows = make_candidates(3)
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows)
    merge_roster(roster, tmp_path / "o", MergeOptions(format="docx", today=TODAY))
    (tmp_path / "o" / "vouchers" / "my-notes.txt").write_text("kept")
    rows[1]["result"] = "不合格"
    merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "o",
                 MergeOptions(format="docx", skip_invalid=True, today=TODAY))
    names = sorted(p.name for p in (tmp_path / "o" / "vouchers").iterdir())
    assert len(names) == 3 and "my-notes.txt" in names  # 2 vouchers + the clerk's own file
    assert (tmp_path / "o" / "rejected.xlsx").exists()


def test_cli_merge_main_job_and_summary(tmp_path):
    shutil.copytree(SAMPLES / "photos", tmp_path / "photos")
    result = run("merge", SAMPLES / "roster.xlsx", "--photos", tmp_path / "photos", "-o", tmp_path / "out", "-q",
                 "--format", "docx")
    assert result.exit_code == 0
    assert "共读取 50 行 = 生成凭证 50 张 + 退回 0 行。" in result.output


def test_cli_merge_bad_template_is_one_line(tmp_path):
    (tmp_path / "t.docx").write_text("x")
    result = run("merge", str(SAMPLES / "roster.xlsx"), "--template", str(tmp_path / "t.docx"),
                                      "-o", str(tmp_path / "o"))
    assert result.exit_code == 1 and result.output.splitlines()[-1].startswith("错误 Error: 凭证母版无法打开")
    assert not (tmp_path / "o").exists()


def test_rerun_sweeps_temporary_files_a_killed_run_left(tmp_path):
    from fjvoucher.atomic import temp_sibling

    merge_roster(SAMPLES / "roster.xlsx", tmp_path, MergeOptions(format="docx", today=TODAY))
    leftover = temp_sibling(tmp_path / "vouchers" / "x.docx")
    leftover.write_bytes(b"half a docx")
    mine = tmp_path / "vouchers" / ".my.notes.tmp"  # not a name fjvoucher makes: kept
    mine.write_text("kept")
    merge_roster(SAMPLES / "roster.xlsx", tmp_path, MergeOptions(format="docx", today=TODAY))
    assert not leftover.exists() and mine.exists()


def test_a_file_system_error_is_one_clear_line(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    result = run("merge", str(SAMPLES / "roster.xlsx"), "-o", str(tmp_path / "a-file" / "out"),
                                      "--format", "docx", "--ledger", str(tmp_path / "l.db"))
    assert result.exit_code == 2  # refused before the roster is read (issue 19, class 20)
    assert result.output.startswith("错误 Error: 输出文件夹") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "l.db").exists()


def test_sort_by_a_column_outside_the_layout_such_as_the_station(tmp_path):
    rows = make_candidates(6)
    stations = ["鼓楼站", "仓山站", "鼓楼站", "晋安站", "仓山站", "鼓楼站"]
    for row, station in zip(rows, stations, strict=True):
        row["station"] = station
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows, extra_headers={"鉴定站": "station"})
    result = merge_roster(roster, tmp_path / "o", MergeOptions(format="docx", sort_by=("鉴定站", "姓名"), today=TODAY))
    register = list(load_workbook(result.register).active.iter_rows(values_only=True))[2:]
    by_name = {r["name"]: r["station"] for r in rows}
    order = [(by_name[r[2]], r[2]) for r in register]
    assert order == sorted(order, key=lambda o: (pinyin_key(o[0]), pinyin_key(o[1])))
    result = run("merge", str(roster), "-o", str(tmp_path / "p"), "--format", "docx",
                                      "--sort-by", "考点", "--ledger", str(tmp_path / "l.db"))
    assert result.exit_code == 1 and "名册中没有「考点」列" in result.output


def test_photo_counts_are_of_the_vouchers_printed_when_rows_are_rejected(tmp_path):
    rows = make_candidates(5, seed=4)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, row in enumerate(rows):
        make_photo(photos / f"{row['id_number']}.jpg", seed=i)
    options = MergeOptions(format="docx", photos=photos, skip_invalid=True, today=TODAY, ledger=tmp_path / "l.db")
    merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "o", options)
    rows[1]["name"] += "华"  # the ledger refuses a changed record: rejected, though its photo is there
    rows[3]["skill_score"] = 30  # a layout error: rejected before photos are looked for
    result = merge_roster(write_roster_xlsx(tmp_path / "r2.xlsx", rows), tmp_path / "o2", options)
    assert (result.merged, result.rejected, result.photos_found) == (3, 2, 3)
    assert "照片：找到 3 / 3 张" in merge_summary(result, tmp_path / "o2", "zh")


def test_sort_by_sorts_dates_as_dates_and_scores_and_numbers_as_numbers(tmp_path):
    import datetime as dt

    rows = make_candidates(4, seed=6)
    days = [dt.date(2009, 11, 20), dt.date(2009, 11, 6), "2009/11/7", dt.date(2009, 11, 10)]
    for row, day, score, session in zip(rows, days, [100, 61, 85.5, 9.5], ["10", "9", "2", "11"], strict=True):
        row["issue_date"], row["theory_score"], row["session"] = day, max(score, 60), session
        year = (day.year if isinstance(day, dt.date) else 2009) % 100
        row["certificate_no"] = f"{year:02d}" + row["certificate_no"][2:]
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows, extra_headers={"考试批次": "session"})

    def order(*columns):
        result = merge_roster(roster, tmp_path / "_".join(columns), MergeOptions(format="docx", sort_by=columns,
                                                                                 today=dt.date(2009, 12, 1)))
        names = [r[2] for r in list(load_workbook(result.register).active.iter_rows(values_only=True))[2:]]
        return [next(i for i, row in enumerate(rows) if row["name"] == name) for name in names]

    assert order("发证日期") == [1, 2, 3, 0]  # 11-06, 11/7, 11-10, 11-20: not 11-06, 11-10, 11-20, 11/7
    assert order("理论知识考核成绩") == [3, 1, 2, 0]  # 60, 61, 85.5, 100: not "100" < "60" < "61" < "85.5"
    assert order("考试批次") == [2, 1, 0, 3]  # 2, 9, 10, 11: not "10" < "11" < "2" < "9"


def test_group_by_writes_one_folder_batch_and_register_per_station(tmp_path):
    rows = make_candidates(7, seed=9)
    stations = ["鼓楼站", "仓山站", "鼓楼站", "晋安站", "仓山站", "鼓楼站", "晋安站"]
    for row, station in zip(rows, stations, strict=True):
        row["station"] = station
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows, extra_headers={"鉴定站": "station"})
    result = run("merge", roster, "-o", tmp_path / "o", "--format", "docx", "--group-by", "鉴定站",
                 "--sort-by", "姓名", "--ledger", tmp_path / "l.db")
    assert result.exit_code == 0, result.output
    by_station = {}
    for station in ("仓山站", "鼓楼站", "晋安站"):
        folder = tmp_path / "o" / station
        assert sorted(p.name for p in (folder / "batches").iterdir()) == ["batch-001.docx"]  # one batch a group
        sheet = load_workbook(folder / "发放登记表.xlsx").active
        assert station in sheet["A1"].value
        names = [r[2] for r in list(sheet.iter_rows(values_only=True))[2:]]
        assert names == sorted(names, key=pinyin_key)  # each group in the sort order
        by_station[station] = names
        assert len(docx.Document(folder / "batches" / "batch-001.docx").sections) >= 1
        assert station in result.output
    assert {s: sorted(n) for s, n in by_station.items()} == {
        s: sorted(r["name"] for r in rows if r["station"] == s) for s in by_station}
    assert list(by_station) == ["仓山站", "鼓楼站", "晋安站"]  # cang, gu, jin: the groups in pinyin order
    assert not (tmp_path / "o" / "batches").exists() and not (tmp_path / "o" / "发放登记表.xlsx").exists()
    nos = [r[1] for s in by_station for r in list(load_workbook(tmp_path / "o" / s / "发放登记表.xlsx").active
                                                 .iter_rows(values_only=True))[2:]]
    assert len(set(nos)) == 7  # one ledger, NOs never repeated across groups
