"""Packing a page's dictionaries into an object stream: the same page for every reader, fewer bytes."""

import io
import shutil
import subprocess

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from fjvoucher.pdf.objectstream import packed
from support import drawn_alike


def hello_pdf() -> bytes:
    """Return a one-page PDF showing "Hello" in Helvetica, written by pypdf as cut pages are."""
    content = b"BT /F1 24 Tf 20 40 Td (Hello) Tj ET"
    widths = b" ".join([b"556"] * 95)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [ 3 0 R ] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [ 0 0 200 100 ] /Resources << /Font << /F1 4 0 R >> >>"
         b" /Contents 5 0 R >>"),
        (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 32 /LastChar 126 /Widths [ %s ] >>"
         % widths),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    raw, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(raw))
        raw += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(raw)
    raw += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    raw += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    raw += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    buffer = io.BytesIO()
    PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(raw)))).write(buffer)
    return buffer.getvalue()


def test_packing_keeps_the_page_and_compresses_its_dictionaries():
    plain = hello_pdf()
    small = packed(plain)
    assert small.startswith(b"%PDF-1.5") and b"/Type /ObjStm" in small and b"/Type /XRef" in small
    assert b"556 556" not in small  # the widths are inside the compressed object stream
    assert len(small) < len(plain) - 300
    page = PdfReader(io.BytesIO(small)).pages[0]
    assert page.extract_text() == "Hello"
    assert list(page["/Resources"]["/Font"]["/F1"]["/Widths"]) == [556] * 95


def test_packing_leaves_what_it_cannot_read_simply_as_it_is():
    small = packed(hello_pdf())
    assert packed(small) == small  # already packed: no cross-reference table to cut objects by
    assert packed(b"not a pdf") == b"not a pdf"


@pytest.mark.skipif(not all(shutil.which(t) for t in ("qpdf", "pdftoppm", "mutool")),
                    reason="qpdf, poppler-utils and mupdf-tools are installed by scripts/setup.sh")
def test_a_packed_page_passes_qpdf_and_draws_the_same_in_poppler_and_mupdf(tmp_path):
    (tmp_path / "plain.pdf").write_bytes(hello_pdf())
    (tmp_path / "packed.pdf").write_bytes(packed(hello_pdf()))
    check = subprocess.run(["qpdf", "--check", tmp_path / "packed.pdf"], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0 and "No syntax or stream encoding errors" in check.stdout
    assert drawn_alike(tmp_path / "plain.pdf", 1, tmp_path / "packed.pdf")
    subprocess.run(["pdftoppm", "-r", "50", "-png", tmp_path / "packed.pdf", tmp_path / "p-packed"], check=True)
    with Image.open(tmp_path / "p-packed-1.png") as drawn:
        assert drawn.convert("L").getextrema()[0] < 100  # the word is drawn: a blank page would pass the rest
