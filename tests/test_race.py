"""Every state change reads the voucher again inside its own write transaction: races with real processes.

`reissue` used to read the voucher's status before taking the write lock, then render for a
while: a `revoke` in that window succeeded too, and a certificate just revoked as 实为不合格
got a new valid voucher.
"""

from __future__ import annotations

import multiprocessing

import pytest

import fjvoucher
from support import race, run

# Who acts when: revoke while reissue holds the voucher it read; revoke before; revoke after.
ORDERS = ("revoke between read and write", "revoke first", "reissue first")
ROUNDS = [order for order in ORDERS for _ in range(2)]


@pytest.fixture
def issued(tmp_path, write_xlsx):
    from support.synthetic import make_candidates

    rows = make_candidates(len(ROUNDS), seed=5)
    ledger = tmp_path / "ledger.db"
    assert run("merge", write_xlsx(rows), "-o", tmp_path / "out", "--format", "docx", "--ledger", ledger).exit_code == 0
    with fjvoucher.open_ledger(ledger) as book:
        numbers = [v.voucher_no for v in book.select()]
    return ledger, numbers


def test_reissue_and_revoke_together_never_both_succeed(tmp_path, issued):
    ledger, numbers = issued
    spawn = multiprocessing.get_context("spawn")
    for order, number in zip(ROUNDS, numbers, strict=True):
        start, read, resume, done, revoked, results = (*(spawn.Event() for _ in range(5)), spawn.Queue())
        if order == "revoke between read and write":
            after, then, start_at_once = read, resume, True
        elif order == "revoke first":
            after, then, start_at_once = spawn.Event(), start, False
            after.set()
            resume.set()
        else:
            after, then, start_at_once = done, revoked, True
            resume.set()
        workers = [spawn.Process(target=race.reissue,
                                 args=(ledger, number, tmp_path / number, start, read, resume, done, results)),
                   spawn.Process(target=race.revoke, args=(ledger, number, after, then, results))]
        for worker in workers:
            worker.start()
        if start_at_once:
            start.set()
        for worker in workers:
            worker.join(timeout=120)
        outcome = dict(results.get(timeout=10) for _ in workers)
        assert sorted(outcome.values()) == ["ok", "voucher-wrong-status"], (order, outcome)
        assert (outcome["reissue"] == "ok") == (order == "reissue first"), (order, outcome)
        _check_ledger(ledger, number, reissued=outcome["reissue"] == "ok")


def _check_ledger(ledger, number: str, reissued: bool) -> None:
    """The ledger agrees with who won: revoked and nothing new, or replaced by one valid voucher."""
    with fjvoucher.open_ledger(ledger) as book:
        old = book.get(number)
        family = book.for_certificate(old.fields["certificate_no"])
        kinds = [e.kind for e in book.history(number)]
    in_force = [v for v in family if v.status == "issued"]
    if reissued:
        assert old.status == "replaced" and len(in_force) == 1 and in_force[0].replaces == number
        assert "revoked" not in kinds
    else:
        assert old.status == "revoked" and in_force == [] and len(family) == 1 and "replaced" not in kinds
