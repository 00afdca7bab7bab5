"""Bound what one voucher may produce: no expression of a master may grow a value without limit.

A master has no loops, yet a filter chain multiplies: `{{ id_number|replace("", id_number)|… }}`
made one row a 894 MB document.xml.  So every filter expression is bounded before anything renders,
assuming the longest value a roster cell may hold, and the master naming the expression is refused;
and while rendering, `replace` computes the length of its result before making it and each voucher
has a budget of filter output, so time and memory per voucher stay bounded whatever the data.
"""

from __future__ import annotations

import contextvars

from fjvoucher.roster.cells import MAX_CELL_CHARS

MAX_EXPRESSION_CHARS = 1_000_000  # one expression's result: 30 times the longest cell Excel holds
MAX_FILTER_CHARS_PER_VOUCHER = 4_000_000  # everything the filters of one voucher may produce
MAX_VOUCHER_CHARS = 16_000_000  # one rendered part of a voucher (the bundled master's body: 13,000)
_BOOLEAN = 5  # "False"


class OutputTooLarge(ValueError):
    """A voucher would grow past its bound; the message names the filter, never the data."""


_spent: contextvars.ContextVar[list[int]] = contextvars.ContextVar("fjvoucher_filter_chars")


def start_voucher() -> None:
    """Give the voucher about to render its full budget of filter output."""
    _spent.set([0])


def _spend(chars: int, what: str) -> None:
    if chars > MAX_EXPRESSION_CHARS:
        raise OutputTooLarge(f"{what} 的结果会有 {chars:,} 个字符，超过上限 {MAX_EXPRESSION_CHARS:,}")
    spent = _spent.get(None)
    if spent is None:
        return
    spent[0] += chars
    if spent[0] > MAX_FILTER_CHARS_PER_VOUCHER:
        raise OutputTooLarge(f"{what}：一张凭证的过滤器结果累计超过 {MAX_FILTER_CHARS_PER_VOUCHER:,} 个字符")


def bounded_filters(filters: dict) -> dict:
    """Return `filters` with replace measuring its result before making it, and every filter charged to the budget."""
    from jinja2 import pass_eval_context

    replace = filters["replace"]

    @pass_eval_context
    def bounded_replace(eval_ctx, s, old, new, count=None):
        text, old_text, new_text = str(s), str(old), str(new)
        hits = len(text) + 1 if old_text == "" else (text.count(old_text) if old_text else 0)
        if count is not None and isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        _spend(len(text) + hits * max(0, len(new_text) - len(old_text)), "replace 过滤器")
        return replace(eval_ctx, s, old, new, count)

    def charged(name, function):
        def run(*args, **kwargs):
            result = function(*args, **kwargs)
            _spend(len(str(result)), f"{name} 过滤器")
            return result
        for attribute in ("jinja_pass_arg",):  # keep Jinja's pass_eval_context/pass_environment marks
            if hasattr(function, attribute):
                setattr(run, attribute, getattr(function, attribute))
        return run

    bounded = {name: charged(name, f) for name, f in filters.items() if name != "replace"}
    bounded["replace"] = bounded_replace
    return bounded


def check_rendered(xml: str) -> None:
    """Raise OutputTooLarge when a rendered part of one voucher is larger than the bound allows."""
    if len(xml) > MAX_VOUCHER_CHARS:
        raise OutputTooLarge(f"一张凭证渲染后有 {len(xml):,} 个字符，超过上限")


# --- before rendering: the worst case of each expression -------------------------------------------

def oversized_expression(tree) -> tuple[str, int] | None:
    """Return the first filter expression of `tree` whose worst-case result exceeds the bound, and that bound."""
    from jinja2 import nodes

    for node in tree.find_all(nodes.Filter):  # outermost first: name the whole chain
        size = worst_case(node)
        if size > MAX_EXPRESSION_CHARS:
            return describe(node), size
    return None


def worst_case(node) -> int:
    """Return the most characters `node` can produce when every value is as long as a roster cell may be."""
    from jinja2 import nodes

    if isinstance(node, nodes.Const):
        return len(str(node.value))
    if isinstance(node, nodes.TemplateData):
        return len(node.data)
    if isinstance(node, nodes.Concat):
        return sum(worst_case(n) for n in node.nodes)
    if isinstance(node, nodes.CondExpr):
        return max(worst_case(node.expr1), worst_case(node.expr2) if node.expr2 is not None else 0)
    if isinstance(node, (nodes.Compare, nodes.Test, nodes.And, nodes.Or, nodes.Not)):
        return _BOOLEAN
    if isinstance(node, nodes.Filter):
        return _filter_worst_case(node)
    return MAX_CELL_CHARS  # a name: the longest cell a roster may hold


def _filter_worst_case(node) -> int:
    args = list(node.args) + [k.value for k in node.kwargs]
    size = worst_case(node.node) if node.node is not None else 0
    if node.name == "replace" and len(args) >= 2:
        old, new = args[0], worst_case(args[1])
        if isinstance(old, _const()) and str(old.value):
            return size + (size // len(str(old.value))) * new
        return size + (size + 1) * new  # "" (or a value that may be empty) inserts `new` between every character
    if node.name == "default":
        return max(size, max((worst_case(a) for a in args[:1]), default=0))
    if node.name == "truncate":
        return size + max((worst_case(k.value) for k in node.kwargs if k.key == "end"), default=3)
    if node.name == "mergefield":
        return 2 * size + 1_000  # a date or number picture, prefix and suffix: bounded by the master's text
    return size  # upper, lower, trim, e: as long as the value (a few characters more at most)


def _const():
    from jinja2 import nodes

    return nodes.Const


def describe(node) -> str:
    """Return an expression as the master writes it: id_number|replace("", id_number)."""
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Const):
        return repr(node.value).replace("'", '"')
    if isinstance(node, nodes.Filter):
        args = [describe(a) for a in node.args] + [f"{k.key}={describe(k.value)}" for k in node.kwargs]
        inner = describe(node.node) if node.node is not None else ""
        return f"{inner}|{node.name}" + (f"({', '.join(args)})" if args else "")
    if isinstance(node, nodes.Concat):
        return " ~ ".join(describe(n) for n in node.nodes)
    return type(node).__name__
