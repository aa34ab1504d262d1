"""Each test-client request runs in its own context, as requests to a real server do.

When the fixture's application context was shared by every request of a test, flask.g
carried over from one request to the next: a client without cookies was served as the user
another client had logged in, and after one CSRF-checked POST a form skipped its own token
check. Tests of login and CSRF passed while the product could be broken.
"""

import io

from marketplace.catalog.models import Product
from marketplace.certification.models import CertificationApplication
from marketplace.extensions import csrf
from tests.factories import make_product
from tests.helpers import login, pdf_bytes, post_form

DECIDE_VIEW = "marketplace.certification.views.decide_application"


def test_a_client_without_cookies_is_sent_to_the_login_page(app, client, producer):
    login(client, "farmer")
    assert client.get("/my/products").status_code == 200
    stranger = app.test_client()
    response = stranger.get("/my/products")
    assert response.status_code == 302 and "/login" in response.location
    assert client.get("/my/products").status_code == 200  # the first client is still in


def test_a_second_post_without_a_token_is_refused(db, client, places, producer):
    login(client, "farmer")  # a POST whose token was checked
    response = client.post("/my/products/new", data={"name": "无令牌", "price_yuan": "1"})
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Product.id))) == 0


def test_a_form_checks_its_own_token_after_a_checked_post(client, places, producer,
                                                          producer_org, officer):
    """With the view-level check off for one view, the form's own check still stands."""
    product = make_product(producer_org, places.starch)
    login(client, "farmer")
    post_form(client, f"/my/products/{product.id}/apply",
              {"annual_supply_capacity": "50 吨", "benefit_mechanism": "务工",
               "test_report": (io.BytesIO(pdf_bytes()), "r.pdf")},
              content_type="multipart/form-data")
    application = CertificationApplication.query.one()
    officer_client = client.application.test_client()
    login(officer_client, "officer")  # a checked POST just before
    exempt_before = set(csrf._exempt_views)  # the extension is shared: restore it exactly
    csrf.exempt(DECIDE_VIEW)
    try:
        response = officer_client.post(f"/applications/{application.id}/decide",
                                       data={"event": "county_pass", "reason": "越过令牌"})
    finally:
        csrf._exempt_views.clear()
        csrf._exempt_views.update(exempt_before)
    assert response.status_code == 302  # the form refused: back to the page, nothing done
    assert CertificationApplication.query.one().status == "submitted"
