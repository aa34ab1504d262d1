"""Several application hosts, each with its own search index, against one database.

Two gunicorn servers with separate index directories stand for two hosts behind a proxy.
A change committed through one is found (or no longer found) through the other, and a
host that was down catches up by itself when it serves again.
"""

from urllib.parse import quote

import pytest

from marketplace.extensions import db as _db
from tests.factories import make_certified_product, make_user
from tests.served import Browser, gunicorn

pytestmark = pytest.mark.timeout(300)


def found(base_url: str, query: str, product_id: int) -> bool:
    """The search results link to this product (names are highlighted, so look for links)."""
    _status, page = Browser(base_url).get("/search?q=" + quote(query))
    return f'href="/products/{product_id}"' in page


def revoke(admin: Browser, certificate_id: int):
    page = f"/admin/certificates/{certificate_id}"
    return admin.post(f"{page}/decide", {"reason": "抽检不合格", "event": "revoke"},
                      admin.token(page))


@pytest.fixture
def shared_database(app, places, producer_org, tmp_path):
    """A committed catalogue in the test database, and the URL the hosts will use."""
    fentiao = make_certified_product(producer_org, places.starch)
    honey = make_certified_product(producer_org, places.bee, name="枣花蜜")
    make_user("cityadmin", role="admin")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    ids = fentiao.id, fentiao.certificates[0].id, honey.id
    _db.session.remove()  # the hosts see committed data only
    return url, *ids


def test_an_edit_through_one_host_is_found_through_the_other(shared_database, tmp_path):
    url, fentiao, fentiao_certificate, _honey = shared_database
    with gunicorn(url, tmp_path / "a", SEARCH_INDEX_DIR=tmp_path / "index-a") as host_a, \
            gunicorn(url, tmp_path / "b", SEARCH_INDEX_DIR=tmp_path / "index-b") as host_b:
        assert found(host_a, "粉条", fentiao) and found(host_b, "粉条", fentiao)
        admin = Browser(host_a)
        assert admin.login("cityadmin")
        status, _page = revoke(admin, fentiao_certificate)
        assert status == 200
        assert not found(host_a, "粉条", fentiao)
        assert not found(host_b, "粉条", fentiao)  # host B replayed host A's change


def test_a_host_that_was_down_catches_up(shared_database, tmp_path):
    url, fentiao, fentiao_certificate, honey = shared_database
    index_b = tmp_path / "index-b"
    with gunicorn(url, tmp_path / "b", SEARCH_INDEX_DIR=index_b) as host_b:
        assert found(host_b, "粉条", fentiao)
    # Host B is down; the city revokes a certificate through host A meanwhile.
    with gunicorn(url, tmp_path / "a", SEARCH_INDEX_DIR=tmp_path / "index-a") as host_a:
        admin = Browser(host_a)
        assert admin.login("cityadmin")
        revoke(admin, fentiao_certificate)
    with gunicorn(url, tmp_path / "b2", SEARCH_INDEX_DIR=index_b) as host_b:
        assert not found(host_b, "粉条", fentiao)
        assert found(host_b, "蜂蜜", honey)
