"""The reviewed product is the listed product: approval checks the listing against what was
reviewed, the certificate keeps its own copy, and later price rises are bounded."""

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import text as sql

from marketplace.catalog.models import Product
from marketplace.certification import services
from marketplace.certification.models import Certificate, CertificationApplication
from marketplace.clock import today
from marketplace.extensions import db
from tests.factories import make_certified_product, make_product, product_data
from tests.journeys import People, apply, decide, edit_product, text


@pytest.fixture
def people(app, places, producer, officer, admin):
    app.config["CERT_NOTICE_DAYS"] = 0  # on sale the day the city approves
    return People(app)


def certify_over_http(people, product) -> Certificate:
    """Producer applies, county passes, city approves: the certificate issued."""
    assert apply(people["farmer"], product.id).status_code == 302
    application = db.session.scalar(db.select(CertificationApplication).where(
        CertificationApplication.product_id == product.id,
        CertificationApplication.status == "submitted"))
    path = f"/applications/{application.id}"
    assert decide(people["officer"], path, "county_pass").status_code == 302
    response = decide(people["admin"], path, "city_approve", "同意认定")
    assert response.status_code == 302, text(response)
    return application.certificate


def form_of(product: Product, **changes) -> dict:
    data = product_data(product.category, name=product.name,
                        specification=product.specification, origin=product.origin,
                        unit=product.unit, price_yuan=f"{product.price_fen / 100:.2f}")
    data.update(changes)
    return data


def test_approval_refused_when_the_listing_changed_after_review(app, db, people, places,
                                                                producer_org):
    """A change that slipped past the freeze (here written straight into the row, as a
    concurrent edit would) stops the approval with a message naming what changed."""
    product = make_product(producer_org, places.starch, name="平菇", price_fen=610)
    assert apply(people["farmer"], product.id).status_code == 302
    application = CertificationApplication.query.one()
    path = f"/applications/{application.id}"
    decide(people["officer"], path, "county_pass")
    db.session.execute(sql("UPDATE products SET name = '进口有机黑松露', price_fen = 98000 "
                           "WHERE id = :id"), {"id": product.id})
    db.session.commit()
    page = text(people["admin"].get(path))
    assert "与本申请审核的内容不一致" in page and "名称、价格" in page
    response = decide(people["admin"], path, "city_approve", "同意认定")
    assert response.status_code == 409
    assert "产品的名称、价格在申请提交后已变更" in text(response)
    db.session.expire_all()
    assert Certificate.query.count() == 0
    assert db.session.get(CertificationApplication, application.id).status == "county_passed"
    assert decide(people["admin"], path, "city_reject", "与审核内容不一致").status_code == 302


def test_the_certificate_keeps_what_was_reviewed_and_the_page_shows_it(app, db, client, people,
                                                                      places, producer_org):
    product = make_product(producer_org, places.starch, name="禹州粉条", price_fen=2850)
    certificate = certify_over_http(people, product)
    assert (certificate.certified_name, certificate.certified_specification,
            certificate.certified_origin, certificate.certified_unit,
            certificate.certified_category_id, certificate.certified_price_fen) == (
        "禹州粉条", "2.5公斤/袋", "禹州市方山镇", "袋", places.starch.id, 2850)
    # A price cut is always allowed; the certificate still says what was certified.
    response = edit_product(people["farmer"], product.id, form_of(product, price_yuan="25.00"))
    assert response.status_code == 302
    page = text(client.get(f"/products/{product.id}"))
    assert "认定产品" in page and "禹州粉条" in page and "2.5公斤/袋" in page
    assert "禹州市方山镇" in page and "¥28.50 / 袋" in page  # 认定价格
    assert "¥25.00 / 袋" in page  # the current price beside it
    assert certificate.number in page


def test_price_rise_beyond_the_margin_sends_the_product_back(app, db, client, people, places,
                                                             producer_org):
    """Certified at ¥6.10 with a 20% margin: up to ¥7.32 stays on sale; ¥7.33 suspends the
    certificate and opens a review of the new price; cuts never do."""
    assert app.config["CERT_PRICE_MARGIN_PERCENT"] == 20
    product = make_product(producer_org, places.starch, name="平菇", price_fen=610)
    certificate = certify_over_http(people, product)
    farmer = people["farmer"]
    for price in ("5.00", "7.32", "6.00", "7.32"):
        assert edit_product(farmer, product.id, form_of(product, price_yuan=price)).status_code == 302
        db.session.expire_all()
        assert certificate.status == "active" and product.is_on_sale(today()), price
        assert CertificationApplication.query.count() == 1, price
    admin_page = text(people["admin"].get(f"/admin/certificates/{certificate.id}"))
    assert "¥6.10 / 袋" in admin_page and "¥7.32 / 袋" in admin_page and "上浮 20%" in admin_page

    assert edit_product(farmer, product.id, form_of(product, price_yuan="7.33")).status_code == 302
    db.session.expire_all()
    assert certificate.status == "suspended" and not product.is_on_sale(today())
    review = CertificationApplication.query.filter_by(status="submitted").one()
    assert review.is_resubmission and review.price_fen == 733
    # The county officer reviewing the new price sees the certified one beside it.
    review_page = text(people["officer"].get(f"/applications/{review.id}"))
    assert "¥7.33 / 袋" in review_page and "上次认定" in review_page
    assert f"{certificate.number}（已暂停）" in review_page and "¥6.10 / 袋" in review_page
    assert "申报价格比上次认定高 20%" in review_page
    assert f'href="/products/{product.id}"' not in text(client.get("/products"))
    admin_page = text(people["admin"].get(f"/admin/certificates/{certificate.id}"))
    assert "¥6.10 / 袋" in admin_page and "¥7.33 / 袋" in admin_page and "已暂停" in admin_page


def test_margin_is_configuration(app, db, people, places, producer_org):
    app.config["CERT_PRICE_MARGIN_PERCENT"] = 5
    product = make_product(producer_org, places.starch, name="平菇", price_fen=1000)
    certificate = certify_over_http(people, product)
    edit_product(people["farmer"], product.id, form_of(product, price_yuan="10.60"))
    db.session.expire_all()
    assert certificate.status == "suspended"


def test_reinstating_a_certificate_whose_listing_changed_is_refused(app, db, people, places,
                                                                    producer_org):
    product = make_product(producer_org, places.starch, name="禹州粉条")
    certificate = certify_over_http(people, product)
    edit_product(people["farmer"], product.id, form_of(product, name="禹州精品粉条"))
    db.session.expire_all()
    assert certificate.status == "suspended"
    path = f"/admin/certificates/{certificate.id}"
    response = decide(people["admin"], path, "reinstate", "恢复")
    assert response.status_code == 409 and "与证书认定的内容不一致" in text(response)
    db.session.expire_all()
    assert certificate.status == "suspended" and not product.is_on_sale(today())


def test_reinstating_after_a_price_rise_beyond_the_margin_is_refused(app, db, people, places,
                                                                     producer_org):
    """The certificate certified a price too: reinstating it while the listing asks far more
    would put the inflated price on sale under the old certificate."""
    product = make_product(producer_org, places.starch, name="平菇", price_fen=610)
    certificate = certify_over_http(people, product)
    edit_product(people["farmer"], product.id, form_of(product, price_yuan="98.00"))
    db.session.expire_all()
    assert certificate.status == "suspended"
    path = f"/admin/certificates/{certificate.id}"
    response = decide(people["admin"], path, "reinstate", "恢复")
    assert response.status_code == 409, text(response)
    assert "产品现价 ¥98.00 超出认定价格 ¥6.10 允许的上限 ¥7.32" in text(response)
    db.session.expire_all()
    assert certificate.status == "suspended" and not product.is_on_sale(today())
    # Back within the margin (the resubmission withdrawn first), reinstating works.
    resubmission = CertificationApplication.query.filter_by(status="submitted").one()
    decide(people["farmer"], f"/applications/{resubmission.id}", "withdraw")
    edit_product(people["farmer"], product.id, form_of(product, price_yuan="6.50"))
    assert decide(people["admin"], path, "reinstate", "已恢复原价").status_code == 302
    db.session.expire_all()
    assert certificate.status == "active" and product.is_on_sale(today())


def test_an_approved_resubmission_supersedes_the_old_certificate(app, db, client, people,
                                                                  places, producer_org):
    product = make_product(producer_org, places.starch, name="禹州粉条")
    old = certify_over_http(people, product)
    edit_product(people["farmer"], product.id, form_of(product, name="禹州精品粉条"))
    review = CertificationApplication.query.filter_by(status="submitted").one()
    assert review.is_resubmission and review.product_name == "禹州精品粉条"
    path = f"/applications/{review.id}"
    assert decide(people["officer"], path, "county_pass").status_code == 302
    assert decide(people["admin"], path, "city_approve", "同意").status_code == 302
    db.session.expire_all()
    new = review.certificate
    assert old.status == "superseded" and new.status == "active" and new.number != old.number
    assert new.certified_name == "禹州精品粉条"
    assert product.live_certificate(today()) == new
    page = text(client.get(f"/products/{product.id}"))
    assert new.number in page and old.number not in page and "禹州精品粉条" in page


def test_certificate_numbers_never_collide_with_demo_numbers(app, db, people, places,
                                                             producer_org):
    """Numbers come from a counter, not from the largest number found (which was
    XNYP-2026-D0000293 on the demo data and made every approval fail)."""
    demo = make_certified_product(producer_org, places.starch, name="演示粉条")
    db.session.execute(sql("UPDATE certificates SET number = :n WHERE product_id = :p"),
                       {"n": f"XNYP-{today().year}-D0000293", "p": demo.id})
    db.session.commit()
    first = certify_over_http(people, make_product(producer_org, places.starch, name="粉皮"))
    second = certify_over_http(people, make_product(producer_org, places.starch, name="粉面"))
    assert first.number == f"XNYP-{today().year}-000002"  # the factory's took 000001
    assert second.number == f"XNYP-{today().year}-000003"


def test_two_approvals_at_once_draw_different_numbers(app, db, places, producer, producer_org,
                                                      officer, admin):
    """Two threads, each its own database connection, approve two applications together."""
    ids = []
    for name in ("粉条", "粉皮"):
        product = make_product(producer_org, places.starch, name=name)
        application = CertificationApplication(
            product_id=product.id, organisation_id=producer_org.id,
            county_id=producer_org.county_id, status="county_passed",
            product_name=product.name, specification=product.specification,
            origin=product.origin, price_fen=product.price_fen, unit=product.unit,
            category_id=product.category_id, annual_supply_capacity="50 吨",
            benefit_mechanism="务工")
        db.session.add(application)
        db.session.commit()
        ids.append(application.id)
    admin_id = admin.id
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(application_id):
        with app.app_context():
            try:
                actor = db.session.get(type(admin), admin_id)
                application = db.session.get(CertificationApplication, application_id)
                barrier.wait()
                outcomes.append(services.decide_application(actor, application, True, "ok").number)
            except Exception as exc:  # noqa: BLE001 - the assertion reports it
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    year = today().year
    assert sorted(outcomes) == [f"XNYP-{year}-000001", f"XNYP-{year}-000002"]


def test_numbers_restart_each_year(app, db, places, producer_org):
    app.config["FROZEN_TODAY"] = date(2031, 12, 31).isoformat()
    last = make_certified_product(producer_org, places.starch, issued_days_ago=0, name="甲")
    app.config["FROZEN_TODAY"] = (date(2031, 12, 31) + timedelta(days=1)).isoformat()
    first = make_certified_product(producer_org, places.starch, issued_days_ago=0, name="乙")
    assert last.certificates[0].number == "XNYP-2031-000001"
    assert first.certificates[0].number == "XNYP-2032-000001"
