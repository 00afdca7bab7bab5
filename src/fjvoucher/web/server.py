"""Run the verification app on a real HTTP server (uvicorn), on Windows and Linux alike."""

from __future__ import annotations

import errno
import logging
import re
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

from fjvoucher.errors import FjvoucherError, InputError, NotALedger
from fjvoucher.ledger.location import shown
from fjvoucher.ledger.store import Ledger
from fjvoucher.web.app import SECURITY_HEADERS, Ledgers, create_app


def give_codes(paths: list) -> list[str]:
    """Give vouchers issued before verification codes existed their code (an event each); return notes."""
    notes = []
    for path in paths:
        try:
            with Ledger(path, create=False) as ledger:
                if count := ledger.ensure_codes():
                    notes.append(f"{shown(path)}：为 {count} 张旧凭证生成了查询码 (codes given)")
        except (NotALedger, InputError):
            raise  # not a ledger, or none there: said before the server starts
        except (FjvoucherError, sqlite3.Error) as exc:  # a ledger on read-only media: answer without codes
            notes.append(f"{shown(path)}：无法写入，旧凭证暂无查询码（{exc}）")
    return notes


def where_served(host: str, port: int, root_path: str = "") -> list[str]:
    """Return the lines saying where the site answers, and, under --root-path, that only a proxy serves it whole.

    With a root path the app still listens at /, but every link it writes carries the prefix: opened
    directly its style sheet and form lead nowhere, and http://host:port/prefix/ is not found.
    """
    address = f"http://{host}:{port}/"
    if not root_path:
        return [f"真伪查询 serving {address}"]
    prefix = "/" + root_path.strip("/")
    return [f"真伪查询 serving {address}（供反向代理转发 for a reverse proxy）",
            f"--root-path {prefix}：网页中的链接都带 {prefix} 前缀，只有经反向代理访问才完整，例如 "
            f"https://本中心网站{prefix}/ 转发到 {address}（代理去掉 {prefix} 前缀）；直接打开 {address} 时样式和查询"
            f"按钮都不可用，{address.rstrip('/')}{prefix}/ 则找不到 (works behind the proxy only)"]


def open_ledgers(paths: list[Path | str]) -> tuple[Ledgers, list[str]]:
    """Open the ledgers to serve (a file that is not a ledger raises here, before serving); return warnings."""
    ledgers = Ledgers(paths)
    warnings = [f"{shown(path)}：台账与其签名的记录不符或无法使用（{problem}），查询将答复 503。请运行 fjvoucher audit "
                f"(the ledger does not prove itself)" for path, problem in zip(paths, ledgers.health(), strict=True)
                if problem]
    return ledgers, warnings


def root_path_of(text: str) -> str:
    """Return `--root-path` as a path prefix: "/verify" from "verify" or "/verify/"; raise InputError for
    characters a path prefix cannot hold (the page writes it into its links)."""
    prefix = "/" + text.strip().strip("/") if text.strip().strip("/") else ""
    if not _ROOT_PATH.match(prefix):
        raise InputError(f"--root-path「{text}」不是路径前缀，应写成 /verify 这样的形式（字母、数字、- _ . /）"
                         "(--root-path must look like /verify)", code="usage")
    return prefix


_ROOT_PATH = re.compile(r"^(?:/[A-Za-z0-9._~-]+)*$")


def listening_socket(host: str, port: int) -> socket.socket:
    """Return a socket bound to `host`:`port`, or raise InputError saying why not (port taken, no such address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family = infos[0][0]
        return socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as exc:
        taken = exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1))
        why = f"端口 {port} 已被其他程序占用，请换一个 --port" if taken else f"无法在 {host}:{port} 上监听（{exc}）"
        raise InputError(f"{why} (cannot listen on {host}:{port})", code="input-unusable") from exc


def serve(ledgers: Ledgers, *, host: str = "127.0.0.1", port: int = 8009, root_path: str = "",
          per_minute: int = 30, forwarded_allow_ips: tuple[str, ...] = (), center: str = "", phone: str = "",
          ready: Callable[[], None] | None = None) -> None:
    """Answer verification queries from `ledgers` until interrupted (the page names `center` and `phone`);
    call `ready` once listening.

    Everything that can fail (the root path, the port) fails before `ready`.  Forwarding headers
    (X-Forwarded-For) are believed only from the proxies in `forwarded_allow_ips`: from anyone else
    they would let each query claim a new client and pass the rate limit.  The security headers are
    uvicorn's default headers, so its own 400 answers carry them too.
    """
    import uvicorn

    root_path = root_path_of(root_path)
    sock = listening_socket(host, port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = uvicorn.Config(
        create_app(ledgers, per_minute=per_minute, center=center, phone=phone, add_headers=False),
        root_path=root_path, access_log=False,
        log_level="warning", server_header=False, proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=list(forwarded_allow_ips) or [],
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in SECURITY_HEADERS])
    try:
        if ready:
            ready()
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        ledgers.close()
