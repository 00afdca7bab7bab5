"""What a master may hold: well-formed XML, nothing that reaches outside it, no document nested in it.

LibreOffice follows a master's external links while it converts: a picture linked to
file:///etc/shadow would be embedded in every PDF.  So a master carries nothing that points
outside itself: no external relationship (pictures, hyperlinks, attached templates, OLE links),
no embedded object or nested document (altChunk, subdocument, OLE package, frameset), no
DOCTYPE or entity, and no field that includes or links other content.

Every decision is taken on the parsed XML, as Word and LibreOffice read it (character references
resolved, any namespace prefix), never on the bytes: `TargetMode="&#69;xternal"` is External.
"""

from __future__ import annotations

import re
from pathlib import Path

from fjvoucher.errors import TemplateError
from fjvoucher.messages import message

# Field types that bring in or link other content (INCLUDEPICTURE is the photo only in Word masters,
# where it has been converted before check_fields runs).
FORBIDDEN_FIELDS = frozenset({"INCLUDETEXT", "INCLUDEPICTURE", "INCLUDE", "LINK", "DDE", "DDEAUTO", "IMPORT", "RD",
                              "AUTOTEXT", "AUTOTEXTLIST", "GLOSSARY", "DATABASE", "EMBED", "MACROBUTTON"})
# Elements (by local name, any namespace) that embed an object or another document.
OBJECT_ELEMENTS = frozenset({"object", "OLEObject", "objectEmbed", "objectLink", "control", "LinkedObject"})
NESTED_ELEMENTS = frozenset({"altChunk", "subDoc", "frameset", "include"})  # include: XInclude
# Relationship types whose target is a document or object of its own, inspected by nobody.
NESTED_RELATIONSHIPS = ("/aFChunk", "/subDocument", "/oleObject", "/package", "/control", "/frame")
_URL_ATTRIBUTES = frozenset({"href", "src", "link", "Target", "sourceFileName"})
_SCHEME = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:|[/\\]{2})")  # file:, http:, C:, //host, \\host
MAX_PART_BYTES = 64 << 20  # one part of a master, unpacked: the bundled master's largest is 40 KB
XML_TYPES = re.compile(r"[/+]xml$")


def refusal(code: str, params: dict) -> TemplateError:
    """Return the TemplateError for failure `code` (messages.MESSAGES gives its text, FAILURES its exit code)."""
    return TemplateError(message(code, params), code=code)


def xml_part_names(parts: dict[str, bytes]) -> list[str]:
    """Return the parts Word reads as XML: *.xml, *.rels, and any part whose content type is XML."""
    from fjvoucher.word.package import CONTENT_TYPES

    types = content_types(parts.get(CONTENT_TYPES, b""))
    return [n for n in parts if n.endswith((".xml", ".rels")) or XML_TYPES.search(types.get(n, ""))]


def content_types(data: bytes) -> dict[str, str]:
    """Return part name → content type, from [Content_Types].xml's Defaults and Overrides (lenient)."""
    root = parse_xml(data, strict=False)
    if root is None:
        return {}
    defaults = {e.get("Extension", "").lower(): e.get("ContentType", "") for e in root if _local(e) == "Default"}
    overrides = {e.get("PartName", "").lstrip("/"): e.get("ContentType", "") for e in root if _local(e) == "Override"}
    return _TypeMap(defaults, overrides)


class _TypeMap(dict):
    """Content types by part name: the Override if any, else the Default for its extension."""

    def __init__(self, defaults: dict[str, str], overrides: dict[str, str]):
        super().__init__(overrides)
        self.defaults = defaults

    def get(self, name, default=""):
        """Return the content type of part `name` (case-insensitive, as OPC names are)."""
        for key, value in self.items():
            if key.lower() == name.lower():
                return value
        return self.defaults.get(name.rsplit(".", 1)[-1].lower() if "." in name else "", default)


def parse_xml(data: bytes, strict: bool = True):
    """Return the root of `data` parsed as Word reads it, without DTDs, entities or the network.

    `strict=False` returns None instead of raising lxml's XMLSyntaxError.
    """
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        if strict:
            raise
        return None


def check_parts(path: Path, parts: dict[str, bytes]) -> None:
    """Raise TemplateError, naming the part, for malformed XML, declarations, external links, objects
    or nested documents."""
    from lxml import etree

    for name in xml_part_names(parts):
        try:
            root = parse_xml(parts[name])
        except etree.XMLSyntaxError as exc:
            raise refusal("master-malformed", {"master": path, "part": name, "error": exc}) from exc
        _check_declarations(path, name, root)
        if name.endswith(".rels"):
            _check_relationships(path, name, root)
        _check_elements(path, name, root)


def _check_declarations(path: Path, name: str, root) -> None:
    """Refuse a DOCTYPE (and so any entity), a processing instruction that loads something, another encoding."""
    from lxml import etree

    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None \
            or any(True for _ in root.iter(etree.Entity)):
        raise refusal("master-declarations", {"master": path, "part": name})
    if (info.encoding or "UTF-8").upper().replace("_", "-") not in ("UTF-8", "UTF8"):
        raise refusal("master-encoding", {"master": path, "part": name, "encoding": info.encoding})
    siblings = [*root.itersiblings(preceding=True), *root.iter(etree.ProcessingInstruction)]
    for node in siblings:
        if isinstance(node, etree._ProcessingInstruction) and node.target.lower() == "xml-stylesheet":
            raise refusal("master-declarations", {"master": path, "part": name})


def _check_relationships(path: Path, name: str, root) -> None:
    """Refuse a relationship that leaves the package or points at a nested document or object."""
    for rel in root.iter():
        if _local(rel) != "Relationship":
            continue
        attrs = {_local_name(k): v for k, v in rel.attrib.items()}
        mode, target, kind = attrs.get("TargetMode"), attrs.get("Target", ""), attrs.get("Type", "")
        if (mode is not None and mode.strip() != "Internal") or _leaves_package(target):
            raise refusal("master-external", {"master": path, "part": name, "target": target})
        if kind.endswith(NESTED_RELATIONSHIPS):
            raise refusal("master-nested", {"master": path, "part": name,
                                                          "what": kind.rsplit("/", 1)[-1]})


def _leaves_package(target: str) -> bool:
    """Return True when a relationship target names something outside the package (URL, drive, UNC)."""
    return bool(_SCHEME.match(target)) and not target.strip().lower().startswith("data:")


def _check_elements(path: Path, name: str, root) -> None:
    """Refuse embedded objects, nested documents and attributes that name an outside URL (VML, SVG)."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = _local(element)
        if local in OBJECT_ELEMENTS:
            raise refusal("master-object", {"master": path, "part": name})
        if local in NESTED_ELEMENTS:
            raise refusal("master-nested", {"master": path, "part": name, "what": local})
        for key, value in element.attrib.items():
            if _local_name(key) in _URL_ATTRIBUTES and _SCHEME.match(value) \
                    and not value.strip().lower().startswith(("data:", "#")):
                raise refusal("master-external", {"master": path, "part": name, "target": value})


def field_instructions(root) -> list[tuple[str, bool]]:
    """Return each field of a parsed part as (instruction, built): `built` when its first word comes from
    a nested field, so that only Word knows, when it updates fields, what the field is.

    Fields are read in document order: simple fields, and complex ones (begin, instrText split over
    runs, separate, end) whose nested fields are fields of their own.
    """
    found: list[tuple[str, bool]] = []
    stack: list[dict] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = _local(element)
        if local == "fldSimple":
            found.append((_attribute(element, "instr"), False))
        elif local == "fldChar":
            kind = _attribute(element, "fldCharType")
            if kind == "begin":
                if stack and not stack[-1]["separated"] and not stack[-1]["text"].strip():
                    stack[-1]["built"] = True
                stack.append({"text": "", "separated": False, "built": False})
            elif kind == "separate" and stack:
                stack[-1]["separated"] = True
            elif kind == "end" and stack:
                done = stack.pop()
                found.append((done["text"], done["built"]))
        elif local in ("instrText", "delInstrText"):
            if stack and not stack[-1]["separated"]:
                stack[-1]["text"] += element.text or ""
            elif not stack:
                found.append((element.text or "", False))
    found += [(open_field["text"], open_field["built"]) for open_field in stack]
    return found


def check_fields(path: Path, parts: dict[str, bytes]) -> None:
    """Raise TemplateError for a field that includes or links other content (after Word fields are converted)."""
    for name in xml_part_names(parts):
        root = parse_xml(parts[name], strict=False)
        if root is None:
            continue  # check_parts has refused it already
        kinds = set()
        for instruction, built in field_instructions(root):
            words = instruction.split()
            kind = words[0].upper() if words else ""
            if built:
                raise refusal("master-field-built", {"master": path, "part": name})
            if kind in FORBIDDEN_FIELDS:
                kinds.add(kind)
        if kinds:
            raise refusal("master-fields", {"master": path, "part": name,
                                                          "fields": "、".join(sorted(kinds))})


def _attribute(element, local: str) -> str:
    """Return the attribute `local` of `element` in any namespace (w:instr, or instr in strict OOXML)."""
    return next((v for k, v in element.attrib.items() if _local_name(k) == local), "")


def _local(element) -> str:
    return _local_name(element.tag)


def _local_name(qualified: str) -> str:
    return qualified.rsplit("}", 1)[-1]
