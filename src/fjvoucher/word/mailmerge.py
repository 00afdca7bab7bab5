"""The mail-merge settings a Word master keeps: which data file it was made with, stripped from every output.

A province master links its data source (settings.xml's w:mailMerge: `D:\\考务\\名册.xls`, the query,
the data type).  Left in an output, Word asks for that file each time the voucher is opened; so it
is removed from the master once, and what it named is kept for `template check` (it names the
columns the province expected).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

SETTINGS = "word/settings.xml"
SETTINGS_RELS = "word/_rels/settings.xml.rels"
_MERGE_TYPES = ("/mailMergeSource", "/mailMergeHeaderSource", "/recipientData")


@dataclass(frozen=True)
class DataSource:
    """What a master's mail-merge settings named: the data file, the query on it, the kind of source."""

    file: str
    query: str
    kind: str


def strip_mail_merge(parts: dict[str, bytes]) -> DataSource | None:
    """Remove the mail-merge settings and their links from `parts` (in place); return what they named.

    Read as Word reads them, parsed: a w:mailMerge under any prefix, values with character references.
    """
    from lxml import etree

    settings = _parse(parts.get(SETTINGS, b""))
    found = [e for e in settings.iter() if _local(e.tag) == "mailMerge"] if settings is not None else []
    if not found:
        return None
    block = found[0]
    values = {_local(child.tag): _value(child) for child in block.iter() if isinstance(child.tag, str)}
    for element in found:
        element.getparent().remove(element)
    parts[SETTINGS] = etree.tostring(settings, xml_declaration=True, encoding="UTF-8", standalone=True)
    targets = []
    rels = _parse(parts.get(SETTINGS_RELS, b""))
    if rels is not None:
        for rel in [r for r in rels.iter() if _local(r.tag) == "Relationship"]:
            if rel.get("Type", "").endswith(_MERGE_TYPES):
                targets.append(unquote(rel.get("Target", "")))
                rel.getparent().remove(rel)
        parts[SETTINGS_RELS] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8", standalone=True)
    return DataSource(file=_first(targets) or values.get("connectString", ""), query=values.get("query", ""),
                      kind=values.get("dataType", ""))


def _parse(data: bytes):
    from fjvoucher.word.safety import parse_xml

    return parse_xml(data, strict=False) if data else None


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _value(element) -> str:
    return next((v for k, v in element.attrib.items() if _local(k) == "val"), "")


def _first(targets: list[str]) -> str:
    return targets[0].removeprefix("file:///").removeprefix("file://") if targets else ""
