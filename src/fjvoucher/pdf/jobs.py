"""What a PDF engine is asked to do and what it reports back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(eq=False)  # compared and hashed by identity: jobs key the results of a conversion
class PdfJob:
    """One batch to convert: its DOCX, where its PDF goes, its page count, and per-candidate PDF paths."""

    docx: Path
    pdf: Path
    pages: int
    singles: list[Path] = field(default_factory=list)  # one per page, in page order; empty for none
    created: dt.datetime | None = None  # the PDF's document date (the vouchers' issue time): re-runs match
    records: list | None = None  # what the drawing engine draws, one DrawRecord a page; None: convert the DOCX
    vouchers: list | None = None  # the same pages as the engine's `compose` takes them, for those it cannot draw


@dataclass
class PdfFailure:
    """A batch whose PDF could not be made, and why."""

    job: PdfJob
    reason: str


Progress = Callable[[int], None]  # called with the pages of each finished batch
