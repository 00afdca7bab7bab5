"""PDF output through real LibreOffice, checked with poppler's pdfinfo, pdffonts, pdftotext and pdfimages."""

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.pdf.jobs import PdfJob
from fjvoucher.pdf.libreoffice import LibreOfficeConverter, find_soffice
from fjvoucher.pdf.pages import count_pages
from fjvoucher.roster.checks import validate
from support import SAMPLES, TODAY, drawn_alike, needs_fonts, run
from support.synthetic import make_candidates, make_photo, write_roster_xlsx

pytestmark = [pytest.mark.slow, pytest.mark.skipif(find_soffice() is None or shutil.which("pdffonts") is None,
                                reason="LibreOffice and poppler-utils are installed by scripts/setup.sh")]


def poppler(tool: str, *args) -> str:
    return subprocess.run([tool, *map(str, args)], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    """Six candidates, two with rare characters, in batches of four, with photos: merged once as DOCX+PDF."""
    folder = tmp_path_factory.mktemp("pdf")
    rows = make_candidates(6, seed=21)
    rows[0]["name"], rows[5]["name"] = "王𪚥", "李䶮"
    photos = folder / "photos"
    photos.mkdir()
    for i, row in enumerate(rows):
        make_photo(photos / f"{row['id_number']}.jpg", seed=i)
    result = merge_roster(write_roster_xlsx(folder / "r.xlsx", rows), folder / "out",
                          MergeOptions(photos=photos, batch_size=4, today=TODAY))
    return folder / "out", rows, result


def test_default_is_both_with_one_page_per_voucher(merged):
    out, rows, result = merged
    assert result.format == "both" and not result.pdf_failures
    assert [count_pages(out / "batches" / n) for n in ("batch-001.pdf", "batch-002.pdf")] == [4, 2]
    assert sorted(p.name for p in (out / "batches").iterdir()) == [
        "batch-001.docx", "batch-001.pdf", "batch-002.docx", "batch-002.pdf"]
    assert not list(out.glob(".fjvoucher-pdf-*"))  # LibreOffice's working folder is gone


@needs_fonts("AR PL UMing CN")
def test_fonts_are_embedded_simplified_chinese_never_japanese_or_korean(merged):
    out, _, _ = merged
    fonts = poppler("pdffonts", out / "batches" / "batch-001.pdf")
    names = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert names and all(" yes " in line for line in fonts.splitlines()[2:])  # embedded
    assert not [n for n in names if "jp" in n.lower() or "kr" in n.lower() or "JP" in n or "KR" in n]
    assert any("UMingCN" in n or "CJKsc" in n for n in names)


@needs_fonts("AR PL UMing CN")
def test_fonts_are_mapped_when_merge_runs_with_a_relative_output_folder(tmp_path, monkeypatch):
    """The README's main command: `-o out`, relative to the working folder."""
    monkeypatch.chdir(tmp_path)
    result = run("merge", str(SAMPLES / "roster.xlsx"), "-o", "out", "-q", "--format", "pdf",
                                      "--no-per-candidate", "--ledger", "l.db")
    assert result.exit_code == 0, result.output
    fonts = poppler("pdffonts", tmp_path / "out" / "batches" / "batch-001.pdf")
    assert "UMingCN" in fonts and "jp" not in fonts.lower()


@needs_fonts("HanaMinA", "HanaMinB")
def test_text_round_trips_including_rare_characters(merged):
    out, rows, _ = merged
    text = poppler("pdftotext", out / "batches" / "batch-001.pdf", "-")
    for row in rows[:4]:
        assert row["name"] in text and row["certificate_no"] in text and row["id_number"] in text
    assert "王𪚥" in text
    assert "李䶮" in poppler("pdftotext", out / "batches" / "batch-002.pdf", "-")
    assert "本凭证自核发之日起1年内有效" in "".join(text.split())  # LibreOffice spaces CJK from digits


def test_per_candidate_pdfs_are_one_page_with_only_their_own_photo(merged):
    out, rows, _ = merged
    for row in rows:
        pdf = out / "vouchers" / f"{row['certificate_no']}_{row['name']}.pdf"
        assert count_pages(pdf) == 1
        assert row["name"] in poppler("pdftotext", pdf, "-")
        images = poppler("pdfimages", "-list", pdf).splitlines()[2:]
        assert len(images) == 1


def test_register_points_at_the_pdf_batches(merged):
    from openpyxl import load_workbook

    out, _, result = merged
    rows = list(load_workbook(result.register).active.iter_rows(values_only=True))[2:]
    assert [(r[9], r[10]) for r in rows] == [("batch-001.pdf", i) for i in (1, 2, 3, 4)] + [
        ("batch-002.pdf", 1), ("batch-002.pdf", 2)]


def test_a_page_looks_like_the_form(merged, tmp_path):
    """Render page 1 to PNG: an A4 page, mostly white, with ink where the form has it."""
    from PIL import Image

    out, _, _ = merged
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", out / "batches" / "batch-001.pdf",
                    tmp_path / "p"], check=True)
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    width, height = image.size
    assert abs(height / width - 297 / 210) < 0.01
    top = image.crop((0, 0, width, height * 20 // 297)).getextrema()  # the 25 mm top margin, less a bit
    title_band = image.crop((0, height * 25 // 297, width, height * 40 // 297)).getextrema()
    assert top[0] > 200  # margin: no ink
    assert title_band[0] < 100  # the title


def test_pdf_only_leaves_no_docx(tmp_path):
    rows = make_candidates(3, seed=4)
    result = merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                          MergeOptions(format="pdf", today=TODAY))
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith(".docx")]
    assert "batches/batch-001.pdf" in files and len([f for f in files if f.startswith("vouchers/")]) == 3
    assert result.merged == 3


def test_missing_engine_is_one_clear_line_and_nothing_is_written(tmp_path):
    result = run("merge", str(SAMPLES / "roster.xlsx"), "-o", str(tmp_path / "o"), "--format", "pdf",
                 env={"PATH": str(tmp_path)})  # a machine without LibreOffice
    assert result.exit_code == 1
    assert result.output.startswith("错误 Error: 无法生成 PDF") and "apt-get install" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_without_engine_the_default_is_docx_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without LibreOffice
    result = merge_roster(SAMPLES / "roster.xlsx", tmp_path / "out", MergeOptions(today=TODAY))
    assert result.format == "docx" and "LibreOffice" in result.notes[0]


def test_word_engine_is_refused_clearly_on_linux(tmp_path):
    result = run("merge", str(SAMPLES / "roster.xlsx"), "-o", str(tmp_path / "o"),
                                      "--format", "pdf", "--pdf-engine", "word")
    assert result.exit_code == 1 and "Microsoft Word" in result.output


def _batch(tmp_path, name: str, count: int = 2):
    from fjvoucher.roster.checks import check_roster
    from fjvoucher.word.master import prepare_template
    from fjvoucher.word.render import Voucher, VoucherRenderer, voucher_context

    candidates = check_roster(write_roster_xlsx(tmp_path / f"{name}.xlsx", make_candidates(count)),
                              keep=True).candidates
    path = tmp_path / f"{name}.docx"
    path.write_bytes(VoucherRenderer(prepare_template()).batch([Voucher(voucher_context(c)) for c in candidates]))
    return PdfJob(path, tmp_path / "pdf" / f"{name}.pdf", count)


def test_a_failing_batch_is_named_and_the_others_still_finish(tmp_path):
    good, bad = _batch(tmp_path, "good"), _batch(tmp_path, "bad")
    bad.docx.write_bytes(b"PK\x03\x04 this is not a document")
    converter = LibreOfficeConverter(find_soffice(), tmp_path / "work", workers=1)
    converter.submit(good)
    converter.submit(bad)
    failures = converter.finish()
    assert [f.job.docx.name for f in failures] == ["bad.docx"]
    assert count_pages(good.pdf) == 2 and not bad.pdf.exists()


def test_a_hanging_libreoffice_is_killed_and_its_batch_retried_once(tmp_path):
    """A stand-in soffice: it hangs on one file and, for the others, delivers a PDF that the real
    LibreOffice made beforehand, so the short timeout never races a real conversion."""
    good, hang = _batch(tmp_path, "good"), _batch(tmp_path, "hang")
    ready = LibreOfficeConverter(find_soffice(), tmp_path / "real", workers=1)
    ready.submit(PdfJob(good.docx, tmp_path / "ready.pdf", 2))
    assert not ready.finish()
    calls = tmp_path / "calls.txt"
    stand_in = tmp_path / "soffice"
    stand_in.write_text(f"""#!/bin/sh
echo "$*" >> {calls}
case "$1" in --version) echo "LibreOffice 7.4.7.2"; exit 0;; esac
while [ $# -gt 0 ]; do
  case "$1" in
    --outdir) shift; out="$1";;
    *hang.docx) sleep 600;;
    *.docx) name=$(basename "$1" .docx); cp {tmp_path / "ready.pdf"} "$out/$name.pdf";;
  esac
  shift
done
""")
    stand_in.chmod(0o755)
    converter = LibreOfficeConverter(stand_in, tmp_path / "work", workers=1, timeout=(2, 0))
    converter.submit(good)
    converter.submit(hang)
    failures = converter.finish()
    assert [f.job.docx.name for f in failures] == ["hang.docx"] and "超过" in failures[0].reason
    assert count_pages(good.pdf) == 2  # converted before the hang in the same call: kept, not redone
    runs = [line for line in calls.read_text().splitlines() if "--convert-to" in line]
    assert len(runs) == 2 and "good.docx" in runs[0] and runs[1].endswith("hang.docx")  # together, then hang alone
    assert not subprocess.run(["pgrep", "-f", str(tmp_path / "work")], capture_output=True).stdout


def test_the_real_glyph_probe_finds_a_name_no_installed_font_can_draw(write_xlsx, rows):
    from fjvoucher.pdf.fonts import has_glyph

    if shutil.which("fc-list") is None:
        pytest.skip("needs fontconfig to know the installed fonts")
    rows[0]["name"] = "张\U00030000"  # CJK Extension G: no font here has it
    finding = validate(write_xlsx(rows), today=TODAY, glyphs=has_glyph).findings[0]
    assert (finding.code, finding.severity, finding.params["chars"]) == ("no-glyph", "warning", "\U00030000")


@needs_fonts("HanaMinA", "HanaMinB")
def test_doctor_names_the_font_that_covers_each_rare_block():
    lines = run("doctor").output.splitlines()
    block_b = next(line for line in lines if "Extension B" in line)
    assert "HanaMinB" in block_b and "HanaMinA" not in block_b
    assert "HanaMinA" in next(line for line in lines if "Extension A" in line)


def test_doctor_reports_the_engine_and_fonts():
    result = run("doctor")
    assert result.exit_code == 0
    assert "[正常 ok] LibreOffice:" in result.output and "SimSun maps to" in result.output


def test_ctrl_c_during_conversion_stops_libreoffice_and_leaves_no_partial_file(tmp_path, monkeypatch):
    from fjvoucher.word import render

    rows = make_candidates(12, seed=8)
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows)
    original, calls = render.VoucherRenderer.batch, {"n": 0}

    def interrupt_third_batch(self, vouchers, bodies=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # while LibreOffice converts the first two
        return original(self, vouchers, bodies)

    monkeypatch.setattr(render.VoucherRenderer, "batch", interrupt_third_batch)
    with pytest.raises(KeyboardInterrupt):
        merge_roster(roster, tmp_path / "out", MergeOptions(format="pdf", batch_size=4, today=TODAY))
    assert not subprocess.run(["pgrep", "-f", str(tmp_path / "out")], capture_output=True).stdout
    assert not list((tmp_path / "out").glob(".fjvoucher-pdf-*"))
    for pdf in (tmp_path / "out").rglob("*.pdf"):
        assert count_pages(pdf) is not None  # whatever exists is complete
    monkeypatch.undo()
    result = merge_roster(roster, tmp_path / "out", MergeOptions(format="pdf", batch_size=4, today=TODAY))
    assert not result.pdf_failures and len(list((tmp_path / "out" / "vouchers").glob("*.pdf"))) == 12


def test_an_unexpected_error_in_a_worker_fails_its_batches_loudly(tmp_path, monkeypatch):
    from fjvoucher.pdf import libreoffice

    def broken(produced, job):
        raise OSError("disk full")

    monkeypatch.setattr(libreoffice, "finish_job", broken)
    job = _batch(tmp_path, "one")
    converter = LibreOfficeConverter(find_soffice(), tmp_path / "work", workers=1)
    converter.submit(job)
    failures = converter.finish()
    assert [f.job for f in failures] == [job] and "disk full" in failures[0].reason


CALC = Path("/usr/lib/libreoffice/program/libsclo.so")


@pytest.mark.skipif(not CALC.exists(), reason="needs LibreOffice Calc (libreoffice-calc-nogui, installed by setup.sh)")
def test_the_register_and_the_report_print_one_page_wide_with_the_header_on_every_page(tmp_path):
    rows = make_candidates(40, seed=41)
    result = merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                          MergeOptions(format="docx", per_candidate=False, ledger=tmp_path / "l.db", today=TODAY))
    report = tmp_path / "report.xlsx"
    month = f"{dt.date.today():%Y-%m}"  # the month the merge ran in: the report is by events
    assert run("report", "--month", month, "-o", report, "--ledger", tmp_path / "l.db").exit_code == 0
    register = tmp_path / "register.xlsx"
    register.write_bytes(result.register.read_bytes())
    subprocess.run([str(find_soffice()), f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(register), str(report)],
                   capture_output=True, timeout=180, check=True)
    for name, header in (("register.pdf", "领取人签名"), ("report.pdf", "证书编号")):
        info = poppler("pdfinfo", tmp_path / name)
        assert "841.89 x 595.3" in info  # A4 landscape
        pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
        first_sheet = [page for page in range(1, pages + 1) if name == "register.pdf" or "本月发放" in poppler(
            "pdftotext", "-f", page, "-l", page, tmp_path / name, "-")]  # the title is repeated on every page
        assert len(first_sheet) >= 2
        for page in first_sheet:
            assert header in poppler("pdftotext", "-f", page, "-l", page, tmp_path / name, "-")
    text = poppler("pdftotext", "-layout", "-f", 1, "-l", 1, tmp_path / "register.pdf", "-")
    assert all(word in text for word in ("序号", "姓名", "领取人签名", "领取日期", "页码"))  # every column on page 1


def test_a_per_candidate_pdf_carries_only_its_own_glyphs(tmp_path):
    rows = make_candidates(50, seed=42)
    rows[7]["name"] = "王𪚥"  # a rare character: a font subset of its own
    merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                 MergeOptions(batch_size=50, ledger=tmp_path / "l.db", today=TODAY))
    batch = tmp_path / "out" / "batches" / "batch-001.pdf"
    singles = {row["name"]: tmp_path / "out" / "vouchers" / f"{row['certificate_no']}_{row['name']}.pdf"
               for row in rows}
    rare = singles.pop("王𪚥")
    sizes = sorted(p.stat().st_size for p in singles.values())
    assert sizes[-1] < 40 * 1024 < batch.stat().st_size / 2  # no photo: under 40 KB each
    assert rare.stat().st_size < 44 * 1024  # a second font (HanaMin) for the rare character
    assert "王𪚥" in poppler("pdftotext", rare, "-")
    fonts = poppler("pdffonts", rare).splitlines()[2:]
    assert fonts and all(" yes yes " in line for line in fonts)  # embedded, subset
    text = "".join(poppler("pdftotext", singles[rows[0]["name"]], "-").split())
    assert rows[0]["name"] in text and "本凭证自核发之日起1年内有效" in text
    for page, row in enumerate(rows[:12], start=1):  # every glyph of the page kept: the same text as the batch's
        single = rare if row["name"] == "王𪚥" else singles[row["name"]]
        assert poppler("pdftotext", single, "-") == poppler("pdftotext", "-f", page, "-l", page, batch, "-")
        assert drawn_alike(batch, page, single)  # and the same outlines: text alone comes from ToUnicode


def test_the_page_text_parser_finds_each_fonts_codes():
    from fjvoucher.pdf.fontsubset import TrueType, codes_by_font

    content = b"BT /F1 12 Tf <0102> Tj [<03> -20 <0405>] TJ /F2 9 Tf (a\\(b\\051) Tj ET"
    assert codes_by_font(content) == {"F1": {1, 2, 3, 4, 5}, "F2": {ord("a"), ord("("), ord("b"), ord(")")}}
    assert TrueType.parse(b"not a font at all") is None


def test_two_subsets_of_one_face_on_a_page_become_one_font_program(tmp_path):
    """A batch with more than 256 glyphs of UMing gets two subsets; a page showing both is cut with one
    (LibreOffice's batches: what the drawing engine cannot prove, and `--pdf-engine libreoffice`)."""
    from pypdf import PdfReader

    rows = make_candidates(300, seed=43)
    merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                 MergeOptions(format="pdf", batch_size=300, ledger=tmp_path / "l.db", today=TODAY,
                              pdf_engine="libreoffice"))
    batch = tmp_path / "out" / "batches" / "batch-001.pdf"
    pages = PdfReader(batch).pages
    two = [i for i, page in enumerate(pages)
           if len({f.get_object()["/BaseFont"] for f in page["/Resources"]["/Font"].values()}) >= 2
           and page.get_contents().get_data().count(b" Tf") and b"/F2 " in page.get_contents().get_data()]
    assert two, "no page shows two subsets: the test needs more glyphs"
    singles = [tmp_path / "out" / "vouchers" / f"{row['certificate_no']}_{row['name']}.pdf" for row in rows]
    for i in two[:10]:
        fonts = poppler("pdffonts", singles[i]).splitlines()[2:]
        assert len([f for f in fonts if "UMing" in f]) == 1, fonts
        assert poppler("pdftotext", singles[i], "-") == poppler("pdftotext", "-f", i + 1, "-l", i + 1, batch, "-")
        assert drawn_alike(batch, i + 1, singles[i])
    # Every voucher, not a sample: this batch's largest page was 40,983 bytes before glyphs were numbered
    # anew and dictionaries packed.
    assert max(single.stat().st_size for single in singles) < 40 * 1024
    assert all(single.read_bytes().startswith(b"%PDF-1.5") for single in singles)  # packed, not left as written


def test_a_rerun_writes_byte_identical_batch_pdfs_dated_by_the_ledger(tmp_path):
    from fjvoucher.ledger.store import Ledger
    from support import Clock

    roster = write_roster_xlsx(tmp_path / "r.xlsx", make_candidates(3, seed=22))
    clock = Clock(dt.datetime(2009, 6, 12, 9, 30))
    options = MergeOptions(batch_size=2, today=TODAY, ledger=tmp_path / "ledger.db", clock=clock)
    outputs = []
    for run_number in range(2):
        out = tmp_path / f"out{run_number}"
        merge_roster(roster, out, options)
        outputs.append({p.name: p.read_bytes() for p in sorted((out / "batches").glob("*.pdf"))})
        clock.set(2009, 7, 1)  # a month later: the documents still carry the vouchers' issue time
    assert outputs[0] == outputs[1] and len(outputs[0]) == 2
    info = poppler("pdfinfo", tmp_path / "out1" / "batches" / "batch-001.pdf")
    with Ledger(tmp_path / "ledger.db") as ledger:
        assert ledger.issue_time(["3501-2009-000001"]) == dt.datetime(2009, 6, 12, 9, 30)
    assert "2009" in next(line for line in info.splitlines() if line.startswith("CreationDate"))
    subprocess.run(["qpdf", "--check", tmp_path / "out1" / "batches" / "batch-001.pdf"], check=True,
                   capture_output=True)


def printed_sizes(pdf: Path, page: int) -> dict[str, float]:
    """Return the size in points each piece of text on `page` (0-based) prints at, scaling included."""
    from pypdf import PdfReader

    sizes = {}

    def visit(text, cm, tm, font, size):
        if text.strip():
            sizes[text.strip()] = round(size * abs(tm[3]) * abs(cm[3]), 2)

    PdfReader(pdf).pages[page].extract_text(visitor_text=visit)
    return sizes


@pytest.mark.skipif(not CALC.exists(), reason="needs LibreOffice Calc (libreoffice-calc-nogui, installed by setup.sh)")
def test_the_monthly_report_printed_by_calc_is_readable_on_a4_landscape(tmp_path):
    import os

    from fjvoucher.pdf.fonts import font_environment

    merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", make_candidates(30, seed=42)), tmp_path / "out",
                 MergeOptions(format="docx", per_candidate=False, ledger=tmp_path / "l.db", today=TODAY))
    report = tmp_path / "report.xlsx"
    month = f"{dt.date.today():%Y-%m}"
    assert run("report", "--month", month, "-o", report, "--ledger", tmp_path / "l.db").exit_code == 0
    (tmp_path / "fonts").mkdir()
    subprocess.run([str(find_soffice()), f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(report)], capture_output=True, timeout=180,
                   check=True, env={**os.environ, **font_environment(tmp_path / "fonts")})
    pdf = tmp_path / "report.pdf"
    assert "841.89 x 595.3" in poppler("pdfinfo", pdf)
    first = poppler("pdftotext", "-layout", "-f", 1, "-l", 1, pdf, "-")
    assert all(word in first for word in ("序号", "凭证编号", "身份证号", "证书编号", "有效期至", "月末状态"))
    sizes = printed_sizes(pdf, 0)
    assert min(sizes.values()) >= 9  # 10 pt, the page hardly shrunk to fit its width
    header_lines = first.split("凭证编号")[0].splitlines()[-3:] + first.split("凭证编号")[1].splitlines()[:3]
    assert any("理论知" in line for line in header_lines)  # the wrapped header sits in its own raised row
    title_line = next(line for line in first.splitlines() if "本月发放" in line)
    assert "理论" not in title_line and "序号" not in title_line  # the header does not run into the title
    last = poppler("pdftotext", "-layout", "-f", 2, "-l", 2, pdf, "-")
    assert "制表人" in first + last and "审核人" in first + last and "盖章" in first + last


def test_group_by_prints_one_batch_pdf_per_group(tmp_path):
    rows = make_candidates(5, seed=23)
    for row, session in zip(rows, ["第2批", "第1批", "第2批", "第1批", "第2批"], strict=True):
        row["session"] = session
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows, extra_headers={"考试批次": "session"})
    result = merge_roster(roster, tmp_path / "out", MergeOptions(group_by="考试批次", per_candidate=False, today=TODAY,
                                                                 ledger=tmp_path / "l.db"))
    assert not result.pdf_failures and [g.value for g in result.groups] == ["第1批", "第2批"]
    assert [count_pages(tmp_path / "out" / g / "batches" / "batch-001.pdf") for g in ("第1批", "第2批")] == [2, 3]
