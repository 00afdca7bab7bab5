"""Write DOCX packages (ZIP files) fast: parts that never change are compressed and framed once.

zipfile recompresses every part on every save; for a voucher that is most of the work, since
only document.xml, its relationships and the photo differ from one candidate to the next.
The fixed parts go first, so their bytes and directory records are the same in every package.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

_DOS_TIME, _DOS_DATE = 0, (2009 - 1980) << 9 | 6 << 5 | 10  # fixed stamp: same input, same bytes
_STORED, _DEFLATED = 0, 8
_UTF8_FLAG = 0x0800
_ALREADY_COMPRESSED = (".jpeg", ".jpg", ".png", ".gif")
CONTENT_TYPES = "[Content_Types].xml"


@dataclass(frozen=True, slots=True)
class Entry:
    """One ZIP member ready to write: name, method, CRC, sizes and the (compressed) data."""

    name: bytes
    method: int
    crc: int
    size: int
    data: bytes

    def local(self) -> bytes:
        """Return the local file header and data."""
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, _UTF8_FLAG, self.method, _DOS_TIME, _DOS_DATE,
                           self.crc, len(self.data), self.size, len(self.name), 0) + self.name + self.data

    def central(self, offset: int) -> bytes:
        """Return the central directory record of this member, whose local header is at `offset`."""
        return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, _UTF8_FLAG, self.method, _DOS_TIME,
                           _DOS_DATE, self.crc, len(self.data), self.size, len(self.name), 0, 0, 0, 0, 0,
                           offset) + self.name


def make_entry(name: str, data: bytes, level: int = 6) -> Entry:
    """Return the ZIP member for `data`, deflated unless it is an image that is compressed already."""
    crc = zlib.crc32(data)
    if name.lower().endswith(_ALREADY_COMPRESSED):
        return Entry(name.encode("utf-8"), _STORED, crc, len(data), data)
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    packed = compressor.compress(data) + compressor.flush()
    return Entry(name.encode("utf-8"), _DEFLATED, crc, len(data), packed)


class PackageWriter:
    """Build DOCX packages that share most parts: fixed parts framed once, varying parts per call."""

    def __init__(self, fixed: dict[str, bytes]):
        ordered = sorted(fixed, key=lambda name: name != CONTENT_TYPES)  # conventional first member
        head, central, offset = [], [], 0
        for name in ordered:
            entry = make_entry(name, fixed[name])
            local = entry.local()
            head.append(local)
            central.append(entry.central(offset))
            offset += len(local)
        self.head_bytes, self.head_central, self.count = b"".join(head), b"".join(central), len(ordered)
        self.fixed_names = set(fixed)

    def build(self, varying: dict[str, bytes], level: int = 1) -> bytes:
        """Return the package: the fixed parts, then `varying` (new parts; never a fixed part's name).

        Varying parts are deflated at level 1: they are written once, so speed beats a few bytes.
        """
        if self.fixed_names & set(varying):
            raise ValueError(f"parts both fixed and varying: {sorted(self.fixed_names & set(varying))}")
        out, central, offset = [self.head_bytes], [self.head_central], len(self.head_bytes)
        for name, data in varying.items():
            entry = make_entry(name, data, level)
            local = entry.local()
            out.append(local)
            central.append(entry.central(offset))
            offset += len(local)
        directory = b"".join(central)
        count = self.count + len(varying)
        if offset > 0xFFFFFFFF or count > 0xFFFF:
            raise ValueError("package too large for a plain ZIP: make the batch smaller")
        out += (directory, struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), offset, 0))
        return b"".join(out)
