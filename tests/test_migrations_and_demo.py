"""The schema comes from migrations; the demo generator fills a realistic catalogue."""

from datetime import date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.exc import DatabaseError

from marketplace.catalog.models import Product
from marketplace.catalog.services import browse_catalogue
from marketplace.certification.models import Certificate, MarkClaim
from marketplace.clock import today
from marketplace.config import BASE_DIR
from marketplace.demo.generate import generate
from marketplace.organisations.credit_code import is_valid
from marketplace.organisations.models import Organisation
from marketplace.places.models import County, Village
from marketplace.sequences import Counter

MIGRATIONS = str(BASE_DIR / "migrations")


def _empty(db):
    db.session.remove()
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_upgrade_from_empty_gives_the_models_schema(app, db):
    _empty(db)
    upgrade(directory=MIGRATIONS)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
    downgrade(directory=MIGRATIONS, revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(directory=MIGRATIONS)


def _rows_at_revision_1(db) -> None:
    """A small database as the first revision knew it: rows inserted through reflection, so
    the test does not depend on today's models."""
    meta = MetaData()
    meta.reflect(bind=db.engine)
    now = datetime(2026, 3, 1, 9, 0)
    t = meta.tables
    with db.engine.begin() as conn:
        conn.execute(t["counties"].insert(), {"id": 1, "code": "411081", "name": "禹州市",
                                              "kind": "city", "position": 0})
        conn.execute(t["townships"].insert(), {"id": 1, "county_id": 1, "name": "方山镇"})
        conn.execute(t["categories"].insert(), {"id": 1, "code": "starch", "name": "三粉制品",
                                                "position": 0})
        conn.execute(t["organisations"].insert(), {
            "id": 1, "kind": "producer", "org_type": "cooperative", "name": "方山粉条合作社",
            "credit_code": "93411081MA0000011X", "legal_representative": "王", "contact_name": "",
            "contact_phone": "13800000000", "county_id": 1, "township_id": 1, "address": "",
            "benefit_types": "wages", "poor_households": 12, "benefit_description": "",
            "description": "", "status": "verified", "created_at": now, "updated_at": now})
        for pid, green in ((1, True), (2, False)):
            conn.execute(t["products"].insert(), {
                "id": pid, "organisation_id": 1, "category_id": 1, "name": f"粉条{pid}",
                "specification": "2.5公斤/袋", "origin": "禹州市方山镇", "unit": "袋",
                "price_fen": 2850, "min_order_qty": 2, "stock": 100, "annual_supply_capacity": "",
                "description": "", "green_food": green, "organic": False, "geo_indication": False,
                "status": "active", "created_at": now, "updated_at": now})
            conn.execute(t["certification_applications"].insert(), {
                "id": pid, "product_id": pid, "organisation_id": 1, "county_id": 1,
                "status": "approved", "product_name": f"粉条{pid}", "specification": "2.5公斤/袋",
                "origin": "禹州市方山镇", "price_fen": 2500, "unit": "袋",
                "annual_supply_capacity": "50 吨", "benefit_mechanism": "务工",
                "submitted_at": now, "is_resubmission": False})
        for cid, number in ((1, "XNYP-2026-000007"), (2, "XNYP-2026-D0000293")):
            conn.execute(t["certificates"].insert(), {
                "id": cid, "number": number, "product_id": cid, "organisation_id": 1,
                "application_id": cid, "issued_on": date(2026, 3, 1),
                "valid_from": date(2026, 3, 8), "valid_until": date(2028, 3, 7),
                "status": "active"})


def test_upgrade_of_an_existing_database_keeps_its_data(app, db):
    """Data written at the first revision survives the later migrations, carried over."""
    _empty(db)
    upgrade(directory=MIGRATIONS, revision="7e0572792927")
    _rows_at_revision_1(db)
    db.session.remove()
    upgrade(directory=MIGRATIONS)
    assert db.session.scalar(db.select(db.func.count(Product.id))) == 2
    first = db.session.get(Certificate, 1)
    assert (first.certified_name, first.certified_price_fen, first.certified_unit,
            first.certified_category_id) == ("粉条1", 2500, "袋", 1)
    # New numbers continue after the highest plain one; the demo-style number is ignored.
    assert db.session.get(Counter, "certificate-2026").value == 7
    # The self-declared mark is hidden and waits for review as a claim.
    assert db.session.get(Product, 1).green_food is False
    claim = db.session.scalars(db.select(MarkClaim)).one()
    assert (claim.product_id, claim.mark, claim.status) == (1, "green_food", "submitted")
    db.session.execute(text(
        "INSERT INTO audit_events (at, actor_name, action, subject_type, subject_id, reason) "
        "VALUES (CURRENT_TIMESTAMP, 'test', 'test', 'products', 1, '')"))
    db.session.commit()
    with pytest.raises(DatabaseError):  # the audit trigger of the second revision is live
        db.session.execute(text("DELETE FROM audit_events"))
    db.session.rollback()


def test_demo_looks_like_xuchang(app, db):
    generate(producers=48, products=360, password="demo-password")
    names = set(db.session.scalars(db.select(County.name)))
    assert {"魏都区", "建安区", "禹州市", "长葛市", "鄢陵县", "襄城县", "城乡一体化示范区",
            "经济技术开发区"} <= names
    assert db.session.scalar(db.select(db.func.count(Village.id)).where(Village.formerly_poor)) > 150
    codes = list(db.session.scalars(db.select(Organisation.credit_code)))
    assert codes and all(is_valid(c) for c in codes)
    on_sale = browse_catalogue(per_page=500)
    assert 200 < on_sale.total < 360
    all_names = " ".join(p.name for p in on_sale.items)
    for line in ("粉条", "蜜", "蜡梅", "腐竹"):
        assert line in all_names
    statuses = {c.effective_status(today()).value
                for c in db.session.scalars(db.select(Certificate))}
    assert {"valid", "in_notice", "expired"} <= statuses


def test_demo_cli_load_and_accounts(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "loaded" in result.output, result.output
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "already" in again.output
    accounts = runner.invoke(args=["demo", "accounts"])
    for username in ("admin", "producer", "officer-411081", "buyer", "approver"):
        assert username in accounts.output
