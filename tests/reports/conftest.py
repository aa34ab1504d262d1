"""A year of sales made through the orders services, with totals worked out by hand.

Prices: 禹州粉条 ¥28.50/袋 (禹州市方山镇, not a 脱贫村), 红薯粉条 ¥12.50/斤 (禹州市方山镇李庄村, a
脱贫村), 枣花蜜 ¥68.00/瓶 (鄢陵县陶城镇). Buyers: a hospital canteen (食堂, channel 进医院食堂)
and a school (学校, channel 进学校).

    #  day         buyer    what                         outcome                    counts
    1  2025-03-10  canteen  10 袋 粉条, 8 accepted        received, ¥28.50 refunded  ¥199.50 禹州 Mar
    2  2025-03-12  school   4 瓶 蜂蜜                     received                   ¥272.00 鄢陵 Mar
    3  2025-04-02  canteen  20 斤 红薯粉条 + 2 瓶 蜂蜜     粉条 received; 蜂蜜 declined ¥250.00 禹州 Apr
                                                                                 (脱贫村)
    4  2025-04-05  canteen  6 袋 粉条                      shipped, disputed, open    nothing
    5  2025-04-06  school   4 袋 粉条                      cancelled                  nothing
    6  2025-05-20  canteen  3 瓶 蜂蜜                      received 3, disputed,      ¥136.00 鄢陵 May
                                                          resolved at 2 on 06-02      (2 × ¥68.00)

    Q1 2025: 禹州 ¥199.50, 鄢陵 ¥272.00, city ¥471.50
    Q2 2025: 禹州 ¥250.00 (all 脱贫村), 鄢陵 ¥136.00, city ¥386.00
    2025:    禹州 ¥449.50, 鄢陵 ¥408.00, city ¥857.50; 脱贫村 ¥250.00; 4 sub-orders;
             buyers: 禹州 1 (canteen), 鄢陵 2, city 2; 进医院食堂 ¥585.50, 进学校 ¥272.00;
             三粉制品 ¥449.50, 蜂产品 ¥408.00
"""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from marketplace.buyers.services import active_addresses
from marketplace.extensions import db
from marketplace.orders import cart, services
from marketplace.reports import rollups
from marketplace.uow import unit_of_work
from tests import factories


@dataclass
class World:
    app: object
    places: object
    canteen: object
    school: object
    cook: object  # canteen purchaser
    teacher: object  # school purchaser
    fentiao: object
    poor_fentiao: object
    honey: object
    yuzhou_coop: object
    poor_coop: object
    bees: object
    farmer: object
    poor_farmer: object
    beekeeper: object
    admin: object
    orders: dict


def set_day(app, day: date) -> None:
    app.config["FROZEN_TODAY"] = day.isoformat()


def certified(org, category, name, price_fen):
    product = factories.make_certified_product(org, category, name=name, issued_days_ago=40)
    product.price_fen = price_fen
    db.session.commit()
    return product


def order(buyer, items, key):
    """Submit one purchase order of (product, quantity text) items; return its sub-orders."""
    for product, quantity in items:
        cart.add_to_cart(buyer, product, quantity)
    data = {"address_id": active_addresses(buyer.organisation)[0].id,
            "delivery_date": services.today() + timedelta(days=1), "window": "",
            "invoice_title": "", "tax_number": "", "notes": ""}
    po = services.submit_purchase_order(buyer, data, key)
    return {sub.producer_org_id: sub for sub in po.sub_orders}


def deliver(sub, producer, buyer, received: str | None = None):
    """Accept and ship all; receive `received` of the single line (None: do not receive)."""
    services.accept_sub_order(producer, sub)
    services.ship_sub_order(producer, sub, {line.id: str(line.quantity) for line in sub.lines})
    if received is not None:
        services.receive_sub_order(buyer, sub, {line.id: received for line in sub.lines})


@pytest.fixture
def world(app, places):
    return build_world(app, places)


def build_world(app, places) -> World:
    """The sales of the table above, made through the services (inside an app context)."""
    set_day(app, date(2025, 3, 1))
    admin = factories.make_user("admin", role="admin")
    canteen = factories.make_buyer(places.yuzhou)
    school = factories.make_buyer(places.yanling, name="鄢陵县第一高级中学", org_type="school")
    cook = factories.make_user("cook", role="buyer", organisation=canteen)
    teacher = factories.make_user("teacher", role="buyer", organisation=school)
    yuzhou_coop = factories.make_producer(places.yuzhou)
    poor_coop = factories.make_producer(places.yuzhou, name="李庄红薯合作社",
                                        village_id=places.village.id)
    bees = factories.make_producer(places.yanling, name="鄢陵蜂业合作社")
    farmer = factories.make_user("farmer", role="producer", organisation=yuzhou_coop)
    poor_farmer = factories.make_user("lizhuang", role="producer", organisation=poor_coop)
    beekeeper = factories.make_user("beekeeper", role="producer", organisation=bees)
    fentiao = certified(yuzhou_coop, places.starch, "禹州粉条", 2850)
    poor_fentiao = certified(poor_coop, places.starch, "红薯粉条", 1250)
    poor_fentiao.unit = "斤"
    db.session.commit()
    honey = certified(bees, places.bee, "枣花蜜", 6800)
    honey.unit = "瓶"
    db.session.commit()
    w = World(app, places, canteen, school, cook, teacher, fentiao, poor_fentiao, honey,
              yuzhou_coop, poor_coop, bees, farmer, poor_farmer, beekeeper, admin, {})

    set_day(app, date(2025, 3, 10))
    subs = order(cook, [(fentiao, "10")], "order-one-0001")
    deliver(subs[yuzhou_coop.id], farmer, cook, "8")
    w.orders[1] = subs[yuzhou_coop.id]
    with unit_of_work():
        rollups.record_refund(w.orders[1].lines[0], 2850)

    set_day(app, date(2025, 3, 12))
    subs = order(teacher, [(honey, "4")], "order-two-0002")
    deliver(subs[bees.id], beekeeper, teacher, "4")
    w.orders[2] = subs[bees.id]

    set_day(app, date(2025, 4, 2))
    subs = order(cook, [(poor_fentiao, "20"), (honey, "2")], "order-three-03")
    deliver(subs[poor_coop.id], poor_farmer, cook, "20")
    services.decline_sub_order(beekeeper, subs[bees.id], "蜂蜜暂时缺货")
    w.orders[3] = subs[poor_coop.id]

    set_day(app, date(2025, 4, 5))
    subs = order(cook, [(fentiao, "6")], "order-four-004")
    deliver(subs[yuzhou_coop.id], farmer, cook)
    services.dispute_sub_order(cook, subs[yuzhou_coop.id], "包装破损，数量不符")
    w.orders[4] = subs[yuzhou_coop.id]

    set_day(app, date(2025, 4, 6))
    subs = order(teacher, [(fentiao, "4")], "order-five-005")
    services.cancel_sub_order(teacher, subs[yuzhou_coop.id], "计划调整")
    w.orders[5] = subs[yuzhou_coop.id]

    set_day(app, date(2025, 5, 20))
    subs = order(cook, [(honey, "3")], "order-six-0006")
    deliver(subs[bees.id], beekeeper, cook, "3")
    w.orders[6] = subs[bees.id]
    set_day(app, date(2025, 5, 22))
    services.dispute_sub_order(cook, w.orders[6], "一瓶漏液")
    set_day(app, date(2025, 6, 2))
    services.resolve_dispute(admin, w.orders[6], {w.orders[6].lines[0].id: "2"}, "认可两瓶")

    set_day(app, date(2025, 12, 31))
    return w
