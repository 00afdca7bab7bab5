"""Merge a validated roster into vouchers: per-candidate DOCX, batch DOCX, the issuance register.

Nothing is written until every check (roster and photos) has passed, or, with `skip_invalid`,
until the rows that fail are set aside.  Every file is written under a temporary name and
renamed when complete; a manifest lets a re-run remove what an earlier run wrote and this
one does not (a row that became invalid), and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fjvoucher.atomic import remove_leftovers, write_bytes_atomic
from fjvoucher.checks import Candidate, CheckedRoster, check_roster
from fjvoucher.errors import FjvoucherError, PhotoError
from fjvoucher.idcard import mask_id
from fjvoucher.layout import FIELD_BY_KEY, field_for_header
from fjvoucher.ledger import DEFAULT_PATTERN, NATIONAL_CERTIFICATE, Issued, Ledger, describe, differences
from fjvoucher.pdf import PdfFailure, PdfJob, find_soffice, install_hint, make_converter, new_workdir, require_engine
from fjvoucher.photos import PhotoFolder, load_photo, photo_header
from fjvoucher.render import Voucher, VoucherRenderer, voucher_context
from fjvoucher.template import prepare_template
from fjvoucher.workbooks import write_table

REGISTER_NAME = "发放登记表.xlsx"
REJECTED_NAME = "rejected.xlsx"
MANIFEST_NAME = ".fjvoucher-manifest.json"
_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}

Progress = Callable[[str, int, int], None]  # (stage "docx" or "pdf", done, total)


@dataclass
class MergeOptions:
    """What `merge_roster` should do beyond the defaults (the CLI's options, one to one)."""

    sheet: str | None = None
    template: Path | None = None
    photos: Path | None = None
    require_photos: bool = False
    center: str | None = None
    skip_invalid: bool = False
    batch_size: int = 500
    per_candidate: bool = True
    sort_by: tuple[str, ...] = ()
    today: dt.date | None = None
    format: str | None = None  # "docx", "pdf", "both"; None: both where a PDF engine is found, else docx
    pdf_engine: str = "libreoffice"  # or "word" (docx2pdf, where Microsoft Word is installed)
    soffice: Path | None = None
    ledger: Path | None = None  # None: no ledger (library use); the CLI always gives one
    center_code: str | None = None  # for new NOs; default: the certificate number's province and city
    no_pattern: str = DEFAULT_PATTERN
    reissue: bool = False


@dataclass
class MergeResult:
    """What a merge did: the report, how many vouchers and rejected rows, and the files written."""

    checked: CheckedRoster
    written: bool = False
    merged: int = 0
    rejected: int = 0
    batches: list[Path] = field(default_factory=list)
    register: Path | None = None
    rejected_file: Path | None = None
    format: str = "docx"
    pdf_failures: list[PdfFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the clerk should know (e.g. how to get PDF)

    @property
    def rows(self) -> int:
        """Return how many roster rows were read."""
        return self.checked.report.rows


@dataclass(slots=True)
class _Planned:
    """A candidate, the file name of its photo (None without one), and its NO once the ledger gave one."""

    candidate: Candidate
    photo: str | None
    voucher_no: str = ""


def merge_roster(roster: Path | str, outdir: Path | str, options: MergeOptions | None = None,
                 progress: Progress | None = None) -> MergeResult:
    """Check `roster`, then write its vouchers, batches and register into `outdir`."""
    options = options or MergeOptions()
    if options.batch_size < 1:
        raise FjvoucherError("--batch-size 必须是正整数 (must be at least 1)")
    output_format, notes = _choose_format(options)
    template = prepare_template(options.template)  # a bad master stops us before anything is read
    ledger = Ledger(options.ledger) if options.ledger else None
    try:
        return _merge(roster, Path(outdir), options, template, ledger, output_format, notes, progress)
    finally:
        if ledger:
            ledger.close()


def _merge(roster, outdir: Path, options: MergeOptions, template, ledger: Ledger | None, output_format: str,
           notes: list[str], progress: Progress | None) -> MergeResult:
    photo_names: dict[int, str] = {}
    photos = PhotoFolder(options.photos) if options.photos else None
    extra = _merge_checks(photos, options, photo_names, ledger)
    other_columns = tuple(name for name in options.sort_by if _layout_key(name) is None)  # 鉴定站, 考点…
    checked = check_roster(roster, options.sheet, today=options.today, keep=True, extra=extra,
                           extra_columns=other_columns)
    result = MergeResult(checked, format=output_format, notes=notes)
    if not checked.report.valid and not (options.skip_invalid and _only_row_errors(checked)):
        return result
    planned = [_Planned(c, photo_names.pop(c.row, None)) for c in checked.candidates]
    planned.sort(key=_sort_order(options.sort_by, other_columns))
    _remove_leftovers(outdir)
    written = _write_vouchers(template, planned, outdir, photos, options, result, progress, ledger)
    if output_format != "docx":
        result.batches = [b.with_suffix(".pdf") for b in result.batches]
    result.register = _write_register(outdir / REGISTER_NAME, planned, result.batches, options.batch_size)
    written.append(REGISTER_NAME)
    if checked.rejected:
        result.rejected_file = _write_rejected(outdir / REJECTED_NAME, checked)
        written.append(REJECTED_NAME)
    _replace_manifest(outdir, written)
    result.written, result.merged, result.rejected = True, len(planned), len(checked.rejected)
    return result


def _choose_format(options: MergeOptions) -> tuple[str, list[str]]:
    """Return the output format, defaulting to both where a PDF engine is found; and a note if not.

    Raise PdfEngineError, before anything is written, when PDF is asked for and cannot be made.
    """
    if options.format in ("pdf", "both"):
        require_engine(options.pdf_engine, options.soffice)
    if options.format:
        return options.format, []
    if options.pdf_engine == "word" or find_soffice(options.soffice):
        return "both", []
    return "docx", [f"本机没有 LibreOffice，只生成了 Word 文件。要生成 PDF 请安装：{install_hint()} "
                    "(no PDF engine: DOCX only)"]


def _remove_leftovers(outdir: Path) -> None:
    """Remove what a run killed outright (power cut, SIGKILL) left: temporary files, PDF working folders."""
    for folder in (outdir, outdir / "vouchers", outdir / "batches"):
        remove_leftovers(folder)
    for workdir in outdir.glob(".fjvoucher-pdf-*") if outdir.is_dir() else ():
        shutil.rmtree(workdir, ignore_errors=True)


def _layout_key(name: str) -> str | None:
    """Return the field key `name` (a key or a header) stands for, or None for a column outside the layout."""
    fld = FIELD_BY_KEY.get(name) or field_for_header(name)
    return fld.key if fld else None


def _sort_order(names: tuple[str, ...], other_columns: tuple[str, ...]):
    """Return the sort key for --sort-by: layout fields by printed text, other columns by their text."""
    where = [(_layout_key(name), other_columns.index(name) if _layout_key(name) is None else -1) for name in names]

    def order(planned: _Planned) -> tuple[str, ...]:
        candidate = planned.candidate
        return tuple(candidate[key] if key else candidate.extra[i] for key, i in where)

    return order


def _only_row_errors(checked: CheckedRoster) -> bool:
    return not any(f.row is None and f.severity == "error" for f in checked.report.findings)


def _merge_checks(photos: PhotoFolder | None, options: MergeOptions, photo_names: dict[int, str],
                  ledger: Ledger | None):
    """Return the per-row check merging adds: a centre for the seal line, the ledger, the photo."""

    def check(candidate: Candidate, add) -> None:
        if not (candidate["center"] or options.center):
            add("center", "error", "center-missing")
        if ledger:
            _check_ledger(ledger, candidate, options, add)
        if photos is None:
            return
        name = photos.find(candidate["id_number"], candidate["exam_no"])
        if name is None:
            add("photo", "error" if options.require_photos else "warning", "photo-missing",
                id=mask_id(candidate["id_number"]), exam_no=candidate["exam_no"] or "-")
            return
        try:
            photo_header(photos.path(name))
        except PhotoError as exc:
            add("photo", "error", "photo-unreadable", file=name, reason=exc.reason)
            return
        photo_names[candidate.row] = name

    return check


def _check_ledger(ledger: Ledger, candidate: Candidate, options: MergeOptions, add) -> None:
    """Check the row against what the ledger already issued (read only: nothing is recorded yet)."""
    cert, own_no = candidate["certificate_no"], candidate["voucher_no"]
    history = ledger.for_certificate(cert)
    current = next((v for v in history if v.status == "issued"), None)
    national = next((v for v in history if v.status_reason == NATIONAL_CERTIFICATE), None)
    if national:
        add("certificate_no", "error", "ledger-superseded", value=cert, voucher_no=national.voucher_no)
        return
    if current:
        changes = differences(current.fields, _entry_fields(candidate, options))
        if changes:
            add("certificate_no", "warning" if options.reissue else "error",
                "ledger-reissue" if options.reissue else "ledger-changed",
                value=cert, voucher_no=current.voucher_no, changes=describe(changes))
    if own_no:
        holder = ledger.get(own_no)
        if holder and holder.fields["certificate_no"] != cert:
            add("voucher_no", "error", "voucher-no-clash", value=own_no, other=holder.fields["certificate_no"])
        elif current and not holder and not options.reissue:
            add("voucher_no", "error", "voucher-no-clash", value=own_no,
                other=f"{cert}（台账中为 {current.voucher_no}）")


def _entry_fields(candidate: Candidate, options: MergeOptions) -> dict[str, str]:
    """Return the candidate's printed fields as the ledger records them (centre filled in)."""
    fields = candidate.as_dict()
    fields["center"] = fields["center"] or options.center or ""
    return fields


def _file_stem(candidate: Candidate) -> str:
    """Return `<证书编号>_<姓名>`, safe as a file name on Windows too and unable to leave its folder."""
    stem = _UNSAFE_NAME.sub("_", f"{candidate['certificate_no']}_{candidate['name']}").strip(" .")[:120]
    if not stem or stem.split(".")[0].upper() in _RESERVED:
        stem = f"row{candidate.row}_{stem}"
    return stem


def _write_vouchers(template, planned: list[_Planned], outdir: Path, photos: PhotoFolder | None,
                    options: MergeOptions, result: MergeResult, progress: Progress | None,
                    ledger: Ledger | None) -> list[str]:
    """Write the per-candidate documents and the batches, one batch in memory at a time.

    Batches go to the PDF converter as soon as they are written, so conversion overlaps
    generation.  Return the written files' names relative to `outdir` (strings: 150,000
    Paths weigh 60 MB).
    """
    writer = _BatchWriter(template, outdir, photos, options, result, progress, ledger, len(planned))
    try:
        for start in range(0, len(planned), options.batch_size):
            writer.write(start, planned[start:start + options.batch_size])
    except BaseException:
        writer.abort()  # Ctrl-C or an error: stop LibreOffice now and remove its working folder
        raise
    return writer.finish()


class _BatchWriter:
    """Write one batch after another: ledger NOs, per-candidate files, the batch, its PDF job."""

    def __init__(self, template, outdir: Path, photos: PhotoFolder | None, options: MergeOptions,
                 result: MergeResult, progress: Progress | None, ledger: Ledger | None, total: int):
        self.template, self.outdir, self.photos, self.options = template, outdir, photos, options
        self.result, self.progress, self.ledger, self.total = result, progress, ledger, total
        self.renderer = VoucherRenderer(template)
        self.make_docx, self.make_pdf = result.format in ("docx", "both"), result.format in ("pdf", "both")
        self.converter = make_converter(options.pdf_engine, new_workdir(outdir), options.soffice,
                                        _Counter(progress, "pdf", total).add) if self.make_pdf else None
        self.folder = outdir / "batches" if self.make_docx else self.converter.workdir / "docx"
        self.written: list[str] = []
        self.jobs: list[PdfJob] = []

    def write(self, start: int, chunk: list[_Planned]) -> None:
        """Write the batch of `chunk`, whose first voucher is number `start` of the run."""
        batch = self.folder / f"batch-{start // self.options.batch_size + 1:03d}.docx"
        # The ledger commits this batch's NOs before its files exist: a run killed in between
        # finds them again on the next run and prints the same NOs.
        issued = _record_batch(self.ledger, chunk, batch.with_suffix(".pdf" if self.make_pdf else ".docx").name,
                               self.template.sha256, self.options)
        vouchers = [self._voucher(p, i) for p, i in zip(chunk, issued, strict=True)]
        bodies = [self.renderer.render_body(v, n) for n, v in enumerate(vouchers, start=1)]
        stems = [_file_stem(p.candidate) for p in chunk]
        if self.options.per_candidate and self.make_docx:
            self._write_singles(start, stems, vouchers, bodies)
        write_bytes_atomic(batch, self.renderer.batch(vouchers, bodies))
        self.result.batches.append(self.outdir / "batches" / batch.name)
        if self.make_docx:
            self.written.append(f"batches/{batch.name}")
        if self.converter:
            singles = [self.outdir / f"vouchers/{s}.pdf" for s in stems] if self.options.per_candidate else []
            self.jobs.append(PdfJob(batch, self.outdir / "batches" / f"{batch.stem}.pdf", len(chunk), singles))
            self.converter.submit(self.jobs[-1])
        if self.progress:
            self.progress("docx", start + len(chunk), self.total)

    def _voucher(self, planned: _Planned, issued: Issued) -> Voucher:
        context = voucher_context(planned.candidate, center=self.options.center or "", voucher_no=issued.voucher_no,
                                  reissue=bool(issued.replaces), replaces=issued.replaces)
        return Voucher(context, load_photo(self.photos.path(planned.photo)) if planned.photo else None)

    def _write_singles(self, start: int, stems: list[str], vouchers: list[Voucher], bodies: list) -> None:
        for done, (stem, voucher, body) in enumerate(zip(stems, vouchers, bodies, strict=True), start=start + 1):
            write_bytes_atomic(self.outdir / f"vouchers/{stem}.docx", self.renderer.single(voucher, body))
            self.written.append(f"vouchers/{stem}.docx")
            if self.progress and done % 50 == 0:
                self.progress("docx", done, self.total)

    def abort(self) -> None:
        """Stop the PDF conversion at once."""
        if self.converter:
            self.converter.abort()

    def finish(self) -> list[str]:
        """Wait for the PDFs; return every file written, relative to the output folder."""
        if self.converter:
            self.result.pdf_failures = self.converter.finish()
            self.written += _pdf_files(self.outdir, self.jobs, self.result.pdf_failures)
        return self.written


def _record_batch(ledger: Ledger | None, chunk: list[_Planned], batch_file: str, template_sha256: str,
                  options: MergeOptions) -> list[Issued]:
    """Record the batch in the ledger (one transaction) and return each voucher's NO."""
    if ledger is None:
        return [Issued(p.candidate["voucher_no"], new=True) for p in chunk]
    entries = [{**_entry_fields(p.candidate, options), "issued_on": p.candidate.issue, "batch_file": batch_file,
                "page": page} for page, p in enumerate(chunk, start=1)]
    issued = ledger.issue_batch(entries, template_sha256=template_sha256, center_code=options.center_code,
                                pattern=options.no_pattern, reissue=options.reissue)
    for p, i in zip(chunk, issued, strict=True):
        p.voucher_no = i.voucher_no
    return issued


def _pdf_files(outdir: Path, jobs: list[PdfJob], failures: list[PdfFailure]) -> list[str]:
    """Return the PDFs the conversion produced, batches and per-candidate (failed batches have none)."""
    failed = {id(f.job) for f in failures}
    return [p.relative_to(outdir).as_posix()
            for job in jobs if id(job) not in failed for p in (job.pdf, *job.singles)]


class _Counter:
    """Add up pages finished by the converter's threads and report them as progress."""

    def __init__(self, progress: Progress | None, stage: str, total: int):
        self.progress, self.stage, self.total, self.done = progress, stage, total, 0
        self.lock = threading.Lock()

    def add(self, pages: int) -> None:
        with self.lock:
            self.done += pages
            if self.progress:
                self.progress(self.stage, self.done, self.total)


def _write_register(path: Path, planned: list[_Planned], batches: list[Path], batch_size: int) -> Path:
    """Write 发放登记表: one row per voucher, where it is printed, and room to sign on hand-out."""
    headers = ["序号", "凭证编号", "姓名", "证书编号", "身份证号", "职业", "等级", "批次文件", "页码",
               "领取人签名", "领取日期"]
    rows = ([i + 1, p.voucher_no or p.candidate["voucher_no"], p.candidate["name"], p.candidate["certificate_no"],
             mask_id(p.candidate["id_number"]), p.candidate["occupation"], p.candidate["level"],
             batches[i // batch_size].name, i % batch_size + 1, "", ""]
            for i, p in enumerate(planned))
    return write_table(path, "发放登记表", headers, rows, landscape=True, text_columns=(1, 3, 4),
                       widths={0: 6, 1: 18, 2: 10, 3: 19, 4: 21, 5: 14, 6: 14, 7: 14, 8: 6, 9: 16, 10: 12})


def _write_rejected(path: Path, checked: CheckedRoster) -> Path:
    """Write the rejected rows exactly as read, with their spreadsheet row number and the reasons."""
    width = max((c.position for c in checked.columns), default=-1) + 1
    headers = [""] * width
    for col in checked.columns:
        headers[col.position] = col.header
    rows = ([r.row, "；".join(f"{f.column or ''}：{f.message()}" for f in r.findings if f.severity == "error")]
            + [cell_or_blank(r.cells, i) for i in range(max(width, len(r.cells)))]
            for r in checked.rejected)
    return write_table(path, "未发凭证", ["原行号", "不能发凭证的原因", *headers], rows, widths={1: 60})


def cell_or_blank(cells: list, index: int):
    """Return the cell at `index`, or None past the end of a short row."""
    return cells[index] if index < len(cells) else None


def _replace_manifest(outdir: Path, written: list[str]) -> None:
    """Remove files an earlier run wrote that this run did not, then record this run's files."""
    manifest = outdir / MANIFEST_NAME
    now = set(written)
    try:
        before = set(json.loads(manifest.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        before = set()
    for stale in before - now:
        stale_path = (outdir / stale).resolve()
        if outdir.resolve() in stale_path.parents:  # a tampered manifest cannot reach outside OUTDIR
            stale_path.unlink(missing_ok=True)
    write_bytes_atomic(manifest, json.dumps(sorted(now), ensure_ascii=False, indent=0).encode("utf-8"))
