"""Ids no integer column can hold, typed into the token and reference-price forms, are
refused with a message (the hostile walk found both answering 500)."""

import pytest

from marketplace.errors import Invalid
from marketplace.reports import manage
from marketplace.reports.models import ApiToken, ReferencePrice

HUGE = 10**20  # what a 20-digit number in the form becomes


@pytest.mark.parametrize("value", [HUGE, 2**31, -1, 0])
def test_a_reference_price_for_a_category_that_cannot_exist_is_refused(db, admin, value):
    with pytest.raises(Invalid) as refused:
        manage.set_reference_price(admin, value, "袋", "30.00")
    assert "category_id" in refused.value.errors
    assert ReferencePrice.query.count() == 0


@pytest.mark.parametrize(("scope", "field"), [("county", "county_id"),
                                              ("organisation", "organisation_id")])
def test_a_token_for_a_county_or_organisation_that_cannot_exist_is_refused(db, admin, scope,
                                                                           field):
    ids = {"county_id": None, "organisation_id": None, field: HUGE}
    with pytest.raises(Invalid) as refused:
        manage.issue_token(admin, "对接", scope, **ids)
    assert field in refused.value.errors
    assert ApiToken.query.count() == 0


def test_deleting_a_reference_price_that_cannot_exist_is_not_found(db, admin):
    from marketplace.errors import NotFound

    with pytest.raises(NotFound):
        manage.delete_reference_price(admin, HUGE)


def test_the_forms_answer_400_with_the_message(db, admin, client, places):
    from tests.helpers import login, post_form

    login(client, admin.username)
    page = "/reports/tokens"
    response = post_form(client, page, {"name": "对接", "scope": "county",
                                        "county_id": "9" * 20, "organisation_id": ""})
    assert response.status_code == 400 and "请选择县区" in response.get_data(as_text=True)
    response = post_form(client, "/reports/reference-prices",
                         {"category_id": "9" * 20, "unit": "袋", "price_yuan": "30.00",
                          "note": ""})
    assert response.status_code == 400 and "请选择品类" in response.get_data(as_text=True)
