"""The drawing engine's fallback, voucher by voucher: a voucher it cannot draw is printed by LibreOffice, the
others around it stay drawn, and every batch PDF holds its pages in roster order.

Eight vouchers, four a batch; the second of batch 1 and the third of batch 2 print an occupation one
character wider than its cell's first line (LibreOffice wraps it, the drawing engine does not).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.pdf.libreoffice import LibreOfficeConverter, find_soffice
from fjvoucher.pdf.pages import count_pages
from support import SAMPLES, TODAY
from support.alike import differences
from support.synthetic import make_candidates, write_roster_xlsx

pytestmark = [pytest.mark.slow, pytest.mark.skipif(find_soffice() is None or shutil.which("pdftoppm") is None,
                                reason="LibreOffice and poppler-utils are installed by scripts/setup.sh")]

ONE_OVER = "中" * 20  # the occupation cell's first line holds 19 characters at 12 pt
UNDRAWN = {1, 6}  # rows (from 0) the drawing engine cannot draw: page 2 of batch 1, page 3 of batch 2
TOO_WIDE = "超出单元格第一行 (wider than the cell's first line)"


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    """The roster merged twice by the default engine and once by LibreOffice alone; LibreOffice's calls listed."""
    folder = tmp_path_factory.mktemp("fallback")
    rows = make_candidates(8, seed=5)
    for i, row in enumerate(rows):
        row["voucher_no"] = f"35012009{i + 1:05d}"
        if i in UNDRAWN:
            row["occupation"] = ONE_OVER
    roster = write_roster_xlsx(folder / "r.xlsx", rows)
    calls: dict[str, list[list[tuple[str, int]]]] = {}
    convert = LibreOfficeConverter._convert
    results = {}
    for run, engine in (("auto", "auto"), ("again", "auto"), ("libreoffice", "libreoffice")):
        heard = calls.setdefault(run, [])

        def counted(self, jobs, profile, outdir, heard=heard):
            heard.append([(job.docx.name, job.pages) for job in jobs])
            return convert(self, jobs, profile, outdir)

        with pytest.MonkeyPatch.context() as patch:  # counted, still run: the real LibreOffice converts
            patch.setattr(LibreOfficeConverter, "_convert", counted)
            results[run] = merge_roster(roster, folder / run, MergeOptions(batch_size=4, today=TODAY,
                                                                            pdf_engine=engine))
    return folder, rows, results, calls


def _page_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), pdf, "-"], capture_output=True,
                          text=True, check=True).stdout


def _drawn_pages(pdf: Path) -> list[bool]:
    """Return, page by page, whether the drawing engine drew it (its page stands on the drawn background /BG)."""
    from pypdf import PdfReader

    return ["/BG" in (page["/Resources"].get("/XObject") or {}) for page in PdfReader(pdf).pages]


def test_only_the_undrawable_vouchers_went_to_libreoffice_and_the_summary_says_why(merged):
    _, _, results, _ = merged
    assert not results["auto"].pdf_failures
    assert [n for n in results["auto"].notes if n.startswith("PDF：")] == [
        f"PDF：直接绘制 6 张，由 LibreOffice 生成 2 张：{TOO_WIDE} 2 张 (drawn 6, LibreOffice 2)"]


def test_the_undrawn_vouchers_of_both_batches_went_to_one_libreoffice_run(merged):
    """One LibreOffice call converted one DOCX holding only the two undrawn vouchers, in batch order; no batch DOCX."""
    _, _, _, calls = merged
    assert calls["auto"] == [[("fjvoucher-fallback-001.docx", 2)]]
    assert sorted(job for call in calls["libreoffice"] for job in call) == [("batch-001.docx", 4),
                                                                           ("batch-002.docx", 4)]


def test_each_batch_holds_every_voucher_in_roster_order_drawn_where_it_could_be(merged):
    folder, rows, _, _ = merged
    for number in (1, 2):
        pdf = folder / "auto" / "batches" / f"batch-00{number}.pdf"
        assert count_pages(pdf) == 4
        batch = rows[4 * (number - 1):4 * number]
        for page, row in enumerate(batch, start=1):
            text = _page_text(pdf, page)
            assert row["voucher_no"] in text and row["name"] in text, (number, page)
        assert _drawn_pages(pdf) == [4 * (number - 1) + i not in UNDRAWN for i in range(4)]
    fonts = subprocess.run(["pdffonts", folder / "auto" / "batches" / "batch-001.pdf"], capture_output=True,
                           text=True, check=True).stdout.splitlines()[2:]
    assert len(fonts) == 2  # the drawn pages' one program, and the one cut for LibreOffice's page


def test_the_undrawn_vouchers_per_candidate_pdfs_are_libreoffices_and_read_right(merged):
    folder, rows, _, _ = merged
    singles = {p.name.split("_")[1][:-4]: p for p in (folder / "auto" / "vouchers").glob("*.pdf")}
    assert len(singles) == len(rows)
    for i, row in enumerate(rows):
        single = singles[row["name"]]
        assert _drawn_pages(single) == [i not in UNDRAWN], row["voucher_no"]
        assert row["voucher_no"] in _page_text(single, 1)
        assert single.stat().st_size <= 40 * 1024
    for i in UNDRAWN:
        text = _page_text(singles[rows[i]["name"]], 1)
        assert "中" * 19 in text and rows[i]["name"] in text  # the line wrapped as LibreOffice wraps it


def test_every_page_looks_as_libreoffice_alone_prints_it(merged):
    folder, _, _, _ = merged
    for number in (1, 2):
        ours, theirs = (folder / run / "batches" / f"batch-00{number}.pdf" for run in ("auto", "libreoffice"))
        for page in range(1, 5):
            assert differences(ours, page, theirs, page, folder / "cmp") == [], (number, page)


def test_a_rerun_writes_the_same_bytes(merged):
    folder, _, _, _ = merged
    first = sorted(p.relative_to(folder / "auto") for p in (folder / "auto").rglob("*.pdf"))
    assert first == sorted(p.relative_to(folder / "again") for p in (folder / "again").rglob("*.pdf"))
    assert len(first) == 2 + 8
    for name in first:
        assert (folder / "auto" / name).read_bytes() == (folder / "again" / name).read_bytes(), name


def test_a_failed_fallback_conversion_fails_its_batches_by_name_and_writes_no_pdf_of_them(tmp_path):
    """LibreOffice cannot read the fallback DOCX: both batches holding undrawn vouchers fail, naming the pages;
    a batch drawn whole is in place; neither failed batch leaves a batch PDF or a per-candidate PDF."""
    from fjvoucher.pdf.drawengine import DrawingConverter, plan_for
    from fjvoucher.pdf.jobs import PdfJob
    from fjvoucher.roster.checks import check_roster
    from fjvoucher.word.drawn import draw_record, probe_master
    from fjvoucher.word.master import prepare_template
    from fjvoucher.word.render import Voucher, VoucherRenderer, voucher_context

    template = prepare_template(None)
    soffice = find_soffice()
    plan, _ = plan_for(probe_master(template, VoucherRenderer(template), None), soffice, tmp_path / "probe")
    assert plan is not None
    candidates = check_roster(SAMPLES / "roster.xlsx", today=TODAY, keep=True).candidates[:9]
    converter = DrawingConverter(soffice, tmp_path / "work", plan, compose=lambda vouchers: b"not a DOCX")
    jobs = []
    for number in range(3):
        vouchers = [Voucher(voucher_context(c, voucher_no=f"NO-{number}-{i}"))
                    for i, c in enumerate(candidates[3 * number:3 * number + 3])]
        if number < 2:
            vouchers[1].context["occupation"] = ONE_OVER
        singles = [tmp_path / "out" / f"{number}-{i}.pdf" for i in range(3)]
        jobs.append(PdfJob(tmp_path / f"{number}.docx", tmp_path / "out" / f"batch-{number}.pdf", 3, singles,
                           None, [draw_record(v) for v in vouchers], vouchers))
        converter.submit(jobs[-1])
    failures = converter.finish()
    assert sorted(f.job.pdf.name for f in failures) == ["batch-0.pdf", "batch-1.pdf"]
    assert all(f.reason.startswith("第 2 张由 LibreOffice 生成，转换失败 (pages 2 failed)") for f in failures)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["2-0.pdf", "2-1.pdf", "2-2.pdf", "batch-2.pdf"]
    assert not (tmp_path / "work").exists()


def test_a_merge_killed_while_libreoffice_prints_the_undrawn_vouchers_leaves_no_half_batch(tmp_path):
    """SIGKILL while the fallback DOCX is converted: the batches waiting for it have no PDF, every PDF there is
    is whole; the same merge run again writes them all."""
    import signal
    import sys
    import time

    rows = make_candidates(30, seed=83)
    for i in (3, 15, 27):
        rows[i]["occupation"] = ONE_OVER
    roster = write_roster_xlsx(tmp_path / "r.xlsx", rows)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "fjvoucher", "merge", str(roster), "-o", str(out), "-q", "--format", "pdf",
               "--batch-size", "10", "--pdf-engine", "auto", "--ledger", str(tmp_path / "l.db")]
    merge = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def fallback_running() -> bool:
        found = subprocess.run(["pgrep", "-af", "fjvoucher-fallback"], capture_output=True, text=True).stdout
        return str(out) in found

    deadline = time.monotonic() + 120
    while not fallback_running():
        assert merge.poll() is None and time.monotonic() < deadline, "no fallback run seen"
        time.sleep(0.02)
    merge.send_signal(signal.SIGKILL)
    merge.wait(timeout=30)
    assert not list((out / "batches").glob("*.pdf"))  # each batch waits for its LibreOffice page
    for pdf in (out / "vouchers").glob("*.pdf"):  # the drawn ones may be there: whole
        assert count_pages(pdf) == 1, pdf.name
    again = subprocess.run(command, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr.decode(errors="replace")
    assert [count_pages(p) for p in sorted((out / "batches").glob("*.pdf"))] == [10, 10, 10]
    assert len(list((out / "vouchers").glob("*.pdf"))) == 30
    assert not [p for p in out.rglob("*") if p.name.startswith(".") and p.suffix == ".tmp"]
