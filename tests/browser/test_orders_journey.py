"""An institutional purchase from cart to completion, in headless Chromium."""

import re

from playwright.sync_api import expect

from marketplace.extensions import db
from marketplace.orders.models import PurchaseOrder
from tests import factories
from tests.orders.conftest import person

PASSWORD = factories.PASSWORD


def seed(app):
    """A canteen (approval above ¥300), two producers with a certified product each."""
    with app.app_context():
        places = factories.seed_places()
        fangshan = factories.make_producer(places.yuzhou, name="禹州方山粉条合作社")
        bees = factories.make_producer(places.yanling, name="鄢陵蜂业合作社")
        person("farmer", role="producer", organisation=fangshan)
        person("beekeeper", role="producer", organisation=bees)
        fentiao = factories.make_certified_product(fangshan, places.starch, name="禹州粉条")
        honey = factories.make_certified_product(bees, places.bee, name="枣花蜜")
        canteen = factories.make_buyer(places.yuzhou, threshold_fen=30_000)
        person("purchaser", role="buyer", organisation=canteen)
        boss = person("boss", role="buyer_approver", organisation=canteen)
        canteen.buyer_profile.manager_id = boss.id
        db.session.commit()
        return fentiao.id, honey.id


def log_in(page, username):
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".flash-success")).to_contain_text("欢迎")


def add_to_cart(page, product_id, quantity):
    page.goto(f"/products/{product_id}")
    page.locator("#quantity").fill(quantity)
    page.get_by_role("button", name="加入购物车").click()
    expect(page.locator(".flash-success")).to_contain_text("已加入购物车")


def fulfil(page, username, quantity):
    """The producer finds the new order in its list, accepts it and ships `quantity`."""
    log_in(page, username)
    page.get_by_role("link", name="订单", exact=True).click()
    page.locator("table a").first.click()
    page.get_by_role("button", name="接单").click()
    expect(page.locator(".flash-success")).to_contain_text("已接单")
    page.locator("form", has=page.get_by_role("button", name="确认发货")).locator(
        "input[inputmode=decimal]").fill(quantity)
    page.get_by_role("button", name="确认发货").click()
    expect(page.locator(".flash-success")).to_contain_text("已发货")
    expect(page.locator(".badge").first).to_have_text("已发货")


def part(page, producer):
    return page.locator("article.sub-order", has_text=producer)


def test_purchase_over_the_threshold_from_two_producers_to_completion(live_app, new_page):
    fentiao, honey = seed(live_app)

    buyer = new_page()
    log_in(buyer, "purchaser")
    add_to_cart(buyer, fentiao, "10")
    add_to_cart(buyer, honey, "4")
    buyer.get_by_role("link", name=re.compile("购物车")).click()
    expect(buyer.locator("article.cart-part", has_text="禹州方山粉条合作社")).to_contain_text(
        "¥285.00")
    expect(buyer.locator("article.cart-part", has_text="鄢陵蜂业合作社")).to_contain_text("¥114.00")
    expect(buyer.locator(".total")).to_contain_text("¥399.00")
    expect(buyer.locator(".total")).to_contain_text("超过审批额度")
    buyer.get_by_label("备注").fill("请从食堂后门送货")
    buyer.get_by_role("button", name="提交采购单").click()
    expect(buyer.locator(".flash-success")).to_contain_text("等待审批")
    expect(buyer.locator("main .badge").first).to_have_text("待审批")
    number = buyer.locator("h1").inner_text().split()[-1]

    approver = new_page()
    log_in(approver, "boss")
    approver.get_by_role("link", name="待审批").click()
    approver.get_by_role("link", name=number).click()
    approver.get_by_label("理由").fill("同意，按时送达")
    approver.get_by_role("button", name="批准").click()
    expect(approver.locator(".flash-success")).to_contain_text("已批准")
    expect(approver.locator("main .badge").first).to_have_text("待供应商接单")

    fulfil(new_page(), "farmer", "10")
    fulfil(new_page(), "beekeeper", "4")

    buyer.reload()
    expect(buyer.locator("main .badge").first).to_have_text("履约中")
    fentiao_part = part(buyer, "禹州方山粉条合作社")
    fentiao_part.get_by_label("禹州粉条").fill("8")  # two bags short on arrival
    fentiao_part.get_by_role("button", name="确认验收").click()
    expect(buyer.locator(".flash-success")).to_contain_text("已验收")
    expect(part(buyer, "禹州方山粉条合作社")).to_contain_text("应付 ¥228.00（短缺扣减 ¥57.00）")
    honey_part = part(buyer, "鄢陵蜂业合作社")
    expect(honey_part.get_by_label("枣花蜜")).to_have_value("4")  # what was shipped
    honey_part.get_by_role("button", name="确认验收").click()
    expect(buyer.locator(".flash-success")).to_contain_text("已验收")

    expect(buyer.locator("main .badge").first).to_have_text("已完成")
    facts = buyer.locator("dl.facts")
    expect(facts).to_contain_text("订购金额¥399.00")
    expect(facts).to_contain_text("应付金额¥342.00")  # 8 × ¥28.50 + 4 × ¥28.50
    expect(buyer.locator("main")).to_contain_text("请从食堂后门送货")
    with live_app.app_context():
        order = db.session.scalars(db.select(PurchaseOrder)).one()
        assert (order.number, order.status, order.due_fen) == (number, "completed", 34_200)
