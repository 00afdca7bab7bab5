"""The public library: `import fjvoucher` gives what the CLI gives, from one vocabulary and one place per option."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import click
import pytest

import fjvoucher
from fjvoucher import cli
from fjvoucher.messages import FAILURES, MESSAGES, STATUS_TEXT
from support import DATA, ROOT, SAMPLES, run

SRC = ROOT / "src" / "fjvoucher"
PUBLIC = ["validate", "merge", "reissue", "verify", "open_ledger", "Report", "Finding", "FjvoucherError",
          "InputError", "LedgerError", "ExitCode", "MergeOptions"]


def test_import_fjvoucher_gives_the_public_names():
    for name in PUBLIC:
        assert name in fjvoucher.__all__ and getattr(fjvoucher, name) is not None
    assert callable(fjvoucher.merge) and callable(fjvoucher.validate)  # a function, never the module
    with pytest.raises(AttributeError):
        fjvoucher.no_such_name  # noqa: B018


@pytest.mark.parametrize("roster", [SAMPLES / "roster.xlsx", SAMPLES / "roster_with_errors.xlsx",
                                    DATA / "roster.xls", DATA / "roster.ods"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_library_reports_exactly_what_the_cli_prints(roster, lang):
    printed = run("validate", roster, "--format", "json", "--lang", lang)
    report = fjvoucher.validate(roster)
    assert json.loads(printed.stdout) == report.to_dict(lang)
    assert printed.exit_code == (0 if report.valid else 1)


def test_validate_and_merge_agree_on_a_revoked_certificate(tmp_path, rows, write_xlsx):
    ledger = tmp_path / "ledger.db"
    roster = write_xlsx(rows)
    assert run("merge", roster, "-o", tmp_path / "out", "--format", "docx", "--ledger", ledger).exit_code == 0
    year = rows[0]["issue_date"].year
    assert run("revoke", f"3501-{year}-000001", "--reason", "实为不合格", "--yes", "--ledger", ledger).exit_code == 0
    checked = run("validate", roster, "--ledger", ledger, "--format", "json")
    codes = {f["code"] for f in json.loads(checked.stdout)["problems"]}
    assert checked.exit_code == 1 and "ledger-retired" in codes
    merged = run("merge", roster, "-o", tmp_path / "again", "--format", "docx", "--ledger", ledger)
    assert merged.exit_code == 1 and "已作废" in merged.output


def test_a_fatal_failure_with_format_json_is_json_with_a_stable_code(tmp_path):
    result = run("validate", tmp_path / "missing.xlsx", "--format", "json")
    answer = json.loads(result.stdout)
    assert result.exit_code == 2 and answer["error"]["code"] in FAILURES
    assert "missing.xlsx" in answer["error"]["message"]
    missing = run("verify", "3501-2009-000001", "--name", "陈建国", "--ledger", tmp_path / "none.db",
                  "--format", "json")
    assert json.loads(missing.stdout)["error"]["code"] == "ledger-not-found"
    assert missing.exit_code == 2


def test_every_failure_code_raised_is_in_the_catalogue():
    used = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
                used.add(node.value.value)
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "code" for t in node.targets) \
                    and isinstance(node.value, ast.Constant):
                used.add(node.value.value)
    used -= set(MESSAGES)  # findings are built by their code too (messages.MESSAGES)
    assert used and used <= set(FAILURES), used - set(FAILURES)


def test_status_words_live_once():
    """A status word written anywhere but messages.py is a second copy that can drift (it did: 已换发国家证书)."""
    words = {zh for zh, _ in STATUS_TEXT.values()} | {en for _, en in STATUS_TEXT.values() if " " in en}
    words -= {"有效"}  # too short to tell apart from ordinary text (有效期至); one English word likewise
    for path in [*SRC.rglob("*.py"), *SRC.rglob("*.html")]:
        if path.name == "messages.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not [w for w in words if w in text], path


def test_the_page_the_api_and_the_cli_say_the_same_status(tmp_path, rows, write_xlsx):
    from starlette.testclient import TestClient

    from fjvoucher.web.app import Ledgers, create_app

    ledger = tmp_path / "ledger.db"
    assert run("merge", write_xlsx(rows), "-o", tmp_path / "out", "--format", "docx", "--ledger", ledger).exit_code == 0
    year = rows[0]["issue_date"].year
    run("supersede", rows[0]["certificate_no"], "--yes", "--ledger", ledger)
    number, name = f"3501-{year}-000001", rows[0]["name"]
    with TestClient(create_app(Ledgers([ledger]))) as client:
        api = client.get("/api/verify", params={"no": number, "name": name}).json()
        page = client.post("/", data={"no": number, "name": name}).text
    said = run("verify", number, "--name", name, "--ledger", ledger, "--format", "json")
    word = STATUS_TEXT["superseded"][0]
    assert api["status_text"] == json.loads(said.stdout)["status_text"] == word and word in page


def _options_by_name() -> dict[str, list[tuple[str, click.Option]]]:
    found: dict[str, list[tuple[str, click.Option]]] = {}
    commands = [(name, c) for name, c in cli.cli.commands.items()]
    commands += [(f"{g} {n}", c) for g, group in cli.cli.commands.items() for n, c in
                 getattr(group, "commands", {}).items()]
    for name, command in commands:
        for param in command.params:
            if isinstance(param, click.Option):
                found.setdefault(param.opts[-1], []).append((name, param))
    return found


def test_options_shared_by_commands_are_declared_once():
    """reissue had drifted from merge (no --pdf-engine): options several commands share come from one declaration."""
    for option in ("--template", "--photos", "--pdf-engine", "--soffice", "--no-pattern", "--center-code"):
        owners = {name for name, _ in _options_by_name()[option]}
        assert {"merge", "reissue"} <= owners, option
    for option, uses in _options_by_name().items():
        if option in ("--format", "--output", "--ledger", "--month"):
            continue  # --format: text/json for reports, docx/pdf/both for printing; -o: a file or a folder
        if option == "--reason":  # supersede alone has a reason that goes without saying (国家职业资格证书已发放)
            uses = [(name, p) for name, p in uses if name != "supersede"]
        described = {(p.help, json.dumps(p.type.to_info_dict(), default=str), repr(p.default)) for _, p in uses}
        assert len(described) == 1, f"{option} is declared differently in {[n for n, _ in uses]}"


def test_importing_the_cli_changes_nothing_in_click():
    code = "import fjvoucher.cli, click.core; print(click.core._('Usage:'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "Usage:"


def test_a_closed_pipe_ends_quietly(write_xlsx):
    """`fjvoucher validate … | head -1`: no "Broken pipe", no error exit.

    The report is far longer than a pipe holds."""
    from support.synthetic import make_candidates

    roster = write_xlsx(make_candidates(3000, seed=3))  # 2009 vouchers: a warning on every row
    command = [sys.executable, "-m", "fjvoucher", "validate", str(roster), "--all-warnings"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    proc.wait(timeout=60)
    assert first.startswith("名册".encode()) and proc.returncode == 0 and err == b"", err.decode()


def test_exit_codes_are_one_enum_named_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## 退出码"):readme.index("## 凭证母版")]
    assert {int(n) for n in re.findall(r"^\| (\d) \|", table, re.M)} == {int(c) for c in fjvoucher.ExitCode}


def test_reissue_without_a_ledger_says_so(tmp_path):
    with pytest.raises(fjvoucher.InputError) as refused:
        fjvoucher.reissue("3501-2009-000001", "遗失", tmp_path, fjvoucher.MergeOptions(format="docx"))
    assert refused.value.code == "ledger-not-found"
