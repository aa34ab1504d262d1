"""Generate purchase orders with N order lines for the reports benchmark (bulk INSERTs).

Two years of orders ending on `last_day`: about 1.6 sub-orders per order and 2.5 lines per
sub-order, from `buyers` buyer organisations of every type to the catalogue's producers.
About 93 % of sub-orders are received (a tenth of them short), the rest declined, cancelled,
disputed or still open, so the counting rules have something to leave out. Snapshots are
taken from the generated catalogue, as submission would.
"""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from marketplace.buyers.models import BuyerProfile, Channel
from marketplace.catalog.models import Category, Product
from marketplace.certification.models import Certificate
from marketplace.demo.generate import credit_code
from marketplace.extensions import db
from marketplace.money import line_amount
from marketplace.orders.models import OrderLine, PurchaseOrder, SubOrder
from marketplace.organisations.models import Organisation
from marketplace.places.models import County, Township, Village

BUYER_TYPES = ["school", "canteen", "government", "state_enterprise", "trade_union",
               "community", "supermarket", "service_area"]


def _bulk(model, rows, chunk=10_000):
    for i in range(0, len(rows), chunk):
        db.session.execute(insert(model), rows[i:i + chunk])


def _next_id(model) -> int:
    return (db.session.scalar(select(db.func.max(model.id))) or 0) + 1


def make_buyers(count: int, rng: random.Random) -> list[tuple]:
    counties = list(db.session.scalars(select(County).order_by(County.position)))
    first = _next_id(Organisation)
    orgs, profiles, out = [], [], []
    for k in range(count):
        county = counties[k % len(counties)]
        org_type = BUYER_TYPES[k % len(BUYER_TYPES)]
        org_id = first + k
        name = f"{county.name}第{k + 1}采购单位"
        orgs.append({"id": org_id, "kind": "buyer", "org_type": org_type, "name": name,
                     "credit_code": credit_code("12", "411000", 500_000 + k),
                     "legal_representative": "张三", "contact_name": "", "contact_phone": "0374",
                     "county_id": county.id, "township_id": None, "village_id": None,
                     "address": "", "benefit_types": "", "poor_households": 0,
                     "benefit_description": "", "description": "", "status": "verified"})
        profiles.append({"organisation_id": org_id, "manager_id": None, "invoice_title": name,
                         "tax_number": "", "approval_threshold_fen": None,
                         "annual_food_budget_fen": rng.randint(50, 500) * 10_000_00,
                         "reserved_share_percent": Decimal("10")})
        out.append((org_id, org_type, Channel.OF_TYPE.get(org_type, ""), name))
    _bulk(Organisation, orgs)
    _bulk(BuyerProfile, profiles)
    return out


def _catalogue() -> dict[int, list[dict]]:
    """producer id -> its certified products with everything a line snapshots."""
    categories = dict(db.session.execute(select(Category.id, Category.name)).all())
    townships = dict(db.session.execute(select(Township.id, Township.name)).all())
    villages = {v.id: v for v in db.session.scalars(select(Village))}
    counties = dict(db.session.execute(select(County.id, County.name)).all())
    certs = dict(db.session.execute(select(Certificate.product_id, Certificate.id)
                                    .where(Certificate.status == "active")).all())
    numbers = dict(db.session.execute(select(Certificate.id, Certificate.number)).all())
    by_producer: dict[int, list[dict]] = {}
    rows = db.session.execute(
        select(Product.id, Product.name, Product.specification, Product.unit, Product.price_fen,
               Product.category_id, Organisation.id, Organisation.name, Organisation.county_id,
               Organisation.township_id, Organisation.village_id)
        .join(Organisation, Product.organisation_id == Organisation.id)
        .where(Organisation.status == "verified", Product.status == "active"))
    for (pid, name, spec, unit, price, cat, org_id, org_name, county_id, township_id,
         village_id) in rows:
        if pid not in certs:
            continue
        village = villages.get(village_id)
        by_producer.setdefault(org_id, []).append({
            "product_id": pid, "product_name": name, "specification": spec, "unit": unit,
            "unit_price_fen": price, "category_id": cat, "category_name": categories[cat],
            "producer_org_id": org_id, "producer_name": org_name, "county_id": county_id,
            "county_name": counties[county_id], "township_id": township_id,
            "township_name": townships.get(township_id, ""), "village_id": village_id,
            "village_name": village.name if village else "",
            "formerly_poor": bool(village and village.formerly_poor),
            "certificate_id": certs[pid], "certificate_number": numbers[certs[pid]]})
    return by_producer


def generate_orders(lines: int, buyers: int, last_day, seed: int = 8) -> dict:
    """Insert purchase orders until `lines` order lines exist; return what was made."""
    rng = random.Random(seed)
    buyer_rows = make_buyers(buyers, rng)
    catalogue = _catalogue()
    producers = list(catalogue)
    first_day = last_day - timedelta(days=729)
    days = 730
    po_id, sub_id, line_id = _next_id(PurchaseOrder), _next_id(SubOrder), _next_id(OrderLine)
    orders, subs, order_lines = [], [], []
    made = 0
    k = 0
    while made < lines:
        day = first_day + timedelta(days=(made * days) // lines)
        buyer_id, buyer_type, channel, buyer_name = buyer_rows[rng.randrange(len(buyer_rows))]
        submitted = datetime.combine(day - timedelta(days=2), time(9))
        order_total = 0
        n_subs = rng.choice((1, 1, 2, 2, 3))
        for s in range(n_subs):
            producer = producers[rng.randrange(len(producers))]
            items = rng.sample(catalogue[producer], min(len(catalogue[producer]),
                                                         rng.choice((1, 2, 3, 4))))
            roll = rng.random()
            status = ("received" if roll < 0.93 else "declined" if roll < 0.95 else
                      "cancelled" if roll < 0.97 else "disputed" if roll < 0.985 else "accepted")
            received = status == "received"
            ordered = due = 0
            for position, item in enumerate(items):
                quantity = Decimal(rng.randint(2, 40))
                accepted = quantity - (1 if received and rng.random() < 0.1 else 0)
                amount = line_amount(item["unit_price_fen"], quantity)
                got = line_amount(item["unit_price_fen"], accepted) if received else None
                ordered += amount
                due += got or 0
                order_lines.append({
                    "id": line_id, "sub_order_id": sub_id, "position": position,
                    "batch_id": None, **item, "quantity": quantity,
                    "quantity_shipped": quantity if status in ("received", "disputed") else None,
                    "quantity_received": accepted if received else None,
                    "amount_fen": amount, "received_fen": got, "refunded_fen": 0})
                line_id += 1
                made += 1
            subs.append({"id": sub_id, "purchase_order_id": po_id, "producer_org_id": producer,
                         "number": f"BENCH{po_id:08d}-{s + 1}", "status": status,
                         "producer_name": items[0]["producer_name"], "ordered_fen": ordered,
                         "due_fen": due if received else None, "routed_at": submitted,
                         "accept_by": submitted + timedelta(hours=24),
                         "shipped_at": submitted if received else None,
                         "received_on": day if received else None, "decline_reason": "",
                         "dispute_reason": "", "resolution": ""})
            sub_id += 1
            order_total += ordered
        orders.append({"id": po_id, "number": f"BENCH{po_id:08d}", "buyer_org_id": buyer_id,
                       "created_by_id": None, "status": "completed", "buyer_type": buyer_type,
                       "channel": channel, "buyer_name": buyer_name, "delivery_address": "许昌",
                       "delivery_contact": "张", "delivery_phone": "0374",
                       "delivery_date": day, "delivery_window": "", "invoice_title": "",
                       "tax_number": "", "notes": "", "total_fen": order_total,
                       "needs_approval": False, "idempotency_key": f"bench-{po_id}",
                       "submitted_at": submitted})
        po_id += 1
        k += 1
        if len(order_lines) >= 50_000:
            _flush(orders, subs, order_lines)
    _flush(orders, subs, order_lines)
    db.session.commit()
    return {"orders": k, "lines": made, "first_day": first_day, "last_day": last_day}


def _flush(orders, subs, order_lines) -> None:
    _bulk(PurchaseOrder, orders)
    _bulk(SubOrder, subs)
    _bulk(OrderLine, order_lines)
    orders.clear()
    subs.clear()
    order_lines.clear()
