"""Start the workbench: loopback only, a free port, a random token in the first URL, the browser opened.

It stops when the clerk presses 退出, or when no tab has been heard from for a while (the last
tab was closed); never while a merge is running.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path

from fjvoucher.atomic import make_folder
from fjvoucher.desk.app import MAX_UPLOAD, DeskState, create_app
from fjvoucher.desk.guard import Guard

HOST = "127.0.0.1"
QUIET_S = 90  # no heartbeat this long: the last tab is closed (hidden tabs may beat only once a minute)


class Watchdog:
    """Remember when a tab was last heard from; say when the workbench has been left alone too long."""

    def __init__(self, quiet_s: float = QUIET_S, clock: Callable[[], float] = time.monotonic):
        self.quiet_s, self.clock, self.last = quiet_s, clock, clock()

    def seen(self) -> None:
        """Note a request from a tab."""
        self.last = self.clock()

    def alone(self) -> bool:
        """Return True when no tab has been heard from for `quiet_s` seconds."""
        return self.clock() - self.last > self.quiet_s


def open_folder(folder: Path) -> None:
    """Show `folder` in the system's file manager (Explorer, Finder, the desktop's)."""
    if sys.platform == "win32":
        os.startfile(folder)  # type: ignore[attr-defined]  # Windows only
    else:
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        subprocess.Popen([opener, str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def launch(*, browser: bool = True, announce: Callable[[str], None] = lambda url: None,
           quiet_s: float = QUIET_S, opener: Callable[[Path], None] = open_folder) -> None:
    """Serve the workbench on 127.0.0.1 at a free port until 退出 or the last tab closes."""
    import uvicorn

    handler = _log_to_file()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))  # loopback only: no other computer can reach it
    sock.listen(128)  # from now on the browser can connect: it waits while uvicorn starts
    port, token = sock.getsockname()[1], secrets.token_urlsafe(32)
    uploads = Path(tempfile.mkdtemp(prefix="fjvoucher-desk-"))  # owner-only (0700) by mkdtemp
    watchdog = Watchdog(quiet_s)
    state = DeskState(uploads, opener)
    app = Guard(create_app(state), token=token, port=port, max_body=MAX_UPLOAD + 2**20, seen=watchdog.seen)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, server_header=False,
                                           lifespan="off", timeout_graceful_shutdown=5))
    state.stop = lambda: setattr(server, "should_exit", True)
    threading.Thread(target=_watch, args=(server, watchdog, state), daemon=True, name="fjvoucher-desk-watch").start()
    url = f"http://{HOST}:{port}/?t={token}"
    announce(url)
    if browser:
        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        shutil.rmtree(uploads, ignore_errors=True)
        _stop_logging(handler)


def _watch(server, watchdog: Watchdog, state: DeskState) -> None:
    while not server.should_exit:
        time.sleep(1)
        if watchdog.alone() and not state.runner.busy:
            server.should_exit = True


def _log_to_file() -> logging.Handler:
    """Log requests (paths only) to the per-user log folder: a GUI program has no console."""
    import platformdirs

    folder = Path(platformdirs.user_log_dir("fjvoucher", appauthor=False))
    make_folder(folder)
    path = folder / "desk.log"
    # owner-only: a bug's traceback may hold a name
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    for name in ("fjvoucher.desk", "uvicorn.error"):  # uvicorn's: a bug's traceback, never on a console
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return handler


def _stop_logging(handler: logging.Handler) -> None:
    for name in ("fjvoucher.desk", "uvicorn.error"):
        logging.getLogger(name).removeHandler(handler)
    handler.close()


def main() -> None:
    """Entry point of the `fjvoucher-desk` program (no console window on Windows)."""
    launch()
