"""Helpers shared by the benchmarks: generated rosters cached on disk, and measured child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"


def roster(rows: int, suffix: str = "xlsx") -> Path:
    """Return a generated roster of `rows` valid candidates, written once and kept in bench/_work."""
    from fjvoucher.synthetic import make_candidates, write_roster_xlsx

    WORK.mkdir(exist_ok=True)
    path = WORK / f"roster_{rows}.{suffix}"
    if not path.exists():
        started = time.perf_counter()
        candidates = _many_candidates(rows)
        write_roster_xlsx(path, candidates)
        print(f"  (generated {path.name} in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return path


def _many_candidates(rows: int) -> list[dict]:
    """Return `rows` candidates from several cities, so certificate numbers stay unique past 99,999."""
    from fjvoucher.synthetic import CITIES, make_candidates

    per_city = -(-rows // len(CITIES))
    out: list[dict] = []
    for seed, city in enumerate(CITIES):
        out.extend(make_candidates(min(per_city, rows - len(out)), seed=seed, city=city))
        if len(out) >= rows:
            break
    return out


def measure(cmd: list[str]) -> tuple[float, float | None]:
    """Run `cmd` to completion; return its wall time in seconds and peak memory in MB (None where unknown)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak = usage.ru_maxrss / (1024 if sys.platform != "darwin" else 1024 * 1024)
    else:
        proc.wait()
        peak = None
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode(errors='replace')}")
    return seconds, peak


def scratch_dir() -> str | None:
    """Return a RAM-backed folder where there is one (Linux /dev/shm), else None for the system temp.

    Virtual machines often rate-limit their disks after a burst: per-file timings on such a disk
    measure the host's throttle, not the code, and swing tenfold from run to run.  Both contenders
    of a comparison write to the same place.  Pass --on-disk to time the real disk instead.
    """
    if "--on-disk" in sys.argv:
        return None
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def quiet_disk() -> None:
    """Flush earlier writes, so a timed phase does not pay for the one before it."""
    if hasattr(os, "sync"):
        os.sync()


def fmt_mb(peak: float | None) -> str:
    return "n/a" if peak is None else f"{peak:.0f} MB"
