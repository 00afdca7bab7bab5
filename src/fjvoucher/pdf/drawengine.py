"""The drawing engine: vouchers drawn straight to PDF where the probe proved the master, else LibreOffice.

A master is probed once (cached by its hash, LibreOffice's version and the installed fonts).  Every
voucher the plan can draw is drawn here, batch page and per-candidate PDF alike.  One it cannot (a
branch not probed, a character outside the proven faces, a line wider than proven, a photo of
another size) is printed by LibreOffice: the undrawn vouchers of the whole merge, batch after batch,
go into one DOCX (a further one every `FALLBACK_PAGES`) converted in one run once every batch is
queued, and each batch PDF is then written with its drawn and LibreOffice's pages in roster order
(see `fallback`).  A batch none of whose vouchers can be drawn, and every batch of a master the probe
refused, goes whole to LibreOffice as with `--pdf-engine libreoffice`.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import queue
import shutil
import threading
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from fjvoucher.atomic import write_bytes_atomic
from fjvoucher.pdf.drawing import Drawer, DrawnPage
from fjvoucher.pdf.drawnpdf import shared_programs, write_pdf
from fjvoucher.pdf.faces import installed_faces
from fjvoucher.pdf.fallback import Compose, Fallbacks, Mixed, splice
from fjvoucher.pdf.jobs import PdfFailure, PdfJob, Progress
from fjvoucher.pdf.libreoffice import LibreOfficeConverter, soffice_version_text
from fjvoucher.pdf.probe import (
    Plan,
    ProbeMaster,
    Refused,
    cache_key,
    learn,
    photo_pages,
    probe_pages,
    read_probe,
    shape_spots,
)

REASONS = {
    "probe": "母版未通过自检 (master not proven)",
    "branch:reissue": "补发凭证 (reissue note)",
    "branch:qr": "真伪查询码和二维码 (verification code and QR)",
    "branch:reissue+qr": "补发凭证，带真伪查询码和二维码 (reissue note, verification code and QR)",
    "branch:listing": "字段中含换行或制表符 (a value with line breaks or tabs)",
    "photo-size": "照片比例未经探测 (photo size not probed)",
    "photo-kind": "照片不是 JPEG (photo not JPEG)",
    "character": "含未经验证的字符 (character not proven)",
    "glyph": "字体中没有的字 (character outside the embedded fonts)",
    "too-wide": "超出单元格第一行 (wider than the cell's first line)",
    "batch": "随同批凭证 (with the rest of its batch)",
}


def plan_for(master: ProbeMaster, soffice: Path, workdir: Path, cache: Path | None = None,
             note=None) -> tuple[Plan | None, str]:
    """Return the master's drawing plan (None when refused) and what was decided, probing once per master,
    LibreOffice version and set of fonts (photo shapes the plan has not placed yet: once each, kept in the plan);
    `note(done, total)` hears of a probe: (0, 1) before, (1, 1) after."""
    faces = installed_faces()
    key = cache_key(master, soffice_version_text(soffice) or "", [path for path, _ in faces.values()])
    folder = cache or _cache()
    cached = folder / f"{key}.json"
    plan, reason, record = None, "", None
    if cached.is_file():
        try:
            data = json.loads(cached.read_text(encoding="utf-8"))
            plan, reason = (Plan.from_json(json.dumps(data["plan"])), "") if "plan" in data else (None, data["refused"])
            record = data
        except (ValueError, KeyError, TypeError):
            pass
    shapes = photo_pages(master, {}, plan.photos)[1][1:] if plan else []
    if record is not None and not shapes:
        return plan, reason
    if note:
        note(0, 1)
    try:
        if plan is None:
            plan = _probe(master, soffice, workdir)
        else:
            plan.photos |= _probe_shapes(master, soffice, workdir, plan.photos)
        record = {"plan": json.loads(plan.to_json())}
    except Refused as exc:
        plan, reason = None, str(exc)
        record = {"refused": reason}
    if note:
        note(1, 1)
    folder.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(cached, json.dumps(record, ensure_ascii=False).encode("utf-8"))
    return plan, reason


def _probe(master: ProbeMaster, soffice: Path, workdir: Path) -> Plan:
    pages, flags, layout = probe_pages(master)
    pdf = _render(master, pages, flags, workdir / "probe", soffice)
    try:
        return learn(pdf, master, layout)
    finally:
        shutil.rmtree(workdir / "probe", ignore_errors=True)


def _probe_shapes(master: ProbeMaster, soffice: Path, workdir: Path, known=()) -> dict[str, dict]:
    """Return where LibreOffice places the merge's photo shapes a cached plan lacks (one page each); nothing when
    LibreOffice could not make the pages (those photos are printed by it, and placed in a later merge)."""
    plain = probe_pages(master)[0][3]  # the plain page with markers, as the probe's
    pages, flags = photo_pages(master, plain, known)
    try:
        _, read = read_probe(_render(master, pages, flags, workdir / "shapes", soffice))
        return shape_spots(read[0], read[1:], flags[1:])
    except Refused:
        return {}
    finally:
        shutil.rmtree(workdir / "shapes", ignore_errors=True)


def _render(master: ProbeMaster, pages: list[dict], flags: list, folder: Path, soffice: Path) -> Path:
    """Return LibreOffice's PDF of the probe's `pages`; raise Refused when it cannot make it."""
    folder.mkdir(parents=True, exist_ok=True)
    docx, pdf = folder / "probe.docx", folder / "probe.pdf"
    docx.write_bytes(master.render(pages, flags))
    converter = LibreOfficeConverter(soffice, folder / "lo", workers=1)
    converter.submit(PdfJob(docx, pdf, len(pages)))
    failures = converter.finish()
    if failures:
        raise Refused(f"探测页转换失败：{failures[0].reason}")
    return pdf


def _cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("fjvoucher", appauthor=False)) / "probes"


class DrawingConverter:
    """Draw what the plan proves, hand the rest to LibreOffice; `fallbacks` counts vouchers by reason."""

    def __init__(self, soffice: Path, workdir: Path, plan: Plan | None, refused: str = "",
                 progress: Progress | None = None, workers: int | None = None, compose: Compose | None = None):
        self.soffice, self.workdir, self.plan, self.refused, self.progress = soffice, workdir, plan, refused, progress
        self.fallbacks: Counter[str] = Counter()
        self.drawn = 0
        self.failures: list[PdfFailure] = []
        self.lock = threading.Lock()
        self.libreoffice: LibreOfficeConverter | None = None
        self.pending = Fallbacks(workdir / "fallback", compose) if compose else None
        self.submitted = 0
        count = max(1, workers or os.cpu_count() or 1)
        # A batch waiting to be drawn holds its vouchers' photos: the merge waits rather than queue them all.
        self.jobs: queue.Queue[tuple[int, PdfJob] | None] = queue.Queue(maxsize=2 * count)
        self.stopping = threading.Event()
        # Drawing is Python work: processes (spawned, as on Windows) draw while the merge writes DOCX.
        self.pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                        initargs=(plan.to_json(),)) if plan else None
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def submit(self, job: PdfJob) -> None:
        """Queue a batch (waiting while two a worker are queued): drawn by a worker, or passed on to LibreOffice."""
        self.submitted += 1
        self.jobs.put((self.submitted, job))

    def _work(self) -> None:
        while (item := self.jobs.get()) is not None and not self.stopping.is_set():
            order, job = item
            try:
                self._draw_or_pass(order, job)
            except Exception as exc:  # a bug must not lose a batch: LibreOffice prints it
                if not self.stopping.is_set():
                    self._pass_on(job, [f"bug:{type(exc).__name__}"] * job.pages)

    def _draw_or_pass(self, order: int, job: PdfJob) -> None:
        if self.pool is None or job.records is None:
            self._pass_on(job, ["probe" if self.pool is None else "records"] * job.pages)
            return
        # Alone in its batch, an undrawn voucher's page waits for the merge's end: the drawn ones go aside meanwhile.
        aside = self.workdir / "drawn" / f"{order:06d}.pdf" if self.pending and job.vouchers is not None else None
        reasons = self.pool.submit(_draw_batch, job.records, job.pdf, job.singles, job.created, aside).result()
        job.records = None  # drawn or not, its photos are no longer needed
        missing = [page for page, reason in enumerate(reasons) if reason]
        if missing and (aside is None or len(missing) == job.pages):
            self._pass_on(job, reasons)  # nothing drawn (or no way to print a voucher alone): the batch's DOCX
            return
        if missing:
            assert self.pending is not None and aside is not None
            self.pending.keep(order, job, missing, aside)
        job.vouchers = None
        with self.lock:
            self.drawn += job.pages - len(missing)
            self.fallbacks.update(reason for reason in reasons if reason)
        if self.progress:
            self.progress(job.pages - len(missing))

    def _pass_on(self, job: PdfJob, reasons: list[str]) -> None:
        """Have LibreOffice convert the batch's DOCX; count its vouchers by why they were not drawn."""
        job.records = job.vouchers = None
        with self.lock:
            self.fallbacks.update(reason or "batch" for reason in reasons)
            self._libreoffice().submit(job)

    def _libreoffice(self) -> LibreOfficeConverter:
        if self.libreoffice is None:
            self.libreoffice = LibreOfficeConverter(self.soffice, self.workdir / "libreoffice", progress=self.progress)
        return self.libreoffice

    def finish(self) -> list[PdfFailure]:
        """Wait for every batch, drawn or converted; return the ones that failed."""
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()
        documents: list[tuple[PdfJob, list[Mixed]]] = []
        trouble = ""
        if self.pending and self.pending.batches:
            try:
                documents = self.pending.documents()
            except Exception as exc:  # a full disk: the batches waiting for these vouchers fail, named
                trouble = f"无法写出交给 LibreOffice 的文档 (the fallback DOCX could not be written): {exc!r}"
        if documents:  # every batch is queued: the undrawn vouchers of them all go to LibreOffice at once
            with self.lock:
                converter = self._libreoffice()
            for job, _ in documents:
                converter.submit(job)
        if self.libreoffice:
            self.failures += self.libreoffice.finish()
        self._splice(documents, trouble)
        if self.pool:
            self.pool.shutdown()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return self.failures

    def _splice(self, documents: list[tuple[PdfJob, list[Mixed]]], trouble: str = "") -> None:
        """Write each batch of drawn and undrawn vouchers whole; a batch whose LibreOffice pages failed fails, named.

        (LibreOffice's converter counted the undrawn pages' progress as it converted them.)"""
        failed = {id(f.job): f.reason for f in self.failures}
        broken: dict[int, str] = {}
        for job, holds in documents:
            if id(job) in failed:
                self.failures = [f for f in self.failures if f.job is not job]
                for mixed in holds:
                    broken.setdefault(mixed.order, failed[id(job)])
        if self.pending is None or self.pool is None:
            return
        spliced: dict[int, Future] = {}
        for order in sorted(self.pending.batches):  # the drawing processes splice, two batches at once on two cores
            mixed = self.pending.batches[order]
            if not trouble and order not in broken:
                cut = [self.pending.page_of(mixed, page) for page in mixed.missing]
                try:
                    spliced[order] = self.pool.submit(splice, mixed, cut)
                except Exception as exc:  # a drawing process died (killed, out of memory): named below
                    spliced[order] = Future()
                    spliced[order].set_exception(exc)
        for order in sorted(self.pending.batches):
            mixed = self.pending.batches[order]
            pages = "、".join(str(page + 1) for page in mixed.missing)
            if order in spliced:
                try:
                    spliced[order].result()
                    continue
                except Exception as exc:  # a page LibreOffice left unreadable, a full disk: the batch fails, named
                    reason = f"无法拼合 PDF (pages could not be joined): {exc!r}"
            else:
                reason = (f"第 {pages} 张由 LibreOffice 生成，转换失败 (pages {pages.replace('、', ', ')} failed): "
                          f"{trouble or broken[order]}")
            self.failures.append(PdfFailure(mixed.job, reason))
            for single in mixed.job.singles:  # a failed batch has no PDF at all, as with LibreOffice alone
                single.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop now: drop queued batches, stop LibreOffice, clean up."""
        self.stopping.set()
        if self.pool:
            self.pool.shutdown(wait=False, cancel_futures=True)
        while not self.jobs.empty():  # the queued batches are dropped: room for every worker's stop signal
            self.jobs.get_nowait()
        for _ in self.threads:
            self.jobs.put_nowait(None)
        for thread in self.threads:
            thread.join()
        if self.libreoffice:
            self.libreoffice.abort()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def summary(self) -> list[str]:
        """Return what the clerk should know: how many vouchers were drawn, how many LibreOffice printed, and why."""
        why = "；".join(f"{REASONS.get(r, r)} {n} 张" for r, n in sorted(self.fallbacks.items()))
        if why and self.refused:
            why += f"（{self.refused}）"
        return [f"PDF：直接绘制 {self.drawn} 张，由 LibreOffice 生成 {sum(self.fallbacks.values())} 张"
                + (f"：{why}" if why else "") + f" (drawn {self.drawn}, LibreOffice {sum(self.fallbacks.values())})"]


_WORKER: dict = {}  # in a drawing process: its plan, drawer and what its PDFs share


def _start(plan_json: str) -> None:
    """Prepare a drawing process: read the plan, the faces, the shared programs (once); die with the merge."""
    threading.Thread(target=_die_with_parent, daemon=True).start()
    plan = Plan.from_json(plan_json)
    drawer = Drawer(plan)
    _WORKER.update(plan=plan, drawer=drawer, shared=shared_programs(plan, drawer.faces))


def _die_with_parent() -> None:
    """End this drawing process as soon as the merge that started it is gone, however it went (SIGKILL too:
    the pool's queues would keep it waiting for ever); a half-written file is a temporary one the next run removes."""
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is not None:
        wait([parent.sentinel])
        os._exit(1)


def _draw_batch(records: list, pdf: Path, singles: list[Path], created: dt.datetime | None = None,
                aside: Path | None = None) -> list[str]:
    """Draw a batch and its per-candidate PDFs; return why each page cannot be drawn ("" for a drawn one).

    All drawn: the batch PDF is in place.  Some drawn and `aside` given: their per-candidate PDFs are in place
    and their pages, in order, in `aside`.  Otherwise nothing is written.
    """
    plan, drawer, shared = _WORKER["plan"], _WORKER["drawer"], _WORKER["shared"]
    pages: list[DrawnPage | None] = []
    reasons: list[str] = []
    for record in records:
        page = drawer.draw_page(record)
        pages.append(None if isinstance(page, str) else page)
        reasons.append(page if isinstance(page, str) else "")
    drawn = [page for page in pages if page is not None]
    if not drawn or (len(drawn) < len(pages) and aside is None):
        return reasons
    for page, single in zip(pages, singles, strict=False):
        if page is not None:
            write_bytes_atomic(single, write_pdf(plan, drawer.faces, [page], 9, shared, created))
    whole = pdf if len(drawn) == len(pages) else aside
    assert whole is not None  # a batch only partly drawn without `aside` returned above
    write_bytes_atomic(whole, write_pdf(plan, drawer.faces, drawn, 6, shared, created))
    return reasons
