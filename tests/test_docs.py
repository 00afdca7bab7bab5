"""The README stays true: every command and option is documented, the layout table is the code's."""

import re
from pathlib import Path

import pytest

from fjvoucher.cli import cli, help_reference
from fjvoucher.layout import markdown_table

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", cli.commands.values(), ids=lambda c: c.name)
def test_commands_have_help(command):
    assert command.help, f"{command.name} is missing its help"


@pytest.mark.parametrize("command", cli.commands.values(), ids=lambda c: c.name)
def test_commands_and_their_options_are_in_the_readme(command):
    assert f"fjvoucher {command.name}" in README
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--") and opt not in ("--help",):
                assert opt in README, f"{command.name} {opt} is not in the README"


def test_readme_layout_table_is_generated_from_the_layout():
    assert markdown_table() in README


def test_readme_upload_columns_table_is_generated_from_the_columns():
    from fjvoucher.province.columns import markdown_table as upload_table

    assert upload_table() in README


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    test_command = re.search(r"```bash\n.*\n(.*)\n```", README).group(1)
    assert test_command == "bash scripts/test.sh"
    assert test_command in ci


def test_remarks_in_docs_copy_equal_the_seed_notice():
    seed = Path(__file__).parent.parent.parent / "shared" / "seed" / "notice-min-lao-she-ban-2009-127.txt"
    if not seed.exists():
        pytest.skip("shared/seed is not beside this checkout")
    ours = Path(__file__).parent.parent / "docs" / "notice-min-lao-she-ban-2009-127.txt"
    assert ours.read_bytes() == seed.read_bytes()


def test_readme_command_reference_is_generated_from_help():
    block = re.search(r"<!-- commands:start[^>]*-->\n(.*?)\n<!-- commands:end -->", README, re.S).group(1)
    assert block == help_reference(), "run: python scripts/readme_commands.py"


def test_every_command_help_has_an_example():
    for name, command in cli.commands.items():
        helps = [command.help] + [sub.help for sub in getattr(command, "commands", {}).values()]
        assert any("例 Example" in h for h in helps), f"{name} has no example in its help"


def test_the_readmes_first_command_never_writes_sample_vouchers_into_the_real_ledger(tmp_path, monkeypatch):
    import shlex
    import shutil
    import sqlite3

    from fjvoucher.config import default_ledger_path
    from support import ROOT, run

    first = re.search(r"```bash\n(.*)\n", README).group(1).split("&&")[1].split()
    assert first[0] == ".venv/bin/fjvoucher"
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    result = run(*shlex.split(" ".join(first[1:])), "--format", "docx")  # docx: the ledger is the point here
    assert result.exit_code == 0, result.output
    assert not default_ledger_path().exists()  # the centre's own ledger is never created or touched
    with sqlite3.connect(tmp_path / "out" / "试用台账.db") as db:
        assert db.execute("SELECT count(*) FROM vouchers").fetchone()[0] == 50
    assert "试用" in result.output


@pytest.mark.slow
def test_the_readmes_month_walk_through_is_true_as_written(tmp_path, monkeypatch):
    """Run 一个月的台账工作 line by line as the README writes it, the clock moved through June and into July."""
    import datetime as dt
    import shlex

    import docx
    from openpyxl import load_workbook

    from fjvoucher import cli as cli_module
    from fjvoucher.ledger import storage
    from fjvoucher.pdf.libreoffice import find_soffice
    from support import run
    from support.synthetic import make_candidates, make_photo, write_roster_xlsx

    if find_soffice() is None:
        pytest.skip("the walk-through prints PDFs: LibreOffice is installed by scripts/setup.sh")
    block = README.split("### 一个月的台账工作")[1].split("```bash\n")[1].split("```")[0]
    lines = [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.strip()]
    assert all(words[0] == "fjvoucher" for words in lines) and len(lines) == 8
    rows = make_candidates(40, seed=2009)
    rows[11]["name"] = "陈建国"  # NO 3501-2009-000012, as the README asks about him
    for row in rows:
        row["issue_date"] = dt.date(2009, 6, 10)
    monkeypatch.chdir(tmp_path)
    write_roster_xlsx(tmp_path / "6月名册.xlsx", rows)
    (tmp_path / "照片").mkdir()
    for i, row in enumerate(rows):
        make_photo(tmp_path / "照片" / f"{row['id_number']}.jpg", seed=i)
    moments = [(2009, 6, 12, 9), (2009, 6, 12, 9, 30), (2009, 6, 15, 10), (2009, 6, 18, 11), (2009, 6, 22, 14),
               (2009, 6, 23, 9), (2009, 6, 23, 9, 5), (2009, 7, 3, 10)]
    now = {"at": dt.datetime(2009, 6, 1)}
    monkeypatch.setattr(storage, "now", lambda: now["at"])  # the injected clock: every ledger event reads it
    monkeypatch.setattr(cli_module, "_interactive", lambda: True)  # the clerk at the terminal answers y
    said = []
    for words, moment in zip(lines, moments, strict=True):
        now["at"] = dt.datetime(*moment)
        result = run(*words[1:], input="y\n")
        assert result.exit_code == 0, (words, result.output)
        said.append(result.output)
    assert "真实有效" in said[2] and "陈建国" in said[2]
    assert "3501-2009-000012 → 3501-2009-000041" in said[3]
    reissued = docx.Document(tmp_path / "补发" / "vouchers" / "3501-2009-000041_陈建国.docx")
    assert len(reissued.inline_shapes) == 1  # the same photo, though the command names no folder
    assert "补发（原凭证 3501-2009-000012 作废）" in [p.text for p in reissued.paragraphs]
    assert (tmp_path / "补发" / "发放登记表-补发-3501-2009-000041.xlsx").is_file()
    assert (tmp_path / "6月" / "发放登记表.xlsx").is_file()
    assert (tmp_path / "6月" / "batches" / "batch-001.pdf").is_file()
    assert all(word in said[6] for word in ("作废", "恢复", "实为不合格", "误操作"))
    report = load_workbook(tmp_path / "2009-06.xlsx")
    summary = {r[0]: r[3] for r in report["汇总"].iter_rows(values_only=True) if r[0]}
    assert summary["发放人数合计（补发不重复计）"] == 40 and summary["印发凭证张数（含补发）"] == 41
    changes = [r[1] for r in list(report["本月变更"].iter_rows(values_only=True))[2:] if r[1]]
    assert changes[:4] == ["被补发替换", "补发", "作废", "恢复"]
