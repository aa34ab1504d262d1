"""Quality marks (绿色食品, 有机, 地理标志) need evidence and the county -> city review; until
approved they are not shown, counted by the search filter, or found by search."""

import io

import pytest

from marketplace.catalog.models import Product
from marketplace.certification.models import MarkClaim
from tests.factories import make_certified_product, make_producer, make_user
from tests.helpers import pdf_bytes, post_form
from tests.journeys import People, browser, decide, text

BADGE = '<span class="mark">有机</span>'


@pytest.fixture
def people(app, places, producer, officer, admin):
    return People(app)


@pytest.fixture
def product(producer_org, places):
    return make_certified_product(producer_org, places.starch, name="禹州粉条")


def claim(client, product_id: int, mark="organic", number="OF-2026-118899", document=True):
    data = {"mark": mark, "evidence_number": number, "evidence_valid_until": "2027-12-31"}
    if document:
        data["document"] = (io.BytesIO(pdf_bytes()), "有机产品认证证书.pdf")
    return post_form(client, f"/my/products/{product_id}/marks", data,
                     page=f"/my/products/{product_id}/edit", content_type="multipart/form-data")


def public_view(client, product_id: int) -> dict:
    """What a visitor sees of the mark: badge, search by its word, the filter and its count."""
    page = text(client.get(f"/products/{product_id}"))
    by_word = text(client.get("/search", query_string={"q": "有机"}))
    filtered = text(client.get("/search", query_string={"mark": "organic"}))
    everything = text(client.get("/search"))
    link = f'href="/products/{product_id}"'
    return {"badge": BADGE in page, "evidence": "OF-2026-118899" in page,
            "found_by_word": link in by_word, "filter": link in filtered,
            "counted": "有机 (1)" in everything}


NOT_SHOWN = {"badge": False, "evidence": False, "found_by_word": False, "filter": False,
             "counted": False}
SHOWN = dict.fromkeys(NOT_SHOWN, True)


def test_a_mark_is_public_only_between_city_approval_and_revocation(app, db, client, people,
                                                                    product):
    response = claim(people["farmer"], product.id)
    assert response.status_code == 302, text(response)
    mark = MarkClaim.query.one()
    path = f"/marks/{mark.id}"
    assert (mark.status, mark.evidence_number, mark.content_type) == (
        "submitted", "OF-2026-118899", "application/pdf")
    assert public_view(client, product.id) == NOT_SHOWN

    officer = people["officer"]
    assert 'value="county_pass"' in text(officer.get(path))
    with officer.get(f"{path}/document") as document:
        assert document.status_code == 200 and document.data.startswith(b"%PDF")
    assert decide(officer, path, "county_pass", "证书编号与文件一致").status_code == 302
    assert public_view(client, product.id) == NOT_SHOWN

    assert decide(people["admin"], path, "city_approve", "核验通过").status_code == 302
    assert public_view(client, product.id) == SHOWN

    assert decide(people["admin"], path, "revoke", "证书已过期").status_code == 302
    assert public_view(client, product.id) == NOT_SHOWN
    db.session.expire_all()
    assert db.session.get(Product, product.id).organic is False
    assert [e.action for e in mark_history(db, mark)] == [
        "mark.submitted", "mark.county_pass", "mark.city_approve", "mark.revoke"]


def mark_history(db, mark):
    from marketplace.audit.models import history_of

    return history_of(db.session.get(MarkClaim, mark.id))


def test_returned_or_rejected_claims_never_show(app, db, client, people, product):
    claim(people["farmer"], product.id)
    first = MarkClaim.query.one()
    assert decide(people["officer"], f"/marks/{first.id}", "county_return",
                  "文件模糊").status_code == 302
    assert public_view(client, product.id) == NOT_SHOWN
    assert claim(people["farmer"], product.id).status_code == 302  # a new claim may follow
    second = MarkClaim.query.filter_by(status="submitted").one()
    decide(people["officer"], f"/marks/{second.id}", "county_pass")
    decide(people["admin"], f"/marks/{second.id}", "city_reject", "证书编号查无此证")
    assert public_view(client, product.id) == NOT_SHOWN


def test_a_claim_needs_its_number_and_document(app, db, people, product):
    farmer = people["farmer"]
    without_document = farmer.get(claim(farmer, product.id, document=False).location)
    assert "请上传证明文件" in text(without_document)
    without_number = farmer.get(claim(farmer, product.id, number="").location)
    assert "标识证书编号" in text(without_number)
    assert MarkClaim.query.count() == 0


def test_another_countys_officer_cannot_review(app, db, people, product, other_officer):
    claim(people["farmer"], product.id)
    mark = MarkClaim.query.one()
    rival = people["officer2"]
    assert rival.get(f"/marks/{mark.id}").status_code == 403
    assert rival.get(f"/marks/{mark.id}/document").status_code == 403
    assert decide(rival, f"/marks/{mark.id}", "county_pass", "越权").status_code == 403
    db.session.expire_all()
    assert db.session.get(MarkClaim, mark.id).status == "submitted"


def test_another_producer_cannot_claim_for_my_product(app, db, places, people, product):
    rival_org = make_producer(places.yanling, name="鄢陵有机农场")
    make_user("rival", role="producer", organisation=rival_org)
    rival = browser(app, "rival")
    response = post_form(rival, f"/my/products/{product.id}/marks",
                         {"mark": "organic", "evidence_number": "OF-1",
                          "document": (io.BytesIO(pdf_bytes()), "x.pdf")},
                         page="/my/products", content_type="multipart/form-data")
    assert response.status_code == 403
    assert MarkClaim.query.count() == 0
    assert rival.get(f"/my/products/{product.id}/edit").status_code == 403
