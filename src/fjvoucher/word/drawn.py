"""A master and its vouchers as the drawing engine sees them: what to probe, and what each voucher prints.

The probe renders marker values through the master exactly as the merge renders records, so a
placeholder must print its value as it is: a filter (`upper`, `replace`, a MERGEFIELD switch) or a
condition on a value would print something the probe never saw, and such a master is not drawn.
"""

from __future__ import annotations

import re
from pathlib import Path

from fjvoucher.pdf.drawing import DrawRecord
from fjvoucher.pdf.probe import ProbeMaster
from fjvoucher.roster.cells import CONTROL_CHARACTERS
from fjvoucher.word.master import DOCUMENT, PreparedTemplate, prepare_template
from fjvoucher.word.photos import Photo
from fjvoucher.word.render import Voucher, VoucherRenderer

_TAG = re.compile(r"<[^>]+>")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
_PLAIN_NAME = re.compile(r"^\s*\w+\s*$")
_BRANCH = re.compile(r"^p?\s*(if\s+(reissue|qr|photo)|endif)\s*$")


def plain_master(template: PreparedTemplate) -> bool:
    """Return whether every placeholder prints a name as it is, and every condition is on a branch the
    drawing engine tells apart (reissue, qr, photo)."""
    text = _TAG.sub("", template.parts.get(DOCUMENT, b"").decode("utf-8", "replace"))
    for value, block in _PLACEHOLDER.findall(text):
        if value and not _PLAIN_NAME.match(value):
            return False
        if block and not _BRANCH.match(block.strip()):
            return False
    return True


def probe_master(template: PreparedTemplate, renderer: VoucherRenderer, photo: Photo | None) -> ProbeMaster:
    """Return what the probe needs of `template`; `photo` (one of the merge's) is drawn on the probe pages."""

    def render(contexts: list[dict], photos: list[bool]) -> bytes:
        return renderer.batch([Voucher(c, photo if p else None) for c, p in zip(contexts, photos, strict=True)])

    return ProbeMaster(template.sha256, template.names, dict(template.boxes),
                       template.personal_headers or not plain_master(template), render,
                       photo.extent() if photo is not None else None)


def draw_record(voucher: Voucher) -> DrawRecord:
    """Return what the voucher prints, as the drawing engine takes it."""
    context = voucher.context
    values = {k: CONTROL_CHARACTERS.sub("", v) for k, v in context.items() if isinstance(v, str)}
    branch = "reissue" if context.get("reissue") else "qr" if voucher.qr is not None else ""
    if not branch and any("\n" in v or "\t" in v for v in values.values()):
        branch = "listing"
    photo = voucher.photo
    if photo is None:
        return DrawRecord(values, branch=branch)
    return DrawRecord(values, photo.data if photo.ext in ("jpeg", "jpg") else b"", (photo.width, photo.height),
                      photo.extent(), branch)


def engine_for(master: Path | None, soffice: Path | None, workdir: Path) -> tuple[str, str]:
    """Return which PDF engine `--pdf-engine auto` gives the master (None: the bundled one) and why.

    Probes the master once (cached); photos are probed in the first merge, one shape at a time.
    """
    from fjvoucher.pdf.drawengine import plan_for
    from fjvoucher.pdf.libreoffice import find_soffice

    found = find_soffice(soffice)
    if found is None:
        return "none", "找不到 LibreOffice：只能生成 Word 文件 (LibreOffice not found: DOCX only)"
    template = prepare_template(master)
    plan, refused = plan_for(probe_master(template, VoucherRenderer(template), None), found, workdir)
    if plan is None:
        return "libreoffice", f"由 LibreOffice 生成：{refused} (printed by LibreOffice: the probe refused it)"
    return "drawing", (f"直接绘制：探测通过，{len(plan.lines)} 行字段 (drawn: the probe passed; vouchers it "
                       "cannot prove go to LibreOffice)")
