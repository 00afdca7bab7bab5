"""The workbench's door: only this launch's browser tab, on this machine, gets in.

A local app that writes files is an attack surface: any web page the clerk opens can make the
browser send requests to 127.0.0.1.  So every request must carry this launch's random token (a
cookie set from the first URL), name the loopback address and our port as its Host (DNS
rebinding), and, when it changes anything, come from our own Origin (CSRF).  No CORS header is
ever sent, bodies are size-limited, and the verification page's security headers go on every answer.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from fjvoucher.web.app import SECURITY_HEADERS

log = logging.getLogger("fjvoucher.desk")
SAFE_METHODS = {"GET", "HEAD"}
# serve's headers, with our own script (progress, heartbeat) and its calls back home allowed: still no
# inline script, nothing from elsewhere, no framing.
DESK_CSP = (b"default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; "
            b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
FILE_CSP = b"default-src 'none'; object-src 'self'; frame-ancestors 'none'"  # the browser's PDF viewer may run
REFUSED = "请从桌面上的 fjvoucher-desk 图标打开工作台 (open the workbench from its icon)"
FILE_MARK = b"x-fjvoucher-file"  # set by the file route: its answer gets FILE_CSP (never sent on)
# same-origin, not serve's no-referrer: under no-referrer Chromium sends "Origin: null" with our own form
# posts, and the Origin check would refuse them.  Other sites still get no referrer.
OURS = {b"content-security-policy": DESK_CSP, b"referrer-policy": b"same-origin"}
HEADERS = [(k, OURS.get(k, v)) for k, v in SECURITY_HEADERS]


class Guard:
    """ASGI middleware: token, Host, Origin and body-size checks, security headers, activity for the watchdog."""

    def __init__(self, app, *, token: str, port: int, max_body: int, seen: Callable[[], None] = lambda: None):
        self.app, self.token, self.port, self.max_body, self.seen = app, token, port, max_body, seen
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.cookie = f"fjvoucher-desk-{port}"  # cookies ignore ports: two desks must not share one

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if host not in self.hosts:
            return await _refuse(send, 421, "Host not allowed")
        if scope["path"] == "/" and self._token_in_query(scope):
            return await self._let_in(send, host)
        if not self._has_token(headers.get("cookie", "")):
            return await _refuse(send, 403, REFUSED)
        if scope["method"] not in SAFE_METHODS and headers.get("origin") != f"http://{host}":
            return await _refuse(send, 403, "Origin not allowed")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await _refuse(send, 413, f"太大 too large (> {self.max_body // 2**20} MB)")
        self.seen()
        return await self._pass(scope, receive, send)

    async def _pass(self, scope, receive, send):
        started, status, received = time.perf_counter(), {"code": 0}, {"bytes": 0}

        async def counted_receive():
            message = await receive()
            received["bytes"] += len(message.get("body", b""))
            if received["bytes"] > self.max_body:  # a chunked body with no length given: the app answers 413
                from starlette.exceptions import HTTPException

                raise HTTPException(413, f"太大 too large (> {self.max_body // 2**20} MB)")
            return message

        async def guarded_send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                given = message.get("headers", [])
                served_file = any(k.lower() == FILE_MARK for k, _ in given)
                extra = [(k, v) for k, v in given if k.lower() not in (b"content-security-policy", FILE_MARK)]
                message["headers"] = [*extra, *(((k, FILE_CSP) if served_file and k == b"content-security-policy"
                                                 else (k, v)) for k, v in HEADERS)]
            await send(message)

        await self.app(scope, counted_receive, guarded_send)
        # Paths only: the query and the forms hold names, ID numbers and NOs.
        log.info("%s %s %d %.1f ms", scope["method"], _loggable(scope["path"]), status["code"],
                 (time.perf_counter() - started) * 1000)

    def _token_in_query(self, scope) -> bool:
        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("t", [""])[0]
        return hmac.compare_digest(given.encode(), self.token.encode())

    def _has_token(self, cookie_header: str) -> bool:
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie and hmac.compare_digest(value.encode(), self.token.encode()):
                return True
        return False

    async def _let_in(self, send, host: str) -> None:
        """Set the token cookie and send the tab on without the token in its address bar or history."""
        cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", b"/"), (b"set-cookie", cookie.encode()), *HEADERS]})
        await send({"type": "http.response.body", "body": b""})


def _loggable(path: str) -> str:
    """Return the path without the NO a voucher's page carries (it leads to a person)."""
    for prefix in ("/voucher/", "/files/"):
        if path.startswith(prefix):
            return prefix + "…"
    return path


async def _refuse(send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})
