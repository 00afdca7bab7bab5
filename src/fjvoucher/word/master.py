"""The voucher master: load a docxtpl template once, check it against the contract, compile it once.

docxtpl opens, patches and compiles the template for every document it renders; that is two
thirds of its time.  Here the package is read once, docxtpl's own `patch_xml` turns Word's
split runs into clean Jinja tags once, and one sandboxed, autoescaping Jinja template per
part renders each candidate.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fjvoucher.contract import BATCH_SHARED, CONTRACT, known_field_names
from fjvoucher.errors import TemplateError
from fjvoucher.roster.cells import MAX_CELL_CHARS
from fjvoucher.word.bounds import MAX_EXPRESSION_CHARS, bounded_filters, oversized_expression
from fjvoucher.word.mailmerge import SETTINGS, SETTINGS_RELS, DataSource, strip_mail_merge
from fjvoucher.word.mergefields import Conversion, apply_spec, convert_part, has_fields
from fjvoucher.word.package import CONTENT_TYPES
from fjvoucher.word.pruning import needed_parts
from fjvoucher.word.safety import (
    MAX_PART_BYTES,
    check_fields,
    check_parts,
    field_instructions,
    parse_xml,
    refusal,
    xml_part_names,
)

# What a master may write inside {{ }} and {% %}: see README "凭证母版".
ALLOWED_FILTERS = ("upper", "lower", "trim", "default", "replace", "truncate", "e", "escape")
ALLOWED_NODES = ("Template", "Output", "TemplateData", "Name", "Const", "Filter", "If", "Test", "Compare",
                 "Operand", "And", "Or", "Not", "CondExpr", "Concat", "Keyword")
DOCUMENT = "word/document.xml"
DOCUMENT_RELS = "word/_rels/document.xml.rels"
PAGE_BREAK_SLOT = "\ue000FJV-PAGE-BREAK\ue000"  # where a batch starts each later voucher on a new page
PAGE_BREAK = "<w:pageBreakBefore/>"
BREAK_PARAGRAPH = f"<w:p><w:pPr>{PAGE_BREAK}<w:spacing w:before=\"0\" w:after=\"0\"/></w:pPr></w:p>"
IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
# Each voucher's own header and footer parts in a batch, typed by extension, so [Content_Types].xml
# stays one fixed part however many vouchers a batch holds.
SECTION_PART_TYPES = {
    "hdrxml": "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml",
    "ftrxml": "application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml",
}


def default_master() -> Path:
    """Return the path of the bundled voucher master."""
    return Path(str(resources.files("fjvoucher") / "templates" / "voucher_master.docx"))


@dataclass
class PreparedTemplate:
    """A master ready to render: fixed parts, the compiled body, and the compiled headers/footers."""

    path: Path
    parts: dict[str, bytes]
    prefix: str  # document.xml up to and including <w:body>
    body: object  # jinja2.Template of the body's content
    tail: str  # the body-level sectPr, </w:body></w:document>
    rels: str  # document.xml.rels, to which each photo's relationship is added
    part_templates: dict[str, object] = field(default_factory=dict)  # headers/footers with tags
    names: frozenset[str] = frozenset()
    has_drawings: bool = False  # the body holds pictures of its own: batches renumber their ids
    page_break: str = PAGE_BREAK  # what fills PAGE_BREAK_SLOT on every voucher of a batch but the first
    escaped_braces: bool = False  # the source holds docxtpl's {_{ }_} markers for literal braces
    sha256: str = ""  # of the master file: the ledger records which master printed each voucher
    boxes: dict[str, float] = field(default_factory=dict)  # contract name → width of its table cell, in ems
    # Headers/footers that print each voucher's own values (its NO, name): a batch then gives every
    # voucher a section of its own, as Word's mail merge does.  False: one shared header (the fast path).
    personal_headers: bool = False
    resolve_listing: Callable[[str], str] | None = None  # docxtpl's: \n and \t in values into breaks and tabs


def prepare_template(path: Path | str | None = None) -> PreparedTemplate:
    """Load the master at `path` (default: the bundled one), check it and compile it once."""
    path = Path(path) if path else default_master()
    parts = _read_parts(path)
    conversion = _convert_mergefields(path, parts)
    check_fields(path, parts)
    _check_unmerged_parts(path, parts)
    if conversion and conversion.unknown:
        raise TemplateError(
            f"凭证母版 {path} 中的合并域 {'、'.join(f'«{n}»' for n in conversion.unknown)} 对应不到名册的任何一列。"
            f"可用的名称：{'、'.join(known_field_names())}")
    xml = parts[DOCUMENT].decode("utf-8")
    start, end = _body_bounds(path, xml)
    docxtpl_template = _docxtpl(path)
    patch = docxtpl_template.patch_xml
    body_src, page_break = _with_page_break_slot(patch(xml[start:end]))
    env = _environment(conversion)
    templates = {name: patch(parts[name].decode("utf-8")) for name in parts
                 if _is_header_or_footer(name) and b"{" in parts[name]}
    names = _check_contract(path, env, [body_src, *templates.values()])
    personal = _personal_headers(env, templates)
    prepared = PreparedTemplate(
        path=path, parts=parts, prefix=xml[:start], body=_compile(path, env, body_src), tail=xml[end:],
        rels=parts[DOCUMENT_RELS].decode("utf-8"),
        part_templates={name: _compile(path, env, src) for name, src in templates.items()},
        names=names, has_drawings="<wp:docPr" in body_src, page_break=page_break,
        escaped_braces=any("{_" in src or "_}" in src for src in (body_src, *templates.values())),
        resolve_listing=docxtpl_template.resolve_listing, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        boxes=box_widths(body_src, parts.get("word/styles.xml", b"")), personal_headers=personal)
    prepared.parts[CONTENT_TYPES] = _with_image_types(parts[CONTENT_TYPES].decode("utf-8")).encode("utf-8")
    return prepared


DEFAULT_CELL_MARGIN_DXA = 108  # Word's default left and right cell margins (0.19 cm)
_CELL = re.compile(r"<w:tc(?:\s[^>]*)?>(.*?)</w:tc>", re.S)
_ALONE = re.compile(r"^\s*\{\{\s*([a-z_]+)(?:\s*\|[^}]*)?\s*\}\}\s*$")


def box_widths(body: str, styles: bytes) -> dict[str, float]:
    """Return, for each contract name alone in a table cell, how many ems of its font fit in the cell.

    Measured from the master itself (cell width, cell margins, the run's font size), so a centre's
    own master is measured as well as the bundled one.
    """
    default_size = re.search(rb'<w:rPrDefault>.*?<w:sz w:val="(\d+)"', styles, re.S)
    default_pt = int(default_size.group(1)) / 2 if default_size else 10.5
    boxes = {}
    for cell in _CELL.findall(body):
        text = "".join(re.findall(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>", cell))
        alone = _ALONE.match(text)
        width = _dxa(re.search(r"<w:tcW\b[^>]*>", cell))
        if not (alone and width) or alone.group(1) == "photo":
            continue
        cell_margins = re.search(r"<w:tcMar>(.*?)</w:tcMar>", cell, re.S)
        sides = re.findall(r"<w:(?:left|right|start|end)\b[^>]*>", cell_margins.group(1)) if cell_margins else []
        margins = sum(_dxa(re.match(r".*", side)) or 0 for side in sides) if sides else 2 * DEFAULT_CELL_MARGIN_DXA
        size = re.search(r'<w:sz w:val="(\d+)"', cell)
        points = int(size.group(1)) / 2 if size else default_pt
        boxes[alone.group(1)] = round((width - margins) / 20 / points, 1)
    return boxes


def _dxa(tag) -> int | None:
    """Return the w:w of a width tag given in twentieths of a point, else None."""
    if tag is None or 'w:type="dxa"' not in tag.group(0):
        return None
    value = re.search(r'\bw:w="(\d+)"', tag.group(0))
    return int(value.group(1)) if value else None


def _is_header_or_footer(part_name: str) -> bool:
    return re.match(r"word/(header|footer)\d*\.xml$", part_name) is not None


def _read_parts(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as package:
            members = [info for info in package.infolist() if not info.is_dir()]
            _check_members(path, members)
            parts = {info.filename: package.read(info) for info in members}
    except (OSError, zipfile.BadZipFile) as exc:
        raise TemplateError(f"凭证母版无法打开：{path}（不是 Word .docx 文件？）({exc})") from exc
    parts = needed_parts(parts)  # what the relationships reach, less macros and leftovers
    for needed in (DOCUMENT, DOCUMENT_RELS, CONTENT_TYPES):
        if needed not in parts:
            raise TemplateError(f"凭证母版 {path} 不是完整的 Word 文档：缺少 {needed}")
    for name in xml_part_names(parts):
        try:
            parts[name].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TemplateError(f"凭证母版 {path} 的 {name} 不是 UTF-8 编码，无法使用；请在 Word 中另存为 .docx "
                                f"(part {name} is not UTF-8)") from exc
    strip_mail_merge(parts)  # the link to the data file it was made with: never in an output
    check_parts(path, parts)
    return parts


def _check_members(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """Refuse a package naming one part twice (OPC names ignore case) or holding a part too large to be a master."""
    seen: set[str] = set()
    for info in members:
        folded = info.filename.replace("\\", "/").lstrip("/").lower()
        if folded in seen:
            raise refusal("master-duplicate-part", {"master": path, "part": info.filename})
        seen.add(folded)
        if info.file_size > MAX_PART_BYTES:
            raise refusal("master-part-too-large", {"master": path, "part": info.filename,
                                                                  "megabytes": info.file_size >> 20})


def _body_bounds(path: Path, xml: str) -> tuple[int, int]:
    """Return where the body's content starts and where the body-level sectPr (or </w:body>) begins."""
    opening = re.search(r"<w:body(?:\s[^>]*)?>", xml)
    closing = xml.rfind("</w:body>")
    if not opening or closing < 0:
        raise TemplateError(f"凭证母版 {path} 的 document.xml 没有正文 (no w:body)")
    section = xml.rfind("<w:sectPr", opening.end(), closing)
    # The body-level sectPr is the body's last child; a sectPr inside a paragraph ends with </w:pPr>.
    if section >= 0 and "</w:p>" not in xml[section:closing]:
        return opening.end(), section
    return opening.end(), closing


def _docxtpl(path: Path):
    """Return a docxtpl template object whose own XML patching and listing code we reuse.

    Only those two methods are used, and neither reads the document: the master is not opened
    a second time (python-docx would parse every part again).
    """
    from docxtpl import DocxTemplate

    return DocxTemplate.__new__(DocxTemplate)


def _environment(conversion: Conversion | None = None):
    from jinja2.sandbox import SandboxedEnvironment

    # Sandboxed: a template cannot reach Python internals or files.  Autoescaped: data is text, never XML.
    # No globals (range, lipsum, cycler, namespace, dict) and only the documented filters.
    env = SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)
    env.globals.clear()
    specs = conversion.specs if conversion else []
    filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
    filters["mergefield"] = lambda value, index: apply_spec(value, specs[index])
    env.filters = bounded_filters(filters)  # replace measures before it builds; each voucher has a budget
    return env


PART_KINDS = {"footnotes": "脚注 footnotes", "endnotes": "尾注 endnotes", "comments": "批注 comments",
              "commentsExtended": "批注 comments", "header": "页眉 header", "footer": "页脚 footer"}
_TAG = re.compile(r"\{[{%#]")
MERGE_FIELDS = frozenset({"MERGEFIELD", "INCLUDEPICTURE", "MERGEREC", "MERGESEQ"})


def _check_unmerged_parts(path: Path, parts: dict[str, bytes]) -> None:
    """Refuse placeholders or merge fields in a part that is not merged: they would print as written.

    Only the body and the headers and footers (word/headerN.xml, word/footerN.xml) are filled in;
    Word's mail merge fills footnotes and endnotes too.  A footnote, an endnote, a comment, or a
    header under another part name would print «姓名» or {{ name }} on every voucher.
    """
    for name in xml_part_names(parts):
        if not name.startswith("word/") or name == DOCUMENT or _is_header_or_footer(name) or name.endswith(".rels"):
            continue
        root = parse_xml(parts[name], strict=False)
        if root is None:
            continue
        text = "".join(root.itertext())
        fields = {words[0].upper() for instruction, _ in field_instructions(root) if (words := instruction.split())}
        found = _TAG.search(text)
        examples = sorted(fields & MERGE_FIELDS) + ([text[max(0, found.start() - 10):found.end() + 20].strip()]
                                                    if found else [])
        if examples:
            stem = re.sub(r"\d+$", "", name.rsplit("/", 1)[-1].rsplit(".", 1)[0])
            what = PART_KINDS.get(stem, "部件 part")
            raise refusal("master-fields-not-merged", {"master": path, "part": name, "what": what,
                                                       "example": examples[0]})


def _convert_mergefields(path: Path, parts: dict[str, bytes]) -> Conversion | None:
    """Turn the merge fields of a Word mail-merge master into contract placeholders; None if it has none."""
    names = [n for n in parts if n == DOCUMENT or _is_header_or_footer(n)]
    if not any(has_fields(parts[n]) for n in names):
        return None
    conversion = Conversion()
    for name in names:
        if has_fields(parts[name]):
            try:
                parts[name] = convert_part(parts[name].decode("utf-8"), conversion).encode("utf-8")
            except (ValueError, SyntaxError) as exc:  # lxml's XMLSyntaxError is a SyntaxError
                raise TemplateError(f"凭证母版 {path} 的 {name} 无法解析：{exc}") from exc
    return conversion


def _compile(path: Path, env, source: str):
    """Compile `source` once.

    docxtpl puts a newline before every paragraph so that errors carry a line number, and strips
    them all after each render.  The output is the same without them, so they are added only to
    find the paragraph of a syntax error.
    """
    from jinja2 import TemplateSyntaxError

    try:
        return env.from_string(source)
    except TemplateSyntaxError:
        pass
    try:
        env.from_string(re.sub(r"<w:p([ >])", r"\n<w:p\1", source))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"凭证母版 {path} 的占位符写法有误：{exc.message}（第 {exc.lineno} 段附近）") from exc
    raise AssertionError("unreachable: a syntax error cannot vanish with added newlines")


def _check_contract(path: Path, env, sources: list[str]) -> frozenset[str]:
    """Return the names the template uses; raise TemplateError naming any outside the contract."""
    from jinja2 import TemplateSyntaxError, meta, nodes

    used: set[str] = set()
    for source in sources:
        try:
            tree = env.parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateError(f"凭证母版 {path} 的占位符写法有误：{exc.message}") from exc
        if any(tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends))):
            raise TemplateError(f"凭证母版 {path} 不能引用其他文件（include/import/extends）")
        _check_constructs(path, tree)
        if oversized := oversized_expression(tree):
            raise refusal("master-output-unbounded", {
                "master": path, "expression": oversized[0], "chars": f"{oversized[1]:,}",
                "cell": f"{MAX_CELL_CHARS:,}", "limit": f"{MAX_EXPRESSION_CHARS:,}"})
        used |= meta.find_undeclared_variables(tree)
    unknown = sorted(used - set(CONTRACT))
    if unknown:
        raise TemplateError(
            f"凭证母版 {path} 使用了未定义的占位符：{'、'.join(unknown)}。"
            f"可用的名称：{'、'.join(CONTRACT)}")
    return frozenset(used)


def _check_constructs(path: Path, tree) -> None:
    """Refuse anything but names, text, documented filters and conditions: no loops, calls or attributes.

    A voucher prints values; it needs no loop (a nested loop over a long name never ends) and no
    attribute or call (`{{ {}.update }}` would print a memory address).
    """
    from jinja2 import nodes

    allowed = tuple(getattr(nodes, n) for n in ALLOWED_NODES)
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, allowed):
            raise TemplateError(f"凭证母版 {path} 的占位符中有不允许的写法「{_describe(node)}」；母版只能使用"
                                "名称、文字、条件（if）和这些过滤器：" + "、".join(ALLOWED_FILTERS)
                                + " (only names, text, if and the documented filters)")
        if isinstance(node, nodes.Filter) and node.name not in (*ALLOWED_FILTERS, "mergefield"):
            raise TemplateError(f"凭证母版 {path} 使用了不允许的过滤器 {node.name}；可用：{'、'.join(ALLOWED_FILTERS)}")


def _describe(node) -> str:
    """Return what a forbidden construct is, as the master writes it: range(…), .update, For."""
    from jinja2 import nodes

    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        return f"{node.node.name}(…) ({type(node).__name__})"
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        return f".{node.node.attr}(…) ({type(node).__name__})"
    if isinstance(node, (nodes.Getattr, nodes.Getitem)):
        return f".{getattr(node, 'attr', '[…]')} ({type(node).__name__})"
    return type(node).__name__


def _personal_headers(env, templates: dict[str, str]) -> bool:
    """Return True when a header or footer prints a value that differs from voucher to voucher."""
    from jinja2 import meta

    return any(meta.find_undeclared_variables(env.parse(source)) - BATCH_SHARED for source in templates.values())


def _with_page_break_slot(body: str) -> tuple[str, str]:
    """Mark where a batch starts a voucher on a new page (no blank page); return the body and the markup."""
    first = re.match(r"\s*<w:p(?:\s[^>]*)?>(\s*<w:pPr>((?:\s*<w:(?:pStyle|keepNext|keepLines)\b[^>]*/>)*))?", body)
    if first and first.group(1) is not None:
        return body[:first.end()] + PAGE_BREAK_SLOT + body[first.end():], PAGE_BREAK
    if first:  # a paragraph without properties: give it some
        return body[:first.end()] + f"<w:pPr>{PAGE_BREAK_SLOT}</w:pPr>" + body[first.end():], PAGE_BREAK
    # The body starts with a table: a page-break paragraph before it, nothing outside batches.
    return f"{PAGE_BREAK_SLOT}{body}", BREAK_PARAGRAPH


def _with_image_types(content_types: str) -> str:
    """Return [Content_Types].xml declaring JPEG and PNG parts, which photos need."""
    for ext, mime in {**IMAGE_TYPES, **SECTION_PART_TYPES}.items():
        if f'Extension="{ext}"' not in content_types:
            content_types = content_types.replace(
                "</Types>", f'<Default Extension="{ext}" ContentType="{mime}"/></Types>')
    return content_types


@dataclass
class TemplateInfo:
    """What a master holds: its kind, each field as written and what it fills, warnings and problems."""

    kind: str  # "docxtpl" or "mergefield"
    fields: list[tuple[str, str | None]]  # (name as written, contract name or None when it maps to nothing)
    warnings: list[str]
    problems: list[str]
    data_source: DataSource | None = None  # the data file the master was made with (Word mail merge)


def inspect_template(path: Path | str) -> TemplateInfo:
    """Return what the master at `path` holds and whether fjvoucher can merge it; never raise on a bad master."""
    path = Path(path)
    conversion, source = None, _data_source(path)
    try:
        conversion = _convert_mergefields(path, _read_parts(path))
        prepared = prepare_template(path)
    except TemplateError as exc:
        if conversion is None:
            return TemplateInfo(_kind_by_bytes(path), [], [], [str(exc)], source)
        return TemplateInfo("mergefield", _conversion_fields(conversion), conversion.warnings, [str(exc)], source)
    if conversion:
        return TemplateInfo("mergefield", _conversion_fields(conversion), conversion.warnings, [], source)
    return TemplateInfo("docxtpl", [(name, name) for name in sorted(prepared.names)], [], [], source)


def _data_source(path: Path) -> DataSource | None:
    """Return the data source a master's mail-merge settings name, reading only those parts."""
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            parts = {n: package.read(n) for n in (SETTINGS, SETTINGS_RELS) if n in names}
    except (OSError, zipfile.BadZipFile):
        return None
    return strip_mail_merge(parts)


def _kind_by_bytes(path: Path) -> str:
    """Tell a Word mail-merge master from a docxtpl one without parsing it (it may not parse)."""
    try:
        with zipfile.ZipFile(path) as package:
            body = package.read(DOCUMENT)
    except (OSError, KeyError, zipfile.BadZipFile):
        return "docxtpl"
    return "mergefield" if has_fields(body) else "docxtpl"


def _conversion_fields(conversion: Conversion) -> list[tuple[str, str | None]]:
    return [(s.name, s.key) for s in conversion.specs] + [(name, None) for name in conversion.unknown]
