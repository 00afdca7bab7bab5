"""The merge, top to bottom: read → check → plan → render → convert → record.

Nothing is opened or written before the roster has passed its checks (or, with `skip_invalid`,
before the rows that fail are set aside).  Every file is written under a temporary name and
renamed when complete; the output folder's manifest lets a re-run remove what it no longer writes.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from fjvoucher.atomic import Staging, make_folder
from fjvoucher.collation import pinyin_key
from fjvoucher.errors import InputError, PhotoError
from fjvoucher.layout import FIELD_BY_KEY, FIELDS, field_for_header
from fjvoucher.ledger import storage
from fjvoucher.ledger.backends import ledger_exists
from fjvoucher.ledger.issuing import DEFAULT_PATTERN, Batch, Issued, check_pattern
from fjvoucher.ledger.policy import decide, describe, other_centre_severity, own_no_clash, require_status
from fjvoucher.ledger.storage import Clock
from fjvoucher.ledger.store import Ledger
from fjvoucher.messages import STATUS_WORDS
from fjvoucher.outfolder import (
    check_output_folder,
    check_writable,
    claim,
    file_stem,
    remember_written,
    remove_temporary_files,
    replace_manifest,
    safe_name,
    untouched_since_written,
)
from fjvoucher.pdf.engine import choose_format, draws, notes_of, open_engine, sweep
from fjvoucher.pdf.jobs import PdfFailure, PdfJob
from fjvoucher.pdf.masters import docx_master
from fjvoucher.roster.cells import parse_date
from fjvoucher.roster.checks import CheckedRoster, GlyphProbe, check_roster, only_row_errors
from fjvoucher.roster.idcard import mask_id
from fjvoucher.roster.records import Candidate
from fjvoucher.roster.report import Finding, Report
from fjvoucher.sheets.register import holds_rows, register_rows, write_register, write_rejected
from fjvoucher.word.drawn import draw_record
from fjvoucher.word.drawn import photo_shapes as _photo_shapes
from fjvoucher.word.drawn import probe_master as _probe_master
from fjvoucher.word.master import PreparedTemplate, prepare_template
from fjvoucher.word.photos import PhotoFolder, PhotoInfo, check_photo, load_photo
from fjvoucher.word.qr import qr_image, verify_link
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
    group_by: str | None = None  # a column (鉴定站, 考试批次 …): one folder, batch and register per value
    today: dt.date | None = None
    format: str | None = None  # "docx", "pdf", "both"; None: both where a PDF engine is found, else docx
    pdf_engine: str = "auto"  # drawn where the master's probe passed, else LibreOffice; "libreoffice"; "word"
    soffice: Path | None = None
    ledger: Path | str | None = None  # a file or a postgresql:// URL; None: no ledger (library use)
    center_code: str | None = None  # for new NOs; default: the certificate number's province and city
    no_pattern: str = DEFAULT_PATTERN
    reissue: bool = False
    glyphs: GlyphProbe | None = None  # whether a font draws a character (the CLI gives fontconfig's answer)
    clock: Clock | None = None  # the ledger's time for events (tests pass months by it)
    verify_url: str | None = None  # the centre's verification site: vouchers print their code and a QR link
    other_centre: str = "refuse"  # a candidate another centre issued (shared ledger): refuse or warn


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
    photos_found: int = 0
    photo_folder: Path | None = None
    groups: list[Group] = field(default_factory=list)  # with --group-by: each group's folder and register

    @property
    def rows(self) -> int:
        """Return how many roster rows were read."""
        return self.checked.report.rows


@dataclass
class Group:
    """One group of a --group-by merge: the column's value, its folder, its register, how many vouchers."""

    value: str
    folder: Path
    register: Path | None
    vouchers: int


@dataclass(slots=True)
class _Planned:
    """A candidate, its file stem, its photo's file name and header (None without one), and its NO once given."""

    candidate: Candidate
    stem: str
    photo: tuple[str, PhotoInfo] | None
    voucher_no: str = ""


def merge_roster(roster: Path | str, outdir: Path | str, options: MergeOptions | None = None,
                 progress: Progress | None = None) -> MergeResult:
    """Check `roster`, then write its vouchers, batches and register into `outdir`.

    The steps, in order: preflight (options, output folder, PDF engine, master) → read and check
    (against the ledger too, read only) → plan (stamping order, file names, photos) → per batch:
    issue in the ledger, render, stage, commit, hand to the PDF engine → the register and
    rejected rows → the manifest.  Nothing is written before the checks have passed.
    """
    options = options or MergeOptions()
    outdir = Path(outdir)
    template, result = _preflight(roster, outdir, options)
    photos = PhotoFolder(options.photos) if options.photos else None
    checked, photo_names = _read_and_check(roster, options, photos, template.boxes)
    result.checked = checked
    if not checked.report.valid and not (options.skip_invalid and only_row_errors(checked.report)):
        return result
    planned = _plan(checked, options, photo_names)
    result.photos_found = sum(1 for p in planned if p.photo)  # of the vouchers printed, not of rejected rows
    groups = _groups(planned, outdir, options) if options.group_by else {outdir: ("", planned)}
    claims = {folder: _names_written(members, options.batch_size, result.format, options.per_candidate)
              for folder, (_, members) in groups.items()}
    if checked.rejected:
        claims[outdir] = claims.get(outdir, []) + [REJECTED_NAME]
    claim(claims)  # nothing of the clerk's in the way: only now is anything written
    if options.group_by:
        written = _merge_groups(template, groups, photos, options, result, progress)
    else:
        written = _issue_render_convert(template, planned, outdir, photos, options, result, progress)
        written += _write_register(outdir, planned, checked, result, options)
    written += _write_rejected(outdir, checked, result)
    replace_manifest(outdir, written)
    result.written, result.merged, result.rejected = True, len(planned), len(checked.rejected)
    return result


def _preflight(roster: Path | str, outdir: Path, options: MergeOptions) -> tuple[PreparedTemplate, MergeResult]:
    """Refuse what cannot work before reading a row: options, the output folder, the PDF engine, the master."""
    if options.batch_size < 1:
        raise InputError("--batch-size 必须是正整数 (must be at least 1)")
    check_pattern(options.no_pattern, options.center_code)
    check_output_folder(outdir, {"名册 roster": Path(roster), "母版 master": options.template,
                                 "照片文件夹 photos": options.photos, "台账 ledger": _ledger_file(options)})
    if isinstance(options.ledger, Path) and not options.ledger.exists():  # a ledger to create: its folder too
        check_writable(Path(options.ledger).parent, "台账所在的文件夹", subfolders=())
    output_format, notes = choose_format(options.format, options.pdf_engine, options.soffice)
    # Read, not written: its boxes are part of the checks.  A .doc master is converted once (cached).
    template = prepare_template(docx_master(options.template, options.soffice))
    result = MergeResult(CheckedRoster(Report(str(roster), None), []), format=output_format, notes=notes,
                         photo_folder=options.photos)
    with _existing_ledger(options) as known:
        result.notes += known.notes if known else []  # an upgrade that chained the history is said, once
    return template, result


def _batch_name(number: int) -> str:
    return f"batch-{number:03d}"


def _names_written(planned: list[_Planned], batch_size: int, output_format: str, per_candidate: bool,
                   batches: list[str] | None = None) -> list[str]:
    """Return the files (relative to their folder) a run writes for `planned`: batches and per-candidate files."""
    suffixes = [suffix for suffix, wanted in ((".docx", output_format in ("docx", "both")),
                                              (".pdf", output_format in ("pdf", "both"))) if wanted]
    batches = batches or [_batch_name(n) for n in range(1, -(-len(planned) // batch_size) + 1)]
    names = [f"batches/{batch}{suffix}" for batch in batches for suffix in suffixes]
    if per_candidate:
        names += [f"vouchers/{p.stem}{suffix}" for p in planned for suffix in suffixes]
    return names


def _issue_render_convert(template: PreparedTemplate, planned: list[_Planned], outdir: Path,
                          photos: PhotoFolder | None, options: MergeOptions, result: MergeResult,
                          progress: Progress | None, record: Recorder | None = None) -> list[str]:
    """Clear what a killed run left, then issue, render and convert batch by batch; return the files written.

    The output folder is made before the ledger is opened: a folder that cannot be made leaves no ledger.
    """
    make_folder(outdir)
    remove_temporary_files(outdir)
    sweep(outdir)
    with (Ledger(options.ledger, clock=options.clock) if options.ledger else nullcontext()) as ledger:
        return _render_convert_record(template, planned, outdir, photos, options, result, progress, ledger, record)


def _groups(planned: list[_Planned], outdir: Path, options: MergeOptions) -> dict[Path, tuple[str, list[_Planned]]]:
    """Return each group's folder, its value of --group-by and its vouchers, in the order of the values."""
    column = _value_of(options.group_by or "", options)
    groups: dict[str, list[_Planned]] = {}
    for p in planned:
        groups.setdefault(column(p.candidate).strip(), []).append(p)
    return {outdir / (safe_name(value) or "（空白）"): (value, groups[value])
            for value in sorted(groups, key=sort_value)}


def _merge_groups(template: PreparedTemplate, groups: dict[Path, tuple[str, list[_Planned]]],
                  photos: PhotoFolder | None, options: MergeOptions, result: MergeResult,
                  progress: Progress | None) -> list[str]:
    """Write each group (a value of --group-by) into its own folder: its batches, vouchers and register.

    Groups come in the order of their values (as --sort-by orders them), each in stamping order; a
    group's folder has its own manifest, so a re-run cleans it as it cleans the output folder.
    """
    planned = [p for _, members in groups.values() for p in members]
    record = _issuer(options, frozenset(p.candidate["voucher_no"] for p in planned) - {""}, template.sha256)
    for folder, (value, members) in groups.items():
        part = MergeResult(result.checked, format=result.format)
        files = _issue_render_convert(template, members, folder, photos, options, part, progress, record)
        files += _write_register(folder, members, result.checked, part, options, heading=value)
        replace_manifest(folder, files)
        result.batches += part.batches
        result.pdf_failures += part.pdf_failures
        result.groups.append(Group(value, folder, part.register, len(members)))
        result.notes += part.notes
    return []


def _ledger_file(options: MergeOptions) -> Path | None:
    """Return the ledger when it is a file (what an output folder must not overwrite); a database is not."""
    return options.ledger if isinstance(options.ledger, Path) else None


def _existing_ledger(options: MergeOptions):
    """Return the ledger to check rows against when it exists, else a context giving None."""
    if options.ledger and ledger_exists(options.ledger):
        return Ledger(options.ledger, create=False, clock=options.clock)
    return nullcontext()


# --- read and check ------------------------------------------------------------------------------

def _read_and_check(roster, options: MergeOptions, photos: PhotoFolder | None,
                    boxes: dict[str, float]) -> tuple[CheckedRoster, dict[int, tuple[str, PhotoInfo]]]:
    """Check the roster, and what merging adds (centre, photos, ledger); return it and each row's photo."""
    photo_names: dict[int, tuple[str, PhotoInfo]] = {}
    with _existing_ledger(options) as known:  # read to check against; never created for a roster that fails

        def merge_checks(candidate: Candidate, add) -> None:
            if known:
                check_against_ledger(known, candidate, options, add)
            if photos is not None:
                _check_photo(photos, candidate, options.require_photos, add, photo_names)

        checked = check_roster(roster, options.sheet, today=options.today, keep=True, extra=merge_checks,
                               extra_columns=_extra_columns(options), glyphs=options.glyphs,
                               boxes=boxes, center=options.center)
    if photos is None:
        checked.report.findings.insert(0, Finding(None, None, "照片", "photo", "warning", "photos-none", {}))
    return checked, photo_names


def _check_photo(photos: PhotoFolder, candidate: Candidate, required: bool, add,
                 photo_names: dict[int, tuple[str, PhotoInfo]]) -> None:
    """Find the candidate's photo and check that it can be read; remember its file name."""
    name = photos.find(candidate["id_number"], candidate["exam_no"])
    if name is None:
        add("photo", "error" if required else "warning", "photo-missing",
            id=mask_id(candidate["id_number"]), exam_no=candidate["exam_no"] or "-")
        return
    try:
        info = check_photo(photos.path(name))
    except PhotoError as exc:
        add("photo", "error", "photo-unreadable", file=name, reason=exc.reason)
        return
    photo_names[candidate.row] = (name, info)


def check_against_ledger(ledger: Ledger, candidate: Candidate, options: MergeOptions, add) -> None:
    """Add what the issuing rule says of the row, given what the ledger holds (read only: nothing recorded)."""
    cert, own_no = candidate["certificate_no"], candidate["voucher_no"]
    decision = decide(ledger.for_certificate(cert), _entry_fields(candidate, options), reissue=options.reissue)
    old = decision.voucher
    if decision.code == "ledger-retired" and old:
        add("certificate_no", "error", "ledger-retired", value=cert, voucher_no=old.voucher_no,
            status=STATUS_WORDS[old.status], reason=old.reason or "-")
        return
    if decision.code in ("ledger-changed", "ledger-reissue") and old:
        add("certificate_no", "error" if decision.action == "refuse" else "warning", decision.code,
            value=cert, voucher_no=old.voucher_no, changes=describe(decision.changes, mask=mask_id))
    center = options.center_code or cert[2:6]
    other = ledger.in_force_elsewhere(candidate["id_number"], candidate["occupation"], candidate["level"], center)
    severity = other_centre_severity(other, decision, options.other_centre)
    if severity and other:
        add("id_number", severity, "ledger-other-centre", value=mask_id(candidate["id_number"]),
            center=other.center_code, voucher_no=other.voucher_no, other_cert=other.fields["certificate_no"])
    if own_no:
        clash = own_no_clash(own_no, ledger.get(own_no), cert, decision, options.reissue)
        if clash is not None:
            add("voucher_no", "error", "voucher-no-clash", value=own_no, other=clash)


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


def _plan(checked: CheckedRoster, options: MergeOptions,
          photo_names: dict[int, tuple[str, PhotoInfo]]) -> list[_Planned]:
    """Return the vouchers to write, in stamping order (--sort-by), each with its file stem and photo."""
    planned = [_Planned(c, file_stem(c["certificate_no"], c["name"], c.row), photo_names.get(c.row))
               for c in checked.candidates]
    planned.sort(key=_sort_order(options.sort_by))
    return planned


def _extra_columns(options: MergeOptions) -> tuple[str, ...]:
    """Return the columns outside the layout that candidates keep: --sort-by's, then --group-by's."""
    named = options.sort_by + ((options.group_by,) if options.group_by else ())
    return tuple(dict.fromkeys(_columns_outside_layout(named)))


def _value_of(name: str, options: MergeOptions):
    """Return how to read column `name` (a layout field or a column outside it) from a candidate."""
    key = _layout_key(name)
    if key:
        return lambda candidate: candidate[key]
    index = _extra_columns(options).index(name)
    return lambda candidate: candidate.extra[index]


def _sort_order(names: tuple[str, ...]):
    """Return the sort key for --sort-by: values as what they are (dates as dates, scores and other numbers
    as numbers, text in pinyin order), blanks last; the roster's order breaks ties."""
    others = _columns_outside_layout(names)
    where = [(_layout_key(name), others.index(name) if _layout_key(name) is None else -1) for name in names]
    parsed = {"birth_date": "birth", "issue_date": "issue"}  # dates the checks parsed already

    def order(planned: _Planned) -> tuple:
        candidate = planned.candidate
        return tuple(_date_key(getattr(candidate, parsed[key])) if key in parsed
                     else sort_value(candidate[key] if key else candidate.extra[i]) for key, i in where)

    return order


def _date_key(day: dt.date | None) -> tuple:
    return (1, day.toordinal()) if day else (3, 0)


def sort_value(text: str) -> tuple:
    """Return how `text` sorts: a number by its value, a date by its day, other text by pinyin, blanks last.

    Each kind carries its rank first, so a column mixing them never compares a number with a word.
    """
    text = text.strip()
    if not text:
        return (3, 0)
    if _NUMBER.fullmatch(text):
        return (0, float(text)) if "." in text else (0, int(text))
    day = parse_date(text, text)
    if day is not None:
        return _date_key(day)
    return (2, pinyin_key(text))


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


# --- render, convert, record ---------------------------------------------------------------------

Recorder = Callable[["Batch | None", list[_Planned], str], list[Issued]]
BatchName = str | Callable[[list[Issued]], str]  # a batch's name, or how to name it from what was issued


def _render_convert_record(template: PreparedTemplate, planned: list[_Planned], outdir: Path,
                           photos: PhotoFolder | None, options: MergeOptions, result: MergeResult,
                           progress: Progress | None, ledger: Ledger | None,
                           record: Recorder | None = None, batch_names: list[BatchName] | None = None
                           ) -> list[str]:
    """Write the per-candidate documents and the batches, one batch in memory at a time.

    Each batch is rendered and staged, then its records are committed, then its files are moved
    into place: a failure records nothing, and a run killed anywhere can simply be run again.
    Batches go to the PDF engine once in place, so conversion overlaps generation.  Return the
    written files' names relative to `outdir` (strings: 150,000 Paths weigh 60 MB).
    """
    record = record or _issuer(options, frozenset(p.candidate["voucher_no"] for p in planned) - {""},
                               template.sha256)
    sample = next((p.photo for p in planned if p.photo), None)  # the drawing engine's probe shows one photo
    writer = _BatchWriter(template, outdir, photos, options, result, progress, ledger, record, len(planned),
                          load_photo(photos.path(sample[0]), sample[1]) if sample and photos else None,
                          _photo_shapes(p.photo[1] for p in planned if p.photo))
    try:
        for number, start in enumerate(range(0, len(planned), options.batch_size), start=1):
            name = batch_names[number - 1] if batch_names else _batch_name(number)
            writer.write(start, planned[start:start + options.batch_size], name)
        return writer.finish()
    except BaseException:
        writer.abort()  # Ctrl-C (even while only PDFs remain) or an error: stop LibreOffice now, clean up
        raise


class _BatchWriter:
    """Write one batch after another: records, per-candidate files, the batch, its PDF job."""

    def __init__(self, template: PreparedTemplate, outdir: Path, photos: PhotoFolder | None,
                 options: MergeOptions, result: MergeResult, progress: Progress | None, ledger: Ledger | None,
                 record: Recorder, total: int, sample_photo=None, shapes=()):
        self.template, self.outdir, self.photos, self.options = template, outdir, photos, options
        self.result, self.progress, self.ledger, self.record, self.total = result, progress, ledger, record, total
        self.renderer = VoucherRenderer(template)
        self.make_docx, self.make_pdf = result.format in ("docx", "both"), result.format in ("pdf", "both")
        self.converter = open_engine(options.pdf_engine, outdir, options.soffice,
                                     _Counter(progress, "pdf", total).add,
                                     _probe_master(template, self.renderer, sample_photo, shapes),
                                     _probe_progress(progress), self.renderer.batch) if self.make_pdf else None
        self.drawing = draws(self.converter)
        self.folder = outdir / "batches" if self.make_docx or not self.converter else self.converter.workdir / "docx"
        self.written: list[str] = []
        self.jobs: list[PdfJob] = []

    def write(self, start: int, chunk: list[_Planned], name: BatchName) -> None:
        """Write the batch `name` of `chunk`, whose first voucher is number `start` of the run.

        `name` may be a function of what the ledger issued (a reissue is named by its new NO).
        """
        staging = Staging()
        try:
            with self._transaction() as transaction:
                issued = self.record(transaction, chunk, self.file_name(name) if isinstance(name, str) else "")
                batch = self.folder / f"{name if isinstance(name, str) else name(issued)}.docx"
                created = self._document_date(chunk, issued)
                vouchers = [self._voucher(p, i) for p, i in zip(chunk, issued, strict=True)]
                bodies = [self.renderer.render_body(v, n) for n, v in enumerate(vouchers, start=1)]
                if self.options.per_candidate and self.make_docx:
                    self._stage_singles(staging, start, [p.stem for p in chunk], vouchers, bodies)
                staging.write(batch, self.renderer.batch(vouchers, bodies))
            staging.commit()  # the records are committed: now the files appear
        except BaseException:
            staging.discard()
            raise
        self._written(start, chunk, batch, created,
                      ([draw_record(v) for v in vouchers], vouchers) if self.drawing else (None, None))

    def file_name(self, name: str) -> str:
        """Return the file the ledger records for batch `name`: its PDF, or its DOCX when no PDF is made."""
        return f"{name}.pdf" if self.make_pdf else f"{name}.docx"

    def _document_date(self, chunk: list[_Planned], issued: list[Issued]) -> dt.datetime:
        """Return the batch's document date: its vouchers' issue time in the ledger, else its latest 发证日期."""
        recorded = self.ledger.issue_time([i.voucher_no for i in issued]) if self.ledger else None
        return recorded or dt.datetime.combine(max(p.candidate.issue or dt.date.min for p in chunk), dt.time())

    def _transaction(self):
        return self.ledger.batch() if self.ledger else nullcontext(None)

    def _written(self, start: int, chunk: list[_Planned], batch: Path, created: dt.datetime,
                 drawn: tuple[list | None, list | None] = (None, None)) -> None:
        """Note the files of a batch now in place, and hand the batch to the PDF engine."""
        if self.options.per_candidate and self.make_docx:
            self.written += [f"vouchers/{p.stem}.docx" for p in chunk]
        self.result.batches.append(self.outdir / "batches" / batch.name)
        if self.make_docx:
            self.written.append(f"batches/{batch.name}")
        if self.converter:
            singles = [self.outdir / f"vouchers/{p.stem}.pdf" for p in chunk] if self.options.per_candidate else []
            self.jobs.append(PdfJob(batch, self.outdir / "batches" / f"{batch.stem}.pdf", len(chunk), singles,
                                    created, *drawn))
            self.converter.submit(self.jobs[-1])
        if self.progress:
            self.progress("docx", start + len(chunk), self.total)

    def _voucher(self, planned: _Planned, issued: Issued) -> Voucher:
        planned.voucher_no = issued.voucher_no
        url, code = self.options.verify_url, issued.verify_code
        context = voucher_context(planned.candidate, center=self.options.center or "", voucher_no=issued.voucher_no,
                                  reissue=bool(issued.replaces), replaces=issued.replaces,
                                  verify_code=code if url else "")
        photo = (load_photo(self.photos.path(planned.photo[0]), planned.photo[1])
                 if planned.photo and self.photos else None)  # a row has a photo only when there is a folder
        qr = qr_image(verify_link(url, issued.voucher_no, code)) if url and code else None
        return Voucher(context, photo, qr)

    def _stage_singles(self, staging: Staging, start: int, stems: list[str], vouchers: list[Voucher],
                       bodies: list) -> None:
        for done, (stem, voucher, body) in enumerate(zip(stems, vouchers, bodies, strict=True), start=start + 1):
            staging.write(self.outdir / f"vouchers/{stem}.docx", self.renderer.single(voucher, body))
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
            self.result.notes += notes_of(self.converter)
        return self.written


def _issuer(options: MergeOptions, roster_nos: frozenset[str], template_sha256: str) -> Recorder:
    """Return how a merge records a batch: issue each candidate (new NOs skip the roster's own NOs), with
    the photo file it is printed with, which the ledger keeps for a reissue."""
    folder = Path(options.photos).resolve() if options.photos else None  # resolved once, not per voucher

    def record(batch: Batch | None, chunk: list[_Planned], batch_file: str) -> list[Issued]:
        if batch is None:
            return [Issued(p.candidate["voucher_no"]) for p in chunk]
        entries = [{**_entry_fields(p.candidate, options), "issued_on": p.candidate.issue, "batch_file": batch_file,
                    "page": page, "photo": str(folder / p.photo[0]) if folder and p.photo else ""}
                   for page, p in enumerate(chunk, start=1)]
        return batch.issue(entries, template_sha256=template_sha256, center_code=options.center_code,
                           pattern=options.no_pattern, reissue=options.reissue, reserved=roster_nos,
                           other_centre=options.other_centre)

    return record


def _probe_progress(progress: Progress | None):
    """Return how the first merge with a new master tells of its probe (a few seconds, once)."""
    return (lambda done, total: progress("probe", done, total)) if progress else None


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

def _write_register(outdir: Path, planned: list[_Planned], checked: CheckedRoster, result: MergeResult,
                    options: MergeOptions, heading: str = "") -> list[str]:
    """Write the register of `planned` into `outdir`; return the names the manifest keeps (none).

    The register is never overwritten once someone edited it (signatures typed into it): the new
    one goes beside it.  It is not in the manifest, so never cleaned up.
    """
    if result.format != "docx":
        failed = {f.job.pdf.name for f in result.pdf_failures}
        result.batches = [b.with_suffix(".pdf") if b.with_suffix(".pdf").name not in failed
                          else b.with_name(f"{b.stem}（PDF 未生成）") for b in result.batches]

    def rows():
        return register_rows([p.voucher_no or p.candidate["voucher_no"], p.candidate["name"],
                              p.candidate["certificate_no"], mask_id(p.candidate["id_number"]),
                              p.candidate["occupation"], p.candidate["level"],
                              result.batches[i // options.batch_size].name, i % options.batch_size + 1]
                             for i, p in enumerate(planned))

    result.register = _register_path(outdir, rows, result.notes)
    if not result.register.exists() or not holds_rows(result.register, rows()):
        write_register(result.register, _register_title(checked, planned, options, heading), rows())
        remember_written(outdir, result.register)
    return []


def _write_rejected(outdir: Path, checked: CheckedRoster, result: MergeResult) -> list[str]:
    """Write rejected.xlsx when rows were rejected; return the names the manifest keeps."""
    if not checked.rejected:
        return []
    result.rejected_file = write_rejected(outdir / REJECTED_NAME, checked.columns, checked.rejected)
    return [REJECTED_NAME]


def _register_path(outdir: Path, rows, notes: list[str]) -> Path:
    """Return where the register goes: the usual name, unless the register there was edited (signed).

    A register holding these rows stays as it is; one that fjvoucher wrote and nobody touched is
    replaced; one that was edited is kept, and the new one goes beside it, saying so in `notes`.
    """
    path = outdir / REGISTER_NAME
    number = 1
    while path.exists() and not holds_rows(path, rows()) and not untouched_since_written(outdir, path):
        number += 1
        path = outdir / f"{Path(REGISTER_NAME).stem}（{number}）.xlsx"
    if number > 1:
        notes.append(f"{REGISTER_NAME} 已有改动（如已签收），原样保留；这次的发放登记表写成 {path.name} "
                     "(the register was edited: kept, the new one written beside it)")
    return path


def _register_title(checked: CheckedRoster, planned: list[_Planned], options: MergeOptions, heading: str = "") -> str:
    center = options.center or next((p.candidate["center"] for p in planned if p.candidate["center"]), "")
    day = (options.clock or storage.now)().date()
    group = f"　{options.group_by}：{heading}" if options.group_by else ""
    return (f"{center} 凭证发放登记表　名册：{Path(checked.report.file).name}{group}　"
            f"{day.year}年{day.month}月{day.day}日")


# --- a lost voucher ------------------------------------------------------------------------------

@dataclass
class ReissueResult:
    """What reissuing a lost voucher did: the new NO, its files, its register, PDF failures, what to know."""

    old_no: str
    new_no: str
    files: list[str]
    pdf_failures: list[PdfFailure]
    register: Path | None = None
    notes: list[str] = field(default_factory=list)


def reissue_voucher(voucher_no: str, reason: str, outdir: Path | str, options: MergeOptions,
                    no_photo: bool = False) -> ReissueResult:
    """Reissue voucher `voucher_no` under a new NO from its ledger record; write the new voucher's files.

    The photo is the one the voucher was printed with (the ledger remembers its file), else the
    holder's photo in `options.photos`; a voucher printed with a photo whose file is gone is refused
    unless `no_photo` says an empty photo box is meant, and an empty box is always said in `notes`.
    The files and a one-row 发放登记表 to sign are named by the new NO.  The ledger reads the voucher
    again under the write lock and refuses it if it is no longer in force (revoked or reissued meanwhile).
    """
    if options.ledger is None:
        raise InputError("补发需要凭证台账：请给出 ledger（MergeOptions.ledger 或 --ledger）(reissue needs the ledger)",
                         code="ledger-not-found")
    check_pattern(options.no_pattern, options.center_code)
    outdir = Path(outdir)
    check_output_folder(outdir, {"母版 master": options.template, "照片文件夹 photos": options.photos,
                                 "台账 ledger": _ledger_file(options)})
    output_format, _ = choose_format(options.format, options.pdf_engine, options.soffice)
    template = prepare_template(docx_master(options.template, options.soffice))
    assert options.ledger is not None  # reissuing reads the ledger: merge_options() and the CLI name one
    with Ledger(options.ledger, create=False, clock=options.clock) as ledger:
        old = require_status(ledger.get(voucher_no), voucher_no, "issued", "补发")
        candidate = _candidate_from(old.fields)
        photos, photo, notes = _reissue_photo(old, candidate, options, no_photo)
        planned = [_Planned(candidate, "", photo)]
        extension = "docx" if output_format == "docx" else "pdf"

        def record(batch: Batch | None, chunk: list[_Planned], batch_file: str) -> list[Issued]:
            assert batch is not None  # a reissue always has its ledger
            _, issued = batch.replace(voucher_no, reason, options.center_code, options.no_pattern)
            chunk[0].stem = safe_name(f"{issued.voucher_no}_{candidate['name']}") or "补发"
            name = _reissue_name(issued.voucher_no)  # the files are named by the new NO: known only now
            claim({outdir: _names_written(chunk, 1, output_format, options.per_candidate, [name])
                   + [f"发放登记表-{name}.xlsx"]}, keep=True)  # refused: the transaction records nothing
            batch.place(issued.voucher_no, f"{_reissue_name(issued.voucher_no)}.{extension}", 1, template.sha256,
                        str(photos.path(photo[0]).resolve()) if photos and photo else None)
            return [issued]

        result = MergeResult(CheckedRoster(Report("", None), []), format=output_format)
        files = _render_convert_record(template, planned, outdir, photos, replace(options, batch_size=1), result,
                                       None, ledger, record=record,
                                       batch_names=[lambda issued: _reissue_name(issued[0].voucher_no)])
    new_no = planned[0].voucher_no
    register = _reissue_register(outdir, old, new_no, f"{_reissue_name(new_no)}.{extension}", options)
    return ReissueResult(voucher_no, new_no, files, result.pdf_failures, register, notes)


def _reissue_name(new_no: str) -> str:
    return f"补发-{safe_name(new_no)}"


def _reissue_photo(old, candidate: Candidate, options: MergeOptions,
                   no_photo: bool) -> tuple[PhotoFolder | None, tuple[str, PhotoInfo] | None, list[str]]:
    """Return the folder and photo a reissue prints, and notes: the file the voucher was printed with, else
    the holder's photo in the photo folder.  A voucher printed with a photo is never reissued without
    one unless `no_photo` says so; one printed without a photo is reissued so, with a note."""
    if no_photo:
        return None, None, ["补发的凭证不印照片（--no-photo）：照片框为空，请贴照片后再盖钢章 (no photo, as asked)"]
    remembered = Path(old.photo) if old.photo else None
    if remembered and remembered.is_file():
        return PhotoFolder(remembered.parent), (remembered.name, check_photo(remembered)), []
    folder = PhotoFolder(options.photos) if options.photos else None
    name = folder.find(candidate["id_number"], candidate["exam_no"]) if folder else None
    if folder and name:
        return folder, (name, check_photo(folder.path(name))), []
    looked = f"，照片文件夹 {options.photos} 中也没有以身份证号或准考证号命名的照片" if options.photos else ""
    if remembered:  # it was printed with a photo: an empty box now would be a different voucher
        raise InputError(f"补发 {old.voucher_no}：原凭证的照片 {remembered} 已不在{looked}。请用 --photos 指定照片"
                         "文件夹，或加 --no-photo 明确打印无照片的凭证 (no photo for the reissue)",
                         code="reissue-no-photo")
    return None, None, [f"照片：原凭证 {old.voucher_no} 印制时没有照片{looked}，补发的凭证照片框为空；需要照片时请用 "
                        "--photos 指定照片文件夹后重新补发 (no photo: the box is empty)"]


def _reissue_register(outdir: Path, old, new_no: str, batch_file: str, options: MergeOptions) -> Path:
    """Write the reissue's own 发放登记表 (one row, to sign for the new voucher), named by the new NO."""
    f = old.fields
    rows = register_rows([[new_no, f["name"], f["certificate_no"], mask_id(f["id_number"]), f["occupation"],
                           f["level"], batch_file, 1]])
    day = (options.clock or storage.now)().date()
    title = (f"{options.center or f['center']} 补发凭证登记表　原凭证 {old.voucher_no} → {new_no}　"
             f"{day.year}年{day.month}月{day.day}日")
    path = outdir / f"发放登记表-{_reissue_name(new_no)}.xlsx"
    write_register(path, title, rows)
    return path


def _candidate_from(fields: dict[str, str]) -> Candidate:
    """Return the candidate a ledger record describes (its printed text, its dates parsed back)."""
    values = tuple("" if f.key == "voucher_no" else fields.get(f.key, "") for f in FIELDS)
    birth, issue = (parse_date(fields[k], fields[k]) for k in ("birth_date", "issue_date"))
    return Candidate(0, values, birth, issue)
