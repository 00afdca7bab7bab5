"""Benchmark PDF output against LibreOffice used the plain ways, on the same machine, one after another.

Usage: python bench/bench_pdf.py [ROWS] [BIG_ROWS] [--undrawn]   (defaults 5000 and 0; 150000 for the province's peak;
--undrawn: the BIG_ROWS roster has one voucher in 100 the drawing engine leaves to LibreOffice, as in 6)

1. per-file loop: `soffice --convert-to pdf` once per voucher (on 8 vouchers);
2. one LibreOffice converting one ready 500-page batch (profile warmed first, default PDF filter);
3. `fjvoucher merge --format pdf --no-per-candidate`: ROWS vouchers from the roster to finished batch PDFs,
   DOCX generation included (whole process; the default engine draws what the master's probe proved);
4. the same with per-candidate DOCX and PDF (`--format both`, the default job);
5. BIG_ROWS rows, batch PDFs and DOCX, whole process (target under 3 minutes on 2 cores, memory under 500 MB);
6. as 3, one voucher in 100 undrawable (a line one character too wide): those go, voucher by voucher, to one
   LibreOffice run at the end and are spliced into their batches.
Targets: 3 and 4 ≥ 10× the pages/s of 2.  Output goes to RAM (/dev/shm) unless --on-disk.
The probe of the bundled master is cached: the first merge of a fresh machine pays it once (seconds).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import fmt_mb, measure_fjvoucher, photo_folder, quiet_disk, roster, scratch_dir


def soffice_convert(soffice: str, profile: Path, outdir: Path, files: list[Path]) -> float:
    """Return the seconds one plain LibreOffice call takes to convert `files`."""
    started = time.perf_counter()
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(outdir), *map(str, files)], check=True, capture_output=True)
    return time.perf_counter() - started


SIZES: dict[str, list[int]] = {}


def merge_rate(path: Path, photos: Path | None, rows: int, *extra: str) -> tuple[float, str]:
    """Return the pages/s of a whole `fjvoucher merge`, and its peak memory (own; LibreOffice's).

    The sizes of the per-candidate PDFs it wrote are kept in SIZES, by whether photos were given.
    """
    with tempfile.TemporaryDirectory(dir=scratch_dir()) as tmp:
        quiet_disk()
        with_photos = ["--photos", str(photos)] if photos else []
        seconds, own, tree = measure_fjvoucher(["merge", str(path), *with_photos, "-o", tmp, "-q",
                                                "--ledger", str(Path(tmp) / "ledger.db"), *extra])
        SIZES["with photo" if photos else "without photo"] = [
            p.stat().st_size for p in (Path(tmp) / "vouchers").glob("*.pdf")]
    return rows / seconds, (f"peak {fmt_mb(own)} fjvoucher, {fmt_mb(tree)} the largest process it ran "
                            "(LibreOffice or a drawing process)")


def main(rows: int, big_rows: int) -> None:
    from fjvoucher.pdf.libreoffice import find_soffice

    soffice = str(find_soffice())
    path = roster(rows)
    photos = photo_folder(path, rows)
    with tempfile.TemporaryDirectory(dir=scratch_dir()) as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-m", "fjvoucher", "merge", str(path), "--photos", str(photos), "-o",
                        str(work / "docx"), "-q", "--format", "docx", "--batch-size", "500", "--ledger",
                        str(work / "ledger.db")], check=True)
        profile = work / "profile"
        singles = sorted((work / "docx" / "vouchers").glob("*.docx"))[:8]
        soffice_convert(soffice, profile, work / "warm", singles[:1])  # first start creates the profile
        quiet_disk()
        per_file = len(singles) / sum(soffice_convert(soffice, profile, work / "loop", [f]) for f in singles)
        quiet_disk()
        one_batch = 500 / soffice_convert(soffice, profile, work / "one",
                                          [work / "docx" / "batches" / "batch-001.docx"])
    pdf_only, _ = merge_rate(path, photos, rows, "--format", "pdf", "--no-per-candidate")
    everything, memory = merge_rate(path, photos, rows, "--format", "both")
    print(f"vouchers: {rows}, photos: 500 distinct; output in {scratch_dir() or tempfile.gettempdir()}")
    print(f"per-file loop (soffice once per voucher):        {per_file:7.1f} pages/s")
    print(f"one LibreOffice, one ready 500-page batch:        {one_batch:7.1f} pages/s")
    print(f"fjvoucher merge → batch PDFs (DOCX included):     {pdf_only:7.1f} pages/s  "
          f"= {pdf_only / one_batch:.2f}× one LibreOffice (target ≥ 10×), "
          f"{pdf_only / per_file:.0f}× the per-file loop")
    print(f"fjvoucher merge → batch + per-candidate DOCX/PDF: {everything:7.1f} pages/s  "
          f"= {everything / one_batch:.2f}× one LibreOffice (target ≥ 10×); {memory}")
    mixed = roster(rows, undrawn=100)
    with_undrawn, _ = merge_rate(mixed, photo_folder(mixed, rows), rows, "--format", "pdf", "--no-per-candidate")
    print(f"the same, one voucher in 100 undrawable:          {with_undrawn:7.1f} pages/s  "
          f"= {with_undrawn / one_batch:.2f}× one LibreOffice; {with_undrawn / pdf_only:.2f}× all drawn")
    merge_rate(path, None, rows, "--format", "both")  # the same without photos, for the PDF sizes
    for kind, sizes in SIZES.items():
        if sizes:
            print(f"per-candidate PDF {kind}: mean {sum(sizes) / len(sizes) / 1024:.1f} KB, largest "
                  f"{max(sizes) / 1024:.1f} KB; 150,000 of them ≈ {sum(sizes) / len(sizes) * 150_000 / 2**30:.1f} GB "
                  "(target: under 40 KB without photo)")
    if big_rows:
        big = roster(big_rows, undrawn=100 if "--undrawn" in sys.argv else 0)
        rate, memory = merge_rate(big, photo_folder(big, big_rows), big_rows, "--format", "both", "--no-per-candidate")
        print(f"fjvoucher merge, {big_rows} rows → batch DOCX and PDF: {big_rows / rate / 60:.1f} minutes "
              f"({rate:.0f} pages/s), {memory} (target under 3 minutes, 500 MB)")


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    main(numbers[0] if numbers else 5000, numbers[1] if len(numbers) > 1 else 0)
