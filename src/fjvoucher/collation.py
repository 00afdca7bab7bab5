"""Put Chinese text in the order a clerk expects: by pinyin, without a dictionary of readings.

GB 2312 lays out its 3,755 level-1 hanzi (the common ones: every occupation and nearly every
name) in pinyin order, so their GB 2312 codes sort by pinyin.  Level-2 hanzi are laid out by
radical and stroke: they follow the level-1 ones, in that order; characters outside GB 2312 (rare
name characters) come last by code point.  Digits and Latin letters come before any hanzi.
Polyphonic characters sort under the one reading GB 2312 gives them (重 under zhong); a full
pinyin dictionary (pypinyin, 8 MB) would fix that, which an occupation list does not need.
"""

from __future__ import annotations

_LEVEL_1 = range(0xB0, 0xD8)  # lead bytes of GB 2312's level-1 hanzi (B0A1–D7F9)
_LEVEL_2 = range(0xD8, 0xF8)  # lead bytes of its level-2 hanzi (D8A1–F7FE)


def pinyin_key(text: str) -> tuple[tuple[int, int], ...]:
    """Return a sort key putting `text` in pinyin order (see the module's note on its limits)."""
    return tuple(_char_key(ch) for ch in text)


def _char_key(ch: str) -> tuple[int, int]:
    if ch.isascii():
        return 0, ord(ch.upper())
    try:
        code = ch.encode("gb2312")
    except UnicodeEncodeError:
        return 4, ord(ch)
    if len(code) == 2 and code[0] in _LEVEL_1:
        return 2, int.from_bytes(code, "big")
    if len(code) == 2 and code[0] in _LEVEL_2:
        return 3, int.from_bytes(code, "big")
    return 1, int.from_bytes(code, "big")  # full-width digits, letters and punctuation
