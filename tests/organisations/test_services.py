"""Producer organisations: creation rules and the county -> city verification chain."""

import pytest

from marketplace.audit.models import AuditEvent, history_of
from marketplace.errors import Invalid, InvalidTransition, NotAuthorized
from marketplace.organisations import services
from marketplace.organisations.models import Organisation
from tests.factories import credit_code, make_producer, make_user


def org_data(places, **overrides):
    data = {
        "org_type": "cooperative", "name": "禹州市方山红薯专业合作社",
        "credit_code": credit_code(901), "legal_representative": "李秀英",
        "contact_name": "李秀英", "contact_phone": "0374-8123456",
        "county_id": places.yuzhou.id, "township_id": places.fangshan.id,
        "village_id": places.village.id, "address": "方山镇李庄村",
        "benefit_types": ["wages", "purchase_contracts"], "poor_households": 23,
        "benefit_description": "带动 23 户脱贫户", "description": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def newcomer(places):
    return make_user("newcomer", role="producer")


def test_producer_creates_and_joins_organisation(db, places, newcomer):
    org = services.create_organisation(newcomer, org_data(places))
    assert org.status == "draft"
    assert newcomer.organisation_id == org.id
    assert org.benefit_types == "purchase_contracts,wages"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"credit_code": "91350100M000100Y44"}, "credit_code"),  # wrong check character
        ({"credit_code": "12345"}, "credit_code"),
        ({"poor_households": -3}, "poor_households"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(db, places, newcomer, overrides, field):
    with pytest.raises(Invalid) as exc:
        services.create_organisation(newcomer, org_data(places, **overrides))
    assert field in exc.value.errors
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Organisation.id))) == 0


def test_township_must_belong_to_county(db, places, newcomer):
    with pytest.raises(Invalid) as exc:
        services.create_organisation(newcomer, org_data(places, township_id=places.taocheng.id,
                                                        village_id=None))
    assert "township_id" in exc.value.errors


def test_duplicate_credit_code_refused(db, places, newcomer, producer_org):
    with pytest.raises(Invalid) as exc:
        services.create_organisation(newcomer, org_data(places, credit_code=producer_org.credit_code))
    assert "credit_code" in exc.value.errors


def test_verification_chain_records_who_and_why(db, places, newcomer, officer, admin):
    org = services.create_organisation(newcomer, org_data(places))
    services.submit_organisation(newcomer, org)
    services.review_organisation(officer, org, True, "材料齐全")
    services.decide_organisation(admin, org, True, "核验通过")
    assert org.status == "verified"
    steps = [(e.actor_id, e.to_status, e.reason) for e in history_of(org)][-3:]
    assert steps == [(newcomer.id, "submitted", ""), (officer.id, "county_passed", "材料齐全"),
                     (admin.id, "verified", "核验通过")]


def test_officer_of_another_county_cannot_review(db, places, newcomer, other_officer):
    org = services.create_organisation(newcomer, org_data(places))
    services.submit_organisation(newcomer, org)
    with pytest.raises(NotAuthorized):
        services.review_organisation(other_officer, org, True, "ok")
    assert org.status == "submitted"


def test_city_cannot_verify_before_county(db, places, newcomer, admin):
    org = services.create_organisation(newcomer, org_data(places))
    services.submit_organisation(newcomer, org)
    with pytest.raises(InvalidTransition):
        services.decide_organisation(admin, org, True, "skip county")
    assert org.status == "submitted"


def test_returning_needs_a_reason(db, places, newcomer, officer):
    org = services.create_organisation(newcomer, org_data(places))
    services.submit_organisation(newcomer, org)
    with pytest.raises(Invalid):
        services.review_organisation(officer, org, False, "  ")
    assert org.status == "submitted"


def test_verified_organisation_cannot_change_its_identity(db, places, producer_org, producer):
    data = org_data(places, credit_code=producer_org.credit_code, name="别的名字")
    with pytest.raises(Invalid) as exc:
        services.update_organisation(producer, producer_org, data)
    assert "name" in exc.value.errors
    db.session.rollback()
    assert db.session.get(Organisation, producer_org.id).name == "禹州方山粉条合作社"


def test_audit_events_cannot_be_edited(db, places, newcomer):
    org = services.create_organisation(newcomer, org_data(places))
    event = history_of(org)[0]
    event.reason = "rewritten"
    with pytest.raises(RuntimeError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).reason == ""


def test_suspending_a_producer(db, places, producer_org, admin):
    services.suspend_organisation(admin, producer_org, "抽检不合格")
    assert producer_org.status == "suspended"
    services.reinstate_organisation(admin, producer_org, "整改完成")
    assert producer_org.status == "verified"


def test_other_producer_member_cannot_edit(db, places, producer_org):
    rival_org = make_producer(places.yanling, name="鄢陵花木合作社")
    rival = make_user("rival", role="producer", organisation=rival_org)
    with pytest.raises(NotAuthorized):
        services.update_organisation(rival, producer_org, org_data(places))


def test_database_refuses_to_rewrite_the_audit_log(db, places, newcomer):
    """Even SQL that bypasses the application cannot edit or delete an audit event."""
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    org = services.create_organisation(newcomer, org_data(places))
    event_id = history_of(org)[0].id
    for statement in ("UPDATE audit_events SET reason = 'x' WHERE id = :id",
                      "DELETE FROM audit_events WHERE id = :id"):
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement), {"id": event_id})
        db.session.rollback()
    assert db.session.get(AuditEvent, event_id).reason == ""
