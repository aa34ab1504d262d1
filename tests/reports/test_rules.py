"""The report rules of the permission table, the token principal, periods, and the commands."""

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from marketplace.errors import Invalid
from marketplace.extensions import db
from marketplace.permissions import can
from marketplace.reports.manage import ApiClient
from marketplace.reports.models import SalesRollup
from marketplace.reports.periods import Period, period_from_args


def user(role, organisation_id=None, county_id=None):
    return SimpleNamespace(role=role, organisation_id=organisation_id, county_id=county_id,
                           is_authenticated=True, is_active=True, id=7)


COUNTY = SimpleNamespace(id=10)
OTHER_COUNTY = SimpleNamespace(id=20)
PRODUCER = SimpleNamespace(id=1, county_id=10, kind="producer")
BUYER = SimpleNamespace(id=2, county_id=10, kind="buyer")


def test_the_city_reads_all_a_county_its_own_an_organisation_its_own():
    admin, officer = user("admin"), user("county_officer", county_id=10)
    assert can("reports.city", admin) and not can("reports.city", officer)
    assert can("reports.county", officer, COUNTY)
    assert not can("reports.county", officer, OTHER_COUNTY)
    assert can("reports.producer", user("producer", 1), PRODUCER)
    assert not can("reports.producer", user("producer", 3), PRODUCER)
    assert not can("reports.producer", officer, PRODUCER)  # the county page, not the producer's
    assert can("reports.buyer", user("buyer", 2), BUYER)
    assert not can("reports.buyer", user("producer", 2), BUYER)
    assert can("reports.manage", admin) and not can("reports.manage", officer)


def test_a_token_principal_reads_its_scope_and_nothing_else():
    city = ApiClient(1, "city", None, "省平台")
    county = ApiClient(2, "county", 10, "禹州")
    org = ApiClient(3, "organisation", 1, "合作社")
    assert can("reports.city", city) and can("reports.county", city, OTHER_COUNTY)
    assert can("reports.county", county, COUNTY)
    assert not can("reports.county", county, OTHER_COUNTY)
    assert not can("reports.city", county)
    assert can("reports.producer", org, PRODUCER) and not can("reports.city", org)
    assert not can("reports.buyer", org, BUYER)
    for rule in ("user.manage", "reports.manage", "audit.read", "certificate.manage"):
        assert not can(rule, city), rule


def test_periods_and_their_previous(app):
    with app.test_request_context("/?period=month&year=2025&month=3"):
        month = period_from_args()
    assert (month.start, month.end) == (date(2025, 3, 1), date(2025, 3, 31))
    assert month.previous() == Period("month", date(2025, 2, 1), date(2025, 2, 28))
    with app.test_request_context("/?period=quarter&year=2025&quarter=1"):
        q1 = period_from_args()
    assert q1.previous() == Period("quarter", date(2024, 10, 1), date(2024, 12, 31))
    custom = Period("custom", date(2025, 3, 11), date(2025, 3, 20))
    assert custom.previous() == Period("custom", date(2025, 3, 1), date(2025, 3, 10))
    with app.test_request_context("/?period=custom&start=2025-03-01&end=2025-02-01"), \
            pytest.raises(Invalid):
        period_from_args()


def test_the_rebuild_and_check_commands(world):
    runner = world.app.test_cli_runner()
    assert runner.invoke(args=["reports", "check"]).exit_code == 0
    row = db.session.scalars(select(SalesRollup)).first()
    row.amount_fen += 100
    db.session.commit()
    result = runner.invoke(args=["reports", "check"])
    assert result.exit_code == 1 and "differ" in result.output
    result = runner.invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0 and "Rebuilt" in result.output
    assert runner.invoke(args=["reports", "check"]).exit_code == 0
