"""Settings, output folders and NOs under a careless administrator: nothing replaced, lost or printed wrong.

Issue 19, classes 8 (settings), 9 (files fjvoucher did not write), 10 (owner-only folders),
11 (NOs that verify finds again) and 20 (preflight order, supersede sources).
"""

import os
import tomllib

import pytest

from fjvoucher.config import config_path
from hostile import corpus
from support import SAMPLES, run

# --- 8: every setting has a type and a range ---------------------------------------------------------


def _one_line_naming(result, *words) -> bool:
    lines = [line for line in result.output.splitlines() if line.strip()]
    return len(lines) == 1 and all(word in lines[0] for word in words) and "Traceback" not in result.output


@pytest.mark.parametrize("text, key, expected", corpus.BAD_SETTINGS, ids=[c[1] + str(i) for i, c in
                                                                          enumerate(corpus.BAD_SETTINGS)])
def test_a_wrong_setting_in_the_file_is_one_line_naming_file_key_and_what_is_expected(tmp_path, text, key,
                                                                                       expected):
    path = corpus.config_file(config_path(), text)
    for command in (["config"], ["merge", SAMPLES / "roster.xlsx", "-o", tmp_path / "out", "-q", "--format", "docx"],
                    ["verify", "3501-2009-000001", "--name", "x"], ["validate", SAMPLES / "roster.xlsx"]):
        result = run(*command)
        assert result.exit_code == 2, (command, result.output)
        assert _one_line_naming(result, str(path), key, expected), (command, result.output)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no folder named $FJV_HOSTILE_UNSET, no ledger


def _toml(text):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}  # not TOML at all: nothing config set could be given


@pytest.mark.parametrize("text, key, expected", [c for c in corpus.BAD_SETTINGS
                                                 if isinstance(_toml(c[0]).get(c[1], ""), str)
                                                 and c[2] not in ("相对路径", "格式有误")  # config set: made absolute
                                                 and _toml(c[0]).get(c[1]) != ""])  # and "" unsets
def test_config_set_refuses_the_same_values_and_leaves_the_file_as_it_was(text, key, expected):
    value = tomllib.loads(text).get(key, "red")
    before = corpus.config_file(config_path(), 'center_code = "3501"\n').read_bytes()
    result = run("config", "set", key, value)
    assert result.exit_code == 2 and _one_line_naming(result, str(config_path()), key, expected), result.output
    assert config_path().read_bytes() == before


def test_config_set_keeps_good_values_expands_home_and_makes_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FJV_HOSTILE_BASE", str(tmp_path / "base"))
    assert run("config", "set", "ledger", "rel/台账.db").exit_code == 0
    assert run("config", "set", "photos", "$FJV_HOSTILE_BASE/照片").exit_code == 0
    assert run("config", "set", "verify_url", "https://jd.example.gov.cn/verify").exit_code == 0
    warned = run("config", "set", "center_name", "福州")
    assert warned.exit_code == 0 and "不像完整名称" in warned.output  # warned as validate warns
    stored = tomllib.loads(config_path().read_text(encoding="utf-8"))
    assert stored == {"ledger": str(tmp_path / "rel" / "台账.db"), "photos": str(tmp_path / "base" / "照片"),
                      "verify_url": "https://jd.example.gov.cn/verify", "center_name": "福州"}
    assert oct(os.stat(config_path()).st_mode & 0o777) == "0o600"


def test_a_wrong_setting_can_be_corrected_with_config_set(tmp_path):
    corpus.config_file(config_path(), 'center_code = 3501\ncenter_name = "福州市职业技能鉴定指导中心"\n')
    assert run("config").exit_code == 2
    assert run("config", "set", "center_code", "3501").exit_code == 0
    assert "center_code = 3501" in run("config").output


# --- 10: every folder fjvoucher creates is owner-only ------------------------------------------------

@pytest.fixture(params=corpus.PERMISSIVE_UMASKS, ids=oct)
def permissive_umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _folders_below(top):
    return {p: oct(p.stat().st_mode & 0o777) for p in top.rglob("*") if p.is_dir()}


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_every_folder_a_command_creates_is_owner_only_whatever_the_umask(tmp_path, permissive_umask):
    top_mode = tmp_path.stat().st_mode
    ledger = ("--ledger", corpus.deep_new_folder(tmp_path, "台账") / "l.db")
    merged = run("merge", SAMPLES / "roster.xlsx", "-o", corpus.deep_new_folder(tmp_path, "merge"), "-q",
                 "--format", "docx", *ledger)
    assert merged.exit_code == 0, merged.output
    reissued = run("reissue", "3501-2009-000001", "--reason", "遗失", "-o", corpus.deep_new_folder(tmp_path, "补发"),
                   "--format", "docx", "--yes", *ledger)
    assert reissued.exit_code == 0, reissued.output
    assert run("report", "--month", "2009-06", "-o", corpus.deep_new_folder(tmp_path, "月报") / "r.xlsx",
               *ledger).exit_code == 0
    assert run("layout", "-o", corpus.deep_new_folder(tmp_path, "模板") / "t.xlsx").exit_code == 0
    folders = _folders_below(tmp_path)
    assert len(folders) >= 5 * 3 + 2  # each command's three new folders, vouchers/ and batches/
    assert set(folders.values()) == {"0o700"}, folders
    assert tmp_path.stat().st_mode == top_mode  # a folder that existed is not ours to change


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_the_default_ledger_folder_and_the_log_folder_are_owner_only(tmp_path, permissive_umask,
                                                                      private_user_folders):
    from fjvoucher.failures import write_bug_report

    assert run("merge", SAMPLES / "roster.xlsx", "-o", tmp_path / "out", "-q", "--format", "docx").exit_code == 0
    log = write_bug_report(RuntimeError("x"), ["fjvoucher"], private_user_folders / "state" / "fjvoucher" / "log")
    for folder in (private_user_folders / "data", private_user_folders / "data" / "fjvoucher", log.parent,
                   log.parent.parent):
        assert oct(folder.stat().st_mode & 0o777) == "0o700", folder


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_the_folders_the_pdf_engine_creates_are_owner_only(tmp_path):
    from fjvoucher.pdf.libreoffice import find_soffice

    if find_soffice() is None:
        pytest.skip("needs LibreOffice")
    old = os.umask(0o022)
    try:
        out = corpus.deep_new_folder(tmp_path, "pdf")
        result = run("merge", SAMPLES / "roster.xlsx", "-o", out, "-q", "--format", "pdf",
                     "--ledger", tmp_path / "l.db")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert list((out / "vouchers").glob("*.pdf")) and list((out / "batches").glob("*.pdf"))
    assert set(_folders_below(tmp_path).values()) == {"0o700"}


# --- 20: a failing output folder leaves no ledger; supersede takes no file name for a number ---------

@pytest.mark.parametrize("label", ["a file", "a file as parent", "a broken link", "below a broken link",
                                   "a name too long", "inside /proc", "a read-only parent"])
def test_an_output_folder_that_cannot_be_made_leaves_no_ledger(tmp_path, label):
    cases = dict(corpus.unusable_output_folders(tmp_path))
    if label not in cases:
        pytest.skip(f"{label}: not on this system or as this user")
    ledger = tmp_path / "new" / "l.db"
    result = run("merge", SAMPLES / "roster.xlsx", "-o", cases[label], "-q", "--format", "docx",
                 "--ledger", ledger)
    assert result.exit_code in (1, 2) and "Traceback" not in result.output, result.output
    assert any(word in result.output for word in ("输出文件夹", "无法读写文件", "--output")), result.output
    assert not ledger.exists() and not ledger.parent.exists()


def test_an_output_folder_that_cannot_be_made_is_refused_before_the_roster_is_read(tmp_path):
    target = dict(corpus.unusable_output_folders(tmp_path))["a file as parent"]
    result = run("merge", tmp_path / "missing-roster.xlsx", "-o", target, "--ledger", tmp_path / "l.db")
    assert result.exit_code == 2 and "输出文件夹" in result.output and "a-file" in result.output


@pytest.fixture(scope="module")
def issued_ledger(tmp_path_factory):
    from fjvoucher.merging import MergeOptions, merge_roster

    folder = tmp_path_factory.mktemp("issued")
    merge_roster(SAMPLES / "roster.xlsx", folder / "out", MergeOptions(format="docx", ledger=folder / "l.db"))
    return folder / "l.db"


def _statuses(ledger):
    from fjvoucher.ledger.store import Ledger

    with Ledger(ledger, create=False, readonly=True) as book:
        return sorted((v.voucher_no, v.status) for v in book.select())


@pytest.mark.parametrize("source", corpus.MISTYPED_SOURCES)
def test_supersede_refuses_a_source_that_is_neither_a_roster_nor_a_certificate_number(tmp_path, issued_ledger,
                                                                                      source):
    import shutil

    ledger = shutil.copy(issued_ledger, tmp_path / "l.db")
    before = _statuses(ledger)
    result = run("supersede", "0935011001500001", source, "--reason", "国家证书已到", "--yes", "--ledger", ledger)
    assert result.exit_code == 2, result.output
    assert source in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert _statuses(ledger) == before  # refused before anything changed, the good number too


def test_supersede_refuses_a_folder_and_still_takes_rosters_and_full_width_numbers(tmp_path, issued_ledger):
    import shutil

    from fjvoucher.roster.checks import certificate_numbers

    ledger = shutil.copy(issued_ledger, tmp_path / "l.db")
    (tmp_path / "名册").mkdir()
    refused = run("supersede", tmp_path / "名册", "--reason", "国家证书已到", "--yes", "--ledger", ledger)
    assert refused.exit_code == 2 and str(tmp_path / "名册") in refused.output
    first = certificate_numbers(SAMPLES / "roster.xlsx")[0]
    wide = first.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    done = run("supersede", wide, SAMPLES / "roster.xlsx", "--reason", "国家证书已到", "--yes", "--ledger", ledger)
    assert done.exit_code == 0 and "50 张" in done.output, done.output


# --- 11: every NO stored is one verify finds as printed -----------------------------------------------

def _printable(text):
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


@pytest.mark.parametrize("pattern", corpus.BAD_NO_PATTERNS)
def test_a_no_pattern_whose_nos_verify_would_not_find_is_refused_up_front(tmp_path, pattern):
    result = run("merge", SAMPLES / "roster.xlsx", "-o", tmp_path / "out", "-q", "--format", "docx",
                 "--ledger", tmp_path / "l.db", "--no-pattern", pattern)
    assert result.exit_code == 2 and _one_line_naming(result, _printable(pattern), "查询时会被读作"), result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "l.db").exists()


@pytest.mark.parametrize("pattern", corpus.BAD_NO_PATTERNS[:4])
def test_reissue_refuses_the_same_patterns_before_the_ledger_changes(tmp_path, issued_ledger, pattern):
    import shutil

    ledger = shutil.copy(issued_ledger, tmp_path / "l.db")
    before = _statuses(ledger)
    result = run("reissue", "3501-2009-000001", "--reason", "遗失", "-o", tmp_path / "补发", "--format", "docx",
                 "--yes", "--ledger", ledger, "--no-pattern", pattern)
    assert result.exit_code == 2 and "查询时会被读作" in result.output, result.output
    assert _statuses(ledger) == before


@pytest.mark.parametrize("code", corpus.BAD_CENTER_CODES)
def test_a_center_code_option_that_is_not_4_to_6_digits_is_refused(tmp_path, code):
    result = run("merge", SAMPLES / "roster.xlsx", "-o", tmp_path / "out", "-q", "--format", "docx",
                 "--ledger", tmp_path / "l.db", "--center-code", code)
    assert result.exit_code == 2 and _one_line_naming(result, "--center-code", "4 到 6 位数字"), result.output
    assert not (tmp_path / "l.db").exists()


@pytest.mark.parametrize("pattern", corpus.GOOD_NO_PATTERNS)
def test_every_no_a_pattern_makes_verifies_as_printed_merge_and_reissue(tmp_path, pattern):
    import docx

    from fjvoucher import api
    from fjvoucher.merging import MergeOptions

    path, data = corpus.roster_with_nos(tmp_path, [""] * 4)
    options = MergeOptions(format="docx", ledger=tmp_path / "l.db", no_pattern=pattern)
    result = api.merge(path, tmp_path / "out", options)
    assert result.written and result.merged == 4
    printed = {}
    for file in (tmp_path / "out" / "vouchers").glob("*.docx"):
        line = next(p.text for p in docx.Document(file).paragraphs if p.text.startswith("NO："))
        printed[file.stem.split("_", 1)[1]] = line
    assert len(printed) == 4
    for row in data:
        assert api.verify(printed[row["name"]], name=row["name"], ledger=tmp_path / "l.db").voucher is not None
    first = api.verify(printed[data[0]["name"]], name=data[0]["name"], ledger=tmp_path / "l.db").voucher
    again = api.reissue(first.voucher_no, "遗失", tmp_path / "补发", options)
    assert api.verify(f"NO：{again.new_no}", name=data[0]["name"], ledger=tmp_path / "l.db").state != "unknown"


@pytest.mark.parametrize("number", corpus.BAD_ROSTER_NOS)
def test_a_roster_no_verify_would_read_differently_is_an_error_naming_the_cell(tmp_path, number):
    path, _ = corpus.roster_with_nos(tmp_path, [number, ""])
    checked = run("validate", path)
    assert checked.exit_code == 1 and "voucher-no-form" not in checked.output
    assert f"A 列「凭证编号」：凭证编号「{number}」查询时会被读作" in checked.output, checked.output
    merged = run("merge", path, "-o", tmp_path / "out", "-q", "--format", "docx", "--ledger", tmp_path / "l.db")
    assert merged.exit_code == 1 and not (tmp_path / "l.db").exists()


def test_a_roster_no_the_reader_folds_is_stored_folded_and_found_as_typed(tmp_path):
    from fjvoucher import api
    from fjvoucher.merging import MergeOptions

    path, data = corpus.roster_with_nos(tmp_path, [typed for typed, _ in corpus.FOLDED_ROSTER_NOS])
    result = api.merge(path, tmp_path / "out", MergeOptions(format="docx", ledger=tmp_path / "l.db"))
    assert result.written, [f.message() for f in result.checked.report.findings]
    for row, (typed, stored) in zip(data, corpus.FOLDED_ROSTER_NOS, strict=True):
        for asked in (typed, stored, f"NO：{stored}", f"no.{stored}"):
            answer = api.verify(asked, name=row["name"], ledger=tmp_path / "l.db")
            assert answer.voucher is not None and answer.voucher.voucher_no == stored, asked


# --- 9: never replace a file fjvoucher did not write ----------------------------------------------------

@pytest.mark.parametrize("which", ["roster", "text", "docx", "register", "link"])
def test_report_o_refuses_a_file_fjvoucher_did_not_write_unless_forced(tmp_path, issued_ledger, which):
    target = corpus.foreign_files_for_report(tmp_path)[which]
    before = target.read_bytes()
    result = run("report", "--month", "2009-06", "-o", target, "--ledger", issued_ledger)
    assert result.exit_code == 2 and _one_line_naming(result, str(target), "--force"), result.output
    assert target.read_bytes() == before
    assert run("report", "--month", "2009-06", "-o", target, "--ledger", issued_ledger, "--force").exit_code == 0
    assert target.read_bytes() != before


def test_report_o_replaces_its_own_report_and_refuses_a_folder(tmp_path, issued_ledger):
    target = tmp_path / "2009-06.xlsx"
    for _ in range(2):
        assert run("report", "--month", "2009-06", "-o", target, "--ledger", issued_ledger).exit_code == 0
    (tmp_path / "月报").mkdir()
    folder = run("report", "--month", "2009-06", "-o", tmp_path / "月报", "--ledger", issued_ledger)
    assert folder.exit_code == 2 and "是文件夹" in folder.output


@pytest.mark.parametrize("relative, fmt", corpus.FOREIGN_OUTPUTS)
def test_merge_refuses_to_replace_the_clerks_file_where_it_would_write(tmp_path, relative, fmt):
    from fjvoucher.outfolder import file_stem
    from fjvoucher.roster.checks import check_roster

    first = check_roster(SAMPLES / "roster.xlsx", keep=True).candidates[0]
    out = tmp_path / "out"
    mine = corpus.place_foreign_file(out, relative.format(stem=file_stem(first["certificate_no"], first["name"], 0)))
    result = run("merge", SAMPLES / "roster.xlsx", "-o", out, "-q", "--format", fmt,
                 "--ledger", tmp_path / "l.db")
    assert result.exit_code == 2 and mine.name in result.output and "不是 fjvoucher 写的" in result.output
    assert mine.read_bytes() == b"the clerk's own file\n"
    assert not (tmp_path / "l.db").exists()  # refused before anything was issued


def test_merge_refuses_to_replace_the_clerks_rejected_xlsx(tmp_path):
    out = tmp_path / "out"
    mine = corpus.place_foreign_file(out, "rejected.xlsx")
    result = run("merge", SAMPLES / "roster_with_errors.xlsx", "-o", out, "-q", "--format", "docx",
                 "--skip-invalid", "--ledger", tmp_path / "l.db")
    assert result.exit_code == 2 and "rejected.xlsx" in result.output
    assert mine.read_bytes() == b"the clerk's own file\n"


def test_a_merge_killed_after_its_files_appeared_runs_again(tmp_path, monkeypatch):
    from fjvoucher import merging
    from fjvoucher.merging import MergeOptions, merge_roster

    options = MergeOptions(format="docx", ledger=tmp_path / "l.db", batch_size=20)

    def killed(outdir, written):
        raise KeyboardInterrupt  # after every file is in place, before the manifest is replaced

    monkeypatch.setattr(merging, "replace_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        merge_roster(SAMPLES / "roster.xlsx", tmp_path / "out", options)
    monkeypatch.undo()
    again = merge_roster(SAMPLES / "roster.xlsx", tmp_path / "out", options)
    assert again.written and again.merged == 50


def test_reissues_into_one_folder_are_ours_and_a_merge_there_keeps_them(tmp_path, issued_ledger):
    import shutil

    from fjvoucher import api

    ledger = ("--ledger", shutil.copy(issued_ledger, tmp_path / "l.db"))
    out = tmp_path / "补发"
    args = ("--reason", "遗失", "-o", out, "--format", "docx", "--yes", *ledger)
    assert run("reissue", "3501-2009-000001", *args).exit_code == 0
    second = run("reissue", "3501-2009-000051", *args)  # the replacement lost too
    assert second.exit_code == 0, second.output
    kept = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name[0] != ".")
    assert len(kept) == 6  # per reissue: its batch, its voucher, its one-row register
    assert run("merge", SAMPLES / "roster.xlsx", "-o", out, "-q", "--format", "docx", *ledger).exit_code == 0
    assert all((out / name).exists() for name in kept)  # a merge there never removes a reissue's files
    # The clerk's own file where the next reissue writes (named by the new NO, the next serial).
    mine = corpus.place_foreign_file(tmp_path / "其他", "batches/补发-3501-2009-000053.docx")
    refused = run("reissue", "3501-2009-000002", "--reason", "遗失", "-o", tmp_path / "其他", "--format", "docx",
                  "--yes", *ledger)
    assert refused.exit_code == 2 and mine.name in refused.output, refused.output
    assert mine.read_bytes() == b"the clerk's own file\n"
    with api.open_ledger(tmp_path / "l.db", readonly=True) as book:
        assert book.get("3501-2009-000002").status == "issued" and book.get("3501-2009-000053") is None


def test_a_config_file_saved_by_notepad_with_a_bom_is_read(tmp_path):
    config_path().parent.mkdir(parents=True)
    config_path().write_bytes('\ufeffcenter_name = "福州市职业技能鉴定指导中心"\n'.encode())
    result = run("config")
    assert result.exit_code == 0 and "center_name = 福州市职业技能鉴定指导中心" in result.output


def test_a_folder_where_the_config_file_should_be_is_one_line(tmp_path):
    config_path().mkdir(parents=True)
    result = run("config")
    assert result.exit_code == 2 and _one_line_naming(result, str(config_path())), result.output


@pytest.mark.parametrize("label", ["a file as parent", "below a broken link", "a name too long"])
def test_a_ledger_that_cannot_be_created_leaves_no_output_folder(tmp_path, label):
    cases = dict(corpus.unusable_output_folders(tmp_path))
    out = tmp_path / "out"
    result = run("merge", SAMPLES / "roster.xlsx", "-o", out, "-q", "--format", "docx",
                 "--ledger", cases[label] / "l.db")
    assert result.exit_code in (1, 2) and len(result.output.strip().splitlines()) == 1, result.output
    assert "台账所在的文件夹" in result.output or "文件名太长" in result.output
    assert not out.exists()


def test_config_set_with_an_empty_value_removes_the_setting():
    corpus.config_file(config_path(), 'center_code = "3501"\nphone = "0591-87654321"\n')
    assert run("config", "set", "phone", "").exit_code == 0
    assert tomllib.loads(config_path().read_text(encoding="utf-8")) == {"center_code": "3501"}


def test_merge_group_by_refuses_the_clerks_file_in_a_group_folder_before_any_group_is_written(tmp_path):
    path = corpus.roster_with_stations(tmp_path)
    out = tmp_path / "out"
    mine = corpus.place_foreign_file(out / "鼓楼站", "batches/batch-001.docx")  # the second group, by pinyin
    result = run("merge", path, "-o", out, "-q", "--format", "docx", "--group-by", "鉴定站",
                 "--ledger", tmp_path / "l.db")
    assert result.exit_code == 2 and "鼓楼站" in result.output and "batch-001.docx" in result.output, result.output
    assert mine.read_bytes() == b"the clerk's own file\n"
    assert not (out / "仓山站").exists() and not (tmp_path / "l.db").exists()  # no group written, nothing issued
