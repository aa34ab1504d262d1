"""Bank transfers: recorded by finance, matched by reference and amount, partial payments
accumulated, under- and overpayment, duplicates and unmatched money flagged for a person."""

import secrets
from datetime import timedelta

import pytest

from marketplace.clock import today
from marketplace.errors import Invalid, NotAuthorized
from marketplace.notices.models import Notice
from marketplace.payments import ledger
from marketplace.payments import services as payments
from marketplace.payments.models import (
    BankTransfer,
    IssueKind,
    PaymentIssue,
    Refund,
    find_references,
    payment_reference,
)
from tests import factories


def transfer(actor, amount, reference="", payer=None, **extra) -> BankTransfer:
    data = payments.TransferData(
        value_date=extra.pop("value_date", today()), amount=amount,
        payer_org_id=payer.id if payer else None, payer_name=extra.pop("payer_name", ""),
        reference=reference, bank_reference=extra.pop("bank_reference", ""),
        idempotency_key=extra.pop("key", secrets.token_hex(8)))
    return payments.record_transfer(actor, data)


def open_issues(kind=None):
    query = PaymentIssue.query.filter_by(status="open")
    if kind:
        query = query.filter_by(kind=kind)
    return query.all()


def part(actor, sub):
    return payments.sub_order_payment(actor, sub)


def test_a_reference_carries_check_digits_and_is_found_in_a_memo(app):
    reference = payment_reference("XN", 4217)
    assert len(reference) == 12 and reference.startswith("XN00004217")
    assert find_references("XN", f"货款 {reference.lower()} 谢谢") == [4217]
    assert find_references("XN", "货款 XN 00004217-" + reference[-2:]) == [4217]
    typo = reference[:-1] + str((int(reference[-1]) + 1) % 10)
    assert find_references("XN", typo) == []  # a mistyped reference matches nothing
    swapped = "XN00002417" + reference[-2:]
    assert find_references("XN", swapped) == []


def test_exact_transfer_pays_the_sub_order_and_both_sides_are_told(db, received, admin):
    fentiao = received.fentiao
    assert part(admin, fentiao).status == "unpaid" and fentiao.due_fen == 28500
    reference = payments.reference_of(fentiao)
    record = transfer(admin, "285.00", f"{reference} 中心医院食堂货款", payer=received.market.canteen)
    assert record.status == "matched" and record.sub_order_id == fentiao.id
    state = part(admin, fentiao)
    assert (state.status, state.paid_fen, state.outstanding_fen) == ("paid", 28500, 0)
    assert ledger.producer_balance(fentiao.producer_org_id) == 28500
    assert open_issues() == []
    texts = [n.text for n in Notice.query.all()]
    assert any("已付清 ¥285.00" in t for t in texts)
    # Fulfilment state is untouched by payment.
    assert fentiao.status == "received"


def test_partial_payments_accumulate_and_the_underpayment_is_flagged_until_paid(
        db, received, admin):
    honey = received.honey  # ¥114.00 due
    reference = payments.reference_of(honey)
    transfer(admin, "100", reference)
    state = part(admin, honey)
    assert (state.status, state.paid_fen, state.outstanding_fen) == ("partly_paid", 10000, 1400)
    [issue] = open_issues(IssueKind.UNDERPAID)
    assert issue.sub_order_id == honey.id and "14.00" in issue.detail
    transfer(admin, "14", reference, value_date=today() - timedelta(days=1))
    assert part(admin, honey).status == "paid"
    assert open_issues(IssueKind.UNDERPAID) == []  # settled by the later payment
    db.session.refresh(issue)
    assert issue.status == "resolved" and "补足" in issue.resolution


def test_overpayment_is_held_for_the_buyer_and_refunded_by_bank(db, received, admin):
    honey = received.honey
    transfer(admin, "200", payments.reference_of(honey))
    state = part(admin, honey)
    assert (state.paid_fen, state.credit_fen) == (11400, 8600)
    assert ledger.producer_balance(honey.producer_org_id) == 11400  # not the producer's money
    [issue] = open_issues(IssueKind.OVERPAID)
    assert issue.amount_fen == 8600
    payments.resolve_issue(admin, issue, "refund", "退回多付部分")
    refund = Refund.query.one()
    assert (refund.method, refund.amount_fen, refund.sub_order_id) == ("bank", 8600, honey.id)
    assert part(admin, honey).credit_fen == 0 and part(admin, honey).paid_fen == 11400


def test_overpaid_credit_can_be_applied_to_another_order_of_the_same_buyer(db, received, admin):
    fentiao, honey = received.fentiao, received.honey
    transfer(admin, "399.00", payments.reference_of(honey))  # paid both parts on one reference
    [issue] = open_issues(IssueKind.OVERPAID)
    payments.resolve_issue(admin, issue, "assign", "一次转了整单", target=fentiao.number)
    assert part(admin, fentiao).status == "paid" and part(admin, honey).status == "paid"
    assert part(admin, honey).credit_fen == 0


def test_unmatched_transfer_waits_in_suspense_until_a_person_assigns_it(db, received, admin):
    record = transfer(admin, "285")  # no reference at all
    assert record.status == "unmatched"
    assert ledger.account_balance("suspense") == 28500
    [issue] = open_issues(IssueKind.UNMATCHED)
    with pytest.raises(Invalid):
        payments.resolve_issue(admin, issue, "assign", target="XN0000000000")
    payments.resolve_issue(admin, issue, "assign", "电话确认",
                           target=payments.reference_of(received.fentiao))
    assert part(admin, received.fentiao).status == "paid"
    assert ledger.account_balance("suspense") == 0
    db.session.refresh(record)
    assert record.status == "matched"


def test_unmatched_transfer_can_be_sent_back(db, received, admin):
    transfer(admin, "50")
    [issue] = open_issues(IssueKind.UNMATCHED)
    payments.resolve_issue(admin, issue, "refund", "不是平台的款项")
    assert Refund.query.one().amount_fen == 5000
    assert ledger.account_balance("suspense") == 0 and ledger.account_balance("bank") == 0


def test_transfer_against_another_organisations_order_is_refused(db, received, admin, places):
    other = factories.make_buyer(places.yanling, name="鄢陵县第一中学食堂")
    with pytest.raises(Invalid) as refused:
        transfer(admin, "285", payments.reference_of(received.fentiao), payer=other)
    assert "reference" in refused.value.errors
    assert BankTransfer.query.count() == 0 and ledger.totals()["accounts"] == {}
    # And an unmatched transfer from that payer cannot be assigned to this order either.
    transfer(admin, "285", payer=other)
    [issue] = open_issues(IssueKind.UNMATCHED)
    with pytest.raises(Invalid) as refused:
        payments.resolve_issue(admin, issue, "assign", target=received.fentiao.number)
    assert "target" in refused.value.errors
    assert part(admin, received.fentiao).paid_fen == 0


def test_reference_of_an_order_not_yet_received_is_refused(db, market, admin):
    from marketplace.orders import cart
    from marketplace.orders import services as orders
    from tests.orders.conftest import delivery

    cart.add_to_cart(market.purchaser, market.fentiao, "4")
    order = orders.submit_purchase_order(market.purchaser, delivery(market), "q" * 16)
    with pytest.raises(Invalid, match="检查"):
        transfer(admin, "114", payments.reference_of(order.sub_orders[0]))


def test_duplicate_record_is_held_not_booked_twice(db, received, admin):
    reference = payments.reference_of(received.fentiao)
    transfer(admin, "285", reference)
    second = transfer(admin, "285", reference)  # entered again by someone else
    assert second.status == "held"
    assert part(admin, received.fentiao).paid_fen == 28500
    [issue] = open_issues(IssueKind.DUPLICATE)
    payments.resolve_issue(admin, issue, "discard", "同一笔")
    db.session.refresh(second)
    assert second.status == "discarded" and ledger.account_balance("bank") == 28500


def test_same_form_submitted_twice_records_once(db, received, admin):
    transfer(admin, "1", key="k" * 16)
    with pytest.raises(payments.DuplicateSubmission):
        transfer(admin, "1", key="k" * 16)
    assert BankTransfer.query.count() == 1


def test_only_finance_records_transfers(db, received):
    with pytest.raises(NotAuthorized):
        transfer(received.market.purchaser, "285", payments.reference_of(received.fentiao))
    with pytest.raises(NotAuthorized):
        transfer(received.market.farmer, "285")
