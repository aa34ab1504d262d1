"""The permission table on its own."""

from types import SimpleNamespace

from marketplace.permissions import can


def user(role, organisation_id=None, county_id=None):
    return SimpleNamespace(role=role, organisation_id=organisation_id, county_id=county_id,
                           is_authenticated=True, is_active=True)


ORG = SimpleNamespace(id=1, county_id=10, kind="producer")
OTHER_ORG = SimpleNamespace(id=2, county_id=20, kind="producer")
PRODUCT = SimpleNamespace(organisation=ORG)
APPLICATION = SimpleNamespace(organisation=ORG, county_id=10)
ANONYMOUS = SimpleNamespace(is_authenticated=False, is_active=False, role=None,
                            organisation_id=None, county_id=None)


def test_producer_edits_only_own_products():
    assert can("product.edit", user("producer", 1), PRODUCT)
    assert not can("product.edit", user("producer", 2), PRODUCT)
    assert not can("product.edit", user("buyer", 1), PRODUCT)
    assert not can("product.edit", ANONYMOUS, PRODUCT)


def test_county_officer_reviews_only_own_county():
    assert can("application.county_review", user("county_officer", county_id=10), APPLICATION)
    assert not can("application.county_review", user("county_officer", county_id=20), APPLICATION)
    assert not can("application.county_review", user("admin"), APPLICATION)
    assert can("organisation.county_review", user("county_officer", county_id=20), OTHER_ORG)


def test_city_decisions_are_the_administrators():
    assert can("application.city_decide", user("admin"), APPLICATION)
    assert not can("application.city_decide", user("county_officer", county_id=10), APPLICATION)
    assert can("certificate.manage", user("admin"))
    assert not can("certificate.manage", user("producer", 1))


def test_who_reads_an_application():
    assert can("application.read", user("producer", 1), APPLICATION)
    assert not can("application.read", user("producer", 2), APPLICATION)
    assert can("application.read", user("county_officer", county_id=10), APPLICATION)
    assert not can("application.read", user("county_officer", county_id=20), APPLICATION)


def test_inactive_user_can_do_nothing():
    blocked = user("admin")
    blocked.is_active = False
    assert not can("user.manage", blocked)
