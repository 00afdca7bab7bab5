"""The verification web app: a Chinese page (English switch) and a JSON API over one or more ledgers.

Anyone may ask "is this voucher genuine?" with the NO and the holder's name, or follow the QR link
printed on it (NO and code).  The answer shows what the paper shows and no more: a wrong name or
code answers exactly as an unknown NO does (same page, same status code), names and IDs never reach
the log, and each client may ask a bounded number of times a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from fjvoucher.errors import FjvoucherError
from fjvoucher.ledger.location import is_database_url, shown
from fjvoucher.ledger.store import Ledger
from fjvoucher.ledger.verify import Verification, verify
from fjvoucher.roster.cells import chinese_date
from fjvoucher.web.limits import RateLimiter

log = logging.getLogger("fjvoucher.serve")
CONNECTIONS = 4  # a database's connections one server keeps: queries at once (2 cores: the database works meanwhile)
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                 b"frame-ancestors 'none'; base-uri 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
WORDS = {
    "zh": {"title": "福建省职业技能鉴定成绩合格凭证 真伪查询", "no": "凭证编号（NO）", "name": "持证人姓名",
           "code": "或 真伪查询码（凭证最下方，如 SQ7A-FFX4-GNB9）", "ask": "查询", "switch": "English", "other": "en",
           "limited": "查询太频繁，请 {seconds} 秒后再试。",
           "missing": "请填写凭证编号，以及持证人姓名或查询码。", "issued_on": "发证日期", "expires_on": "有效期至",
           "occupation": "职业", "level": "等级", "id_number": "身份证号", "status": "状态",
           "replaced_by": "已由新凭证替换：",
           "note": "本页只显示凭证上印有的内容。如有疑问，请联系发证的{center}。",
           "center": "职业技能鉴定指导中心", "phone": "电话 {phone}",
           "unknown_why": "（编号与姓名不符，或编号不存在）",
           "unavailable": "凭证台账暂时无法核验，暂不能答复。请稍后再试，或联系发证的职业技能鉴定指导中心。"},
    "en": {"title": "Fujian skill-appraisal voucher: verification", "no": "Voucher NO", "name": "Holder's name",
           "code": "or the verification code (at the foot of the voucher, e.g. SQ7A-FFX4-GNB9)", "ask": "Verify",
           "switch": "中文", "other": "zh", "limited": "Too many queries: try again in {seconds} s.",
           "missing": "Give the voucher NO and the holder's name or the verification code.", "issued_on": "Issued on",
           "expires_on": "Valid until", "occupation": "Occupation", "level": "Level", "id_number": "ID number",
           "status": "Status", "replaced_by": "Replaced by the new voucher ",
           "note": "This page shows only what the voucher itself prints. Ask the issuing centre if in doubt: {center}.",
           "center": "the appraisal centre that issued it", "phone": "phone {phone}",
           "unknown_why": " (the NO and the name do not match, or the NO does not exist)",
           "unavailable": "The ledger cannot be checked right now, so no answer can be given. Try again later."},
}


class Unavailable(Exception):
    """A ledger the server cannot answer from now (missing, replaced by something else, not proving itself)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason  # a word for /healthz: missing, tampered, unusable


class Served:
    """One ledger a server answers from, opened read-only: it never writes into a file it did not open.

    Each query first looks at the file under the ledger's name: deleted, it answers 503; replaced
    (a restored backup copied over it), it reopens the new file, which must then prove itself too.
    """

    def __init__(self, path: Path | str, clock: Callable[[], dt.datetime] | None = None):
        self.path, self.clock = (path if is_database_url(path) else Path(path)), clock
        self.ledger: Ledger | None = None
        self.identity: tuple[int, int] | None = None
        self.closed = False  # the server stopped: nothing is opened again
        self.lock = threading.Lock()
        self.idle: list[Ledger] = []  # a database's connections not answering a query now
        self.turns = threading.BoundedSemaphore(CONNECTIONS)
        self.current()  # a file that is not a ledger is refused before the server starts

    def current(self) -> Ledger:
        """Return the ledger now under the name (reopened when the file was replaced); raise Unavailable."""
        with self.lock:
            if self.closed:
                raise RuntimeError(f"ledger {shown(self.path)} was closed")  # a bug if asked: answered 500, logged
            if not isinstance(self.path, Path):  # a database: no file to be replaced under its name
                if self.ledger is None:
                    self.ledger = Ledger(self.path, create=False, readonly=True, clock=self.clock)
                return self.ledger
            try:
                info = os.stat(self.path)
            except OSError as exc:
                self._drop()
                raise Unavailable("missing", f"凭证台账 {self.path} 不见了（被删除或移走）") from exc
            identity = (info.st_dev, info.st_ino)
            if self.ledger is None or identity != self.identity:
                self._drop()
                self.ledger = Ledger(self.path, create=False, readonly=True, clock=self.clock)
                self.identity = identity  # taken before opening: a file replaced meanwhile is noticed next time
            return self.ledger

    @contextmanager
    def borrowed(self) -> Iterator[Ledger]:
        """Yield the ledger for one query: the file's (see `current`), or one of a database's connections.

        psycopg runs one statement at a time on a connection, so one shared connection made every query
        wait for the one before it (759 queries/s at most): a database gets up to CONNECTIONS, each used
        by one query at a time.  A connection a query failed on is closed, not used again.
        """
        if isinstance(self.path, Path):
            yield self.current()
            return
        with self.turns:
            with self.lock:
                if self.closed:
                    raise RuntimeError(f"ledger {shown(self.path)} was closed")
                ledger = self.idle.pop() if self.idle else None
            ledger = ledger or Ledger(self.path, create=False, readonly=True, clock=self.clock)
            try:
                yield ledger
            except BaseException:
                ledger.close()
                raise
            with self.lock:
                if self.closed:
                    ledger.close()
                else:
                    self.idle.append(ledger)

    def verify(self, number: str, *, name: str | None, code: str | None) -> Verification:
        """Answer from this ledger once it proves itself for `number`; raise Unavailable when it does not."""
        try:
            with self.borrowed() as ledger:
                return verify(ledger, number, name=name, code=code, count_all=False)
        except Unavailable:
            raise
        except FjvoucherError as exc:
            raise Unavailable("tampered" if exc.code == "ledger-tampered" else "unusable", str(exc)) from exc

    def health(self) -> str:
        """Return '' when the ledger answers and proves itself (head, count, schema), else the reason word."""
        try:
            with self.borrowed() as ledger:
                ledger.require_sound()
        except Unavailable as exc:
            return exc.reason
        except FjvoucherError as exc:
            return "tampered" if exc.code == "ledger-tampered" else "unusable"
        return ""

    def close(self) -> None:
        """Close the ledger for good (the server stops)."""
        with self.lock:
            self.closed = True
            idle, self.idle = self.idle, []
        for ledger in idle:
            ledger.close()
        self._drop()

    def _drop(self) -> None:
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None


class Ledgers:
    """The ledgers one server answers for (a province serving its cities), opened read-only."""

    def __init__(self, paths: list[Path | str], clock: Callable[[], dt.datetime] | None = None):
        self.served = []
        try:
            for path in paths:
                self.served.append(Served(path, clock))
        except BaseException:
            self.close()
            raise

    @property
    def shared(self) -> bool:
        """Return whether a ledger is a database (asked from worker threads, see `create_app`)."""
        return any(not isinstance(s.path, Path) for s in self.served)

    @property
    def ledgers(self) -> list[Ledger]:
        """Return the ledgers as now open."""
        return [s.current() for s in self.served]

    def verify(self, number: str, *, name: str | None = None, code: str | None = None) -> Verification:
        """Ask every ledger (the same work whatever the answer): the one holding the NO answers.

        Each credential given must match: a name, a code as printed or typed, or both.  A ledger that
        cannot answer makes "not found" unsayable: Unavailable then, unless another one holds the NO.
        """
        answers, failure = [], None
        for served in self.served:
            try:
                answers.append(served.verify(number, name=name, code=code))
            except Unavailable as exc:
                log.warning("ledger %d unavailable: %s", self.served.index(served) + 1, exc.reason)
                failure = exc
        found = next((a for a in answers if a.voucher is not None), None)
        if found or failure is None:
            return found or answers[0]
        raise failure

    def health(self) -> list[str]:
        """Return each ledger's problem word ('' for none), in order."""
        return [s.health() for s in self.served]

    def close(self) -> None:
        """Close every ledger."""
        for served in self.served:
            served.close()


def create_app(ledgers: Ledgers, *, per_minute: int = 30, clock: Callable[[], float] = time.monotonic,
               center: str = "", phone: str = "", add_headers: bool = True):
    """Return the Starlette app answering from `ledgers`, each client limited to `per_minute` queries.

    `center` and `phone` (the settings center_name and phone) name whom to ask when in doubt;
    an answer names the centre printed on the voucher itself.  `add_headers=False` leaves the
    security headers to the HTTP server (serve's uvicorn adds them, to its own 400 answers too).
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    folder = Path(str(resources.files("fjvoucher.web")))
    pages = Environment(loader=FileSystemLoader(folder / "templates"), autoescape=select_autoescape(["html"]))
    limiter = RateLimiter(per_minute, clock)

    def lang_of(request: Request) -> str:
        return "en" if request.query_params.get("lang") == "en" else "zh"

    def page(request: Request, answer: Verification | None = None, message: str = "", status: int = 200):
        lang = lang_of(request)
        shown = answer.to_dict(lang) if answer else None
        if shown and answer and answer.voucher is not None and lang == "zh":  # as the voucher prints: 2009年6月10日
            shown.update(issued_on=chinese_date(answer.voucher.issued_on),
                         expires_on=chinese_date(answer.voucher.expires_on))
        html = pages.get_template("page.html").render(
            w=WORDS[lang], lang=lang, answer=shown, root=request.scope.get("root_path", ""),
            message=message, number=request.scope.get("fjv_no", ""), note=note(lang, answer))
        return HTMLResponse(html, status_code=status)

    def note(lang: str, answer: Verification | None) -> str:
        """Return the page's closing note naming the issuing centre and its phone."""
        words = WORDS[lang]
        printed = answer.voucher.fields.get("center", "") if answer and answer.voucher else ""
        who = printed or center or words["center"]
        if phone and (not printed or printed == center):  # the phone is this centre's, not another city's
            call = words["phone"].format(phone=phone)
            who += f"（{call}）" if lang == "zh" else f" ({call})"
        return words["note"].format(center=who)

    def limited(request: Request, json: bool) -> Response | None:
        wait = limiter.check(request.client.host if request.client else "?")
        if not wait:
            return None
        text = WORDS[lang_of(request)]["limited"].format(seconds=wait)
        headers = {"Retry-After": str(wait)}
        if json:
            return JSONResponse({"status": "limited", "message": text}, status_code=429, headers=headers)
        response = page(request, message=text, status=429)
        response.headers["Retry-After"] = str(wait)
        return response

    async def home(request: Request) -> Response:
        if request.method == "GET":
            return page(request)
        if (stop := limited(request, json=False)) is not None:
            return stop
        form = await request.form()
        number, name, code = (str(form.get(key, "")).strip() for key in ("no", "name", "code"))
        if not number or not (name or code):
            return page(request, message=WORDS[lang_of(request)]["missing"])
        request.scope["fjv_no"] = number
        return await answered(request, lambda: page(request, ledgers.verify(number, name=name or None,
                                                                            code=code or None)), json=False)

    async def by_code(request: Request) -> Response:
        if (stop := limited(request, json=False)) is not None:
            return stop
        number = request.path_params["number"]
        request.scope["fjv_no"] = number
        code = request.query_params.get("c", "")
        return await answered(request, lambda: page(request, ledgers.verify(number, code=code)), json=False)

    async def api(request: Request) -> Response:
        params = request.query_params
        number, name, code = params.get("no", ""), params.get("name"), params.get("code")
        if not number or (name is None) == (code is None):
            return JSONResponse({"status": "error", "message": "give no and one of name, code"}, status_code=400)
        if (stop := limited(request, json=True)) is not None:
            return stop
        return await answered(request, lambda: JSONResponse(ledgers.verify(number, name=name, code=code)
                                                      .to_dict(lang_of(request))), json=True)

    async def answered(request: Request, answer: Callable[[], Response], json: bool) -> Response:
        """Return the answer, or 503 saying honestly that no answer can be given (never "not found").

        A database is asked from a worker thread, so queries wait on the network side by side (the event
        loop would otherwise wait for each); a file answers in a fraction of the thread hand-over's cost.
        """
        try:
            return await run_in_threadpool(answer) if ledgers.shared else answer()
        except Unavailable:
            text = WORDS[lang_of(request)]["unavailable"]
            if json:
                return JSONResponse({"status": "unavailable", "message": text}, status_code=503)
            return page(request, message=text, status=503)

    async def healthz(request: Request) -> Response:
        problems = await run_in_threadpool(ledgers.health) if ledgers.shared else ledgers.health()
        if any(problems):
            return JSONResponse({"status": "unavailable", "ledgers": len(problems),
                                 "problems": [{"ledger": i, "reason": p} for i, p in enumerate(problems, 1) if p]},
                                status_code=503)
        return JSONResponse({"status": "ok", "ledgers": len(problems)})

    app = Starlette(routes=[
        Route("/", home, methods=["GET", "POST"]),
        Route("/v/{number:path}", by_code),
        Route("/api/verify", api),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=folder / "static"), name="static"),
    ])
    return Guarded(app, add_headers)


ROUTES = ("/", "/api/verify", "/healthz")  # logged as they are; /v/… and /static/… by their prefix
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


def logged_route(scope) -> str:
    """Return the route of a request as the log shows it: never the NO, a query or bytes from the client.

    The path is the client's (decoded: %0a is a line break), so only fixed words are logged.
    """
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    if path in ROUTES:
        return path
    for prefix in ("/v/", "/static/"):
        if path.startswith(prefix):
            return prefix + "…"
    return "(other)"


class Guarded:
    """ASGI middleware: security headers on every answer, and one log line for every answer (a 500 too)
    with no name, ID, NO or code in it.

    `add_headers=False` when the HTTP server adds them itself (serve does, so that its own 400 answers
    carry them too).
    """

    def __init__(self, app, add_headers: bool = True):
        self.app, self.add_headers = app, add_headers

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 0}

        async def guarded_send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                if self.add_headers:
                    message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except BaseException:
            status["code"] = status["code"] or 500
            raise
        finally:
            method = scope.get("method", "")
            log.info("%s %s %d %.1f ms", method if method in METHODS else "OTHER", logged_route(scope),
                     status["code"], (time.perf_counter() - started) * 1000)
