"""Whole journeys as people take them, in headless Chromium."""

from datetime import timedelta

from playwright.sync_api import expect

from marketplace.clock import today
from marketplace.extensions import db
from tests import factories
from tests.helpers import pdf_bytes, png_bytes

PASSWORD = factories.PASSWORD


def seed(app):
    with app.app_context():
        places = factories.seed_places()
        factories.make_user("admin", role="admin")
        factories.make_user("officer", role="county_officer", county=places.yuzhou)
        return places.yuzhou.id, places.fangshan.id, places.starch.id


def log_in(page, username, password=PASSWORD):
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".flash-success")).to_contain_text("欢迎")


def decide(page, reason, button):
    page.get_by_label("理由").fill(reason)
    page.get_by_role("button", name=button).click()
    expect(page.locator(".flash-success")).to_be_visible()


def certify_through_the_chain(live_app, new_page, tmp_path):
    """Producer registers, lists, applies; county passes; city approves. Returns product name."""
    county_id, township_id, category_id = seed(live_app)
    producer = new_page()
    producer.goto("/register")
    producer.get_by_label("用户名").fill("fangshan_coop")
    producer.get_by_label("姓名").fill("李秀英")
    producer.locator("#password").fill("fentiao-2026")
    producer.get_by_label("确认密码").fill("fentiao-2026")
    producer.get_by_role("button", name="注册").click()
    expect(producer.locator(".flash-success")).to_contain_text("注册成功")

    producer.get_by_label("主体名称").fill("禹州市方山红薯专业合作社")
    producer.get_by_label("统一社会信用代码").fill(factories.credit_code(4242))
    producer.get_by_label("法定代表人").fill("李秀英")
    producer.get_by_label("联系电话").fill("13803740000")
    producer.get_by_label("县区").select_option(str(county_id))
    producer.get_by_label("乡镇").select_option(str(township_id))
    producer.get_by_label("务工工资").check()
    producer.get_by_label("带动脱贫户数").fill("23")
    producer.get_by_role("button", name="保存").click()
    expect(producer.locator(".flash-success")).to_contain_text("已保存")
    producer.get_by_role("button", name="提交核验").click()
    expect(producer.locator(".flash-success")).to_contain_text("等待县级初审")

    producer.goto("/my/products/new")
    producer.get_by_label("产品名称").fill("方山红薯粉条")
    producer.get_by_label("品类").select_option(str(category_id))
    producer.get_by_label("规格").fill("2.5公斤/袋")
    producer.get_by_label("产地").fill("禹州市方山镇")
    producer.get_by_label("计量单位").select_option("袋")
    producer.get_by_label("单价（元）").fill("32.80")
    producer.get_by_label("起订量").fill("2")
    producer.get_by_label("库存").fill("500")
    producer.get_by_role("button", name="保存").click()
    expect(producer.locator(".flash-success")).to_contain_text("产品已创建")
    photo = tmp_path / "fentiao.png"
    photo.write_bytes(png_bytes((80, 60)))
    producer.get_by_label("产品照片").set_input_files(str(photo))
    producer.get_by_role("button", name="上传").click()
    expect(producer.locator(".flash-success")).to_contain_text("照片已上传")

    producer.get_by_role("link", name="申请认定").first.click()
    report = tmp_path / "检测报告.pdf"
    report.write_bytes(pdf_bytes())
    producer.get_by_label("年供应能力").fill("80 吨")
    producer.get_by_label("带贫益贫机制").fill("吸纳 23 户脱贫户务工，保底价收购红薯")
    producer.get_by_label("检测报告（PDF 或图片）").set_input_files(str(report))
    producer.get_by_role("button", name="提交申请").click()
    expect(producer.locator(".flash-success")).to_contain_text("等待县级初审")

    officer = new_page()
    log_in(officer, "officer")
    officer.goto("/review")
    officer.get_by_role("link", name="禹州市方山红薯专业合作社").click()
    decide(officer, "营业执照和联农带农材料齐全", "通过")
    officer.get_by_role("link", name="方山红薯粉条").click()
    decide(officer, "检测合格，价格与当地市场相当", "初审通过")

    admin = new_page()
    log_in(admin, "admin")
    admin.goto("/review")
    admin.get_by_role("link", name="禹州市方山红薯专业合作社").click()
    decide(admin, "核验通过", "通过")
    admin.get_by_role("link", name="方山红薯粉条").click()
    decide(admin, "同意认定", "认定通过")

    producer.goto("/my/applications")
    expect(producer.locator("table")).to_contain_text("已认定")
    return "方山红薯粉条"


def test_certification_chain_until_the_visitor_finds_it(live_app, new_page, tmp_path):
    name = certify_through_the_chain(live_app, new_page, tmp_path)
    visitor = new_page()
    visitor.goto("/products")
    expect(visitor.get_by_text(name)).to_have_count(0)  # still in public notice

    # A week later the notice period is over; nothing has to run for it to appear.
    live_app.config["FROZEN_TODAY"] = (today() + timedelta(days=7)).isoformat()
    visitor.goto("/")
    box = visitor.get_by_label("搜索产品")
    box.press_sequentially("fent", delay=50)  # suggestions arrive as one types
    expect(visitor.locator("#search-suggestions option")).to_have_count(1)
    box.fill("粉条")
    box.press("Enter")
    expect(visitor.locator("article.hit mark").first).to_have_text("粉条")
    visitor.get_by_role("link", name=name).click()
    certificate = visitor.locator("article.certificate")
    expect(certificate).to_contain_text(f"XNYP-{today().year}-000001")
    expect(certificate).to_contain_text("¥32.80 / 袋")  # what the city certified
    expect(visitor.locator(".price")).to_contain_text("32.80")
    expect(visitor.locator(".photos img")).to_have_count(1)
    visitor.get_by_role("link", name="禹州市方山红薯专业合作社").click()
    expect(visitor.locator("main")).to_contain_text(name)


def test_administrator_revokes_and_it_is_gone(live_app, new_page, tmp_path):
    live_app.config["CERT_NOTICE_DAYS"] = 0
    name = certify_through_the_chain(live_app, new_page, tmp_path)
    visitor = new_page()
    visitor.goto("/products")
    expect(visitor.get_by_role("link", name=name)).to_be_visible()

    admin = new_page()
    log_in(admin, "admin")
    admin.goto("/admin/certificates")
    admin.get_by_role("link", name=f"XNYP-{today().year}-000001").click()
    admin.get_by_label("理由").fill("抽检不合格")
    admin.get_by_role("button", name="撤销").click()
    expect(admin.locator(".badge")).to_contain_text("已撤销")

    visitor.goto("/products")
    expect(visitor.get_by_role("link", name=name)).to_have_count(0)
    visitor.goto("/search?q=粉条")
    expect(visitor.locator("main")).to_contain_text("找到 0 个在售产品")
    with live_app.app_context():
        from marketplace.catalog.models import Product

        product_id = db.session.scalar(db.select(Product.id).where(Product.name == name))
    assert visitor.goto(f"/products/{product_id}").status == 404


def test_phone_layout_has_no_sideways_scroll(live_app, new_page):
    seed(live_app)
    with live_app.app_context():
        org = factories.make_producer(db.session.get(factories.County, 1))
        factories.make_certified_product(org, db.session.get(factories.Category, 1))
    phone = new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    for path in ("/", "/products", "/products/1", "/login"):
        phone.goto(path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"


def test_refused_form_keeps_input_in_the_browser(live_app, new_page):
    seed(live_app)
    page = new_page()
    page.goto("/register")
    page.get_by_label("用户名").fill("keeper")
    page.get_by_label("姓名").fill("王五")
    page.locator("#password").fill("short")
    page.get_by_label("确认密码").fill("short")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_label("用户名")).to_have_value("keeper")
    expect(page.get_by_label("姓名")).to_have_value("王五")
    expect(page.locator("small.error")).not_to_have_count(0)
