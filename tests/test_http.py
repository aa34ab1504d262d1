"""The pages through the test client: CSRF, headers, forms that keep input, scoping, uploads."""

import io
import re

import pytest
from PIL import Image

from marketplace.catalog.models import Product, ProductPhoto
from marketplace.certification.models import CertificationApplication
from tests.factories import make_certified_product, make_producer, make_product, make_user
from tests.helpers import csrf_token, login, pdf_bytes, png_bytes, post_form


def text(response) -> str:
    return response.get_data(as_text=True)


def test_home_and_catalogue_show_certified_products(client, places, producer_org):
    product = make_certified_product(producer_org, places.starch)
    assert "禹州粉条" in text(client.get("/"))
    page = text(client.get(f"/products?county={places.yuzhou.id}"))
    assert f"/products/{product.id}" in page
    detail = text(client.get(f"/products/{product.id}"))
    certificate = product.certificates[0]
    assert certificate.number in detail and certificate.valid_until.isoformat() in detail
    assert "28.50" in detail and "方山镇" in detail


def test_security_headers_and_cookie_flags(client, places):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_post_without_csrf_token_is_refused(client, places, producer):
    login(client, "farmer")
    response = client.post("/my/products/new", data={"name": "无令牌", "price_yuan": "1"})
    assert response.status_code == 400
    assert "安全令牌" in text(response)
    assert Product.query.count() == 0


def test_login_form_without_token_refused(client, places, producer):
    response = client.post("/login", data={"username": "farmer", "password": "x"})
    assert response.status_code == 400


def test_refused_product_form_keeps_what_was_typed(client, places, producer):
    login(client, "farmer")
    data = {"name": "石磨面粉", "category_id": places.starch.id, "specification": "5公斤/袋",
            "origin": "禹州", "unit": "袋", "price_yuan": "-3", "min_order_qty": "1",
            "stock": "10"}
    response = post_form(client, "/my/products/new", data)
    page = text(response)
    assert response.status_code == 200
    assert 'value="石磨面粉"' in page and 'value="-3"' in page and 'value="5公斤/袋"' in page
    assert "价格须大于 0" in page
    assert Product.query.count() == 0


def test_refused_registration_keeps_input(client, places):
    response = post_form(client, "/register", {"username": "good_name", "display_name": "张三",
                                               "password": "longenough", "confirm": "different"})
    assert 'value="good_name"' in text(response) and 'value="张三"' in text(response)


def test_organisation_form_shows_credit_code_error(client, places):
    make_user("newbie", role="producer")
    login(client, "newbie")
    data = {"org_type": "cooperative", "name": "测试合作社", "credit_code": "91350100M000100Y44",
            "legal_representative": "王", "contact_phone": "13800000000",
            "county_id": places.yuzhou.id, "township_id": places.fangshan.id,
            "poor_households": "3"}
    page = text(post_form(client, "/my/organisation", data))
    assert "校验位不正确" in page and 'value="91350100M000100Y44"' in page


def test_producer_cannot_open_or_change_another_organisations_product(client, db, places,
                                                                      producer_org):
    product = make_certified_product(producer_org, places.starch)
    rival_org = make_producer(places.yanling, name="鄢陵蜂业合作社")
    make_user("rival", role="producer", organisation=rival_org)
    make_product(rival_org, places.bee, name="枣花蜜")
    login(client, "rival")
    assert client.get(f"/my/products/{product.id}/edit").status_code == 403
    token = csrf_token(client, "/my/products")
    response = client.post(f"/my/products/{product.id}/edit",
                           data={"csrf_token": token, "name": "偷改", "price_yuan": "1"})
    assert response.status_code == 403
    assert client.post(f"/my/products/{product.id}/archive",
                       data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Product, product.id).name == "禹州粉条"


def test_visitors_never_see_off_sale_products(client, places, producer, producer_org):
    draft = make_product(producer_org, places.starch, name="未认定")
    assert client.get(f"/products/{draft.id}").status_code == 404
    login(client, "farmer")
    page = client.get(f"/products/{draft.id}")
    assert page.status_code == 200 and "目前不在售" in text(page)


def test_officer_of_another_county_cannot_open_application(client, places, producer,
                                                           producer_org, other_officer):
    product = make_product(producer_org, places.starch)
    login(client, "farmer")
    response = post_form(client, f"/my/products/{product.id}/apply",
                         {"annual_supply_capacity": "50 吨", "benefit_mechanism": "务工",
                          "test_report": (io.BytesIO(pdf_bytes()), "report.pdf")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    application = CertificationApplication.query.one()
    document = application.documents[0]
    with client.get(f"/documents/{document.id}") as download:
        assert download.data.startswith(b"%PDF")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "officer2")
    assert client.get(f"/applications/{application.id}").status_code == 403
    assert client.get(f"/documents/{document.id}").status_code == 403
    response = post_form(client, f"/applications/{application.id}/decide",
                         {"reason": "越权", "event": "county_pass"}, page="/review")
    assert response.status_code == 403
    assert CertificationApplication.query.one().status == "submitted"


def test_second_application_via_http_shows_message(client, places, producer, producer_org):
    product = make_product(producer_org, places.starch)
    login(client, "farmer")
    form = {"annual_supply_capacity": "50 吨", "benefit_mechanism": "务工"}
    for _ in range(2):
        response = post_form(client, f"/my/products/{product.id}/apply",
                             dict(form, test_report=(io.BytesIO(pdf_bytes()), "r.pdf")),
                             content_type="multipart/form-data")
    assert response.status_code == 409
    assert "已有一份审核中的认定申请" in text(response)
    assert CertificationApplication.query.count() == 1


def upload(client, product, payload, name):
    return post_form(client, f"/my/products/{product.id}/photos",
                     {"photo": (io.BytesIO(payload), name)},
                     page=f"/my/products/{product.id}/edit", content_type="multipart/form-data",
                     follow_redirects=True)


def test_photo_upload_reencodes_and_renames(client, places, producer, producer_org):
    product = make_certified_product(producer_org, places.starch)
    login(client, "farmer")
    jpeg = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera make: must not survive re-encoding
    Image.new("RGB", (50, 40), (10, 120, 10)).save(jpeg, "JPEG", exif=exif)
    assert b"SecretCam" in jpeg.getvalue()
    page = upload(client, product, jpeg.getvalue(), "../../etc/passwd.jpg")
    assert "照片已上传" in text(page)
    photo = ProductPhoto.query.one()
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", photo.stored_name)
    with client.get(f"/media/photos/{photo.stored_name}") as served:
        assert served.mimetype == "image/jpeg" and b"SecretCam" not in served.data
        assert Image.open(io.BytesIO(served.data)).size == (50, 40)


@pytest.mark.parametrize("payload, name", [
    (b"<script>alert(1)</script>", "evil.png"),
    (pdf_bytes(), "photo.jpg"),
])
def test_not_an_image_is_refused(client, places, producer, producer_org, payload, name):
    product = make_product(producer_org, places.starch)
    login(client, "farmer")
    page = upload(client, product, payload, name)
    assert "只能上传" in text(page)
    assert ProductPhoto.query.count() == 0


def test_too_large_photo_is_refused(app, client, places, producer, producer_org):
    app.config["MAX_IMAGE_BYTES"] = 2000
    product = make_product(producer_org, places.starch)
    login(client, "farmer")
    big = png_bytes(size=(400, 400), color=(1, 2, 3))
    noisy = Image.effect_noise((300, 300), 100).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert len(out.getvalue()) > 2000 and big
    page = upload(client, product, out.getvalue(), "big.png")
    assert "文件太大" in text(page)
    assert ProductPhoto.query.count() == 0


def test_login_rate_limit_over_http(client, places, producer):
    for _ in range(5):
        post_form(client, "/login", {"username": "farmer", "password": "wrong"})
    page = text(post_form(client, "/login", {"username": "farmer",
                                             "password": "correct horse battery"}))
    assert "登录失败次数过多" in page


def test_english_interface(client, places, producer_org):
    make_certified_product(producer_org, places.starch)
    assert "产品目录" in text(client.get("/"))
    client.get("/lang/en")
    page = text(client.get("/products"))
    assert "Product catalogue" in page and "产品目录" not in page
    assert 'lang="en"' in page


def test_admin_pages_need_admin(client, places, producer, admin):
    login(client, "farmer")
    for url in ("/admin/", "/admin/users", "/admin/audit", "/admin/certificates", "/review"):
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_login(client, places):
    response = client.get("/my/products")
    assert response.status_code == 302 and "/login" in response.location


def test_producer_archives_and_restores_over_http(client, db, places, producer, producer_org):
    product = make_certified_product(producer_org, places.starch)
    login(client, "farmer")
    post_form(client, f"/my/products/{product.id}/archive", {}, page="/my/products")
    assert client.get("/products").get_data(as_text=True).count(f"/products/{product.id}") == 0
    page = client.get("/my/products").get_data(as_text=True)
    assert f"/my/products/{product.id}/restore" in page and "/archive" not in page
    post_form(client, f"/my/products/{product.id}/restore", {}, page="/my/products")
    assert f"/products/{product.id}" in client.get("/products").get_data(as_text=True)


def test_catalogue_counts_follow_the_filters(client, places, producer_org):
    make_certified_product(producer_org, places.starch, name="粉条")
    make_certified_product(producer_org, places.bee, name="蜂蜜")
    yanling = make_producer(places.yanling, name="鄢陵蜂业合作社")
    make_certified_product(yanling, places.bee, name="枣花蜜")
    assert "共 3 个在售产品" in text(client.get("/products"))
    page = text(client.get(f"/products?category={places.bee.id}"))
    assert "共 2 个在售产品" in page and "禹州市 (2)" in page and "蜂产品 (2)" in page
    page = text(client.get(f"/products?county={places.yanling.id}&category={places.bee.id}"))
    assert "共 1 个在售产品" in page
    home = text(client.get("/"))
    assert "禹州市 (2)" in home and "鄢陵县 (1)" in home


def test_only_producers_register_organisations(client, places, producer_org):
    make_user("canteen", role="buyer")
    login(client, "canteen")
    assert client.get("/my/organisation").status_code == 403
    assert client.get("/my/products").status_code == 403
    assert client.get("/my/applications").status_code == 403
