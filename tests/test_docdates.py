"""A converted PDF's dates and ID are fixed (no LibreOffice needed: its output's shape, in bytes)."""

import datetime as dt

from fjvoucher.pdf.docdates import fixed_bytes


def libreoffice_like(stamp: bytes, file_id: bytes) -> bytes:
    return (b"%PDF-1.6\n1 0 obj\n<</Producer(LibreOffice 7.4)/CreationDate(D:" + stamp + b"Z')>>\nendobj\n"
            b"<x:xmpmeta><xmp:CreateDate>2026-11-30T23:32:41+08:00</xmp:CreateDate></x:xmpmeta>\n"
            b"xref\n0 2\ntrailer\n<</Size 2/Info 1 0 R\n/ID [ <" + file_id + b">\n<" + file_id + b"> ]\n"
            b"/DocChecksum /" + file_id + b"\nstartxref\n9\n%%EOF\n")


def test_two_conversions_of_one_batch_become_the_same_bytes_at_the_same_length():
    moment = dt.datetime(2009, 6, 12, 9, 30, tzinfo=dt.UTC)
    first = libreoffice_like(b"20261130233241", b"D5ABC7A5D06622798C72025446775B18")
    second = libreoffice_like(b"20261130233244", b"11F1B740A84E90B16E7AB573887B383E")
    assert first != second
    a, b = fixed_bytes(first, moment), fixed_bytes(second, moment)
    assert a == b and len(a) == len(first)  # same length: the cross-reference offsets stay true
    assert b"D:20090612093000Z'" in a and b"<xmp:CreateDate>2009-06-12T09:30:00+08:00" in a
    assert b"D5ABC7A5" not in a and b"/DocChecksum /" + a.split(b"/ID [ <")[1][:32] in a
