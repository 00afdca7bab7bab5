"""Give a converted PDF fixed dates and a fixed file ID, so that a re-run writes the same bytes.

LibreOffice stamps every PDF with the moment of conversion (/CreationDate, /ModDate, XMP
xmp:CreateDate …) and derives the trailer's /ID and its own /DocChecksum from it: the same batch
converted twice differs.  The merge hands in the vouchers' issue time from the ledger instead,
and the ID becomes a digest of the document itself.  Every value is rewritten at the same
length, so the cross-reference table's offsets stay true without rewriting the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

# (D:YYYYMMDDHHmmSS then an optional zone: Z, Z', +08'00' …)
_PDF_DATE = re.compile(rb"(/(?:CreationDate|ModDate)\s*\(D:)(\d{14})([^)]*)\)")
_XMP_DATE = re.compile(rb"(<xmp:(?:CreateDate|ModifyDate|MetadataDate)>)(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)")
_ID = re.compile(rb"(/ID\s*\[\s*<)([0-9A-Fa-f]+)(>\s*<)([0-9A-Fa-f]+)(>)")
_CHECKSUM = re.compile(rb"(/DocChecksum\s*/)([0-9A-Fa-f]+)")


def fix_document_dates(pdf: Path, moment: dt.datetime) -> None:
    """Rewrite `pdf`'s dates to `moment` (local time) and its /ID and /DocChecksum to digests of its content."""
    data = pdf.read_bytes()
    fixed = fixed_bytes(data, moment)
    if fixed != data:
        pdf.write_bytes(fixed)  # the file is still the engine's temporary output: nobody sees it half-written


def fixed_bytes(data: bytes, moment: dt.datetime) -> bytes:
    """Return `data` with its dates set to `moment` and its ID and checksum made from its content."""
    local = moment.replace(microsecond=0)
    utc = local.astimezone(dt.UTC) if local.tzinfo is None else local.astimezone(dt.UTC)

    def pdf_date(match: re.Match) -> bytes:
        zone = match.group(3)
        shown = utc if zone.startswith(b"Z") else local  # LibreOffice writes Z' for UTC, +08'00' otherwise
        return match.group(1) + shown.strftime("%Y%m%d%H%M%S").encode() + zone + b")"

    data = _PDF_DATE.sub(pdf_date, data)
    data = _XMP_DATE.sub(lambda m: m.group(1) + local.strftime("%Y-%m-%dT%H:%M:%S").encode(), data)
    # The ID and checksum are digests of everything else: blank them first so they do not digest themselves.
    blank = _CHECKSUM.sub(lambda m: m.group(1) + b"0" * len(m.group(2)), _ID.sub(_blank_id, data))
    digest = hashlib.md5(blank, usedforsecurity=False).hexdigest().upper().encode()
    data = _ID.sub(lambda m: m.group(1) + digest[:len(m.group(2))].ljust(len(m.group(2)), b"0") + m.group(3)
                   + digest[:len(m.group(4))].ljust(len(m.group(4)), b"0") + m.group(5), data)
    return _CHECKSUM.sub(lambda m: m.group(1) + digest[:len(m.group(2))].ljust(len(m.group(2)), b"0"), data)


def _blank_id(match: re.Match) -> bytes:
    return (match.group(1) + b"0" * len(match.group(2)) + match.group(3) + b"0" * len(match.group(4))
            + match.group(5))
