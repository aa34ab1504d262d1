"""Online payment through Stripe Checkout (the local fake): paid only on a signature-verified
webhook; idempotent and out-of-order events; refused signatures, amounts and sessions; Stripe
failures that leave nothing behind; refunds after a dispute."""

import json
import logging
import time

import pytest

from marketplace.errors import InvalidTransition, NotAuthorized
from marketplace.orders import services as orders
from marketplace.payments import ledger
from marketplace.payments import services as payments
from marketplace.payments.models import OnlinePayment, PaymentIssue, Refund, WebhookEvent
from tests.helpers import login, post_form
from tests.payments.conftest import post_event

URLS = {"success_url": "http://127.0.0.1/payments/return?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1/payments/cancelled"}


def checkout(received, sub=None):
    sub = sub or received.fentiao
    url = payments.start_checkout(received.market.purchaser, sub, **URLS)
    return OnlinePayment.query.filter_by(sub_order_id=sub.id).order_by(OnlinePayment.id.desc()) \
        .first(), url


def paid_events(fake, payment, *, asynchronous=False):
    """The buyer pays on the fake checkout page; the events it makes (not yet delivered)."""
    fake.auto_deliver = False
    fake.pay(payment.session_id, asynchronous=asynchronous)
    events, fake.queue = fake.queue, []
    return events


def status_of(db, payment) -> str:
    db.session.expire_all()
    return db.session.get(OnlinePayment, payment.id).status


def test_checkout_is_in_cny_with_card_alipay_and_wechat_pay(db, received, fake_stripe):
    payment, url = checkout(received)
    session = fake_stripe.sessions[payment.session_id]
    assert url == session["url"] and payment.status == "open"
    assert (session["amount_total"], session["currency"]) == (28500, "cny")
    assert session["payment_method_types"] == ["card", "alipay", "wechat_pay"]
    assert session["client_reference_id"] == payments.reference_of(received.fentiao)
    # A second click while the session is open goes to the same page, not a second session.
    assert checkout(received)[1] == url and len(fake_stripe.sessions) == 1


def test_paid_only_when_the_signed_webhook_lands(db, client, received, fake_stripe):
    payment, _url = checkout(received)
    [completed] = paid_events(fake_stripe, payment)
    # The buyer is back from Stripe, but no webhook yet: still unpaid.
    assert payments.sub_order_payment(received.market.purchaser, received.fentiao).status \
        == "unpaid"
    assert post_event(client, completed).status_code == 200
    assert status_of(db, payment) == "paid"
    part = payments.sub_order_payment(received.market.purchaser, received.fentiao)
    assert (part.status, part.paid_fen) == ("paid", 28500)
    assert ledger.account_balance("stripe") == 28500


def test_the_same_event_five_times_pays_once(db, client, received, fake_stripe):
    payment, _url = checkout(received)
    [completed] = paid_events(fake_stripe, payment)
    answers = [post_event(client, completed).status_code for _ in range(5)]
    assert answers == [200] * 5
    assert ledger.paid_fen(received.fentiao.id) == 28500
    assert ledger.account_balance("stripe") == 28500
    assert WebhookEvent.query.count() == 1


def test_async_method_processing_then_success_in_any_order(db, client, received, fake_stripe):
    payment, _url = checkout(received)
    completed, succeeded = paid_events(fake_stripe, payment, asynchronous=True)
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    # Out of order: the success comes first, the completion (still unpaid) after it.
    assert post_event(client, succeeded).status_code == 200
    assert post_event(client, completed).status_code == 200
    assert status_of(db, payment) == "paid"
    assert ledger.paid_fen(received.fentiao.id) == 28500


def test_async_success_after_expiry_still_pays(db, client, received, fake_stripe):
    payment, _url = checkout(received)
    completed, succeeded = paid_events(fake_stripe, payment, asynchronous=True)
    post_event(client, completed)
    assert status_of(db, payment) == "processing"
    expired = fake_stripe.event("checkout.session.expired",
                                dict(completed["data"]["object"], status="expired"))
    post_event(client, expired)
    assert status_of(db, payment) == "expired"
    post_event(client, succeeded)
    assert status_of(db, payment) == "paid" and ledger.paid_fen(received.fentiao.id) == 28500
    post_event(client, expired)  # a late redelivery of the expiry changes nothing
    assert status_of(db, payment) == "paid"


def test_completed_after_a_refund_event_leaves_one_correct_state(db, client, received,
                                                                 fake_stripe):
    payment, _url = checkout(received)
    [completed] = paid_events(fake_stripe, payment)
    intent = completed["data"]["object"]["payment_intent"]
    # A refund made in Stripe's dashboard, whose event overtakes the completion.
    refund = {"id": "re_dashboard1", "object": "refund", "amount": 5000, "currency": "cny",
              "payment_intent": intent, "status": "succeeded", "created": int(time.time()),
              "metadata": {}}
    refunded = fake_stripe.event("refund.created", refund)
    assert post_event(client, refunded).status_code == 200
    assert ledger.totals()["accounts"] == {}  # waits for the payment
    post_event(client, completed)
    post_event(client, refunded)  # redelivered: still once
    post_event(client, completed)
    assert status_of(db, payment) == "paid"
    assert [r.amount_fen for r in Refund.query.all()] == [5000]
    assert ledger.paid_fen(received.fentiao.id) == 23500
    assert ledger.account_balance("stripe") == 23500


@pytest.mark.parametrize("case", ["missing", "tampered", "wrong secret", "stale", "garbage"])
def test_bad_signatures_change_nothing_are_logged_and_get_400(db, client, received, fake_stripe,
                                                              caplog, case):
    payment, _url = checkout(received)
    [completed] = paid_events(fake_stripe, payment)
    body = json.dumps(completed)
    caplog.set_level(logging.WARNING, logger="marketplace.payments")
    if case == "missing":
        response = post_event(client, completed, signature=False)
    elif case == "tampered":
        from tests.payments.fake_stripe import sign

        response = post_event(client, completed, signature=sign(body),
                              body=body.replace("28500", "28501"))
    elif case == "wrong secret":
        response = post_event(client, completed, secret="whsec_someone_else")
    elif case == "stale":
        response = post_event(client, completed, timestamp=int(time.time()) - 301)
    else:
        response = post_event(client, completed, signature="t=1,v1=zz")
    assert response.status_code == 400
    assert status_of(db, payment) == "open" and WebhookEvent.query.count() == 0
    assert ledger.totals()["accounts"] == {}
    assert any("webhook refused" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("change", [{"amount_total": 100}, {"currency": "usd"},
                                    {"id": "cs_test_nobodys"}])
def test_wrong_amount_currency_or_unknown_session_is_rejected_and_logged(
        db, client, received, fake_stripe, caplog, change):
    payment, _url = checkout(received)
    [completed] = paid_events(fake_stripe, payment)
    completed["data"]["object"].update(change)
    caplog.set_level(logging.WARNING, logger="marketplace.payments")
    response = post_event(client, completed)
    assert response.status_code == 200  # signed: acknowledged, a retry could not change it
    assert response.get_json()["outcome"] == "rejected"
    assert status_of(db, payment) == "open"
    assert ledger.totals()["accounts"] == {}
    assert WebhookEvent.query.one().outcome == "rejected"
    assert any("rejected" in r.getMessage() for r in caplog.records)
    if "id" not in change:  # about one of our sessions: a person looks at it
        assert PaymentIssue.query.one().kind == "webhook"


@pytest.mark.parametrize("fault", ["500", "timeout", "disconnect"])
def test_stripe_failure_leaves_no_half_made_payment_and_retry_works(db, client, received,
                                                                    fake_stripe, fault):
    fake_stripe.fail_next(fault)
    with pytest.raises(payments.GatewayUnavailable) as failed:
        checkout(received)
    assert "没有产生任何付款" in failed.value.message
    assert OnlinePayment.query.count() == 0
    payment, url = checkout(received)  # the retry
    assert payment.status == "open" and url.startswith(fake_stripe.base_url)
    [completed] = paid_events(fake_stripe, payment)
    post_event(client, completed)
    assert ledger.paid_fen(received.fentiao.id) == 28500


def test_a_timed_out_request_that_stripe_did_serve_is_not_doubled(db, received, fake_stripe):
    """Stripe made the session but the answer came too late: the retry gets that session."""
    fake_stripe.fail_next("late")
    with pytest.raises(payments.GatewayUnavailable):
        checkout(received)
    assert len(fake_stripe.sessions) == 1 and OnlinePayment.query.count() == 0
    payment, _url = checkout(received)
    assert len(fake_stripe.sessions) == 1 and payment.session_id in fake_stripe.sessions


def test_without_keys_online_is_not_offered_and_the_page_says_why(app, db, client, received):
    app.config["STRIPE_SECRET_KEY"] = ""
    login(client, "purchaser")
    page = client.get(f"/orders/{received.order.id}/payment").get_data(as_text=True)
    assert "STRIPE_SECRET_KEY" in page and "pay-online" not in page
    assert payments.reference_of(received.fentiao) in page and app.config["PAYEE_ACCOUNT"] in page
    response = post_form(client, f"/sub-orders/{received.fentiao.id}/pay-online", {},
                         page=f"/orders/{received.order.id}/payment")
    assert response.status_code == 303 and OnlinePayment.query.count() == 0
    with pytest.raises(InvalidTransition):
        checkout(received)


def test_only_the_buyer_pays_and_only_what_is_due(db, received, places):
    from tests.payments.conftest import person

    with pytest.raises(NotAuthorized):
        payments.start_checkout(received.market.farmer, received.fentiao, **URLS)
    from tests import factories

    other = factories.make_buyer(places.yanling, name="鄢陵县第一中学食堂")
    stranger = person("stranger", "buyer", other)
    with pytest.raises(NotAuthorized):
        payments.start_checkout(stranger, received.fentiao, **URLS)


def test_resolution_after_online_payment_refunds_through_stripe(db, client, received, admin,
                                                               fake_stripe):
    market, fentiao = received.market, received.fentiao
    payment, _url = checkout(received)
    [completed] = paid_events(fake_stripe, payment)
    post_event(client, completed)
    orders.dispute_sub_order(market.purchaser, fentiao, "有 4 袋受潮")
    line = fentiao.lines[0]
    orders.resolve_dispute(admin, fentiao, {line.id: "6"}, "认可 6 袋")
    assert fentiao.due_fen == 6 * 2850
    refund = Refund.query.one()
    assert (refund.method, refund.amount_fen, refund.status) == ("stripe", 4 * 2850, "succeeded")
    [stripe_refund] = fake_stripe.refunds.values()
    assert (stripe_refund["amount"], stripe_refund["payment_intent"]) == (11400,
                                                                           payment.payment_intent)
    part = payments.sub_order_payment(market.purchaser, fentiao)
    assert (part.status, part.paid_fen, part.refunded_fen) == ("paid", 17100, 11400)
    assert ledger.producer_balance(fentiao.producer_org_id) == 17100
    # Stripe's own refund.created event for it arrives afterwards: nothing more happens.
    refund_event = fake_stripe.queue.pop()
    assert refund_event["type"] == "refund.created"
    refund_event["data"]["object"]["created"] -= 600
    assert post_event(client, refund_event).status_code == 200
    assert Refund.query.count() == 1 and ledger.paid_fen(fentiao.id) == 17100


def test_resolution_is_rolled_back_when_stripe_cannot_refund(db, client, received, admin,
                                                            fake_stripe):
    market, fentiao = received.market, received.fentiao
    payment, _url = checkout(received)
    [completed] = paid_events(fake_stripe, payment)
    post_event(client, completed)
    orders.dispute_sub_order(market.purchaser, fentiao, "有 4 袋受潮")
    line = fentiao.lines[0]
    fake_stripe.fail_next("500")
    with pytest.raises(payments.GatewayUnavailable):
        orders.resolve_dispute(admin, fentiao, {line.id: "6"}, "认可 6 袋")
    db.session.expire_all()
    assert fentiao.status == "disputed" and fentiao.due_fen == 28500
    assert Refund.query.count() == 0 and ledger.paid_fen(fentiao.id) == 28500
    orders.resolve_dispute(admin, fentiao, {line.id: "6"}, "认可 6 袋")  # retry works
    assert Refund.query.one().amount_fen == 11400


def test_our_refund_event_racing_our_commit_asks_stripe_to_retry(db, client, received,
                                                                 fake_stripe):
    payment, _url = checkout(received)
    [completed] = paid_events(fake_stripe, payment)
    post_event(client, completed)
    refund = {"id": "re_ours_in_flight", "object": "refund", "amount": 100, "currency": "cny",
              "payment_intent": completed["data"]["object"]["payment_intent"],
              "status": "succeeded", "created": int(time.time()),
              "metadata": {"origin": "xunong"}}
    event = fake_stripe.event("refund.created", refund)
    assert post_event(client, event).status_code == 503
    assert WebhookEvent.query.filter_by(event_id=event["id"]).count() == 0  # so it comes again
    event["data"]["object"]["created"] -= 600  # much later, still unknown: someone's refund
    assert post_event(client, event).status_code == 200
    assert Refund.query.one().amount_fen == 100


def test_a_failed_stripe_refund_is_owed_again_and_flagged(db, client, received, admin,
                                                         fake_stripe):
    market, fentiao = received.market, received.fentiao
    payment, _url = checkout(received)
    [completed] = paid_events(fake_stripe, payment)
    post_event(client, completed)
    orders.dispute_sub_order(market.purchaser, fentiao, "短少")
    orders.resolve_dispute(admin, fentiao, {fentiao.lines[0].id: "9"}, "认可 9 袋")
    refund = Refund.query.one()
    failed = fake_stripe.event("refund.updated", dict(
        fake_stripe.refunds[refund.stripe_refund_id], status="failed"))
    post_event(client, failed)
    post_event(client, failed)
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == "failed"
    issue = PaymentIssue.query.filter_by(kind="refund_failed").one()
    assert ledger.credit_fen(fentiao.id) == 2850
    payments.resolve_issue(admin, issue, "refund", "改为银行转账退回")
    assert ledger.credit_fen(fentiao.id) == 0
    assert Refund.query.filter_by(method="bank").one().amount_fen == 2850
