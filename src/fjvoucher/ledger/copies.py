"""Backups of the ledger, and restoring one: consistent copies, audited, never half-written.

A backup is taken with SQLite's online backup (merges and the server keep running) into a new
file beside its final name, audited, then linked into place.  Restoring audits the backup
first, keeps the current ledger beside it, and copies the backup into the ledger through the
ledger's own connection: the file stays the same file, so a running server sees the restored
ledger at its next query and no other file's WAL is ever applied to it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from fjvoucher.errors import InputError, LedgerError
from fjvoucher.ledger import witness
from fjvoucher.ledger.audit import AuditReport
from fjvoucher.ledger.keys import key_path
from fjvoucher.ledger.storage import stamp
from fjvoucher.ledger.store import Ledger


@dataclass(frozen=True)
class Copied:
    """A copy made: where it is, its audit, and the key's copy (backup --with-key) or the ledger kept (restore)."""

    path: Path
    audit: AuditReport
    beside: Path | None = None


def backup(ledger: Ledger, dest: Path, *, with_key: bool = False) -> Copied:
    """Copy `ledger` to `dest` (a new file, or a folder to name it in), audit the copy; the key too when asked."""
    dest = Path(dest)
    if not isinstance(ledger.path, Path):  # a database: its backend says how it is backed up (pg_dump)
        ledger.storage.backup_to(dest)
    moment = ledger.clock().strftime("%Y%m%d-%H%M%S")
    target = dest / f"{Path(ledger.path).stem}-{moment}.db" if dest.is_dir() else dest
    if os.path.lexists(target):
        raise InputError(f"{target} 已存在，不会覆盖；请换一个文件名，或给出文件夹让 fjvoucher 按时间命名 "
                         "(the backup exists)", code="input-unusable")
    if not target.parent.is_dir():
        raise InputError(f"备份文件夹 {target.parent} 不存在 (no such folder)", code="input-unusable")
    fresh = target.with_name(f".{target.name}.{secrets.token_hex(4)}.new")
    try:
        ledger.storage.backup_to(fresh)
        with Ledger(fresh, create=False, readonly=True) as copy:
            report = copy.audit()
        os.link(fresh, target)  # never over a file that appeared meanwhile
    finally:
        fresh.unlink(missing_ok=True)
    key = _copy_key(target) if with_key else None
    return Copied(target, _named(report, target), key)


def restore(ledger_path: Path | str, source: Path, clock) -> Copied:
    """Replace the ledger at `ledger_path` with the backup `source` after auditing it; keep the current one beside.

    Raise LedgerError (nothing changed) when the backup does not audit clean.
    """
    source = Path(source)
    if not isinstance(ledger_path, Path):  # a database: its backend says how it is restored (by its administrator)
        with Ledger(ledger_path, create=False) as live:
            live.storage.restore_from(source)
    with Ledger(source, create=False, readonly=True) as backup_copy:
        checked = backup_copy.audit()
    if not checked.ok:
        raise LedgerError(f"备份 {source} 有 {len(checked.discrepancies)} 处问题，没有恢复："
                          f"{checked.discrepancies[0].line()} (the backup does not audit clean; nothing changed)",
                          code="ledger-tampered")
    if not os.path.lexists(ledger_path):
        Path(ledger_path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with Ledger(source, create=False, readonly=True) as backup_copy:
            fresh = Path(ledger_path).with_name(f".{Path(ledger_path).name}.{secrets.token_hex(4)}.new")
            try:
                backup_copy.storage.backup_to(fresh)
                os.link(fresh, ledger_path)
            finally:
                fresh.unlink(missing_ok=True)
        kept = None
    else:
        with Ledger(ledger_path, create=False) as live:
            kept = Path(f"{live.path}.before-restore-{stamp(clock()).replace(':', '')}")
            live.storage.backup_to(kept)
            live.storage.restore_from(source)
    with Ledger(ledger_path, create=False) as restored:
        head = restored.storage.head()
        if head:  # going back to the backup is the one rollback this computer accepts
            witness.remember(restored.path, head.count, head.hash, head.public_key, backwards=True)
        report = restored.audit()
    return Copied(Path(ledger_path), report, kept)


def _copy_key(target: Path) -> Path:
    """Copy the centre key beside the backup, owner-only."""
    key = key_path()
    if not key.is_file():
        raise LedgerError(f"没有中心签名密钥 {key} 可备份 (no key)", code="ledger-error")
    copy = target.with_name(f"{target.name}.key.pem")
    fd = os.open(copy, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out, open(key, "rb") as src:
        shutil.copyfileobj(src, out)
    return copy


def _named(report: AuditReport, path: Path) -> AuditReport:
    report.path = str(path)  # audited under its temporary name
    return report
