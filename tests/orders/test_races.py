"""Purchasers and producers racing each other at the served app (gunicorn, sync workers).

One server per module (starting one costs seconds); each test seeds its own organisations,
people and products in the shared database, then fires its requests at the same moment.
"""

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEvent
from marketplace.catalog import stock
from marketplace.catalog.models import Product, StockMovement
from marketplace.clock import today
from marketplace.extensions import db
from marketplace.notices.models import Notice
from marketplace.orders import cart, services
from marketplace.orders.models import CartLine, OrderLine, PurchaseOrder, SubOrder
from tests import factories
from tests.conftest import make_app
from tests.helpers import TOKEN
from tests.orders.conftest import QUICK_HASH
from tests.orders.served import Visitor, gunicorn, idempotency_key

_serial = itertools.count(1)
ROUNDS = 10


@dataclass
class Served:
    app: object
    base: str
    places: dict


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    app = make_app(tmp)
    with app.app_context():
        db.drop_all()
        db.create_all()
        p = factories.seed_places()
        places = {"yuzhou": p.yuzhou.id, "yanling": p.yanling.id, "starch": p.starch.id,
                  "bee": p.bee.id}
    try:
        with gunicorn(app.config, tmp, workers=4) as base:
            yield Served(app, base, places)
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def ctx(served):
    with served.app.app_context():
        yield served
        db.session.remove()


def person(role: str, organisation) -> User:
    """A user with the test password, cheap to check (twenty logins at once)."""
    user = User(username=f"{role}{next(_serial)}", display_name=f"{role} 姓名", role=role,
                organisation_id=organisation.id, password_hash=QUICK_HASH)
    db.session.add(user)
    db.session.commit()
    return user


def producer_with(served, county: str, category: str, name: str, product: str, *,
                  stock_left: str | None = None, minimum: str | None = None):
    org = factories.make_producer(db.session.get(factories.County, served.places[county]),
                                  name=name)
    farmer = person("producer", org)
    item = factories.make_certified_product(
        org, db.session.get(factories.Category, served.places[category]), name=product)
    if minimum is not None:
        item.min_order_qty = Decimal(minimum)
        db.session.commit()
    if stock_left is not None:
        stock.adjust_stock(farmer, item, "recount", stock_left, "盘点")
    return org, farmer, item


def buyer_with(served, name: str, *, threshold_fen=None, approvers=0):
    org = factories.make_buyer(db.session.get(factories.County, served.places["yuzhou"]),
                               name=name, threshold_fen=threshold_fen)
    purchaser = person("buyer", org)
    bosses = [person("buyer_approver", org) for _ in range(approvers)]
    return org, purchaser, bosses


def at_once(calls):
    """Run the callables at the same moment (a barrier in front of each); return their results."""
    barrier = threading.Barrier(len(calls))

    def go(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def logged_in(served, users) -> list[Visitor]:
    names = [u.username for u in users]  # read here: the threads have no app context
    with ThreadPoolExecutor(min(len(names), 8)) as pool:
        return list(pool.map(lambda name: Visitor(served.base).login(name), names))


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def ledger_adds_up(product_id: int) -> None:
    moves = db.session.scalars(db.select(StockMovement).where(
        StockMovement.product_id == product_id).order_by(StockMovement.id)).all()
    assert sum((m.delta for m in moves), Decimal(0)) == fresh(Product, product_id).stock
    assert all(m.balance >= 0 for m in moves)
    running = Decimal(0)
    for move in moves:  # each movement's balance is the running sum: no lost update
        running += move.delta
        assert move.balance == running, move.id


def checkout_form(visitor: Visitor, address_id: int, **extra) -> dict:
    page = visitor.get("/cart").text
    return {"csrf_token": TOKEN.search(page).group(1), "idempotency_key": idempotency_key(page),
            "address_id": address_id, "delivery_date": (today() + timedelta(days=1)).isoformat(),
            "window": "06:00-08:00", "invoice_title": "", "tax_number": "", "notes": "", **extra}


def address_of(org) -> int:
    from marketplace.buyers.services import active_addresses

    return active_addresses(org)[0].id


def test_twenty_buyers_race_for_the_last_seven_units(ctx):
    _, _, fentiao = producer_with(ctx, "yuzhou", "starch", "禹州方山粉条合作社", "禹州粉条",
                                  stock_left="7", minimum="1")
    bees, _, honey = producer_with(ctx, "yanling", "bee", "鄢陵蜂业合作社", "枣花蜜")
    other = factories.make_certified_product(bees, db.session.get(factories.Category,
                                                                  ctx.places["bee"]),
                                             name="槐花蜜")
    buyers = [buyer_with(ctx, f"第{i}中学食堂") for i in range(20)]
    for i, (_org, purchaser, _) in enumerate(buyers):
        first, second = (fentiao, honey) if i % 2 else (honey, fentiao)
        cart.add_to_cart(purchaser, first, "1" if first is fentiao else "3")
        cart.add_to_cart(purchaser, second, "1" if second is fentiao else "3")
    visitors = logged_in(ctx, [b[1] for b in buyers])
    # Whatever a client sends about prices, producers or products is not the server's concern.
    hostile = {"price_fen": "1", "unit_price_fen": "1", "price": "0.01", "total_fen": "1",
               "producer_org_id": str(bees.id), "product_id": str(other.id),
               "buyer_org_id": str(buyers[0][0].id), "status": "completed",
               "needs_approval": "0", "quantity": "999"}
    forms = [checkout_form(v, address_of(org), **hostile)
             for v, (org, _, _) in zip(visitors, buyers, strict=True)]

    replies = at_once([lambda v=v, f=f: v.post("/cart/checkout", f)
                       for v, f in zip(visitors, forms, strict=True)])

    assert sorted({r.status for r in replies}) == [302, 400], [r.status for r in replies]
    won = [i for i, r in enumerate(replies) if r.status == 302]
    assert len(won) == 7
    for i, reply in enumerate(replies):
        org, purchaser = buyers[i][0], buyers[i][1]
        orders = db.session.scalars(db.select(PurchaseOrder)
                                    .where(PurchaseOrder.buyer_org_id == org.id)).all()
        db.session.expire_all()
        kept = db.session.scalars(db.select(CartLine).where(CartLine.user_id == purchaser.id)).all()
        if i in won:
            (order,) = orders
            assert reply.location.endswith(f"/orders/{order.id}")
            assert not kept  # the cart became the order
            # The order exists whole: a sub-order per producer, each line priced from the listing.
            assert sorted((s.producer_org_id, [(ln.product_id, ln.quantity, ln.unit_price_fen)
                                                for ln in s.lines]) for s in order.sub_orders) == \
                sorted([(fentiao.organisation_id, [(fentiao.id, Decimal(1), 2850)]),
                        (bees.id, [(honey.id, Decimal(3), 2850)])])
            assert order.total_fen == 2850 * 4 and order.status == "placed"
            for sub in order.sub_orders:
                taken = db.session.scalars(db.select(StockMovement.delta).where(
                    StockMovement.sub_order_id == sub.id)).all()
                assert taken == [-sub.lines[0].quantity]
                assert sub.ordered_fen == sub.lines[0].amount_fen
        else:
            assert orders == []
            assert "禹州粉条" in reply.text and "库存" in reply.text  # told which line, and why
            assert sorted(c.product_id for c in kept) == sorted([fentiao.id, honey.id])

    sold = db.session.scalar(db.select(db.func.sum(OrderLine.quantity))
                             .where(OrderLine.product_id == fentiao.id))
    assert sold == 7 and fresh(Product, fentiao.id).stock == 0
    assert fresh(Product, honey.id).stock == 100 - 3 * 7
    assert fresh(Product, other.id).stock == 100
    for product in (fentiao, honey, other):
        ledger_adds_up(product.id)
    # Nothing half-made: no sub-order without lines, no line without its sub-order's stock.
    assert db.session.scalar(db.select(db.func.count(SubOrder.id))) == 14
    assert db.session.scalar(db.select(db.func.count(OrderLine.id))) == 14


def test_the_same_form_sent_twice_at_once_makes_one_order(ctx):
    _, _, fentiao = producer_with(ctx, "yuzhou", "starch", "双击合作社", "双击粉条")
    org, purchaser, _ = buyer_with(ctx, "双击食堂")
    cart.add_to_cart(purchaser, fentiao, "10")
    (visitor,) = logged_in(ctx, [purchaser])
    form = checkout_form(visitor, address_of(org))

    first, second = at_once([lambda: visitor.post("/cart/checkout", form)] * 2)
    third = visitor.post("/cart/checkout", form)  # a retry after both came back

    (order,) = db.session.scalars(db.select(PurchaseOrder)
                                  .where(PurchaseOrder.buyer_org_id == org.id)).all()
    for reply in (first, second, third):  # every copy lands on the one order
        assert reply.status == 302 and reply.location.endswith(f"/orders/{order.id}")
    assert fresh(Product, fentiao.id).stock == 90
    ledger_adds_up(fentiao.id)


def test_two_producers_finishing_at_the_same_moment_complete_the_order(ctx):
    """Each order has three parts, the first received; the other two are declined at once.

    Ten such orders at the same moment: a status derived from a stale view of the other
    part shows up as "in progress" (seen here with the order-row lock taken out).
    """
    parts = [producer_with(ctx, "yuzhou", "starch", f"同时合作社{k}", f"同时产品{k}")
             for k in range(3)]
    org, purchaser, _ = buyer_with(ctx, "同时食堂")
    first_farmer = parts[0][1]
    order_ids = []
    for _ in range(ROUNDS):
        for _, _, product in parts:
            cart.add_to_cart(purchaser, product, "4")
        order = services.submit_purchase_order(
            purchaser, {"address_id": address_of(org),
                        "delivery_date": today() + timedelta(days=1), "window": ""},
            f"race-key-{next(_serial):04d}")
        first = order.sub_orders[0]
        services.accept_sub_order(first_farmer, first)
        services.ship_sub_order(first_farmer, first, {first.lines[0].id: "4"})
        services.receive_sub_order(purchaser, first, {first.lines[0].id: "3"})
        order_ids.append((order.id, [s.id for s in order.sub_orders]))
    visitors = logged_in(ctx, [parts[1][1], parts[2][1]])
    tokens = [v.token("/my/orders") for v in visitors]
    calls = [lambda v=visitors[k], t=tokens[k], s=subs[k + 1]: v.post(
                 f"/sub-orders/{s}/decline", {"csrf_token": t, "reason": "原料不足"})
             for _, subs in order_ids for k in (0, 1)]

    replies = at_once(calls)

    assert [r.status for r in replies] == [302] * len(calls)
    for order_id, _ in order_ids:
        order = fresh(PurchaseOrder, order_id)
        assert [s.status for s in order.sub_orders] == ["received", "declined", "declined"]
        assert order.status == "completed"  # derived from both declines, not a stale view
        assert order.due_fen == 2850 * 3
    for _, _, product in parts[1:]:
        assert fresh(Product, product.id).stock == 100
        ledger_adds_up(product.id)


def awaiting_order(ctx, tag: str, approvers: int = 2):
    _, _, fentiao = producer_with(ctx, "yuzhou", "starch", f"{tag}合作社", f"{tag}粉条")
    org, purchaser, bosses = buyer_with(ctx, f"{tag}食堂", threshold_fen=10_000,
                                        approvers=approvers)
    cart.add_to_cart(purchaser, fentiao, "10")
    order = services.submit_purchase_order(
        purchaser, {"address_id": address_of(org), "delivery_date": today() + timedelta(days=1),
                    "window": ""}, f"race-key-{next(_serial):04d}")
    assert order.status == "awaiting_approval"
    return order.id, bosses, fentiao


@pytest.mark.parametrize("second", ["approve", "return"])
def test_two_approvers_deciding_at_once_exactly_one_lands(ctx, second):
    order_id, bosses, fentiao = awaiting_order(ctx, f"审批{second}")
    visitors = logged_in(ctx, bosses)
    tokens = [v.token(f"/orders/{order_id}") for v in visitors]
    first_reply, second_reply = at_once([
        lambda: visitors[0].post(f"/orders/{order_id}/approve",
                                 {"csrf_token": tokens[0], "reason": "同意"}),
        lambda: visitors[1].post(f"/orders/{order_id}/{second}",
                                 {"csrf_token": tokens[1], "reason": "数量太多"}),
    ])
    statuses = sorted([first_reply.status, second_reply.status])
    assert statuses == [302, 409]
    loser = first_reply if first_reply.status == 409 else second_reply
    assert "已被他人处理" in loser.text or "不能执行" in loser.text
    order = fresh(PurchaseOrder, order_id)
    sub = order.sub_orders[0]
    decisions = db.session.scalars(db.select(AuditEvent.action).where(
        AuditEvent.subject_type == "sub_orders", AuditEvent.subject_id == sub.id,
        AuditEvent.action.in_(["suborder.approve", "suborder.return"]))).all()
    assert len(decisions) == 1
    expected = {"suborder.approve": ("placed", "pending"),
                "suborder.return": ("returned", "returned")}[decisions[0]]
    assert (order.status, sub.status) == expected
    producer_notices = db.session.scalar(db.select(db.func.count(Notice.id)).where(
        Notice.subject_type == "sub_orders", Notice.subject_id == sub.id))
    assert producer_notices == (1 if decisions[0] == "suborder.approve" else 0)
    assert fresh(Product, fentiao.id).stock == 90  # reserved once, whatever the decision


def test_cancel_and_decline_at_once_exactly_one_lands_and_stock_follows(ctx):
    _, farmer, fentiao = producer_with(ctx, "yuzhou", "starch", "抢答合作社", "抢答粉条")
    org, purchaser, _ = buyer_with(ctx, "抢答食堂")
    cart.add_to_cart(purchaser, fentiao, "10")
    order = services.submit_purchase_order(
        purchaser, {"address_id": address_of(org), "delivery_date": today() + timedelta(days=1),
                    "window": ""}, "cancel-accept-1")
    sub_id = order.sub_orders[0].id
    buyer_v, farmer_v = logged_in(ctx, [purchaser, farmer])
    page = f"/sub-orders/{sub_id}"
    tb, tf = buyer_v.token(page), farmer_v.token(page)
    cancelled, declined = at_once([
        lambda: buyer_v.post(f"{page}/cancel", {"csrf_token": tb, "reason": "改期"}),
        lambda: farmer_v.post(f"{page}/decline", {"csrf_token": tf, "reason": "售罄"}),
    ])
    assert sorted([cancelled.status, declined.status]) == [302, 409]
    assert fresh(SubOrder, sub_id).status in ("cancelled", "declined")
    releases = db.session.scalars(db.select(StockMovement.delta).where(
        StockMovement.sub_order_id == sub_id, StockMovement.delta > 0)).all()
    assert releases == [Decimal(10)]  # put back once, not twice
    assert fresh(Product, fentiao.id).stock == 100
    ledger_adds_up(fentiao.id)


def test_releases_and_reservations_of_the_same_products_in_opposite_order_all_land(ctx):
    """Producers declining old orders (lines 粉条, 粉皮) while buyers submit carts holding
    the same two products the other way round (粉皮, 粉条): every request lands, none is
    lost to a deadlock between the two products' row locks."""
    org, farmer, fentiao = producer_with(ctx, "yuzhou", "starch", "交叉合作社", "交叉粉条")
    fenpi = factories.make_certified_product(
        org, db.session.get(factories.Category, ctx.places["starch"]), name="交叉粉皮")
    old_buyer, old_purchaser, _ = buyer_with(ctx, "交叉老客户")
    old_subs = []
    for _ in range(ROUNDS):
        cart.add_to_cart(old_purchaser, fentiao, "2")
        cart.add_to_cart(old_purchaser, fenpi, "2")
        order = services.submit_purchase_order(
            old_purchaser, {"address_id": address_of(old_buyer),
                            "delivery_date": today() + timedelta(days=1), "window": ""},
            f"race-key-{next(_serial):04d}")
        old_subs.append(order.sub_orders[0].id)
    buyers = [buyer_with(ctx, f"交叉新客户{k}") for k in range(ROUNDS)]
    for _, purchaser, _ in buyers:
        cart.add_to_cart(purchaser, fenpi, "2")
        cart.add_to_cart(purchaser, fentiao, "2")
    (farmer_v,) = logged_in(ctx, [farmer])
    token = farmer_v.token("/my/orders")
    visitors = logged_in(ctx, [b[1] for b in buyers])
    forms = [checkout_form(v, address_of(b[0])) for v, b in zip(visitors, buyers, strict=True)]
    calls = []
    for sub_id, visitor, form in zip(old_subs, visitors, forms, strict=True):
        calls.append(lambda s=sub_id: farmer_v.post(f"/sub-orders/{s}/decline",
                                                    {"csrf_token": token, "reason": "停产"}))
        calls.append(lambda v=visitor, f=form: v.post("/cart/checkout", f))

    replies = at_once(calls)

    assert [r.status for r in replies] == [302] * len(calls), [r.status for r in replies]
    assert {fresh(SubOrder, s).status for s in old_subs} == {"declined"}
    for product in (fentiao, fenpi):
        assert fresh(Product, product.id).stock == 100 - 2 * ROUNDS
        ledger_adds_up(product.id)


def test_a_producers_stock_adjustments_racing_orders_keep_the_ledger_exact(ctx):
    """Loss and restock posted while ten buyers order: every change is in the ledger once."""
    _, farmer, fentiao = producer_with(ctx, "yuzhou", "starch", "盘点合作社", "盘点粉条",
                                       stock_left="20", minimum="1")
    buyers = [buyer_with(ctx, f"盘点食堂{k}") for k in range(ROUNDS)]
    for _, purchaser, _ in buyers:
        cart.add_to_cart(purchaser, fentiao, "1")
    visitors = logged_in(ctx, [b[1] for b in buyers])
    forms = [checkout_form(v, address_of(b[0])) for v, b in zip(visitors, buyers, strict=True)]
    (farmer_v,) = logged_in(ctx, [farmer])
    stock_page = f"/my/products/{fentiao.id}/edit"
    token = farmer_v.token(stock_page)
    adjust = f"/my/products/{fentiao.id}/stock"
    calls = [lambda v=v, f=f: v.post("/cart/checkout", f)
             for v, f in zip(visitors, forms, strict=True)]
    calls += [lambda: farmer_v.post(adjust, {"csrf_token": token, "reason": "loss",
                                             "quantity": "3", "note": "破袋"}),
              lambda: farmer_v.post(adjust, {"csrf_token": token, "reason": "restock",
                                             "quantity": "5", "note": "新到货"})]

    replies = at_once(calls)

    assert [r.status for r in replies] == [302] * len(calls), [r.status for r in replies]
    sold = db.session.scalar(db.select(db.func.sum(OrderLine.quantity))
                             .where(OrderLine.product_id == fentiao.id))
    assert sold == ROUNDS
    assert fresh(Product, fentiao.id).stock == 20 - ROUNDS - 3 + 5
    ledger_adds_up(fentiao.id)
