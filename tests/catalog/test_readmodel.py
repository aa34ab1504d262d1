"""The catalogue's read model: derived, in step with every commit, right on every day."""

from datetime import timedelta

from marketplace.catalog import readmodel
from marketplace.catalog import services as catalog
from marketplace.catalog.availability import on_sale_products
from marketplace.catalog.readmodel import CatalogueEntry
from marketplace.certification import services as certification
from marketplace.clock import today
from marketplace.organisations import services as organisations
from tests.factories import make_certified_product, make_producer, make_user


def shown(**filters) -> list[int]:
    page = catalog.browse_catalogue(per_page=1000, **filters)
    return [p.id for p in page.items]


def truth(db, county_id=None, category_id=None) -> list[int]:
    from marketplace.catalog.models import Product
    from marketplace.organisations.models import Organisation

    query = on_sale_products(today()).order_by(Product.id.desc())
    if county_id:
        query = query.where(Organisation.county_id == county_id)
    if category_id:
        query = query.where(Product.category_id == category_id)
    return list(db.session.scalars(query.with_only_columns(Product.id)))


def test_every_change_reaches_the_catalogue_with_its_commit(db, places, producer_org, producer,
                                                            admin):
    fentiao = make_certified_product(producer_org, places.starch)
    honey = make_certified_product(producer_org, places.bee, name="枣花蜜")
    assert shown() == [honey.id, fentiao.id]
    catalog.archive_product(producer, fentiao)
    assert shown() == [honey.id]
    catalog.restore_product(producer, fentiao)
    certification.revoke_certificate(admin, honey.certificates[0], "抽检不合格")
    assert shown() == [fentiao.id]
    organisations.suspend_organisation(admin, producer_org, "停业整顿")
    assert shown() == []
    organisations.reinstate_organisation(admin, producer_org, "整改完成")
    assert shown() == [fentiao.id] == truth(db)
    assert readmodel.check(db.session, today()).ok


def test_a_certificate_window_opens_and_closes_on_its_day_without_a_commit(app, db, places,
                                                                          producer_org):
    in_notice = make_certified_product(producer_org, places.starch, issued_days_ago=2)
    assert in_notice.id not in shown()
    certificate = in_notice.certificates[0]
    app.config["FROZEN_TODAY"] = certificate.valid_from.isoformat()
    assert in_notice.id in shown()
    app.config["FROZEN_TODAY"] = (certificate.valid_until + timedelta(days=1)).isoformat()
    assert in_notice.id not in shown()
    app.config["FROZEN_TODAY"] = None


def test_pages_and_filters_agree_with_a_plain_query(db, places, producer_org):
    other = make_producer(places.yanling, name="鄢陵蜂业合作社")
    for i in range(7):
        make_certified_product(producer_org if i % 2 else other,
                               places.starch if i % 3 else places.bee, name=f"产品{i}")
    for filters in ({}, {"county_id": places.yuzhou.id}, {"category_id": places.bee.id},
                    {"county_id": places.yanling.id, "category_id": places.starch.id}):
        expected = truth(db, **filters)
        pages = [p.id for n in (1, 2, 3, 4)
                 for p in catalog.browse_catalogue(page=n, per_page=2, **filters).items]
        assert pages == expected, filters
        assert catalog.browse_catalogue(per_page=2, **filters).total == len(expected)
    assert catalog.browse_catalogue(page=50, per_page=2).items == []


def test_check_finds_a_tampered_read_model_and_rebuild_repairs_it(app, db, places, producer_org):
    product = make_certified_product(producer_org, places.starch)
    db.session.execute(db.delete(CatalogueEntry).where(CatalogueEntry.product_id == product.id))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["catalogue", "check"])
    assert result.exit_code == 1 and "missing 1" in result.output
    assert runner.invoke(args=["catalogue", "rebuild"]).exit_code == 0
    assert runner.invoke(args=["catalogue", "check"]).exit_code == 0
    assert shown() == [product.id]


def test_a_commit_made_elsewhere_is_seen_through_the_version(db, places, producer_org):
    """Another worker or host changed the catalogue: the version moves, this cache follows."""
    from sqlalchemy.orm import Session

    product = make_certified_product(producer_org, places.starch)
    assert shown() == [product.id]
    with Session(bind=db.engine) as elsewhere:  # rows changed without bumping the version
        elsewhere.execute(db.delete(CatalogueEntry))
        elsewhere.commit()
    assert shown() == [product.id]  # this worker's cache still stands (nothing said it moved)
    with Session(bind=db.engine) as elsewhere:
        elsewhere.execute(db.update(readmodel.Counter).where(
            readmodel.Counter.name == readmodel.VERSION).values(value=readmodel.Counter.value + 1))
        elsewhere.commit()
    assert shown() == []  # the version moved: the cache was rebuilt from the entries


def test_buyers_see_the_product_they_open_is_still_on_sale(db, places, producer_org, producer,
                                                           client):
    product = make_certified_product(producer_org, places.starch)
    make_user("visitor2", role="producer", organisation=make_producer(places.yanling,
                                                                        name="鄢陵某合作社"))
    assert f"/products/{product.id}" in client.get("/products").get_data(as_text=True)
    catalog.archive_product(producer, product)
    assert f"/products/{product.id}" not in client.get("/products").get_data(as_text=True)
    assert f"/products/{product.id}" not in client.get("/").get_data(as_text=True)


def test_a_certificate_issued_after_its_product_was_loaded_is_seen(app, db, places, producer_org,
                                                                   producer, officer, admin):
    """The approval reads product.certificates before adding the new one (same session)."""
    import io

    from werkzeug.datastructures import FileStorage

    from marketplace.catalog.models import Product
    from tests.factories import make_product
    from tests.helpers import pdf_bytes

    product = make_product(producer_org, places.starch)
    application = certification.apply_for_certification(
        producer, product, {"annual_supply_capacity": "5 吨", "benefit_mechanism": "务工"},
        [("test_report", FileStorage(io.BytesIO(pdf_bytes()), filename="r.pdf"))])
    certification.review_application(officer, application, True, "齐全")
    assert db.session.get(Product, product.id).certificates == []  # loaded, empty
    certificate = certification.decide_application(admin, application, True, "同意")
    app.config["FROZEN_TODAY"] = certificate.valid_from.isoformat()
    assert product.id in shown()
    assert readmodel.check(db.session, certificate.valid_from).ok
    app.config["FROZEN_TODAY"] = None
