"""Helpers shared by the benchmarks: generated rosters cached on disk, and measured child processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"
# The synthetic candidates and Word-style masters are the tests' helpers: reused, not copied.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def roster(rows: int, suffix: str = "xlsx", issued=None, education: str | None = None, undrawn: int = 0) -> Path:
    """Return a generated roster of `rows` valid candidates, written once and kept in bench/_work.

    `issued` (a date) replaces the 2009 issue date: vouchers still valid today draw no warning.
    `education` replaces every candidate's 文化程度 (an unknown one is a second warning a row).
    `undrawn` (N) gives every Nth candidate an occupation one character wider than its cell's first line,
    which the drawing engine leaves to LibreOffice.
    """
    from support.synthetic import write_roster_xlsx

    WORK.mkdir(exist_ok=True)
    tag = ("_" + issued.isoformat() if issued else "") + ("_edu" if education else "") + \
        (f"_undrawn{undrawn}" if undrawn else "")
    path = WORK / f"roster_{rows}{tag}.{suffix}"
    if not path.exists():
        started = time.perf_counter()
        candidates = _many_candidates(rows)
        for row in candidates if issued else ():
            row["issue_date"] = issued
            row["certificate_no"] = f"{issued.year % 100:02d}" + row["certificate_no"][2:]
        for row in candidates if education else ():
            row["education"] = education
        for row in candidates[undrawn // 2::undrawn] if undrawn else ():
            row["occupation"] = "中" * 20  # the bundled master's occupation cell holds 19 at 12 pt
        write_roster_xlsx(path, candidates)
        print(f"  (generated {path.name} in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return path


def _many_candidates(rows: int) -> list[dict]:
    """Return `rows` candidates from several cities, so certificate numbers stay unique past 99,999."""
    from support.synthetic import CITIES, make_candidates

    per_city = -(-rows // len(CITIES))
    out: list[dict] = []
    for seed, city in enumerate(CITIES):
        out.extend(make_candidates(min(per_city, rows - len(out)), seed=seed, city=city))
        if len(out) >= rows:
            break
    return out


# Runs the fjvoucher CLI, then reports this Python process's own peak memory (children excluded).
SELF_PEAK = (
    "import resource, sys\n"
    "from fjvoucher.cli import cli\n"
    "try:\n"
    "    cli(sys.argv[1:], prog_name='fjvoucher')\n"
    "finally:\n"
    "    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    sys.stderr.write(f'FJV-PEAK-KB {kb}\\n')\n"
)


def measure_fjvoucher(args: list[str]) -> tuple[float, float | None, float | None]:
    """Run `fjvoucher ARGS`; return seconds, fjvoucher's own peak MB, and the peak MB of any process it ran."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", SELF_PEAK, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    tree = None
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        tree = usage.ru_maxrss / 1024
    else:
        proc.wait()
    seconds = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:  # a benchmark of a failed run would measure nothing
        raise SystemExit(f"fjvoucher {args} failed ({proc.returncode}): {err[-2000:]}")
    own = next((int(line.split()[1]) / 1024 for line in err.splitlines() if line.startswith("FJV-PEAK-KB")), None)
    return seconds, own, tree


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


def photo_folder(roster_path: Path, rows: int, distinct: int = 500) -> Path:
    """Return a folder with one photo per candidate: `distinct` real images, hard-linked in rotation.

    Every batch of 500 then carries 500 different photos, as real data does, at no disk cost.
    """
    from fjvoucher.roster.checks import check_roster
    from support.synthetic import make_photo

    folder = WORK / f"photos_{rows}_{distinct}"
    if folder.exists():
        return folder
    sources = WORK / f"distinct_{distinct}"
    sources.mkdir(parents=True, exist_ok=True)
    images = [sources / f"{i}.jpg" for i in range(distinct)]
    for i, image in enumerate(images):
        if not image.exists():
            make_photo(image, seed=i)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    for i, candidate in enumerate(check_roster(roster_path, keep=True).candidates):
        target = partial / f"{candidate['id_number']}.jpg"
        try:
            os.link(images[i % distinct], target)
        except OSError:
            shutil.copyfile(images[i % distinct], target)
    partial.rename(folder)
    return folder
