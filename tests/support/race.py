"""Workers for the race tests: each runs in a process of its own (spawn, as on Windows) and reports its outcome.

The reissue worker can hold still right after it has read the voucher (`paused`): the window a
slow disk or a large master opens between reading and writing, made wide and certain.
"""

from __future__ import annotations


def reissue(ledger, number: str, outdir, start, read, resume, done, results) -> None:
    """Reissue voucher `number` through the public library once `start` is set.

    When it has read the voucher it sets `read` and waits for `resume`; `done` is set at the end.
    """
    import fjvoucher
    from fjvoucher.ledger import store

    reading = store.Ledger.get

    def get(self, voucher_no):
        voucher = reading(self, voucher_no)
        read.set()
        resume.wait(60)
        return voucher

    store.Ledger.get = get
    start.wait(60)
    try:
        fjvoucher.reissue(number, "遗失", outdir, fjvoucher.MergeOptions(format="docx", ledger=ledger))
        results.put(("reissue", "ok"))
    except fjvoucher.FjvoucherError as exc:
        results.put(("reissue", exc.code))
    finally:
        read.set()
        done.set()


def revoke(ledger, number: str, after, then, results) -> None:
    """Revoke voucher `number` once `after` is set; then set `then`."""
    import fjvoucher

    after.wait(60)
    try:
        with fjvoucher.open_ledger(ledger) as book:
            book.revoke(number, "实为不合格")
        results.put(("revoke", "ok"))
    except fjvoucher.FjvoucherError as exc:
        results.put(("revoke", exc.code))
    finally:
        then.set()
