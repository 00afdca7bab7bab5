"""The QR code a voucher may carry: a link to its own page on the centre's verification site."""

from __future__ import annotations

import struct
import zlib
from urllib.parse import quote

from fjvoucher.word.photos import Photo

QR_BOX_MM = (16.0, 16.0)
SCALE, BORDER = 4, 2  # pixels a module, modules of quiet zone


def verify_link(base_url: str, voucher_no: str, code: str) -> str:
    """Return the address the QR opens: BASE/v/NO?c=CODE."""
    return f"{base_url.rstrip('/')}/v/{quote(voucher_no, safe='')}?c={code}"


def qr_image(text: str) -> Photo:
    """Return a QR code of `text` as a black-and-white PNG.

    The mask is fixed (segno would otherwise try all eight, at ~4 ms a code: 10 minutes for the
    province's 150,000) and the PNG is written here, one bit a pixel, in a fraction of a millisecond.
    """
    import segno

    matrix = segno.make(text, error="m", micro=False, mask=4, boost_error=False).matrix
    data, size = _png(matrix)
    return Photo(data, "png", size, size)


def _png(matrix) -> tuple[bytes, int]:
    modules = len(matrix) + 2 * BORDER
    size = modules * SCALE
    lines = []
    for r in range(-BORDER, len(matrix) + BORDER):
        bits = "".join(("0" if 0 <= r < len(matrix) and 0 <= c < len(matrix) and matrix[r][c] else "1") * SCALE
                       for c in range(-BORDER, len(matrix) + BORDER))
        bits += "1" * (-len(bits) % 8)
        line = b"\0" + int(bits, 2).to_bytes(len(bits) // 8, "big")
        lines += [line] * SCALE

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(lines)))
            + chunk(b"IEND", b"")), size
