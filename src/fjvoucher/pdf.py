"""Turn batch DOCX into PDF: LibreOffice on every OS, Microsoft Word (docx2pdf) where it is installed.

LibreOffice converts a ready 500-page batch far faster than 500 small files, and two of them
(one per core, each with its own profile, or they collide) nearly double that.  Workers take
batches from a queue while the merge is still writing them, verify each PDF's page count,
rename it into place, and cut the per-candidate PDFs out of it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fjvoucher.atomic import write_bytes_atomic
from fjvoucher.errors import PdfEngineError
from fjvoucher.fonts import font_environment

INSTALL_HINT = {
    "linux": "sudo apt-get install libreoffice-writer-nogui fonts-arphic-uming fonts-noto-cjk fonts-hanazono",
    "win32": "从 libreoffice.org 下载安装 LibreOffice（安装到默认位置即可），或用 --soffice 指定 soffice.exe",
    "darwin": "brew install --cask libreoffice",
}
_WINDOWS_DIRS = ("C:/Program Files/LibreOffice/program", "C:/Program Files (x86)/LibreOffice/program")
_MAC_DIRS = ("/Applications/LibreOffice.app/Contents/MacOS",)
BATCHES_PER_CALL = 2  # batches one LibreOffice converts before it is started again
# Keep photos as they are: re-encoding every JPEG at 300 dpi nearly doubles the time and blurs them.
# LibreOffice reads JSON filter options from 7.4 on; older versions get the plain filter.
PDF_FILTER = 'pdf:writer_pdf_Export:{"ReduceImageResolution":{"type":"boolean","value":"false"}}'
PLAIN_PDF_FILTER = "pdf:writer_pdf_Export"
TIMEOUT_BASE_S, TIMEOUT_PER_PAGE_S = 120.0, 0.5  # a hung LibreOffice is killed after this


def install_hint() -> str:
    """Return the command (or step) that installs LibreOffice and the fonts on this OS."""
    return INSTALL_HINT.get(sys.platform, INSTALL_HINT["linux"])


def find_soffice(explicit: Path | str | None = None) -> Path | None:
    """Return LibreOffice's soffice: `explicit`, else on PATH, else in the usual install folders."""
    if explicit:
        path = Path(explicit)
        return path if path.is_file() else None
    for name in ("soffice", "libreoffice"):
        if found := shutil.which(name):
            return Path(found)
    folders = _WINDOWS_DIRS if sys.platform == "win32" else _MAC_DIRS if sys.platform == "darwin" else ()
    for folder in folders:
        for name in ("soffice.exe", "soffice"):
            if (Path(folder) / name).is_file():
                return Path(folder) / name
    return None


def soffice_version_text(soffice: Path) -> str | None:
    """Return what `soffice --version` prints, or None when it cannot run."""
    try:
        return subprocess.run([str(soffice), "--version"], capture_output=True, text=True, timeout=60,
                              check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def soffice_version(soffice: Path) -> tuple[int, int] | None:
    """Return LibreOffice's (major, minor) version, or None when it cannot be told."""
    match = re.search(r"(\d+)\.(\d+)\.\d", soffice_version_text(soffice) or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def pdf_filter(soffice: Path) -> str:
    """Return the export filter to use with this LibreOffice."""
    version = soffice_version(soffice)
    return PDF_FILTER if version and version >= (7, 4) else PLAIN_PDF_FILTER


def word_available() -> bool:
    """Return True where docx2pdf can drive Microsoft Word (Windows or macOS with docx2pdf installed)."""
    if sys.platform not in ("win32", "darwin"):
        return False
    try:
        import docx2pdf  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(eq=False)  # compared and hashed by identity: jobs key the results of a conversion
class PdfJob:
    """One batch to convert: its DOCX, where its PDF goes, its page count, and per-candidate PDF paths."""

    docx: Path
    pdf: Path
    pages: int
    singles: list[Path] = field(default_factory=list)  # one per page, in page order; empty for none


@dataclass
class PdfFailure:
    """A batch whose PDF could not be made, and why."""

    job: PdfJob
    reason: str


Progress = Callable[[int], None]  # called with the pages of each finished batch


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
        shutil.rmtree(self.workdir, ignore_errors=True)
        return self.failures

    def abort(self) -> None:
        """Stop now (Ctrl-C, an error): drop queued batches, kill running LibreOffices, clean up."""
        self.stopping.set()
        with self.lock:
            for proc in list(self.running):
                _kill_tree(proc, reap=False)
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()
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
        command = [str(self.soffice), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
                   "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
                   "--convert-to", self.filter, "--outdir", str(outdir.resolve()),
                   *(str(j.docx.resolve()) for j in jobs)]
        timeout = self.timeout_base + self.timeout_per_page * sum(j.pages for j in jobs)
        problem = _run(command, self.env, timeout, self._track)
        results = {}
        for job in jobs:
            produced = outdir / f"{job.docx.stem}.pdf"
            # After a hang, batches converted before it are complete: keep them (the page count says so).
            results[job] = _finish(produced, job) if produced.is_file() else problem or _finish(produced, job)
            if results[job] is None:
                self._settle(job, None)
                if self.progress:
                    self.progress(job.pages)
        return results

    def _track(self, proc: subprocess.Popen, running: bool) -> None:
        """Remember which LibreOffices run, so that abort can kill them."""
        with self.lock:
            if running and self.stopping.is_set():
                _kill_tree(proc, reap=False)
            (self.running.add if running else self.running.discard)(proc)


class WordConverter:
    """Convert batches one by one with Microsoft Word through docx2pdf (Windows and macOS only)."""

    def __init__(self, workdir: Path, progress: Progress | None = None):
        require_engine("word")
        self.workdir, self.progress, self.failures = workdir, progress, []

    def submit(self, job: PdfJob) -> None:
        """Convert `job` now: Word runs one document at a time."""
        from docx2pdf import convert

        produced = _fresh(self.workdir / "word") / f"{job.docx.stem}.pdf"
        try:
            convert(str(job.docx), str(produced))
        except Exception as exc:  # Word's automation raises whatever COM or AppleScript raises
            self.failures.append(PdfFailure(job, f"Word 转换失败：{exc}"))
            return
        reason = _finish(produced, job)
        if reason:
            self.failures.append(PdfFailure(job, reason))
        elif self.progress:
            self.progress(job.pages)

    def finish(self) -> list[PdfFailure]:
        """Return the batches that failed."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        return self.failures

    def abort(self) -> None:
        """Stop: Word converts in this thread, so there is nothing running to kill."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def require_engine(engine: str, soffice: Path | None = None) -> Path | None:
    """Return soffice for "libreoffice" (None for "word"); raise PdfEngineError saying how to get a missing one."""
    if engine == "word":
        if not word_available():
            raise PdfEngineError("--pdf-engine word 需要装有 Microsoft Word 的 Windows 或 macOS，并先运行 "
                                 "pip install docx2pdf (needs Microsoft Word and docx2pdf)")
        return None
    found = find_soffice(soffice)
    if found is None:
        where = f"（{soffice}）" if soffice else ""
        raise PdfEngineError(
            f"无法生成 PDF：找不到 LibreOffice{where}。请安装：{install_hint()} (LibreOffice not found)")
    return found


def make_converter(engine: str, workdir: Path, soffice: Path | None = None, progress: Progress | None = None):
    """Return a converter for `engine` ("libreoffice" or "word"); raise PdfEngineError when it is missing."""
    if engine == "word":
        return WordConverter(workdir, progress)
    return LibreOfficeConverter(require_engine(engine, soffice), workdir, progress=progress)


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder



def _run(command: list[str], env: dict, timeout: float, track: Callable[[subprocess.Popen, bool], None]) -> str | None:
    """Run LibreOffice; kill it and all it started when it hangs. Return a problem, or None."""
    posix = os.name == "posix"
    try:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=posix,
                                creationflags=0 if posix else subprocess.CREATE_NEW_PROCESS_GROUP)
    except OSError as exc:
        return f"无法启动 LibreOffice：{exc}"
    track(proc, True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        return f"LibreOffice 超过 {timeout:.0f} 秒没有完成，已终止 (timed out)"
    finally:
        track(proc, False)
    if proc.returncode != 0:
        return f"LibreOffice 出错（返回码 {proc.returncode}）：{err.decode(errors='replace').strip()[-300:]}"
    return None


def _kill_tree(proc: subprocess.Popen, reap: bool = True) -> None:
    """Kill LibreOffice and the soffice.bin it started; `reap` waits for it (its own thread does otherwise)."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
    if reap:
        proc.communicate()  # reap it and close its pipe


def _finish(produced: Path, job: PdfJob) -> str | None:
    """Check a converted PDF, move it into place, cut its per-candidate PDFs; return a problem or None."""
    if not produced.is_file():
        return "LibreOffice 没有生成 PDF（文档可能已损坏）(no PDF produced)"
    pages = count_pages(produced)
    if pages != job.pages:
        return f"PDF 有 {pages} 页，应为 {job.pages} 页 (page count differs)"
    if job.singles:
        cut_pages(produced, job.singles)
    job.pdf.parent.mkdir(parents=True, exist_ok=True)
    os.replace(produced, job.pdf)  # same file system: the PDF appears complete or not at all
    return None


def count_pages(pdf: Path) -> int | None:
    """Return the number of pages of `pdf`, or None when it cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return len(PdfReader(pdf).pages)
    except (PdfReadError, OSError, ValueError):
        return None


_DO = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+Do\b")


def cut_pages(pdf: Path, targets: list[Path]) -> None:
    """Write page i of `pdf` to targets[i], each keeping only the images its own page shows."""
    import io

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    reader = PdfReader(pdf)
    for page, target in zip(reader.pages, targets, strict=True):
        resources = page["/Resources"].get_object()
        images = resources.get("/XObject")
        if images is not None:
            # LibreOffice shares one resource dictionary across pages: without pruning,
            # every page would carry every photo of the batch.
            used = {name.decode() for name in _DO.findall(page.get_contents().get_data())}
            own = DictionaryObject(resources)
            own[NameObject("/XObject")] = DictionaryObject(
                {k: v for k, v in images.get_object().items() if k[1:] in used})
            page[NameObject("/Resources")] = own
        writer = PdfWriter()
        writer.add_page(page)
        buffer = io.BytesIO()
        writer.write(buffer)
        write_bytes_atomic(target, buffer.getvalue())


def new_workdir(outdir: Path) -> Path:
    """Return a private working folder inside `outdir` (same file system, so results can be renamed)."""
    outdir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".fjvoucher-pdf-", dir=outdir))
