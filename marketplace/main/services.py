"""Figures for the home page."""

from sqlalchemy import func, text

from marketplace.catalog.queries import county_facets, on_sale_products
from marketplace.clock import today
from marketplace.extensions import db
from marketplace.organisations.models import Organisation, OrgKind, OrgStatus


def home_figures() -> dict:
    on_sale = on_sale_products(today()).subquery()
    return {
        "products": db.session.scalar(db.select(func.count()).select_from(on_sale)),
        "producers": db.session.scalar(
            db.select(func.count(Organisation.id)).where(
                Organisation.kind == OrgKind.PRODUCER, Organisation.status == OrgStatus.VERIFIED
            )
        ),
        "households": db.session.scalar(
            db.select(func.coalesce(func.sum(Organisation.poor_households), 0)).where(
                Organisation.kind == OrgKind.PRODUCER, Organisation.status == OrgStatus.VERIFIED
            )
        ),
    }


def county_overview():
    return county_facets(today())


def database_ok() -> bool:
    return db.session.execute(text("SELECT 1")).scalar() == 1
