"""Purchasing through the services: cart, submit, approval, routing, fulfilment, receipt."""

from decimal import Decimal

import pytest

from marketplace.catalog.models import Product, StockMovement
from marketplace.errors import Invalid, InvalidTransition, NotAuthorized
from marketplace.orders import cart, services
from marketplace.orders.models import OrderLine, PurchaseOrder, SubOrder
from tests.orders.conftest import delivery


def stock_of(db, product) -> Decimal:
    db.session.expire_all()
    return db.session.get(Product, product.id).stock


def submit(market, key="k" * 16, **overrides):
    return services.submit_purchase_order(market.purchaser, delivery(market, **overrides), key)


def fill(market, fentiao="10", honey="4"):
    cart.add_to_cart(market.purchaser, market.fentiao, fentiao)
    cart.add_to_cart(market.purchaser, market.honey, honey)


def test_one_order_becomes_a_sub_order_per_producer_with_snapshots(db, market):
    fill(market)
    order = submit(market)
    assert order.status == "placed" and not order.needs_approval
    assert [s.producer_name for s in order.sub_orders] == ["禹州方山粉条合作社", "鄢陵蜂业合作社"]
    line = order.sub_orders[0].lines[0]
    assert (line.product_name, line.unit_price_fen, line.county_name, line.category_name,
            line.township_name) == ("禹州粉条", 2850, "禹州市", "三粉制品", "方山镇")
    assert line.certificate_number == market.fentiao.certificates[0].number
    assert order.total_fen == 2850 * 10 + 2850 * 4
    assert stock_of(db, market.fentiao) == 90 and stock_of(db, market.honey) == 96
    assert cart.cart_lines(market.purchaser) == []
    # A later edit of the listing does not move the snapshot.
    market.fentiao.name = "改名粉条"
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(OrderLine, line.id).product_name == "禹州粉条"


def test_quantities_are_checked_against_minimum_step_and_stock(db, market):
    with pytest.raises(Invalid, match="起订量"):
        cart.add_to_cart(market.purchaser, market.fentiao, "1")
    market.fentiao.qty_step = Decimal("2")
    db.session.commit()
    with pytest.raises(Invalid, match="整数倍"):
        cart.add_to_cart(market.purchaser, market.fentiao, "3")
    with pytest.raises(Invalid, match="库存"):
        cart.add_to_cart(market.purchaser, market.fentiao, "102")
    assert cart.cart_lines(market.purchaser) == []


def test_a_line_that_went_off_sale_refuses_the_order_by_name_and_keeps_the_cart(
        db, market, admin):
    from marketplace.certification.services import revoke_certificate

    fill(market)
    revoke_certificate(admin, market.honey.certificates[0], "抽检不合格")
    with pytest.raises(Invalid, match="枣花蜜"):
        submit(market)
    assert len(cart.cart_lines(market.purchaser)) == 2
    assert db.session.scalar(db.select(db.func.count(PurchaseOrder.id))) == 0
    assert stock_of(db, market.fentiao) == 100


def test_delivery_date_in_the_past_is_refused(db, market):
    from datetime import timedelta

    from marketplace.clock import today

    fill(market)
    with pytest.raises(Invalid) as refused:
        submit(market, delivery_date=today() - timedelta(days=1))
    assert "delivery_date" in refused.value.errors
    assert stock_of(db, market.fentiao) == 100


def test_the_same_form_twice_makes_one_order(db, market):
    fill(market)
    first = submit(market, key="same-key-123")
    fill(market)
    with pytest.raises(services.DuplicateSubmission):
        submit(market, key="same-key-123")
    assert services.order_by_key(market.purchaser, "same-key-123").id == first.id
    assert db.session.scalar(db.select(db.func.count(PurchaseOrder.id))) == 1
    assert stock_of(db, market.fentiao) == 90


def test_over_the_threshold_waits_for_an_approver_who_is_not_the_purchaser(db, market):
    cart.add_to_cart(market.purchaser, market.fentiao, "100")  # ¥2,850
    cart.add_to_cart(market.purchaser, market.honey, "10")  # + ¥285 > the ¥3,000 threshold
    order = submit(market)
    assert order.needs_approval and order.status == "awaiting_approval"
    with pytest.raises(InvalidTransition):  # not routed to the producer yet
        services.accept_sub_order(market.farmer, order.sub_orders[0])
    from marketplace.errors import NotFound

    with pytest.raises(NotFound):  # nor does the producer see it
        services.get_sub_order(market.farmer, order.sub_orders[0].id)
    with pytest.raises(NotAuthorized):
        services.approve_purchase_order(market.purchaser, order)
    services.return_purchase_order(market.approver, order, "数量太多")
    assert order.status == "returned"
    services.revise_returned_order(market.purchaser, order,
                                   {order.sub_orders[0].lines[0].id: "98"})
    assert order.status == "awaiting_approval"  # ¥3,078 is still over the threshold
    assert stock_of(db, market.fentiao) == 2
    services.approve_purchase_order(market.approver, order, "同意")
    assert order.status == "placed"
    assert all(s.status == "pending" and s.accept_by for s in order.sub_orders)


def test_a_revision_under_the_threshold_goes_straight_to_the_producers(db, market):
    cart.add_to_cart(market.purchaser, market.fentiao, "100")
    cart.add_to_cart(market.purchaser, market.honey, "10")
    order = submit(market)
    services.return_purchase_order(market.approver, order, "数量太多")
    services.revise_returned_order(market.purchaser, order,
                                   {order.sub_orders[0].lines[0].id: "50",
                                    order.sub_orders[1].lines[0].id: "0"})
    assert [s.status for s in order.sub_orders] == ["pending", "cancelled"]
    assert order.status == "placed" and order.total_fen == 2850 * 50
    assert stock_of(db, market.fentiao) == 50 and stock_of(db, market.honey) == 100


def test_fulfilment_to_completion_with_a_shortfall(db, market):
    fill(market)
    order = submit(market)
    fentiao, honey = order.sub_orders
    services.accept_sub_order(market.farmer, fentiao)
    services.accept_sub_order(market.beekeeper, honey)
    with pytest.raises(Invalid):  # more than ordered
        services.ship_sub_order(market.farmer, fentiao, {fentiao.lines[0].id: "11"})
    services.ship_sub_order(market.farmer, fentiao, {fentiao.lines[0].id: "8"})
    assert stock_of(db, market.fentiao) == 92  # the 2 not shipped went back
    services.ship_sub_order(market.beekeeper, honey, {honey.lines[0].id: "4"})
    with pytest.raises(Invalid):  # received more than shipped
        services.receive_sub_order(market.purchaser, fentiao, {fentiao.lines[0].id: "9"})
    services.receive_sub_order(market.purchaser, fentiao, {fentiao.lines[0].id: "7.5"})
    assert order.status == "in_progress"
    services.receive_sub_order(market.purchaser, honey, {honey.lines[0].id: "4"})
    assert order.status == "completed"
    assert fentiao.due_fen == 2850 * 75 // 10 and order.due_fen == fentiao.due_fen + 2850 * 4
    assert fentiao.received_on is not None


def test_a_producer_acts_only_on_its_own_sub_order(db, market):
    fill(market)
    order = submit(market)
    honey = order.sub_orders[1]
    with pytest.raises(NotAuthorized):
        services.accept_sub_order(market.farmer, honey)
    with pytest.raises(NotAuthorized):
        services.get_sub_order(market.farmer, honey.id)
    with pytest.raises(NotAuthorized):
        services.get_order(market.farmer, order.id)
    assert honey.status == "pending"


def test_decline_and_cancel_put_stock_back_and_a_shipped_part_cannot_be_cancelled(db, market):
    fill(market)
    order = submit(market)
    fentiao, honey = order.sub_orders
    services.decline_sub_order(market.beekeeper, honey, "蜂蜜已售罄")
    assert stock_of(db, market.honey) == 100
    services.accept_sub_order(market.farmer, fentiao)
    services.ship_sub_order(market.farmer, fentiao, {fentiao.lines[0].id: "10"})
    with pytest.raises(InvalidTransition):
        services.cancel_sub_order(market.purchaser, fentiao, "不要了")
    assert stock_of(db, market.fentiao) == 90


def test_stock_ledger_adds_up(db, market):
    fill(market)
    order = submit(market)
    services.cancel_sub_order(market.purchaser, order.sub_orders[0], "改期")
    for product in (market.fentiao, market.honey):
        moves = db.session.scalars(db.select(StockMovement.delta)
                                   .where(StockMovement.product_id == product.id)).all()
        assert sum(moves, Decimal(0)) == stock_of(db, product)


def test_status_of_a_purchase_order_is_derived():
    from marketplace.orders.models import derive_order_status as d

    assert d(["pending", "pending"]) == "placed"
    assert d(["received", "declined"]) == "completed"
    assert d(["received", "shipped"]) == "in_progress"
    assert d(["cancelled", "declined"]) == "cancelled"
    assert d(["received", "disputed"]) == "disputed"
    assert d(["awaiting_approval", "awaiting_approval"]) == "awaiting_approval"
    assert d(["returned", "cancelled"]) == "returned"


def test_rating_after_receipt_once(db, market):
    fill(market)
    order = submit(market)
    sub = order.sub_orders[0]
    with pytest.raises(InvalidTransition):
        services.rate_supplier(market.purchaser, sub, 5, "好")
    services.accept_sub_order(market.farmer, sub)
    services.ship_sub_order(market.farmer, sub, {sub.lines[0].id: "10"})
    services.receive_sub_order(market.purchaser, sub, {sub.lines[0].id: "10"})
    services.rate_supplier(market.purchaser, sub, 4, "准时")
    with pytest.raises(InvalidTransition):
        services.rate_supplier(market.purchaser, sub, 5, "再评")
    assert services.producer_rating(sub.producer_org_id) == (4.0, 1)
    assert db.session.get(SubOrder, sub.id).status == "received"
