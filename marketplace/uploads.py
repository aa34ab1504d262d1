"""Safe storage of uploaded files: checked type and size, images re-encoded, random names.

Re-encoding an image through Pillow drops anything that is not pixels (scripts, EXIF with
GPS, polyglot payloads), so what is served back is exactly an image.
"""

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.errors import Invalid

IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "jpg", "GIF": "png"}
MAX_SIDE = 2000


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    content_type: str
    size: int


def upload_dir(kind: str) -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_limited(file_storage, limit: int, field: str) -> bytes:
    data = file_storage.read(limit + 1)
    if not data:
        raise Invalid(_("文件是空的。"), {field: [_("文件是空的。")]})
    if len(data) > limit:
        mb = limit // (1024 * 1024)
        msg = _("文件太大，不能超过 %(mb)s MB。", mb=mb)
        raise Invalid(msg, {field: [msg]})
    return data


class TooManyPixels(Invalid):
    """An image refused for its pixel count (a real image, but too large to decode)."""


def _check_pixels(image, field: str) -> None:
    """Refuse from the header alone: decoding a 79-megapixel image costs seconds and GBs."""
    limit = current_app.config["MAX_IMAGE_PIXELS"]
    width, height = image.size
    if width * height > limit:
        msg = _("图片像素过多（%(w)s×%(h)s），最多 %(n)s 万像素。", w=width, h=height,
                n=limit // 10_000)
        raise TooManyPixels(msg, {field: [msg]})


def _reencode_image(data: bytes, field: str) -> tuple[bytes, str, str]:
    # Pillow's own bomb check only raises at twice its limit; ours is exact and comes first.
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(io.BytesIO(data)) as probe:
            _check_pixels(probe, field)
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            if fmt not in IMAGE_FORMATS:
                raise UnidentifiedImageError(fmt)
            img = ImageOps.exif_transpose(img)
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            if IMAGE_FORMATS[fmt] == "jpg":
                img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
                return out.getvalue(), "jpg", "image/jpeg"
            img.convert("RGBA").save(out, "PNG", optimize=True)
            return out.getvalue(), "png", "image/png"
    except Invalid:
        raise
    except Exception:  # Pillow on a crafted file raises more than it documents: a PNG
        # without pixel data gives IndexError, which answered 500.
        msg = _("只能上传 JPG、PNG、WEBP 或 GIF 图片。")
        raise Invalid(msg, {field: [msg]}) from None


def _write(kind: str, data: bytes, ext: str, content_type: str) -> StoredFile:
    name = f"{secrets.token_hex(16)}.{ext}"
    (upload_dir(kind) / name).write_bytes(data)
    return StoredFile(stored_name=name, content_type=content_type, size=len(data))


def store_image(file_storage, kind: str = "photos", field: str = "photo") -> StoredFile:
    """Validate and re-encode an uploaded image; refuse anything else."""
    data = _read_limited(file_storage, current_app.config["MAX_IMAGE_BYTES"], field)
    clean, ext, content_type = _reencode_image(data, field)
    return _write(kind, clean, ext, content_type)


def store_document(file_storage, kind: str = "documents", field: str = "documents") -> StoredFile:
    """Accept a PDF (checked by its signature) or an image (re-encoded)."""
    data = _read_limited(file_storage, current_app.config["MAX_DOCUMENT_BYTES"], field)
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            msg = _("PDF 文件不完整。")
            raise Invalid(msg, {field: [msg]})
        return _write(kind, data, "pdf", "application/pdf")
    try:
        clean, ext, content_type = _reencode_image(data, field)
    except TooManyPixels:
        raise
    except Invalid:
        msg = _("证明材料只能是 PDF 或图片。")
        raise Invalid(msg, {field: [msg]}) from None
    return _write(kind, clean, ext, content_type)


def stored_path(kind: str, stored_name: str) -> Path:
    return upload_dir(kind) / stored_name


def discard(kind: str, stored_name: str) -> None:
    stored_path(kind, stored_name).unlink(missing_ok=True)
