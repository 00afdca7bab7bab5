"""The verification code (真伪查询码): how it is drawn, how the voucher prints it, how a typed one is read.

A code is 12 characters of Crockford's base32 (60 random bits).  The voucher prints it in groups
of four (SQ7A-FFX4-GNB9); people type what they read, with dashes or spaces, in lower case, or
with the letters Crockford's alphabet folds (O for 0, I and L for 1).  Every place that accepts a
code (verify, the web form, the API, the QR link) reads it through `normalise_code`, and every
place that shows one shows `printed_code`.  Imports nothing of ours but `layout`.
"""

from __future__ import annotations

import re
import secrets

from fjvoucher.layout import half_width

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 12  # 60 bits
GROUP = 4  # characters between the printed dashes
_FOLDED = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Separators people type or copy between the groups: dashes of every width, dots, underscores.
_SEPARATORS = re.compile(r"[-‐‑‒–—―−﹣－_.·]")
_LABEL = re.compile(r"^(真伪)?查询码[:：]?")


def new_code() -> str:
    """Return an unguessable verification code: 12 Crockford base32 characters, 60 random bits."""
    bits = secrets.randbits(5 * CODE_LENGTH)  # one call to the system's randomness, not twelve
    return "".join(CODE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(CODE_LENGTH))


def printed_code(code: str) -> str:
    """Return `code` as the voucher prints it: groups of four joined by dashes (SQ7A-FFX4-GNB9)."""
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def normalise_code(text: str) -> str:
    """Return a code as typed (dashes, spaces, full-width, lower case, O/I/L) in the form the ledger keeps.

    Anything else is left as it is, so a wrong code stays wrong (and answers like an unknown NO).
    """
    folded = _LABEL.sub("", half_width(text or "")).upper()
    return _SEPARATORS.sub("", folded).translate(_FOLDED)
