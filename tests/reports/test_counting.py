"""What counts, with totals worked out by hand (see conftest), and the roll-ups that follow it."""

from datetime import date

import pytest
from sqlalchemy import select

from marketplace.errors import Invalid
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import OrderLine
from marketplace.organisations.models import Organisation
from marketplace.reports import rollups, services
from marketplace.reports.models import SalesRollup
from marketplace.reports.periods import Period, year_period
from marketplace.uow import unit_of_work
from tests.reports.conftest import set_day

Q1 = Period("quarter", date(2025, 1, 1), date(2025, 3, 31))
Q2 = Period("quarter", date(2025, 4, 1), date(2025, 6, 30))
YEAR = year_period(2025)


def by_county(table) -> dict:
    return {r["county"]: r["amount"] for r in table.rows if r["amount"]}


def test_quarters_and_year_match_the_hand_worked_totals(world):
    assert by_county(services.county_table(Q1)) == {"禹州市": 19950, "鄢陵县": 27200}
    assert by_county(services.county_table(Q2)) == {"禹州市": 25000, "鄢陵县": 13600}
    year = services.city_dashboard(world.admin, YEAR)
    counties = year.tables["counties"]
    assert by_county(counties) == {"禹州市": 44950, "鄢陵县": 40800}
    assert counties.total["amount"] == 85750
    assert year.headline["amount"] == 85750 and year.headline["poor_amount"] == 25000
    assert year.headline["sub_orders"] == 4 and year.headline["buyers"] == 2
    rows = {r["county"]: r for r in counties.rows}
    assert (rows["禹州市"]["buyers"], rows["鄢陵县"]["buyers"]) == (1, 2)
    assert (rows["禹州市"]["sub_orders"], rows["鄢陵县"]["sub_orders"]) == (2, 2)
    assert rows["禹州市"]["poor_amount"] == 25000 and rows["鄢陵县"]["poor_amount"] == 0
    assert [r["county"] for r in counties.rows][:2] == ["禹州市", "鄢陵县"]  # the ranking
    assert {r["channel"]: r["amount"] for r in year.tables["channel"].rows} == {
        "进医院食堂": 58550, "进学校": 27200}
    assert {r["category"]: r["amount"] for r in year.tables["category"].rows} == {
        "三粉制品": 44950, "蜂产品": 40800}
    assert {r["village_kind"]: r["amount"] for r in year.tables["poor"].rows} == {
        "脱贫村": 25000, "其他村": 60750}
    assert {r["unit"]: str(r["quantity"]) for r in year.tables["unit"].rows} == {
        "袋": "8.000", "斤": "20.000", "瓶": "6.000"}
    trend = {r["month"]: r["amount"] for r in year.tables["trend"].rows}
    assert (trend["2025-03"], trend["2025-04"], trend["2025-05"], trend["2025-06"]) == (
        47150, 25000, 13600, 0)


def test_comparison_with_the_previous_period(world):
    q2 = services.city_dashboard(world.admin, Q2)
    assert q2.previous == Q1
    assert (q2.headline["amount"], q2.headline["previous"]) == (38600, 47150)
    assert str(q2.headline["change"]) == "-0.1813"  # (386.00 - 471.50) / 471.50
    yuzhou = next(r for r in q2.tables["counties"].rows if r["county"] == "禹州市")
    assert (yuzhou["amount"], yuzhou["previous"], str(yuzhou["change"])) == (25000, 19950,
                                                                            "0.2531")


def test_a_custom_range_cuts_at_the_day(world):
    # 2025-03-11 .. 2025-05-20: order 2 (03-12), 3 (04-02) and 6 (05-20); not order 1 (03-10).
    custom = Period("custom", date(2025, 3, 11), date(2025, 5, 20))
    assert custom.split() == ([date(2025, 4, 1)], [(date(2025, 3, 11), date(2025, 3, 31)),
                                                   (date(2025, 5, 1), date(2025, 5, 20))])
    assert by_county(services.county_table(custom)) == {"禹州市": 25000, "鄢陵县": 40800}
    assert services._distinct_buyers(custom)[None] == 2
    edge = Period("custom", date(2025, 3, 10), date(2025, 3, 10))
    assert by_county(services.county_table(edge)) == {"禹州市": 19950}


def test_declined_cancelled_and_open_disputes_do_not_count(world):
    counted = {line.id for line in db.session.scalars(
        select(OrderLine).join(OrderLine.sub_order).where(
            OrderLine.sub_order_id.in_([s.id for s in world.orders.values()])))
        if services.counting.counts(line, line.sub_order)}
    assert counted == {world.orders[k].lines[0].id for k in (1, 2, 3, 6)}
    # The open dispute (order 4) starts counting once the city resolves it, on that day.
    set_day(world.app, date(2025, 7, 3))
    orders.resolve_dispute(world.admin, world.orders[4], {world.orders[4].lines[0].id: "5"},
                           "认可五袋")
    q3 = Period("quarter", date(2025, 7, 1), date(2025, 9, 30))
    assert by_county(services.county_table(q3)) == {"禹州市": 5 * 2850}
    assert rollups.differences() == []


def test_a_dispute_after_receipt_takes_the_sale_out_until_resolved(world):
    set_day(world.app, date(2025, 6, 5))
    orders.dispute_sub_order(world.cook, world.orders[3], "有一袋受潮")
    assert by_county(services.county_table(Q2)) == {"鄢陵县": 13600}
    assert rollups.differences() == []
    orders.resolve_dispute(world.admin, world.orders[3], {world.orders[3].lines[0].id: "19.5"},
                           "认可 19.5 斤")
    assert by_county(services.county_table(Q2)) == {"禹州市": 24375, "鄢陵县": 13600}
    assert rollups.differences() == []


def test_refunds_are_deducted_and_cannot_exceed_the_sale(world):
    line = world.orders[2].lines[0]
    with unit_of_work():
        rollups.record_refund(line, 6800)
    assert by_county(services.county_table(Q1)) == {"禹州市": 19950, "鄢陵县": 20400}
    with pytest.raises(Invalid), unit_of_work():
        rollups.record_refund(line, 20401)
    with pytest.raises(Invalid), unit_of_work():
        rollups.record_refund(line, 0)
    assert db.session.get(OrderLine, line.id).refunded_fen == 6800
    assert rollups.differences() == []


def test_a_producer_moved_to_another_county_leaves_last_years_figures_where_they_were(world):
    before = by_county(services.county_table(YEAR))
    org = db.session.get(Organisation, world.yuzhou_coop.id)
    org.county_id = world.places.yanling.id
    org.township_id = world.places.taocheng.id
    db.session.commit()
    with unit_of_work():
        rollups.rebuild()
    assert by_county(services.county_table(YEAR)) == before == {"禹州市": 44950, "鄢陵县": 40800}
    yuzhou = services.county_dashboard(world.admin, world.places.yuzhou.id, YEAR)
    assert {r["producer"]: r["amount"] for r in yuzhou.tables["producer"].rows} == {
        "禹州方山粉条合作社": 19950, "李庄红薯合作社": 25000}


def test_only_certified_lines_count(world):
    line = db.session.get(OrderLine, world.orders[2].lines[0].id)
    line.certificate_id = None  # as if the product had no valid certificate at submission
    db.session.commit()
    with unit_of_work():
        rollups.rebuild()
    assert by_county(services.county_table(Q1)) == {"禹州市": 19950}


def test_rollups_equal_a_plain_recomputation_and_rebuild_to_the_same(world):
    assert rollups.differences() == []
    stored = sorted((r.dimension, r.grain, r.period_start, r.county_id, r.key_id, r.key_text,
                     r.amount_fen, r.lines) for r in db.session.scalars(select(SalesRollup)))
    assert len(stored) > 0
    with unit_of_work():
        rollups.rebuild()
    again = sorted((r.dimension, r.grain, r.period_start, r.county_id, r.key_id, r.key_text,
                    r.amount_fen, r.lines) for r in db.session.scalars(select(SalesRollup)))
    assert again == stored
    # A tampered row is found, and rebuild mends it.
    row = db.session.scalars(select(SalesRollup).where(SalesRollup.dimension == "county")).first()
    row.amount_fen += 1
    db.session.commit()
    assert len(rollups.differences()) == 1
    with unit_of_work():
        rollups.rebuild()
    assert rollups.differences() == []


def test_the_producer_dashboard_reads_its_own_lines(world):
    d = services.producer_dashboard(world.beekeeper, world.bees.id, YEAR)
    assert d.headline["amount"] == 40800
    product = d.tables["product"].rows[0]
    assert (product["product"], product["unit"], str(product["quantity"]), product["amount"]) == (
        "枣花蜜", "瓶", "6.000", 40800)
    assert {r["buyer_type"]: r["amount"] for r in d.tables["buyer_type"].rows} == {
        "学校": 27200, "食堂": 13600}
    trend = {r["month"]: r["amount"] for r in d.tables["trend"].rows}
    assert (trend["2025-03"], trend["2025-05"]) == (27200, 13600)


def test_reserved_share_counts_the_year_and_sorts_the_furthest_behind_first(world):
    # canteen: budget ¥1,200,000 × 10% = ¥120,000 target; bought ¥199.50+¥250+¥136 = ¥585.50
    table = services.reserved_share(world.admin, 2025)
    rows = {r["buyer"]: r for r in table.rows}
    canteen = rows["许昌市中心医院职工食堂"]
    assert (canteen["target"], canteen["purchased"]) == (12_000_000, 58550)
    assert rows["鄢陵县第一高级中学"]["purchased"] == 27200
    assert canteen["behind"] and str(canteen["progress"]) == "0.0049"
    assert [r["buyer"] for r in table.rows] == ["鄢陵县第一高级中学", "许昌市中心医院职工食堂"]
    assert services.reserved_share_of(world.cook, world.canteen, 2025)["purchased"] == 58550
    assert services.reserved_share_of(world.cook, world.school, 2025) is None

