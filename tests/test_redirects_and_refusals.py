"""The language switch only returns to pages of this site; forms a role may not submit do
not open either."""

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.organisations.models import Organisation
from tests.factories import credit_code, make_user
from tests.helpers import csrf_token, login

HOSTILE_REFERERS = [
    "//evil.example/x", "http://evil.example/x", "https://evil.example/", "/\\evil.example",
    "\\\\evil.example", "http:\\\\evil.example", " //evil.example", "\t//evil.example",
    "http://localhost@evil.example/", "javascript:alert(1)", "ftp://localhost/x",
    # This site's host, with a path a browser reads as another host:
    "http://localhost//evil.example/x", "http://localhost/\\evil.example",
    "https://localhost//evil.example",
]


def test_language_switch_never_leaves_the_site(client, places):
    for referer in HOSTILE_REFERERS:
        response = client.get("/lang/en", headers={"Referer": referer})
        assert (response.status_code, response.location) == (302, "/"), referer
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_language_switch_returns_to_the_page_it_came_from(client, places):
    for referer, back_to in [("http://localhost/products?county=1", "/products?county=1"),
                             ("/search?q=%E7%B2%89%E6%9D%A1", "/search?q=%E7%B2%89%E6%9D%A1"),
                             ("", "/")]:
        response = client.get("/lang/zh", headers={"Referer": referer} if referer else {})
        assert response.location == back_to, referer


def test_the_new_user_form_is_refused_to_non_administrators(client, places, producer, officer):
    for username in ("farmer", "officer"):
        login(client, username)
        assert client.get("/admin/users/new").status_code == 403, username
        token = csrf_token(client, "/")
        response = client.post("/admin/users/new", data={
            "csrf_token": token, "username": "intruder", "display_name": "x",
            "password": "long enough password", "role": "admin"})
        assert response.status_code == 403
        client.post("/logout", data={"csrf_token": token})
    assert db.session.scalar(db.select(User).where(User.username == "intruder")) is None


def test_the_new_product_form_is_refused_to_buyers(client, places):
    canteen = Organisation(kind="buyer", org_type="canteen", name="许昌市中心医院职工食堂",
                           credit_code=credit_code(), legal_representative="—",
                           contact_phone="0374-0000000", county_id=places.yuzhou.id,
                           township_id=places.fangshan.id, status="verified")
    db.session.add(canteen)
    db.session.commit()
    make_user("canteen", role="buyer", organisation=canteen)
    login(client, "canteen")
    assert client.get("/my/products/new").status_code == 403
    response = client.post("/my/products/new", data={
        "csrf_token": csrf_token(client, "/"), "name": "食堂自制馒头",
        "category_id": places.starch.id, "unit": "袋", "price_yuan": "1", "min_order_qty": "1",
        "stock": "1"})
    assert response.status_code == 403
    assert Product.query.count() == 0
