"""The offline monthly exchange: the province imports a month's files from its 9 centres, one run on this machine.

Usage: python bench/bench_exchange.py [VOUCHERS]   (default 150000)
1. nine centre ledgers, VOUCHERS in all, issued in November 2026 through the library's Batch (batches of
   5,000, each centre with its own key: fast, no DOCX), then `fjvoucher export --month 2026-11` for each;
2. baseline: the time to read the 9 files' JSON alone (json.loads of their bytes, in this process);
3. `fjvoucher province import` of the 9 files into a fresh registry (the centres' keys listed first), in a
   child process: its wall time (target < 30 s), its peak memory, and the ratio to the baseline;
   then the registry is audited (it must prove itself) and the import run again (it must change nothing).
Everything is written to a temporary folder (RAM-backed where there is one), keys and per-user folders too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import fmt_mb, measure_fjvoucher, scratch_dir

from support import Clock
from support.synthetic import CITIES, make_candidates

CENTRES = {f"35{city_code}": city for city, (_, city_code) in CITIES.items()}
BATCH = 5_000
MONTH = "2026-11"


def build_centre(path: Path, code: str, city: str, count: int, seed: int) -> float:
    """Issue `count` vouchers of centre `code` in November through the ledger's Batch; return the seconds."""
    from fjvoucher.ledger.store import Ledger

    rows = make_candidates(count, seed=seed, city=city)
    clock = Clock(dt.datetime(2026, 11, 10, 9))
    started = time.perf_counter()
    with Ledger(path, clock=clock) as ledger:
        for start in range(0, count, BATCH):
            with ledger.batch() as batch:
                batch.issue([{**{k: str(v) for k, v in r.items() if k != "voucher_no"},
                              "issued_on": dt.date(2026, 11, 10), "batch_file": "", "page": None}
                             for r in rows[start:start + BATCH]], template_sha256="", center_code=code)
    return time.perf_counter() - started


def as_key(folder: Path, name: str) -> None:
    """Sign as `name` (a centre or the province) from here on, in this process and the children it starts."""
    os.environ["FJVOUCHER_KEY"] = str(folder / "keys" / f"{name}.pem")


def main(count: int) -> None:
    from fjvoucher.ledger.exchange import export_month
    from fjvoucher.ledger.store import Ledger
    from fjvoucher.province.imports import add_key

    with tempfile.TemporaryDirectory(dir=scratch_dir()) as tmp:
        folder = Path(tmp)
        for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            os.environ[variable] = str(folder / variable.lower())  # the witness file stays out of the real one
        per = -(-count // len(CENTRES))
        files, keys, built, exported = [], {}, 0.0, 0.0
        for seed, (code, city) in enumerate(CENTRES.items()):
            as_key(folder, code)
            ledger_path = folder / f"{code}.db"
            built += build_centre(ledger_path, code, city, min(per, count - per * seed), seed)
            started = time.perf_counter()
            with Ledger(ledger_path) as ledger:
                files.append(export_month(ledger, MONTH, folder / f"{code}-{MONTH}.fjv", code).path)
                keys[code] = ledger.key.public_key
            exported += time.perf_counter() - started
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"{count:,} vouchers of 9 centres issued through Batch in {built:.1f} s; exported (audit included) "
              f"in {exported:.1f} s: 9 files, {size:.0f} MB")
        started = time.perf_counter()
        events = sum(len(json.loads(f.read_bytes())["events"]) for f in files)
        baseline = time.perf_counter() - started
        as_key(folder, "province")
        registry = folder / "province.db"
        with Ledger(registry) as ledger:
            for code, key in keys.items():
                add_key(ledger, code, key)
        seconds, peak, _ = measure_fjvoucher(["province", "import", *map(str, files), "--ledger", str(registry)])
        print(f"baseline, reading the 9 files' JSON alone ({events:,} events): {baseline:.2f} s")
        print(f"province import of the 9 files into a fresh registry: {seconds:.1f} s (target < 30 s), "
              f"{events / seconds:,.0f} events/s, {seconds / baseline:.1f}× the JSON read; peak {fmt_mb(peak)}")
        audit_s, _, _ = measure_fjvoucher(["audit", "--ledger", str(registry)])
        again_s, _, _ = measure_fjvoucher(["province", "import", *map(str, files), "--ledger", str(registry)])
        print(f"the registry audits clean in {audit_s:.1f} s; the same 9 files again: {again_s:.1f} s, nothing changed")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150_000)
