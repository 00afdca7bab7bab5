"""Keep only the parts of a master that a voucher needs: what its relationships reach, minus macros and leftovers.

Every part of the master is copied into every voucher.  A macro project (vbaProject.bin), a file
someone zipped in, a thumbnail of the master, printer settings naming the office's printers: none
of it is printed, and all of it would travel with each candidate's voucher.  So the package is
walked from its root relationships as Word walks it; parts no relationship reaches, and parts of
the types below, are left out, and the relationships and content types that named them follow.
"""

from __future__ import annotations

import posixpath

from fjvoucher.word.safety import parse_xml

CONTENT_TYPES = "[Content_Types].xml"
ROOT_RELS = "_rels/.rels"
# Relationship types a printed voucher never needs (macros and their data, toolbars, key maps, printer
# settings, the master's thumbnail, its building blocks).
DROPPED_TYPES = ("/vbaProject", "/wordVbaData", "/keyMapCustomizations", "/attachedToolbars", "/printerSettings",
                 "/thumbnail", "/glossaryDocument")
# A macro-enabled document or a template is a document once its macros are gone (Word refuses a .docx
# whose main part says otherwise).
DOCUMENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
MAIN_TYPES = ("application/vnd.ms-word.document.macroEnabled.main+xml",
              "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml")


def rels_of(part: str) -> str:
    """Return the name of the relationships part of `part` ("" for the package itself)."""
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def needed_parts(parts: dict[str, bytes]) -> dict[str, bytes]:
    """Return the parts a voucher needs, their relationships and content types rewritten to match.

    A relationships part that does not parse is kept as it is: the safety check refuses it by name.
    """
    keep = {CONTENT_TYPES: parts[CONTENT_TYPES]} if CONTENT_TYPES in parts else {}
    queue = [("", ROOT_RELS)]
    while queue:
        source, rels_name = queue.pop()
        if rels_name not in parts or rels_name in keep:
            continue
        keep[rels_name] = parts[rels_name]
        root = parse_xml(parts[rels_name], strict=False)
        if root is None:
            continue
        dropped = False
        for rel in list(root):
            kind, target = rel.get("Type", ""), rel.get("Target", "")
            if kind.endswith(DROPPED_TYPES):
                root.remove(rel)
                dropped = True
                continue
            if (rel.get("TargetMode") or "Internal") != "Internal":
                continue  # refused by the safety check, which names it
            name = _resolve(source, target)
            if name in parts and name not in keep:
                keep[name] = parts[name]
                queue.append((name, rels_of(name)))
        if dropped:
            keep[rels_name] = _serialise(root)
    if CONTENT_TYPES in keep:
        keep[CONTENT_TYPES] = _content_types_for(keep[CONTENT_TYPES], set(keep))
    return keep


def _resolve(source: str, target: str) -> str:
    """Return the part name a relationship of `source` names with `target` (relative, or absolute from the root)."""
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target)).lstrip("/")


def _content_types_for(data: bytes, kept: set[str]) -> bytes:
    """Return [Content_Types].xml without Overrides for parts left out, the main part typed as a document."""
    root = parse_xml(data, strict=False)
    if root is None:
        return data
    changed = False
    for entry in list(root):
        if not isinstance(entry.tag, str) or not entry.tag.endswith("Override"):
            continue
        if entry.get("PartName", "").lstrip("/") not in kept:
            root.remove(entry)
            changed = True
        elif entry.get("ContentType") in MAIN_TYPES:
            entry.set("ContentType", DOCUMENT_TYPE)
            changed = True
    return _serialise(root) if changed else data


def _serialise(root) -> bytes:
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
