"""The fjvoucher command line: parse options, call one library function, report errors in one line.

Exit codes: 0 success (warnings allowed), 1 problems found in the roster or a job failed,
2 a file cannot be read at all or the arguments are wrong.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fjvoucher import __version__
from fjvoucher.errors import FjvoucherError, RosterUnreadable

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2


class UnreadableInput(click.ClickException):
    """A file that cannot be read at all: exit code 2, like a usage error."""

    exit_code = EXIT_UNREADABLE


def fail(exc: FjvoucherError) -> click.ClickException:
    """Return the click exception, with its exit code, that reports `exc` to the clerk."""
    if isinstance(exc, RosterUnreadable):
        return UnreadableInput(str(exc))
    return click.ClickException(str(exc))


LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
                    help="Language of the report: zh (中文) or en.")
SHEET = click.option("--sheet", default=None, help="Sheet name or 1-based number (default: the first sheet).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fjvoucher")
def cli() -> None:
    """福建省职业技能鉴定成绩合格凭证: check exam-software rosters and print vouchers."""


@cli.command()
@click.argument("roster", type=click.Path(path_type=Path))
@SHEET
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for the clerk, json for programs.")
@LANG
def validate(roster: Path, sheet: str | None, fmt: str, lang: str) -> None:
    """Check ROSTER against the official layout and every cell; exit 1 when it has errors."""
    from fjvoucher.checks import validate as run_validation

    try:
        report = run_validation(roster, sheet)
    except FjvoucherError as exc:
        raise fail(exc) from exc
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(lang), ensure_ascii=False, indent=2))
    else:
        click.echo(report.to_text(lang))
    sys.exit(EXIT_OK if report.valid else EXIT_PROBLEMS)


@cli.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("名册模板.xlsx"),
              show_default=True, help="Where to write the empty roster.")
def layout(output: Path) -> None:
    """Write an empty roster with the official headers, text-formatted code columns and dropdowns."""
    from fjvoucher.blank_roster import write_blank_roster

    click.echo(f"已写出名册模板 (blank roster written): {write_blank_roster(output)}")
