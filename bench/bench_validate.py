"""Benchmark `fjvoucher validate` against openpyxl read-only merely iterating the same roster.

Usage: python bench/bench_validate.py [ROWS]   (default 150000, the province's peak)
Both run as whole processes on the same file, one after the other, on this machine.  A second
roster of the same size has a warning on every row (the 2009 vouchers, expired when validated
today): findings must stay compact.  A third has two warnings on every row, validated with
--format json and as text.  Target: ratio ≤ 1.0 and peak memory below 400 MB for all.
"""

from __future__ import annotations

import datetime as dt
import sys

from common import fmt_mb, measure, roster

OPENPYXL_ITERATE = (
    "import sys, openpyxl\n"
    "book = openpyxl.load_workbook(sys.argv[1], read_only=True, data_only=True)\n"
    "for row in book.worksheets[0].iter_rows(values_only=True): pass\n"
)


def main(rows: int) -> None:
    clean = roster(rows, issued=dt.date.today() - dt.timedelta(days=10))
    warned = roster(rows)
    validate_s, validate_mb = measure([sys.executable, "-m", "fjvoucher", "validate", str(clean)])
    warned_s, warned_mb = measure([sys.executable, "-m", "fjvoucher", "validate", str(warned)])
    twice = roster(rows, education="其他学历")  # expired and an unknown 文化程度: two warnings a row
    json_s, json_mb = measure([sys.executable, "-m", "fjvoucher", "validate", str(twice), "--format", "json"])
    text_s, text_mb = measure([sys.executable, "-m", "fjvoucher", "validate", str(twice), "--all-warnings"])
    openpyxl_s, openpyxl_mb = measure([sys.executable, "-c", OPENPYXL_ITERATE, str(clean)])
    print(f"rows: {rows}")
    print(f"fjvoucher validate (whole process):  {validate_s:6.2f} s  peak {fmt_mb(validate_mb)}")
    print(f"  the same with a warning on every row: {warned_s:6.2f} s  peak {fmt_mb(warned_mb)}")
    print(f"  two warnings on every row, --format json: {json_s:6.2f} s  peak {fmt_mb(json_mb)}")
    print(f"  two warnings on every row, text (--all-warnings): {text_s:6.2f} s  peak {fmt_mb(text_mb)}")
    print(f"openpyxl read-only iteration only:   {openpyxl_s:6.2f} s  peak {fmt_mb(openpyxl_mb)}")
    print(f"ratio validate / openpyxl: {validate_s / openpyxl_s:.2f} (target ≤ 1.0; peak target < 400 MB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150_000)
