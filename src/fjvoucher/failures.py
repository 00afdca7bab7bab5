"""Turn any failure into the one line a clerk reads, and keep the details of a bug for support.

Our own errors already say what happened and what to do.  The operating system's, SQLite's,
an encoding's or an image library's errors are explained here; anything else is a bug: one
line on screen, the traceback in a log file the clerk can send.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import sqlite3
import traceback
from dataclasses import dataclass
from pathlib import Path

from fjvoucher import __version__
from fjvoucher.atomic import make_folder
from fjvoucher.errors import ExitCode, FjvoucherError

OS_HINTS = {
    errno.ENOSPC: "磁盘已满，请腾出空间后重新运行 (disk full)",
    errno.EACCES: "没有权限：文件可能正被 Excel/Word 打开，或文件夹不允许写入 (permission denied)",
    errno.EPERM: "没有权限：文件可能正被 Excel/Word 打开，或文件夹不允许写入 (permission denied)",
    errno.EROFS: "磁盘或文件夹是只读的，请换一个输出位置 (read-only file system)",
    errno.ENOENT: "文件或文件夹不存在，请检查路径 (no such file or folder)",
    errno.EISDIR: "这是一个文件夹，不是文件 (is a folder)",
    errno.ENAMETOOLONG: "文件名太长 (file name too long)",
}
SQLITE_HINTS = {
    "SQLITE_BUSY": "另一个 fjvoucher 正在写这个台账，请等它结束后重试 (the ledger is locked)",
    "SQLITE_LOCKED": "另一个 fjvoucher 正在写这个台账，请等它结束后重试 (the ledger is locked)",
    "SQLITE_FULL": "磁盘已满，请腾出空间后重新运行；台账没有被改动 (disk full)",
    "SQLITE_READONLY": "台账文件是只读的，请检查文件权限 (read-only ledger)",
    "SQLITE_CORRUPT": "台账文件已损坏，请用备份恢复 (the ledger is damaged)",
    "SQLITE_NOTADB": "这不是凭证台账文件 (not a ledger)",
    "SQLITE_CANTOPEN": "无法打开台账文件，请检查路径和权限 (cannot open the ledger)",
    "SQLITE_IOERR": "读写台账时磁盘出错，请检查磁盘后重试 (disk I/O error)",
}


@dataclass(frozen=True)
class Explained:
    """A failure as the clerk reads it: its code (messages.FAILURES), one line, and the exit code."""

    code: str
    message: str
    exit_code: ExitCode

    def to_dict(self) -> dict:
        """Return the failure as `--format json` prints it."""
        return {"error": {"code": self.code, "message": self.message}}


def explain(exc: BaseException) -> Explained | None:
    """Return the clerk's line, code and exit code for a failure we can explain, or None for a bug."""
    if isinstance(exc, FjvoucherError):
        return Explained(exc.code, str(exc), exc.exit_code)
    if isinstance(exc, OSError):
        return Explained("os-error", explain_os_error(exc), ExitCode.PROBLEMS)
    if isinstance(exc, sqlite3.Error):
        return Explained("ledger-sqlite", f"凭证台账出错：{explain_sqlite_error(exc)}", ExitCode.PROBLEMS)
    if isinstance(exc, UnicodeError):
        return Explained("encoding", f"文字编码出错：{exc}。请把文件另存为 UTF-8（或 GBK）编码后重试 (encoding error)",
                         ExitCode.UNUSABLE)
    if type(exc).__name__ == "DecompressionBombError":  # Pillow's, without importing Pillow here
        return Explained("image-bomb", f"图片大得异常（可能是恶意文件），已拒绝：{exc} (image too large)",
                         ExitCode.UNUSABLE)
    return None


def explain_os_error(exc: OSError) -> str:
    """Return one line naming the file and what to do about an operating-system error."""
    where = f"{exc.filename}：" if exc.filename else ""
    hint = OS_HINTS.get(exc.errno or -1, exc.strerror or str(exc))
    return f"无法读写文件 {where}{hint}"


def explain_sqlite_error(exc: sqlite3.Error) -> str:
    """Return what a SQLite error means for the clerk, by its error code, else SQLite's own words."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    for code, hint in SQLITE_HINTS.items():
        if name.startswith(code):
            return hint
    return f"{exc} ({name or type(exc).__name__})"


def write_bug_report(exc: BaseException, argv: list[str], folder: Path) -> Path:
    """Write the traceback of an unexpected error to a new log file in `folder`; return its path."""
    make_folder(folder)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = folder / f"fjvoucher-error-{stamp}.log"
    text = (f"fjvoucher {__version__}\ncommand: {argv}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    # Owner-only: the command line may hold a name or an ID number.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return path

