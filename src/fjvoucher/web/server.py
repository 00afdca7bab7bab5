"""Run the verification app on a real HTTP server (uvicorn), on Windows and Linux alike."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from fjvoucher.errors import FjvoucherError
from fjvoucher.ledger.store import Ledger
from fjvoucher.web.app import Ledgers, create_app


def give_codes(paths: list[Path]) -> list[str]:
    """Give vouchers issued before verification codes existed their code (an event each); return notes."""
    notes = []
    for path in paths:
        try:
            with Ledger(path, create=False) as ledger:
                if count := ledger.ensure_codes():
                    notes.append(f"{path}：为 {count} 张旧凭证生成了查询码 (codes given)")
        except (FjvoucherError, sqlite3.Error) as exc:  # a ledger on read-only media: answer without codes
            notes.append(f"{path}：无法写入，旧凭证暂无查询码（{exc}）")
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


def serve(paths: list[Path], *, host: str = "127.0.0.1", port: int = 8009, root_path: str = "",
          per_minute: int = 30, center: str = "", phone: str = "") -> None:
    """Answer verification queries for the ledgers at `paths` until interrupted; the page names `center` and `phone`."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ledgers = Ledgers(paths)
    try:
        uvicorn.run(create_app(ledgers, per_minute=per_minute, center=center, phone=phone), host=host, port=port,
                    root_path=root_path, access_log=False, log_level="warning", proxy_headers=True, server_header=False)
    finally:
        ledgers.close()
