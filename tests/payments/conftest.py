"""Payments tests: an app that talks to a local fake Stripe, a market whose orders were
received, and a check after every test that the ledger balances to the fen."""

import json
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from marketplace.extensions import db as _db
from marketplace.orders import cart
from marketplace.orders import services as orders
from marketplace.payments import ledger
from marketplace.payments.models import (
    Account,
    BankTransfer,
    OnlinePayment,
    Payout,
    Refund,
    TransferStatus,
)
from marketplace.search import index
from tests import factories
from tests.conftest import make_app
from tests.orders.conftest import Market, delivery
from tests.payments.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe, sign


@pytest.fixture
def fake_stripe():
    fake = FakeStripe().start()
    yield fake
    fake.stop()


def stripe_settings(fake) -> dict:
    return {"STRIPE_SECRET_KEY": API_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": fake.base_url, "STRIPE_CHECKOUT_ORIGIN": fake.base_url,
            "STRIPE_TIMEOUT": 1.0}


@pytest.fixture
def app(tmp_path, fake_stripe):
    """The app with Stripe pointed at the fake (a test clears the keys to see it without)."""
    app = make_app(tmp_path, **stripe_settings(fake_stripe))
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        yield app
        assert_books_balance()
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()
        index.forget(app.config["SEARCH_INDEX_DIR"])


@pytest.fixture
def live_app(tmp_path, fake_stripe):
    """The app served on a loopback port (threaded), Stripe's webhooks pointed at it."""
    app = make_app(tmp_path, **stripe_settings(fake_stripe))
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    fake_stripe.webhook_url = app.base_url + "/payments/stripe/webhook"
    yield app
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        assert_books_balance()
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


def _total(query) -> int:
    return int(_db.session.scalar(query) or 0)


def assert_books_balance() -> None:
    """The ledger balances to the fen, and every cash account agrees with its source rows."""
    _db.session.rollback()
    totals = ledger.totals()
    assert totals["sum"] == 0, totals
    assert ledger.unbalanced_journals() == []
    accounts = totals["accounts"]
    booked = (TransferStatus.MATCHED, TransferStatus.UNMATCHED, TransferStatus.REFUNDED)
    transfers_in = _total(select(func.sum(BankTransfer.amount_fen))
                          .where(BankTransfer.status.in_(booked)))
    bank_refunds = _total(select(func.sum(Refund.amount_fen)).where(Refund.method == "bank"))
    payouts = _total(select(func.sum(Payout.amount_fen)))
    assert accounts.get(Account.BANK, 0) == transfers_in - bank_refunds - payouts
    online_in = _total(select(func.sum(OnlinePayment.amount_fen))
                       .where(OnlinePayment.status == "paid"))
    stripe_refunds = _total(select(func.sum(Refund.amount_fen))
                            .where(Refund.method == "stripe", Refund.status != "failed"))
    assert accounts.get(Account.STRIPE, 0) == online_in - stripe_refunds
    unmatched = _total(select(func.sum(BankTransfer.amount_fen))
                       .where(BankTransfer.status == TransferStatus.UNMATCHED))
    assert -accounts.get(Account.SUSPENSE, 0) == unmatched


def person(username: str, role: str, organisation=None, county=None):
    """A user whose password is hashed with a cheap real method (tests log in a lot)."""
    from werkzeug.security import generate_password_hash

    from marketplace.accounts.models import User

    user = User(username=username, display_name=f"{username} 姓名", role=role,
                organisation_id=organisation.id if organisation else None,
                county_id=county.id if county else None,
                password_hash=generate_password_hash(factories.PASSWORD, "pbkdf2:sha256:1000"))
    _db.session.add(user)
    _db.session.commit()
    return user


@pytest.fixture
def admin(places):
    return person("admin", "admin")


@pytest.fixture
def producer(producer_org):
    return person("farmer", "producer", producer_org)


@pytest.fixture
def market(places, producer_org, producer):
    """A canteen (purchaser, approver) and two producers with a certified product each."""
    canteen = factories.make_buyer(places.yuzhou, threshold_fen=3_000_000)
    purchaser = person("purchaser", "buyer", canteen)
    approver = person("boss", "buyer_approver", canteen)
    canteen.buyer_profile.manager_id = approver.id
    bees = factories.make_producer(places.yanling, name="鄢陵蜂业合作社")
    fentiao = factories.make_certified_product(producer_org, places.starch)
    honey = factories.make_certified_product(bees, places.bee, name="枣花蜜")
    beekeeper = person("beekeeper", "producer", bees)
    return Market(canteen, purchaser, approver, fentiao, honey, producer, beekeeper)


@dataclass
class Received:
    market: Market
    order: object
    fentiao: object  # the 禹州 producer's sub-order
    honey: object  # the 鄢陵 producer's sub-order


def receive_order(market, fentiao="10", honey="4", key="p" * 16, received=None) -> Received:
    """Cart → order → accepted → shipped in full → received (as given, default in full)."""
    cart.add_to_cart(market.purchaser, market.fentiao, fentiao)
    cart.add_to_cart(market.purchaser, market.honey, honey)
    order = orders.submit_purchase_order(market.purchaser, delivery(market), key)
    subs = order.sub_orders
    for sub, producer in zip(subs, (market.farmer, market.beekeeper), strict=True):
        orders.accept_sub_order(producer, sub)
        orders.ship_sub_order(producer, sub, {line.id: str(line.quantity) for line in sub.lines})
        quantities = {line.id: (received or {}).get(sub.id, str(line.quantity))
                      for line in sub.lines}
        orders.receive_sub_order(market.purchaser, sub, quantities)
    return Received(market, order, subs[0], subs[1])


@pytest.fixture
def received(market):
    """A canteen's order from two producers, received in full: ¥285.00 and ¥114.00 due."""
    return receive_order(market)


def post_event(client, event: dict, *, secret=WEBHOOK_SECRET, timestamp=None, signature=None,
               body: str | None = None):
    """Deliver a Stripe event to the webhook through the test client, signed as Stripe does."""
    body = body if body is not None else json.dumps(event)
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["Stripe-Signature"] = signature or sign(body, secret, timestamp)
    return client.post("/payments/stripe/webhook", data=body, headers=headers)
