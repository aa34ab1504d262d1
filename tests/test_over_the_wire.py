"""What travels to a phone: compressed responses, cacheable static files, trimmed CSS."""

import re
from pathlib import Path

import pytest
from flask_static_digest import digester

from marketplace.config import BASE_DIR
from tests.conftest import make_app
from tests.factories import make_certified_product

STATIC = BASE_DIR / "static"


@pytest.fixture
def digested_app(tmp_path):
    """The app after `flask digest compile` (as `make run` starts it)."""
    digester.compile(str(STATIC), str(STATIC), [], False, False)
    from marketplace.extensions import db

    app = make_app(tmp_path)
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_pages_link_static_files_by_content_hash_with_a_year_of_cache(digested_app):
    client = digested_app.test_client()
    page = client.get("/").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert links and all(re.search(r"-[0-9a-f]{32}\.(css|js)$", link) for link in links)
    for link in links:
        with client.get(link) as response:
            assert response.status_code == 200
            cache = response.headers["Cache-Control"]
            assert "max-age=31536000" in cache and "immutable" in cache
    with client.get("/static/css/site.css") as plain:  # an unhashed name is revalidated
        assert "max-age=31536000" not in plain.headers.get("Cache-Control", "")


def test_public_pages_and_static_files_are_compressed(digested_app, places, producer_org):
    client = digested_app.test_client()
    make_certified_product(producer_org, places.starch)
    for url in ("/", "/products", "/search?q=粉条"):
        response = client.get(url, headers={"Accept-Encoding": "br, gzip"})
        assert response.headers.get("Content-Encoding") == "br", url
        assert "Accept-Encoding" in response.headers["Vary"]
    css = re.search(r'href="(/static/vendor/pico[^"]+)"', client.get("/").get_data(as_text=True))
    with client.get(css.group(1), headers={"Accept-Encoding": "gzip, deflate, br"}) as response:
        assert response.headers.get("Content-Encoding") in ("gzip", "deflate", "br")


def test_a_page_with_a_csrf_token_is_not_compressed(digested_app, places):
    """BREACH: a secret beside reflected text must not be compressed."""
    response = digested_app.test_client().get("/login", headers={"Accept-Encoding": "br, gzip"})
    assert "csrf_token" in response.get_data(as_text=True)
    assert "Content-Encoding" not in response.headers


def test_every_page_has_a_meta_description(client, places, producer_org):
    product = make_certified_product(producer_org, places.starch)
    for url in ("/", "/products", f"/products/{product.id}", f"/producers/{producer_org.id}",
                "/search?q=粉条", "/login"):
        page = client.get(url).get_data(as_text=True)
        match = re.search(r'<meta name="description" content="([^"]+)"', page)
        assert match and len(match.group(1)) >= 15, url
    assert "禹州粉条" in client.get(f"/products/{product.id}").get_data(as_text=True).split(
        'name="description"')[1][:200]


def _classes(text: str) -> set[str]:
    return set(re.findall(r"\.([a-zA-Z][\w-]*)", text))


def test_the_trimmed_stylesheet_keeps_every_pico_class_the_templates_use():
    used = set()
    for path in Path(BASE_DIR / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for group in re.findall(r'class(?:_)?=["\']([^"\']+)["\']', text):
            used.update(re.findall(r"[a-zA-Z][\w-]*", group))
    original = _classes((STATIC / "vendor/pico.min.css").read_text(encoding="utf-8"))
    trimmed_text = (STATIC / "vendor/pico.trimmed.min.css").read_text(encoding="utf-8")
    missing = (used & original) - _classes(trimmed_text)
    assert not missing
    assert "prefers-color-scheme:dark" not in trimmed_text.replace(" ", "")
    assert len(trimmed_text) < 0.5 * (STATIC / "vendor/pico.min.css").stat().st_size
