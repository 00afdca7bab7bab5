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
from fjvoucher.word.qr import qr_image
from fjvoucher.word.render import Voucher, VoucherRenderer

_TAG = re.compile(r"<[^>]+>")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
_PLAIN_NAME = re.compile(r"^\s*\w+\s*$")
PROBE_LINK = "https://jd.example.cn/v/3501200900001?c=ABCDEFGHJKMN"  # the probe's QR: only its place matters
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


def probe_master(template: PreparedTemplate, renderer: VoucherRenderer, photo: Photo | None,
                 extents: tuple[tuple[int, int], ...] = ()) -> ProbeMaster:
    """Return what the probe needs of `template`; `photo` (one of the merge's) is drawn on the probe pages, and in
    each photo shape of `extents` (EMU: the shapes the merge prints) on a page of its own."""

    def render(contexts: list[dict], photos: list) -> bytes:
        vouchers = []
        for context, shown in zip(contexts, photos, strict=True):
            code = qr_image(PROBE_LINK) if context.get("qr") is True else None  # the branch's QR, any link
            vouchers.append(Voucher(context | {"qr": ""}, _shaped(photo, shown), code))
        return renderer.batch(vouchers)

    return ProbeMaster(template.sha256, template.names, dict(template.boxes),
                       template.personal_headers or not plain_master(template), render,
                       photo.extent() if photo is not None else None, tuple(extents) if photo is not None else ())


def _shaped(photo: Photo | None, shown) -> Photo | None:
    """Return the probe's photo as a page shows it: none, as it is (True), or drawn `shown` EMU wide and high."""
    if photo is None or not shown:
        return None
    if shown is True:
        return photo
    return Photo(photo.data, photo.ext, shown[0], shown[1])  # Photo.extent gives back a shape that fits the box


def photo_shapes(infos) -> tuple[tuple[int, int], ...]:
    """Return the drawing sizes (EMU) of photos known by their headers (`PhotoInfo`), as the DOCX draws them upright
    (EXIF orientations 5–8 turn a photo a quarter), each once, in order of first appearance."""
    sizes = ((i.height, i.width) if i.orientation in (5, 6, 7, 8) else (i.width, i.height) for i in infos)
    return tuple(dict.fromkeys(Photo(b"", "jpeg", w, h).extent() for w, h in sizes))


def draw_record(voucher: Voucher) -> DrawRecord:
    """Return what the voucher prints, as the drawing engine takes it."""
    context = voucher.context
    values = {k: CONTROL_CHARACTERS.sub("", v) for k, v in context.items() if isinstance(v, str)}
    branch = "+".join(b for b, on in (("reissue", context.get("reissue")), ("qr", voucher.qr is not None)) if on)
    if any("\n" in v or "\t" in v for v in values.values()):
        branch = "listing"
    qr = voucher.qr.data if voucher.qr is not None else None
    photo = voucher.photo
    if photo is None:
        return DrawRecord(values, branch=branch, qr=qr)
    return DrawRecord(values, photo.data if photo.ext in ("jpeg", "jpg") else b"", (photo.width, photo.height),
                      photo.extent(), branch, qr)


def engine_for(master: Path | None, soffice: Path | None, workdir: Path) -> tuple[str, str]:
    """Return which PDF engine `--pdf-engine auto` gives the master (None: the bundled one) and why.

    Probes the master once (cached), its branches (reissue note, verification code and QR) with it; photos are
    placed in the first merge that prints them, once a shape.
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
    return "drawing", branches_said(plan)


def branches_said(plan) -> str:
    """Return what `template check` and `doctor` say of a proven master: its lines, which of its branches are drawn
    and which LibreOffice prints (and why), and how photos are placed."""
    from fjvoucher.pdf.drawengine import REASONS

    lines = sum(1 for line in plan.lines if not line.branch)
    said = f"直接绘制：探测通过，{lines} 行字段 (drawn: the probe passed, {lines} field lines)"
    if plan.branches:
        said += "；以下凭证也直接绘制 (drawn too)：" + "；".join(REASONS[f"branch:{b}"] for b in sorted(plan.branches))
    for branch, why in sorted(plan.refused_branches.items()):
        said += f"；{REASONS[f'branch:{branch}']} 由 LibreOffice 生成：{why} (printed by LibreOffice)"
    return said + ("；照片每种比例在第一次用到时探测一次；探测未证明的凭证由 LibreOffice 生成 (each photo shape is "
                   "placed once, in the first merge printing it; what the probe did not prove goes to LibreOffice)")
