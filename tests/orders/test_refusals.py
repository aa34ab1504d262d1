"""Refused with a clear message, and nothing changed: every order table compared row by row."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from marketplace.buyers.services import active_addresses
from marketplace.clock import today
from marketplace.orders import cart, services
from marketplace.orders.models import CartLine, PurchaseOrder
from tests import factories
from tests.helpers import csrf_token, login, post_form
from tests.orders.checks import forget_previous_request, snapshot
from tests.orders.conftest import delivery


def text(response) -> str:
    return response.get_data(as_text=True)


def flashed(client, response) -> str:
    """The page a redirect lands on, with the message it carries."""
    assert response.status_code == 302, response.status_code
    return text(client.get(response.location))


def checkout_data(client, market, **overrides) -> dict:
    page = text(client.get("/cart"))
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page).group(1)
    data = {"address_id": active_addresses(market.canteen)[0].id,
            "delivery_date": (today() + timedelta(days=1)).isoformat(), "window": "",
            "invoice_title": "", "tax_number": "", "notes": "", "idempotency_key": key}
    data.update(overrides)
    return data


@pytest.fixture
def buyer(client, market):
    login(client, "purchaser")
    return client


QUANTITY_REFUSALS = [
    ("1", "禹州粉条 起订量为 2 袋"),
    ("3", "禹州粉条 须按 2 袋 的整数倍订购"),
    ("102", "禹州粉条 库存只有 100 袋"),
    ("0", "请填写大于 0 的数量"),
    ("-4", "请填写大于 0 的数量"),
    ("1.2345", "请填写大于 0 的数量"),
    ("1e3", "请填写大于 0 的数量"),
    ("NaN", "请填写大于 0 的数量"),
    ("Infinity", "请填写大于 0 的数量"),
]


def test_a_cart_quantity_off_the_rules_is_refused_by_name(buyer, market, db):
    market.fentiao.qty_step = Decimal(2)
    db.session.commit()
    product_page = f"/products/{market.fentiao.id}"
    for quantity, message in QUANTITY_REFUSALS:
        before = snapshot(db)
        page = flashed(buyer, post_form(buyer, f"/cart/add/{market.fentiao.id}",
                                        {"quantity": quantity}, page=product_page))
        assert message in page, quantity
        assert snapshot(db) == before, quantity
    # The same rules when a line already in the cart is changed.
    cart.add_to_cart(market.purchaser, market.fentiao, "4")
    line = db.session.scalars(db.select(CartLine)).one()
    for quantity, message in QUANTITY_REFUSALS:
        before = snapshot(db)
        page = flashed(buyer, post_form(buyer, f"/cart/lines/{line.id}", {"quantity": quantity},
                                        page="/cart"))
        assert message in page, quantity
        assert snapshot(db) == before, quantity


def test_prices_and_products_sent_with_the_cart_form_are_ignored(buyer, market, db):
    post_form(buyer, f"/cart/add/{market.fentiao.id}",
              {"quantity": "4", "price": "0.01", "price_fen": "1", "unit_price_fen": "1",
               "product_id": str(market.honey.id), "producer_org_id": str(market.honey.organisation_id),
               "user_id": str(market.approver.id)},
              page=f"/products/{market.fentiao.id}")
    (line,) = db.session.scalars(db.select(CartLine)).all()
    assert (line.user_id, line.product_id, line.quantity) == (
        market.purchaser.id, market.fentiao.id, Decimal(4))
    assert "¥114.00" in text(buyer.get("/cart"))  # 4 × ¥28.50 from the listing
    post_form(buyer, f"/cart/lines/{line.id}",
              {"quantity": "6", "price": "0.01", "product_id": str(market.honey.id),
               "user_id": str(market.approver.id)}, page="/cart")
    db.session.expire_all()
    assert (line.user_id, line.product_id, line.quantity) == (
        market.purchaser.id, market.fentiao.id, Decimal(6))
    assert "¥171.00" in text(buyer.get("/cart"))


def test_checkout_refusals_name_the_problem_and_keep_the_cart(buyer, market, db):
    school = factories.make_buyer(market.canteen.county, name="鄢陵县第一中学", org_type="school")
    cart.add_to_cart(market.purchaser, market.fentiao, "10")
    for field, value, message in [
        ("delivery_date", (today() - timedelta(days=1)).isoformat(), "送达日期不能早于今天"),
        ("delivery_date", (today() + timedelta(days=61)).isoformat(), "送达日期最多可选 60 天以内"),
        ("address_id", active_addresses(school)[0].id, "请选择本单位的收货地址"),
        ("address_id", "2147483648", "请选择本单位的收货地址"),
        ("tax_number", "not-a-tax-number", "纳税人识别号应为 15–20 位数字或大写字母"),
        ("idempotency_key", "short", "表单已过期"),
    ]:
        data = checkout_data(buyer, market, **{field: value}, notes="后门卸货")
        before = snapshot(db)
        response = post_form(buyer, "/cart/checkout", data, page="/cart")
        assert response.status_code == 400, (field, value)
        page = text(response)
        assert message in page and "后门卸货" in page, (field, value)  # what was typed stays
        assert snapshot(db) == before, (field, value)


def test_an_address_the_organisation_removed_is_refused(buyer, market, db):
    from marketplace.buyers.services import add_address, remove_address

    extra = add_address(market.approver, market.canteen,
                        {"delivery_address": "旧仓库", "delivery_contact": "王", "delivery_phone":
                         "13900000000"})
    remove_address(market.approver, market.canteen, extra.id)
    cart.add_to_cart(market.purchaser, market.fentiao, "10")
    before = snapshot(db)
    response = post_form(buyer, "/cart/checkout",
                         checkout_data(buyer, market, address_id=extra.id), page="/cart")
    assert response.status_code == 400 and "请选择本单位的收货地址" in text(response)
    assert snapshot(db) == before


@pytest.mark.parametrize("how", ["expired", "revoked"])
def test_a_line_whose_certificate_lapsed_in_the_cart_is_refused_by_name(
        buyer, market, db, app, admin, how):
    cart.add_to_cart(market.purchaser, market.fentiao, "10")
    cart.add_to_cart(market.purchaser, market.honey, "4")
    honey_certificate = market.honey.certificates[0]
    if how == "expired":
        # The honey's certificate ends first; on the day after, the fentiao's is still valid.
        honey_certificate.valid_until = today() + timedelta(days=3)
        db.session.commit()
        app.config["FROZEN_TODAY"] = (today() + timedelta(days=4)).isoformat()
    else:
        from marketplace.certification.services import revoke_certificate

        revoke_certificate(admin, honey_certificate, "抽检不合格")
    data = checkout_data(buyer, market)
    cart_page = text(buyer.get("/cart"))
    assert "枣花蜜 已下架或认定证书已失效，不能订购" in cart_page
    assert "禹州粉条 已下架" not in cart_page
    before = snapshot(db)
    response = post_form(buyer, "/cart/checkout", data, page="/cart")
    assert response.status_code == 400
    page = text(response)
    assert "枣花蜜 已下架或认定证书已失效" in page and "禹州粉条 已下架" not in page
    assert snapshot(db) == before  # both lines kept, nothing reserved
    # Taking the lapsed line out, the rest of the cart goes through as it was.
    honey_line = db.session.scalar(db.select(CartLine).where(
        CartLine.product_id == market.honey.id))
    post_form(buyer, f"/cart/lines/{honey_line.id}/remove", {}, page="/cart")
    response = post_form(buyer, "/cart/checkout", checkout_data(buyer, market), page="/cart")
    assert response.status_code == 302
    order = db.session.scalars(db.select(PurchaseOrder)).one()
    assert [(ln.product_name, ln.quantity) for s in order.sub_orders for ln in s.lines] == [
        ("禹州粉条", Decimal(10))]


def test_a_buyer_of_an_unverified_organisation_cannot_order(client, market, places, db):
    pending = factories.make_buyer(places.yanling, name="待核验食堂", status="submitted")
    factories.make_user("newcomer", role="buyer", organisation=pending)
    login(client, "newcomer")
    assert "加入购物车" not in text(client.get(f"/products/{market.fentiao.id}"))
    token = csrf_token(client, "/")
    before = snapshot(db)
    for method, path, data in [
            ("GET", "/cart", {}), ("GET", "/orders", {}),
            ("POST", f"/cart/add/{market.fentiao.id}", {"quantity": "10"}),
            ("POST", "/cart/checkout", {"address_id": active_addresses(pending)[0].id,
                                        "delivery_date": today().isoformat(),
                                        "idempotency_key": "unverified-key"})]:
        response = (client.get(path) if method == "GET"
                    else client.post(path, data={**data, "csrf_token": token}))
        assert response.status_code == 403, path
        assert "没有权限" in text(response)
    assert snapshot(db) == before


def submitted(market, **quantities):
    cart.add_to_cart(market.purchaser, market.fentiao, quantities.get("fentiao", "10"))
    cart.add_to_cart(market.purchaser, market.honey, quantities.get("honey", "4"))
    return services.submit_purchase_order(market.purchaser, delivery(market), "refusal-key-1")


def as_user(app, username):
    """A client of its own, logged in as `username`."""
    forget_previous_request()
    client = app.test_client()
    login(client, username)
    return client


def refused(client, db, path, data, status, message):
    forget_previous_request()
    token = csrf_token(client, "/")
    before = snapshot(db)
    forget_previous_request()
    response = client.post(path, data={**data, "csrf_token": token})
    assert response.status_code == status, (path, response.status_code)
    assert message in text(response), path
    assert snapshot(db) == before, path
    return response


def test_status_changes_not_allowed_now_are_refused_and_change_nothing(app, market, db, admin):
    order = submitted(market)
    fentiao, honey = order.sub_orders
    farmer, buyer = as_user(app, "farmer"), as_user(app, "purchaser")
    beekeeper, boss, city = as_user(app, "beekeeper"), as_user(app, "boss"), as_user(app, "admin")
    q = {f"q{fentiao.lines[0].id}": "10"}
    sub = f"/sub-orders/{fentiao.id}"
    not_now = "下不能执行此操作"
    refused(farmer, db, f"{sub}/ship", q, 409, not_now)  # ship before accept
    refused(buyer, db, f"{sub}/receive", q, 409, not_now)  # receive before shipping
    refused(buyer, db, f"{sub}/dispute", {"reason": "没到"}, 409, not_now)
    refused(buyer, db, f"{sub}/rate", {"score": "5"}, 409, "验收后才能评价")
    refused(city, db, f"{sub}/resolve", {**q, "reason": "x"}, 409, not_now)
    refused(boss, db, f"/orders/{order.id}/approve", {"reason": "好"}, 409, not_now)  # not awaiting
    refused(boss, db, f"/orders/{order.id}/return", {"reason": "多"}, 409, not_now)
    refused(buyer, db, f"/orders/{order.id}/revise", q, 409, "只有被退回的采购单")
    services.accept_sub_order(market.farmer, fentiao)
    refused(farmer, db, f"{sub}/accept", {}, 409, not_now)  # accept twice
    refused(farmer, db, f"{sub}/decline", {"reason": "不想送"}, 409, not_now)  # after accepting
    services.ship_sub_order(market.farmer, fentiao, {fentiao.lines[0].id: "8"})
    refused(buyer, db, f"{sub}/cancel", {"reason": "不要了"}, 409, not_now)  # after shipping
    refused(farmer, db, f"{sub}/ship", q, 409, not_now)  # ship twice
    # Receipt above what was shipped: refused by product, typed values kept.
    response = refused(buyer, db, f"{sub}/receive", {f"q{fentiao.lines[0].id}": "9"}, 400,
                       "禹州粉条：验收数量不能超过 8")
    assert 'value="9"' in text(response)
    services.receive_sub_order(market.purchaser, fentiao, {fentiao.lines[0].id: "8"})
    refused(buyer, db, f"{sub}/receive", {f"q{fentiao.lines[0].id}": "8"}, 409, not_now)
    # Shipping more than ordered, and declining without a reason.
    honey_q = {f"q{honey.lines[0].id}": "5"}
    hon = f"/sub-orders/{honey.id}"
    refused(beekeeper, db, f"{hon}/decline", {"reason": " "}, 400, "请填写理由")
    services.accept_sub_order(market.beekeeper, honey)
    refused(beekeeper, db, f"{hon}/ship", honey_q, 400, "枣花蜜：发货数量不能超过 4")
    refused(beekeeper, db, f"{hon}/ship", {f"q{honey.lines[0].id}": "0"}, 400, "至少要发出一种产品")
    refused(beekeeper, db, f"{hon}/ship", {f"q{honey.lines[0].id}": "-1"}, 400, "请填写发货数量")
    refused(beekeeper, db, f"{hon}/ship", {"q²": "4", f"q{honey.lines[0].id}": "x"}, 400,
            "请填写发货数量")


def test_the_purchaser_who_made_an_order_cannot_approve_it(app, market, db):
    market.purchaser.role = "buyer_approver"  # an approver buying for themselves
    db.session.commit()
    order = submitted(market, fentiao="100", honey="10")  # over the ¥3,000 threshold
    assert order.status == "awaiting_approval"
    self_approver = as_user(app, "purchaser")
    refused(self_approver, db, f"/orders/{order.id}/approve", {"reason": "我批我自己"}, 403,
            "没有权限")
    refused(self_approver, db, f"/orders/{order.id}/return", {"reason": "x"}, 403, "没有权限")
    assert "<h2>审批</h2>" not in text(self_approver.get(f"/orders/{order.id}"))
    boss = as_user(app, "boss")
    assert "<h2>审批</h2>" in text(boss.get(f"/orders/{order.id}"))


def test_a_returned_order_cannot_be_revised_beyond_stock_or_below_the_minimum(app, market, db):
    order = submitted(market, fentiao="100", honey="10")
    services.return_purchase_order(market.approver, order, "数量太多")
    buyer = as_user(app, "purchaser")
    fentiao_line = order.sub_orders[0].lines[0]
    honey_line = order.sub_orders[1].lines[0]
    path = f"/orders/{order.id}/revise"
    refused(buyer, db, path, {f"q{fentiao_line.id}": "1", f"q{honey_line.id}": "10"}, 400,
            "禹州粉条 起订量为 2 袋")
    refused(buyer, db, path, {f"q{fentiao_line.id}": "101", f"q{honey_line.id}": "10"}, 400,
            "禹州粉条 库存不足")
    refused(buyer, db, path, {f"q{fentiao_line.id}": "abc", f"q{honey_line.id}": "10"}, 400,
            "禹州粉条：请填写数量")
