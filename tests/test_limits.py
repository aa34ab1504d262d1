"""Every limit on both sides of its edge: the limit itself is accepted, one more is refused.

A limit tested far from its edge lets an off-by-one, or a limit multiplied by ten, pass
unnoticed. Pixels, bytes, request size, photo and document counts (also under concurrent
uploads), prices and quantities, and money typed the ways people type it.
"""

import functools
import io
import threading
from decimal import Decimal

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from marketplace import create_app, uploads
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product, ProductPhoto
from marketplace.catalog.services import MAX_PHOTOS
from marketplace.certification import services as certification
from marketplace.certification.models import CertificationApplication
from marketplace.certification.services import MAX_DOCUMENTS
from marketplace.config import Config
from marketplace.errors import Invalid
from marketplace.extensions import db as _db
from marketplace.money import (
    MAX_FEN,
    MAX_QUANTITY,
    MoneyError,
    format_yuan,
    parse_quantity,
    parse_yuan,
)
from tests import factories
from tests.factories import make_product, product_data
from tests.helpers import csrf_token, login, pdf_bytes, png_bytes, png_header, post_form
from tests.live import Browserless


def text(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    return _db.session.scalar(_db.select(_db.func.count(model.id)))


# --- money typed by people -----------------------------------------------------------

FLOAT_TRAPS = {"0.29": 29, "19.99": 1999, "1.15": 115, "4.35": 435}


@pytest.mark.parametrize("typed, fen", [
    *FLOAT_TRAPS.items(), ("1,234.50", 123450), ("１２．５０", 1250), ("¥12.5", 1250),
    ("0.01", 1), ("12", 1200), (f"{MAX_FEN // 100:,}.{MAX_FEN % 100:02d}", MAX_FEN),
    (str(MAX_FEN // 100), MAX_FEN - MAX_FEN % 100),
])
def test_typed_prices_become_exact_fen(typed, fen):
    assert parse_yuan(typed) == fen


def test_the_float_traps_are_traps():
    """Each value above comes out one fen short through a float: they can catch it."""
    assert all(int(float(typed) * 100) != fen for typed, fen in FLOAT_TRAPS.items())


@pytest.mark.parametrize("typed, reason", [
    ("1,2,3", "grouping"), ("12,50", "grouping"), ("1,23,456.00", "grouping"),
    ("1e5", "not a number"), ("NaN", "not a number"), ("Infinity", "not a number"),
    ("", "not a number"), ("12.5.0", "not a number"), ("-3", "not positive"),
    ("0", "not positive"), ("0.00", "not positive"), ("12.345", "more than two decimals"),
    (f"{MAX_FEN // 100}.{MAX_FEN % 100 + 1:02d}", "too large"),
])
def test_typed_prices_refused_with_a_reason(typed, reason):
    with pytest.raises(MoneyError) as exc:
        parse_yuan(typed)
    assert str(exc.value) == reason


def test_the_largest_price_fits_the_columns_that_store_it():
    """Prices are stored in integer columns (PostgreSQL integer: 2^31 - 1)."""
    assert MAX_FEN <= 2**31 - 1


LARGEST_QUANTITY = MAX_QUANTITY - Decimal("0.001")  # quantities have 3 decimals


def test_quantities_at_their_bounds():
    assert str(LARGEST_QUANTITY) == "99999999.999"
    assert parse_quantity("99999999.999") == LARGEST_QUANTITY
    assert parse_quantity("0.001") == parse_quantity("０．００１")
    assert parse_quantity("0", positive=False) == 0
    for typed, reason in (("100000000", "too large"), ("0.0001", "too many decimals"),
                          ("0", "not positive"), ("-3", "not positive"),
                          ("1e5", "not a number"), ("NaN", "not a number")):
        with pytest.raises(MoneyError) as exc:
            parse_quantity(typed)
        assert str(exc.value) == reason, typed


def test_price_and_stock_at_their_bounds_are_stored_exactly(client, places, producer):
    login(client, "farmer")
    largest = f"{MAX_FEN // 100:,}.{MAX_FEN % 100:02d}"
    response = post_form(client, "/my/products/new", product_data(
        places.starch, price_yuan=largest, stock="99999999.999", min_order_qty="99999999.999"))
    assert response.status_code == 302
    product = _db.session.scalars(_db.select(Product)).one()
    assert (product.price_fen, product.stock, product.min_order_qty) == (
        MAX_FEN, LARGEST_QUANTITY, LARGEST_QUANTITY)
    page = text(client.get(response.location))
    assert format_yuan(MAX_FEN).replace(",", "") in page and "99999999.999" in page

    one_more = f"{MAX_FEN // 100}.{MAX_FEN % 100 + 1:02d}"
    response = post_form(client, "/my/products/new", product_data(
        places.starch, price_yuan=one_more, stock="100000000"))
    assert response.status_code == 200
    assert "价格过大" in text(response) and "数值过大" in text(response)
    assert count(Product) == 1


# --- images: pixels and bytes --------------------------------------------------------

def upload_photo(client, product, payload: bytes, name="photo.png"):
    return post_form(client, f"/my/products/{product.id}/photos",
                     {"photo": (io.BytesIO(payload), name)},
                     page=f"/my/products/{product.id}/edit",
                     content_type="multipart/form-data", follow_redirects=True)


def test_shipped_pixel_limit_is_forty_megapixels(app):
    assert Config.MAX_IMAGE_PIXELS == 40_000_000
    shipped = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert shipped.config["MAX_IMAGE_PIXELS"] == 40_000_000
    assert app.config["MAX_IMAGE_PIXELS"] == 40_000_000  # the test app uses the default
    with pytest.raises(Invalid) as over:
        uploads.store_image(FileStorage(io.BytesIO(png_header(40_000_001, 1)), "big.png"))
    assert "像素过多" in over.value.message
    with pytest.raises(Invalid) as at_limit:  # refused only because it holds no pixels
        uploads.store_image(FileStorage(io.BytesIO(png_header(8000, 5000)), "edge.png"))
    assert "像素过多" not in at_limit.value.message


def test_pixels_at_the_limit_accepted_one_more_refused(app, client, places, producer,
                                                      producer_org):
    app.config["MAX_IMAGE_PIXELS"] = 10_000
    product = make_product(producer_org, places.starch)
    login(client, "farmer")
    assert "照片已上传" in text(upload_photo(client, product, png_bytes((100, 100))))
    page = text(upload_photo(client, product, png_bytes((73, 137))))  # 10,001 pixels
    assert "像素过多" in page
    assert count(ProductPhoto) == 1


def noisy_png(size) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_image_bytes_at_the_limit_accepted_one_more_refused(app, client, places, producer,
                                                           producer_org):
    product = make_product(producer_org, places.starch)
    payload = noisy_png((60, 60))
    login(client, "farmer")
    app.config["MAX_IMAGE_BYTES"] = len(payload) - 1
    assert "文件太大" in text(upload_photo(client, product, payload))
    app.config["MAX_IMAGE_BYTES"] = len(payload)
    assert "照片已上传" in text(upload_photo(client, product, payload))
    assert count(ProductPhoto) == 1


def test_document_bytes_at_the_limit_accepted_one_more_refused(app, places, producer,
                                                              producer_org):
    payload = pdf_bytes()
    app.config["MAX_DOCUMENT_BYTES"] = len(payload) - 1
    with pytest.raises(Invalid) as exc:
        uploads.store_document(FileStorage(io.BytesIO(payload), "r.pdf"))
    assert "文件太大" in exc.value.message
    app.config["MAX_DOCUMENT_BYTES"] = len(payload)
    assert uploads.store_document(FileStorage(io.BytesIO(payload), "r.pdf")).size == len(payload)


def test_request_size_at_the_limit_accepted_one_more_refused(app, client, places, producer,
                                                            producer_org):
    product = make_product(producer_org, places.starch)
    login(client, "farmer")
    url = f"/my/products/{product.id}/photos"
    token = csrf_token(client, f"/my/products/{product.id}/edit")
    boundary, body = encode_multipart({"csrf_token": token, "photo": FileStorage(
        io.BytesIO(png_bytes()), "p.png", content_type="image/png")})
    kind = f"multipart/form-data; boundary={boundary}"
    app.config["MAX_CONTENT_LENGTH"] = len(body) - 1
    response = client.post(url, data=body, content_type=kind)
    assert response.status_code == 413 and "上传的文件太大" in text(response)
    assert count(ProductPhoto) == 0
    app.config["MAX_CONTENT_LENGTH"] = len(body)
    assert client.post(url, data=body, content_type=kind).status_code == 302
    assert count(ProductPhoto) == 1


# --- counts --------------------------------------------------------------------------

def test_eighth_photo_accepted_ninth_refused(client, places, producer, producer_org):
    product = make_product(producer_org, places.starch)
    for _ in range(MAX_PHOTOS - 1):
        catalog.add_photo(producer, product, FileStorage(io.BytesIO(png_bytes()), "p.png"))
    login(client, "farmer")
    assert "照片已上传" in text(upload_photo(client, product, png_bytes()))
    assert f"最多 {MAX_PHOTOS} 张照片" in text(upload_photo(client, product, png_bytes()))
    assert MAX_PHOTOS == 8 and count(ProductPhoto) == 8


def documents(n: int) -> list:
    return [("test_report" if i == 0 else "other",
             FileStorage(io.BytesIO(pdf_bytes()), f"材料{i}.pdf")) for i in range(n)]


def test_ten_documents_accepted_eleven_refused(places, producer, producer_org):
    form = {"annual_supply_capacity": "50 吨", "benefit_mechanism": "务工"}
    first, second = (make_product(producer_org, places.starch, name=n) for n in ("甲", "乙"))
    with pytest.raises(Invalid) as exc:
        certification.apply_for_certification(producer, first, form,
                                              documents(MAX_DOCUMENTS + 1))
    assert "documents" in exc.value.errors
    application = certification.apply_for_certification(producer, second, form,
                                                        documents(MAX_DOCUMENTS))
    assert MAX_DOCUMENTS == 10 and len(application.documents) == 10
    assert count(CertificationApplication) == 1


def _photos_to(app, product_id: int, n: int) -> None:
    """Add or remove photos (through the services) until the product has n."""
    with app.app_context():
        product = _db.session.get(Product, product_id)
        farmer = product.organisation.members[0]
        while len(product.photos) > n:
            catalog.remove_photo(farmer, product.photos[-1])
            _db.session.refresh(product)
        while len(product.photos) < n:
            catalog.add_photo(farmer, product, FileStorage(io.BytesIO(png_bytes()), "p.png"))
            _db.session.refresh(product)


def race(*calls) -> list:
    """Run the calls at the same moment, one thread each; return their results."""
    barrier = threading.Barrier(len(calls))
    results = []

    def run(call):
        barrier.wait()
        results.append(call())

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_racing_uploads_never_make_a_ninth_photo(live_app):
    """Two people upload at the same moment to a product with 7 photos: one lands."""
    with live_app.app_context():
        places = factories.seed_places()
        org = factories.make_producer(places.yuzhou)
        factories.make_user("farmer", role="producer", organisation=org)
        product_id = factories.make_product(org, places.starch).id
    uploaders = [Browserless(live_app.base_url) for _ in range(2)]
    for person in uploaders:
        person.login("farmer", factories.PASSWORD)
    tokens = [person.token(f"/my/products/{product_id}/edit") for person in uploaders]
    for _round in range(3):
        _photos_to(live_app, product_id, MAX_PHOTOS - 1)
        pages = [page for _status, page in race(*(
            functools.partial(person.post, f"/my/products/{product_id}/photos",
                              {"photo": (io.BytesIO(png_bytes()), "p.png")}, token=token)
            for person, token in zip(uploaders, tokens, strict=True)))]
        assert sum("照片已上传" in page for page in pages) == 1
        assert sum(f"最多 {MAX_PHOTOS} 张照片" in page for page in pages) == 1
        with live_app.app_context():
            assert _db.session.scalar(_db.select(_db.func.count(ProductPhoto.id)).where(
                ProductPhoto.product_id == product_id)) == MAX_PHOTOS
