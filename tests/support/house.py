"""The import rules of the house, read from the source with `ast` (nothing is imported to check them)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "fjvoucher"
CLICK_ALLOWED = {"fjvoucher.cli", "fjvoucher.__main__"}
# folder → folders of ours it must never import
FORBIDDEN = {
    "fjvoucher.roster": ("fjvoucher.word", "fjvoucher.pdf", "fjvoucher.ledger", "fjvoucher.province"),
    "fjvoucher.pdf": ("fjvoucher.roster", "fjvoucher.province"),
    "fjvoucher.ledger": ("fjvoucher.word", "fjvoucher.pdf", "fjvoucher.province"),
    "fjvoucher.province": ("fjvoucher.word", "fjvoucher.pdf", "fjvoucher.merging", "fjvoucher.api", "fjvoucher.web"),
    "fjvoucher.layout": ("fjvoucher.",),  # pure data: imports nothing of ours
}
ONLY = {"fjvoucher.contract": {"fjvoucher.layout"}}  # imports nothing of ours but these
# folder → the only modules outside it that may import it (the workbench sits on top: only the CLI starts it)
IMPORTED_ONLY_BY = {"fjvoucher.desk": {"fjvoucher.cli"}}


def read_package(src: Path) -> dict[str, str]:
    """Return every module of the package under `src` as {dotted name: source}."""
    modules = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path.read_text(encoding="utf-8")
    return modules


def imports_of(name: str, source: str, modules: set[str]) -> set[str]:
    """Return what module `name` imports, anywhere in it (functions too): our modules and outside packages."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            for alias in node.names:  # `from fjvoucher.roster import cells` imports a module
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return found


def violations(modules: dict[str, str]) -> list[str]:
    """Return every broken rule: click outside the CLI, forbidden imports between folders, cycles."""
    names = set(modules)
    graph = {name: imports_of(name, src, names) for name, src in modules.items()}
    problems = []
    for name, imported in sorted(graph.items()):
        if name not in CLICK_ALLOWED and any(i == "click" or i.startswith("click.") for i in imported):
            problems.append(f"{name} imports click")
        ours = {i for i in imported if i in names and i != PACKAGE}
        for folder, banned in FORBIDDEN.items():
            if name == folder or name.startswith(folder + "."):
                problems += [f"{name} imports {i}" for i in sorted(ours) if i.startswith(banned)]
        if name in ONLY:
            problems += [f"{name} imports {i}" for i in sorted(ours - ONLY[name])]
        for folder, allowed in IMPORTED_ONLY_BY.items():
            if not (name == folder or name.startswith(folder + ".") or name in allowed):
                problems += [f"{name} imports {i}" for i in sorted(ours) if i == folder or i.startswith(folder + ".")]
    return problems + [f"import cycle: {' -> '.join(c)}" for c in _cycles(graph, names)]


def _cycles(graph: dict[str, set[str]], names: set[str]) -> list[list[str]]:
    """Return one cycle per strongly connected group of modules (package __init__ files aside)."""
    edges = {n: sorted(i for i in graph[n] if i in names and i != PACKAGE) for n in graph}
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in edges.get(node, []):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return cycles
