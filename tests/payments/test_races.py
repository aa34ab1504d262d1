"""Concurrency on a served app: Stripe delivering the same event in parallel, finance pressing
"pay out" twice at once; each lands once, and the ledger balances."""

import threading
from concurrent.futures import ThreadPoolExecutor

from marketplace.accounts.models import User
from marketplace.clock import today
from marketplace.payments import ledger
from marketplace.payments import services as payments
from marketplace.payments.models import OnlinePayment, Payout
from tests.payments.conftest import person, receive_order
from tests.served import Browser, race

URLS = {"success_url": "http://x/{CHECKOUT_SESSION_ID}", "cancel_url": "http://x/"}


def setup_market():
    """The payments `market`, its order received (call inside the served app's context)."""
    from tests import factories
    from tests.orders.conftest import Market

    places = factories.seed_places()
    producer_org = factories.make_producer(places.yuzhou)
    farmer = person("farmer", "producer", producer_org)
    canteen = factories.make_buyer(places.yuzhou)
    purchaser = person("purchaser", "buyer", canteen)
    bees = factories.make_producer(places.yanling, name="鄢陵蜂业合作社")
    market = Market(canteen, purchaser, None,
                    factories.make_certified_product(producer_org, places.starch),
                    factories.make_certified_product(bees, places.bee, name="枣花蜜"),
                    farmer, person("beekeeper", "producer", bees))
    person("admin", "admin")
    person("admin2", "admin")
    return receive_order(market)


def test_the_same_event_delivered_in_parallel_pays_once(live_app, fake_stripe):
    with live_app.app_context():
        received = setup_market()
        payments.start_checkout(received.market.purchaser, received.fentiao, **URLS)
        session_id = OnlinePayment.query.one().session_id
        sub_id = received.fentiao.id
    fake_stripe.auto_deliver = False
    fake_stripe.pay(session_id, asynchronous=True)
    completed, succeeded = fake_stripe.queue
    barrier = threading.Barrier(6)

    def send(event):
        barrier.wait(timeout=30)
        return fake_stripe.post_event(event)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, [succeeded] * 4 + [completed] * 2))
    assert answers == [200] * 6
    with live_app.app_context():
        assert OnlinePayment.query.one().status == "paid"
        assert ledger.paid_fen(sub_id) == 28500
        assert ledger.account_balance("stripe") == 28500


def test_two_payouts_at_once_never_exceed_what_is_owed(live_app):
    with live_app.app_context():
        received = setup_market()
        admin = User.query.filter_by(username="admin").one()
        payments.record_transfer(admin, payments.TransferData(
            value_date=today(), amount="285", payer_org_id=None, payer_name="",
            reference=payments.reference_of(received.fentiao), bank_reference="",
            idempotency_key="t" * 16))
        producer_id = received.fentiao.producer_org_id
    browsers = [Browser(live_app.base_url), Browser(live_app.base_url)]
    assert browsers[0].login("admin") and browsers[1].login("admin2")
    path = "/admin/payments/payouts"
    forms = [{"producer_org_id": str(producer_id), "amount": "200",
              "paid_on": today().isoformat(), "bank_reference": f"P{i}", "note": "",
              "idempotency_key": f"race-payout-{i}"} for i in range(2)]
    answers = race(browsers, path, forms)
    assert sorted(status for status, _page in answers) == [200, 400]
    assert any("85.00" in page for _status, page in answers)  # what was left, for the loser
    with live_app.app_context():
        assert Payout.query.count() == 1
        assert ledger.producer_balance(producer_id) == 8500
