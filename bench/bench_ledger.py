"""Benchmark what the ledger's proof costs: verify, list and audit on a big ledger, against plain lookups.

Usage: python bench/bench_ledger.py [VOUCHERS]   (default 150000)

The ledger is built once through the issuing rule (no documents) and kept in bench/_work.
1. verify (the library call a query makes): signed head + the voucher's events and row checked,
   against the plain lookup it wraps (`Ledger.get`), median of 200 queries each;
2. `fjvoucher verify` as a whole process, against `fjvoucher --version` (Python's start-up);
3. the full audit (chain, signature, schema, every row). Targets: verify < 20 ms, audit < 10 s.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

from common import WORK, _many_candidates, measure


def build(vouchers: int) -> Path:
    """Return a ledger of `vouchers` vouchers issued through the issuing rule, built once."""
    from fjvoucher.ledger.store import Ledger

    WORK.mkdir(exist_ok=True)
    path = WORK / f"ledger_{vouchers}.db"
    if path.exists():
        return path
    started = time.perf_counter()
    candidates = _many_candidates(vouchers)
    fresh = path.with_suffix(".new")
    fresh.unlink(missing_ok=True)
    with Ledger(fresh) as ledger:
        for start in range(0, vouchers, 500):
            entries = [{**{k: (v.isoformat() if isinstance(v, dt.date) else str(v)) for k, v in c.items()},
                        "issued_on": c["issue_date"], "batch_file": f"batch-{start // 500 + 1:03d}.pdf",
                        "page": i + 1} for i, c in enumerate(candidates[start:start + 500])]
            with ledger.batch() as batch:
                batch.issue(entries, template_sha256="0" * 64, center_code=None)
    fresh.rename(path)
    print(f"  (built {path.name} in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return path


def median_ms(call, times: int = 200) -> float:
    spent = []
    for i in range(times):
        started = time.perf_counter()
        call(i)
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


def main(vouchers: int) -> None:
    from fjvoucher.ledger.store import Ledger
    from fjvoucher.ledger.verify import verify

    path = build(vouchers)
    with Ledger(path, create=False) as ledger:
        numbers = [v.voucher_no for v in ledger.storage.select(month=None, status=None, expiring_within=None,
                                                               today=dt.date.today())[::max(1, vouchers // 200)]]
        names = {n: ledger.get(n).fields["name"] for n in numbers}
        plain = median_ms(lambda i: ledger.get(numbers[i % len(numbers)]))
        checked = median_ms(lambda i: verify(ledger, numbers[i % len(numbers)], name=names[numbers[i % len(numbers)]]))
        served = median_ms(lambda i: verify(ledger, numbers[i % len(numbers)], name=names[numbers[i % len(numbers)]],
                                            count_all=False))
        started = time.perf_counter()
        report = ledger.audit()
        audit_s = time.perf_counter() - started
    python = [sys.executable, "-m", "fjvoucher"]
    startup = min(measure([*python, "--version"])[0] for _ in range(3))
    whole = min(measure([*python, "verify", numbers[0], "--name", names[numbers[0]], "--ledger", str(path)])[0]
                for _ in range(3))
    print(f"ledger: {vouchers} vouchers, {report.events} events ({path})")
    print(f"plain lookup (Ledger.get):          {plain:7.3f} ms (median of 200)")
    print(f"verify, checked (CLI: counts every event): {checked:7.3f} ms  ratio {checked / plain:5.1f}× "
          "(target < 20 ms)")
    print(f"verify, checked as serve does (no count):  {served:7.3f} ms  ratio {served / plain:5.1f}×")
    print(f"`fjvoucher verify` whole process: {whole * 1000:6.0f} ms; `fjvoucher --version`: {startup * 1000:6.0f} ms "
          f"(Python and imports)")
    print(f"full audit: {audit_s:.2f} s, {len(report.discrepancies)} discrepancies (target < 10 s)")


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    main(numbers[0] if numbers else 150_000)
