"""Settlement: the append-only double-entry ledger, payouts never above what is owed, a
producer's own ledger, bank refunds after a dispute, reconciliation and its Excel export."""

import io
import secrets
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from marketplace.clock import today
from marketplace.errors import Invalid, NotAuthorized
from marketplace.orders import services as orders
from marketplace.payments import ledger
from marketplace.payments import services as payments
from marketplace.payments.models import LedgerEntry, LedgerJournal, Payout, Refund
from tests.helpers import login
from tests.payments.conftest import person


def pay_by_bank(admin, sub, amount):
    return payments.record_transfer(admin, payments.TransferData(
        value_date=today(), amount=amount, payer_org_id=None, payer_name="",
        reference=payments.reference_of(sub), bank_reference="",
        idempotency_key=secrets.token_hex(8)))


def payout(admin, org, amount, key=None):
    return payments.record_payout(admin, payments.PayoutData(
        producer_org_id=org.id, amount=amount, paid_on=today(), bank_reference="P-1",
        note="", idempotency_key=key or secrets.token_hex(8)))


def test_the_database_refuses_to_change_or_delete_ledger_rows(db, received, admin):
    pay_by_bank(admin, received.fentiao, "285")
    db.session.commit()
    for statement in ("UPDATE ledger_entries SET amount_fen = amount_fen + 1",
                      "DELETE FROM ledger_entries", "UPDATE ledger_journals SET memo = 'x'",
                      "DELETE FROM ledger_journals"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    entry = LedgerEntry.query.first()
    entry.amount_fen = 1
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    assert ledger.paid_fen(received.fentiao.id) == 28500


def test_an_unbalanced_journal_is_never_written(db, received):
    with pytest.raises(ledger.Unbalanced):
        ledger.post("transfer", [ledger.debit("bank", 100), ledger.credit("suspense", 99)])
    assert LedgerJournal.query.count() == 0


def test_payout_never_more_than_owed_and_balance_is_a_sum(db, received, admin):
    producer = received.fentiao.producer
    pay_by_bank(admin, received.fentiao, "285")
    with pytest.raises(Invalid, match="285.00"):
        payout(admin, producer, "285.01")
    payout(admin, producer, "200")
    assert ledger.producer_balance(producer.id) == 8500
    with pytest.raises(Invalid):
        payout(admin, producer, "85.01")
    payout(admin, producer, "85")
    assert ledger.producer_balance(producer.id) == 0
    # Nothing is owed to the other producer at all.
    with pytest.raises(Invalid):
        payout(admin, received.honey.producer, "0.01")
    assert Payout.query.count() == 2


def test_payout_twice_from_one_form_records_once(db, received, admin):
    pay_by_bank(admin, received.fentiao, "285")
    payout(admin, received.fentiao.producer, "10", key="same-form-key")
    with pytest.raises(payments.DuplicateSubmission):
        payout(admin, received.fentiao.producer, "10", key="same-form-key")
    assert ledger.producer_balance(received.fentiao.producer_org_id) == 27500


def test_only_finance_records_payouts(db, received):
    with pytest.raises(NotAuthorized):
        payout(received.market.farmer, received.fentiao.producer, "1")


def test_dispute_resolved_after_bank_payment_is_a_bank_refund_both_sides_see(
        db, client, received, admin):
    market, fentiao = received.market, received.fentiao
    pay_by_bank(admin, fentiao, "285")
    orders.dispute_sub_order(market.purchaser, fentiao, "3 袋破损")
    orders.resolve_dispute(admin, fentiao, {fentiao.lines[0].id: "7"}, "认可 7 袋")
    refund = Refund.query.one()
    assert (refund.method, refund.amount_fen, refund.reason) == ("bank", 3 * 2850, "dispute")
    assert ledger.producer_balance(fentiao.producer_org_id) == 7 * 2850
    login(client, "purchaser")
    page = client.get(f"/orders/{received.order.id}/payment").get_data(as_text=True)
    assert "银行转账退回" in page and "85.50" in page
    login(client, "farmer")
    ledger_page = client.get("/my/ledger").get_data(as_text=True)
    assert "199.50" in ledger_page and "85.50" in ledger_page  # balance and the refund


def test_resolution_in_the_sellers_favour_refunds_nothing(db, received, admin):
    fentiao = received.fentiao
    pay_by_bank(admin, fentiao, "285")
    orders.dispute_sub_order(received.market.purchaser, fentiao, "数量不对")
    orders.resolve_dispute(admin, fentiao, {fentiao.lines[0].id: "10"}, "数量无误")
    assert Refund.query.count() == 0 and ledger.paid_fen(fentiao.id) == 28500


def test_producer_sees_only_its_own_ledger(db, client, received, admin):
    pay_by_bank(admin, received.fentiao, "285")
    pay_by_bank(admin, received.honey, "114")
    login(client, "beekeeper")
    page = client.get("/my/ledger").get_data(as_text=True)
    assert "114.00" in page and "285.00" not in page
    other = received.fentiao.producer_org_id
    assert client.get(f"/admin/payments/producers/{other}/ledger").status_code == 403
    assert client.get("/admin/payments").status_code == 403


def test_reconciliation_by_day_and_method_and_its_excel_export(db, client, received, admin):
    pay_by_bank(admin, received.fentiao, "285")
    payments.record_transfer(admin, payments.TransferData(
        value_date=today() - timedelta(days=1 if today().day > 1 else 0), amount="9.99", payer_org_id=None,
        payer_name="无名", reference="", bank_reference="", idempotency_key="u" * 16))
    payout(admin, received.fentiao.producer, "100")
    rec = payments.reconciliation(admin, today().year, today().month)
    assert rec.totals["transfer"] == 28500 + 999 and rec.totals["payouts"] == 10000
    assert len(rec.unmatched) == 1 and rec.ledger_sum == 0
    login(client, "admin")
    page = client.get("/admin/payments/reconciliation").get_data(as_text=True)
    assert "294.99" in page and "无名" in page
    response = client.get(f"/admin/payments/reconciliation.xlsx?year={today().year}"
                          f"&month={today().month}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["按日汇总", "未匹配转账", "待处理事项", "账户余额"]
    by_day = list(book["按日汇总"].iter_rows(values_only=True))
    assert by_day[-1][0] == "合计" and float(by_day[-1][1]) == 294.99
    assert [r[2:4] for r in book["未匹配转账"].iter_rows(min_row=2, values_only=True)] == [
        (9.99, "无名")]
    assert client.get("/admin/payments/reconciliation?month=13").status_code == 400


def test_producer_cannot_record_payout_for_itself_through_the_page(db, client, received, admin):
    person("clerk", "buyer", received.market.canteen)
    login(client, "clerk")
    assert client.get("/admin/payments/payouts").status_code == 403
    assert client.get("/admin/payments/transfers/new").status_code == 403
