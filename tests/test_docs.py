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
