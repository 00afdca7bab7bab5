"""Benchmark DOCX generation against the plain docxtpl loop, on the same machine, master and photos.

Usage: python bench/bench_merge.py [ROWS] [BIG_ROWS] [--on-disk]   (defaults 2000 and 150000; 0 skips BIG_ROWS)
Output goes to RAM (/dev/shm) unless --on-disk: see common.scratch_dir for why.

1. plain docxtpl: open the master, render (photo as InlineImage), save; per record (first 300 records);
2. fjvoucher per-candidate DOCX: render + package + atomic write, per record;
3. fjvoucher batch DOCX: 500 vouchers per document;
4. the whole `fjvoucher merge` process on BIG_ROWS rows with photos: time and peak memory.
Targets: per-candidate ≥ 40×, batch ≥ 100× the plain loop; BIG_ROWS ≤ 2 minutes, < 400 MB.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import fmt_mb, measure_fjvoucher, photo_folder, quiet_disk, roster, scratch_dir

PLAIN_RECORDS = 300


def word_master(target: Path, header: bool = False) -> Path:
    """Write a Word mail-merge master equal to the bundled one (the tests' helper, reused, not copied);
    with `header`, its header prints each voucher's NO and name (batches then use one section a voucher)."""
    from support.word_master import complex_field
    from support.word_master import word_master as write

    fields = complex_field(" MERGEFIELD 凭证编号 ", "«凭证编号»", "<w:rPr/>") + complex_field(
        " MERGEFIELD 姓名 ", "«姓名»", "<w:rPr/>")
    return write(target, header=fields if header else None)


def plain_docxtpl_rate(contexts: list[dict], photo: Path, out: Path) -> float:
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    from fjvoucher.word.master import default_master

    master = str(default_master())
    quiet_disk()
    started = time.perf_counter()
    for i, context in enumerate(contexts):
        template = DocxTemplate(master)
        template.render({**context, "photo": InlineImage(template, str(photo), width=Mm(24.5))}, autoescape=True)
        template.save(out / f"plain_{i}.docx")
    return len(contexts) / (time.perf_counter() - started)


def ours_rates(vouchers, out: Path, master: Path | None = None) -> tuple[float, float]:
    from fjvoucher.atomic import write_bytes_atomic
    from fjvoucher.word.master import prepare_template
    from fjvoucher.word.render import VoucherRenderer

    renderer = VoucherRenderer(prepare_template(master))
    quiet_disk()
    started = time.perf_counter()
    for i, voucher in enumerate(vouchers):
        write_bytes_atomic(out / f"one_{i}.docx", renderer.single(voucher))
    single = len(vouchers) / (time.perf_counter() - started)
    quiet_disk()
    started = time.perf_counter()
    for start in range(0, len(vouchers), 500):
        write_bytes_atomic(out / f"batch_{start}.docx", renderer.batch(vouchers[start:start + 500]))
    batch = len(vouchers) / (time.perf_counter() - started)
    return single, batch


def main(rows: int, big_rows: int) -> None:
    from fjvoucher.roster.checks import check_roster
    from fjvoucher.word.photos import load_photo
    from fjvoucher.word.render import Voucher, voucher_context
    from support.synthetic import make_photo

    path = roster(rows)
    candidates = check_roster(path, keep=True).candidates
    with tempfile.TemporaryDirectory(dir=scratch_dir()) as tmp:
        out = Path(tmp)
        photo_path = make_photo(out / "photo.jpg", seed=1)
        photo = load_photo(photo_path)
        contexts = [voucher_context(c) for c in candidates]
        plain = plain_docxtpl_rate(contexts[:PLAIN_RECORDS], photo_path, out)
        single, batch = ours_rates([Voucher(c, photo) for c in contexts], out)
        word_single, word_batch = ours_rates([Voucher(c, photo) for c in contexts], out, word_master(out / "m.docx"))
        _, section_batch = ours_rates([Voucher(c, photo) for c in contexts], out, word_master(out / "h.docx", True))
    print(f"rows: {rows} (plain docxtpl timed on the first {PLAIN_RECORDS}); "
          f"output in {scratch_dir() or tempfile.gettempdir()}")
    print(f"plain docxtpl loop:          {plain:8.0f} vouchers/s  ({1000 / plain:.2f} ms each)")
    print(f"fjvoucher per-candidate DOCX: {single:8.0f} vouchers/s  ratio {single / plain:5.1f}× (target ≥ 40×)")
    print(f"fjvoucher batch DOCX (500):   {batch:8.0f} vouchers/s  ratio {batch / plain:5.1f}× (target ≥ 100×)")
    print(f"Word MERGEFIELD master, per-candidate: {word_single:6.0f} vouchers/s  ratio {word_single / plain:5.1f}×; "
          f"batch: {word_batch:6.0f} vouchers/s  ratio {word_batch / plain:5.1f}×")
    print(f"  batch, shared header (one section):     {word_batch:6.0f} vouchers/s; "
          f"NO and name in the header (a section a voucher): {section_batch:6.0f} vouchers/s  "
          f"ratio {section_batch / plain:5.1f}×")
    if big_rows:
        import datetime as dt

        big = roster(big_rows, issued=dt.date.today() - dt.timedelta(days=10))  # valid today: no warning a row
        photos = photo_folder(big, big_rows)
        quiet_disk()
        with tempfile.TemporaryDirectory(dir=scratch_dir()) as tmp:
            seconds, peak, _ = measure_fjvoucher(["merge", str(big), "--photos", str(photos), "-o", tmp, "-q",
                                                  "--format", "docx", "--ledger", str(Path(tmp) / "ledger.db")])
        print(f"fjvoucher merge, {big_rows} rows with photos, per-candidate + batches + register (whole process): "
              f"{seconds:.1f} s, peak {fmt_mb(peak)} (target ≤ 120 s, < 400 MB)")


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    main(numbers[0] if numbers else 2000, numbers[1] if len(numbers) > 1 else 150_000)
