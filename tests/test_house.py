"""The shape of the code: import rules, the docxtpl internals we reuse, declared dependencies."""

import re
import tomllib

import docxtpl
import pytest

from support import ROOT
from support.house import read_package, violations

SRC = ROOT / "src"


def test_the_package_keeps_the_import_rules():
    assert violations(read_package(SRC)) == []


@pytest.mark.parametrize("module, source, broken", [
    ("fjvoucher.roster.checks", "from fjvoucher.word.render import Voucher", "imports fjvoucher.word.render"),
    ("fjvoucher.roster.checks", "def f():\n    from fjvoucher.ledger import store", "imports fjvoucher.ledger.store"),
    ("fjvoucher.pdf.engine", "from fjvoucher.roster.records import Candidate", "imports fjvoucher.roster.records"),
    ("fjvoucher.ledger.issuing", "import fjvoucher.pdf.engine", "imports fjvoucher.pdf.engine"),
    ("fjvoucher.merging", "import click", "fjvoucher.merging imports click"),
    ("fjvoucher.layout", "from fjvoucher.errors import InputError", "imports fjvoucher.errors"),
    ("fjvoucher.contract", "from fjvoucher.roster import cells", "imports fjvoucher.roster.cells"),
    ("fjvoucher.roster.cells", "def f():\n    from fjvoucher.roster import checks", "import cycle"),
    ("fjvoucher.web.app", "from fjvoucher.desk import work", "imports fjvoucher.desk.work"),
    ("fjvoucher.api", "def f():\n    import fjvoucher.desk.launch", "imports fjvoucher.desk.launch"),
    ("fjvoucher.desk.app", "import click", "fjvoucher.desk.app imports click"),
    ("fjvoucher.province.upload", "from fjvoucher.word import render", "imports fjvoucher.word.render"),
    ("fjvoucher.province.upload", "import fjvoucher.merging", "imports fjvoucher.merging"),
    ("fjvoucher.ledger.monthly", "from fjvoucher.province import upload", "imports fjvoucher.province.upload"),
    ("fjvoucher.ledger.exchange", "from fjvoucher.province import imports", "imports fjvoucher.province.imports"),
])
def test_a_forbidden_import_added_anywhere_is_caught(module, source, broken):
    modules = read_package(SRC)
    modules[module] += "\n" + source + "\n"
    assert any(broken in problem for problem in violations(modules))


def test_the_docxtpl_internals_we_reuse_still_behave_as_we_rely_on():
    """patch_xml and resolve_listing are docxtpl internals: a new docxtpl must be checked before it is allowed."""
    template = docxtpl.DocxTemplate.__new__(docxtpl.DocxTemplate)
    split = '<w:r><w:t>{{ na</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>me }}</w:t></w:r>'
    assert "{{ name }}" in template.patch_xml(split)
    listing = template.resolve_listing('<w:p><w:r><w:t xml:space="preserve">a\nb\tc</w:t></w:r></w:p>')
    assert "<w:br/>" in listing and "<w:tab/>" in listing


def test_docxtpl_is_bounded_to_the_versions_checked_and_direct_imports_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    bound = next(d for d in project["dependencies"] if d.startswith("docxtpl"))
    upper = re.search(r"<\s*([\d.]+)", bound).group(1)
    assert tuple(map(int, docxtpl.__version__.split(".")[:2])) < tuple(map(int, upper.split(".")[:2]))
    imported = set()
    for source in read_package(SRC).values():
        imported |= {m.split(".")[0] for m in re.findall(r"^\s*(?:from|import) ([a-z_][\w.]*)", source, re.M)}
    third_party = {"click", "python_calamine", "openpyxl", "docx", "docxtpl", "jinja2", "PIL", "pypdf", "lxml",
                   "markupsafe", "platformdirs", "psycopg"}
    names = {"python_calamine": "python-calamine", "docx": "python-docx", "PIL": "pillow", "jinja2": "jinja2"}
    used = imported & {m for m in third_party} | ({m for m in imported if m in names})
    assert {names.get(m, m).lower() for m in used} <= declared
