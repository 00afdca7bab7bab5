"""One merge at a time, in a background thread, its progress read by the page while it runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fjvoucher.failures import explain
from fjvoucher.merging import MergeResult


@dataclass
class MergeJob:
    """A merge running or finished: counts per stage, the result or the one line saying why it failed."""

    roster_name: str
    outdir: Path
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    stages: dict[str, list[int]] = field(default_factory=lambda: {"docx": [0, 0], "pdf": [0, 0]})
    result: MergeResult | None = None
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def progress(self, stage: str, done: int, total: int) -> None:
        """Record that `done` of `total` vouchers (docx) or pages (pdf) are finished; called from any thread."""
        with self.lock:
            self.stages[stage] = [max(done, self.stages[stage][0]), total]

    @property
    def running(self) -> bool:
        """Return True until the merge has ended, well or not."""
        return self.ended is None

    def to_dict(self) -> dict:
        """Return what the page's progress bar shows."""
        with self.lock:
            stages = {k: {"done": d, "total": t} for k, (d, t) in self.stages.items()}
        end = self.ended or time.monotonic()
        return {"running": self.running, "elapsed": round(end - self.started, 1), "stages": stages,
                "ok": self.result is not None and self.result.written and not self.result.pdf_failures,
                "error": self.error}


class MergeRunner:
    """Start merges one at a time; `start` refuses a second while the first runs."""

    def __init__(self):
        self.job: MergeJob | None = None
        self.lock = threading.Lock()

    def start(self, job: MergeJob, work: Callable[[Callable[[str, int, int], None]], MergeResult]) -> bool:
        """Run `work(progress)` for `job` in a thread; return False (and run nothing) if a merge is running."""
        with self.lock:
            if self.job is not None and self.job.running:
                return False
            self.job = job
        threading.Thread(target=self._run, args=(job, work), name="fjvoucher-desk-merge", daemon=True).start()
        return True

    @staticmethod
    def _run(job: MergeJob, work) -> None:
        try:
            job.result = work(job.progress)
        except Exception as exc:  # the clerk reads one line; a bug's details go to the log folder
            job.error = _one_line(exc)
        finally:
            job.ended = time.monotonic()

    @property
    def busy(self) -> bool:
        """Return True while a merge runs."""
        return self.job is not None and self.job.running


def _one_line(exc: Exception) -> str:
    """Return the clerk's line for a failure, writing a bug's traceback to the log folder as the CLI does."""
    explained = explain(exc)
    if explained is not None:
        return explained.message
    return bug_line(exc, ["fjvoucher-desk"])


def bug_line(exc: BaseException, argv: list[str]) -> str:
    """Write a bug's traceback to the per-user log folder; return the line telling the clerk where."""
    import platformdirs

    from fjvoucher.failures import write_bug_report

    log = write_bug_report(exc, argv, Path(platformdirs.user_log_dir("fjvoucher", appauthor=False)))
    return f"程序内部错误（{type(exc).__name__}）。请把此文件发给技术支持: {log}"
