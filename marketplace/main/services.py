"""Figures for the home page."""

from sqlalchemy import func, text

from marketplace.catalog.queries import county_facets, grid_total
from marketplace.catalog.services import browse_catalogue
from marketplace.extensions import db
from marketplace.organisations.models import Organisation, OrgKind, OrgStatus


def home_figures(grid: dict) -> dict:
    verified = db.select(Organisation).where(
        Organisation.kind == OrgKind.PRODUCER, Organisation.status == OrgStatus.VERIFIED
    ).subquery()
    producers, households = db.session.execute(
        db.select(func.count(verified.c.id), func.coalesce(func.sum(verified.c.poor_households), 0))
    ).one()
    return {"products": grid_total(grid), "producers": producers, "households": households}


def home_page() -> dict:
    """Everything the home page shows, from the catalogue's cached listing."""
    page = browse_catalogue(per_page=8)
    return {
        "stats": home_figures(page.grid),
        "products": page.items,
        "counties": county_facets(page.grid),
    }


def database_ok() -> bool:
    return db.session.execute(text("SELECT 1")).scalar() == 1
