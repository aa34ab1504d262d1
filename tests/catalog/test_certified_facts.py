"""What reviewers judge cannot change under them: a listing in review is frozen, and a
producer cannot give a listing a quality mark by ticking a box."""

import pytest

from marketplace.catalog import services
from marketplace.catalog.models import Category, Product
from marketplace.certification.models import Certificate, CertificationApplication
from tests.factories import make_certified_product, product_data
from tests.helpers import post_form
from tests.journeys import People, apply, decide, edit_product, text

OYSTER = {"name": "平菇", "specification": "鲜品，一级", "origin": "许昌市禹州市方山镇",
          "unit": "斤", "price_yuan": "6.10"}
TRUFFLE = {"name": "进口有机黑松露", "specification": "特级，整颗", "origin": "法国",
           "unit": "盒", "price_yuan": "980"}
FROZEN_MESSAGE = "认定申请审核期间，名称、规格、产地、单位、品类和价格不能修改"


@pytest.fixture
def fungi(db, places):
    category = Category(code="fungi", name="食用菌", position=3)
    db.session.add(category)
    db.session.commit()
    return category


@pytest.fixture
def people(app, producer):
    return People(app)


@pytest.fixture
def oyster(db, fungi, people, producer, producer_org):
    """平菇 at ¥6.10/斤 with a certification application waiting for the county."""
    product = services.create_product(producer, producer_org, product_data(fungi, **OYSTER))
    assert apply(people["farmer"], product.id).status_code == 302
    return product


def form_of(product: Product, **changes) -> dict:
    data = product_data(product.category, name=product.name,
                        specification=product.specification, origin=product.origin,
                        unit=product.unit, price_yuan=f"{product.price_fen / 100:.2f}",
                        stock="100")
    data.update(changes)
    return data


def reread(db, product) -> Product:
    db.session.expire_all()
    return db.session.get(Product, product.id)


def test_renaming_a_pending_oyster_mushroom_into_a_truffle_is_refused(db, people, oyster, officer,
                                                                      admin):
    """The issue's case: 平菇 ¥6.10/斤 renamed to 进口有机黑松露 from 法国 at ¥980/盒 while in
    review. The edit is refused with a message, nothing changes, and the certificate the city
    then issues is for 平菇 at ¥6.10/斤."""
    response = edit_product(people["farmer"], oyster.id, form_of(oyster, **TRUFFLE))
    assert response.status_code == 200 and FROZEN_MESSAGE in text(response)
    assert 'value="进口有机黑松露"' in text(response)  # what was typed is kept on the form
    product = reread(db, oyster)
    assert (product.name, product.specification, product.origin, product.unit,
            product.price_fen) == ("平菇", "鲜品，一级", "许昌市禹州市方山镇", "斤", 610)

    application = CertificationApplication.query.one()
    path = f"/applications/{application.id}"
    assert decide(people["officer"], path, "county_pass").status_code == 302
    assert decide(people["admin"], path, "city_approve").status_code == 302
    certificate = Certificate.query.one()
    assert (certificate.certified_name, certificate.certified_origin, certificate.certified_unit,
            certificate.certified_price_fen) == ("平菇", "许昌市禹州市方山镇", "斤", 610)


def test_each_reviewed_fact_is_frozen_while_in_review(db, people, oyster, fungi, places):
    farmer = people["farmer"]
    reviewed = {"name": "平菇", "specification": "鲜品，一级", "origin": "许昌市禹州市方山镇",
                "unit": "斤", "category_id": fungi.id}
    for field, value in [("name", "香菇"), ("specification", "干品"), ("origin", "许昌市鄢陵县"),
                         ("unit", "箱"), ("price_yuan", "6.20"), ("price_yuan", "5.00"),
                         ("category_id", places.starch.id)]:
        response = edit_product(farmer, oyster.id, form_of(oyster, **{field: value}))
        assert response.status_code == 200 and FROZEN_MESSAGE in text(response), field
        product = reread(db, oyster)
        assert (product.facts(), product.price_fen) == (reviewed, 610), field


def test_stock_and_description_may_change_while_in_review(db, people, oyster):
    response = edit_product(people["farmer"], oyster.id,
                            form_of(oyster, description="今早采摘"))
    assert response.status_code == 302
    recount = post_form(people["farmer"], f"/my/products/{oyster.id}/stock",
                        {"reason": "recount", "quantity": "35.5", "note": "早盘"},
                        page=f"/my/products/{oyster.id}/edit")
    assert recount.status_code == 302
    product = reread(db, oyster)
    assert str(product.stock) == "35.500" and product.description == "今早采摘"


def test_after_withdrawing_the_application_the_listing_can_change(db, people, oyster):
    farmer = people["farmer"]
    application = CertificationApplication.query.one()
    assert decide(farmer, f"/applications/{application.id}", "withdraw").status_code == 302
    assert edit_product(farmer, oyster.id, form_of(oyster, price_yuan="6.50")).status_code == 302
    assert reread(db, oyster).price_fen == 650


def test_a_producer_cannot_tick_a_quality_mark(client, db, people, places, producer_org):
    """The mark switches are gone from the form; posting them changes nothing."""
    product = make_certified_product(producer_org, places.starch)
    farmer = people["farmer"]
    form_page = text(farmer.get(f"/my/products/{product.id}/edit"))
    for mark in ("green_food", "organic", "geo_indication"):
        assert f'name="{mark}"' not in form_page
    response = edit_product(farmer, product.id, form_of(
        product, green_food="y", organic="y", geo_indication="y", description="有机种植"))
    assert response.status_code == 302
    product = reread(db, product)
    assert (product.green_food, product.organic, product.geo_indication) == (False, False, False)
    assert product.marks == []
    page = text(client.get(f"/products/{product.id}"))
    assert '<span class="mark">有机</span>' not in page
    assert '<span class="mark">绿色食品</span>' not in page
