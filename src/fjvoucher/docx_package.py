"""Write DOCX packages (ZIP files) fast: parts that never change are compressed once and reused.

zipfile recompresses every part on every save; for a voucher that is most of the work, since
only document.xml, its relationships and the photo differ from one candidate to the next.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

_DOS_TIME, _DOS_DATE = 0, (2009 - 1980) << 9 | 6 << 5 | 10  # fixed stamp: same input, same bytes
_STORED, _DEFLATED = 0, 8
_UTF8_FLAG = 0x0800
_ALREADY_COMPRESSED = (".jpeg", ".jpg", ".png", ".gif")


@dataclass(frozen=True, slots=True)
class Entry:
    """One ZIP member ready to write: name, method, CRC, sizes and the (compressed) data."""

    name: bytes
    method: int
    crc: int
    size: int
    data: bytes


def make_entry(name: str, data: bytes, level: int = 6) -> Entry:
    """Return the ZIP member for `data`, deflated unless it is an image that is compressed already."""
    crc = zlib.crc32(data)
    if name.lower().endswith(_ALREADY_COMPRESSED):
        return Entry(name.encode("utf-8"), _STORED, crc, len(data), data)
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    packed = compressor.compress(data) + compressor.flush()
    return Entry(name.encode("utf-8"), _DEFLATED, crc, len(data), packed)


def zip_bytes(entries: list[Entry]) -> bytes:
    """Return a complete ZIP archive holding `entries` in order."""
    out, central, offset = [], [], 0
    for e in entries:
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, _UTF8_FLAG, e.method, _DOS_TIME, _DOS_DATE,
                            e.crc, len(e.data), e.size, len(e.name), 0) + e.name
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, _UTF8_FLAG, e.method, _DOS_TIME,
                                   _DOS_DATE, e.crc, len(e.data), e.size, len(e.name), 0, 0, 0, 0, 0, offset)
                       + e.name)
        out += (local, e.data)
        offset += len(local) + len(e.data)
    directory = b"".join(central)
    if offset > 0xFFFFFFFF or len(entries) > 0xFFFF:
        raise ValueError("package too large for a plain ZIP: make the batch smaller")
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), offset, 0)
    return b"".join(out) + directory + end


class PackageWriter:
    """Build DOCX packages that share most parts: fixed parts compressed once, varying parts per call."""

    def __init__(self, fixed: dict[str, bytes]):
        self.fixed = {name: make_entry(name, data) for name, data in fixed.items()}

    def build(self, varying: dict[str, bytes], level: int = 6) -> bytes:
        """Return the package with `varying` parts (new or replacing fixed ones) added to the fixed parts."""
        entries = [make_entry(name, data, level) for name, data in varying.items()]
        names = {e.name for e in entries}
        entries += [e for e in self.fixed.values() if e.name not in names]
        entries.sort(key=lambda e: e.name != b"[Content_Types].xml")  # conventional first member
        return zip_bytes(entries)
