"""The clerk's workbench: settings, a roster's check, a merge with progress, the ledger, the report, 真伪查询.

Pages are plain HTML forms (they work with the keyboard and without script); a little script of
our own moves the progress bar and tells the server the tab is still open.  Every action calls
`fjvoucher.desk.work`, the same library calls as the CLI; files are read from the clerk's upload
and the configured folders only, and served from the output folder only.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fjvoucher.atomic import make_folder
from fjvoucher.desk import work
from fjvoucher.desk.jobs import MergeJob, MergeRunner, bug_line
from fjvoucher.desk.words import WORDS
from fjvoucher.errors import FjvoucherError
from fjvoucher.failures import explain
from fjvoucher.layout import CENTERS
from fjvoucher.merging import ReissueResult
from fjvoucher.messages import SEVERITY_WORDS, status_text
from fjvoucher.roster.report import Report
from fjvoucher.web.app import WORDS as VERIFY_WORDS

MAX_UPLOAD = 64 * 2**20  # bytes: a 150,000-row roster is about 15 MB as .xlsx, 30 MB as .csv
ROSTER_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"}
SERVED_SUFFIXES = {".pdf": "application/pdf", ".docx": None, ".xlsx": None}
SETTINGS = ("center_name", "center_code", "phone", "photos", "verify_url", "output")  # the desk's settings screen
LISTED_FILES = 50  # per-candidate files named on the result page; the rest are in the folder
LISTED_FINDINGS = 2000  # a page a browser shows at once; filter by kind, or download the rejected rows, for the rest


@dataclass
class Upload:
    """A roster the clerk chose: its name as they know it, where we keep it, and its check."""

    name: str
    path: Path
    report: Report


@dataclass
class DeskState:
    """What one launch of the workbench holds: its private upload folder, uploads, the merge, hooks."""

    uploads_dir: Path
    open_folder: Callable[[Path], None]
    stop: Callable[[], None] = lambda: None
    uploads: dict[str, Upload] = field(default_factory=dict)
    runner: MergeRunner = field(default_factory=MergeRunner)
    reissued: dict[str, ReissueResult] = field(default_factory=dict)  # new NO → what reissue wrote, for its page


def create_app(state: DeskState):
    """Return the workbench's Starlette app (wrap it in `Guard` before serving it)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    folder = Path(str(resources.files("fjvoucher.desk")))
    pages = Environment(loader=FileSystemLoader(folder / "templates"), autoescape=select_autoescape(["html"]))
    screens = Screens(state, pages)
    routes = [
        Route("/", screens.home), Route("/lang/{lang}", screens.language),
        Route("/settings", screens.settings, methods=["GET", "POST"]),
        Route("/roster", screens.roster, methods=["GET", "POST"]), Route("/roster/{id}", screens.findings),
        Route("/roster/{id}/rejected.xlsx", screens.rejected), Route("/blank.xlsx", screens.blank),
        Route("/merge", screens.merge, methods=["GET", "POST"]), Route("/merge/status", screens.merge_status),
        Route("/open-folder", screens.open_output, methods=["POST"]), Route("/files/{path:path}", screens.file),
        Route("/ledger", screens.ledger, methods=["GET", "POST"]), Route("/voucher/{no}", screens.voucher),
        Route("/voucher/{no}/{action}", screens.change, methods=["POST"]),
        Route("/report", screens.report, methods=["GET", "POST"]),
        Route("/verify", screens.verify, methods=["GET", "POST"]),
        Route("/heartbeat", screens.heartbeat, methods=["POST"]), Route("/quit", screens.quit, methods=["POST"]),
        Mount("/static", StaticFiles(directory=folder / "static"), name="static"),
    ]
    explained = {kind: screens.failed for kind in (FjvoucherError, OSError, sqlite3.Error, UnicodeError)}
    return Starlette(routes=routes, exception_handlers={**explained, Exception: screens.failed})


class Screens:
    """The handlers, one per screen or action; each renders a page or redirects after a change."""

    def __init__(self, state: DeskState, pages):
        self.state, self.pages = state, pages

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def lang(request) -> str:
        return "en" if request.cookies.get("fjvoucher-desk-lang") == "en" else "zh"

    def page(self, request, template: str, status: int = 200, **context):
        from starlette.responses import HTMLResponse

        lang = self.lang(request)
        html = self.pages.get_template(template).render(w=WORDS[lang], lang=lang, path=request.url.path,
                                                         busy=self.state.runner.busy, sev=SEVERITY_WORDS[lang],
                                                         **context)
        return HTMLResponse(html, status_code=status)

    @staticmethod
    def redirect(url: str):
        from starlette.responses import RedirectResponse

        return RedirectResponse(url, status_code=303)

    async def failed(self, request, exc: Exception):
        """Show any failure as one line on a page, as the CLI prints it; a bug's details go to a log file."""
        explained = explain(exc)
        line = explained.message if explained else bug_line(exc, ["fjvoucher-desk", request.url.path])
        return self.page(request, "message.html", status=400 if explained else 500,
                         title=WORDS[self.lang(request)]["error"], message=line,
                         code=explained.code if explained else "bug")

    # --- settings --------------------------------------------------------------------------------

    async def home(self, request):
        from fjvoucher.config import setting

        return self.redirect("/roster" if setting("center_name") else "/settings")

    async def language(self, request):
        lang = request.path_params["lang"] if request.path_params["lang"] in WORDS else "zh"
        back = request.query_params.get("next", "/")
        response = self.redirect(back if back.startswith("/") and not back.startswith("//") else "/")
        response.set_cookie("fjvoucher-desk-lang", lang, samesite="strict", httponly=True)
        return response

    async def settings(self, request):
        from fjvoucher.config import read_config, set_value

        problems: list[str] = []
        warnings: list[str] = []
        saved = "saved" in request.query_params
        if request.method == "POST":
            form = await request.form()
            values = {key: str(form.get(key, "")).strip() for key in SETTINGS}
            problems, warnings = settings_problems(values, self.lang(request))
            if not problems:
                for key, value in values.items():
                    if value or key in read_config():
                        set_value(key, value)
                make_folder(work.output_root())  # owner-only: vouchers' file names hold names
                if not warnings:
                    return self.redirect("/settings?saved=1")
                saved = True
        values = {**read_config(), "output": str(work.output_root())}
        return self.page(request, "settings.html", status=400 if problems else 200, values=values,
                         notes=problems + warnings, ledger=work.ledger_state(), saved=saved,
                         first=not read_config().get("center_name"), centers=CENTERS)

    # --- the roster --------------------------------------------------------------------------------

    async def roster(self, request):
        from starlette.concurrency import run_in_threadpool

        if request.method == "GET":
            return self.page(request, "roster.html", upload=None)
        async with request.form(max_part_size=MAX_UPLOAD) as form:  # closes the spooled upload
            chosen = form.get("roster")
            name = Path(getattr(chosen, "filename", "") or "").name
            if not name:
                w = WORDS[self.lang(request)]
                return self.page(request, "roster.html", status=400, upload=None,
                                 message=w["missing_field"].format(what=w["roster_file"]))
            upload_id = secrets.token_urlsafe(8)
            path = self.state.uploads_dir / upload_id / _upload_name(name)
            path.parent.mkdir(mode=0o700)
            path.write_bytes(await chosen.read())
            path.chmod(0o600)
        report = await run_in_threadpool(work.check, path)
        self.state.uploads[upload_id] = Upload(name, path, report)
        return self.redirect(f"/roster/{upload_id}")

    def upload(self, request) -> Upload:
        from starlette.exceptions import HTTPException

        upload = self.state.uploads.get(request.path_params["id"])
        if upload is None:
            raise HTTPException(404)
        return upload

    async def findings(self, request):
        upload = self.upload(request)
        report = upload.report
        severity, code = request.query_params.get("severity", ""), request.query_params.get("code", "")
        lang = self.lang(request)
        shown = [f for f in sorted(report.findings, key=_finding_order)
                 if (not severity or f.severity == severity) and (not code or f.code == code)]
        codes = sorted({f.code for f in report.findings})
        return self.page(request, "roster.html", upload=upload, id=request.path_params["id"], report=report,
                         findings=[(f, f.message(lang)) for f in shown[:LISTED_FINDINGS]],
                         hidden=max(0, len(shown) - LISTED_FINDINGS), codes=codes, severity=severity, code=code,
                         labels=report.row_labels, photos=str(work.photo_folder() or ""),
                         folder=_upload_stem(upload.name))

    async def rejected(self, request):
        from starlette.concurrency import run_in_threadpool

        upload = self.upload(request)
        path = upload.path.parent / "rejected.xlsx"
        await run_in_threadpool(work.rejected_rows, upload.report, upload.path, path)
        return _download(path, f"{_upload_stem(upload.name)}-rejected.xlsx")

    async def blank(self, request):
        path = self.state.uploads_dir / "名册模板.xlsx"
        work.blank_roster(path)
        return _download(path, "名册模板.xlsx")

    # --- the merge ---------------------------------------------------------------------------------

    async def merge(self, request):
        if request.method == "GET":
            job = self.state.runner.job
            return self.page(request, "merge.html", job=job, result=job and job.result,
                             files=job and _result_files(job), progress=job and job.to_dict())
        form = await request.form()
        w = WORDS[self.lang(request)]
        upload = self.state.uploads.get(str(form.get("upload", "")))
        if upload is None:
            return self.redirect("/roster")
        photos = str(form.get("photos", "")).strip()
        folder_name = str(form.get("folder", "")).strip()
        problem = (w["no_folder"].format(path=photos) if photos and not Path(photos).expanduser().is_dir() else
                   w["bad_folder_name"].format(name=folder_name) if not _plain_name(folder_name) else "")
        if problem:
            return self.page(request, "message.html", status=400, title=w["error"], message=problem)
        options = work.merge_options(photos=Path(photos).expanduser() if photos else None,
                                     sort_by=tuple(s.strip() for s in str(form.get("sort_by", "")).split(",")
                                                   if s.strip()),
                                     fmt=str(form.get("format", "both")) or None,
                                     skip_invalid=form.get("skip_invalid") == "on")
        outdir = work.output_root() / folder_name
        job = MergeJob(upload.name, outdir)
        if not self.state.runner.start(job, lambda progress: work.merge(upload.path, outdir, options, progress)):
            return self.page(request, "message.html", status=409, title=w["error"], message=w["busy"])
        return self.redirect("/merge")

    async def merge_status(self, request):
        from starlette.responses import JSONResponse

        job = self.state.runner.job
        return JSONResponse(job.to_dict() if job else {"running": False, "stages": {}, "elapsed": 0})

    async def open_output(self, request):
        form = await request.form()
        target = inside_output(str(form.get("path", "")))
        if target is None or not target.is_dir():
            from starlette.exceptions import HTTPException

            raise HTTPException(404)
        self.state.open_folder(target)
        return self.page(request, "message.html", title=WORDS[self.lang(request)]["open_folder"],
                         message=WORDS[self.lang(request)]["opened"] + str(target))

    async def file(self, request):
        from starlette.exceptions import HTTPException
        from starlette.responses import FileResponse

        target = inside_output(request.path_params["path"])
        if target is None or not target.is_file() or target.suffix.lower() not in SERVED_SUFFIXES:
            raise HTTPException(404)
        inline = SERVED_SUFFIXES[target.suffix.lower()]
        return FileResponse(target, media_type=inline, filename=target.name,
                            content_disposition_type="inline" if inline else "attachment",
                            headers={"x-fjvoucher-file": "1"})

    # --- the ledger ----------------------------------------------------------------------------------

    async def ledger(self, request):
        from starlette.concurrency import run_in_threadpool

        if request.method == "POST":  # national certificates arrived: numbers typed, or the province's roster
            numbers = await self.certificates(request)
            done, unknown = await run_in_threadpool(_supersede, numbers)
            message = WORDS[self.lang(request)]["done_supersede"].format(
                n=len(done), status=status_text("superseded", self.lang(request)))
            return self.page(request, "ledger.html", query="", found=None, message=message, unknown=unknown)
        query = request.query_params.get("q", "")
        found = None
        if query:
            def search():
                with work.open_ledger(readonly=True) as book:
                    return work.find(book, query)
            found = [(v, v.state(_today())) for v in await run_in_threadpool(search)]
        return self.page(request, "ledger.html", query=query, found=found,
                         status_words=_status_words(self.lang(request)))

    async def certificates(self, request) -> list[str]:
        """Return the certificate numbers typed in, and those of a roster chosen (as `fjvoucher supersede`)."""
        from starlette.concurrency import run_in_threadpool

        from fjvoucher.roster.checks import certificate_numbers

        async with request.form(max_part_size=MAX_UPLOAD) as form:
            numbers = str(form.get("certificates", "")).split()
            chosen = form.get("roster")
            name = Path(getattr(chosen, "filename", "") or "").name
            if name and hasattr(chosen, "read"):
                path = self.state.uploads_dir / secrets.token_urlsafe(8) / _upload_name(name)
                path.parent.mkdir(mode=0o700)
                path.write_bytes(await chosen.read())
                numbers += await run_in_threadpool(certificate_numbers, path)
        return numbers

    async def voucher(self, request):
        from starlette.concurrency import run_in_threadpool

        number = request.path_params["no"]

        def read():
            with work.open_ledger(readonly=True) as book:
                book.require_sound(number)  # a tampered ledger is said, never shown as if true
                return book.get(number), book.history(number)
        voucher, events = await run_in_threadpool(read)
        return self.voucher_page(request, voucher, events, number)

    def voucher_page(self, request, voucher, events, number: str, status: int = 200, **context):
        from fjvoucher.messages import EVENT_WORDS
        from fjvoucher.roster.idcard import mask_id

        reissued = voucher and self.state.reissued.get(voucher.voucher_no)
        if voucher is None:
            return self.page(request, "message.html", status=404, title=WORDS[self.lang(request)]["error"],
                             message=WORDS[self.lang(request)]["no_voucher"].format(no=number))
        return self.page(request, "voucher.html", status=status, v=voucher, state=voucher.state(_today()),
                         masked=mask_id(voucher.fields["id_number"]), events=events, event_words=EVENT_WORDS,
                         status_words=_status_words(self.lang(request)), reissued=reissued, status_code=status,
                         new_files=sorted(reissued.files, key=lambda f: (not f.endswith(".pdf"), f)) if reissued
                         else [], **context)

    async def change(self, request):
        """Revoke, restore, reissue or supersede: a reason first, then (as the CLI asks) a confirmation."""
        from starlette.concurrency import run_in_threadpool

        number, action = request.path_params["no"], request.path_params["action"]
        if action not in ("revoke", "restore", "reissue", "supersede"):
            from starlette.exceptions import HTTPException

            raise HTTPException(404)
        form = await request.form()
        reason = str(form.get("reason", "")).strip()
        w = WORDS[self.lang(request)]
        if action != "supersede" and not reason:
            return await self.voucher_again(request, number, 400, message=w["missing_field"].format(
                what=w["reason_label"]))
        if action in ("revoke", "reissue", "supersede") and form.get("confirmed") != "yes":
            return await self.voucher_again(request, number, confirm=action, reason=reason)
        message, shown = await run_in_threadpool(self.apply, action, number, reason, self.lang(request))
        return await self.voucher_again(request, shown, message=message)

    def apply(self, action: str, number: str, reason: str, lang: str) -> tuple[str, str]:
        """Make the change in the ledger; return the message and the voucher to show (a reissue's new one)."""
        w = WORDS[lang]
        if action == "reissue":
            result = work.reissue(number, reason, work.output_root() / "补发")
            self.state.reissued[result.new_no] = result
            return w["done_reissue"].format(old=result.old_no, new=result.new_no), result.new_no
        with work.open_ledger() as book:
            if action == "revoke":
                book.revoke(number, reason)
            elif action == "restore":
                book.restore(number, reason)
            else:
                voucher = book.get(number)
                done, _ = book.supersede([voucher.fields["certificate_no"]] if voucher else [])
                return w["done_supersede"].format(n=len(done), status=status_text("superseded", lang)), number
        return w[f"done_{action}"].format(no=number, reason=reason, status=status_text("revoked", lang)), number

    async def voucher_again(self, request, number: str, status: int = 200, **context):
        from starlette.concurrency import run_in_threadpool

        def read():
            with work.open_ledger(readonly=True) as book:
                return book.get(number), book.history(number)
        voucher, events = await run_in_threadpool(read)
        return self.voucher_page(request, voucher, events, number, status, **context)

    # --- report and verification ---------------------------------------------------------------------

    async def report(self, request):
        from starlette.concurrency import run_in_threadpool

        if request.method == "GET":
            return self.page(request, "report.html", month="", counts=None)
        form = await request.form()
        month = str(form.get("month", "")).strip()
        path, counts = await run_in_threadpool(work.monthly_report, month, work.output_root() / "月报")
        return self.page(request, "report.html", month=month, counts=counts,
                         link=path.relative_to(work.output_root()).as_posix())

    async def verify(self, request):
        from starlette.concurrency import run_in_threadpool

        from fjvoucher.config import setting

        lang = self.lang(request)
        context: dict[str, Any] = {"vw": VERIFY_WORDS[lang], "answer": None, "number": "", "by": "name",
                                      "phone": setting("phone") or ""}
        if request.method == "POST":
            form = await request.form()
            number, by, value = (str(form.get(k, "")).strip() for k in ("no", "by", "value"))
            by = by if by in ("name", "id_number", "code") else "name"
            if not number or not value:
                return self.page(request, "verify.html", message=VERIFY_WORDS[lang]["missing"], **context)
            answer = await run_in_threadpool(lambda: work.ask(number, **{by: value}))
            context.update(answer=answer.to_dict(lang), number=number, by=by)
        return self.page(request, "verify.html", **context)

    # --- the tab and the program ---------------------------------------------------------------------

    async def heartbeat(self, request):
        from starlette.responses import Response

        return Response(status_code=204)  # the Guard noted the visit: the watchdog sees the tab is open

    async def quit(self, request):
        self.state.stop()
        return self.page(request, "message.html", title=WORDS[self.lang(request)]["quit"],
                         message=WORDS[self.lang(request)]["quit_done"], stopped=True)


def settings_problems(values: dict[str, str], lang: str) -> tuple[list[str], list[str]]:
    """Return what stops the settings from being saved, and the warnings about the centre's name (as validate's)."""
    from fjvoucher.config import value_problem
    from fjvoucher.roster.checks import center_findings

    w = WORDS[lang]
    problems = [] if values["center_name"] else [w["missing_field"].format(what=w["center_name"])]
    if values["photos"] and not Path(values["photos"]).expanduser().is_dir():
        problems.append(w["no_folder"].format(path=values["photos"]))
    for key, value in values.items():  # each setting's type and range, as config set checks it
        if value and (expected := value_problem(key, value)):
            problems.append(f"{w.get(key, key)}：{expected}")
    warnings = [f.message(lang) for f in center_findings(values["center_name"])] if values["center_name"] else []
    return problems, warnings


def inside_output(relative: str) -> Path | None:
    """Return the output folder's file or folder at `relative`, or None when it would lead outside it."""
    root = work.output_root().resolve()
    if not relative or relative.startswith(("/", "\\")) or ":" in relative:
        return None
    target = (root / relative).resolve()  # links are followed: one pointing outside is refused below
    return target if target == root or root in target.parents else None


def _supersede(numbers: list[str]):
    with work.open_ledger() as book:
        return book.supersede(numbers)


def _result_files(job: MergeJob) -> dict:
    """Return the result page's links: batches, register, rejected rows, the first per-candidate files."""
    result, root = job.result, work.output_root().resolve()
    if result is None or not result.written:
        return {}

    def rel(path: Path | None) -> str | None:
        return path.resolve().relative_to(root).as_posix() if path and path.exists() else None

    singles = sorted((job.outdir / "vouchers").glob("*.pdf")) or sorted((job.outdir / "vouchers").glob("*.docx"))
    return {"batches": [r for p in result.batches for r in [rel(p) or rel(p.with_suffix(".docx"))] if r],
            "register": rel(result.register), "rejected": rel(result.rejected_file),
            "singles": [rel(p) for p in singles[:LISTED_FILES]], "more": max(0, len(singles) - LISTED_FILES),
            "folder": rel(job.outdir)}


def _finding_order(finding) -> tuple:
    return (finding.severity != "error", finding.row is not None, finding.row or 0)


def _status_words(lang: str) -> dict[str, str]:
    from fjvoucher.messages import STATUS_TEXT, status_text

    return {status: status_text(status, lang) for status in STATUS_TEXT}


def _today():
    import datetime as dt

    return dt.date.today()


def _plain_name(name: str) -> bool:
    """Return True for a folder name that stays inside its parent on every system."""
    from fjvoucher.outfolder import safe_name

    return bool(name) and name not in (".", "..") and safe_name(name) == name


def _upload_name(name: str) -> str:
    """Return the name to keep an upload under: its own, made safe, with its suffix kept for the reader."""
    from fjvoucher.outfolder import safe_name

    suffix = Path(name).suffix.lower()
    return (safe_name(Path(name).stem) or "roster") + (suffix if suffix in ROSTER_SUFFIXES else suffix[:8])


def _upload_stem(name: str) -> str:
    from fjvoucher.outfolder import safe_name

    return safe_name(Path(name).stem) or "roster"


def _download(path: Path, name: str):
    from starlette.responses import FileResponse

    return FileResponse(path, filename=name, content_disposition_type="attachment")
