"""The mail-merge settings a Word master keeps: which data file it was made with, stripped from every output.

A province master links its data source (settings.xml's w:mailMerge: `D:\\考务\\名册.xls`, the query,
the data type).  Left in an output, Word asks for that file each time the voucher is opened; so it
is removed from the master once, and what it named is kept for `template check` (it names the
columns the province expected).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

SETTINGS = "word/settings.xml"
SETTINGS_RELS = "word/_rels/settings.xml.rels"
_MAIL_MERGE = re.compile(rb"<w:mailMerge\b.*?</w:mailMerge>|<w:mailMerge\b[^>]*/>", re.S)
_MERGE_RELATIONSHIP = re.compile(
    rb'<Relationship\b[^>]*Type="[^"]*/(?:mailMergeSource|mailMergeHeaderSource|recipientData)"[^>]*/>')


@dataclass(frozen=True)
class DataSource:
    """What a master's mail-merge settings named: the data file, the query on it, the kind of source."""

    file: str
    query: str
    kind: str


def strip_mail_merge(parts: dict[str, bytes]) -> DataSource | None:
    """Remove the mail-merge settings and their links from `parts` (in place); return what they named."""
    settings = parts.get(SETTINGS, b"")
    found = _MAIL_MERGE.search(settings)
    if not found:
        return None
    block = found.group(0).decode("utf-8", "replace")
    rels = parts.get(SETTINGS_RELS, b"")
    targets = [unquote(t.decode("utf-8", "replace")) for t in re.findall(
        rb'Target="([^"]*)"', b" ".join(_MERGE_RELATIONSHIP.findall(rels)))]
    parts[SETTINGS] = settings[:found.start()] + settings[found.end():]
    if rels:
        parts[SETTINGS_RELS] = _MERGE_RELATIONSHIP.sub(b"", rels)
    return DataSource(file=_first(targets) or _value(block, "connectString"), query=_value(block, "query"),
                      kind=_value(block, "dataType"))


def _value(block: str, tag: str) -> str:
    found = re.search(rf'<w:{tag}\b[^>]*w:val="([^"]*)"', block)
    return _unescape(found.group(1)) if found else ""


def _first(targets: list[str]) -> str:
    return targets[0].removeprefix("file:///").removeprefix("file://") if targets else ""


def _unescape(text: str) -> str:
    from html import unescape

    return unescape(text)
