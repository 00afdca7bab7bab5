"""The drawing engine against LibreOffice: the same vouchers, page by page, in poppler and MuPDF.

One roster is merged twice, `--pdf-engine auto` (drawn where the probe proved the master) and
`--pdf-engine libreoffice`; every batch page and every per-candidate PDF must read and look the same.
The corpus: ordinary rows, mixed Han/Latin/digit/punctuation text, a value exactly as wide as its cell
and one a character wider, rare characters (Extension A and B), photos of the common ID-photo sizes and a
landscape one; vouchers with the verification code and QR, and a reissue (补发) with and without the QR.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fjvoucher.merging import MergeOptions, merge_roster
from fjvoucher.pdf.drawengine import plan_for
from fjvoucher.pdf.libreoffice import find_soffice
from fjvoucher.pdf.pages import count_pages
from fjvoucher.pdf.probe import Refused
from support import TODAY, needs_fonts, run
from support.alike import differences, text
from support.synthetic import make_candidates, make_photo, write_roster_xlsx
from support.word_master import word_master

pytestmark = [pytest.mark.slow, pytest.mark.skipif(find_soffice() is None or shutil.which("pdftoppm") is None,
                                reason="LibreOffice and poppler-utils are installed by scripts/setup.sh")]

SHAPES = [(295, 413), (358, 441), (390, 567), (413, 579), (413, 295), (300, 400)]  # ID photos, one landscape
AT_WIDTH = "中" * 19  # the occupation cell's first line holds 19 characters at 12 pt
ONE_OVER = "中" * 20


def corpus() -> list[dict]:
    """Return the rows, four a batch: drawable batches first, then one batch per kind of fallback."""
    rows = make_candidates(16, seed=22)
    rows[1]["occupation"] = "计算机CAD2级（操作员）·A-1、B"  # Han, Latin, digits, punctuation, Writer's spacing
    rows[2]["occupation"] = AT_WIDTH
    rows[3]["name"] = "欧阳Ali"
    rows[8]["occupation"] = ONE_OVER  # batch 3: one line a character too wide
    rows[12]["name"] = "王𪚥"  # batch 4: rare characters, Extension B and A (UMing lacks 㐀, HanaMinA has it)
    rows[13]["name"] = "李㐀"
    rows[14]["name"] = "张𠀋㐀"  # both missing from UMing: LibreOffice takes the face holding both
    for i, row in enumerate(rows):
        row["voucher_no"] = f"35012009{i + 1:05d}"
    return rows


def _master(kind: str, folder: Path) -> Path | None:
    """Return the master of `kind`: the bundled one (None), a Word MERGEFIELD one, or that one saved as .doc."""
    if kind == "bundled":
        return None
    if kind == "mergefield":
        return word_master(folder / "母版.docx")
    # LibreOffice's .doc keeps no INCLUDEPICTURE: the photo is a picture named 照片, the date parts named fields.
    source = word_master(folder / "母版.docx", photo_as="picture", parts_by_name=True)
    subprocess.run([str(find_soffice()), f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
                    "--convert-to", "doc:MS Word 97", "--outdir", str(folder), str(source)],
                   capture_output=True, timeout=120, check=True)
    return folder / "母版.doc"


@pytest.fixture(scope="module", params=["bundled", "mergefield", "doc"])
def both(tmp_path_factory, request):
    """The corpus merged by each engine (no ledger: the NOs are the roster's, so both print the same);
    the Word masters print its first two batches.  LibreOffice's .doc loses the name of the picture 照片, so that
    master prints its placeholder picture, never the photo: both engines draw the picture as the master's own."""
    folder = tmp_path_factory.mktemp(f"drawing-{request.param}")
    rows = corpus() if request.param == "bundled" else corpus()[:8]
    template = _master(request.param, folder)
    photos = folder / "photos"
    photos.mkdir()
    for i, row in enumerate(rows):
        size = SHAPES[i % len(SHAPES)]  # every batch holds photos of several shapes
        make_photo(photos / f"{row['id_number']}.jpg", seed=i, size=size)
    roster = write_roster_xlsx(folder / "r.xlsx", rows)
    results = {}
    for engine in ("auto", "libreoffice"):
        results[engine] = merge_roster(roster, folder / engine, MergeOptions(
            template=template, photos=photos, batch_size=4, today=TODAY, pdf_engine=engine))
    return folder, rows, results


def test_both_engines_write_the_same_files(both):
    folder, rows, results = both
    assert not results["auto"].pdf_failures and not results["libreoffice"].pdf_failures
    names = {e: sorted(p.relative_to(folder / e).as_posix() for p in (folder / e).rglob("*.pdf")) for e in results}
    assert names["auto"] == names["libreoffice"] and len(names["auto"]) == len(rows) // 4 + len(rows)


def test_fallbacks_are_counted_by_reason(both):
    folder, rows, results = both
    if folder.name.startswith("drawing-doc"):  # no photo printed: every voucher drawn, and the summary says so
        assert [n for n in results["auto"].notes if n.startswith("PDF：")] == [
            f"PDF：直接绘制 {len(rows)} 张，由 LibreOffice 生成 0 张 (drawn {len(rows)}, LibreOffice 0)"]
        return
    if len(rows) == 8:  # the MERGEFIELD master: both batches drawn, photos of six shapes among them
        assert [n for n in results["auto"].notes if n.startswith("PDF：")] == [
            "PDF：直接绘制 8 张，由 LibreOffice 生成 0 张 (drawn 8, LibreOffice 0)"]
        return
    note = next(n for n in results["auto"].notes if n.startswith("PDF："))
    # Counted by voucher: every shape was probed; only row 8 (a line one character too wide) is LibreOffice's.
    assert note == ("PDF：直接绘制 15 张，由 LibreOffice 生成 1 张："
                    "超出单元格第一行 (wider than the cell's first line) 1 张 (drawn 15, LibreOffice 1)")


def test_every_batch_page_reads_and_looks_as_libreoffice_draws_it(both):
    folder, _, _ = both
    for drawn in sorted((folder / "auto" / "batches").glob("*.pdf")):
        printed = folder / "libreoffice" / "batches" / drawn.name
        assert count_pages(drawn) == count_pages(printed)
        for page in range(1, count_pages(drawn) + 1):
            assert differences(drawn, page, printed, page, folder / "cmp") == [], (drawn.name, page)


def test_every_per_candidate_pdf_reads_and_looks_as_libreoffice_draws_it(both):
    folder, _, _ = both
    for single in sorted((folder / "auto" / "vouchers").glob("*.pdf")):
        other = folder / "libreoffice" / "vouchers" / single.name
        assert differences(single, 1, other, 1, folder / "cmp") == [], single.name


@pytest.mark.parametrize("both", ["bundled", "mergefield", "doc"], indirect=True)
def test_the_drawn_batch_is_drawn_not_converted(both):
    """The first batch is the drawing engine's own: its fonts are ours, one program per face."""
    folder, _, _ = both
    fonts = subprocess.run(["pdffonts", folder / "auto" / "batches" / "batch-001.pdf"], capture_output=True,
                           text=True, check=True).stdout.splitlines()[2:]
    theirs = subprocess.run(["pdffonts", folder / "libreoffice" / "batches" / "batch-001.pdf"],
                            capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert [line.split()[0].split("+")[0] for line in fonts] != [line.split()[0].split("+")[0] for line in theirs]
    assert len(fonts) == 1 and "UMingCN" in fonts[0]


def test_per_candidate_pdfs_without_photo_stay_under_40_kb(tmp_path):
    rows = make_candidates(8, seed=5)
    result = merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out",
                          MergeOptions(batch_size=8, today=TODAY))
    sizes = [p.stat().st_size for p in (tmp_path / "out" / "vouchers").glob("*.pdf")]
    assert any(n.startswith("PDF：直接绘制 8 张，由 LibreOffice 生成 0 张") for n in result.notes)  # all drawn
    assert len(sizes) == 8 and max(sizes) < 40 * 1024


def _justified_master(folder: Path, placeholder: str = "{{ occupation }}") -> Path:
    """Return the bundled master with the paragraph of `placeholder` justified at both ends (distributed)."""
    import zipfile

    from fjvoucher.word.master import default_master

    source = default_master()
    target = folder / "distributed.docx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "word/document.xml":
                xml = data.decode("utf-8")
                at = xml.index(placeholder)
                start = xml.rindex("<w:p>", 0, at) if "<w:p>" in xml[:at] else xml.rindex("<w:p ", 0, at)
                head = xml.index(">", start) + 1
                own = re.sub(r'<w:jc w:val="\w+"/>', "", xml[head:at])
                xml = xml[:head] + '<w:pPr><w:jc w:val="distribute"/></w:pPr>' + own + xml[at:] \
                    if "<w:pPr>" not in own else xml[:head] + own.replace(
                        "<w:pPr>", '<w:pPr><w:jc w:val="distribute"/>', 1) + xml[at:]
                data = xml.encode("utf-8")
            new.writestr(item, data)
    return target


def test_a_line_fixed_at_both_ends_is_refused_and_printed_by_libreoffice(tmp_path):
    from fjvoucher.word.drawn import probe_master
    from fjvoucher.word.master import prepare_template
    from fjvoucher.word.render import VoucherRenderer

    template = prepare_template(_justified_master(tmp_path))
    master = probe_master(template, VoucherRenderer(template), None)
    plan, refused = plan_for(master, find_soffice(), tmp_path / "work", cache=tmp_path / "cache")
    assert plan is None and refused
    cached = json.loads(next((tmp_path / "cache").glob("*.json")).read_text(encoding="utf-8"))
    assert cached == {"refused": refused}  # the next merge does not probe again


def test_the_probe_is_cached_per_master(tmp_path):
    from fjvoucher.word.drawn import probe_master
    from fjvoucher.word.master import prepare_template
    from fjvoucher.word.render import VoucherRenderer

    template = prepare_template(None)
    master = probe_master(template, VoucherRenderer(template), None)
    heard = []
    first, _ = plan_for(master, find_soffice(), tmp_path / "w1", cache=tmp_path / "cache",
                        note=lambda *a: heard.append(a))
    again, _ = plan_for(master, find_soffice(), tmp_path / "w2", cache=tmp_path / "cache",
                        note=lambda *a: heard.append(a))
    assert first is not None and first == again and heard == [(0, 1), (1, 1)]  # probed once, and said so


def test_a_new_photo_shape_is_placed_once_and_kept_with_the_cached_plan(tmp_path):
    """The cache key does not hold photo shapes: a merge printing a shape the cached plan lacks has LibreOffice place
    just that shape (one run), the plan in the cache grows, and the next merge probes nothing."""
    from fjvoucher.word.drawn import photo_shapes, probe_master
    from fjvoucher.word.master import prepare_template
    from fjvoucher.word.photos import PhotoInfo, load_photo
    from fjvoucher.word.render import VoucherRenderer

    template = prepare_template(None)
    photo = load_photo(make_photo(tmp_path / "p.jpg", seed=1))
    first, second = (photo_shapes(PhotoInfo("jpeg", w, h, 1) for w, h in sizes)
                     for sizes in ([(295, 413)], [(295, 413), (413, 295), (358, 441)]))
    heard = []
    plans = [plan_for(probe_master(template, VoucherRenderer(template), photo, shapes), find_soffice(),
                      tmp_path / f"w{i}", cache=tmp_path / "cache", note=lambda *a: heard.append(a))[0]
             for i, shapes in enumerate((first, second, second))]
    assert heard == [(0, 1), (1, 1), (0, 1), (1, 1)]  # the master, then the two new shapes; then nothing
    assert set(plans[0].photos) == {f"{cx},{cy}" for cx, cy in first}
    assert set(plans[1].photos) == set(plans[2].photos) == {f"{cx},{cy}" for cx, cy in second}
    assert all("refused" not in spot for spot in plans[2].photos.values())
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1


def test_refused_is_an_exception_with_its_reason():
    assert str(Refused("why")) == "why"


@needs_fonts("HanaMinB")
@pytest.mark.parametrize("both", ["bundled"], indirect=True)
def test_rare_characters_come_from_the_intended_faces(both):
    """Each rare character's glyph comes from HanaMinB (Extension B alone) or HanaMinA (with Extension A), in both
    engines: never from a Japanese face."""
    from pypdf import PdfReader

    folder, _, _ = both
    for engine in ("auto", "libreoffice"):
        reader = PdfReader(folder / engine / "batches" / "batch-004.pdf")
        faces = {}
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                text = font["/ToUnicode"].get_object().get_data()
                for char in "𪚥㐀𠀋":
                    if char.encode("utf-16-be").hex().upper().encode() in text.upper():
                        faces.setdefault(char, set()).add(str(font["/BaseFont"]).split("+")[-1])
        assert faces == {"𪚥": {"HanaMinB"}, "㐀": {"HanaMinA"}, "𠀋": {"HanaMinA"}}, engine


def _same_as_libreoffice(pdf: Path, docx: Path, pages: int, folder: Path) -> None:
    """Check that each page of the drawn `pdf` reads and looks as LibreOffice draws `docx` (poppler and MuPDF)."""
    from fjvoucher.pdf.jobs import PdfJob
    from fjvoucher.pdf.libreoffice import LibreOfficeConverter

    converter = LibreOfficeConverter(find_soffice(), folder / "lo")
    converter.submit(PdfJob(docx, folder / "libreoffice.pdf", pages))
    assert converter.finish() == []
    for page in range(1, pages + 1):
        assert differences(pdf, page, folder / "libreoffice.pdf", page, folder / "cmp") == [], (pdf.name, page)


def test_vouchers_with_a_qr_and_a_reissue_are_drawn_as_libreoffice_draws_them(tmp_path):
    """The master's {%p if qr %} branch (verification code and QR) and its reissue note, alone and with the QR:
    the probe rendered them, so such vouchers are drawn (not passed on), and read and look as LibreOffice
    draws the same DOCX."""
    from fjvoucher.merging import reissue_voucher

    rows = make_candidates(4, seed=9)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, row in enumerate(rows):
        make_photo(photos / f"{row['id_number']}.jpg", seed=i, size=SHAPES[i + 1])
    options = {"today": TODAY, "ledger": tmp_path / "l.db", "photos": photos}
    result = merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out", MergeOptions(
        batch_size=4, verify_url="https://jd.example.cn", **options))
    assert [n for n in result.notes if n.startswith("PDF：")] == [
        "PDF：直接绘制 4 张，由 LibreOffice 生成 0 张 (drawn 4, LibreOffice 0)"]
    _same_as_libreoffice(tmp_path / "out" / "batches" / "batch-001.pdf",
                         tmp_path / "out" / "batches" / "batch-001.docx", 4, tmp_path / "qr")
    for verify, name in (("https://jd.example.cn", "with-qr"), ("", "plain")):
        again = reissue_voucher(_voucher_no(tmp_path / "l.db", 1 if verify else 2), "遗失", tmp_path / name,
                                MergeOptions(verify_url=verify or None, **options))
        assert not again.pdf_failures
        pdf = next((tmp_path / name / "batches").glob("*.pdf"))
        assert "补发" in text(pdf, 1) and ("真伪查询码" in text(pdf, 1)) == bool(verify)
        assert _drawn(pdf) and _drawn(next((tmp_path / name / "vouchers").glob("*.pdf"))), name
        _same_as_libreoffice(pdf, pdf.with_suffix(".docx"), 1, tmp_path / f"cmp-{name}")


def _drawn(pdf: Path) -> bool:
    """Return whether the drawing engine wrote `pdf` (LibreOffice names itself as the producer; it does not)."""
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    return "Producer:" not in info


def _voucher_no(ledger: Path, number: int) -> str:
    """Return the NO of the ledger's voucher `number` (in issuing order)."""
    import sqlite3

    with sqlite3.connect(ledger) as db:
        row = db.execute("SELECT voucher_no FROM vouchers ORDER BY rowid LIMIT 1 OFFSET ?", (number - 1,)).fetchone()
    return row[0]


def test_a_branch_the_probe_cannot_prove_is_refused_alone_said_and_printed_by_libreoffice(tmp_path):
    """The QR line justified at both ends: the plain page and the reissue note are drawn, the QR branches are not;
    `template check` says which and why, and a merge passes those vouchers on, counted."""
    master = _justified_master(tmp_path, "真伪查询码 {{ verify_code }}")
    said = run("template", "check", str(master)).output
    engine = next(line for line in said.splitlines() if line.startswith("PDF 引擎"))
    assert "直接绘制：探测通过" in engine and "以下凭证也直接绘制 (drawn too)：补发凭证 (reissue note)；" in engine
    assert "真伪查询码和二维码 (verification code and QR) 由 LibreOffice 生成：二维码随文字移动" in engine
    rows = make_candidates(4, seed=9)
    result = merge_roster(write_roster_xlsx(tmp_path / "r.xlsx", rows), tmp_path / "out", MergeOptions(
        template=master, batch_size=4, today=TODAY, ledger=tmp_path / "l.db", verify_url="https://jd.example.cn"))
    assert any("真伪查询码和二维码 (verification code and QR) 4 张" in n for n in result.notes)
    assert not _drawn(tmp_path / "out" / "batches" / "batch-001.pdf")
