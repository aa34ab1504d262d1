"""Listings: validation, ownership, what edits do to certification, what is on sale."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from marketplace.audit.models import history_of
from marketplace.catalog import services
from marketplace.catalog.models import Product
from marketplace.certification.models import CertificationApplication
from marketplace.certification.services import revoke_certificate, suspend_certificate
from marketplace.clock import today
from marketplace.errors import Invalid, InvalidTransition, NotAuthorized
from marketplace.organisations.services import suspend_organisation
from tests.factories import make_certified_product, make_producer, make_user, product_data


def catalogue_ids(**filters):
    return [p.id for p in services.browse_catalogue(**filters).items]


def test_price_entered_in_yuan_is_stored_in_fen(db, places, producer, producer_org):
    product = services.create_product(producer, producer_org, product_data(places.starch))
    assert product.price_fen == 2850
    assert product.min_order_qty == Decimal("2")


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"price_yuan": "-5"}, "price_yuan"),
        ({"price_yuan": "十元"}, "price_yuan"),
        ({"price_yuan": "1.005"}, "price_yuan"),
        ({"stock": "-1"}, "stock"),
        ({"min_order_qty": "0"}, "min_order_qty"),
        ({"min_order_qty": "abc"}, "min_order_qty"),
        ({"unit": "吨吨"}, "unit"),
        ({"category_id": 999}, "category_id"),
    ],
)
def test_bad_product_input_refused(db, places, producer, producer_org, overrides, field):
    with pytest.raises(Invalid) as exc:
        services.create_product(producer, producer_org, product_data(places.starch, **overrides))
    assert field in exc.value.errors
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Product.id))) == 0


def test_weighed_goods_keep_exact_decimals(db, places, producer, producer_org):
    product = services.create_product(
        producer, producer_org, product_data(places.starch, stock="12.345", min_order_qty="0.5"))
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == Decimal("12.345")


def test_producer_cannot_edit_another_organisations_product(db, places, producer_org):
    product = make_certified_product(producer_org, places.starch)
    rival_org = make_producer(places.yanling, name="鄢陵蜂业合作社")
    rival = make_user("rival", role="producer", organisation=rival_org)
    with pytest.raises(NotAuthorized):
        services.update_product(rival, product, product_data(places.starch, price_yuan="1"))
    with pytest.raises(NotAuthorized):
        services.archive_product(rival, product)
    db.session.rollback()
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.price_fen == 2850 and product.status == "active"


def test_price_and_stock_edits_are_recorded_but_keep_certificate(db, places, producer,
                                                                producer_org):
    from marketplace.catalog import stock

    product = make_certified_product(producer_org, places.starch)
    services.update_product(producer, product,
                            product_data(places.starch, price_yuan="30", stock="5"))
    assert product.stock == 100  # the edit form does not overwrite stock
    stock.adjust_stock(producer, product, "recount", "80", "月末盘点")
    assert product.is_on_sale(today()) and product.stock == 80
    reasons = {e.action: e.reason for e in history_of(product)}
    assert reasons["product.price_fen_changed"] == "28.50 → 30.00"
    assert reasons["product.stock_adjusted"] == "盘点 -20 → 80 月末盘点"


def test_renaming_certified_product_sends_it_back_for_review(db, places, producer, producer_org):
    product = make_certified_product(producer_org, places.starch)
    services.update_product(producer, product, product_data(places.starch, name="方山粉条"))
    assert not product.is_on_sale(today())
    assert product.certificates[0].status == "suspended"
    review = db.session.scalar(db.select(CertificationApplication).where(
        CertificationApplication.product_id == product.id,
        CertificationApplication.status == "submitted"))
    assert review.is_resubmission and review.product_name == "方山粉条"


def test_catalogue_shows_only_what_is_on_sale_today(db, app, places, producer_org, admin):
    on_sale = make_certified_product(producer_org, places.starch, name="在售粉条")
    in_notice = make_certified_product(producer_org, places.starch, issued_days_ago=2,
                                       name="公示中")
    expired = make_certified_product(producer_org, places.starch, issued_days_ago=400,
                                     name="过期")
    revoked = make_certified_product(producer_org, places.starch, name="撤销")
    suspended = make_certified_product(producer_org, places.starch, name="暂停")
    archived = make_certified_product(producer_org, places.starch, name="归档")
    revoke_certificate(admin, revoked.certificates[0], "抽检不合格")
    suspend_certificate(admin, suspended.certificates[0], "价格虚高")
    archived.status = "archived"
    db.session.commit()
    assert catalogue_ids() == [on_sale.id]
    # The same catalogue a week later: the notice period is over, without any job running.
    app.config["FROZEN_TODAY"] = (date.today() + timedelta(days=7)).isoformat()
    assert sorted(catalogue_ids()) == sorted([on_sale.id, in_notice.id])
    assert expired.id not in catalogue_ids()


def test_expiry_takes_product_off_sale_on_the_day(db, app, places, producer_org):
    product = make_certified_product(producer_org, places.starch)
    last_day = product.certificates[0].valid_until
    app.config["FROZEN_TODAY"] = last_day.isoformat()
    assert catalogue_ids() == [product.id]
    app.config["FROZEN_TODAY"] = (last_day + timedelta(days=1)).isoformat()
    assert catalogue_ids() == []


def test_suspended_producer_disappears(db, places, producer_org, admin):
    make_certified_product(producer_org, places.starch)
    suspend_organisation(admin, producer_org, "违规")
    assert catalogue_ids() == []


def test_filters_by_county_and_category(db, places, producer_org):
    yuzhou = make_certified_product(producer_org, places.starch)
    yanling_org = make_producer(places.yanling, name="鄢陵蜂业合作社")
    honey = make_certified_product(yanling_org, places.bee, name="枣花蜜")
    assert catalogue_ids(county_id=places.yanling.id) == [honey.id]
    assert catalogue_ids(category_id=places.starch.id) == [yuzhou.id]
    assert catalogue_ids(county_id=places.yanling.id, category_id=places.starch.id) == []


def test_archive_twice_is_refused(db, places, producer, producer_org):
    product = make_certified_product(producer_org, places.starch)
    services.archive_product(producer, product)
    with pytest.raises(InvalidTransition):
        services.archive_product(producer, product)
