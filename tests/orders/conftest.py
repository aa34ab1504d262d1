"""A canteen with a purchaser and an approver, and two producers with certified products."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from marketplace.accounts.models import User
from marketplace.buyers.services import active_addresses
from marketplace.clock import today
from marketplace.extensions import db
from tests import factories

# A real password hash of the test password, computed once and cheap to check: the order
# tests log many people in, and each scrypt hash costs a noticeable fraction of a second.
QUICK_HASH = generate_password_hash(factories.PASSWORD, method="pbkdf2:sha256:1000")


def person(username: str, *, role: str, organisation) -> User:
    """A member of `organisation` who logs in with the usual test password."""
    user = User(username=username, display_name=f"{username} 姓名", role=role,
                organisation_id=organisation.id, password_hash=QUICK_HASH)
    db.session.add(user)
    db.session.commit()
    return user


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
    purchaser = person("purchaser", role="buyer", organisation=canteen)
    approver = person("boss", role="buyer_approver", organisation=canteen)
    canteen.buyer_profile.manager_id = approver.id
    bees = factories.make_producer(places.yanling, name="鄢陵蜂业合作社")
    fentiao = factories.make_certified_product(producer_org, places.starch)
    honey = factories.make_certified_product(bees, places.bee, name="枣花蜜")
    farmer = producer
    beekeeper = person("beekeeper", role="producer", organisation=bees)
    return Market(canteen, purchaser, approver, fentiao, honey, farmer, beekeeper)


def delivery(market, **overrides) -> dict:
    data = {"address_id": active_addresses(market.canteen)[0].id,
            "delivery_date": today() + timedelta(days=1), "window": "06:00-08:00",
            "invoice_title": "", "tax_number": "", "notes": ""}
    data.update(overrides)
    return data
