"""The static checks are part of the tests: ruff and mypy, configured in pyproject.toml, find nothing.

They run as the venv's own `python -m ruff` / `python -m mypy` from the repository root, so
`bash scripts/test.sh` (and CI, which runs exactly it) fails on a lint or type finding.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
RUFF = ["-m", "ruff", "check", "src", "tests", "bench", "scripts"]
MYPY = ["-m", "mypy"]  # what it checks (src/fjvoucher) and how strictly: [tool.mypy] in pyproject.toml


def check(arguments: list[str], *paths: Path) -> subprocess.CompletedProcess:
    """Run a checker with the venv's Python in the repository root, as a developer would."""
    return subprocess.run([sys.executable, *arguments, *map(str, paths)], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=600, check=False)


@pytest.mark.parametrize("arguments", [RUFF, MYPY], ids=["ruff", "mypy"])
def test_static_checks_find_nothing(arguments):
    finished = check(arguments)
    assert finished.returncode == 0, f"{' '.join(arguments[1:])} found:\n{finished.stdout}{finished.stderr}"


@pytest.mark.parametrize(("arguments", "source", "finding"), [
    (["-m", "ruff", "check"], "import os\n", "F401"),
    (["-m", "mypy"], "def half(n: int) -> int:\n    return n / 2\n", "return-value"),
], ids=["ruff", "mypy"])
def test_the_checkers_report_a_planted_mistake(tmp_path, arguments, source, finding):
    planted = tmp_path / "planted.py"
    planted.write_text(source, encoding="utf-8")
    finished = check(arguments, planted)
    assert finished.returncode == 1 and finding in finished.stdout, finished.stdout + finished.stderr


def test_the_public_names_and_their_typed_imports_agree():
    """fjvoucher/__init__.py names its public names twice: the lazy table and the imports type checkers read."""
    tree = ast.parse((ROOT / "src" / "fjvoucher" / "__init__.py").read_text(encoding="utf-8"))
    table = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == "_PUBLIC" for t in node.targets))
    public = ast.literal_eval(table)
    guarded = next(node for node in tree.body if isinstance(node, ast.If)
                   and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    imported = {alias.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom)
                for alias in node.names if alias.asname == alias.name}
    assert imported == public
