"""A canteen with a purchaser and an approver, and two producers with certified products."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from marketplace.buyers.services import active_addresses
from marketplace.clock import today
from tests import factories


@dataclass
class Market:
    canteen: object
    purchaser: object
    approver: object
    fentiao: object  # 禹州 producer's product
    honey: object  # 鄢陵 producer's product
    farmer: object  # member of the 禹州 producer
    beekeeper: object  # member of the 鄢陵 producer


@pytest.fixture
def market(places, producer_org, producer):
    canteen = factories.make_buyer(places.yuzhou, threshold_fen=300_000)
    purchaser = factories.make_user("purchaser", role="buyer", organisation=canteen)
    approver = factories.make_user("boss", role="buyer_approver", organisation=canteen)
    canteen.buyer_profile.manager_id = approver.id
    bees = factories.make_producer(places.yanling, name="鄢陵蜂业合作社")
    fentiao = factories.make_certified_product(producer_org, places.starch)
    honey = factories.make_certified_product(bees, places.bee, name="枣花蜜")
    farmer = producer
    beekeeper = factories.make_user("beekeeper", role="producer", organisation=bees)
    return Market(canteen, purchaser, approver, fentiao, honey, farmer, beekeeper)


def delivery(market, **overrides) -> dict:
    data = {"address_id": active_addresses(market.canteen)[0].id,
            "delivery_date": today() + timedelta(days=1), "window": "06:00-08:00",
            "invoice_title": "", "tax_number": "", "notes": ""}
    data.update(overrides)
    return data
