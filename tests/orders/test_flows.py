"""Reorder, overdue parts, declines and cancellations, through the pages."""

from datetime import timedelta
from decimal import Decimal

from marketplace.catalog.models import Product, StockMovement
from marketplace.clock import now
from marketplace.notices.models import Notice
from marketplace.orders import cart, services
from marketplace.orders.models import CartLine, PurchaseOrder, SubOrder
from tests.helpers import login, post_form
from tests.orders.checks import forget_previous_request
from tests.orders.conftest import delivery


def text(response) -> str:
    return response.get_data(as_text=True)


def as_user(app, username):
    forget_previous_request()
    client = app.test_client()
    login(client, username)
    return client


def place(market, key="flow-key-0001", fentiao="10", honey="4") -> PurchaseOrder:
    cart.add_to_cart(market.purchaser, market.fentiao, fentiao)
    cart.add_to_cart(market.purchaser, market.honey, honey)
    return services.submit_purchase_order(market.purchaser, delivery(market), key)


def stock(db, product) -> Decimal:
    db.session.expire_all()
    return db.session.get(Product, product.id).stock


def ledger_adds_up(db, product) -> None:
    deltas = db.session.scalars(db.select(StockMovement.delta)
                                .where(StockMovement.product_id == product.id)).all()
    assert sum(deltas, Decimal(0)) == stock(db, product)


def test_reorder_in_one_click_names_and_leaves_out_what_is_off_sale(app, db, market, admin):
    from marketplace.certification.services import revoke_certificate

    order = place(market)
    revoke_certificate(admin, market.honey.certificates[0], "抽检不合格")
    buyer = as_user(app, "purchaser")
    response = post_form(buyer, f"/orders/{order.id}/reorder", {}, page=f"/orders/{order.id}")
    assert response.status_code == 302 and response.location.endswith("/cart")
    forget_previous_request()
    page = text(buyer.get("/cart"))
    assert "以下产品已不能订购，未加入购物车：枣花蜜" in page
    assert "已把可订购的产品加入购物车" in page
    lines = db.session.scalars(db.select(CartLine)).all()
    assert [(line.product_id, line.quantity) for line in lines] == [(market.fentiao.id,
                                                                      Decimal(10))]


def test_reorder_with_nothing_left_on_sale_says_so_and_only_so(app, db, market, admin):
    from marketplace.certification.services import revoke_certificate

    order = place(market)
    for product in (market.fentiao, market.honey):
        revoke_certificate(admin, product.certificates[0], "抽检不合格")
    buyer = as_user(app, "purchaser")
    post_form(buyer, f"/orders/{order.id}/reorder", {}, page=f"/orders/{order.id}")
    forget_previous_request()
    page = text(buyer.get("/cart"))
    assert "以下产品已不能订购，未加入购物车：禹州粉条、枣花蜜" in page
    assert "已把可订购的产品加入购物车" not in page
    assert db.session.scalars(db.select(CartLine)).all() == []


def test_an_overdue_part_shows_as_overdue_and_the_buyer_cancels_it(app, db, market):
    order = place(market)
    late, on_time = order.sub_orders
    late.accept_by = now() - timedelta(minutes=1)  # the producer let the deadline pass
    db.session.commit()
    buyer = as_user(app, "purchaser")
    page = text(buyer.get(f"/orders/{order.id}"))
    late_part = page.split(f'id="sub-{late.id}"')[1].split("</article>")[0]
    other_part = page.split(f'id="sub-{on_time.id}"')[1].split("</article>")[0]
    assert "超时未接单" in late_part and "超时未接单" not in other_part
    assert "超时" in text(as_user(app, "farmer").get("/my/orders"))
    assert "超时" not in text(as_user(app, "beekeeper").get("/my/orders"))

    buyer = as_user(app, "purchaser")
    response = post_form(buyer, f"/sub-orders/{late.id}/cancel", {"reason": "超时未接单，另行采购"},
                         page=f"/orders/{order.id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(SubOrder, late.id).status == "cancelled"
    assert db.session.get(PurchaseOrder, order.id).status == "placed"  # the honey part still waits
    assert stock(db, market.fentiao) == 100
    ledger_adds_up(db, market.fentiao)
    told = db.session.scalars(db.select(Notice.text).where(
        Notice.user_id == market.farmer.id, Notice.subject_id == late.id)).all()
    assert any("已被采购单位取消" in t for t in told)
    farmer = as_user(app, "farmer")  # too late now
    assert post_form(farmer, f"/sub-orders/{late.id}/accept", {},
                     page=f"/sub-orders/{late.id}").status_code == 409


def test_a_decline_returns_the_stock_and_tells_the_buyer_why(app, db, market):
    order = place(market)
    fentiao, honey = order.sub_orders
    beekeeper = as_user(app, "beekeeper")
    response = post_form(beekeeper, f"/sub-orders/{honey.id}/decline", {"reason": "蜂蜜已售罄"},
                         page=f"/sub-orders/{honey.id}")
    assert response.status_code == 302
    assert stock(db, market.honey) == 100 and stock(db, market.fentiao) == 90
    ledger_adds_up(db, market.honey)
    page = text(as_user(app, "purchaser").get(f"/orders/{order.id}"))
    assert "蜂蜜已售罄" in page and "已拒单" in page
    # The other producer declines too: nothing is left of the order, and nothing is reserved.
    farmer = as_user(app, "farmer")
    post_form(farmer, f"/sub-orders/{fentiao.id}/decline", {"reason": "停产"},
              page=f"/sub-orders/{fentiao.id}")
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, order.id).status == "cancelled"
    assert stock(db, market.fentiao) == 100


def test_an_accepted_part_cancelled_by_the_buyer_returns_its_stock(app, db, market):
    order = place(market)
    fentiao = order.sub_orders[0]
    services.accept_sub_order(market.farmer, fentiao)
    buyer = as_user(app, "purchaser")
    post_form(buyer, f"/sub-orders/{fentiao.id}/cancel", {"reason": "改期"},
              page=f"/sub-orders/{fentiao.id}")
    db.session.expire_all()
    assert db.session.get(SubOrder, fentiao.id).status == "cancelled"
    assert stock(db, market.fentiao) == 100
    ledger_adds_up(db, market.fentiao)


def test_a_returned_order_cancelled_whole_releases_everything(app, db, market):
    order = place(market, fentiao="100", honey="10")  # over the threshold
    services.return_purchase_order(market.approver, order, "数量太多")
    buyer = as_user(app, "purchaser")
    post_form(buyer, f"/orders/{order.id}/cancel", {"reason": "不买了"}, page=f"/orders/{order.id}")
    db.session.expire_all()
    order = db.session.get(PurchaseOrder, order.id)
    assert order.status == "cancelled"
    assert {s.status for s in order.sub_orders} == {"cancelled"}
    assert stock(db, market.fentiao) == 100 and stock(db, market.honey) == 100


def test_acting_on_a_part_from_the_order_page_returns_to_the_order_page(app, db, market):
    order = place(market)
    fentiao = order.sub_orders[0]
    services.accept_sub_order(market.farmer, fentiao)
    services.ship_sub_order(market.farmer, fentiao, {fentiao.lines[0].id: "10"})
    buyer = as_user(app, "purchaser")
    page = text(buyer.get(f"/orders/{order.id}"))
    assert 'name="back" value="order"' in page
    response = post_form(buyer, f"/sub-orders/{fentiao.id}/receive",
                         {f"q{fentiao.lines[0].id}": "10", "back": "order"},
                         page=f"/orders/{order.id}")
    assert response.location.endswith(f"/orders/{order.id}#sub-{fentiao.id}")
    # From the part's own page, back to it; and nowhere else whatever is sent.
    honey = order.sub_orders[1]
    beekeeper = as_user(app, "beekeeper")
    response = post_form(beekeeper, f"/sub-orders/{honey.id}/accept",
                         {"back": "https://elsewhere.example/"}, page=f"/sub-orders/{honey.id}")
    assert response.location.endswith(f"/sub-orders/{honey.id}")
