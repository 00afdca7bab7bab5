"""The centre's signing key: Ed25519, made on first use, kept owner-only in the per-user data folder.

It signs the chain's head after each write, so an edit made with plain SQL cannot be hidden by
recomputing hashes: hiding it needs this key.  The key is not in the ledger or its backups
(unless `backup --with-key`): a copy of the ledger alone cannot be re-signed by whoever holds it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fjvoucher.atomic import read_parsed
from fjvoucher.errors import LedgerError
from fjvoucher.ledger.location import data_folder

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_FILE = "centre-signing-key.pem"
ENV_KEY = "FJVOUCHER_KEY"


def key_path() -> Path:
    """Return where this user's centre key lives: $FJVOUCHER_KEY, else beside the default ledger.

    The variable lets a service account, or a test suite playing one centre, use the centre's key file.
    """
    if os.environ.get(ENV_KEY):
        return Path(os.environ[ENV_KEY])
    return data_folder() / KEY_FILE


def fingerprint(public_key: str) -> str:
    """Return the short name of a public key (hex raw Ed25519) the clerk can compare: ed25519:xxxx-xxxx-…."""
    digest = hashlib.sha256(bytes.fromhex(public_key)).hexdigest()[:32]
    return "ed25519:" + "-".join(digest[i:i + 4] for i in range(0, 32, 4))


@dataclass(frozen=True)
class CentreKey:
    """The centre's private key and its public half (hex raw bytes)."""

    private: Ed25519PrivateKey
    public_key: str

    @property
    def fingerprint(self) -> str:
        """Return the key's fingerprint."""
        return fingerprint(self.public_key)

    def sign(self, message: bytes) -> str:
        """Return the hex Ed25519 signature of `message` (deterministic: the same message, the same signature)."""
        return self.private.sign(message).hex()


def load_key(*, create: bool, path: Path | None = None) -> CentreKey | None:
    """Return this user's centre key; make it when there is none and `create` (else return None)."""
    path = path or key_path()
    if not path.exists():
        if not create:
            return None
        _make(path)
    try:
        return read_parsed(path, _parse)
    except (OSError, ValueError, TypeError) as exc:
        raise LedgerError(f"中心签名密钥 {path} 无法读取（{exc}）。请从密钥备份恢复它 (the signing key cannot be read)",
                          code="ledger-error") from exc


def signature_valid(public_key: str, signature: str, message: bytes) -> bool:
    """Return True when `signature` (hex) is `public_key`'s (hex) signature of `message`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _parse(pem: bytes) -> CentreKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return CentreKey(private, raw.hex())


def _make(path: Path) -> None:
    """Write a new key owner-only, whole or not at all; a key another process made meanwhile is kept."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fresh = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    fd = os.open(fresh, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(fresh, path)
        except FileExistsError:
            pass  # made by another command a moment ago: that one is the centre's key
    finally:
        fresh.unlink(missing_ok=True)
