"""The province's shared ledger on PostgreSQL against SQLite, one run on this machine.

Usage: python bench/bench_province.py [VOUCHERS]   (default 150000)
A throw-away PostgreSQL cluster is started as the tests start it (tests/support/postgres.py) and set up
as the README says (roles, `province init`, one role per centre, row-level security on).
1. recording: 9,000 vouchers from the 9 city centres issued through the ledger (batches of 500, each
   centre as its own role on PostgreSQL) into SQLite, then into PostgreSQL: vouchers/s and the ratio;
   the registries are then filled to VOUCHERS (SQLite through the ledger, PostgreSQL by COPY from it);
2. a whole `fjvoucher merge` of 2,000 rows into each, DOCX (the default job without PDF, then batches
   only): seconds and the ratio (target: PostgreSQL at least half as fast as SQLite);
3. `fjvoucher serve` answering from PostgreSQL as the province's read-only role while a centre merges
   20,000 vouchers into it: wrk's highest rate and p99, and p50/p99 at a steady 200 queries/s
   (targets ≥ 1,000 queries/s, p99 < 50 ms), the same as bench_serve.py measures for SQLite.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_serve import check_answers, load, print_steady, queries, start_server
from common import WORK  # noqa: F401  (puts tests/ on the path)

from support.synthetic import CITIES

CENTRES = {f"35{city_code}": city for city, (_, city_code) in CITIES.items()}
BATCH = 500
SERVE_MERGE = 20_000  # vouchers a centre merges while serve is measured: enough to last both phases
MERGED = 2_000  # rows of the whole merges compared
RECORDED = 9_000  # vouchers issued through the ledger on both backends (the rest is copied in)


def set_up(server) -> dict[str, str]:
    """Create the README's roles and a registry with a role per centre; return URLs by who connects."""
    import psycopg

    from fjvoucher.province.registry import init_registry
    from test_ledger_postgres import readme_sql

    with psycopg.connect(server.url(), autocommit=True) as db:
        for statement in readme_sql("superuser"):
            db.execute(statement)
        for code in CENTRES:
            if code not in ("3501", "3502"):
                db.execute(f"CREATE ROLE centre_{code} LOGIN IN ROLE fjvoucher_centres")
    owner = server.url("fjvoucher", "fjvoucher_owner")
    init_registry(owner)
    with psycopg.connect(owner, autocommit=True) as db:
        for code in CENTRES:
            db.execute("INSERT INTO centre_roles VALUES (%s, %s) ON CONFLICT DO NOTHING", (f"centre_{code}", code))
    return {"owner": owner, "province": server.url("fjvoucher", "province"),
            **{code: server.url("fjvoucher", f"centre_{code}") for code in CENTRES}}


def candidates(count: int) -> dict[str, list[dict]]:
    """Return `count` candidates spread over the 9 centres, issued last week (valid today)."""
    import datetime as dt

    from support.synthetic import make_candidates

    issued = dt.date.today() - dt.timedelta(days=7)
    per = -(-count // len(CENTRES))
    out = {}
    for seed, (code, city) in enumerate(CENTRES.items()):
        rows = make_candidates(min(per, count - sum(map(len, out.values()))), seed=seed, city=city)
        for row in rows:
            row["issue_date"] = issued
            row["certificate_no"] = f"{issued.year % 100:02d}" + row["certificate_no"][2:]
        out[code] = rows
    return out


def record(locations: dict[str, object], rows: dict[str, list[dict]]) -> tuple[float, float]:
    """Issue every centre's rows through the ledger at its location, batch by batch; return wall and CPU seconds
    (this process's CPU: PostgreSQL's own server processes are not counted)."""
    from fjvoucher.ledger.store import Ledger

    started, cpu = time.perf_counter(), time.process_time()
    for code, centre_rows in rows.items():
        with Ledger(locations[code]) as ledger:
            for start in range(0, len(centre_rows), BATCH):
                with ledger.batch() as batch:
                    chunk = centre_rows[start:start + BATCH]
                    batch.issue([{**{k: str(v) for k, v in r.items() if k != "voucher_no"},
                                  "issued_on": r["issue_date"], "batch_file": "", "page": None} for r in chunk],
                                template_sha256="", center_code=code)
    return time.perf_counter() - started, time.process_time() - cpu


def whole_merge(ledger: str, folder: Path, name: str, *options: str) -> tuple[float, float]:
    """Run `fjvoucher merge` of 2,000 new rows of centre 3509 into `ledger` (DOCX); return wall and CPU seconds
    (the merge's own CPU, not PostgreSQL's server processes)."""
    from support.synthetic import make_candidates, write_roster_xlsx

    rows = make_candidates(MERGED, seed=99, city="宁德市")
    for row in rows:
        row["certificate_no"] = row["certificate_no"][:6] + "5" + row["certificate_no"][7:]  # unseen certificates
    roster = write_roster_xlsx(folder / f"{name}.xlsx", rows)
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, "-m", "fjvoucher", "merge", str(roster), "-o", str(folder / name), "-q",
                    "--format", "docx", "--ledger", ledger, *options], check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - started, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main(count: int) -> None:
    import os

    from support import postgres

    # This run's own centre key and seen-heads record: the machine's real ones are never touched.
    private = Path(tempfile.mkdtemp(prefix="bench-province-"))
    os.environ["FJVOUCHER_KEY"] = str(private / "centre-signing-key.pem")
    os.environ["XDG_DATA_HOME"] = str(private)
    rows = candidates(count)
    first = {code: r[:RECORDED // len(CENTRES)] for code, r in rows.items()}
    rest = {code: r[RECORDED // len(CENTRES):] for code, r in rows.items()}
    server = postgres.start()
    try:
        urls = set_up(server)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            sqlite_file = folder / "province.db"
            sqlite_s, sqlite_cpu = record({code: sqlite_file for code in CENTRES}, first)
            pg_s, pg_cpu = record(urls, first)
            n = sum(map(len, first.values()))
            print(f"recording {n:,} vouchers of 9 centres through the ledger: SQLite {n / sqlite_s:,.0f}/s "
                  f"(CPU {sqlite_cpu:.1f} s), PostgreSQL {n / pg_s:,.0f}/s (client CPU {pg_cpu:.1f} s; each centre "
                  f"its own role, its own chain): PostgreSQL at {sqlite_s / pg_s:.2f}× SQLite's speed")
            record({code: sqlite_file for code in CENTRES}, rest)
            copy_rows(sqlite_file, urls["owner"], server.url("fjvoucher"), skip=n)
            for job, options in (("per-candidate DOCX and batches", ()), ("batches only", ("--no-per-candidate",))):
                merge_sqlite, sqlite_cpu = whole_merge(str(sqlite_file), folder, f"m-sqlite{len(options)}", *options)
                merge_pg, pg_cpu = whole_merge(urls["3509"], folder, f"m-pg{len(options)}", *options)
                print(f"whole merge of {MERGED:,} rows ({job}) into {count:,} vouchers: SQLite {merge_sqlite:.1f} s "
                      f"(CPU {sqlite_cpu:.1f} s), PostgreSQL {merge_pg:.1f} s (merge's CPU {pg_cpu:.1f} s): "
                      f"PostgreSQL at {merge_sqlite / merge_pg:.2f}× SQLite's speed (target ≥ 0.5)")
            serve_figures(urls, rows, folder)
    finally:
        server.stop()


def copy_rows(sqlite_file: Path, owner: str, superuser: str, skip: int) -> None:
    """Fill the registry with the SQLite registry's other vouchers and events (COPY), then settle it.

    The events go on their centre's chain, linked and hashed as chain.py does, and each centre's head
    is signed again (with this run's key, as the centres' merges signed theirs).  A registry grows over
    months, vacuumed and analysed as it goes: VACUUM ANALYZE and a checkpoint after the bulk load, so
    the figures below measure a registry at rest rather than autovacuum's catch-up.
    """
    import sqlite3

    import psycopg

    from fjvoucher.ledger.chain import GENESIS, event_hash, sign_head
    from fjvoucher.ledger.keys import load_key

    started = time.perf_counter()
    key = load_key(create=True)
    source = sqlite3.connect(sqlite_file)
    centre_of = dict(source.execute("SELECT voucher_no, center_code FROM vouchers"))
    with psycopg.connect(owner, autocommit=True) as db:
        have = {r[0] for r in db.execute("SELECT voucher_no FROM vouchers")}
        tips = {c: (n, h) for c, n, h in db.execute("SELECT DISTINCT ON (center_code) center_code, number, hash "
                                                     "FROM events ORDER BY center_code, number DESC")}
        names = [r[1] for r in source.execute("PRAGMA table_info(vouchers)")]
        with db.cursor().copy(f"COPY vouchers ({', '.join(names)}) FROM STDIN") as copy:
            for row in source.execute(f"SELECT {', '.join(names)} FROM vouchers ORDER BY rowid"):
                if row[0] not in have:
                    copy.write_row(row)
        event = "voucher_no, kind, at, reason, actor, other_no, data"
        with db.cursor().copy(f"COPY events ({event}, center_code, number, prev, hash) FROM STDIN") as copy:
            for row in source.execute(f"SELECT {event} FROM events ORDER BY id"):
                if row[0] in have:
                    continue
                centre = centre_of[row[0]]
                number, prev = tips.get(centre, (0, GENESIS))
                digest = event_hash(number + 1, prev, *row)
                copy.write_row((*row, centre, number + 1, prev, digest))
                tips[centre] = (number + 1, digest)
        for centre, (number, last) in tips.items():
            head = sign_head(key, number, last)
            db.execute("INSERT INTO heads VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (center_code) DO UPDATE SET "
                       "count = excluded.count, hash = excluded.hash, signature = excluded.signature, "
                       "public_key = excluded.public_key, at = excluded.at",
                       (centre, head.count, head.hash, head.signature, head.public_key, head.at))
        for (code, year, last) in source.execute("SELECT center_code, year, last FROM serials"):
            db.execute("INSERT INTO serials VALUES (%s, %s, %s) ON CONFLICT (center_code, year) "
                       "DO UPDATE SET last = excluded.last", (code, year, last))
    with psycopg.connect(superuser, autocommit=True) as db:
        db.execute("VACUUM ANALYZE")
        db.execute("CHECKPOINT")
    source.close()
    print(f"  (the vouchers after the first {skip:,} copied into PostgreSQL, chained and settled in "
          f"{time.perf_counter() - started:.0f} s)", file=sys.stderr)


def start_merge(ledger: str, folder: Path, count: int) -> subprocess.Popen:
    """Merge `count` vouchers of centre 3509 (its role) while the server answers, as bench_serve.py does."""
    from support.synthetic import make_candidates, write_roster_xlsx

    rows = make_candidates(count, seed=77, city="宁德市")
    for row in rows:
        row["certificate_no"] = row["certificate_no"][:6] + "7" + row["certificate_no"][7:]  # unseen certificates
    roster = write_roster_xlsx(folder / "more.xlsx", rows)
    return subprocess.Popen([sys.executable, "-m", "fjvoucher", "merge", str(roster), "-o", str(folder / "out"), "-q",
                             "--format", "docx", "--no-per-candidate", "--batch-size", "100", "--ledger", ledger],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve_figures(urls: dict[str, str], rows: dict[str, list[dict]], folder: Path) -> None:
    """Measure serve from PostgreSQL (province role) while centre 3509's role merges 5,000 vouchers."""
    year = next(iter(rows.values()))[0]["issue_date"].year
    pairs = [(f"{code}-{year}-{i:06d}", r["name"]) for code, rs in rows.items() for i, r in enumerate(rs, start=1)]
    kinds = queries(pairs)
    kinds["unknown"] = [p.replace(f"-{year}-", f"-{year - 1}-") for p in kinds["genuine"]]
    server, port = start_server(urls["province"])
    try:
        check_answers(port, kinds)
        merge = start_merge(urls["3509"], folder, SERVE_MERGE)
        try:
            rate, latency, steady_ms = load(port, kinds, folder)
        finally:
            merging = merge.poll() is None
            merge.wait()
    finally:
        server.terminate()
        server.wait()
    print(f"serve from PostgreSQL ({len(pairs):,} vouchers), a centre's merge of {SERVE_MERGE:,} writing"
          + (" throughout" if merging else " (it finished before the end)")
          + f": {rate:,.0f} queries/s, {latency} (target ≥ 1,000/s)")
    print_steady(steady_ms)



if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150_000)
