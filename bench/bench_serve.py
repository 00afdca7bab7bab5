"""Load benchmark of `fjvoucher serve` on loopback, on a 150,000-voucher ledger, with a merge writing meanwhile.

Usage: python bench/bench_serve.py [VOUCHERS]   (default 150000)
1. the highest rate: wrk (Debian's) with a Lua script cycling genuine, wrong-name and unknown lookups
   of the JSON API, 2 threads, 64 connections, 10 s;
2. a steady 200 queries a second for 10 s from an open-loop client (each request sent on its
   schedule, whatever the answers do), latency p50/p99 per kind of lookup.
A merge of 5,000 new vouchers into the same ledger runs throughout.  Targets on this 2-core
machine: ≥ 1,000 queries/s; p99 < 50 ms at 200/s.  The rate limit is off (--rate-limit 0).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from common import WORK

LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def ledger_of(count: int) -> tuple[Path, list[tuple[str, str]]]:
    """Return a ledger of `count` vouchers issued last week (built once in bench/_work) and (NO, name) pairs."""
    from fjvoucher.ledger.store import Ledger
    from support.synthetic import CITIES, make_candidates

    path = WORK / f"serve_{count}.db"
    issue = dt.date.today() - dt.timedelta(days=7)
    rows, per_city = [], -(-count // len(CITIES))
    for seed, city in enumerate(CITIES):
        rows += make_candidates(min(per_city, count - len(rows)), seed=seed, city=city)
    if not path.exists():
        WORK.mkdir(exist_ok=True)
        started = time.perf_counter()
        with Ledger(path) as ledger:
            for start in range(0, count, 5000):
                with ledger.batch() as batch:
                    batch.issue([{**{k: str(v) for k, v in r.items() if k != "voucher_no"}, "issued_on": issue,
                                  "batch_file": "", "page": None} for r in rows[start:start + 5000]],
                                template_sha256="", center_code="3501")
        print(f"  (built {path.name} in {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    nos = [f"3501-{issue.year}-{i:06d}" for i in range(1, count + 1)]
    return path, list(zip(nos, (r["name"] for r in rows), strict=False))


def queries(pairs: list[tuple[str, str]], n: int = 300) -> dict[str, list[str]]:
    """Return API paths for genuine, wrong-name and unknown lookups, spread over the ledger."""
    step = max(1, len(pairs) // n)
    chosen = pairs[::step][:n]
    q = urllib.parse.quote
    return {"genuine": [f"/api/verify?no={q(no)}&name={q(name)}" for no, name in chosen],
            "wrong-name": [f"/api/verify?no={q(no)}&name={q('某某某')}" for no, _ in chosen],
            "unknown": [f"/api/verify?no={q(no.replace('3501', '3599'))}&name={q(name)}" for no, name in chosen]}


def start_server(ledger: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "fjvoucher", "serve", "--port", str(port), "--ledger",
                               str(ledger), "--rate-limit", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def start_merge(ledger: Path, folder: Path) -> subprocess.Popen:
    """Merge 5,000 vouchers of another city into the same ledger while the server answers."""
    from support.synthetic import make_candidates, write_roster_xlsx

    rows = make_candidates(5000, seed=77, city="宁德市")
    for row in rows:
        row["certificate_no"] = row["certificate_no"][:6] + "7" + row["certificate_no"][7:]  # unseen certificates
    roster = write_roster_xlsx(folder / "more.xlsx", rows)
    return subprocess.Popen([sys.executable, "-m", "fjvoucher", "merge", str(roster), "-o", str(folder / "out"), "-q",
                             "--format", "docx", "--no-per-candidate", "--batch-size", "100", "--ledger", str(ledger)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wrk(port: int, paths: list[str], folder: Path) -> tuple[float, str]:
    script = folder / "mix.lua"
    script.write_text(LUA % ", ".join(f'"{p}"' for p in paths), encoding="utf-8")
    out = subprocess.run(["wrk", "-t2", "-c64", "-d10s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if "Non-2xx" in out:
        raise SystemExit(f"wrong answers under load:\n{out}")
    latency = " ".join(f"p{p}={v}" for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return rate, latency


async def steady(port: int, kinds: dict[str, list[str]], rate: int = 200, seconds: int = 10) -> dict[str, list[float]]:
    """Send `rate` requests a second on schedule over keep-alive connections; return latencies in ms by kind."""
    connections = 20
    latencies: dict[str, list[float]] = {k: [] for k in kinds}
    plan = [(kind, path) for i in range(rate * seconds) for kind, path in
            [(list(kinds)[i % 3], kinds[list(kinds)[i % 3]][(i // 3) % len(kinds[list(kinds)[i % 3]])])]]

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        start = time.perf_counter()
        for n in range(index, len(plan), connections):
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            kind, path = plan[n]
            sent = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii"))
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            await reader.readexactly(length)
            latencies[kind].append((time.perf_counter() - max(sent, due)) * 1000)
        writer.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return latencies


def check_answers(port: int, kinds: dict[str, list[str]]) -> None:
    """Assert that the first lookups of each kind answer as they claim to (genuine, or unknown)."""
    for kind, expected in (("genuine", "genuine"), ("wrong-name", "unknown"), ("unknown", "unknown")):
        for path in kinds[kind][:5]:
            answer = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}").read().decode()
            assert f'"status":"{expected}"' in answer, (kind, answer)


def load(port: int, kinds: dict[str, list[str]], folder: Path) -> tuple[float, str, dict[str, list[float]]]:
    """Return wrk's highest rate and latency over the kinds mixed, then the latencies at a steady 200/s by kind."""
    mixed = [p for trio in zip(*kinds.values(), strict=True) for p in trio]
    rate, latency = wrk(port, mixed, folder)
    return rate, latency, asyncio.run(steady(port, kinds))


def print_steady(steady_ms: dict[str, list[float]]) -> None:
    """Print p50 and p99 of the steady run's latencies, by kind."""
    for kind, values in steady_ms.items():
        values.sort()
        p99 = values[int(len(values) * 0.99) - 1]
        print(f"steady 200/s, {kind:10s}: p50 {statistics.median(values):5.1f} ms  p99 {p99:5.1f} ms "
              f"({len(values)} queries; target p99 < 50 ms)")


def main(count: int) -> None:
    ledger, pairs = ledger_of(count)
    kinds = queries(pairs)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        work = folder / "ledger.db"
        work.write_bytes(ledger.read_bytes())  # the merge writes to a copy, the cached ledger stays as built
        server, port = start_server(work)
        check_answers(port, kinds)
        merge = start_merge(work, folder)
        try:
            rate, latency, steady_ms = load(port, kinds, folder)
        finally:
            merging = merge.poll() is None
            merge.wait()
            server.terminate()
            server.wait()
    print(f"vouchers in the ledger: {count}; a merge of 5,000 vouchers wrote to it from the start"
          + (" to the end" if merging else " (it finished before the end)"))
    print(f"highest rate (wrk, 2 threads, 64 connections, mixed lookups): {rate:,.0f} queries/s, {latency} "
          "(target ≥ 1,000/s)")
    print_steady(steady_ms)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150_000)
