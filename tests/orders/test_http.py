"""Purchasing through the pages: cart, checkout, approval, fulfilment, receipt, scoping."""

import re
from datetime import timedelta

from marketplace.buyers.services import active_addresses
from marketplace.clock import today
from marketplace.orders.models import PurchaseOrder, SubOrder
from tests.helpers import csrf_token, login, post_form


def text(response) -> str:
    return response.get_data(as_text=True)


def checkout_data(client, market, **overrides) -> dict:
    page = text(client.get("/cart"))
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page).group(1)
    data = {"address_id": active_addresses(market.canteen)[0].id,
            "delivery_date": (today() + timedelta(days=1)).isoformat(), "window": "",
            "invoice_title": "", "tax_number": "", "notes": "请走后门", "idempotency_key": key}
    data.update(overrides)
    return data


def test_purchaser_orders_from_two_producers_and_each_sees_only_its_part(client, market, db):
    login(client, "purchaser")
    post_form(client, f"/cart/add/{market.fentiao.id}", {"quantity": "10"},
              page=f"/products/{market.fentiao.id}")
    post_form(client, f"/cart/add/{market.honey.id}", {"quantity": "4"},
              page=f"/products/{market.honey.id}")
    cart = text(client.get("/cart"))
    assert "禹州方山粉条合作社" in cart and "鄢陵蜂业合作社" in cart and "¥399.00" in cart
    data = checkout_data(client, market)
    response = post_form(client, "/cart/checkout", data, page="/cart")
    assert response.status_code == 302
    again = post_form(client, "/cart/checkout", data, page="/cart")  # a double click
    assert again.status_code in (302, 400)
    assert db.session.scalar(db.select(db.func.count(PurchaseOrder.id))) == 1
    order = db.session.scalars(db.select(PurchaseOrder)).one()
    assert "请走后门" in text(client.get(f"/orders/{order.id}"))

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "farmer")
    mine, theirs = order.sub_orders
    assert mine.number in text(client.get("/my/orders"))
    assert theirs.number not in text(client.get("/my/orders"))
    assert client.get(f"/sub-orders/{theirs.id}").status_code == 403
    assert client.get(f"/orders/{order.id}").status_code == 403
    response = post_form(client, f"/sub-orders/{theirs.id}/accept", {},
                         page=f"/sub-orders/{mine.id}")
    assert response.status_code == 403
    post_form(client, f"/sub-orders/{mine.id}/accept", {}, page=f"/sub-orders/{mine.id}")
    db.session.expire_all()
    assert db.session.get(SubOrder, mine.id).status == "accepted"
    assert db.session.get(SubOrder, theirs.id).status == "pending"


def test_checkout_refusal_keeps_what_was_typed(client, market, db):
    login(client, "purchaser")
    post_form(client, f"/cart/add/{market.fentiao.id}", {"quantity": "10"},
              page=f"/products/{market.fentiao.id}")
    data = checkout_data(client, market, notes="备注留着",
                         delivery_date=(today() - timedelta(days=2)).isoformat())
    response = post_form(client, "/cart/checkout", data, page="/cart")
    assert response.status_code == 400
    page = text(response)
    assert "送达日期不能早于今天" in page and "备注留着" in page
    assert db.session.scalar(db.select(db.func.count(PurchaseOrder.id))) == 0


def test_another_buyers_order_is_out_of_reach(client, market, places, db):
    from marketplace.orders import cart, services
    from tests.factories import make_buyer, make_user
    from tests.orders.conftest import delivery

    cart.add_to_cart(market.purchaser, market.fentiao, "10")
    order = services.submit_purchase_order(market.purchaser, delivery(market), "x" * 16)
    school = make_buyer(places.yanling, name="鄢陵县第一中学", org_type="school")
    make_user("teacher", role="buyer", organisation=school)
    login(client, "teacher")
    assert client.get(f"/orders/{order.id}").status_code == 403
    sub = order.sub_orders[0]
    assert client.get(f"/sub-orders/{sub.id}").status_code == 403
    token = csrf_token(client, "/cart")
    assert client.post(f"/sub-orders/{sub.id}/cancel",
                       data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert client.post(f"/orders/{order.id}/reorder",
                       data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(SubOrder, sub.id).status == "pending"
