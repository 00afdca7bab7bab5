"""Find each candidate's photo in a folder and size it into the one-inch photo box."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fjvoucher.errors import InputError, PhotoError
from fjvoucher.layout import fold_key

EXTENSIONS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
EMU_PER_MM = 36000
PHOTO_BOX_MM = (24.5, 34.5)  # a hair inside the 25×35 mm box so the picture never grows the cell


@dataclass(frozen=True)
class Photo:
    """A candidate's photo: its bytes, format and pixel size."""

    data: bytes
    ext: str  # "jpeg" or "png": the part name's extension
    width: int
    height: int

    def extent(self, box_mm: tuple[float, float] = PHOTO_BOX_MM) -> tuple[int, int]:
        """Return the drawing size in EMU that fits the photo in `box_mm`, keeping its aspect ratio."""
        box_w, box_h = (round(v * EMU_PER_MM) for v in box_mm)
        scale = min(box_w / self.width, box_h / self.height)
        return round(self.width * scale), round(self.height * scale)


class PhotoFolder:
    """The photos of one folder, indexed once by file stem (ID number or exam number)."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"照片文件夹不存在：{self.folder}。请检查 --photos 或 fjvoucher config 中的 photos "
                             "(photo folder not found)")
        # File names, not Path objects: a province's folder holds 150,000 photos.
        self.by_stem: dict[str, str] = {}
        with os.scandir(self.folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                stem, ext = os.path.splitext(entry.name)
                if ext.lower() in EXTENSIONS and entry.is_file():
                    self.by_stem.setdefault(fold_key(stem), entry.name)

    def find(self, id_number: str, exam_no: str = "") -> str | None:
        """Return the file name of the photo named by the ID number, else by the exam number, else None."""
        for code in (id_number, exam_no):
            if code and (name := self.by_stem.get(fold_key(code))):
                return name
        return None

    def path(self, name: str) -> Path:
        """Return the full path of photo file `name` in this folder."""
        return self.folder / name


ORIENTATION = 0x0112  # EXIF tag: how a phone held the camera


END_MARKERS = {"jpeg": b"\xff\xd9", "png": b"IEND\xae\x42\x60\x82"}


@dataclass(frozen=True, slots=True)
class PhotoInfo:
    """What checking a photo learnt from its header, so that loading it later need not parse it again."""

    ext: str
    width: int
    height: int
    orientation: int


def check_photo(path: Path) -> PhotoInfo:
    """Check that a photo is a JPEG or PNG of sane size that ends where such a file ends; raise PhotoError.

    A truncated file (a copy cut short) lacks the end marker and would print as a grey strip.  The
    check reads the header and the file's last bytes: decoding 150,000 photos here would add a
    minute and a half to the province's merge; the photo is embedded as it is.
    """
    info = PhotoInfo(*_header(path))
    try:
        with open(path, "rb") as photo:
            photo.seek(max(0, path.stat().st_size - 64))
            tail = photo.read()
    except OSError as exc:
        raise PhotoError(f"无法读取 ({exc})") from exc
    if END_MARKERS[info.ext] not in tail:
        raise PhotoError("图片文件不完整（结尾缺失），打印出来会缺一块 (truncated image)")
    return info


def _header(source: Path | BinaryIO) -> tuple[str, int, int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            width, height, fmt = image.width, image.height, image.format
            orientation = image.getexif().get(ORIENTATION, 1) if fmt == "JPEG" else 1
    except Image.DecompressionBombError as exc:
        raise PhotoError("图片的像素尺寸大得异常，可能是恶意文件 (decompression bomb)") from exc
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise PhotoError("不是可识别的图片文件 (not a readable image)") from exc
    if fmt not in ("JPEG", "PNG"):
        raise PhotoError(f"图片格式是 {fmt}，不是 JPG 或 PNG (not JPG or PNG)")
    if not width or not height:
        raise PhotoError("图片尺寸为零 (empty image)")
    return ("png" if fmt == "PNG" else "jpeg"), width, height, orientation


def load_photo(path: Path, info: PhotoInfo | None = None) -> Photo:
    """Read the photo at `path`, turned upright when its EXIF orientation says so (a phone photo).

    `info`, from checking the photo, spares parsing its header a second time.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PhotoError(f"无法读取 ({exc})") from exc
    ext, width, height, orientation = (info.ext, info.width, info.height, info.orientation) if info \
        else _header(io.BytesIO(data))
    if orientation not in (None, 1):
        data, width, height = _upright(data)
    return Photo(data, ext, width, height)


def _upright(data: bytes) -> tuple[bytes, int, int]:
    """Return the JPEG turned as its EXIF orientation says, re-encoded without the tag."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as image:
        turned = ImageOps.exif_transpose(image).convert("RGB")
    out = io.BytesIO()
    turned.save(out, "JPEG", quality=95)
    return out.getvalue(), turned.width, turned.height
