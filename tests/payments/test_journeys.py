"""Payment journeys in headless Chromium: the buyer receives the goods and pays online on the
(fake) Stripe checkout page, the webhook arrives, the order shows paid; and the same for a bank
transfer recorded by finance. The ledger balances to the fen after each."""

from playwright.sync_api import expect

from marketplace.orders import cart
from marketplace.orders import services as orders
from tests import factories
from tests.orders.conftest import Market, delivery
from tests.payments.conftest import person


def shipped_order(app) -> tuple[str, str]:
    """A canteen's order of 禹州粉条, shipped by the producer; (order number, sub-order id)."""
    with app.app_context():
        places = factories.seed_places()
        producer_org = factories.make_producer(places.yuzhou)
        farmer = person("farmer", "producer", producer_org)
        canteen = factories.make_buyer(places.yuzhou)
        purchaser = person("purchaser", "buyer", canteen)
        person("admin", "admin")
        product = factories.make_certified_product(producer_org, places.starch)
        market = Market(canteen, purchaser, None, product, None, farmer, None)
        cart.add_to_cart(purchaser, product, "10")
        order = orders.submit_purchase_order(purchaser, delivery(market), "j" * 16)
        sub = order.sub_orders[0]
        orders.accept_sub_order(farmer, sub)
        orders.ship_sub_order(farmer, sub, {sub.lines[0].id: "10"})
        return order.id, sub.id


def log_in(page, username):
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".flash-success")).to_contain_text("欢迎")


def receive(page, sub_id, quantity="9"):
    page.goto(f"/sub-orders/{sub_id}")
    page.get_by_role("textbox", name="禹州粉条").fill(quantity)
    page.get_by_role("button", name="确认验收").click()
    expect(page.locator(".flash-success")).to_contain_text("已验收")


def test_buyer_pays_online_on_the_checkout_page_and_the_webhook_marks_it_paid(
        live_app, new_page, fake_stripe):
    order_id, sub_id = shipped_order(live_app)
    buyer = new_page()
    log_in(buyer, "purchaser")
    receive(buyer, sub_id)  # one bag short: ¥256.50 due
    buyer.goto(f"/orders/{order_id}")
    expect(buyer.locator(".payment-hook")).to_contain_text("待付款")
    buyer.get_by_role("link", name="付款与发票").click()
    fake_stripe.auto_deliver = False  # the webhook is late: the buyer is back first
    buyer.get_by_role("button", name="在线支付 ¥256.50").click()
    expect(buyer.locator(".amount")).to_have_text("CNY 256.50")
    buyer.get_by_label("alipay").check()
    buyer.get_by_role("button", name="Pay").click()
    expect(buyer.locator("#payment-state")).to_contain_text("处理中")
    buyer.goto(f"/orders/{order_id}")
    expect(buyer.locator(".payment-hook")).to_contain_text("待付款")
    assert fake_stripe.deliver() == [200]
    buyer.go_back()
    expect(buyer.locator("#payment-state")).to_contain_text("已付款", timeout=15_000)
    buyer.goto(f"/orders/{order_id}")
    expect(buyer.locator(".payment-hook")).to_contain_text("已付款")
    expect(buyer.locator(".payment-hook")).to_contain_text("¥256.50")
    producer = new_page()
    log_in(producer, "farmer")
    producer.goto("/my/ledger")
    expect(producer.locator("#balance")).to_have_text("¥256.50")


def test_bank_transfer_recorded_by_finance_marks_the_order_paid(live_app, new_page):
    order_id, sub_id = shipped_order(live_app)
    buyer = new_page()
    log_in(buyer, "purchaser")
    receive(buyer, sub_id, "10")
    buyer.goto(f"/orders/{order_id}/payment")
    reference = buyer.locator(f"#pay-{sub_id} .reference").inner_text()
    expect(buyer.locator(".payee")).to_contain_text(live_app.config["PAYEE_ACCOUNT"])

    finance = new_page()
    log_in(finance, "admin")
    finance.goto("/admin/")
    finance.get_by_role("link", name="财务：收款、对账与结算").click()
    finance.get_by_role("link", name="记录转账").click()
    finance.get_by_label("金额（元）").fill("285.00")
    finance.get_by_label("付款单位").select_option(label="许昌市中心医院职工食堂")
    finance.get_by_label("付款参考号 / 附言").fill(f"货款 {reference}")
    finance.get_by_role("button", name="记录转账").click()
    expect(finance.locator(".flash-success")).to_contain_text("已匹配")

    buyer.goto(f"/orders/{order_id}")
    expect(buyer.locator(".payment-hook")).to_contain_text("已付款")
    finance.goto("/admin/payments/reconciliation")
    expect(finance.locator("#ledger-sum")).to_have_text("0")
    expect(finance.locator(".by-day")).to_contain_text("¥285.00")
