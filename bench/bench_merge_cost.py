"""Time one whole `fjvoucher merge` of bench_merge's 150,000-row roster with photos: wall, CPU and ledger size.

Usage: python bench/bench_merge_cost.py [ROWS]   (default 150000)

CPU time (user + sys of the process, from os.wait4) varies far less than wall time on a shared
machine.  To compare two versions, run it with each on the path, back to back, e.g.
`PYTHONPATH=../main/src python bench/bench_merge_cost.py` and then without PYTHONPATH.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import photo_folder, quiet_disk, roster, scratch_dir


def main(rows: int) -> None:
    import fjvoucher

    big = roster(rows, issued=dt.date.today() - dt.timedelta(days=10))
    photos = photo_folder(big, rows)
    quiet_disk()
    with tempfile.TemporaryDirectory(dir=scratch_dir()) as tmp:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "fjvoucher", "merge", str(big), "--photos", str(photos),
                                 "-o", tmp, "-q", "--format", "docx", "--ledger", str(Path(tmp) / "ledger.db")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        size = (Path(tmp) / "ledger.db").stat().st_size
    print(f"fjvoucher from {Path(fjvoucher.__file__).parent}: merge of {rows} rows, exit "
          f"{os.waitstatus_to_exitcode(status)}: wall {wall:.1f} s, CPU {usage.ru_utime + usage.ru_stime:.1f} s "
          f"(user {usage.ru_utime:.1f}, sys {usage.ru_stime:.1f}), ledger {size / 1e6:.0f} MB")


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    main(numbers[0] if numbers else 150_000)
