"""The payment pages through the test client: invoices, the payment page and statement, paying
online, the webhook without a CSRF token, finance's forms, and who may open what."""

import io
import re

from marketplace.clock import today
from marketplace.payments import services as payments
from marketplace.payments.models import BankTransfer, Invoice, OnlinePayment
from tests import factories
from tests.helpers import csrf_token, login, pdf_bytes, post_form
from tests.payments.conftest import person, post_event


def text(response) -> str:
    return response.get_data(as_text=True)


def test_producer_uploads_invoice_and_buyer_downloads_it(db, client, received):
    sub = received.fentiao
    login(client, "farmer")
    page = text(client.get(f"/sub-orders/{sub.id}"))
    assert f"/sub-orders/{sub.id}/invoice" in page and "尚未开具" in page
    response = post_form(client, f"/sub-orders/{sub.id}/invoice",
                         {"number": "41002655", "issued_on": today().isoformat(),
                          "file": (io.BytesIO(pdf_bytes()), "发票.pdf")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    invoice = Invoice.query.one()
    assert (invoice.number, invoice.amount_fen, invoice.content_type) == (
        "41002655", 28500, "application/pdf")
    login(client, "purchaser")
    page = text(client.get(f"/orders/{received.order.id}/payment"))
    assert "41002655" in page and f"/sub-orders/{sub.id}/invoice/file" in page
    with client.get(f"/sub-orders/{sub.id}/invoice/file") as download:
        assert download.status_code == 200 and download.data.startswith(b"%PDF")
        assert "attachment" in download.headers["Content-Disposition"]


def test_invoice_marked_issued_without_a_file_and_bad_input_kept(db, client, received):
    sub = received.honey
    login(client, "beekeeper")
    response = post_form(client, f"/sub-orders/{sub.id}/invoice",
                         {"number": "12", "issued_on": "2999-01-01"})
    assert response.status_code == 400
    page = text(response)
    assert 'value="12"' in page and "6–40" in page and "不能晚于今天" in page
    response = post_form(client, f"/sub-orders/{sub.id}/invoice",
                         {"number": "DZFP-2026-0001", "issued_on": today().isoformat()})
    assert response.status_code == 302
    assert Invoice.query.one().stored_name is None
    assert client.get(f"/sub-orders/{sub.id}/invoice/file").status_code == 404


def test_a_producer_cannot_invoice_or_read_another_producers_sub_order(db, client, received):
    login(client, "beekeeper")
    assert client.get(f"/sub-orders/{received.fentiao.id}/invoice").status_code == 403
    token = csrf_token(client, f"/sub-orders/{received.honey.id}/invoice")
    response = client.post(f"/sub-orders/{received.fentiao.id}/invoice",
                           data={"csrf_token": token, "number": "41002655",
                                 "issued_on": today().isoformat()})
    assert response.status_code == 403 and Invoice.query.count() == 0
    assert client.get(f"/orders/{received.order.id}/payment").status_code == 403


def test_another_buyer_sees_nothing_of_the_order(db, client, received, places):
    other = factories.make_buyer(places.yanling, name="鄢陵县第一中学食堂")
    person("stranger", "buyer", other)
    login(client, "stranger")
    for url in (f"/orders/{received.order.id}/payment", f"/orders/{received.order.id}/statement",
                f"/sub-orders/{received.fentiao.id}/invoice/file"):
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, "/cart")
    response = client.post(f"/sub-orders/{received.fentiao.id}/pay-online",
                           data={"csrf_token": token})
    assert response.status_code == 403 and OnlinePayment.query.count() == 0


def test_payment_page_and_printable_statement(app, db, client, received):
    login(client, "purchaser")
    order_page = text(client.get(f"/orders/{received.order.id}"))
    assert f"/orders/{received.order.id}/payment" in order_page and "待付款" in order_page
    page = text(client.get(f"/orders/{received.order.id}/payment"))
    for fact in (app.config["PAYEE_NAME"], app.config["PAYEE_ACCOUNT"], "399.00", "285.00",
                 "114.00", payments.reference_of(received.fentiao),
                 payments.reference_of(received.honey), "在线支付 ¥285.00"):
        assert fact in page, fact
    statement = text(client.get(f"/orders/{received.order.id}/statement"))
    assert "对账单" in statement and "禹州方山粉条合作社" in statement and "鄢陵蜂业合作社" in statement
    assert payments.reference_of(received.honey) in statement and "399.00" in statement


def test_pay_online_redirects_to_checkout_and_return_page_waits_for_the_webhook(
        db, client, received, fake_stripe):
    login(client, "purchaser")
    response = post_form(client, f"/sub-orders/{received.fentiao.id}/pay-online", {},
                         page=f"/orders/{received.order.id}/payment")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(fake_stripe.base_url + "/checkout/cs_test_")
    payment = OnlinePayment.query.one()
    session = fake_stripe.sessions[payment.session_id]
    assert session["success_url"].startswith("http://localhost/payments/return?session_id=")
    fake_stripe.auto_deliver = False
    back = fake_stripe.pay(payment.session_id)
    waiting = client.get(back.replace("http://localhost", ""))
    assert waiting.status_code == 200 and "处理中" in text(waiting)
    assert waiting.headers["Refresh"] == "5"
    [event] = fake_stripe.queue
    assert post_event(client, event).status_code == 200  # no CSRF token, no session: accepted
    done = client.get(back.replace("http://localhost", ""))
    assert "已付款" in text(done) and "Refresh" not in done.headers
    assert "已付款" in text(client.get(f"/orders/{received.order.id}/payment"))


def test_stripe_down_gives_the_buyer_a_clear_message(db, client, received, fake_stripe):
    login(client, "purchaser")
    fake_stripe.fail_next("500")
    response = post_form(client, f"/sub-orders/{received.fentiao.id}/pay-online", {},
                         page=f"/orders/{received.order.id}/payment", follow_redirects=True)
    assert "Stripe 服务出错" in text(response) and "请稍后重试" in text(response)
    assert OnlinePayment.query.count() == 0


def test_another_buyers_return_page_is_refused(db, client, received, fake_stripe, places):
    payments.start_checkout(received.market.purchaser, received.fentiao,
                            success_url="http://x/{CHECKOUT_SESSION_ID}", cancel_url="http://x")
    session_id = OnlinePayment.query.one().session_id
    person("stranger", "buyer", factories.make_buyer(places.yanling, name="鄢陵县第一中学食堂"))
    login(client, "stranger")
    assert client.get(f"/payments/return?session_id={session_id}").status_code == 403
    assert client.get("/payments/return?session_id=cs_nothing").status_code == 404


def test_finance_records_a_transfer_through_the_form(db, client, received, admin):
    login(client, "admin")
    assert "财务" in text(client.get("/admin/"))
    form = text(client.get("/admin/payments/transfers/new"))
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', form).group(1)
    data = {"value_date": today().isoformat(), "amount": "285.00",
            "payer_org_id": str(received.market.canteen.id), "payer_name": "",
            "reference": payments.reference_of(received.fentiao), "bank_reference": "",
            "idempotency_key": key}
    response = post_form(client, "/admin/payments/transfers/new", data, follow_redirects=True)
    assert "已匹配" in text(response)
    again = post_form(client, "/admin/payments/transfers/new", data, follow_redirects=True)
    assert "已经记录过了" in text(again) and BankTransfer.query.count() == 1
    bad = post_form(client, "/admin/payments/transfers/new", dict(data, amount="12,50",
                                                                  idempotency_key="z" * 16))
    assert bad.status_code == 400 and 'value="12,50"' in text(bad)


def test_statement_import_through_the_pages_maps_once(db, client, received, admin):
    from tests.payments.test_statements import csv_statement, rows_for

    login(client, "admin")
    data = csv_statement(rows_for(received))
    page = post_form(client, "/admin/payments/import",
                     {"file": (io.BytesIO(data), "流水.csv")}, content_type="multipart/form-data")
    body = text(page)
    assert "指定流水各列的含义" in body and '<option value="贷方发生额" selected>' in body
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    fields = {"token": token, "filename": "流水.csv", "col_value_date": "交易日期",
              "col_amount": "贷方发生额", "col_memo": "摘要", "col_payer_name": "对方户名",
              "col_payer_account": "对方账号", "col_bank_reference": "交易流水号"}
    done = post_form(client, "/admin/payments/import/map", fields, page="/admin/payments/import",
                     follow_redirects=True)
    assert "新增 3 笔" in text(done)
    again = post_form(client, "/admin/payments/import",
                      {"file": (io.BytesIO(data), "流水.csv")}, content_type="multipart/form-data",
                      follow_redirects=True)
    assert "新增 0 笔" in text(again) and "已导入 3 笔" in text(again)


def test_finance_resolves_an_unmatched_transfer_on_its_page(db, client, received, admin):
    payments.record_transfer(admin, payments.TransferData(
        value_date=today(), amount="285", payer_org_id=None, payer_name="食堂", reference="",
        bank_reference="", idempotency_key="n" * 16))
    login(client, "admin")
    finance = text(client.get("/admin/payments"))
    issue_url = re.search(r'href="(/admin/payments/issues/\d+)"', finance).group(1)
    wrong = post_form(client, issue_url, {"action": "assign", "target": "CG0000", "note": ""})
    assert wrong.status_code == 400 and "找不到" in text(wrong)
    post_form(client, issue_url, {"action": "assign", "target": received.fentiao.number,
                                  "note": "电话确认"})
    assert payments.sub_order_payment(admin, received.fentiao).status == "paid"


def test_payout_through_the_form_and_over_the_balance(db, client, received, admin):
    payments.record_transfer(admin, payments.TransferData(
        value_date=today(), amount="285", payer_org_id=None, payer_name="",
        reference=payments.reference_of(received.fentiao), bank_reference="",
        idempotency_key="o" * 16))
    login(client, "admin")
    producer_id = received.fentiao.producer_org_id
    form = text(client.get(f"/admin/payments/payouts?producer={producer_id}"))
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', form).group(1)
    data = {"producer_org_id": str(producer_id), "amount": "300", "paid_on": today().isoformat(),
            "bank_reference": "", "note": "", "idempotency_key": key}
    refused = post_form(client, "/admin/payments/payouts", data)
    assert refused.status_code == 400 and "285.00" in text(refused)
    post_form(client, "/admin/payments/payouts", dict(data, amount="285"))
    login(client, "farmer")
    assert "已结算付款" in text(client.get("/my/ledger"))
