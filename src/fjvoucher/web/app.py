"""The verification web app: a Chinese page (English switch) and a JSON API over one or more ledgers.

Anyone may ask "is this voucher genuine?" with the NO and the holder's name, or follow the QR link
printed on it (NO and code).  The answer shows what the paper shows and no more: a wrong name or
code answers exactly as an unknown NO does (same page, same status code), names and IDs never reach
the log, and each client may ask a bounded number of times a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from fjvoucher.ledger.store import Ledger
from fjvoucher.ledger.verify import Verification, verify
from fjvoucher.roster.cells import chinese_date
from fjvoucher.web.limits import RateLimiter

log = logging.getLogger("fjvoucher.serve")
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
           "unknown_why": "（编号与姓名不符，或编号不存在）"},
    "en": {"title": "Fujian skill-appraisal voucher: verification", "no": "Voucher NO", "name": "Holder's name",
           "code": "or the verification code (at the foot of the voucher, e.g. SQ7A-FFX4-GNB9)", "ask": "Verify",
           "switch": "中文", "other": "zh", "limited": "Too many queries: try again in {seconds} s.",
           "missing": "Give the voucher NO and the holder's name or the verification code.", "issued_on": "Issued on",
           "expires_on": "Valid until", "occupation": "Occupation", "level": "Level", "id_number": "ID number",
           "status": "Status", "replaced_by": "Replaced by the new voucher ",
           "note": "This page shows only what the voucher itself prints. Ask the issuing centre if in doubt: {center}.",
           "center": "the appraisal centre that issued it", "phone": "phone {phone}",
           "unknown_why": " (the NO and the name do not match, or the NO does not exist)"},
}


class Ledgers:
    """The ledgers one server answers for (a province serving its cities), opened read-only."""

    def __init__(self, paths: list[Path | str], clock: Callable[[], dt.datetime] | None = None):
        self.ledgers = [Ledger(p, create=False, readonly=True, clock=clock) for p in paths]

    def verify(self, number: str, *, name: str | None = None, code: str | None = None) -> Verification:
        """Ask every ledger (the same work whatever the answer): the one holding the NO answers.

        Each credential given must match: a name, a code as printed or typed, or both.
        """
        answers = [verify(ledger, number, name=name, code=code) for ledger in self.ledgers]
        return next((a for a in answers if a.voucher is not None), answers[0])

    def close(self) -> None:
        """Close every ledger."""
        for ledger in self.ledgers:
            ledger.close()


def create_app(ledgers: Ledgers, *, per_minute: int = 30, clock: Callable[[], float] = time.monotonic,
               center: str = "", phone: str = "", add_headers: bool = True):
    """Return the Starlette app answering from `ledgers`, each client limited to `per_minute` queries.

    `center` and `phone` (the settings center_name and phone) name whom to ask when in doubt;
    an answer names the centre printed on the voucher itself.  `add_headers=False` leaves the
    security headers to the HTTP server (serve's uvicorn adds them, to its own 400 answers too).
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
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
        return page(request, ledgers.verify(number, name=name or None, code=code or None))

    async def by_code(request: Request) -> Response:
        if (stop := limited(request, json=False)) is not None:
            return stop
        number = request.path_params["number"]
        request.scope["fjv_no"] = number
        return page(request, ledgers.verify(number, code=request.query_params.get("c", "")))

    async def api(request: Request) -> Response:
        params = request.query_params
        number, name, code = params.get("no", ""), params.get("name"), params.get("code")
        if not number or (name is None) == (code is None):
            return JSONResponse({"status": "error", "message": "give no and one of name, code"}, status_code=400)
        if (stop := limited(request, json=True)) is not None:
            return stop
        return JSONResponse(ledgers.verify(number, name=name, code=code).to_dict(lang_of(request)))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "ledgers": len(ledgers.ledgers)})

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
