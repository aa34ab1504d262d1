"""The administrator reads the city's figures in a real browser and takes them to Excel."""

import re
from decimal import Decimal

from openpyxl import load_workbook
from playwright.sync_api import expect

from marketplace.extensions import db
from tests import factories
from tests.browser.test_journeys import log_in
from tests.reports.conftest import build_world


def test_city_dashboard_quarter_county_townships_and_the_xlsx_totals(live_app, new_page,
                                                                     tmp_path):
    with live_app.app_context():
        world = build_world(live_app, factories.seed_places())
        yuzhou = world.places.yuzhou.id
        db.session.remove()
    admin = new_page()
    refused = []
    admin.on("console", lambda m: refused.append(m.text)
             if "Content Security Policy" in m.text else None)
    log_in(admin, "admin")
    admin.get_by_role("link", name="销售统计").first.click()
    expect(admin.locator("h1")).to_contain_text("许昌市 消费帮扶销售统计")
    expect(admin.locator("#period-label")).to_contain_text("2025年")
    expect(admin.locator("#headline-amount")).to_have_text("¥857.50")
    expect(admin.locator("#t-counties .chart canvas").first).to_be_visible()  # ECharts drew

    admin.get_by_label("时段", exact=True).select_option("quarter")
    admin.get_by_label("季度", exact=True).select_option("2")
    with admin.expect_navigation():
        admin.get_by_role("button", name="查看").click()
    expect(admin.locator("#period-label")).to_contain_text("2025年第2季度", timeout=15_000)
    expect(admin.locator("#headline-amount")).to_have_text("¥386.00")

    with admin.expect_navigation():
        admin.locator("#t-counties table").get_by_role("link", name="禹州市").click()
    expect(admin).to_have_url(re.compile(rf"/reports/county/{yuzhou}\?period=quarter"),
                              timeout=15_000)
    townships = admin.locator("#t-township")
    expect(townships.locator("tbody")).to_contain_text("方山镇")
    page_total = townships.locator("tfoot td[data-key=amount]").inner_text()
    assert page_total == "250.00"

    with admin.expect_download() as info:
        townships.get_by_role("link", name="Excel (.xlsx)").click()
    path = tmp_path / "townships.xlsx"
    info.value.save_as(path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert "禹州市" in rows[0][0] and "2025年第2季度" in rows[0][0]
    assert rows[-1][0] == "合计" and Decimal(str(rows[-1][1])) == Decimal(page_total)
    assert refused == []
