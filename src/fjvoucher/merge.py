"""The merge, top to bottom: read → check → plan → render → convert → record.

Nothing is opened or written before the roster has passed its checks (or, with `skip_invalid`,
before the rows that fail are set aside).  Every file is written under a temporary name and
renamed when complete; the output folder's manifest lets a re-run remove what it no longer writes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from fjvoucher.errors import FjvoucherError, PhotoError
from fjvoucher.layout import FIELD_BY_KEY, field_for_header
from fjvoucher.ledger.store import DEFAULT_PATTERN, NATIONAL_CERTIFICATE, Issued, Ledger, describe, differences
from fjvoucher.outfolder import file_stem, remove_temporary_files, replace_manifest
from fjvoucher.pdf.engine import choose_format, open_engine, sweep
from fjvoucher.pdf.jobs import PdfFailure, PdfJob
from fjvoucher.roster.checks import CheckedRoster, GlyphProbe, check_roster
from fjvoucher.roster.idcard import mask_id
from fjvoucher.roster.records import Candidate
from fjvoucher.sheets.atomic import write_bytes_atomic
from fjvoucher.sheets.register import write_register, write_rejected
from fjvoucher.word.master import PreparedTemplate, prepare_template
from fjvoucher.word.photos import PhotoFolder, load_photo, photo_header
from fjvoucher.word.render import Voucher, VoucherRenderer, voucher_context

REGISTER_NAME = "发放登记表.xlsx"
REJECTED_NAME = "rejected.xlsx"

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
    glyphs: GlyphProbe | None = None  # whether a font draws a character (the CLI gives fontconfig's answer)


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
    """A candidate, its file stem, the file name of its photo (None without one), and its NO once given."""

    candidate: Candidate
    stem: str
    photo: str | None
    voucher_no: str = ""


def merge_roster(roster: Path | str, outdir: Path | str, options: MergeOptions | None = None,
                 progress: Progress | None = None) -> MergeResult:
    """Check `roster`, then write its vouchers, batches and register into `outdir`."""
    options = options or MergeOptions()
    if options.batch_size < 1:
        raise FjvoucherError("--batch-size 必须是正整数 (must be at least 1)")
    output_format, notes = choose_format(options.format, options.pdf_engine, options.soffice)
    with (Ledger(options.ledger) if options.ledger else nullcontext()) as ledger:
        photos = PhotoFolder(options.photos) if options.photos else None
        checked, photo_names = _read_and_check(roster, options, photos, ledger)
        result = MergeResult(checked, format=output_format, notes=notes)
        if not checked.report.valid and not (options.skip_invalid and _only_row_errors(checked)):
            return result
        template = prepare_template(options.template)
        planned = _plan(checked, options, photo_names)
        outdir = Path(outdir)
        remove_temporary_files(outdir)
        sweep(outdir)
        written = _render_convert_record(template, planned, outdir, photos, options, result, progress, ledger)
        written += _write_workbooks(outdir, planned, checked, result, options.batch_size)
        replace_manifest(outdir, written)
        result.written, result.merged, result.rejected = True, len(planned), len(checked.rejected)
        return result


# --- read and check ------------------------------------------------------------------------------

def _read_and_check(roster, options: MergeOptions, photos: PhotoFolder | None,
                    ledger: Ledger | None) -> tuple[CheckedRoster, dict[int, str]]:
    """Check the roster, and what merging adds (centre, photos, ledger); return it and each row's photo."""
    photo_names: dict[int, str] = {}

    def merge_checks(candidate: Candidate, add) -> None:
        if not (candidate["center"] or options.center):
            add("center", "error", "center-missing")
        if ledger:
            _check_ledger(ledger, candidate, options, add)
        if photos is not None:
            _check_photo(photos, candidate, options.require_photos, add, photo_names)

    checked = check_roster(roster, options.sheet, today=options.today, keep=True, extra=merge_checks,
                           extra_columns=_columns_outside_layout(options.sort_by), glyphs=options.glyphs)
    return checked, photo_names


def _check_photo(photos: PhotoFolder, candidate: Candidate, required: bool, add,
                 photo_names: dict[int, str]) -> None:
    """Find the candidate's photo and check that it can be read; remember its file name."""
    name = photos.find(candidate["id_number"], candidate["exam_no"])
    if name is None:
        add("photo", "error" if required else "warning", "photo-missing",
            id=mask_id(candidate["id_number"]), exam_no=candidate["exam_no"] or "-")
        return
    try:
        photo_header(photos.path(name))
    except PhotoError as exc:
        add("photo", "error", "photo-unreadable", file=name, reason=exc.reason)
        return
    photo_names[candidate.row] = name


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


def _only_row_errors(checked: CheckedRoster) -> bool:
    return not any(f.row is None and f.severity == "error" for f in checked.report.findings)


def _entry_fields(candidate: Candidate, options: MergeOptions) -> dict[str, str]:
    """Return the candidate's printed fields as the ledger records them (centre filled in)."""
    fields = candidate.as_dict()
    fields["center"] = fields["center"] or options.center or ""
    return fields


# --- plan ----------------------------------------------------------------------------------------

def _layout_key(name: str) -> str | None:
    """Return the field key `name` (a key or a header) stands for, or None for a column outside the layout."""
    fld = FIELD_BY_KEY.get(name) or field_for_header(name)
    return fld.key if fld else None


def _columns_outside_layout(sort_by: tuple[str, ...]) -> tuple[str, ...]:
    """Return the --sort-by columns that are not layout fields (鉴定站, 考点 …): candidates keep their text."""
    return tuple(name for name in sort_by if _layout_key(name) is None)


def _plan(checked: CheckedRoster, options: MergeOptions, photo_names: dict[int, str]) -> list[_Planned]:
    """Return the vouchers to write, in stamping order (--sort-by), each with its file stem and photo."""
    planned = [_Planned(c, file_stem(c["certificate_no"], c["name"], c.row), photo_names.get(c.row))
               for c in checked.candidates]
    planned.sort(key=_sort_order(options.sort_by))
    return planned


def _sort_order(names: tuple[str, ...]):
    """Return the sort key for --sort-by: layout fields by printed text, other columns by their text."""
    others = _columns_outside_layout(names)
    where = [(_layout_key(name), others.index(name) if _layout_key(name) is None else -1) for name in names]

    def order(planned: _Planned) -> tuple[str, ...]:
        candidate = planned.candidate
        return tuple(candidate[key] if key else candidate.extra[i] for key, i in where)

    return order


# --- render, convert, record ---------------------------------------------------------------------

def _render_convert_record(template: PreparedTemplate, planned: list[_Planned], outdir: Path,
                           photos: PhotoFolder | None, options: MergeOptions, result: MergeResult,
                           progress: Progress | None, ledger: Ledger | None) -> list[str]:
    """Write the per-candidate documents and the batches, one batch in memory at a time.

    Batches go to the PDF engine as soon as they are written, so conversion overlaps
    generation.  Return the written files' names relative to `outdir` (strings: 150,000
    Paths weigh 60 MB).
    """
    writer = _BatchWriter(template, outdir, photos, options, result, progress, ledger, len(planned))
    try:
        for start in range(0, len(planned), options.batch_size):
            writer.write(start, planned[start:start + options.batch_size])
    except BaseException:
        writer.abort()  # Ctrl-C or an error: stop the PDF engine now and remove its working folder
        raise
    return writer.finish()


class _BatchWriter:
    """Write one batch after another: ledger NOs, per-candidate files, the batch, its PDF job."""

    def __init__(self, template: PreparedTemplate, outdir: Path, photos: PhotoFolder | None,
                 options: MergeOptions, result: MergeResult, progress: Progress | None, ledger: Ledger | None,
                 total: int):
        self.template, self.outdir, self.photos, self.options = template, outdir, photos, options
        self.result, self.progress, self.ledger, self.total = result, progress, ledger, total
        self.renderer = VoucherRenderer(template)
        self.make_docx, self.make_pdf = result.format in ("docx", "both"), result.format in ("pdf", "both")
        self.converter = open_engine(options.pdf_engine, outdir, options.soffice,
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
        if self.options.per_candidate and self.make_docx:
            self._write_singles(start, [p.stem for p in chunk], vouchers, bodies)
        write_bytes_atomic(batch, self.renderer.batch(vouchers, bodies))
        self.result.batches.append(self.outdir / "batches" / batch.name)
        if self.make_docx:
            self.written.append(f"batches/{batch.name}")
        if self.converter:
            singles = [self.outdir / f"vouchers/{p.stem}.pdf" for p in chunk] if self.options.per_candidate else []
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
        return [Issued(p.candidate["voucher_no"]) for p in chunk]
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


# --- the workbooks -------------------------------------------------------------------------------

def _write_workbooks(outdir: Path, planned: list[_Planned], checked: CheckedRoster, result: MergeResult,
                     batch_size: int) -> list[str]:
    """Write the register and, when rows were rejected, rejected.xlsx; return their names."""
    if result.format != "docx":
        result.batches = [b.with_suffix(".pdf") for b in result.batches]
    rows = ([p.voucher_no or p.candidate["voucher_no"], p.candidate["name"], p.candidate["certificate_no"],
             mask_id(p.candidate["id_number"]), p.candidate["occupation"], p.candidate["level"],
             result.batches[i // batch_size].name, i % batch_size + 1] for i, p in enumerate(planned))
    result.register = write_register(outdir / REGISTER_NAME, rows)
    if not checked.rejected:
        return [REGISTER_NAME]
    result.rejected_file = write_rejected(outdir / REJECTED_NAME, checked.columns, checked.rejected)
    return [REGISTER_NAME, REJECTED_NAME]
