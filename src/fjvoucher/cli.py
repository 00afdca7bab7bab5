"""The fjvoucher command line: parse options, call one library function, report errors in one line.

Exit codes: 0 success (warnings allowed), 1 problems found in the roster or a job failed,
2 a file or argument cannot be used at all, 3 an unexpected error (a bug: its details go to a log file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fjvoucher import __version__
from fjvoucher.errors import EXIT_BUG, EXIT_OK, EXIT_PROBLEMS
from fjvoucher.ledger.store import DEFAULT_NAME, DEFAULT_PATTERN, ENV_VAR, default_path


class Failure(click.ClickException):
    """A failure explained in one line, with its own exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class FjvoucherGroup(click.Group):
    """The command group: commands listed in workflow order, every failure reported in one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # the order they are defined in: the clerk's workflow

    def invoke(self, ctx: click.Context):
        from fjvoucher.failures import explain, write_bug_report

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            explained = explain(exc)
            if explained is not None:
                raise Failure(*explained) from exc
            log = write_bug_report(exc, sys.argv, _log_folder())
            raise Failure(f"程序内部错误（{type(exc).__name__}: {exc}）。请把此文件发给技术支持: {log}",
                          EXIT_BUG) from exc


def _log_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir("fjvoucher", appauthor=False))


LEDGER = click.option("--ledger", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      help=f"The ledger database (default: ${ENV_VAR}, else {DEFAULT_NAME} in this folder).")
LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
                    help="Language of the report: zh (中文) or en.")
SHEET = click.option("--sheet", default=None, help="Sheet name or 1-based number (default: the first sheet).")


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


@cli.command(short_help="写出空白标准名册 · write an empty official roster")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("名册模板.xlsx"),
              show_default=True, help="Where to write the empty roster.")
def layout(output: Path) -> None:
    """写出空白标准名册 · Write an empty roster in the official layout.

    Official headers, code columns formatted as text (Excel cannot damage ID numbers), dropdowns.

    例 Example:

    \b
      fjvoucher layout -o 名册模板.xlsx
    """
    from fjvoucher.sheets.blank_roster import write_blank_roster

    click.echo(f"已写出名册模板 (blank roster written): {write_blank_roster(output)}")


@cli.command(short_help="检查名册 · check a roster, write nothing")
@click.argument("roster", type=click.Path(path_type=Path))
@SHEET
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for the clerk, json for programs.")
@LANG
def validate(roster: Path, sheet: str | None, fmt: str, lang: str) -> None:
    """检查名册（不写任何文件）· Check ROSTER against the official layout and every cell.

    Exit 1 when it has errors.

    例 Example:

    \b
      fjvoucher validate 名册.xlsx
      fjvoucher validate 名册.xlsx --format json > 报告.json
    """
    from fjvoucher.pdf.fonts import has_glyph
    from fjvoucher.roster.checks import validate as run_validation

    report = run_validation(roster, sheet, glyphs=has_glyph)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(lang), ensure_ascii=False, indent=2))
    else:
        click.echo(report.to_text(lang))
    sys.exit(EXIT_OK if report.valid else EXIT_PROBLEMS)


class ProgressLine:
    """Show vouchers or pages done, rate and time left on one stderr line, a few times a second at most."""

    LABELS = {"docx": ("已生成", "张"), "pdf": ("PDF 已完成", "页")}

    def __init__(self, quiet: bool):
        import threading
        import time

        self.quiet, self.clock, self.lock = quiet, time.perf_counter, threading.Lock()
        self.started = self.clock()  # both stages run from the start: conversion overlaps generation
        self.shown, self.finished = 0.0, set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        with self.lock:  # the PDF converter reports from its worker threads
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


@cli.command(short_help="检查并生成凭证 · check a roster and print its vouchers")
@click.argument("roster", type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True, help="Folder for vouchers/, batches/, 发放登记表.xlsx and rejected.xlsx.")
@SHEET
@click.option("--template", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A docxtpl master using the template contract (default: the bundled voucher master).")
@click.option("--photos", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of photos named by ID number or exam number (jpg/jpeg/png).")
@click.option("--require-photos", is_flag=True, help="A missing photo is an error instead of a warning.")
@click.option("--center", default=None, help="Full centre name for the seal line when the roster has none, "
              "e.g. 福州市职业技能鉴定指导中心.")
@click.option("--skip-invalid", is_flag=True, help="Merge the valid rows; write the others to rejected.xlsx.")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Vouchers per batch document.")
@click.option("--per-candidate/--no-per-candidate", default=True, show_default=True,
              help="Also write one document per candidate into vouchers/.")
@click.option("--sort-by", multiple=True, help="Order of the batches by a column of the roster, e.g. 职业 or "
              "鉴定站 (repeat for more); default: roster order.")
@click.option("--format", "fmt", type=click.Choice(["docx", "pdf", "both"]), default=None,
              help="Output DOCX, PDF or both (default: both where a PDF engine is found, else docx).")
@click.option("--pdf-engine", type=click.Choice(["libreoffice", "word"]), default="libreoffice", show_default=True,
              help="LibreOffice (every OS) or Microsoft Word through docx2pdf (Windows/macOS with Word).")
@click.option("--soffice", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Path of LibreOffice's soffice when it is not on PATH or in the usual folder.")
@LEDGER
@click.option("--center-code", default=None, help="Centre code in new NOs (default: the certificate number's "
              "province and city, e.g. 3501).")
@click.option("--no-pattern", default=DEFAULT_PATTERN, show_default=True,
              help="Pattern of new NOs: {center_code}, {year} (of the issue date), {serial}.")
@click.option("--reissue", is_flag=True, help="Replace the voucher of a certificate whose record changed with a "
              "new NO (its 备注 says 补发).")
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
@LANG
def merge(roster: Path, outdir: Path, sheet, template, photos, require_photos, center, skip_invalid, batch_size,
          per_candidate, sort_by, fmt, pdf_engine, soffice, ledger, center_code, no_pattern, reissue, quiet,
          lang) -> None:
    """检查名册并生成凭证 · Check ROSTER, then write vouchers, print batches and the register.

    One voucher per candidate (DOCX and PDF), batches of one voucher a page to print and stamp,
    and 发放登记表.xlsx; every voucher is recorded in the ledger.

    例 Example:

    \b
      fjvoucher merge 名册.xlsx --photos 照片 -o out
      fjvoucher merge 名册.xlsx --skip-invalid --sort-by 鉴定站 -o out
    """
    from fjvoucher.merge import MergeOptions, merge_roster
    from fjvoucher.pdf.fonts import has_glyph

    options = MergeOptions(sheet=sheet, template=template, photos=photos, require_photos=require_photos,
                           center=center, skip_invalid=skip_invalid, batch_size=batch_size,
                           per_candidate=per_candidate, sort_by=tuple(sort_by), format=fmt,
                           pdf_engine=pdf_engine, soffice=soffice, ledger=ledger or default_path(),
                           center_code=center_code, no_pattern=no_pattern, reissue=reissue, glyphs=has_glyph)
    result = merge_roster(roster, outdir, options, progress=ProgressLine(quiet))
    report = result.checked.report
    if report.findings:
        click.echo(report.to_text(lang))
    if not result.written:
        click.echo("有错误，未生成任何凭证。请按上面的提示修改名册后重新运行（或加 --skip-invalid 只打印正确的行）。"
                   if lang == "zh" else "Errors found: nothing was written. Fix the roster and run again "
                   "(or use --skip-invalid to merge the valid rows).", err=True)
        sys.exit(EXIT_PROBLEMS)
    for note in result.notes:
        click.echo(note, err=True)
    click.echo(merge_summary(result, outdir, lang))
    if result.pdf_failures:
        for failure in result.pdf_failures:
            click.echo(f"PDF 失败 (failed): {failure.job.pdf.name}（第 {failure.job.docx.stem} 批）：{failure.reason}",
                       err=True)
        sys.exit(EXIT_PROBLEMS)


def merge_summary(result, outdir: Path, lang: str) -> str:
    """Return the closing lines of a merge: counts that reconcile, and where the files are."""
    if lang == "en":
        lines = [f"{result.rows} rows read = {result.merged} vouchers + {result.rejected} rejected.",
                 f"Batches: {len(result.batches)} in {outdir / 'batches'}; register: {result.register}"]
    else:
        lines = [f"共读取 {result.rows} 行 = 生成凭证 {result.merged} 张 + 退回 {result.rejected} 行。",
                 f"批量打印文件 {len(result.batches)} 个：{outdir / 'batches'}；发放登记表：{result.register}"]
    if result.rejected_file:
        lines.append(("退回的行及原因：" if lang == "zh" else "Rejected rows: ") + str(result.rejected_file))
    return "\n".join(lines)


def open_ledger(path: Path | None):
    """Open the ledger at `path` (or the default one) for a command, as a context manager."""
    from fjvoucher.ledger.store import Ledger

    return Ledger(path or default_path())


@cli.command(short_help="真伪查询 · is this voucher genuine?")
@click.argument("voucher_no")
@click.option("--name", default=None, help="The holder's name as printed on the voucher.")
@click.option("--id", "id_number", default=None, help="The holder's ID number.")
@LEDGER
def verify(voucher_no: str, name: str | None, id_number: str | None, ledger: Path | None) -> None:
    """真伪查询 · Answer "is voucher VOUCHER_NO genuine?".

    A wrong name or ID answers exactly like an unknown NO.  Exit 0 only for a genuine voucher
    still valid.

    例 Example:

    \b
      fjvoucher verify 3501-2009-000001 --name 陈建国
    """
    from fjvoucher.ledger.store import verify as check
    from fjvoucher.messages import STATUS_WORDS
    from fjvoucher.roster.cells import chinese_date
    from fjvoucher.roster.idcard import mask_id

    if (name is None) == (id_number is None):
        raise click.UsageError("请给出 --name 或 --id 之一 (give exactly one of --name and --id)")
    with open_ledger(ledger) as book:
        answer = check(book, voucher_no, name=name, id_number=id_number)
    if answer.voucher is None:
        click.echo(f"凭证 {voucher_no}：{STATUS_WORDS['not-found']}（编号与姓名或身份证号不符）(not found)")
        sys.exit(EXIT_PROBLEMS)
    v = answer.voucher
    click.echo(f"凭证 {v.voucher_no}：{STATUS_WORDS[answer.state]} ({answer.state})。"
               f"发证日期 {chinese_date(v.issued_on)}，有效期至 {chinese_date(v.expires_on)}，"
               f"身份证号 {mask_id(v.fields['id_number'])}")
    sys.exit(EXIT_OK if answer.state == "genuine" else EXIT_PROBLEMS)


@cli.command(short_help="写出月报 · the monthly report to the province")
@click.option("--month", required=True, help="The month to report, as 2009-06.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Workbook to write (default: MONTH.xlsx).")
@LEDGER
def report(month: str, output: Path | None, ledger: Path | None) -> None:
    """写出月报 · Write the monthly report to the province for MONTH.

    例 Example:

    \b
      fjvoucher report --month 2009-06 -o 2009-06.xlsx
    """
    import re

    from fjvoucher.ledger.monthly import write_monthly_report

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise click.BadParameter("请写成 2009-06 这样的年-月 (use YYYY-MM)", param_hint="--month")
    with open_ledger(ledger) as book:
        count = write_monthly_report(book, month, output or Path(f"{month}.xlsx"))
    click.echo(f"{month} 共发放凭证 {count} 张，已写出 (written): {output or Path(f'{month}.xlsx')}")


@cli.command(short_help="国家证书已到 · national certificates arrived")
@click.argument("sources", nargs=-1, required=True)
@SHEET
@LEDGER
def supersede(sources: tuple[str, ...], sheet: str | None, ledger: Path | None) -> None:
    """国家证书已到，凭证停用 · National certificates arrived: retire the vouchers of SOURCES.

    SOURCES are rosters (their 证书编号 column) or certificate numbers.

    例 Example:

    \b
      fjvoucher supersede 国家证书名册.xlsx
      fjvoucher supersede 0935011001500001
    """
    from fjvoucher.roster.checks import certificate_numbers

    numbers: list[str] = []
    for source in sources:
        numbers += certificate_numbers(source, sheet) if Path(source).is_file() else [source.strip()]
    with open_ledger(ledger) as book:
        replaced, unknown = book.supersede(numbers)
    click.echo(f"已标记为「已被替换」(replaced): {len(replaced)} 张凭证")
    if unknown:
        click.echo(f"台账中没有有效凭证的证书编号 (no voucher in force): {len(unknown)} 个：{'、'.join(unknown[:20])}"
                   + ("…" if len(unknown) > 20 else ""))


@cli.command(short_help="作废误发的凭证 · revoke a voucher issued by mistake")
@click.argument("voucher_no")
@click.option("--reason", required=True, help="Why the voucher is revoked (recorded in the ledger).")
@LEDGER
def revoke(voucher_no: str, reason: str, ledger: Path | None) -> None:
    """作废误发的凭证 · Revoke voucher VOUCHER_NO, issued by mistake.

    verify then answers 已作废.

    例 Example:

    \b
      fjvoucher revoke 3501-2009-000007 --reason 实为不合格
    """
    with open_ledger(ledger) as book:
        book.set_status(voucher_no, "revoked", reason)
    click.echo(f"凭证 {voucher_no} 已作废 (revoked)：{reason}")


@cli.command(name="list", short_help="列出台账中的凭证 · list the ledger's vouchers")
@click.option("--month", default=None, help="Only vouchers issued in this month (2009-06).")
@click.option("--status", type=click.Choice(["issued", "genuine", "expired", "replaced", "revoked"]), default=None,
              help="Only vouchers in this state.")
@click.option("--expiring-within", type=click.IntRange(min=0), default=None,
              help="Only vouchers in force whose validity ends within N days.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for the clerk, json for programs.")
@click.option("--show-id", is_flag=True, help="Show ID numbers in full (they are masked otherwise).")
@LEDGER
def list_vouchers(month, status, expiring_within, fmt, show_id, ledger) -> None:
    """列出台账中的凭证 · List the ledger's vouchers by month, status or approaching expiry.

    例 Example:

    \b
      fjvoucher list --month 2009-06
      fjvoucher list --expiring-within 30 --format json
    """
    import datetime as dt

    from fjvoucher.messages import STATUS_WORDS
    from fjvoucher.roster.idcard import mask_id

    today = dt.date.today()
    with open_ledger(ledger) as book:
        vouchers = book.select(month=month, status=status, expiring_within=expiring_within, today=today)
    rows = [{"voucher_no": v.voucher_no, "name": v.fields["name"], "certificate_no": v.fields["certificate_no"],
             "id_number": v.fields["id_number"] if show_id else mask_id(v.fields["id_number"]),
             "issued_on": v.issued_on.isoformat(), "expires_on": v.expires_on.isoformat(),
             "state": v.state(today), "reason": v.status_reason} for v in vouchers]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(f"{r['voucher_no']}  {r['name']}  {r['certificate_no']}  {r['id_number']}  "
                   f"{r['issued_on']} → {r['expires_on']}  {STATUS_WORDS[r['state']]}")
    click.echo(f"共 {len(rows)} 张 (vouchers)")


@cli.group(short_help="凭证母版 · voucher masters")
def template() -> None:
    """凭证母版 · Work with voucher masters (docxtpl templates or Word mail-merge masters)."""


@template.command(short_help="检查母版 · list a master's fields and problems")
@click.argument("master", type=click.Path(dir_okay=False, path_type=Path))
def check(master: Path) -> None:
    """检查母版 · List the fields MASTER holds, what each fills, and any problem.

    Exit 1 when the master cannot be used.

    例 Example:

    \b
      fjvoucher template check 母版.docx
    """
    from fjvoucher.layout import FIELD_BY_KEY
    from fjvoucher.word.master import inspect_template

    info = inspect_template(master)
    kind = "Word 邮件合并母版 (MERGEFIELD)" if info.kind == "mergefield" else "docxtpl 母版"
    click.echo(f"{master}：{kind}，{len(info.fields)} 个字段 (fields)")
    for name, key in info.fields:
        target = f"{key}（{FIELD_BY_KEY[key].header}）" if key in FIELD_BY_KEY else (key or "对应不到任何列 (unknown)")
        click.echo(f"  «{name}» → {target}")
    for warning in info.warnings:
        click.echo(f"[警告] {warning}")
    for problem in info.problems:
        click.echo(f"[错误] {problem}")
    sys.exit(EXIT_PROBLEMS if info.problems else EXIT_OK)


@cli.command(short_help="检查本机 PDF 引擎和字体 · check PDF engine and fonts")
@click.option("--soffice", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Path of LibreOffice's soffice to check instead of searching for it.")
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
    sys.exit(EXIT_OK if all(c.ok for c in checks) else EXIT_PROBLEMS)


HELP_WIDTH = 100  # the README's command reference is rendered at this width on every machine


def help_reference() -> str:
    """Return the Markdown command reference: every command's --help, in workflow order."""
    root = click.Context(cli, info_name="fjvoucher", terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH,
                         **cli.context_settings)
    sections = [_help_section(root, cli, "fjvoucher")]
    for name, command in cli.commands.items():
        ctx = click.Context(command, info_name=name, parent=root, terminal_width=HELP_WIDTH,
                            max_content_width=HELP_WIDTH)
        sections.append(_help_section(ctx, command, f"fjvoucher {name}"))
        for sub_name, sub in getattr(command, "commands", {}).items():
            sub_ctx = click.Context(sub, info_name=sub_name, parent=ctx, terminal_width=HELP_WIDTH,
                                    max_content_width=HELP_WIDTH)
            sections.append(_help_section(sub_ctx, sub, f"fjvoucher {name} {sub_name}"))
    return "\n\n".join(sections)


def _help_section(ctx: click.Context, command: click.Command, title: str) -> str:
    return f"#### `{title}`\n\n```text\n{command.get_help(ctx)}\n```"
