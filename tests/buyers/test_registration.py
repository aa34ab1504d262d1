"""A buyer organisation from registration to its first order, through the pages."""

import re
from datetime import timedelta

from marketplace.accounts.models import User
from marketplace.buyers.models import BuyerProfile
from marketplace.clock import today
from marketplace.orders.models import PurchaseOrder
from marketplace.organisations.models import Organisation
from tests import factories
from tests.helpers import csrf_token, login, post_form
from tests.orders.checks import forget_previous_request, snapshot


def text(response) -> str:
    return response.get_data(as_text=True)


def registration(places, **overrides) -> dict:
    data = {
        "org_type": "school", "name": "禹州市第一高级中学", "credit_code": factories.credit_code(9001),
        "legal_representative": "赵校长", "county_id": str(places.yuzhou.id),
        "address": "禹州市颍川路1号", "contact_name": "钱老师", "contact_phone": "0374-8888888",
        "invoice_title": "禹州市第一高级中学", "tax_number": "12411081MB0000000X",
        "approval_threshold_yuan": "", "annual_food_budget_yuan": "800000",
        "reserved_share_percent": "10", "address_label": "食堂", "delivery_address": "禹州市颍川路1号食堂",
        "delivery_contact": "孙师傅", "delivery_phone": "13700000000",
        "username": "yizhong", "display_name": "钱老师", "password": "canteen-2026-qianlaoshi",
        "confirm": "canteen-2026-qianlaoshi",
    }
    data.update(overrides)
    return data


def as_user(app, username, password=factories.PASSWORD):
    forget_previous_request()
    client = app.test_client()
    login(client, username, password)
    return client


def test_register_verify_add_members_and_order(app, db, places, admin, producer_org):
    fentiao = factories.make_certified_product(producer_org, places.starch)
    forget_previous_request()
    manager = app.test_client()
    response = post_form(manager, "/register/buyer", registration(places))
    assert response.status_code == 302 and response.location.endswith("/my/buyer")
    page = text(manager.get("/my/buyer"))
    assert "禹州市第一高级中学" in page and "等待市级管理员核验" in page
    org = db.session.scalar(db.select(Organisation).where(Organisation.name == "禹州市第一高级中学"))
    assert (org.kind, org.status, org.buyer_profile.reserved_share_percent) == ("buyer", "submitted", 10)
    # Not verified yet: nobody in it can order.
    forget_previous_request()
    assert manager.get("/cart").status_code == 403
    assert "加入购物车" not in text(manager.get(f"/products/{fentiao.id}"))

    city = as_user(app, "admin")
    assert "禹州市第一高级中学" in text(city.get("/review"))
    post_form(city, f"/organisations/{org.id}/decide", {"event": "buyer_verify", "reason": "资料齐全"},
              page=f"/organisations/{org.id}")
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).status == "verified"

    manager = as_user(app, "yizhong", "canteen-2026-qianlaoshi")
    for username, role in (("caigou", "buyer"), ("shenpi", "buyer_approver")):
        response = post_form(manager, "/my/buyer/members",
                             {"username": username, "display_name": f"{username} 老师",
                              "password": "member-pass-2026", "role": role}, page="/my/buyer")
        assert response.status_code == 302
    forget_previous_request()
    response = post_form(manager, "/my/buyer/settings",
                         {"invoice_title": "禹州市第一高级中学", "tax_number": "12411081MB0000000X",
                          "approval_threshold_yuan": "100", "annual_food_budget_yuan": "800000",
                          "reserved_share_percent": "15"}, page="/my/buyer")
    assert response.status_code == 302
    members = {u.username: (u.role, u.organisation_id) for u in db.session.scalars(
        db.select(User).where(User.organisation_id == org.id))}
    assert members == {"yizhong": ("buyer_approver", org.id), "caigou": ("buyer", org.id),
                       "shenpi": ("buyer_approver", org.id)}

    purchaser = as_user(app, "caigou", "member-pass-2026")
    post_form(purchaser, f"/cart/add/{fentiao.id}", {"quantity": "10"}, page=f"/products/{fentiao.id}")
    forget_previous_request()
    cart_page = text(purchaser.get("/cart"))
    assert "超过审批额度" in cart_page  # ¥285 > ¥100
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', cart_page).group(1)
    address = re.search(r'<option[^>]*value="(\d+)"[^>]*>食堂', cart_page).group(1)
    response = post_form(purchaser, "/cart/checkout",
                         {"address_id": address, "delivery_date": (today() + timedelta(days=1)).isoformat(),
                          "window": "", "invoice_title": "", "tax_number": "", "notes": "",
                          "idempotency_key": key}, page="/cart")
    assert response.status_code == 302
    order = db.session.scalars(db.select(PurchaseOrder)).one()
    assert (order.buyer_org_id, order.channel, order.status, order.invoice_title) == (
        org.id, "school", "awaiting_approval", "禹州市第一高级中学")

    approver = as_user(app, "shenpi", "member-pass-2026")
    assert order.number in text(approver.get("/approvals"))
    post_form(approver, f"/orders/{order.id}/approve", {"reason": "同意"}, page=f"/orders/{order.id}")
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, order.id).status == "placed"


def test_settings_and_members_refuse_what_the_rules_forbid(app, db, places):
    forget_previous_request()
    manager = app.test_client()
    post_form(manager, "/register/buyer", registration(places))
    settings = {"invoice_title": "禹州市第一高级中学", "tax_number": "12411081MB0000000X",
                "approval_threshold_yuan": "", "annual_food_budget_yuan": "800000",
                "reserved_share_percent": "10"}
    cases = [
        ("/my/buyer/settings", {**settings, "reserved_share_percent": "5"}, "不低于 10%"),
        ("/my/buyer/settings", {**settings, "reserved_share_percent": "101"}, "不低于 10%"),
        ("/my/buyer/settings", {**settings, "approval_threshold_yuan": "-1"}, "请填写金额"),
        ("/my/buyer/settings", {**settings, "tax_number": "123"}, "纳税人识别号应为"),
        ("/my/buyer/members", {"username": "boss2", "display_name": "x", "password": "long-enough-pw",
                               "role": "admin"}, "不是有效的选择"),
        ("/my/buyer/members", {"username": "boss2", "display_name": "x", "password": "long-enough-pw",
                               "role": "producer"}, "不是有效的选择"),
        ("/my/buyer/members", {"username": "yizhong", "display_name": "x",
                               "password": "long-enough-pw", "role": "buyer"}, "已"),
        ("/my/buyer/addresses", {"address_label": "", "delivery_address": "某处",
                                 "delivery_contact": "某人", "delivery_phone": "电话"},
         "请填写有效的联系电话"),
    ]
    for path, data, message in cases:
        forget_previous_request()
        before = snapshot(db)
        response = post_form(manager, path, data, page="/my/buyer")
        assert response.status_code == 400, (path, data)
        assert message in text(response), (path, data)
        assert snapshot(db) == before, (path, data)
    forget_previous_request()
    own = db.session.scalar(db.select(User).where(User.username == "yizhong"))
    response = post_form(manager, f"/my/buyer/members/{own.id}/remove", {}, page="/my/buyer")
    assert response.status_code == 409 and "不能移除自己" in text(response)
    profile = db.session.scalars(db.select(BuyerProfile)).one()
    assert profile.reserved_share_percent == 10


def test_a_registration_below_the_reserved_share_floor_is_refused(app, db, places):
    forget_previous_request()
    visitor = app.test_client()
    before = snapshot(db)
    response = post_form(visitor, "/register/buyer",
                         registration(places, reserved_share_percent="9.99"))
    assert "不低于 10%" in text(response)
    assert snapshot(db) == before
    assert csrf_token(visitor, "/register/buyer")  # still anonymous, the form is offered again
