"""The drawing engine's parts without LibreOffice: Writer's line model, the font programs, what a master may be."""

from __future__ import annotations

import zlib

import pytest

from fjvoucher.pdf.faces import Programs, face_named
from fjvoucher.pdf.fontsubset import TrueType
from fjvoucher.pdf.lines import char_class, lay_out
from fjvoucher.pdf.lopage import Unreadable, read_blocks
from support import needs_fonts

pytestmark = needs_fonts("AR PL UMing CN", "HanaMinA", "HanaMinB")


def offsets(text: str, size: float = 12) -> list[float]:
    placed, _ = lay_out(text, [face_named("UMingCN"), face_named("HanaMinB"), face_named("HanaMinA")], size)
    return [p.x for p in placed]


def test_writer_adds_a_fifth_of_the_size_between_han_and_latin_letters_or_digits():
    assert offsets("2009年6月") == pytest.approx([0, 6, 12, 18, 26.4, 40.8, 49.2])  # 24 + 2.4, 38.4 + 2.4 …


def test_no_space_beside_punctuation():
    assert offsets("（A）") == [0, 12, 18]
    assert offsets("A-中") == [0, 6, 12]


def test_a_line_missing_characters_takes_the_first_fallback_face_holding_them_all():
    faces = [face_named("UMingCN"), face_named("HanaMinB"), face_named("HanaMinA")]
    alone, _ = lay_out("王𠀋", faces, 12)
    both, _ = lay_out("王𠀋㐀", faces, 12)
    assert [p.face for p in alone] == ["UMingCN", "HanaMinB"]
    assert [p.face for p in both] == ["UMingCN", "HanaMinA", "HanaMinA"]  # HanaMinB lacks 㐀


@pytest.mark.parametrize("char", ["\u00e9", "\u0410", "\U0001F600", "\u3042"])
def test_characters_outside_the_proven_classes_are_not_laid_out(char):
    assert char_class(char) is None
    assert lay_out(f"王{char}", [face_named("UMingCN")], 12) is None


def test_a_program_of_shared_and_own_glyphs_inflates_and_shows_each_code_its_glyph():
    face = face_named("UMingCN")
    shared = [face.glyph(c) for c in "福建省职业"]
    programs = Programs(face, shared)
    codes = {i + 1: g for i, g in enumerate(shared)} | {6: face.glyph("王"), 7: face.glyph("A")}
    packed, length = programs.program(codes)
    program = zlib.decompress(packed)  # several deflate pieces read as one stream, checked by Adler-32
    assert len(program) == length
    parsed = TrueType.parse(program)
    for code, glyph in codes.items():
        assert parsed.glyphs[parsed.code_to_glyph[code]].rstrip(b"\0") == face.outline(glyph).rstrip(b"\0")


def test_a_page_written_otherwise_than_libreoffice_writes_is_unreadable():
    with pytest.raises(Unreadable):
        read_blocks(b"BT /F1 12 Tf 1 0 0 1 10 10 Tm (x) Tj ET", {})


@pytest.mark.parametrize("placeholder, plain", [
    ("{{ name }}", True),
    ("{{ name|upper }}", False),
    ("{{ name|mergefield(0) }}", False),
    ("{% if sex == '男' %}先生{% endif %}", False),
    ("{% if reissue %}补发{% endif %}", True),
])
def test_a_master_whose_text_is_not_its_values_as_they_are_is_not_drawn(placeholder, plain):
    from fjvoucher.word.drawn import plain_master
    from fjvoucher.word.master import DOCUMENT, prepare_template

    template = prepare_template(None)
    parts = dict(template.parts)
    parts[DOCUMENT] = b"<w:body><w:p><w:r><w:t>" + placeholder.encode() + b"</w:t></w:r></w:p></w:body>"
    template.parts = parts
    assert plain_master(template) is plain
