"""The fjvoucher command line: parse options, call one library function, report errors in one line.

Exit codes: 0 success (warnings allowed), 1 problems found in the roster or a job failed,
2 a file or argument cannot be used at all, 3 an unexpected error (a bug: its details go to a log file).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import sys
from pathlib import Path

import click

import fjvoucher
from fjvoucher import __version__
from fjvoucher.errors import ExitCode
from fjvoucher.ledger.issuing import DEFAULT_PATTERN
from fjvoucher.ledger.location import shown
from fjvoucher.messages import EVENT_WORDS, LIST_STATUSES, NATIONAL_CERTIFICATE, STATUS_WORDS
from fjvoucher.pdf.engine import PDF_ENGINES


class Failure(click.ClickException):
    """A failure explained in one line, with its code (messages.FAILURES) and its own exit code."""

    def __init__(self, message: str, exit_code: int, code: str = "failure"):
        super().__init__(message)
        # click types exit_code as a class variable, yet its main() reads it from the instance
        self.exit_code = exit_code  # type: ignore[misc]
        self.code = code


class FjvoucherGroup(click.Group):
    """The command group: commands listed in workflow order, every failure reported in one line.

    With `--format json` a failure is JSON on stdout too ({"error": {"code", "message"}}), so
    programs never parse Chinese text.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # the order they are defined in: the clerk's workflow

    def invoke(self, ctx: click.Context):
        from fjvoucher.failures import Explained, explain, write_bug_report

        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            explained = explain(exc)
            if explained is None:
                log = write_bug_report(exc, sys.argv, _log_folder())
                explained = Explained("bug", f"程序内部错误（{type(exc).__name__}: {exc}）。请把此文件发给技术支持: "
                                             f"{log}", ExitCode.BUG)
            if _wants_json(ctx):
                click.echo(json.dumps(explained.to_dict(), ensure_ascii=False, indent=2))
                raise click.exceptions.Exit(explained.exit_code) from exc
            raise Failure(explained.message, explained.exit_code, explained.code) from exc


def _wants_json(ctx: click.Context) -> bool:
    """Return True when the command asked for --format json (its option noted it in the shared meta)."""
    return bool(ctx.meta.get("fjvoucher.json"))


def _note_format(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.meta["fjvoucher.json"] = value == "json"
    return value


def _quiet_broken_pipe() -> None:
    """End quietly when the reader went away (`fjvoucher validate … | head -1`): no message, no error."""
    import os

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
    raise click.exceptions.Exit(ExitCode.OK)


def _uplus(error: UnicodeError):
    """Write a character the console cannot show as U+XXXX (a rare name on a GBK console, a stray byte)."""
    if not isinstance(error, (UnicodeEncodeError, UnicodeTranslateError)):
        raise error  # the handler is for writing text: a decoding error is not ours to mend
    return "".join(f"U+{ord(c):04X}" for c in error.object[error.start:error.end]), error.end


codecs.register_error("fjvoucher-uplus", _uplus)


def _robust_streams() -> None:
    """Never crash on output: characters the stream's encoding lacks are written as U+XXXX."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):  # a detached or closed stream
                stream.reconfigure(errors="fjvoucher-uplus")


def speak_chinese() -> None:
    """Give click's own messages (usage, errors, help options) in Chinese with the English beside them."""
    from click import core, decorators, exceptions, formatting, parser, termui, types

    from fjvoucher.click_words import PLURAL_WORDS, WORDS

    def gettext(message: str) -> str:
        return WORDS.get(message, message)

    def ngettext(singular: str, plural: str, count: int) -> str:
        return PLURAL_WORDS.get((singular, plural), singular if count == 1 else plural)

    for module in (core, decorators, exceptions, formatting, parser, termui, types):
        if hasattr(module, "_"):
            vars(module)["_"] = gettext
        if hasattr(module, "ngettext"):
            vars(module)["ngettext"] = ngettext


def main(args: list[str] | None = None) -> None:
    """Run the command line: click's own messages in Chinese, output that never crashes on a character."""
    speak_chinese()
    cli.main(args=args, prog_name="fjvoucher")


def _log_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir("fjvoucher", appauthor=False))


def _options(*decorators):
    """Return one decorator applying `decorators` in order: options several commands share, declared once."""
    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


LEDGER = click.option("--ledger", default=None, metavar="FILE|URL",
                      help="The ledger: a SQLite file or a postgresql:// URL (default: $FJVOUCHER_LEDGER, else "
                           "`fjvoucher config`'s ledger, else the per-user data folder).")
FORCE = click.option("--force", is_flag=True, help="Overwrite the file even if it exists and fjvoucher did not "
                     "write it.")
LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
                    help="Language of the report: zh (中文) or en.")
ALL_WARNINGS = click.option("--all-warnings", is_flag=True,
                            help="List every warning row by row (default: grouped by kind with the first rows).")
SHOW_ID = click.option("--show-id", is_flag=True, help="Show ID numbers in full (they are masked otherwise).")
SHEET = click.option("--sheet", default=None, help="Sheet name or 1-based number (default: the first sheet).")
REPORT_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, callback=_note_format, is_eager=True,
                             help="text for the clerk, json for programs.")
TEMPLATE = click.option("--template", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="The master to print with: a docxtpl master or a Word mail-merge master (.docx/.doc; "
                             "default: the bundled voucher master).")
CENTER = click.option("--center", default=None, help="The centre's full name for rows without one, e.g. "
                      "福州市职业技能鉴定指导中心 (default: `fjvoucher config`'s center_name).")
REISSUE = click.option("--reissue", is_flag=True, help="Replace the voucher of a certificate whose record changed "
                       "with a new NO (its 备注 says 补发).")
SOFFICE = click.option("--soffice", type=click.Path(dir_okay=False, path_type=Path), default=None,
                       help="Path of LibreOffice's soffice when it is not on PATH or in the usual folder.")
# How vouchers are printed: merge and reissue take the same options.
PRINTING = _options(
    TEMPLATE,
    click.option("--photos", type=click.Path(file_okay=False, path_type=Path), default=None,
                 help="Folder of photos named by ID number or exam number (jpg/jpeg/png; default: "
                      "`fjvoucher config`'s photos)."),
    click.option("--format", "fmt", type=click.Choice(["docx", "pdf", "both"]), default=None,
                 help="Output DOCX, PDF or both (default: both where a PDF engine is found, else docx)."),
    click.option("--pdf-engine", type=click.Choice(PDF_ENGINES), default=PDF_ENGINES[0], show_default=True,
                 help="auto: draw PDF directly where the master's probe passed, else LibreOffice; libreoffice "
                      "(every OS); word: Microsoft Word through docx2pdf (Windows/macOS with Word)."),
    SOFFICE,
    click.option("--center-code", default=None, help="Centre code in new NOs (default: `fjvoucher config`'s "
                 "center_code, else the certificate number's province and city, e.g. 3501)."),
    click.option("--no-pattern", default=DEFAULT_PATTERN, show_default=True,
                 help="Pattern of new NOs: {center_code}, {year} (of the issue date), {serial}."),
)


@click.group(cls=FjvoucherGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fjvoucher")
def cli() -> None:
    """福建省职业技能鉴定成绩合格凭证：检查考务软件导出的名册，套打凭证，管理凭证台账。

    Fujian skill-appraisal vouchers: check exam-software rosters, print vouchers, keep the ledger.

    \b
    常用流程 Workflow:
      fjvoucher layout                      空白标准名册 blank roster
      fjvoucher validate 名册.xlsx           检查名册 check it
      fjvoucher merge 名册.xlsx --photos 照片 -o out    生成凭证 print vouchers
      fjvoucher verify NO --name 姓名        真伪查询 is it genuine?
      fjvoucher report --month 2009-06      月报 monthly report
    """
    _robust_streams()


@cli.command(short_help="写出空白标准名册 · write an empty official roster")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("名册模板.xlsx"),
              show_default=True, help="Where to write the empty roster.")
@FORCE
def layout(output: Path, force: bool) -> None:
    """写出空白标准名册 · Write an empty roster in the official layout.

    Official headers, code columns formatted as text (Excel cannot damage ID numbers), dropdowns.

    例 Example:

    \b
      fjvoucher layout -o 名册模板.xlsx
    """
    from fjvoucher.config import choose_ledger
    from fjvoucher.sheets.blank_roster import write_blank_roster

    ledger = choose_ledger(None).path
    written = write_blank_roster(output, force=force, protected=(ledger,) if isinstance(ledger, Path) else ())
    for folder in written.created:
        click.echo(f"已新建文件夹 (folder created): {folder}")
    click.echo(f"已写出名册模板 (blank roster written): {written.path}")


@cli.command(short_help="检查名册 · check a roster, write nothing")
@click.argument("roster", type=click.Path(path_type=Path))
@SHEET
@REPORT_FORMAT
@TEMPLATE
@CENTER
@LEDGER
@REISSUE
@ALL_WARNINGS
@LANG
def validate(roster: Path, sheet: str | None, fmt: str, template: Path | None, center: str | None,
             ledger: str | None, reissue: bool, all_warnings: bool, lang: str) -> None:
    """检查名册（不写任何文件）· Check ROSTER against the official layout and every cell.

    Rows are also checked against the ledger (when it exists) by the rule merge applies: a
    certificate whose voucher was revoked or whose record changed is an error here too.
    Exit 1 when it has errors.

    例 Example:

    \b
      fjvoucher validate 名册.xlsx
      fjvoucher validate 名册.xlsx --format json > 报告.json
    """
    report = fjvoucher.validate(roster, sheet=sheet, template=template, center=center, ledger=ledger,
                                reissue=reissue)
    lines = report.json_chunks(lang) if fmt == "json" else (f"{line}\n" for line in report.lines(lang, all_warnings))
    for text in lines:
        click.echo(text, nl=False)
    if fmt == "json":
        click.echo()
    sys.exit(ExitCode.OK if report.valid else ExitCode.PROBLEMS)


class ProgressLine:
    """Show vouchers or pages done, rate and time left on one stderr line, a few times a second at most.

    Only on a terminal: redirected to a log file, each stage writes a start and an end line instead.
    """

    LABELS = {"docx": ("已生成", "张"), "pdf": ("PDF 已完成", "页"),
              "probe": ("新母版：LibreOffice 探测版式（只需一次）probing the master once", "")}

    def __init__(self, quiet: bool, terminal: bool | None = None):
        import threading
        import time

        self.quiet, self.clock, self.lock = quiet, time.perf_counter, threading.Lock()
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.started = self.clock()  # both stages run from the start: conversion overlaps generation
        self.shown = 0.0
        self.finished: set[str] = set()
        self.begun: set[str] = set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        with self.lock:  # the PDF converter reports from its worker threads
            if not self.terminal:
                self._log_line(stage, done, total)
                return
            now = self.clock()
            if stage in self.finished or (now - self.shown < 0.2 and done < total):
                return
            self.shown = now
            if done >= total:
                self.finished.add(stage)
            verb, unit = self.LABELS[stage]
            line = f"\r{verb} {done}/{total} {unit}"
            elapsed = now - self.started
            if elapsed > 0.5:  # a rate over a few milliseconds says nothing
                rate = done / elapsed
                line += f"  {rate:,.0f} {unit}/秒  剩余约 {(total - done) / rate if rate else 0:,.0f} 秒"
            click.echo(line + "   ", err=True, nl=done >= total)

    def _log_line(self, stage: str, done: int, total: int) -> None:
        verb, unit = self.LABELS[stage]
        if stage not in self.begun:
            self.begun.add(stage)
            click.echo(f"开始 start: {verb} 0/{total} {unit}", err=True)
        if done >= total and stage not in self.finished:
            self.finished.add(stage)
            click.echo(f"完成 done: {verb} {done}/{total} {unit}，用时 {self.clock() - self.started:,.1f} 秒", err=True)


@cli.command(short_help="检查并生成凭证 · check a roster and print its vouchers")
@click.argument("roster", type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True, help="Folder for vouchers/, batches/, 发放登记表.xlsx and rejected.xlsx.")
@SHEET
@PRINTING
@click.option("--require-photos", is_flag=True, help="A missing photo is an error instead of a warning.")
@CENTER
@click.option("--skip-invalid", is_flag=True, help="Merge the valid rows; write the others to rejected.xlsx.")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Vouchers per batch document.")
@click.option("--per-candidate/--no-per-candidate", default=True, show_default=True,
              help="Also write one document per candidate into vouchers/.")
@click.option("--sort-by", multiple=True, help="Order of the batches by a column of the roster, e.g. 职业 or "
              "鉴定站 (repeat for more): dates as dates, numbers as numbers, text in pinyin order; default: "
              "roster order.")
@click.option("--group-by", default=None, help="A column such as 鉴定站 or 考试批次: one folder per value, each "
              "with its own batches (one unless longer than --batch-size) and 发放登记表, to print, stamp and sign "
              "apart.")
@LEDGER
@REISSUE
@click.option("--demo", is_flag=True, help="A trial run (the bundled samples): record the vouchers in "
              "OUTPUT/试用台账.db, never in the centre's ledger.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
@ALL_WARNINGS
@LANG
def merge(roster: Path, outdir: Path, quiet: bool, all_warnings: bool, lang: str, ledger: str | None,
          sort_by: tuple[str, ...], fmt: str | None, demo: bool, **given) -> None:
    """检查名册并生成凭证 · Check ROSTER, then write vouchers, print batches and the register.

    One voucher per candidate (DOCX and PDF), batches of one voucher a page to print and stamp,
    and 发放登记表.xlsx; every voucher is recorded in the ledger.

    例 Example:

    \b
      fjvoucher merge 名册.xlsx --photos 照片 -o out
      fjvoucher merge 名册.xlsx --skip-invalid --sort-by 鉴定站 -o out
    """
    if demo and ledger:
        raise click.UsageError("--demo 用输出文件夹中的试用台账，不能再给 --ledger "
                               "(--demo and --ledger exclude each other)")
    book = _demo_ledger(outdir) if demo else _ledger(ledger)
    options = fjvoucher.merge_options(**given, ledger=book.path, sort_by=tuple(sort_by), format=fmt)
    result = fjvoucher.merge(roster, outdir, options, progress=ProgressLine(quiet))
    report = result.checked.report
    if report.findings:
        for line in report.lines(lang, all_warnings):
            click.echo(line)
    if not result.written:
        click.echo("有错误，未生成任何凭证。请按上面的提示修改名册后重新运行（或加 --skip-invalid 只打印正确的行）。"
                   if lang == "zh" else "Errors found: nothing was written. Fix the roster and run again "
                   "(or use --skip-invalid to merge the valid rows).", err=True)
        _ledger_line(book, created=False)
        sys.exit(ExitCode.PROBLEMS)
    for note in result.notes:
        click.echo(note, err=True)
    click.echo(merge_summary(result, outdir, lang))
    _pdf_failures(result.pdf_failures)
    _ledger_line(book)
    if result.pdf_failures:
        sys.exit(ExitCode.PROBLEMS)


def _pdf_failures(failures) -> None:
    for failure in failures:
        click.echo(f"PDF 失败 (failed): {failure.job.pdf.name}（第 {failure.job.docx.stem} 批）：{failure.reason}",
                   err=True)


def merge_summary(result, outdir: Path, lang: str) -> str:
    """Return the closing lines of a merge: counts that reconcile, where the files are, the photos found."""
    if lang == "en":
        lines = [f"{result.rows} rows read = {result.merged} vouchers + {result.rejected} rejected."]
        lines += [f"  {g.value or '(blank)'}: {g.vouchers} vouchers in {g.folder}; register: {g.register}"
                  for g in result.groups] or [
                  f"Batches: {len(result.batches)} in {outdir / 'batches'}; register: {result.register}"]
    else:
        lines = [f"共读取 {result.rows} 行 = 生成凭证 {result.merged} 张 + 退回 {result.rejected} 行。"]
        lines += [f"  {g.value or '（空白）'}：{g.vouchers} 张，文件夹 {g.folder}；发放登记表：{g.register}"
                  for g in result.groups] or [
                  f"批量打印文件 {len(result.batches)} 个：{outdir / 'batches'}；发放登记表：{result.register}"]
    if result.photo_folder is not None:
        missing = result.merged - result.photos_found
        lines.append(f"照片：找到 {result.photos_found} / {result.merged} 张" + (
            f"；其余 {missing} 人的照片请放入 {result.photo_folder}，以身份证号或准考证号命名（jpg/png），再运行一次"
            if missing > 0 else "") if lang == "zh" else
            f"Photos: {result.photos_found} of {result.merged} found" + (
                f"; put the other {missing} into {result.photo_folder}, named by ID or exam number" if missing > 0
                else ""))
    if result.rejected_file:
        lines.append(("退回的行及原因：" if lang == "zh" else "Rejected rows: ") + str(result.rejected_file))
    return "\n".join(lines)


def _ledger(option: Path | str | None):
    """Return which ledger a command uses (option, environment, config, a 0.1.0 one here, default)."""
    from fjvoucher.config import choose_ledger

    choice = choose_ledger(option)
    if choice.note:
        click.echo(choice.note, err=True)
    return choice


def _demo_ledger(outdir: Path):
    from fjvoucher.config import demo_ledger

    choice = demo_ledger(outdir)
    click.echo(choice.note, err=True)
    return choice


def _show(report, fmt: str) -> None:
    """Print a report (an answer, an audit, an import) as its JSON or as its lines for the clerk."""
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(report.lines()))


def _ledger_line(choice, *, created: bool = True, err: bool = False) -> None:
    """End a command's output naming the ledger it used (on stderr when stdout is JSON)."""
    if created or not isinstance(choice.path, Path) or choice.path.exists():
        click.echo(f"台账 ledger: {shown(choice.path)}", err=err)


def open_ledger(option: Path | str | None):
    """Open an existing ledger for a command: a missing one is an error, never created (an upgrade is said)."""
    choice = _ledger(option)
    book = fjvoucher.open_ledger(choice.path)
    for note in book.notes:
        click.echo(note, err=True)
    return choice, book


def _interactive() -> bool:
    """Return True when a person can answer a question (stdin is a terminal)."""
    return sys.stdin.isatty()


def _holder(voucher) -> str:
    from fjvoucher.roster.idcard import mask_id

    f = voucher.fields
    return f"{voucher.voucher_no}：{f['name']}，{mask_id(f['id_number'])}，{f['occupation']}，{f['level']}"


REASON = click.option("--reason", required=True, help="Why (recorded in the ledger with the time and your user name).")
YES = click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")


def _confirm(question: str, yes: bool) -> None:
    """Ask before a change a clerk cannot take back lightly; without a terminal, --yes is required."""
    if yes:
        return
    if not _interactive():
        raise Failure("需要确认：请在终端中运行，或加 --yes (confirmation needed: run in a terminal or add --yes)",
                      ExitCode.UNUSABLE, "confirmation-needed")
    if not click.confirm(question, default=False):
        raise Failure("已取消，台账没有改动 (cancelled, nothing changed)", ExitCode.PROBLEMS, "cancelled")


@cli.command(short_help="真伪查询 · is this voucher genuine?")
@click.argument("voucher_no")
@click.option("--name", default=None, help="The holder's name as printed on the voucher.")
@click.option("--id", "id_number", default=None, help="The holder's ID number.")
@click.option("--code", default=None, help="The verification code printed on the voucher (查询码), typed as "
              "read: dashes, spaces, lower case, O for 0 and I/L for 1 are all accepted.")
@REPORT_FORMAT
@LEDGER
def verify(voucher_no: str, name: str | None, id_number: str | None, code: str | None, fmt: str,
           ledger: str | None) -> None:
    """真伪查询 · Answer "is voucher VOUCHER_NO genuine?".

    Give the holder's name, ID number or the code printed on the voucher.  The answer shows what
    the voucher says (name, occupation, level, dates, status, masked ID); a wrong name, ID or code
    answers exactly like an unknown NO.  "NO：3501-2009-000001" as printed is accepted.  Exit 0 only
    for a genuine voucher still valid.

    例 Example:

    \b
      fjvoucher verify 3501-2009-000001 --name 陈建国
      fjvoucher verify "NO：3501-2009-000001" --code 7K3M-9Q2X-4B1N --format json
    """
    if sum(x is not None for x in (name, id_number, code)) != 1:
        raise click.UsageError("请给出 --name、--id 或 --code 之一 (give exactly one of --name, --id, --code)")
    choice, book = open_ledger(ledger)
    with book:
        answer = fjvoucher.verify(voucher_no, name=name, id_number=id_number, code=code, ledger=book)
    _show(answer, fmt)
    _ledger_line(choice, err=fmt == "json")
    sys.exit(ExitCode.OK if answer.state == "genuine" else ExitCode.PROBLEMS)


@cli.command(short_help="补发遗失的凭证 · reissue a lost voucher under a new NO")
@click.argument("voucher_no")
@REASON
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True, help="Folder for the new voucher's files (vouchers/, batches/).")
@PRINTING
@click.option("--no-photo", is_flag=True, help="Print the new voucher without a photo (when the holder's photo "
              "cannot be found and an empty box is meant).")
@YES
@LEDGER
def reissue(voucher_no: str, reason: str, outdir: Path, fmt: str | None, yes: bool, ledger: str | None,
            no_photo: bool, **given) -> None:
    """补发遗失的凭证 · Reissue voucher VOUCHER_NO (lost) under a new NO.

    The same record gets a new NO; the old voucher is marked replaced (verify says so) and the new
    one prints 补发（原凭证 … 作废）with the photo the voucher was printed with (else the holder's
    photo in --photos; --no-photo to print none).  Its DOCX/PDF and a 发放登记表 row to sign are
    written to OUTPUT, named by the new NO.

    例 Example:

    \b
      fjvoucher reissue 3501-2009-000012 --reason 遗失 -o 补发
    """
    from fjvoucher.ledger.verify import normalise_no

    choice, book = open_ledger(ledger)
    with book:
        voucher = book.get(normalise_no(voucher_no))
    if voucher is not None:
        click.echo(f"补发 reissue {_holder(voucher)}")
        _confirm("确认补发新凭证、原凭证作废？Reissue and void the old voucher?", yes)
    options = fjvoucher.merge_options(**given, format=fmt, ledger=choice.path)
    result = fjvoucher.reissue(voucher_no, reason, outdir, options, no_photo=no_photo)
    for note in result.notes:
        click.echo(note, err=True)
    click.echo(f"已补发 (reissued)：{voucher_no} → {result.new_no}；文件 files: {outdir / 'vouchers'}；"
               f"发放登记表 register: {result.register}")
    _pdf_failures(result.pdf_failures)
    _ledger_line(choice)
    sys.exit(ExitCode.PROBLEMS if result.pdf_failures else ExitCode.OK)


@cli.command(short_help="作废误发的凭证 · revoke a voucher issued by mistake")
@click.argument("voucher_no")
@REASON
@YES
@LEDGER
def revoke(voucher_no: str, reason: str, yes: bool, ledger: str | None) -> None:
    """作废误发的凭证 · Revoke voucher VOUCHER_NO, issued by mistake.

    Shows whose voucher it is and asks for confirmation (--yes for scripts).  verify then answers
    revoked, and merge refuses the certificate; `fjvoucher restore` undoes it.

    例 Example:

    \b
      fjvoucher revoke 3501-2009-000007 --reason 实为不合格
    """
    from fjvoucher.ledger.verify import normalise_no

    choice, book = open_ledger(ledger)
    with book:
        number = normalise_no(voucher_no)
        voucher = book.get(number)
        if voucher is not None:
            click.echo(f"作废 revoke {_holder(voucher)}")
            _confirm("确认作废？Revoke it?", yes)
        book.revoke(number, reason)
    click.echo(f"凭证 {number} {STATUS_WORDS['revoked']} (revoked)：{reason.strip()}")
    _ledger_line(choice)


@cli.command(short_help="撤销作废或换发 · undo a revocation or supersession")
@click.argument("voucher_no")
@REASON
@LEDGER
def restore(voucher_no: str, reason: str, ledger: str | None) -> None:
    """撤销作废或换发 · Undo the revocation or supersession of VOUCHER_NO: it is in force again.

    例 Example:

    \b
      fjvoucher restore 3501-2009-000007 --reason 误操作
    """
    from fjvoucher.ledger.verify import normalise_no

    choice, book = open_ledger(ledger)
    with book:
        book.restore(normalise_no(voucher_no), reason)
    click.echo(f"凭证 {normalise_no(voucher_no)} 已恢复有效 (restored)：{reason.strip()}")
    _ledger_line(choice)


@cli.command(short_help="凭证的变更记录 · a voucher's history")
@click.argument("voucher_no")
@LEDGER
def history(voucher_no: str, ledger: str | None) -> None:
    """凭证的变更记录 · Show every event of VOUCHER_NO: issued, reissued, revoked, restored, superseded.

    例 Example:

    \b
      fjvoucher history 3501-2009-000007
    """
    from fjvoucher.ledger.verify import normalise_no
    choice, book = open_ledger(ledger)
    number = normalise_no(voucher_no)
    with book:
        book.require_sound(number)
        voucher, events = book.get(number), book.history(number)
    if voucher is None:
        raise Failure(f"台账中没有凭证 {number} (no such voucher)", ExitCode.PROBLEMS, "voucher-not-found")
    click.echo(_holder(voucher))
    for e in events:
        other = f"  ↔ {e.other_no}" if e.other_no else ""
        reason = f"  原因 {e.reason}" if e.reason else ""
        click.echo(f"  {e.at:%Y-%m-%d %H:%M:%S}  {EVENT_WORDS[e.kind]} ({e.kind}){other}{reason}"
                   f"  操作人 {e.actor or '-'}")
    _ledger_line(choice)


@cli.command(short_help="写出月报 · the monthly report to the province")
@click.option("--month", required=True, help="The month to report, as 2009-06.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Workbook to write (default: MONTH.xlsx).")
@FORCE
@LEDGER
def report(month: str, output: Path | None, force: bool, ledger: str | None) -> None:
    """写出月报 · Write the monthly report to the province for MONTH.

    Printed sheets 本月发放 (vouchers issued in the month), 本月变更 (reissues, revocations,
    restorations, supersessions) and 汇总 (people by occupation and level), sized for A4 landscape
    at 10 pt with 制表人/审核人/盖章 lines; 明细数据 holds every field.  A past month's report reads
    the same when run again.

    例 Example:

    \b
      fjvoucher report --month 2009-06 -o 2009-06.xlsx
    """
    from fjvoucher.config import setting
    from fjvoucher.ledger.monthly import write_monthly_report

    _check_month(month)
    path = output or Path(f"{month}.xlsx")
    choice, book = open_ledger(ledger)
    with book:
        counts = write_monthly_report(book, month, path, center=setting("center_name") or "", force=force)
    click.echo(f"{month}：发放 {counts.issued} 张，变更 {counts.changes} 项，已写出 (written): {path}")
    _ledger_line(choice)


@cli.command(short_help="导出月度交换文件 · the month's signed file for the province")
@click.option("--month", required=True, help="The month to export, as 2026-11.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: CENTRE-MONTH.fjv).")
@LEDGER
def export(month: str, output: Path | None, ledger: str | None) -> None:
    """导出月度交换文件 · Write MONTH's events, with the chain's hashes, signed with the centre key.

    For a province without a connection: send the file (it holds personal data: owner-only) to the
    province, which imports it with `fjvoucher province import`.  The centre is `fjvoucher config`'s
    center_code, else the one code the ledger's vouchers carry.  The ledger is audited first; an
    empty month still gives a file; exporting the month again gives the same bytes.

    例 Example:

    \b
      fjvoucher export --month 2026-11 -o 3501-2026-11.fjv
    """
    from fjvoucher.config import setting
    from fjvoucher.ledger.exchange import export_month, sole_centre

    _check_month(month)
    choice, book = open_ledger(ledger)
    with book:
        centre = setting("center_code") or sole_centre(book)
        written = export_month(book, month, output or Path(f"{centre}-{month}.fjv"), centre)
    click.echo(f"中心 {written.centre} {month}：第 {written.start[0] + 1}–{written.end[0]} 条事件，共 "
               f"{len(written.events)} 条，已签名 {written.fingerprint}，已写出 (written): {written.path}")
    _ledger_line(choice)


@cli.command(short_help="国家证书已到 · national certificates arrived")
@click.argument("sources", nargs=-1, required=True)
@click.option("--reason", default=NATIONAL_CERTIFICATE, show_default=True,
              help="Why (recorded in the ledger with the time and your user name).")
@YES
@SHEET
@LEDGER
def supersede(sources: tuple[str, ...], reason: str, yes: bool, sheet: str | None, ledger: str | None) -> None:
    """国家证书已到，凭证停用 · National certificates arrived: retire the vouchers of SOURCES.

    SOURCES are lists with a 证书编号 column (姓名 and 证书编号 are enough) or certificate numbers
    (16 digits).  Shows whose vouchers they are and asks for confirmation (--yes for scripts);
    `fjvoucher restore NO --reason …` undoes a supersession made by mistake.

    例 Example:

    \b
      fjvoucher supersede 国家证书名册.xlsx
      fjvoucher supersede 0935011001500001 --reason 国家证书2010年3月下发
    """
    from fjvoucher.roster.checks import certificates_from

    numbers = certificates_from(sources, sheet)
    choice, book = open_ledger(ledger)
    with book:
        vouchers, unknown = book.in_force(numbers)
        for voucher in vouchers[:SHOWN]:
            click.echo(f"换发 supersede {_holder(voucher)}")
        if len(vouchers) > SHOWN:
            click.echo(f"……共 {len(vouchers)} 张 (vouchers)")
        if vouchers:
            _confirm(f"确认这 {len(vouchers)} 张凭证已换发国家证书、停止使用？Retire them?", yes)
            done, unknown = book.supersede(numbers, reason)
        else:
            done = []
    click.echo(f"已标记为「{STATUS_WORDS['superseded']}」(superseded): {len(done)} 张凭证；原因 {reason.strip()}")
    if unknown:
        click.echo(f"台账中没有有效凭证的证书编号 (no voucher in force): {len(unknown)} 个：{'、'.join(unknown[:20])}"
                   + ("…" if len(unknown) > 20 else ""))
    _ledger_line(choice)
    sys.exit(ExitCode.OK if done or not unknown else ExitCode.PROBLEMS)


SHOWN = 20  # holders listed before a confirmation; the rest are counted


@cli.command(name="list", short_help="列出台账中的凭证 · list the ledger's vouchers")
@click.option("--month", default=None, help="Only vouchers whose 发证日期 is in this month (2009-06).")
@click.option("--status", type=click.Choice(LIST_STATUSES),
              default=None, help="Only vouchers in this state.")
@click.option("--expiring-within", type=click.IntRange(min=0, max=36500), default=None,
              help="Only vouchers in force whose validity ends within N days.")
@REPORT_FORMAT
@SHOW_ID
@click.option("--codes", is_flag=True, help="Show verification codes (vouchers without one get one, recorded).")
@LEDGER
def list_vouchers(month, status, expiring_within, fmt, show_id, codes, ledger) -> None:
    """列出台账中的凭证 · List the ledger's vouchers by month, status or approaching expiry.

    例 Example:

    \b
      fjvoucher list --month 2009-06
      fjvoucher list --expiring-within 30 --format json
    """
    from fjvoucher.querycode import printed_code
    from fjvoucher.roster.idcard import mask_id

    choice, book = open_ledger(ledger)
    with book:
        if codes:
            book.ensure_codes()
        today = book.clock().date()
        vouchers = book.select(month=month, status=status, expiring_within=expiring_within, today=today)
    rows = [{"voucher_no": v.voucher_no, "name": v.fields["name"], "certificate_no": v.fields["certificate_no"],
             "id_number": v.fields["id_number"] if show_id else mask_id(v.fields["id_number"]),
             "issued_on": v.issued_on.isoformat(), "expires_on": v.expires_on.isoformat(),
             "state": v.state(today), "reason": v.reason, "status": v.status, "occupation": v.fields["occupation"],
             "level": v.fields["level"], "replaces": v.replaces, "replaced_by": v.replaced_by,
             **({"verify_code": printed_code(v.verify_code)} if codes else {})} for v in vouchers]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        headers = ["凭证编号", "姓名", "证书编号", "身份证号", "发证日期", "有效期至", "状态"]
        headers += ["查询码"] if codes else []
        table = [[r["voucher_no"], r["name"], r["certificate_no"], r["id_number"], r["issued_on"], r["expires_on"],
                  STATUS_WORDS[r["state"]]] + ([r["verify_code"]] if codes else []) for r in rows]
        for line in aligned([headers, *table]):
            click.echo(line)
        click.echo(f"共 {len(rows)} 张 (vouchers)")
    _ledger_line(choice, err=fmt == "json")


def aligned(rows: list[list[str]]) -> list[str]:
    """Return `rows` as lines of columns lined up on a terminal, where a Chinese character takes two columns."""
    from fjvoucher.roster.cells import display_width

    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell + " " * (width - display_width(cell))
                      for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


@cli.command(short_help="核查台账 · audit the ledger: chain, signature, every voucher")
@click.option("--report", "reports", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A monthly report (MONTH.xlsx) whose closing head the ledger must still contain (repeat for more).")
@REPORT_FORMAT
@LEDGER
def audit(reports: tuple[Path, ...], fmt: str, ledger: Path | None) -> None:
    """核查台账 · Recompute the ledger's chain, signature and vouchers; list every discrepancy.

    Each event must link to the one before it and match its hash, the signed head must match the
    chain's last event and be signed by this centre's key, the tables and triggers must be
    fjvoucher's, and every voucher row must be what its events make.  One line per discrepancy
    (which event or voucher, what differs, since when).  Exit 1 when any.  On PostgreSQL each
    centre's chain is walked (a centre's role: its own).

    例 Example:

    \b
      fjvoucher audit
      fjvoucher audit --report 2026-11.xlsx
    """
    choice, book = open_ledger(ledger)
    with book:
        report = fjvoucher.audit_ledger(book, reports)
    _show(report, fmt)
    _ledger_line(choice, err=fmt == "json")
    sys.exit(ExitCode.OK if report.ok else ExitCode.PROBLEMS)


@cli.command(short_help="备份台账 · back up the ledger (while merges and serve run)")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--with-key", is_flag=True, help="Also copy the centre's signing key beside the backup (keep the two "
              "apart: whoever holds both can sign a rewritten ledger).")
@LEDGER
def backup(dest: Path, with_key: bool, ledger: Path | None) -> None:
    """备份台账 · Copy the ledger to DEST (a new file, or a folder: named by date and time), then audit the copy.

    The copy is consistent while merges and the server run (SQLite's online backup).  The centre's
    signing key is not in it: back the key up once, apart from the ledger's backups.

    例 Example:

    \b
      fjvoucher backup D:/台账备份
      fjvoucher backup E:/台账-2026-11-30.db
    """
    from fjvoucher.ledger.copies import backup as copy_ledger
    from fjvoucher.ledger.keys import key_path

    choice, book = open_ledger(ledger)
    with book:
        copied = copy_ledger(book, dest, with_key=with_key)
    for line in copied.audit.lines():
        click.echo(line)
    click.echo(f"已备份 (backed up): {copied.path}")
    if copied.beside:
        click.echo(f"[警告] 签名密钥也复制到了 {copied.beside}：请与台账备份分开保存，"
                   "拿到两者的人可以改写台账并重新签名 (the key is in the backup: keep it apart)", err=True)
    else:
        click.echo(f"签名密钥不在备份中：请另外保存一份 {key_path()}（例如 fjvoucher backup --with-key 到 U 盘，"
                   "然后锁好）(the key is not in the backup)")
    _ledger_line(choice)
    sys.exit(ExitCode.OK if copied.audit.ok else ExitCode.PROBLEMS)


@cli.command(name="restore-backup", short_help="从备份恢复台账 · restore the ledger from a backup")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@YES
@LEDGER
def restore_backup(source: Path, yes: bool, ledger: Path | None) -> None:
    """从备份恢复台账 · Replace the ledger with the backup SOURCE, after auditing SOURCE.

    The current ledger is kept beside it (LEDGER.before-restore-TIME).  Safe while `serve` runs:
    the server answers from the restored ledger at its next query.

    例 Example:

    \b
      fjvoucher restore-backup D:/台账备份/ledger-20261130-180000.db
    """
    choice = _ledger(ledger)
    _confirm(f"用 {source} 替换台账 {choice.path}？Replace the ledger with the backup?", yes)
    restored = fjvoucher.restore_backup(source, ledger=choice.path)
    for line in restored.audit.lines():
        click.echo(line)
    if restored.beside:
        click.echo(f"原台账已保留 (the previous ledger is kept): {restored.beside}")
    click.echo(f"已从备份恢复 (restored from): {source}")
    _ledger_line(choice)
    sys.exit(ExitCode.OK if restored.audit.ok else ExitCode.PROBLEMS)


@cli.command(short_help="真伪查询网站 · the verification web page and API")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every network).")
@click.option("--port", type=click.IntRange(1, 65535), default=8009, show_default=True, help="Port to listen on.")
@click.option("--ledger", "ledgers", multiple=True, metavar="FILE|URL",
              help="A ledger to answer for (a file or a postgresql:// URL); repeat it for several centres "
                   "(default: this centre's ledger).")
@click.option("--root-path", default="", help="The path prefix when served behind a reverse proxy, e.g. /verify "
              "(the page then works only through the proxy, which strips the prefix).")
@click.option("--rate-limit", type=click.IntRange(min=0), default=30, show_default=True,
              help="Queries a minute each client may make (0: no limit).")
@click.option("--forwarded-allow-ips", "forwarded", multiple=True, metavar="ADDRESS",
              help="A reverse proxy whose X-Forwarded-For is believed (repeat it; default: none, so the "
                   "rate limit counts the address that connected).")
def serve(host: str, port: int, ledgers: tuple[str, ...], root_path: str, rate_limit: int,
          forwarded: tuple[str, ...]) -> None:
    """真伪查询网站 · Serve the 真伪查询 page and its JSON API from the ledger.

    Anyone can check a voucher by its NO and the holder's name, or by the QR code printed on it.
    The ledger is opened read-only: merges can run meanwhile.  Answers show only what the voucher
    prints; names and ID numbers never reach the log.  Pages: / (form), /v/NO?c=CODE (the QR link),
    /api/verify?no=…&name=… or &code=… (JSON), /healthz.

    例 Example:

    \b
      fjvoucher serve
      fjvoucher serve --host 0.0.0.0 --port 8009 --ledger 福州.db --ledger 厦门.db
    """
    from fjvoucher.config import setting
    from fjvoucher.ledger.backends import ledger_exists
    from fjvoucher.ledger.location import as_location, shown
    from fjvoucher.web.server import give_codes, open_ledgers, root_path_of, where_served
    from fjvoucher.web.server import serve as run_server

    paths = [as_location(p) for p in ledgers] or [_ledger(None).path]
    for path in paths:
        if not ledger_exists(path):
            raise Failure(f"找不到凭证台账 {shown(path)} (ledger not found)", ExitCode.UNUSABLE, "ledger-not-found")
    prefix = root_path_of(root_path)  # a bad prefix is refused before the ledgers are touched
    for note in give_codes(paths):  # a missing file, or one that is not a ledger, is refused here
        click.echo(note, err=True)
    opened, warnings = open_ledgers(paths)  # before "serving": a tampered ledger is said now and answers 503
    for warning in warnings:
        click.echo(f"[警告] {warning}", err=True)

    def ready() -> None:
        for line in where_served(host, port, prefix):
            click.echo(line)
        click.echo(f"台账 ledger: {', '.join(map(shown, paths))}")

    run_server(opened, host=host, port=port, root_path=prefix, per_minute=rate_limit, forwarded_allow_ips=forwarded,
               center=setting("center_name") or "", phone=setting("phone") or "", ready=ready)


@cli.command(short_help="凭证工作台 · the clerk's workbench in a browser window")
@click.option("--no-browser", is_flag=True, help="Print the address instead of opening the browser.")
@click.option("--shortcut", is_flag=True, help="Put a 凭证工作台 icon on the desktop that starts the workbench, "
              "then exit.")
def desk(no_browser: bool, shortcut: bool) -> None:
    """凭证工作台 · Open the clerk's workbench: every step of the month in a browser window.

    Runs on this computer only (127.0.0.1) until you press 退出 or close its last tab.  The
    `fjvoucher-desk` program does the same without a console window; --shortcut puts its icon on
    the desktop.

    例 Example:

    \b
      fjvoucher desk
      fjvoucher desk --shortcut
    """
    if shortcut:
        from fjvoucher.desk.shortcut import desk_program, desktop_folder, make_shortcut

        click.echo(f"已放到桌面 (desktop icon): {make_shortcut(desktop_folder(), desk_program())}")
        return
    from fjvoucher.desk.launch import launch

    launch(browser=not no_browser, announce=lambda url: click.echo(f"凭证工作台 workbench: {url}"))


@cli.group(short_help="省指导中心 · the province's registry and upload")
def province() -> None:
    """省指导中心 · The province's side: the shared ledger or the registry of monthly files, and the upload."""


@province.command(name="init", short_help="建立省共享台账 · set up the shared PostgreSQL ledger")
@LEDGER
def province_init(ledger: str | None) -> None:
    """建立省共享台账 · Create the shared ledger's tables in PostgreSQL and grant the centres' roles.

    Run once as the database's owner, after the README's SQL created the roles and the database;
    running it again changes nothing.  Then register each centre's role (README) and give each
    centre its postgresql:// URL as its ledger.

    例 Example:

    \b
      fjvoucher province init --ledger postgresql://fjvoucher_owner@省中心服务器/fjvoucher
    """
    from fjvoucher.province.registry import init_registry

    choice = _ledger(ledger)
    centres = init_registry(str(choice.path))
    listed = "、".join(centres) or "（还没有 none yet）"
    click.echo(f"共享台账已就绪 (ready)；已登记的中心 (centres registered): {listed}")
    _ledger_line(choice)


@province.command(short_help="跨中心重复 · candidates with vouchers from several centres")
@SHOW_ID
@REPORT_FORMAT
@LEDGER
def duplicates(show_id: bool, fmt: str, ledger: str | None) -> None:
    """跨中心重复 · List candidates holding vouchers in force from more than one centre.

    Same ID number, occupation and level (四级/中级 and 中级 are one level).  Exit 1 when any.

    例 Example:

    \b
      fjvoucher province duplicates --ledger postgresql://province@省中心服务器/fjvoucher
    """
    from fjvoucher.province.duplicates import find_duplicates

    choice, book = open_ledger(ledger)
    with book:
        found = find_duplicates(book)
    if fmt == "json":
        click.echo(json.dumps([d.to_dict(show_id) for d in found], ensure_ascii=False, indent=2))
    else:
        for duplicate in found:
            click.echo(duplicate.line(show_id))
        click.echo(f"跨中心重复 (candidates with vouchers from several centres): {len(found)} 人")
    _ledger_line(choice, err=fmt == "json")
    sys.exit(ExitCode.PROBLEMS if found else ExitCode.OK)


@province.command(short_help="上报国家查询系统 · the month's certificate records for upload")
@click.option("--month", required=True, help="The month to upload, as 2009-06.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write: OUTPUT.xlsx and OUTPUT.csv (default: upload-MONTH).")
@click.option("--check", "check_only", is_flag=True, help="Only check the month; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for the clerk, json for programs.")
@LANG
@LEDGER
def upload(month: str, output: Path | None, check_only: bool, fmt: str, lang: str, ledger: str | None) -> None:
    """上报国家查询系统 · Write MONTH's certificate records for the national query system.

    Checks the month first (the chain of every centre with records in the month intact, every
    record complete and valid by the roster's rules, nothing twice) and lists what blocks the
    upload (exit 1, nothing written).  Then writes OUTPUT.xlsx and
    OUTPUT.csv (UTF-8) with the columns of the `upload_columns` setting (default: all, see README).

    例 Example:

    \b
      fjvoucher province upload --month 2009-06 -o 上报-2009-06
    """
    from fjvoucher.config import setting
    from fjvoucher.province.columns import SETTING
    from fjvoucher.province.upload import write_upload

    _check_month(month)
    choice, book = open_ledger(ledger)
    with book:
        result = write_upload(book, month, output or Path(f"upload-{month}"), setting=setting(SETTING),
                              check_only=check_only)
    check = result.check
    if fmt == "json":
        click.echo(json.dumps(check.to_dict(lang), ensure_ascii=False, indent=2))
    else:
        for line in check.lines(lang):
            click.echo(line)
        if result.written:
            click.echo(f"已写出 (written): {', '.join(map(str, result.written))}")
    _ledger_line(choice, err=fmt == "json")
    sys.exit(ExitCode.OK if check.valid else ExitCode.PROBLEMS)


@province.command(name="import", short_help="导入各中心的月度文件 · import the centres' monthly files")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@REPORT_FORMAT
@LEDGER
def province_import(files: tuple[Path, ...], fmt: str, ledger: str | None) -> None:
    """导入各中心的月度文件 · Import the centres' signed monthly files (fjvoucher export) into the registry.

    Each file must be signed with its centre's listed key (`province keys add`), continue the
    centre's chain where the registry's copy ends (a missing month is named) and leave what was
    imported unchanged (a rewritten history is refused, naming the first event that differs).
    Files are applied per centre in chain order, whatever the order given; each one whole or not at
    all; a file imported again changes nothing.  The registry is a SQLite ledger signed with this
    computer's key.  Exit 1 when a file is refused.

    例 Example:

    \b
      fjvoucher province import --ledger 省登记库.db 收到/*.fjv
    """
    from fjvoucher.province.imports import import_files, open_registry

    choice = _ledger(ledger)
    with open_registry(choice.path) as book:
        report = import_files(book, list(files))
    _show(report, fmt)
    _ledger_line(choice, err=fmt == "json")
    sys.exit(report.exit_code)


@province.group(short_help="各中心的公钥 · the centres' public keys")
def keys() -> None:
    """各中心的公钥 · The centres' public keys the registry accepts monthly files from."""


@keys.command(name="add", short_help="登记中心的公钥 · list a centre's public key")
@click.argument("centre")
@click.argument("key")
@click.option("--replaces", metavar="FINGERPRINT", default="",
              help="中心换了密钥（电脑损坏）：被替换的旧密钥的指纹 · the fingerprint of the centre's key it replaces")
@LEDGER
def keys_add(centre: str, key: str, replaces: str, ledger: str | None) -> None:
    """登记中心的公钥 · List CENTRE's public KEY (the file `fjvoucher config key` wrote, or its hex).

    Compare the fingerprint it prints with the centre's (by telephone) before importing its files.
    A centre whose key was lost gets a new one with --replaces OLD-FINGERPRINT: the old key then
    proves only the part of the centre's chain the registry holds now.

    例 Example:

    \b
      fjvoucher province keys add 3501 3501.pub --ledger 省登记库.db
    """
    from fjvoucher.province.imports import add_key, open_registry

    text = Path(key).read_text(encoding="utf-8") if Path(key).is_file() else key
    choice = _ledger(ledger)
    with open_registry(choice.path) as book:
        shown_key, added = add_key(book, centre, text, replaces)
    click.echo(f"中心 {centre}：{shown_key}（{'已登记 listed' if added else '早已登记，没有改动 already listed'}）")
    _ledger_line(choice)


@keys.command(name="list", short_help="列出已登记的公钥 · the listed keys")
@LEDGER
def keys_list(ledger: str | None) -> None:
    """列出已登记的公钥 · List the centres and their keys' fingerprints.

    例 Example:

    \b
      fjvoucher province keys list --ledger 省登记库.db
    """
    from fjvoucher.province.imports import list_keys, open_registry

    choice = _ledger(ledger)
    with open_registry(choice.path, create=False) as book:
        listed = list_keys(book)
    for centre, shown_key, replaced in listed:
        click.echo(f"{centre}  {shown_key}" + (f"  （{replaced} replaced）" if replaced else ""))
    click.echo(f"已登记 {len({row[0] for row in listed})} 个中心 (centres listed)")
    _ledger_line(choice)


def _check_month(month: str) -> None:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise click.BadParameter("请写成 2009-06 这样的年-月 (use YYYY-MM)", param_hint="--month")


@cli.group(short_help="设置 · the centre's settings", invoke_without_command=True)
@click.pass_context
def config(ctx: click.Context) -> None:
    """设置 · Show the centre's settings, their values and where each comes from.

    Settings live in one file in the per-user config folder; options and $FJVOUCHER_LEDGER still
    override them.

    例 Example:

    \b
      fjvoucher config
      fjvoucher config set center_name 福州市职业技能鉴定指导中心
    """
    from fjvoucher.config import KEYS, config_path, settings

    if ctx.invoked_subcommand:
        return
    current = settings()  # a wrong setting is refused before anything is printed
    click.echo(f"配置文件 config file: {config_path()}")
    for item in current:
        value = shown(item.value) if item.value is not None else "（未设置）"  # a URL's password never shown
        click.echo(f"  {item.key} = {value}    [{item.source}]")
        click.echo(f"      {KEYS[item.key]}")
    key = fjvoucher.centre_key()
    click.echo(f"中心签名密钥 signing key: {key.path}")
    click.echo(f"      {key.fingerprint or '（尚未生成：第一次写台账时生成）(made on first write)'}")


@config.command(name="key", short_help="写出本中心的公钥 · write the centre's public key")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the public key to this file, for the province (`province keys add`).")
@click.option("--take-over", is_flag=True,
              help="新电脑接管从备份恢复的台账 · sign the restored ledger's head with this computer's key")
@LEDGER
def config_key(output: Path | None, take_over: bool, ledger: str | None) -> None:
    """写出本中心的公钥 · Show the centre's public key and fingerprint; write it to a file for the province.

    The public key only checks signatures: it can be sent by e-mail; tell the fingerprint by telephone.
    --take-over: on a new computer, after restoring the ledger from a backup without its key, sign the
    ledger's head with this computer's key (only when the whole ledger proves itself under the old key);
    the province then lists the new key with `province keys add CENTRE NEW.pub --replaces OLD`.

    例 Example:

    \b
      fjvoucher config key -o 3501.pub
      fjvoucher config key --take-over -o 3501-new.pub
    """
    from fjvoucher.atomic import write_bytes_atomic
    from fjvoucher.ledger.exchange import public_key_text
    from fjvoucher.ledger.keys import key_path, load_key

    if take_over:
        from fjvoucher.ledger.store import Ledger
        from fjvoucher.ledger.takeover import take_over as take

        choice = _ledger(ledger)
        with Ledger(choice.path, create=False) as book:
            old, new = take(book)
        click.echo(f"台账 {choice.path} 已由本机密钥 {new} 接管（原密钥 {old}）。请把新公钥交给省中心："
                   f"province keys add 中心代码 新公钥文件 --replaces {old} (taken over)")
    key = load_key(create=False)
    if key is None:
        raise Failure(f"本机还没有中心签名密钥 {key_path()}：第一次写台账时生成 (no key yet)", ExitCode.PROBLEMS,
                      "ledger-error")
    click.echo(f"{key.fingerprint}\n{key.public_key}")
    if output:
        write_bytes_atomic(output, public_key_text(key.public_key).encode("utf-8"))
        click.echo(f"已写出 (written): {output}")


@config.command(name="set", short_help="修改一项设置 · change one setting")
@click.argument("key")
@click.argument("value")
def config_set(key: str, value: str) -> None:
    """修改一项设置 · Set KEY to VALUE in the config file.

    KEY is one of center_name, center_code, ledger, photos, verify_url, phone, output, upload_columns, other_centre.

    例 Example:

    \b
      fjvoucher config set ledger D:/凭证/台账.db
    """
    from fjvoucher.config import set_value

    saved = set_value(key, value)
    click.echo(f"已设置 (set) {key} = {saved.value}：{saved.path}")
    for warning in saved.warnings:
        click.echo(f"警告 (warning): {warning}", err=True)


@cli.group(short_help="凭证母版 · voucher masters")
def template() -> None:
    """凭证母版 · Work with voucher masters (docxtpl templates or Word mail-merge masters)."""


@template.command(short_help="检查母版 · list a master's fields and problems")
@click.argument("master", type=click.Path(dir_okay=False, path_type=Path))
@SOFFICE
def check(master: Path, soffice: Path | None) -> None:
    """检查母版 · List the fields MASTER holds, what each fills, any problem, and which PDF engine it gets.

    Exit 1 when the master cannot be used.

    例 Example:

    \b
      fjvoucher template check 母版.docx
    """
    from fjvoucher.layout import FIELD_BY_KEY
    from fjvoucher.pdf.masters import docx_master
    from fjvoucher.word.master import inspect_template

    info = inspect_template(docx_master(master))
    kind = "Word 邮件合并母版 (MERGEFIELD)" if info.kind == "mergefield" else "docxtpl 母版"
    click.echo(f"{master}：{kind}，{len(info.fields)} 个字段 (fields)")
    for name, key in info.fields:
        target = f"{key}（{FIELD_BY_KEY[key].header}）" if key in FIELD_BY_KEY else (key or "对应不到任何列 (unknown)")
        click.echo(f"  «{name}» → {target}")
    if info.data_source:
        source = info.data_source
        click.echo(f"母版制作时连接的数据源 (data source): {source.file or '-'}"
                   + (f"；查询 (query) {source.query}" if source.query else "")
                   + (f"；类型 (type) {source.kind}" if source.kind else "")
                   + "。合并结果中不保留此连接 (not kept in the outputs)")
    for warning in info.warnings:
        click.echo(f"[警告] {warning}")
    for problem in info.problems:
        click.echo(f"[错误] {problem}")
    if not info.problems:
        click.echo(f"PDF 引擎 (engine, --pdf-engine auto): {_engine_line(docx_master(master), soffice)}")
    sys.exit(ExitCode.PROBLEMS if info.problems else ExitCode.OK)


def _engine_line(master: Path | None, soffice: Path | None) -> str:
    """Return which PDF engine the master gets and why (probing it once, in a temporary folder)."""
    import tempfile

    from fjvoucher.word.drawn import engine_for

    with tempfile.TemporaryDirectory(prefix="fjvoucher-probe-") as work:
        return engine_for(master, soffice, Path(work))[1]


@cli.command(short_help="检查本机 PDF 引擎和字体 · check PDF engine and fonts")
@SOFFICE
def doctor(soffice: Path | None) -> None:
    """检查本机的 PDF 引擎和中文字体 · Say which PDF engines and Chinese fonts this machine has.

    Names what is missing and how to install it; exit 1 when something is missing.

    例 Example:

    \b
      fjvoucher doctor
    """
    from fjvoucher.doctor import diagnose

    checks = diagnose(soffice)
    for check in checks:
        click.echo(f"[{'正常 ok' if check.ok else '缺少 missing'}] {check.name}: {check.detail}")
        if check.hint:
            click.echo(f"    安装 install: {check.hint}")
    sys.exit(ExitCode.OK if all(c.ok for c in checks) else ExitCode.PROBLEMS)


HELP_WIDTH = 100  # the README's command reference is rendered at this width on every machine


def help_reference() -> str:
    """Return the Markdown command reference: every command's --help, in workflow order, as the clerk sees it."""
    speak_chinese()  # as main() does when the program starts
    root = click.Context(cli, info_name="fjvoucher", terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH,
                         **cli.context_settings)
    sections = [_help_section(root, cli, "fjvoucher")]
    for name, command in cli.commands.items():
        ctx = click.Context(command, info_name=name, parent=root, terminal_width=HELP_WIDTH,
                            max_content_width=HELP_WIDTH)
        sections += _help_sections(ctx, command, f"fjvoucher {name}")
    return "\n\n".join(sections)


def _help_sections(ctx: click.Context, command: click.Command, title: str) -> list[str]:
    """Return the help of `command` and of its subcommands, depth first (province keys add)."""
    sections = [_help_section(ctx, command, title)]
    for sub_name, sub in getattr(command, "commands", {}).items():
        sub_ctx = click.Context(sub, info_name=sub_name, parent=ctx, terminal_width=HELP_WIDTH,
                                max_content_width=HELP_WIDTH)
        sections += _help_sections(sub_ctx, sub, f"{title} {sub_name}")
    return sections


def _help_section(ctx: click.Context, command: click.Command, title: str) -> str:
    return f"#### `{title}`\n\n```text\n{command.get_help(ctx)}\n```"
