"""The city's figures: sales dashboards, reserved share, farmer income, risk signals, targets.

Every figure is read through `counting` (what counts) from the roll-ups or, for one
producer's own lines, from the counted lines themselves. Each reader is authorized first:
the city sees everything, a county officer only the county, a producer only its own sales, a
buyer only its own reserved share — the same rules for pages, exports and the data API.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, or_, select

from marketplace.buyers.models import BuyerProfile, Channel
from marketplace.catalog.availability import on_sale_sql
from marketplace.catalog.models import Category, Product
from marketplace.certification.models import Certificate
from marketplace.clock import today
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.orders.models import OrderLine, PurchaseOrder, SubOrder
from marketplace.organisations.models import Organisation, OrgKind, OrgStatus, OrgType
from marketplace.permissions import authorize, can
from marketplace.places.models import County, Township
from marketplace.reports import counting
from marketplace.reports.models import ReferencePrice, SalesRollup
from marketplace.reports.periods import Period, add_months, month_end, trend_months, year_period
from marketplace.reports.rollups import period_condition
from marketplace.reports.tables import Column, Table, change, chart, ratio

M = counting.Measures


# Reading the roll-ups -------------------------------------------------------------------


#: Sums read ahead for one dashboard: (dimension, period, county filter) -> per-county sums.
_READ_AHEAD: ContextVar[dict | None] = ContextVar("report_read_ahead", default=None)


@contextmanager
def _read_ahead(dimensions, periods, county_id: int | None):
    """Read the sums of several dimensions over several periods in ONE query.

    A dashboard needs a dozen breakdowns for this period and the one before; asking once and
    answering `_sums` from memory saves a round trip per table.
    """
    rows = {(d, p, county_id): {} for d in dimensions for p in periods}
    which = case(*[(period_condition(p), i) for i, p in enumerate(periods)], else_=-1)
    query = (select(which, SalesRollup.dimension, SalesRollup.county_id, SalesRollup.key_id,
                    SalesRollup.key_text, func.sum(SalesRollup.amount_fen),
                    func.sum(SalesRollup.quantity), func.sum(SalesRollup.lines),
                    func.sum(SalesRollup.sub_orders))
             .where(SalesRollup.dimension.in_(dimensions),
                    or_(*[period_condition(p) for p in periods]))
             .group_by(which, SalesRollup.dimension, SalesRollup.county_id, SalesRollup.key_id,
                       SalesRollup.key_text))
    if county_id:
        query = query.where(SalesRollup.county_id == county_id)
    for index, dimension, cid, key_id, key_text, amount, quantity, lines, subs in (
            db.session.execute(query)):
        if index >= 0:
            rows[(dimension, periods[index], county_id)][(cid, key_id, key_text)] = M(
                int(amount or 0), Decimal(quantity or 0), int(lines or 0), int(subs or 0))
    token = _READ_AHEAD.set(rows)
    try:
        yield
    finally:
        _READ_AHEAD.reset(token)


def _sums(dimension: str, period: Period, county_id: int | None = None,
          by_county: bool = False) -> dict[tuple, M]:
    """(county_id or None, key_id, key_text) -> measures over the period."""
    ahead = (_READ_AHEAD.get() or {}).get((dimension, period, county_id or None))
    if ahead is not None:
        if by_county or county_id:
            return ahead
        merged: dict[tuple, M] = {}
        for (_cid, key_id, key_text), m in ahead.items():
            merged.setdefault((None, key_id, key_text), M()).add(m)
        return merged
    county_col = SalesRollup.county_id if by_county or county_id else None
    columns = [SalesRollup.key_id, SalesRollup.key_text]
    if county_col is not None:
        columns.insert(0, county_col)
    query = (select(*columns, func.sum(SalesRollup.amount_fen), func.sum(SalesRollup.quantity),
                    func.sum(SalesRollup.lines), func.sum(SalesRollup.sub_orders))
             .where(SalesRollup.dimension == dimension, period_condition(period))
             .group_by(*columns))
    if county_id:
        query = query.where(SalesRollup.county_id == county_id)
    out = {}
    for row in db.session.execute(query):
        *key, amount, quantity, lines, subs = row
        if county_col is None:
            key = [None, *key]
        out[tuple(key)] = M(int(amount or 0), Decimal(quantity or 0), int(lines or 0),
                            int(subs or 0))
    return out


def _distinct_buyers(period: Period, county_id: int | None = None) -> dict:
    """county_id -> distinct buyers, and None -> distinct buyers over the whole scope."""
    query = (select(SalesRollup.county_id, SalesRollup.key_id).distinct()
             .where(SalesRollup.dimension == "buyer", period_condition(period)))
    if county_id:
        query = query.where(SalesRollup.county_id == county_id)
    everyone: set[int] = set()
    out: dict = {}
    for cid, buyer_id in db.session.execute(query):
        everyone.add(buyer_id)
        out[cid] = out.get(cid, 0) + 1
    out[None] = len(everyone)
    return out


def _monthly(months: list[date], county_id: int | None = None) -> dict[date, int]:
    query = (select(SalesRollup.period_start, func.sum(SalesRollup.amount_fen))
             .where(SalesRollup.dimension == "county", SalesRollup.grain == "m",
                    SalesRollup.period_start.between(months[0], months[-1]))
             .group_by(SalesRollup.period_start))
    if county_id:
        query = query.where(SalesRollup.county_id == county_id)
    return {start: int(amount or 0) for start, amount in db.session.execute(query)}


def _names(model, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


# Dashboards ----------------------------------------------------------------------------


def _amount_columns(first: list[Column], *, orders=False) -> list[Column]:
    cols = [*first, Column("amount", _("销售额（元）"), "fen"),
            Column("previous", _("上期（元）"), "fen"), Column("change", _("环比"), "change"),
            Column("share", _("占比"), "pct"), Column("lines", _("笔数"), "int")]
    if orders:
        cols.insert(len(first) + 3, Column("sub_orders", _("订单数"), "int"))
    return cols


@dataclass
class Dashboard:
    period: Period
    previous: Period
    county: County | None = None
    producer: Organisation | None = None
    headline: dict = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)


def _breakdown(key: str, title: str, first: list[Column], dimension: str, period: Period,
               previous: Period, county_id, label) -> Table:
    """One breakdown table: a row per key with this and last period's amount and the change."""
    cur = _sums(dimension, period, county_id)
    prev = _sums(dimension, previous, county_id)
    total = sum(m.amount_fen for m in cur.values())
    rows = []
    for k in set(cur) | set(prev):
        c, p = cur.get(k, M()), prev.get(k, M())
        row = {"_id": k[1], "amount": c.amount_fen, "previous": p.amount_fen,
               "change": change(c.amount_fen, p.amount_fen), "share": ratio(c.amount_fen, total),
               "lines": c.lines, "sub_orders": c.sub_orders, "quantity": c.quantity}
        row.update(label(k))
        rows.append(row)
    rows.sort(key=lambda r: (-r["amount"], str(r.get(first[0].key))))
    prev_total = sum(m.amount_fen for m in prev.values())
    total_row = {first[0].key: _("合计"), "amount": total, "previous": prev_total,
                 "change": change(total, prev_total), "share": ratio(total, total) if total else None,
                 "lines": sum(m.lines for m in cur.values())}
    shown = [r for r in rows if r["amount"]]
    ch = chart("pie", [r[first[-1].key] for r in shown],
               (period.label, [r["amount"] for r in shown]))
    return Table(key, title, _amount_columns(first), rows, total_row, ch)


def _type_label(value: str) -> str:
    try:
        return str(OrgType(value).label)
    except ValueError:
        return value or _("未知")


def _common_breakdowns(d: Dashboard, county_id) -> None:
    period, previous = d.period, d.previous
    categories = dict(db.session.execute(select(Category.id, Category.name)).all())
    d.tables["category"] = _breakdown(
        "category", _("按产品品类"), [Column("category", _("品类"))], "category", period,
        previous, county_id, lambda k: {"category": categories.get(k[1], _("未知"))})
    d.tables["channel"] = _breakdown(
        "channel", _("按“六进”渠道"), [Column("channel", _("渠道"))], "channel", period,
        previous, county_id, lambda k: {"channel": Channel.label(k[2]) if k[2] else _("未知")})
    d.tables["buyer_type"] = _breakdown(
        "buyer_type", _("按采购单位类型"), [Column("buyer_type", _("单位类型"))], "buyer_type",
        period, previous, county_id, lambda k: {"buyer_type": _type_label(k[2])})
    d.tables["poor"] = _breakdown(
        "poor", _("脱贫村单列"), [Column("village_kind", _("产地"))], "poor", period, previous,
        county_id, lambda k: {"village_kind": _("脱贫村") if k[1] else _("其他村")})
    unit = _sums("unit", period, county_id)
    rows = [{"unit": k[2], "quantity": m.quantity, "amount": m.amount_fen, "lines": m.lines}
            for k, m in sorted(unit.items(), key=lambda kv: -kv[1].amount_fen)]
    d.tables["unit"] = Table("unit", _("按计量单位的销售数量"),
                             [Column("unit", _("计量单位")), Column("quantity", _("数量"), "qty"),
                              Column("amount", _("销售额（元）"), "fen"),
                              Column("lines", _("笔数"), "int")], rows)
    months = trend_months(period)
    last_year = [add_months(m, -12) for m in months]
    cur = _monthly(months, county_id)
    old = _monthly(last_year, county_id)
    rows = [{"month": m.strftime("%Y-%m"), "amount": cur.get(m, 0),
             "previous": old.get(p, 0), "change": change(cur.get(m, 0), old.get(p, 0))}
            for m, p in zip(months, last_year, strict=True)]
    d.tables["trend"] = Table(
        "trend", _("月度趋势（近 12 个月，与上年同月比较）"),
        [Column("month", _("月份")), Column("amount", _("销售额（元）"), "fen"),
         Column("previous", _("上年同月（元）"), "fen"), Column("change", _("同比"), "change")],
        rows, {"month": _("合计"), "amount": sum(r["amount"] for r in rows),
               "previous": sum(r["previous"] for r in rows),
               "change": change(sum(r["amount"] for r in rows), sum(r["previous"] for r in rows))},
        chart("line", [r["month"] for r in rows], (_("销售额"), [r["amount"] for r in rows]),
              (_("上年同月"), [r["previous"] for r in rows])))


def _headline(period: Period, previous: Period, county_id) -> dict:
    cur = _sums("county", period, county_id)
    prev = _sums("county", previous, county_id)
    poor = _sums("poor", period, county_id)
    amount = sum(m.amount_fen for m in cur.values())
    prev_amount = sum(m.amount_fen for m in prev.values())
    poor_amount = sum(m.amount_fen for k, m in poor.items() if k[1] == 1)
    return {"amount": amount, "previous": prev_amount, "change": change(amount, prev_amount),
            "sub_orders": sum(m.sub_orders for m in cur.values()),
            "lines": sum(m.lines for m in cur.values()),
            "buyers": _distinct_buyers(period, county_id)[None],
            "poor_amount": poor_amount, "poor_share": ratio(poor_amount, amount)}


SALES_DIMENSIONS = ("county", "poor", "unit", "township", "category", "channel", "buyer_type")


def _sales_dashboard(period: Period, county: County | None) -> Dashboard:
    previous = period.previous()
    county_id = county.id if county else None
    dimensions = SALES_DIMENSIONS + (("producer",) if county else ())
    with _read_ahead(dimensions, (period, previous), county_id):
        return _sales_tables(period, previous, county, county_id)


def _sales_tables(period, previous, county, county_id) -> Dashboard:
    d = Dashboard(period, previous, county)
    if county is None:
        counties = d.tables["counties"] = county_table(period)
        t = counties.total
        d.headline = {"amount": t["amount"], "previous": t["previous"], "change": t["change"],
                      "sub_orders": t["sub_orders"], "lines": t["lines"], "buyers": t["buyers"],
                      "poor_amount": t["poor_amount"], "poor_share": t["poor_share"]}
    else:
        d.headline = _headline(period, previous, county_id)
    d.tables["township"] = _township_table(period, previous, county_id)
    if county is not None:
        d.tables["producer"] = _producer_table(period, previous, county_id)
    _common_breakdowns(d, county_id)
    return d


def county_table(period: Period) -> Table:
    """Sales per county with the previous period, orders, buyers and 脱贫村: the ranking."""
    previous = period.previous()
    cur = _sums("county", period, by_county=True)
    prev = _sums("county", previous, by_county=True)
    poor = _sums("poor", period, by_county=True)
    units = _sums("unit", period, by_county=True)
    buyers = _distinct_buyers(period)
    counties = list(db.session.scalars(select(County).order_by(County.position, County.id)))
    total = sum(m.amount_fen for m in cur.values())
    rows = []
    for county in counties:
        c = cur.get((county.id, 0, ""), M())
        p = prev.get((county.id, 0, ""), M())
        poor_fen = poor.get((county.id, 1, ""), M()).amount_fen
        qty = "；".join(f"{m.quantity.normalize():f} {k[2]}" for k, m in sorted(
            units.items(), key=lambda kv: -kv[1].amount_fen) if k[0] == county.id)
        rows.append({"_id": county.id, "county": county.name, "amount": c.amount_fen,
                     "previous": p.amount_fen, "change": change(c.amount_fen, p.amount_fen),
                     "share": ratio(c.amount_fen, total), "sub_orders": c.sub_orders,
                     "buyers": buyers.get(county.id, 0), "lines": c.lines,
                     "poor_amount": poor_fen, "poor_share": ratio(poor_fen, c.amount_fen),
                     "quantity": qty})
    rows.sort(key=lambda r: (-r["amount"], r["county"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    prev_total = sum(m.amount_fen for m in prev.values())
    poor_total = sum(m.amount_fen for k, m in poor.items() if k[1] == 1)
    total_row = {"county": _("全市合计"), "amount": total, "previous": prev_total,
                 "change": change(total, prev_total), "share": ratio(total, total),
                 "sub_orders": sum(m.sub_orders for m in cur.values()), "buyers": buyers[None],
                 "lines": sum(m.lines for m in cur.values()), "poor_amount": poor_total,
                 "poor_share": ratio(poor_total, total)}
    columns = [Column("rank", _("排名"), "int"), Column("county", _("县（市、区）")),
               Column("amount", _("销售额（元）"), "fen"), Column("previous", _("上期（元）"), "fen"),
               Column("change", _("环比"), "change"), Column("share", _("占全市"), "pct"),
               Column("sub_orders", _("订单数"), "int"), Column("buyers", _("采购单位数"), "int"),
               Column("lines", _("笔数"), "int"),
               Column("poor_amount", _("其中脱贫村（元）"), "fen"),
               Column("poor_share", _("脱贫村占比"), "pct"), Column("quantity", _("数量"))]
    ranked = list(reversed(rows))
    return Table("counties", _("各县（市、区）销售额排名"), columns, rows, total_row,
                 chart("hbar", [r["county"] for r in ranked],
                       (period.label, [r["amount"] for r in ranked]),
                       (previous.label, [r["previous"] for r in ranked])),
                 note=_("订单数按供应商订单（子订单）计；采购单位数按不同单位去重。"))


def _township_table(period, previous, county_id) -> Table:
    cur = _sums("township", period, county_id, by_county=True)
    prev = _sums("township", previous, county_id, by_county=True)
    townships = {t.id: t for t in db.session.scalars(select(Township).where(
        Township.id.in_({k[1] for k in set(cur) | set(prev)} or {0})))}
    counties = _names(County, {k[0] for k in set(cur) | set(prev)})
    total = sum(m.amount_fen for m in cur.values())
    rows = []
    for k in set(cur) | set(prev):
        c, p = cur.get(k, M()), prev.get(k, M())
        township = townships.get(k[1])
        rows.append({"_id": k[1], "_county_id": k[0], "county": counties.get(k[0], ""),
                     "township": township.name if township else _("（未填乡镇）"),
                     "amount": c.amount_fen, "previous": p.amount_fen,
                     "change": change(c.amount_fen, p.amount_fen), "share": ratio(c.amount_fen, total),
                     "sub_orders": c.sub_orders, "lines": c.lines})
    rows.sort(key=lambda r: (-r["amount"], r["county"], r["township"]))
    first = [Column("township", _("乡镇"))] if county_id else [
        Column("county", _("县（市、区）")), Column("township", _("乡镇"))]
    prev_total = sum(m.amount_fen for m in prev.values())
    shown = [r for r in rows if r["amount"]][:15]
    return Table("township", _("按乡镇"), _amount_columns(first, orders=True), rows,
                 {first[0].key: _("合计"), "amount": total, "previous": prev_total,
                  "change": change(total, prev_total), "share": ratio(total, total),
                  "sub_orders": sum(m.sub_orders for m in cur.values()),
                  "lines": sum(m.lines for m in cur.values())},
                 chart("bar", [r["township"] for r in shown],
                       (period.label, [r["amount"] for r in shown])))


def _producer_table(period, previous, county_id) -> Table:
    cur = _sums("producer", period, county_id)
    prev = _sums("producer", previous, county_id)
    names = _names(Organisation, {k[1] for k in set(cur) | set(prev)})
    total = sum(m.amount_fen for m in cur.values())
    rows = []
    for k in set(cur) | set(prev):
        c, p = cur.get(k, M()), prev.get(k, M())
        rows.append({"_id": k[1], "producer": names.get(k[1], str(k[1])), "amount": c.amount_fen,
                     "previous": p.amount_fen, "change": change(c.amount_fen, p.amount_fen),
                     "share": ratio(c.amount_fen, total), "sub_orders": c.sub_orders,
                     "lines": c.lines})
    rows.sort(key=lambda r: (-r["amount"], r["producer"]))
    prev_total = sum(m.amount_fen for m in prev.values())
    shown = [r for r in rows if r["amount"]][:15]
    return Table("producer", _("按经营主体"),
                 _amount_columns([Column("producer", _("经营主体"))], orders=True), rows,
                 {"producer": _("合计"), "amount": total, "previous": prev_total,
                  "change": change(total, prev_total), "share": ratio(total, total),
                  "sub_orders": sum(m.sub_orders for m in cur.values()),
                  "lines": sum(m.lines for m in cur.values())},
                 chart("bar", [r["producer"] for r in shown],
                       (period.label, [r["amount"] for r in shown])))


def city_dashboard(actor, period: Period) -> Dashboard:
    authorize("reports.city", actor)
    return _sales_dashboard(period, None)


def get_county(actor, county_id: int) -> County:
    county = db.session.get(County, county_id)
    if county is None:
        raise NotFound(_("县区不存在。"))
    authorize("reports.county", actor, county)
    return county


def county_dashboard(actor, county_id: int, period: Period) -> Dashboard:
    return _sales_dashboard(period, get_county(actor, county_id))


#: The tables each dashboard shows (and exports, and the data API groups by).
CITY_TABLES = ("counties", "township", "category", "channel", "buyer_type", "poor", "unit",
               "trend")
COUNTY_TABLES = ("township", "producer", "category", "channel", "buyer_type", "poor", "unit",
                 "trend")
PRODUCER_TABLES = ("product", "buyer_type", "trend")


# A producer's own sales (from its counted lines) ----------------------------------------


def get_producer(actor, org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind != OrgKind.PRODUCER:
        raise NotFound(_("经营主体不存在。"))
    authorize("reports.producer", actor, org)
    return org


def _own_lines(org_id: int, first: date, last: date):
    return (select().select_from(OrderLine)
            .join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
            .join(PurchaseOrder, SubOrder.purchase_order_id == PurchaseOrder.id)
            .where(counting.counted_condition(), OrderLine.producer_org_id == org_id,
                   SubOrder.received_on.between(first, last)))


def _own_by(org_id: int, period: Period, *columns) -> dict[tuple, M]:
    query = _own_lines(org_id, period.start, period.end).add_columns(
        *columns, func.sum(counting.NET_FEN_SQL), func.sum(OrderLine.quantity_received),
        func.count(), func.count(func.distinct(OrderLine.sub_order_id))).group_by(*columns)
    out = {}
    for row in db.session.execute(query):
        *key, amount, quantity, lines, subs = row
        out[tuple(key)] = M(int(amount or 0), Decimal(quantity or 0), int(lines), int(subs))
    return out


def producer_dashboard(actor, org_id: int, period: Period) -> Dashboard:
    """A producer's own sales per product, per buyer type and per month."""
    org = get_producer(actor, org_id)
    previous = period.previous()
    d = Dashboard(period, previous, producer=org)
    cur = _own_by(org.id, period, OrderLine.product_id, OrderLine.unit)
    prev = _own_by(org.id, previous, OrderLine.product_id, OrderLine.unit)
    names = dict(db.session.execute(
        select(OrderLine.product_id, func.max(OrderLine.product_name))
        .where(OrderLine.producer_org_id == org.id,
               OrderLine.product_id.in_({k[0] for k in set(cur) | set(prev)} or {0}))
        .group_by(OrderLine.product_id)).all())
    amount = sum(m.amount_fen for m in cur.values())
    prev_amount = sum(m.amount_fen for m in prev.values())
    d.headline = {"amount": amount, "previous": prev_amount, "change": change(amount, prev_amount),
                  "sub_orders": sum(m.sub_orders for m in cur.values()),
                  "lines": sum(m.lines for m in cur.values())}
    rows = []
    for k in set(cur) | set(prev):
        c, p = cur.get(k, M()), prev.get(k, M())
        rows.append({"_id": k[0], "product": names.get(k[0], ""), "unit": k[1],
                     "quantity": c.quantity, "amount": c.amount_fen, "previous": p.amount_fen,
                     "change": change(c.amount_fen, p.amount_fen),
                     "share": ratio(c.amount_fen, amount), "lines": c.lines})
    rows.sort(key=lambda r: (-r["amount"], r["product"]))
    d.tables["product"] = Table(
        "product", _("按产品"),
        [Column("product", _("产品")), Column("unit", _("单位")),
         Column("quantity", _("数量"), "qty"), *_amount_columns([])],
        rows, {"product": _("合计"), "amount": amount, "previous": prev_amount,
               "change": change(amount, prev_amount), "share": ratio(amount, amount),
               "lines": d.headline["lines"]},
        chart("pie", [r["product"] for r in rows if r["amount"]],
              (period.label, [r["amount"] for r in rows if r["amount"]])))
    by_type = _own_by(org.id, period, PurchaseOrder.buyer_type)
    prev_type = _own_by(org.id, previous, PurchaseOrder.buyer_type)
    rows = []
    for k in set(by_type) | set(prev_type):
        c, p = by_type.get(k, M()), prev_type.get(k, M())
        rows.append({"buyer_type": _type_label(k[0]), "amount": c.amount_fen,
                     "previous": p.amount_fen, "change": change(c.amount_fen, p.amount_fen),
                     "share": ratio(c.amount_fen, amount), "lines": c.lines})
    rows.sort(key=lambda r: -r["amount"])
    d.tables["buyer_type"] = Table(
        "buyer_type", _("按采购单位类型"), _amount_columns([Column("buyer_type", _("单位类型"))]),
        rows, {"buyer_type": _("合计"), "amount": amount, "previous": prev_amount,
               "change": change(amount, prev_amount), "share": ratio(amount, amount),
               "lines": d.headline["lines"]},
        chart("pie", [r["buyer_type"] for r in rows if r["amount"]],
              (period.label, [r["amount"] for r in rows if r["amount"]])))
    months = trend_months(period)
    window = Period("custom", months[0], month_end(months[-1]))
    start = SubOrder.received_on
    monthly: dict[str, int] = {}
    for received_on, amount_fen in db.session.execute(
            _own_lines(org.id, window.start, window.end)
            .add_columns(start, counting.NET_FEN_SQL)):
        key = received_on.strftime("%Y-%m")
        monthly[key] = monthly.get(key, 0) + int(amount_fen)
    rows = [{"month": m.strftime("%Y-%m"), "amount": monthly.get(m.strftime("%Y-%m"), 0)}
            for m in months]
    d.tables["trend"] = Table(
        "trend", _("月度销售额（近 12 个月）"),
        [Column("month", _("月份")), Column("amount", _("销售额（元）"), "fen")], rows,
        {"month": _("合计"), "amount": sum(r["amount"] for r in rows)},
        chart("line", [r["month"] for r in rows], (_("销售额"), [r["amount"] for r in rows])))
    return d


# Sales detail (export only) -------------------------------------------------------------


DETAIL_COLUMNS = [
    Column("received_on", _l("验收日期"), "date"), Column("order", _l("采购单号")),
    Column("buyer", _l("采购单位")), Column("buyer_type", _l("单位类型")),
    Column("channel", _l("渠道")), Column("county", _l("县（市、区）")), Column("township", _l("乡镇")),
    Column("village", _l("村")), Column("poor", _l("脱贫村")), Column("producer", _l("经营主体")),
    Column("product", _l("产品")), Column("category", _l("品类")), Column("certificate", _l("证书编号")),
    Column("unit", _l("单位")), Column("price", _l("单价（元）"), "fen"),
    Column("quantity", _l("验收数量"), "qty"), Column("amount", _l("计入金额（元）"), "fen"),
]


def sales_detail(actor, period: Period, county_id: int | None = None,
                 producer_id: int | None = None):
    """Every counted line of the period in the reader's scope, as a stream of rows.

    Authorized now, read as the rows are consumed.
    """
    if producer_id:
        get_producer(actor, producer_id)
    elif county_id:
        get_county(actor, county_id)
    else:
        authorize("reports.city", actor)
    query = (select(SubOrder.received_on, PurchaseOrder.number, PurchaseOrder.buyer_name,
                    PurchaseOrder.buyer_type, PurchaseOrder.channel, OrderLine.county_name,
                    OrderLine.township_name, OrderLine.village_name, OrderLine.formerly_poor,
                    OrderLine.producer_name, OrderLine.product_name, OrderLine.category_name,
                    OrderLine.certificate_number, OrderLine.unit, OrderLine.unit_price_fen,
                    OrderLine.quantity_received, counting.NET_FEN_SQL)
             .select_from(OrderLine).join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
             .join(PurchaseOrder, SubOrder.purchase_order_id == PurchaseOrder.id)
             .where(counting.counted_condition(),
                    SubOrder.received_on.between(period.start, period.end))
             .order_by(SubOrder.received_on, OrderLine.id))
    if producer_id:
        query = query.where(OrderLine.producer_org_id == producer_id)
    elif county_id:
        query = query.where(OrderLine.county_id == county_id)
    return _detail_rows(query)


def _detail_rows(query):
    yes, no = _("是"), _("否")
    types, channels = {}, {}
    for row in db.session.execute(query.execution_options(yield_per=2000)):
        (day, number, buyer, btype, channel, county, township, village, poor, producer,
         product, category, cert, unit, price, qty, amount) = row
        if btype not in types:
            types[btype] = _type_label(btype)
        if channel not in channels:
            channels[channel] = Channel.label(channel)
        yield {"received_on": day, "order": number, "buyer": buyer, "buyer_type": types[btype],
               "channel": channels[channel], "county": county, "township": township,
               "village": village, "poor": yes if poor else no, "producer": producer,
               "product": product, "category": category, "certificate": cert, "unit": unit,
               "price": price, "quantity": qty, "amount": int(amount)}


# Reserved share (预留份额) -----------------------------------------------------------------


def _elapsed(year: int) -> Decimal:
    """Share of the year gone by today (1 for a past year, 0 for a future one)."""
    day = today()
    if year < day.year:
        return Decimal(1)
    if year > day.year:
        return Decimal(0)
    first = date(year, 1, 1)
    return Decimal((day - first).days + 1) / Decimal((date(year + 1, 1, 1) - first).days)


RESERVED_COLUMNS = [
    Column("buyer", _l("采购单位")), Column("buyer_type", _l("单位类型")),
    Column("budget", _l("年度食材预算（元）"), "fen"), Column("percent", _l("预留比例"), "pct"),
    Column("target", _l("预留份额目标（元）"), "fen"), Column("purchased", _l("已采购（元）"), "fen"),
    Column("progress", _l("完成进度"), "pct"), Column("expected", _l("应达进度"), "pct"),
    Column("status", _l("状态")),
]


def _reserved_rows(year: int, org_ids=None) -> list[dict]:
    query = (select(Organisation, BuyerProfile).join(BuyerProfile,
                                                     BuyerProfile.organisation_id == Organisation.id)
             .where(Organisation.kind == OrgKind.BUYER))
    if org_ids is not None:
        query = query.where(Organisation.id.in_(org_ids))
    else:
        query = query.where(Organisation.status == OrgStatus.VERIFIED)
    pairs = db.session.execute(query).all()
    bought = {k[1]: m.amount_fen for k, m in _sums("buyer", year_period(year)).items()}
    expected = _elapsed(year)
    rows = []
    for org, profile in pairs:
        target = profile.reserved_target_fen
        purchased = bought.get(org.id, 0)
        progress = ratio(purchased, target)
        behind = target > 0 and purchased < target * expected
        rows.append({"_id": org.id, "buyer": org.name, "buyer_type": _type_label(org.org_type),
                     "budget": profile.annual_food_budget_fen,
                     "percent": (profile.reserved_share_percent / 100).quantize(Decimal("0.0001")),
                     "target": target, "purchased": purchased, "progress": progress,
                     "expected": expected.quantize(Decimal("0.0001")), "behind": behind,
                     "status": _("落后") if behind else (_("未设预算") if not target else _("正常"))})
    rows.sort(key=lambda r: (r["progress"] is not None, r["progress"] or 0, r["buyer"]))
    return rows


def reserved_share(actor, year: int) -> Table:
    """Every verified buyer's reserved share for the year, the furthest behind first."""
    authorize("reports.city", actor)
    rows = _reserved_rows(year)
    total = {"buyer": _("合计"), "budget": sum(r["budget"] for r in rows),
             "target": sum(r["target"] for r in rows),
             "purchased": sum(r["purchased"] for r in rows)}
    total["progress"] = ratio(total["purchased"], total["target"])
    behind = sum(1 for r in rows if r["behind"])
    return Table("reserved", _("%(y)s 年预留份额完成情况", y=year), RESERVED_COLUMNS, rows, total,
                 note=_("%(n)s 家单位进度落后于时间进度。", n=behind))


def reserved_share_of(actor, org, year: int | None = None) -> dict | None:
    """One buyer's own reserved share this year, or None when the reader may not see it."""
    if org is None or not can("reports.buyer", actor, org):
        return None
    rows = _reserved_rows(year or today().year, [org.id])
    return rows[0] if rows else None


def own_reserved_share(actor, org_id: int, year: int) -> dict:
    """A buyer organisation's own reserved share (the data API's organisation tokens)."""
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind != OrgKind.BUYER:
        raise NotFound(_("采购单位不存在。"))
    authorize("reports.buyer", actor, org)
    return _reserved_rows(year, [org.id])[0]


# Farmer income (带农增收) ------------------------------------------------------------------


def farmer_income(actor, period: Period) -> Table:
    """Per county: producers, households they benefit (linkage data), and the sales beside."""
    authorize("reports.city", actor)
    producers = db.session.execute(
        select(Organisation.county_id, func.count(Organisation.id),
               func.sum(Organisation.poor_households))
        .where(Organisation.kind == OrgKind.PRODUCER, Organisation.status == OrgStatus.VERIFIED)
        .group_by(Organisation.county_id)).all()
    producers = {cid: (n, int(h or 0)) for cid, n, h in producers}
    sold = _sums("producer", period, by_county=True)
    sellers: dict[int, set] = {}
    for (cid, org_id, _t) in sold:
        sellers.setdefault(cid, set()).add(org_id)
    households = dict(db.session.execute(select(Organisation.id, Organisation.poor_households)
                                         .where(Organisation.id.in_({k[1] for k in sold} or {0})))
                      .all())
    amounts = _sums("county", period, by_county=True)
    rows = []
    for county in db.session.scalars(select(County).order_by(County.position, County.id)):
        n, h = producers.get(county.id, (0, 0))
        ids = sellers.get(county.id, set())
        amount = amounts.get((county.id, 0, ""), M()).amount_fen
        rows.append({"_id": county.id, "county": county.name, "producers": n, "households": h,
                     "selling": len(ids), "selling_households": sum(households.get(i, 0)
                                                                    for i in ids),
                     "amount": amount})
    columns = [Column("county", _("县（市、区）")), Column("producers", _("已核验经营主体"), "int"),
               Column("households", _("带动脱贫户（户）"), "int"),
               Column("selling", _("有销售的主体"), "int"),
               Column("selling_households", _("其带动脱贫户（户）"), "int"),
               Column("amount", _("销售额（元）"), "fen")]
    total = {"county": _("全市合计"), **{c.key: sum(r[c.key] for r in rows)
                                        for c in columns[1:]}}
    return Table("income", _("带农增收"), columns, rows, total,
                 chart("bar", [r["county"] for r in rows],
                       (_("带动脱贫户（户）"), [r["households"] for r in rows])),
                 note=_("带动户数取经营主体经县级审核的联农带农资料；销售额为所选时段。"))


# Risk signals (风险监测) -------------------------------------------------------------------


def _settings():
    c = current_app.config
    return {"slow_days": c["REPORT_SLOW_DAYS"], "expiry_days": c["REPORT_EXPIRY_DAYS"],
            "price_percent": c["REPORT_PRICE_ABOVE_PERCENT"], "drop_months": c["REPORT_DROP_MONTHS"],
            "drop_percent": c["REPORT_DROP_PERCENT"], "drop_min_fen": c["REPORT_DROP_MIN_YUAN"] * 100}


@dataclass
class RiskSignals:
    settings: dict
    county: County | None
    tables: dict[str, Table]


def risk_signals(actor, county_id: int | None = None) -> RiskSignals:
    """滞销, certificates about to expire, prices far above reference, sharp sales falls."""
    county = get_county(actor, county_id) if county_id else None
    if county is None:
        authorize("reports.city", actor)
    s = _settings()
    day = today()
    in_county = (Organisation.county_id == county.id) if county else True
    last_sale = (select(func.max(SubOrder.received_on)).select_from(OrderLine)
                 .join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
                 .where(counting.counted_condition(), OrderLine.product_id == Product.id)
                 .scalar_subquery())
    since = day - timedelta(days=s["slow_days"])
    slow = db.session.execute(
        select(Product, Organisation.name, last_sale.label("last_sale"))
        .join(Product.organisation)
        .where(on_sale_sql(day), in_county, Product.stock > 0,
               Product.created_at < datetime.combine(since, time()),
               ~exists().where(OrderLine.product_id == Product.id,
                               OrderLine.sub_order_id == SubOrder.id,
                               counting.counted_condition(), SubOrder.received_on >= since))
        .order_by(Product.id).limit(500)).all()
    tables = {}
    tables["slow"] = Table(
        "slow", _("滞销：有库存但 %(n)s 天无销售", n=s["slow_days"]),
        [Column("product", _("产品")), Column("producer", _("经营主体")),
         Column("stock", _("库存"), "qty"), Column("unit", _("单位")),
         Column("last_sale", _("最近销售"), "date")],
        [{"_id": p.id, "_producer_id": p.organisation_id, "product": p.name, "producer": name,
          "stock": p.stock, "unit": p.unit, "last_sale": last} for p, name, last in slow])
    soon = day + timedelta(days=s["expiry_days"])
    expiring = db.session.execute(
        select(Certificate, Product, Organisation.name).join(Product, Certificate.product_id == Product.id)
        .join(Organisation, Product.organisation_id == Organisation.id)
        .where(Certificate.valid_on(day), Certificate.valid_until <= soon, in_county)
        .order_by(Certificate.valid_until, Certificate.id).limit(500)).all()
    tables["expiring"] = Table(
        "expiring", _("证书 %(n)s 天内到期", n=s["expiry_days"]),
        [Column("certificate", _("证书编号")), Column("product", _("产品")),
         Column("producer", _("经营主体")), Column("valid_until", _("有效期至"), "date"),
         Column("days_left", _("剩余天数"), "int")],
        [{"_id": p.id, "_certificate_id": c.id, "_producer_id": p.organisation_id,
          "certificate": c.number, "product": p.name, "producer": name,
          "valid_until": c.valid_until, "days_left": (c.valid_until - day).days}
         for c, p, name in expiring])
    pricey = db.session.execute(
        select(Product, Organisation.name, Category.name, ReferencePrice.price_fen)
        .join(Product.organisation).join(Category, Product.category_id == Category.id)
        .join(ReferencePrice, and_(ReferencePrice.category_id == Product.category_id,
                                   ReferencePrice.unit == Product.unit))
        .where(on_sale_sql(day), in_county,
               Product.price_fen * 100 > ReferencePrice.price_fen * (100 + s["price_percent"]))
        .order_by(Product.id).limit(500)).all()
    tables["price"] = Table(
        "price", _("价格高于参考价 %(n)s%% 以上", n=s["price_percent"]),
        [Column("product", _("产品")), Column("producer", _("经营主体")),
         Column("category", _("品类")), Column("unit", _("单位")),
         Column("price", _("售价（元）"), "fen"), Column("reference", _("参考价（元）"), "fen"),
         Column("above", _("高出"), "pct")],
        [{"_id": p.id, "_producer_id": p.organisation_id, "product": p.name, "producer": name,
          "category": cat, "unit": p.unit, "price": p.price_fen, "reference": ref,
          "above": change(p.price_fen, ref)} for p, name, cat, ref in pricey])
    tables["drop"] = _sales_drop(s, county)
    return RiskSignals(s, county, tables)


def _sales_drop(s: dict, county: County | None) -> Table:
    months = s["drop_months"]
    this_month = today().replace(day=1)
    recent = Period("custom", add_months(this_month, -months), this_month - timedelta(days=1))
    before = Period("custom", add_months(this_month, -2 * months), recent.start - timedelta(days=1))
    cur = _sums("producer", recent, county.id if county else None)
    prev = _sums("producer", before, county.id if county else None)
    names = _names(Organisation, {k[1] for k in prev})
    rows = []
    for k, p in prev.items():
        c = cur.get(k, M())
        if p.amount_fen >= s["drop_min_fen"] and (
                c.amount_fen * 100 < p.amount_fen * (100 - s["drop_percent"])):
            rows.append({"_id": k[1], "_producer_id": k[1], "producer": names.get(k[1], ""),
                         "previous": p.amount_fen, "amount": c.amount_fen,
                         "change": change(c.amount_fen, p.amount_fen)})
    rows.sort(key=lambda r: (r["change"], r["producer"]))
    return Table(
        "drop", _("销售额大幅下降：近 %(m)s 个月比前 %(m)s 个月下降 %(p)s%% 以上",
                  m=months, p=s["drop_percent"]),
        [Column("producer", _("经营主体")), Column("previous", _("前期（元）"), "fen"),
         Column("amount", _("近期（元）"), "fen"), Column("change", _("变化"), "change")], rows,
        note=_("近期：%(a)s；前期：%(b)s。", a=recent.label, b=before.label))


# Policy targets -------------------------------------------------------------------------


def policy_targets(actor) -> Table:
    """The plan's 2025 targets the platform can measure, against today's counts."""
    authorize("reports.city", actor)
    c = current_app.config
    day = today()
    on_sale = (select(Product.id, Product.organisation_id, Product.green_food,
                      Organisation.county_id)
               .join(Product.organisation).where(on_sale_sql(day)).subquery())
    products = db.session.scalar(select(func.count()).select_from(on_sale)) or 0
    producers = db.session.scalar(select(func.count(func.distinct(on_sale.c.organisation_id))))
    green = db.session.scalar(select(func.count()).select_from(on_sale)
                              .where(on_sale.c.green_food.is_(True))) or 0
    counties = db.session.scalar(select(func.count(func.distinct(on_sale.c.county_id)))) or 0
    county_total = db.session.scalar(select(func.count(County.id))) or 0
    rows = [
        ("brands", _("省级及以上品牌"), c["TARGET_PROVINCIAL_BRANDS"], None,
         _("品牌目录上线后统计")),
        ("green_food", _("绿色食品认证产品"), c["TARGET_GREEN_FOOD"], green,
         _("在售且经审核的绿色食品标识")),
        ("products", _("认定产品（在售）"), c["TARGET_CERTIFIED_PRODUCTS"], products, ""),
        ("producers", _("认定经营主体（有在售产品）"), c["TARGET_CERTIFIED_PRODUCERS"], producers or 0,
         ""),
        ("counties", _("县区覆盖"), c["TARGET_COUNTY_COVERAGE"] or county_total, counties,
         _("有在售认定产品的县（市、区）")),
    ]
    return Table("targets", _("2025 年目标完成情况"),
                 [Column("target_name", _("指标")), Column("target", _("目标"), "int"),
                  Column("current", _("当前"), "int"), Column("progress", _("完成率"), "pct"),
                  Column("note", _("说明"))],
                 [{"_id": key, "target_name": name, "target": target, "current": current,
                   "progress": ratio(current, target) if current is not None else None,
                   "note": note} for key, name, target, current, note in rows])
