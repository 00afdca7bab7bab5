"""What a master may hold: well-formed XML, no external relationship, no object or field that reaches out.

LibreOffice follows a master's external links while it converts: a picture linked to
file:///etc/shadow would be embedded in every PDF.  So a master carries nothing that points
outside itself: no external relationship (pictures, hyperlinks, attached templates, OLE links),
no embedded object, no DOCTYPE or entity, and no field that includes or links other content.
"""

from __future__ import annotations

import re
from pathlib import Path

from fjvoucher.errors import TemplateError

_EXTERNAL = re.compile(rb'<Relationship\b[^>]*TargetMode\s*=\s*["\']External["\'][^>]*>', re.I)
_TARGET = re.compile(rb'Target\s*=\s*["\']([^"\']*)["\']')
_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)
_OBJECTS = re.compile(rb"<(w:object|o:OLEObject|w:control|o:LinkedObject)\b")
# Field instructions that bring in other content (INCLUDEPICTURE is the photo only in Word masters,
# where it has been converted before this check runs).
_FIELDS = ("INCLUDETEXT", "INCLUDEPICTURE", "INCLUDE", "LINK", "DDE", "DDEAUTO", "IMPORT", "RD", "AUTOTEXT")
_INSTRUCTION = re.compile(rb'(?:<w:instrText\b[^>]*>([^<]*)</w:instrText>|w:instr\s*=\s*"([^"]*)")')


def check_parts(path: Path, parts: dict[str, bytes]) -> None:
    """Raise TemplateError, naming the part, for malformed XML, declarations, external links or objects."""
    for name, data in parts.items():
        if not name.endswith((".xml", ".rels")):
            continue
        if _DECLARATIONS.search(data):
            raise TemplateError(f"凭证母版 {path} 的 {name} 含有 DOCTYPE/ENTITY 声明，不能使用 (XML declarations)")
        _parse(path, name, data)
        external = _EXTERNAL.search(data)
        if external:
            target = _TARGET.search(external.group(0))
            where = target.group(1).decode("utf-8", "replace") if target else "?"
            raise TemplateError(f"凭证母版 {path} 的 {name} 链接了外部内容（{where}），打印时会被读取，不能使用；"
                                "请在 Word 中把链接的图片改为嵌入，删除超链接和附加模板 (external relationship)")
        if _OBJECTS.search(data):
            raise TemplateError(f"凭证母版 {path} 的 {name} 含有嵌入对象（OLE/控件），不能使用；"
                                "请删除它 (embedded object)")


def check_fields(path: Path, parts: dict[str, bytes]) -> None:
    """Raise TemplateError for a field that includes or links other content (after Word fields are converted)."""
    for name, data in parts.items():
        if not name.endswith(".xml"):
            continue
        instructions = b" ".join(a or b for a, b in _INSTRUCTION.findall(data)).decode("utf-8", "replace")
        words = {w.upper() for w in re.findall(r"[A-Za-z]+", instructions)}
        found = sorted(words & set(_FIELDS))
        if found:
            raise TemplateError(f"凭证母版 {path} 的 {name} 含有引用外部内容的域 {'、'.join(found)}，不能使用；"
                                "请在 Word 中删除这些域 (fields that include other content)")


def _parse(path: Path, name: str, data: bytes) -> None:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise TemplateError(f"凭证母版 {path} 的 {name} 不是完整的 XML（{exc}），文件可能已损坏；"
                            "请在 Word 中打开后重新保存 (malformed XML)") from exc
