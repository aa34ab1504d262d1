"""Report pages, exports and the data API over HTTP: figures, scoping, bad parameters."""

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from flask import g
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.reports.models import ApiToken
from tests import factories
from tests.helpers import login, post_form

YEAR = "period=year&year=2025"
Q2 = "period=quarter&year=2025&quarter=2"


def as_user(app, username):
    # Requests share the fixture's app context, where Flask-WTF caches the last client's
    # CSRF token: forget it so this client gets its own.
    g.pop("csrf_token", None)
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


@pytest.fixture
def officers(world):
    yuzhou = factories.make_user("yz-officer", role="county_officer", county=world.places.yuzhou)
    yanling = factories.make_user("yl-officer", role="county_officer",
                                  county=world.places.yanling)
    return yuzhou, yanling


def test_city_dashboard_shows_the_year_and_switches_to_a_quarter(world):
    admin = as_user(world.app, "admin")
    page = admin.get(f"/reports/city?{YEAR}").get_data(as_text=True)
    assert "¥857.50" in page and "2025年" in page
    assert 'data-chart=' in page and "echarts.common.min.js" in page
    assert "<script>" not in page and "style=" not in page  # CSP: no inline script or style
    assert f'/reports/county/{world.places.yuzhou.id}?period=year' in page  # drill-down link
    quarter = admin.get(f"/reports/city?{Q2}").get_data(as_text=True)
    assert "¥386.00" in quarter and "2025年第2季度" in quarter and "¥471.50" in quarter
    county = admin.get(f"/reports/county/{world.places.yuzhou.id}?{Q2}").get_data(as_text=True)
    assert "方山镇" in county and "李庄红薯合作社" in county and "¥250.00" in county
    admin.get("/lang/en")
    english = admin.get(f"/reports/city?{Q2}").get_data(as_text=True)
    assert "Sales per county, ranked" in english and "Q2 2025" in english


def test_a_county_officer_sees_only_the_county_in_pages_and_exports(world, officers):
    yuzhou, yanling = world.places.yuzhou.id, world.places.yanling.id
    client = as_user(world.app, "yz-officer")
    page = client.get(f"/reports/county/{yuzhou}?{YEAR}")
    assert page.status_code == 200 and "¥449.50" in page.get_data(as_text=True)
    assert "鄢陵蜂业合作社" not in page.get_data(as_text=True)
    assert client.get("/reports/").headers["Location"].endswith(f"/reports/county/{yuzhou}")
    for url in (f"/reports/county/{yanling}?{YEAR}", f"/reports/city?{YEAR}",
                f"/reports/county/{yanling}/export/township.xlsx?{YEAR}",
                f"/reports/county/{yanling}/export/detail.csv?{YEAR}",
                f"/reports/city/export/counties.csv?{YEAR}",
                f"/reports/city/export/detail.xlsx?{YEAR}", f"/reports/city/export/detail.csv?{YEAR}",
                f"/reports/producer/{world.bees.id}?{YEAR}", "/reports/reserved-share",
                f"/reports/risks?county={yanling}", "/reports/tokens"):
        assert client.get(url).status_code == 403, url
    risks = client.get("/reports/risks")  # the officer's own county's signals
    assert risks.status_code == 200 and "禹州市" in risks.get_data(as_text=True)
    detail = client.get(f"/reports/county/{yuzhou}/export/detail.csv?{YEAR}")
    rows = list(csv.reader(io.StringIO(detail.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r[5] for r in rows[1:]} == {"禹州市"} and len(rows) == 3


def test_a_producer_sees_only_its_own_sales(world):
    client = as_user(world.app, "beekeeper")
    assert client.get("/reports/").headers["Location"].endswith(f"/reports/producer/{world.bees.id}")
    page = client.get(f"/reports/producer/{world.bees.id}?{YEAR}").get_data(as_text=True)
    assert "枣花蜜" in page and "¥408.00" in page
    for url in (f"/reports/producer/{world.yuzhou_coop.id}?{YEAR}",
                f"/reports/producer/{world.yuzhou_coop.id}/export/product.xlsx?{YEAR}",
                f"/reports/producer/{world.yuzhou_coop.id}/export/detail.csv?{YEAR}",
                f"/reports/county/{world.places.yanling.id}?{YEAR}", f"/reports/city?{YEAR}"):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("query, message", [
    ("period=custom&start=2025-05-01&end=2025-04-01", "结束日期不能早于开始日期"),
    ("period=decade", "参数 period 无效"),
    ("period=year&year=9999", "参数 year 无效"),
    ("period=month&year=2025&month=13", "参数 month 无效"),
    ("period=quarter&year=2025&quarter=0", "参数 quarter 无效"),
    ("period=custom&start=2025-02-30&end=2025-03-01", "参数 start 无效"),
    ("period=custom&start=2020-01-01&end=2025-12-31", "最长 3 年"),
])
def test_bad_parameters_are_a_clear_400(world, query, message):
    admin = as_user(world.app, "admin")
    for url in (f"/reports/city?{query}", f"/reports/city/export/counties.xlsx?{query}"):
        response = admin.get(url)
        assert response.status_code == 400, url
        assert message in response.get_data(as_text=True)


def test_an_unknown_table_is_a_400(world):
    admin = as_user(world.app, "admin")
    response = admin.get(f"/reports/city/export/bogus.csv?{YEAR}")
    assert response.status_code == 400 and "table" in response.get_data(as_text=True)


def test_the_xlsx_has_a_title_with_the_period_chinese_headers_formats_and_the_page_total(world):
    admin = as_user(world.app, "admin")
    response = admin.get(f"/reports/city/export/counties.xlsx?{Q2}")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert "2025年第2季度" in rows[0][0] and "2025-04-01" in rows[0][0]
    assert rows[1][:3] == ("排名", "县（市、区）", "销售额（元）")
    total = rows[-1]
    assert total[1] == "全市合计" and Decimal(str(total[2])) == Decimal("386.00")
    assert sheet.cell(row=len(rows), column=3).number_format == "#,##0.00"
    assert sheet.cell(row=3, column=5).number_format == "+0.0%;-0.0%;0.0%"


def test_the_csv_has_a_bom_and_the_same_figures(world):
    admin = as_user(world.app, "admin")
    body = admin.get(f"/reports/city/export/channel.csv?{YEAR}").data
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:2] == ["渠道", "销售额（元）"]
    assert {r[0]: r[1] for r in rows[1:]} == {"进医院食堂": "585.50", "进学校": "272.00",
                                              "合计": "857.50"}
    detail = admin.get(f"/reports/city/export/detail.xlsx?{YEAR}")
    sheet = load_workbook(io.BytesIO(detail.data)).active
    lines = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(lines) == 4 and sum(Decimal(str(r[16])) for r in lines) == Decimal("857.50")


def test_every_table_of_every_dashboard_exports(world):
    admin = as_user(world.app, "admin")
    from marketplace.reports.services import CITY_TABLES, COUNTY_TABLES, PRODUCER_TABLES

    urls = [f"/reports/city/export/{t}.{f}" for t in CITY_TABLES for f in ("xlsx", "csv")]
    urls += [f"/reports/county/{world.places.yuzhou.id}/export/{t}.xlsx" for t in COUNTY_TABLES]
    urls += [f"/reports/producer/{world.bees.id}/export/{t}.csv" for t in PRODUCER_TABLES]
    urls += ["/reports/reserved-share/export/reserved.xlsx?year=2025",
             f"/reports/income/export/income.csv?{YEAR}", "/reports/targets/export/targets.xlsx",
             "/reports/risks/export/slow.csv", "/reports/risks/export/drop.xlsx"]
    for url in urls:
        response = admin.get(url + ("" if "?" in url else f"?{YEAR}"))
        assert response.status_code == 200, url
        assert len(response.data) > 50, url


def _issue(admin, world, **data):
    response = post_form(admin, "/reports/tokens", {"name": "对接", **data})
    assert response.status_code == 200, response.get_data(as_text=True)
    match = re.search(r'id="new-token">([^<]+)<', response.get_data(as_text=True))
    return match.group(1)


def test_data_api_tokens_are_scoped_hashed_and_revocable(world):
    admin = as_user(world.app, "admin")
    api = world.app.test_client()
    assert api.get(f"/api/v1/stats/sales?{YEAR}").status_code == 401
    city = _issue(admin, world, scope="city")
    county = _issue(admin, world, scope="county", county_id=str(world.places.yuzhou.id))
    producer = _issue(admin, world, scope="organisation", organisation_id=str(world.bees.id))
    buyer = _issue(admin, world, scope="organisation", organisation_id=str(world.canteen.id))
    stored = list(db.session.scalars(select(ApiToken)))
    assert len(stored) == 4 and all(t.token_hash not in (city, county) for t in stored)
    assert city not in {t.prefix for t in stored}

    def get(token, url):
        return api.get(url, headers={"Authorization": f"Bearer {token}"})

    body = get(city, f"/api/v1/stats/sales?{YEAR}&group=counties").get_json()
    assert body["total"]["amount"] == 85750 and body["period"]["start"] == "2025-01-01"
    assert {r["county"]: r["amount"] for r in body["rows"] if r["amount"]} == {
        "禹州市": 44950, "鄢陵县": 40800}
    own = get(county, f"/api/v1/stats/sales?{YEAR}").get_json()
    assert own["table"] == "township" and own["total"]["amount"] == 44950
    assert get(county, f"/api/v1/stats/sales?{YEAR}&county={world.places.yanling.id}"
               ).status_code == 403
    assert get(county, f"/api/v1/stats/sales?{YEAR}&group=counties").status_code == 400
    assert get(county, "/api/v1/stats/reserved-share?year=2025").status_code == 403
    mine = get(producer, f"/api/v1/stats/sales?{YEAR}").get_json()
    assert mine["table"] == "product" and mine["total"]["amount"] == 40800
    assert get(producer, f"/api/v1/stats/sales?{YEAR}&producer={world.yuzhou_coop.id}"
               ).status_code == 403
    assert get(producer, f"/api/v1/stats/sales?{YEAR}&county={world.places.yanling.id}"
               ).status_code == 403
    share = get(buyer, "/api/v1/stats/reserved-share?year=2025").get_json()
    assert [r["purchased"] for r in share["rows"]] == [58550]
    assert get(city, "/api/v1/stats/sales?period=year&year=9999").status_code == 400
    assert get(city, f"/api/v1/stats/sales?{YEAR}&group=bogus").status_code == 400
    assert get(city, "/api/v1/stats/income?period=year&year=2025").status_code == 200
    assert get(city, "/api/v1/stats/targets").get_json()["table"] == "targets"
    token = db.session.scalar(select(ApiToken).where(ApiToken.scope == "city"))
    assert post_form(admin, f"/reports/tokens/{token.id}/revoke", {},
                     page="/reports/tokens").status_code == 302
    assert get(city, f"/api/v1/stats/sales?{YEAR}").status_code == 401
    assert get("xnyp_" + "x" * 43, f"/api/v1/stats/sales?{YEAR}").status_code == 401
    # A session cookie is no token.
    assert admin.get(f"/api/v1/stats/sales?{YEAR}").status_code == 401


def test_a_buyer_sees_its_own_reserved_share_on_its_page(world):
    world.app.config["FROZEN_TODAY"] = "2025-12-31"
    page = as_user(world.app, "cook").get("/my/buyer").get_data(as_text=True)
    assert "2025 年预留份额" in page and "¥585.50" in page and "¥120,000.00" in page
    admin = as_user(world.app, "admin").get("/reports/reserved-share?year=2025")
    assert "鄢陵县第一高级中学" in admin.get_data(as_text=True)
    assert as_user(world.app, "cook").get("/reports/reserved-share").status_code == 403


def test_risk_signals_list_and_link_what_needs_attention(world):
    admin = as_user(world.app, "admin")
    for product in db.session.scalars(select(Product)):
        product.created_at = product.created_at.replace(year=2024)
    db.session.commit()
    response = post_form(admin, "/reports/reference-prices",
                         {"category_id": str(world.places.bee.id), "unit": "瓶",
                          "price_yuan": "50", "note": "市场均价"})
    assert response.status_code == 302
    assert post_form(admin, "/reports/reference-prices",
                     {"category_id": str(world.places.bee.id), "unit": "瓶",
                      "price_yuan": "abc"}).status_code == 400
    world.app.config.update(FROZEN_TODAY="2025-07-15", REPORT_DROP_MIN_YUAN=100)
    page = admin.get("/reports/risks").get_data(as_text=True)
    sections = dict(re.findall(r'id="t-(\w+)">(.*?)</section>', page, re.S))
    assert f"/products/{world.honey.id}" in sections["price"]  # ¥68 > ¥50 × 1.3
    assert f"/products/{world.fentiao.id}" not in sections["price"]
    assert "禹州方山粉条合作社" in sections["drop"]  # ¥199.50 in Q1, nothing in Q2
    assert "鄢陵蜂业合作社" not in sections["drop"]  # ¥272 -> ¥136 is -50%, not more
    assert "禹州粉条" in sections["slow"]  # last sold 2025-03-10, > 60 days ago
    assert "枣花蜜" not in sections["slow"]  # sold 2025-05-20
    world.app.config["FROZEN_TODAY"] = "2026-01-10"
    expiring = admin.get("/reports/risks").get_data(as_text=True)
    assert "XNYP-" in dict(re.findall(r'id="t-(\w+)">(.*?)</section>', expiring, re.S))[
        "expiring"]


def test_targets_and_income_pages(world):
    admin = as_user(world.app, "admin")
    world.app.config["FROZEN_TODAY"] = "2025-12-31"
    targets = admin.get("/reports/targets").get_data(as_text=True)
    assert "绿色食品认证产品" in targets and "品牌目录上线后统计" in targets
    income = admin.get(f"/reports/income?{YEAR}").get_data(as_text=True)
    assert "带动脱贫户" in income and "¥449.50" not in income  # amounts are plain yuan cells
    assert "449.50" in income and "36" in income  # 3 producers × 12 households


def test_dates_outside_the_plan_are_refused_for_custom_periods(world):
    admin = as_user(world.app, "admin")
    assert admin.get("/reports/city?period=custom&start=2019-12-31&end=2020-01-05"
                     ).status_code == 400
    ok = admin.get(f"/reports/city?period=custom&start=2025-03-11&end={date(2025, 5, 20)}")
    assert ok.status_code == 200 and "¥658.00" in ok.get_data(as_text=True)
