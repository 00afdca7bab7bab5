"""Accept Word's own mail-merge masters: turn MERGEFIELD fields into the template contract, once.

The province's 邮件母版 holds Word fields («姓名», «证书编号» …), not docxtpl tags.  Each field,
simple (w:fldSimple) or complex (w:fldChar begin/separate/end with w:instrText split over runs,
as Word writes them), becomes one run that keeps the formatting of the field's result and
renders `{{ key|mergefield(N) }}`: spec N holds the field's switches, applied to the data
by the `mergefield` filter.  INCLUDEPICTURE fields and pictures named 照片/photo become the
candidate's photo.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import shlex
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from fjvoucher.contract import DATE_FIELD_PREFIX, PHOTO_KEYS, contract_name
from fjvoucher.layout import FIELD_BY_KEY, fold_key
from fjvoucher.roster.cells import parse_date

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
_W = f"{{{W}}}"
CASE_SWITCHES = {"UPPER": str.upper, "LOWER": str.lower, "FIRSTCAP": lambda s: s[:1].upper() + s[1:],
                 "CAPS": str.title}
IGNORED_FORMATS = {"MERGEFORMAT", "CHARFORMAT"}  # formatting instructions: the result run's format is kept


@dataclass
class FieldSpec:
    """One merge field: the contract name it fills and the switches Word users put on it."""

    name: str  # as written in the master
    key: str
    date_picture: str | None = None
    number_picture: str | None = None
    case: str | None = None
    before: str = ""
    after: str = ""

    def has_switches(self) -> bool:
        """Return True when a switch changes what the field prints."""
        return bool(self.date_picture or self.number_picture or self.case or self.before or self.after)


@dataclass
class Conversion:
    """What converting a master found: the field specs, and warnings and problems for the clerk."""

    specs: list[FieldSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # field names that map to nothing


def has_fields(xml: bytes) -> bool:
    """Return True when a part holds Word merge fields, picture fields, or a picture named 照片/photo."""
    # Word splits instructions over runs ("MERGEFIE" + "LD"): look for the field markup too.
    return (b"MERGEFIELD" in xml or b"INCLUDEPICTURE" in xml or b"w:fldSimple" in xml or b"w:fldChar" in xml
            or (b"<wp:docPr" in xml and any(n.encode() in xml for n in ("照片", "相片", "photo", "Photo"))))


def convert_part(xml: str, conversion: Conversion) -> str:
    """Return the part with its merge fields replaced by contract placeholders (one run each)."""
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"))
    for simple in list(root.iter(f"{_W}fldSimple")):
        _replace_simple(simple, conversion)
    _replace_complex(root, conversion)
    _replace_named_pictures(root, conversion)
    declaration = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' if xml.startswith("<?xml") else ""
    return declaration + etree.tostring(root, encoding="unicode")


def _replace_simple(simple, conversion: Conversion) -> None:
    inner = simple.find(f"{_W}r")
    run = _placeholder_run(simple.get(f"{_W}instr", ""), inner, conversion)
    if run is not None:
        simple.getparent().replace(simple, run)


def _replace_complex(root, conversion: Conversion) -> None:
    """Replace each outermost field of the part that we understand by one placeholder run.

    Runs are taken in document order, so a field that Word wrapped around a paragraph mark (begin
    in one paragraph, end in the next) is one field too: its value goes where it begins.
    """
    stack: list[dict] = []
    for run in list(root.iter(f"{_W}r")):
        char = run.find(f"{_W}fldChar")
        kind = char.get(f"{_W}fldCharType") if char is not None else None
        if kind == "begin":
            stack.append({"runs": [run], "instr": "", "result": None, "separated": False})
            continue
        if not stack:
            continue
        top = stack[-1]
        top["runs"].append(run)
        instr = run.find(f"{_W}instrText")
        if instr is not None and not top["separated"]:
            top["instr"] += instr.text or ""
        elif kind == "separate":
            top["separated"] = True
        elif kind == "end":
            done = stack.pop()
            if stack:
                stack[-1]["runs"] += done["runs"]  # a nested field belongs to the one around it
                stack[-1]["instr"] += f" {done['instr']} " if not stack[-1]["separated"] else ""
            else:
                _replace_runs(done, conversion)
        elif top["separated"] and top["result"] is None and run.find(f"{_W}t") is not None:
            top["result"] = run
    for unfinished in stack:  # a begin without its end: the part is damaged, the field cannot mean one value
        conversion.warnings.append(f"域 {unfinished['instr'].strip() or '?'} 没有结束标记，未能转换，将按母版原样打印；"
                                   "请在 Word 中重新插入这个域 (a field without its end is left as it is)")


def _replace_runs(found: dict, conversion: Conversion) -> None:
    first = found["runs"][0]
    run = _placeholder_run(found["instr"], found["result"] if found["result"] is not None else first, conversion)
    if run is None:
        return
    first.getparent().replace(first, run)
    for other in found["runs"][1:]:
        if other.getparent() is not None:
            other.getparent().remove(other)


def _placeholder_run(instruction: str, styled_run, conversion: Conversion):
    """Return the run that replaces a field, or None to leave a field we do not handle as it is."""
    words = instruction.strip().split(None, 1)
    if not words:
        return None
    kind = words[0].upper()
    if kind == "INCLUDEPICTURE":
        conversion.specs.append(FieldSpec("INCLUDEPICTURE", "photo"))
        return _run_with(styled_run, "{{ photo }}")
    if kind != "MERGEFIELD":
        conversion.warnings.append(f"不支持的域 {kind}，保留其原有显示文字 (field {kind} kept as it is)")
        return None
    spec = _parse_mergefield(words[1] if len(words) > 1 else "", conversion)
    if spec is None:
        return _run_with(styled_run, "")
    conversion.specs.append(spec)
    if spec.key == "photo":
        return _run_with(styled_run, "{{ photo }}")
    if not spec.has_switches():  # a sandboxed filter call per field costs more than the rendering itself
        return _run_with(styled_run, f"{{{{ {spec.key} }}}}")
    if (parts := _date_parts_template(spec)) is not None:
        return _run_with(styled_run, parts)
    return _run_with(styled_run, f"{{{{ {spec.key}|mergefield({len(conversion.specs) - 1}) }}}}")


_PART_TOKENS = {"yyyy": "year", "M": "month", "d": "day"}


def _date_parts_template(spec: FieldSpec) -> str | None:
    """Return `{{ birth_year }}年…` for a date picture made of yyyy, M, d and text; None otherwise.

    The contract already holds those parts, so such a field needs no filter at render time.
    """
    if spec.key not in DATE_FIELD_PREFIX or not spec.date_picture or spec.case or spec.before or spec.after:
        return None
    out = []
    for token in _DATE_TOKENS.findall(spec.date_picture):
        if token in _PART_TOKENS:
            out.append(f"{{{{ {DATE_FIELD_PREFIX[spec.key]}_{_PART_TOKENS[token]} }}}}")
        elif token in ("yy", "MM", "dd"):
            return None
        else:
            literal = token[1:-1] if token.startswith("'") else token
            if "{" in literal or "}" in literal or "<" in literal or "&" in literal:
                return None  # would need escaping: leave it to the filter
            out.append(literal)
    return "".join(out)


def _run_with(styled_run, text: str):
    """Return a new run with the formatting of `styled_run` and the single text `text`."""
    from lxml import etree

    run = etree.Element(f"{_W}r")
    props = styled_run.find(f"{_W}rPr") if styled_run is not None else None
    if props is not None:
        run.append(_copy(props))
    t = etree.SubElement(run, f"{_W}t")
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    t.text = text
    return run


def _copy(element):
    from copy import deepcopy

    return deepcopy(element)


def _parse_mergefield(rest: str, conversion: Conversion) -> FieldSpec | None:
    """Parse `姓名 \\* Upper \\b "x"` into a spec; record unknown names and unsupported switches."""
    try:
        tokens = shlex.split(rest.replace("\\", "\\\\"), posix=True)
    except ValueError:
        tokens = rest.split()
    if not tokens:
        return None
    name, switches = tokens[0], tokens[1:]
    key = contract_name(name)
    if key is None:
        conversion.unknown.append(name)
        return None
    spec = FieldSpec(name, key)
    _apply_switches(spec, switches, conversion)
    return spec


SWITCHES_WITH_ARGUMENT = {"@", "*", "b", "f", "#"}


def _apply_switches(spec: FieldSpec, switches: list[str], conversion: Conversion) -> None:
    i = 0
    while i < len(switches):
        switch = switches[i].lstrip("\\").lower()
        takes_argument = switch in SWITCHES_WITH_ARGUMENT
        argument = switches[i + 1] if takes_argument and i + 1 < len(switches) else ""
        i += 2 if takes_argument else 1
        if switch == "@":
            spec.date_picture = argument
        elif switch == "*":
            if argument.upper() in CASE_SWITCHES:
                spec.case = argument.upper()
            elif argument.upper() not in IGNORED_FORMATS:
                conversion.warnings.append(f"«{spec.name}» 的开关 \\* {argument} 不支持，已忽略 (unsupported)")
        elif switch == "b":
            spec.before = argument
        elif switch == "f":
            spec.after = argument
        elif switch == "#":
            if FIELD_BY_KEY.get(spec.key) and FIELD_BY_KEY[spec.key].kind == "score":
                spec.number_picture = argument
            else:
                conversion.warnings.append(f"«{spec.name}» 是文本，数字格式 \\# {argument} 不适用，已忽略 "
                                           "(number picture on text ignored)")
        else:
            conversion.warnings.append(f"«{spec.name}» 的开关 \\{switch} 不支持，已忽略 (unsupported switch)")


def _replace_named_pictures(root, conversion: Conversion) -> None:
    """Replace a picture named 照片/photo in the master by the candidate's photo."""
    for doc_pr in list(root.iter(f"{{{WP}}}docPr")):
        label = {fold_key(doc_pr.get(a, "")) for a in ("name", "descr", "title")}
        if label & PHOTO_KEYS:
            run = doc_pr
            while run is not None and run.tag != f"{_W}r":
                run = run.getparent()
            if run is not None and run.getparent() is not None:
                run.getparent().replace(run, _run_with(run, "{{ photo }}"))
                conversion.specs.append(FieldSpec(f"图片 {doc_pr.get('name', '')}", "photo"))


# --- applying a field's switches to the data -----------------------------------------------------

def apply_spec(value, spec: FieldSpec) -> str:
    """Return `value` formatted the way Word formats the field with `spec`'s switches."""
    text = "" if value is None else str(value)
    if spec.date_picture:
        text = _date_picture(text, spec.date_picture)
    if spec.number_picture:
        text = _number_picture(text, spec.number_picture)
    if spec.case:
        text = CASE_SWITCHES[spec.case](text)
    return f"{spec.before}{text}{spec.after}" if text else ""


_DATE_TOKENS = re.compile(r"yyyy|yy|MM|M|dd|d|'[^']*'|.", re.S)


@functools.lru_cache(maxsize=65536)  # a roster repeats its issue dates, and many birth dates
def _date_picture(text: str, picture: str) -> str:
    day = parse_date(text, text)
    if day is None:
        return text
    return "".join(_date_token(token, day) for token in _DATE_TOKENS.findall(picture))


def _date_token(token: str, day: dt.date) -> str:
    return {"yyyy": f"{day.year:04d}", "yy": f"{day.year % 100:02d}", "MM": f"{day.month:02d}",
            "M": str(day.month), "dd": f"{day.day:02d}", "d": str(day.day)}.get(
        token, token[1:-1] if token.startswith("'") else token)


def _number_picture(text: str, picture: str) -> str:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():  # "Infinity", "NaN": nothing to round
        return text
    decimals = len(picture.split(".", 1)[1]) if "." in picture else 0
    try:
        rounded = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than a decimal context holds (1E100): leave it as written
        return text
    return f"{rounded:,}" if "," in picture else str(rounded)
