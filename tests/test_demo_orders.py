"""The demo's year of orders, and generated order lines, hold what the services would hold."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.buyers.services import active_addresses
from marketplace.catalog.models import Product, StockMovement
from marketplace.certification.models import Certificate
from marketplace.clock import now, today
from marketplace.demo.commands import _password
from marketplace.demo.orders import Writer
from marketplace.money import line_amount
from marketplace.notices.services import unread_count
from marketplace.orders import services
from marketplace.orders.cart import add_to_cart
from marketplace.orders.models import (
    OrderLine,
    OrderStatus,
    PurchaseOrder,
    SubOrder,
    SubOrderStatus,
    SupplierRating,
    derive_order_status,
)
from marketplace.organisations.models import Organisation
from marketplace.sequences import Counter
from tests.helpers import login

S = SubOrderStatus


def _user(db, username) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def check_invariants(db) -> dict:
    """What every order, line and stock ledger must satisfy; returns a few counts."""
    subs_of = defaultdict(list)
    for sub in db.session.scalars(select(SubOrder)):
        subs_of[sub.purchase_order_id].append(sub)
    lines_of = defaultdict(list)
    for line in db.session.scalars(select(OrderLine)):
        lines_of[line.sub_order_id].append(line)
    orders = list(db.session.scalars(select(PurchaseOrder)))
    assert orders
    numbers = [o.number for o in orders]
    assert len(set(numbers)) == len(numbers)
    for order in orders:
        subs = subs_of[order.id]
        assert subs, f"{order.number} has no sub-order"
        assert order.status == derive_order_status(s.status for s in subs), order.number
        assert order.total_fen == sum(s.ordered_fen for s in subs), order.number
        counter = db.session.get(Counter, f"order-{order.number[2:6]}")
        assert counter.value >= int(order.number[6:]), order.number
        for sub in subs:
            lines = lines_of[sub.id]
            assert lines, f"{sub.number} has no line"
            assert sub.ordered_fen == sum(li.amount_fen for li in lines)
            assert sub.routed_at is not None or sub.status in (
                S.AWAITING_APPROVAL, S.RETURNED, S.CANCELLED), sub.number
            for line in lines:
                assert line.amount_fen == line_amount(line.unit_price_fen, line.quantity)
                if line.quantity_shipped is not None:
                    assert 0 <= line.quantity_shipped <= line.quantity
                if line.quantity_received is not None:
                    assert 0 <= line.quantity_received <= line.quantity_shipped
                    assert line.received_fen == line_amount(line.unit_price_fen,
                                                            line.quantity_received)
            if sub.status == S.RECEIVED:
                assert sub.received_on is not None
            if sub.due_fen is not None:
                # what is due is price × quantity received, line by line
                assert sub.due_fen == sum(
                    line_amount(li.unit_price_fen, li.quantity_received) for li in lines)
            else:
                assert sub.status != S.RECEIVED
    # Every product's ledger sums to its stock, never goes below zero, and each sub-order took
    # exactly its lines and released exactly what it did not use.
    ledger = defaultdict(Decimal)
    balances_ok = True
    taken, released = defaultdict(Decimal), defaultdict(Decimal)
    last_balance = {}
    for move in db.session.scalars(select(StockMovement).order_by(StockMovement.id)):
        ledger[move.product_id] += move.delta
        balances_ok &= move.balance >= 0 and move.balance == ledger[move.product_id]
        last_balance[move.product_id] = move.balance
        if move.reason == "order":
            taken[move.sub_order_id] -= move.delta
        elif move.reason == "release":
            released[move.sub_order_id] += move.delta
    assert balances_ok
    stocks = dict(db.session.execute(select(Product.id, Product.stock)).all())
    assert {pid: ledger[pid] for pid in stocks} == stocks
    for subs in subs_of.values():
        for sub in subs:
            lines = lines_of[sub.id]
            assert taken[sub.id] == sum(li.quantity for li in lines), sub.number
            if sub.status in (S.DECLINED, S.CANCELLED):
                unused = sum(li.quantity for li in lines)
            elif sub.shipped_at is not None:
                unused = sum(li.quantity - li.quantity_shipped for li in lines)
            else:
                unused = 0
            assert released[sub.id] == unused, sub.number
    return {"orders": len(orders), "lines": sum(len(v) for v in lines_of.values())}


@pytest.fixture
def demo(app, db):
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert "purchase orders" in result.output, result.output
    return db


def test_demo_orders_keep_every_invariant(demo):
    db = demo
    counts = check_invariants(db)
    assert counts["lines"] > 1000
    # Every state is there, for the purchase orders and for their parts.
    order_states = set(db.session.scalars(select(PurchaseOrder.status).distinct()))
    assert order_states == {s.value for s in OrderStatus}
    sub_states = set(db.session.scalars(select(SubOrder.status).distinct()))
    assert sub_states == {s.value for s in SubOrderStatus}
    subs = list(db.session.scalars(select(SubOrder)))
    assert any(s.is_overdue(now()) for s in subs)  # pending past its accept deadline
    assert any(s.resolution and s.status == S.RECEIVED for s in subs)  # a settled dispute
    assert any(s.shortfall_fen > 0 for s in subs if s.status == S.RECEIVED)
    assert db.session.scalar(select(func.count(SupplierRating.id))) > 20
    # A year, with the seasons in it: tomatoes in summer, cabbage in winter.
    first = db.session.scalar(select(func.min(PurchaseOrder.submitted_at)))
    assert first < now() - timedelta(days=300)
    months = defaultdict(lambda: defaultdict(int))
    for name, submitted in db.session.execute(
            select(OrderLine.product_name, PurchaseOrder.submitted_at)
            .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
            .join(PurchaseOrder, PurchaseOrder.id == SubOrder.purchase_order_id)):
        for line in ("西红柿", "白菜"):
            if line in name:
                months[line][submitted.month] += 1
    summer, winter = (6, 7, 8, 9), (12, 1, 2)
    assert sum(months["西红柿"][m] for m in summer) > 3 * sum(months["西红柿"][m] for m in winter)
    assert sum(months["白菜"][m] for m in winter) > 3 * sum(months["白菜"][m] for m in summer)
    # Many producers and every county sell.
    assert db.session.scalar(select(func.count(func.distinct(SubOrder.producer_org_id)))) > 30
    assert db.session.scalar(select(func.count(func.distinct(OrderLine.county_id)))) == 8
    # The lines keep the snapshot as it was: the certificate valid on the day of the order.
    for line, submitted in db.session.execute(
            select(OrderLine, PurchaseOrder.submitted_at)
            .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
            .join(PurchaseOrder, PurchaseOrder.id == SubOrder.purchase_order_id).limit(300)):
        cert = db.session.get(Certificate, line.certificate_id)
        assert cert.product_id == line.product_id and cert.number == line.certificate_number
        assert cert.valid_from <= submitted.date() <= cert.valid_until
        org = db.session.get(Organisation, line.producer_org_id)
        assert (line.producer_name, line.county_name, line.township_id) == (
            org.name, org.county.name, org.township_id)
        assert line.formerly_poor == bool(org.village and org.village.formerly_poor)


def test_every_demo_login_has_work_waiting(demo, client):
    db = demo
    buyer, approver = _user(db, "buyer"), _user(db, "approver")
    producer, admin = _user(db, "producer"), _user(db, "admin")
    # approver: orders over the threshold, made by the purchaser, wait for approval
    waiting = services.awaiting_approval(approver)
    assert len(waiting) >= 2
    # buyer: shipped parts to receive
    own = select(SubOrder).join(SubOrder.purchase_order).where(
        PurchaseOrder.buyer_org_id == buyer.organisation_id)
    to_receive = [s for s in db.session.scalars(own) if s.may("receive", buyer)]
    assert len(to_receive) >= 2
    returned = [o for o in db.session.scalars(select(PurchaseOrder).where(
        PurchaseOrder.buyer_org_id == buyer.organisation_id, PurchaseOrder.status == "returned"))]
    assert returned
    # producer: parts to accept (one of them overdue) and to ship
    mine = list(db.session.scalars(select(SubOrder).where(
        SubOrder.producer_org_id == producer.organisation_id)))
    to_accept = [s for s in mine if s.may("accept", producer)]
    to_ship = [s for s in mine if s.may("ship", producer)]
    assert len(to_accept) >= 2 and len(to_ship) >= 2
    assert any(s.is_overdue(now()) for s in to_accept)
    # admin: disputes to resolve
    assert [s for s in services.disputes(admin) if s.may("resolve", admin)]
    # and each is told in the inbox
    for user in (buyer, approver, producer):
        assert unread_count(user) > 0

    # The pages of that work render for the right people, and not for others.
    pages = {
        "approver": ["/approvals", f"/orders/{waiting[0].id}"],
        "buyer": ["/orders", f"/orders/{to_receive[0].purchase_order_id}",
                  f"/sub-orders/{to_receive[0].id}", f"/orders/{returned[0].id}", "/inbox"],
        "producer": ["/my/orders", f"/sub-orders/{to_accept[0].id}",
                     f"/sub-orders/{to_ship[0].id}",
                     f"/sub-orders/{to_ship[0].id}/delivery-note"],
        "admin": ["/admin/disputes", f"/sub-orders/{services.disputes(admin)[0].id}"],
    }
    expected = {"/approvals": "审批", f"/sub-orders/{to_receive[0].id}": "确认验收",
                f"/sub-orders/{to_accept[0].id}": "接单",
                f"/sub-orders/{to_ship[0].id}": "确认发货"}
    for username, urls in pages.items():
        client.post("/logout")
        assert login(client, username, _password()).status_code == 302
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (username, url)
            if url in expected:
                assert expected[url] in response.get_data(as_text=True), (username, url)
        if username == "producer":
            assert client.get(f"/orders/{waiting[0].id}").status_code == 403
        if username == "buyer":
            other = db.session.scalar(select(SubOrder).join(SubOrder.purchase_order).where(
                PurchaseOrder.buyer_org_id != buyer.organisation_id))
            assert client.get(f"/sub-orders/{other.id}").status_code == 403


def test_an_order_submitted_after_the_demo_takes_the_next_number(demo):
    db = demo
    buyer = _user(db, "buyer")
    product = None
    for candidate in db.session.scalars(select(Product).order_by(Product.id)):
        if candidate.is_on_sale(today()) and candidate.stock >= candidate.min_order_qty:
            product = candidate
            break
    add_to_cart(buyer, product, str(product.min_order_qty))
    order = services.submit_purchase_order(buyer, {
        "address_id": active_addresses(buyer.organisation)[0].id,
        "delivery_date": today() + timedelta(days=1), "window": "", "invoice_title": "",
        "tax_number": "", "notes": ""}, "after-the-demo-1")
    year = today().year
    highest = max(int(n[6:]) for n in db.session.scalars(
        select(PurchaseOrder.number).where(PurchaseOrder.number.startswith(f"CG{year}"))))
    assert order.number == f"CG{year}{highest:07d}"
    check_invariants(db)


def test_generate_orders_for_benchmarks(app, db, monkeypatch):
    monkeypatch.setattr(Writer, "FLUSH_LINES", 200)  # written in many chunks, as at 1,000,000
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "generate", "--producers", "30", "--products", "400",
                                 "--orders", "3000"])
    assert "3000 order lines" in result.output, result.output
    assert db.session.scalar(select(func.count(OrderLine.id))) == 3000
    more = runner.invoke(args=["demo", "generate", "--producers", "0", "--products", "0",
                               "--orders", "500", "--seed", "7"])
    assert "500 order lines" in more.output, more.output
    counts = check_invariants(db)
    assert counts["lines"] == 3500
    # The sequences moved past the explicit ids: a row added the ordinary way gets a new id.
    db.session.add(StockMovement(product_id=db.session.scalar(select(Product.id)),
                                 delta=Decimal(0), balance=Decimal(0), reason="recount"))
    db.session.commit()
