"""Turn batch DOCX into PDF with LibreOffice, on every OS.

LibreOffice converts a ready 500-page batch far faster than 500 small files, and two of them
(one per core, each with its own profile, or they collide) nearly double that.  Workers take
batches from a queue while the merge is still writing them, verify each PDF's page count,
rename it into place, and cut the per-candidate PDFs out of it.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from fjvoucher.atomic import make_folder
from fjvoucher.pdf.fonts import font_environment
from fjvoucher.pdf.jobs import PdfFailure, PdfJob, Progress
from fjvoucher.pdf.pages import finish_job
from fjvoucher.pdf.processes import Lifeline, kill_tree, output_within, run_within

_MAC_DIRS = ("/Applications/LibreOffice.app/Contents/MacOS",)


def _windows_dirs() -> list[Path]:
    """Return where LibreOffice installs on Windows: Program Files, wherever Windows keeps it."""
    roots = [os.environ.get(name) for name in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)")]
    roots += ["C:/Program Files", "C:/Program Files (x86)"]
    return [Path(root) / "LibreOffice" / "program" for root in dict.fromkeys(r for r in roots if r)]
BATCHES_PER_CALL = 2  # batches one LibreOffice converts before it is started again
# Keep photos as they are: re-encoding every JPEG at 300 dpi nearly doubles the time and blurs them.
# LibreOffice reads JSON filter options from 7.4 on; older versions get the plain filter.
PDF_FILTER = 'pdf:writer_pdf_Export:{"ReduceImageResolution":{"type":"boolean","value":"false"}}'
PLAIN_PDF_FILTER = "pdf:writer_pdf_Export"
TIMEOUT_BASE_S, TIMEOUT_PER_PAGE_S = 120.0, 0.5  # a hung LibreOffice is killed after this
VERSION_TIMEOUT_S = 15  # `soffice --version` answers in about a second; a hanging one is not waited for


def find_soffice(explicit: Path | str | None = None) -> Path | None:
    """Return LibreOffice's soffice: `explicit`, else on PATH, else in the usual install folders."""
    if explicit:
        path = Path(explicit)
        return path if path.is_file() else None
    for name in ("soffice", "libreoffice"):
        if found := shutil.which(name):
            return Path(found)
    folders = _windows_dirs() if sys.platform == "win32" else _MAC_DIRS if sys.platform == "darwin" else ()
    for folder in folders:
        for name in ("soffice.exe", "soffice"):
            if (Path(folder) / name).is_file():
                return Path(folder) / name
    return None


def soffice_version_text(soffice: Path) -> str | None:
    """Return what `soffice --version` prints, or None when it cannot run within seconds."""
    return output_within([str(soffice), "--version"], VERSION_TIMEOUT_S)


def soffice_version(soffice: Path) -> tuple[int, int] | None:
    """Return LibreOffice's (major, minor) version, or None when it cannot be told."""
    match = re.search(r"(\d+)\.(\d+)\.\d", soffice_version_text(soffice) or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def soffice_command(soffice: Path, profile: Path, convert_to: str, outdir: Path, sources: list[Path]) -> list[str]:
    """Return the one LibreOffice command line: convert `sources` into `outdir` with a private `profile`.

    Each run gets its own profile (two LibreOffices sharing one collide); paths are absolute
    because LibreOffice changes directory as it starts.
    """
    return [str(soffice), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--invisible",
            "--nologo", "--norestore", "--nodefault", "--nolockcheck", "--convert-to", convert_to,
            "--outdir", str(outdir.resolve()), *(str(s.resolve()) for s in sources)]


def pdf_filter(soffice: Path) -> str:
    """Return the export filter to use with this LibreOffice."""
    version = soffice_version(soffice)
    return PDF_FILTER if version and version >= (7, 4) else PLAIN_PDF_FILTER


class LibreOfficeConverter:
    """Convert queued batches with one LibreOffice per worker; call `submit` for each, then `finish`."""

    def __init__(self, soffice: Path, workdir: Path, workers: int | None = None, progress: Progress | None = None,
                 timeout: tuple[float, float] = (TIMEOUT_BASE_S, TIMEOUT_PER_PAGE_S)):
        # Absolute paths only: LibreOffice changes directory as it starts, so a relative
        # FONTCONFIG_FILE or output folder would silently point nowhere.
        self.soffice, self.workdir, self.progress = soffice, workdir.resolve(), progress
        self.timeout_base, self.timeout_per_page = timeout
        self.filter = pdf_filter(soffice)
        self.env = {**os.environ, **font_environment(_fresh(self.workdir / "fonts"))}
        self.jobs: queue.Queue[PdfJob | None] = queue.Queue()
        self.failures: list[PdfFailure] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.running: set[subprocess.Popen] = set()
        self.lifeline = Lifeline()  # kills the LibreOffices still running if merge itself is killed
        self.submitted: list[PdfJob] = []
        self.settled: set[int] = set()
        count = max(1, workers or os.cpu_count() or 1)
        self.threads = [threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(count)]
        for thread in self.threads:
            thread.start()

    def submit(self, job: PdfJob) -> None:
        """Queue a batch; a worker converts it as soon as it is free."""
        self.submitted.append(job)
        self.jobs.put(job)

    def finish(self) -> list[PdfFailure]:
        """Wait until every queued batch is converted; return the batches that failed."""
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()
        for job in self.submitted:  # every batch ends converted or failed, never forgotten
            self._settle(job, "未转换（转换进程意外退出）(not converted)")
        self.lifeline.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return self.failures

    def abort(self) -> None:
        """Stop now (Ctrl-C, an error): drop queued batches, kill running LibreOffices, clean up."""
        self.stopping.set()
        with self.lock:
            for proc in list(self.running):
                kill_tree(proc)  # its worker thread reaps it
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()
        self.lifeline.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _work(self, index: int) -> None:
        profile = _fresh(self.workdir / f"profile-{index}")
        outdir = self.workdir / f"out-{index}"
        while (jobs := self._take()) and not self.stopping.is_set():
            try:
                failed = self._convert(jobs, profile, outdir)
                for job, reason in failed.items():
                    if reason is not None and not self.stopping.is_set():
                        # retry once, alone: a hang may pass, or another batch of the call caused it
                        reason = self._convert([job], profile, outdir)[job]
                    self._settle(job, reason)
            except Exception as exc:  # a bug or a full disk must not lose batches silently
                for job in jobs:
                    self._settle(job, f"转换出错：{exc!r}")

    def _settle(self, job: PdfJob, reason: str | None) -> None:
        """Record how a job ended (None: its PDF is in place), once."""
        with self.lock:
            if id(job) in self.settled:
                return
            self.settled.add(id(job))
            if reason is not None:
                self.failures.append(PdfFailure(job, reason))

    def _take(self) -> list[PdfJob]:
        """Return up to BATCHES_PER_CALL waiting jobs (blocking for the first); [] when finished."""
        first = self.jobs.get()
        if first is None:
            return []
        jobs = [first]
        while len(jobs) < BATCHES_PER_CALL:
            try:
                nxt = self.jobs.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self.jobs.put(None)  # leave the stop signal for this worker's next _take
                break
            jobs.append(nxt)
        return jobs

    def _convert(self, jobs: list[PdfJob], profile: Path, outdir: Path) -> dict[PdfJob, str | None]:
        """Run one LibreOffice over `jobs`; finish the good PDFs; return each job's failure (None: done)."""
        _fresh(outdir)
        command = soffice_command(self.soffice, profile, self.filter, outdir, [j.docx for j in jobs])
        timeout = self.timeout_base + self.timeout_per_page * sum(j.pages for j in jobs)
        problem = _run(command, self.env, timeout, self._track)
        full = _disk_full(outdir)  # LibreOffice says nothing useful when it cannot write
        if full:
            problem = f"磁盘空间不足（{outdir} 所在磁盘已满），请腾出空间后重新运行 (disk full)"
        results = {}
        for job in jobs:
            produced = outdir / f"{job.docx.stem}.pdf"
            # After a hang, batches converted before it are complete: keep them (the page count says so).
            keep = produced.is_file() and not full
            results[job] = finish_job(produced, job) if keep else problem or finish_job(produced, job)
            if results[job] is None:
                self._settle(job, None)
                if self.progress:
                    self.progress(job.pages)
        return results

    def _track(self, proc: subprocess.Popen, running: bool) -> None:
        """Remember which LibreOffices run, so that abort can kill them."""
        with self.lock:
            if running and self.stopping.is_set():
                kill_tree(proc)
            (self.running.add if running else self.running.discard)(proc)
            (self.lifeline.adopt if running else self.lifeline.release)(proc)


FREE_SPACE_NEEDED = 64 << 20  # below this a conversion that failed is taken for a full disk


def _disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < FREE_SPACE_NEEDED
    except OSError:
        return False


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    make_folder(folder)
    return folder


def _run(command: list[str], env: dict, timeout: float, track: Callable[[subprocess.Popen, bool], None]) -> str | None:
    """Run LibreOffice; kill it and all it started when it hangs. Return a problem, or None."""
    try:
        finished = run_within(command, timeout, env=env, track=track)
    except OSError as exc:
        return f"无法启动 LibreOffice：{exc}"
    if finished.returncode is None:
        return f"LibreOffice 超过 {timeout:.0f} 秒没有完成，已终止 (timed out)"
    if finished.returncode != 0:
        return (f"LibreOffice 出错（返回码 {finished.returncode}）："
                f"{finished.err.decode(errors='replace').strip()[-300:]}")
    return None
