"""Figures for the home page."""

from sqlalchemy import func, text

from marketplace.catalog import readmodel
from marketplace.catalog.queries import county_facets
from marketplace.catalog.services import browse_catalogue
from marketplace.clock import today
from marketplace.extensions import db
from marketplace.organisations.models import Organisation, OrgKind, OrgStatus


def producer_figures() -> dict:
    """Verified producers and the formerly poor households they benefit (not cached: a
    producer's reviewed linkage figures change without touching the catalogue)."""
    verified = db.select(Organisation).where(
        Organisation.kind == OrgKind.PRODUCER, Organisation.status == OrgStatus.VERIFIED
    ).subquery()
    producers, households = db.session.execute(
        db.select(func.count(verified.c.id), func.coalesce(func.sum(verified.c.poor_households), 0))
    ).one()
    return {"producers": producers, "households": households,
            "on_sale": len(readmodel.listing(today()).ids)}


def home_listing(version: int) -> dict:
    """The catalogue part of the home page: counts by county and the newest products."""
    page = browse_catalogue(per_page=8, version=version)
    return {"products": page.items, "counties": county_facets(page.grid)}


def database_ok() -> bool:
    return db.session.execute(text("SELECT 1")).scalar() == 1
