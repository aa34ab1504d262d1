"""Farmer-linkage figures (联农带农) of a verified producer change only after county review:
they feed the city's 带农增收 figures."""

import re

import pytest

from marketplace.organisations.models import LinkageChange, Organisation
from tests.helpers import post_form
from tests.journeys import People, decide, text


@pytest.fixture
def people(app, db, places, producer, producer_org, officer):
    producer_org.poor_households = 35
    db.session.commit()
    return People(app)


def organisation_form(org: Organisation, **changes) -> dict:
    data = {"org_type": org.org_type, "name": org.name, "credit_code": org.credit_code,
            "legal_representative": org.legal_representative, "contact_name": "",
            "contact_phone": org.contact_phone, "county_id": org.county_id,
            "township_id": org.township_id, "village_id": "", "address": "",
            "benefit_types": org.benefit_types.split(","), "poor_households": org.poor_households,
            "benefit_description": org.benefit_description, "description": ""}
    data.update(changes)
    return data


def public_households(client, org_id: int) -> tuple[str, str]:
    """(the producer's public page figure, the home page's 带动脱贫户 figure)."""
    page = text(client.get(f"/producers/{org_id}"))
    home = text(client.get("/"))
    producer = re.search(r"带动脱贫户数</dt><dd>(\d+)</dd>", page).group(1)
    total = re.search(r"<strong>(\d+)</strong>带动脱贫户", home).group(1)
    return producer, total


def propose(client, org, households: int, description="新签订单收购协议"):
    return post_form(client, "/my/organisation", organisation_form(
        org, poor_households=str(households), benefit_description=description))


def test_new_household_figures_wait_for_the_county(app, db, client, people, producer_org,
                                                  other_officer):
    farmer, officer = people["farmer"], people["officer"]
    assert public_households(client, producer_org.id) == ("35", "35")

    response = propose(farmer, producer_org, 5000)
    assert response.status_code == 302
    assert "已提交县级审核" in text(farmer.get(response.location))
    change = LinkageChange.query.one()
    assert (change.previous_poor_households, change.poor_households) == (35, 5000)
    assert public_households(client, producer_org.id) == ("35", "35")
    assert "35 → 5000" in text(farmer.get("/my/organisation"))

    # Only one change at a time.
    again = propose(farmer, producer_org, 6000)
    assert again.status_code == 200 and "还在县级审核中" in text(again)
    assert LinkageChange.query.count() == 1

    # Another county's officer can neither see nor decide it.
    path = f"/linkage-changes/{change.id}"
    assert people["officer2"].get(path).status_code == 403
    assert decide(people["officer2"], path, "county_approve", "越权").status_code == 403

    # Returned: the reviewed figures stay.
    assert "5000" in text(officer.get("/review"))
    assert decide(officer, path, "county_return", "请提供务工名册").status_code == 302
    db.session.expire_all()
    assert db.session.get(Organisation, producer_org.id).poor_households == 35
    assert public_households(client, producer_org.id) == ("35", "35")

    # Proposed again with evidence, approved: now public.
    assert propose(farmer, producer_org, 50, "附务工名册 50 户").status_code == 302
    second = LinkageChange.query.filter_by(status="submitted").one()
    assert decide(officer, f"/linkage-changes/{second.id}", "county_approve",
                  "名册核实无误").status_code == 302
    db.session.expire_all()
    org = db.session.get(Organisation, producer_org.id)
    assert (org.poor_households, org.benefit_description) == (50, "附务工名册 50 户")
    assert public_households(client, producer_org.id) == ("50", "50")


def test_other_edits_of_a_verified_producer_apply_at_once(app, db, people, producer_org):
    response = post_form(people["farmer"], "/my/organisation",
                         organisation_form(producer_org, contact_phone="0374-6543210"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organisation, producer_org.id).contact_phone == "0374-6543210"
    assert LinkageChange.query.count() == 0


def test_the_producer_may_withdraw_a_pending_change(app, db, people, producer_org):
    propose(people["farmer"], producer_org, 5000)
    change = LinkageChange.query.one()
    assert decide(people["farmer"], f"/linkage-changes/{change.id}", "withdraw").status_code == 302
    db.session.expire_all()
    assert change.status == "withdrawn"
    assert propose(people["farmer"], producer_org, 40).status_code == 302
    assert LinkageChange.query.filter_by(status="submitted").count() == 1
