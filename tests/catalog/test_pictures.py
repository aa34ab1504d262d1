"""Products show their producer's photo, else an illustration of their line, served from static/."""

import io
import re

from marketplace.catalog.models import Category
from marketplace.catalog.pictures import CATEGORY_IMAGES, FOLDER, IMAGES, line_of
from marketplace.config import BASE_DIR
from marketplace.demo import data
from tests.factories import make_certified_product
from tests.helpers import login, png_bytes, post_form

LINES_DIR = BASE_DIR / "static" / FOLDER
SVG = r"/static/img/lines/%s(?:-[0-9a-f]{32})?\.svg"


def text(response) -> str:
    return response.get_data(as_text=True)


def test_every_illustration_is_vendored_with_its_licence():
    files = {p.stem for p in LINES_DIR.glob("*.svg")
             if not re.search(r"-[0-9a-f]{32}$", p.stem)}  # not `flask digest` copies
    assert files == set(IMAGES)  # what is used is there, and nothing else was copied
    notice = (LINES_DIR / "NOTICE.txt").read_text()
    assert "openmoji" in notice and "17.0.0" in notice and "CC BY-SA 4.0" in notice
    assert all(f"{name}.svg" in notice for name in files)
    assert "Attribution-ShareAlike 4.0" in (LINES_DIR / "LICENSE.txt").read_text()
    for name in files:
        svg = (LINES_DIR / f"{name}.svg").read_text()
        assert svg.startswith("<svg") and "<script" not in svg and "href" not in svg


def test_product_names_find_their_line():
    assert line_of("林下土鸡蛋").keyword == "鸡蛋"  # eggs, not a chicken
    assert line_of("红薯粉条").keyword == "粉条"  # vermicelli, not a sweet potato
    assert line_of("压榨花生油").image == line_of("芝麻香油").image != line_of("小粒花生").image
    assert line_of("蜡梅盆景").keyword == "盆景" and line_of("鄢陵蜡梅").keyword == "蜡梅"
    assert line_of("黑猪鲜肉").keyword == "猪"
    assert line_of("烟薯25号蜜薯").keyword == "薯"  # a sweet potato, not honey
    assert line_of("枣花蜜").keyword == line_of("槐花蜂蜜").keyword == "蜜"
    assert line_of("铁棍") is None
    # Every product line of the demo has its own picture, and they are many, not one.
    demo_names = [p[0] for products in data.PRODUCTS.values() for p in products]
    assert all(line_of(name) for name in demo_names)
    assert len({line_of(name).image for name in demo_names}) >= 30
    assert set(CATEGORY_IMAGES) == {code for code, _name in data.CATEGORIES}


def test_cards_and_pages_show_the_illustration_until_a_photo_is_uploaded(
        client, places, producer, producer_org):
    product = make_certified_product(producer_org, places.starch, name="禹州红薯粉条")
    card = re.search(r'<img src="([^"]+)" alt="([^"]+)"[^>]*class="illustration"',
                     text(client.get("/products")))
    assert card and card.group(2) == "粉条（示意图）"
    assert re.fullmatch(SVG % "1F35C", card.group(1))  # served from static/, by content hash
    page = client.get(f"/products/{product.id}")
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]
    assert f'src="{card.group(1)}" alt="粉条（示意图）"' in text(page)
    assert "OpenMoji" in text(page)  # the licence's attribution, where the picture is large
    with client.get(card.group(1)) as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert svg.get_data().startswith(b"<svg")

    login(client, "farmer")
    post_form(client, f"/my/products/{product.id}/photos",
              {"photo": (io.BytesIO(png_bytes()), "fentiao.png")},
              page=f"/my/products/{product.id}/edit", content_type="multipart/form-data")
    catalogue = text(client.get("/products"))
    assert "/media/photos/" in catalogue and "1F35C.svg" not in catalogue
    page = text(client.get(f"/products/{product.id}"))
    assert "/media/photos/" in page and "示意图" not in page and 'alt="禹州红薯粉条"' in page


def test_an_unknown_line_falls_back_to_its_category_then_to_the_grey_box(
        client, db, places, producer_org):
    make_certified_product(producer_org, places.bee, name="长葛特产礼盒")
    other = Category(code="crafts", name="手工艺品", position=9)
    db.session.add(other)
    db.session.commit()
    make_certified_product(producer_org, other, name="钧瓷茶杯")
    catalogue = text(client.get("/products"))
    assert re.search(f'src="{SVG % "1F36F"}" alt="蜂产品（示意图）"', catalogue)
    assert '<div class="noimg" aria-hidden="true">手工艺品</div>' in catalogue
