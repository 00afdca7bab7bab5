"""A centre's ledger restored on a new computer, its old key lost: this computer's key takes the chain over.

The chain is continued, never rebuilt: the head is re-signed with this computer's key only when the
whole ledger proves itself under the key that signed it (every link, hash and row, and that key's
signature of the head).  What the province already imported stays fixed by hashes in its registry,
so a history changed before the take-over is refused there as rewritten; the province lists the new
key with `province keys add CENTRE NEW.pub --replaces OLD-FINGERPRINT`.
"""

from __future__ import annotations

from fjvoucher.errors import InputError, LedgerError
from fjvoucher.ledger import witness
from fjvoucher.ledger.audit import audit
from fjvoucher.ledger.chain import head_message, sign_head
from fjvoucher.ledger.keys import fingerprint, load_key, signature_valid
from fjvoucher.ledger.store import Ledger


def take_over(ledger: Ledger) -> tuple[str, str]:
    """Re-sign `ledger`'s head with this computer's centre key (made when missing); return the old and new fingerprints.

    Raise InputError when there is nothing to take over, LedgerError when the ledger does not prove itself.
    """
    storage = ledger.storage
    head = storage.head()
    if head is None or not head.count:
        raise InputError(f"台账 {ledger.path} 还没有签名的记录，不需要接管 (nothing to take over)", code="usage")
    key = load_key(create=True)
    assert key is not None  # create=True always gives one
    if head.public_key == key.public_key:
        return key.fingerprint, key.fingerprint
    report = audit(storage)
    problems = [d for d in report.discrepancies if d.code != "head-foreign-key"]  # the one thing expected
    if problems or not signature_valid(head.public_key, head.signature, head_message(head.count, head.hash)):
        first = problems[0].line() if problems else "链头的签名无效 (the head's signature is not valid)"
        raise LedgerError(f"台账 {ledger.path} 不能接管：{first}。接管只给能自证的台账换签名；请用另一份备份 "
                          "(the ledger does not prove itself)", code="ledger-tampered")
    with storage.transaction():
        storage.set_head(sign_head(key, head.count, head.hash, storage.clock))
    witness.remember(ledger.path, head.count, head.hash, key.public_key, backwards=True)
    return fingerprint(head.public_key), key.fingerprint
