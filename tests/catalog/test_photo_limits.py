"""Image uploads are judged by their header before any pixel is decoded."""

import io
import struct
import zlib

import pytest

from marketplace.catalog.models import ProductPhoto
from marketplace.certification.models import CertificationApplication, MarkClaim
from tests.factories import make_certified_product, make_product
from tests.helpers import login, post_form

SIDE = 8900  # 8900 × 8900 = 79.2 megapixels, above the 40-megapixel limit


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def one_colour_png(side: int = SIDE, *, truncated: bool = False) -> bytes:
    """A valid one-colour 1-bit PNG of side × side pixels: a few KB on the wire.

    `truncated` cuts the pixel data short: a decoder would fail on it, so a refusal that
    names the pixel count proves the header was judged before any decoding."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    pixels = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    if truncated:
        pixels = pixels[:len(pixels) // 3]
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels)
            + _chunk(b"IEND", b""))


def page(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("truncated", [False, True])
def test_a_79_megapixel_photo_is_refused_from_its_header(client, places, producer, producer_org,
                                                         truncated):
    png = one_colour_png(truncated=truncated)
    assert len(png) < 100_000
    product = make_certified_product(producer_org, places.starch)
    login(client, "farmer")
    response = post_form(client, f"/my/products/{product.id}/photos",
                         {"photo": (io.BytesIO(png), "huge.png")},
                         page=f"/my/products/{product.id}/edit",
                         content_type="multipart/form-data", follow_redirects=True)
    assert "图片像素过多（8900×8900）" in page(response)
    assert ProductPhoto.query.count() == 0


def test_a_photo_within_the_limit_is_accepted(client, places, producer, producer_org):
    product = make_certified_product(producer_org, places.starch)
    login(client, "farmer")
    response = post_form(client, f"/my/products/{product.id}/photos",
                         {"photo": (io.BytesIO(one_colour_png(300)), "ok.png")},
                         page=f"/my/products/{product.id}/edit",
                         content_type="multipart/form-data", follow_redirects=True)
    assert "照片已上传" in page(response)
    assert ProductPhoto.query.count() == 1


def test_a_79_megapixel_scan_as_evidence_is_refused_with_the_reason(client, places, producer,
                                                                    producer_org):
    """Evidence documents take images too: a too-large scan is told why, not "not an image"."""
    product = make_product(producer_org, places.starch)
    login(client, "farmer")
    response = post_form(client, f"/my/products/{product.id}/apply", {
        "annual_supply_capacity": "50 吨", "benefit_mechanism": "务工",
        "test_report": (io.BytesIO(one_colour_png(truncated=True)), "scan.png"),
    }, content_type="multipart/form-data")
    assert response.status_code == 200 and "图片像素过多（8900×8900）" in page(response)
    assert CertificationApplication.query.count() == 0
    response = post_form(client, f"/my/products/{product.id}/marks", {
        "mark": "organic", "evidence_number": "OF-1",
        "document": (io.BytesIO(one_colour_png(truncated=True)), "scan.png"),
    }, page=f"/my/products/{product.id}/edit", content_type="multipart/form-data",
        follow_redirects=True)
    assert "图片像素过多（8900×8900）" in page(response)
    assert MarkClaim.query.count() == 0
