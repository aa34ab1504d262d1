"""The schema comes from migrations; the demo generator fills a realistic catalogue."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError

from marketplace.catalog.models import Product
from marketplace.catalog.services import browse_catalogue
from marketplace.certification.models import Certificate
from marketplace.clock import today
from marketplace.config import BASE_DIR
from marketplace.demo.generate import generate
from marketplace.organisations.credit_code import is_valid
from marketplace.organisations.models import Organisation
from marketplace.places.models import County, Village

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


def test_upgrade_of_an_existing_database_keeps_its_data(app, db):
    """Data written at the first revision survives the later migrations."""
    _empty(db)
    upgrade(directory=MIGRATIONS, revision="7e0572792927")
    generate(producers=8, products=40, password="demo-password", with_accounts=True)
    before = db.session.scalar(db.select(db.func.count(Product.id)))
    db.session.remove()
    upgrade(directory=MIGRATIONS)
    assert db.session.scalar(db.select(db.func.count(Product.id))) == before == 40
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
