"""Row scoping for the catalogue: what is on sale today, in one place."""

from datetime import date

from sqlalchemy import exists, func

from marketplace.catalog.models import Category, Product, ProductStatus
from marketplace.certification.models import Certificate
from marketplace.extensions import db
from marketplace.organisations.models import Organisation, OrgStatus
from marketplace.places.models import County


def on_sale_condition(today: date):
    """SQL: listing active, producer verified, a certificate valid today."""
    return db.and_(
        Product.status == ProductStatus.ACTIVE,
        Organisation.status == OrgStatus.VERIFIED,
        exists().where(Certificate.product_id == Product.id, Certificate.valid_on(today)),
    )


def on_sale_products(today: date):
    return db.select(Product).join(Product.organisation).where(on_sale_condition(today))


def on_sale_grid(today: date) -> dict[tuple[int, int], int]:
    """{(county id, category id): products on sale}: one scan serves every count on a page."""
    query = (
        db.select(Organisation.county_id, Product.category_id, func.count(Product.id))
        .select_from(Product)
        .join(Product.organisation)
        .where(on_sale_condition(today))
        .group_by(Organisation.county_id, Product.category_id)
    )
    return {(county, category): n for county, category, n in db.session.execute(query)}


def grid_total(grid: dict, county_id=None, category_id=None) -> int:
    return sum(n for (county, category), n in grid.items()
               if (not county_id or county == county_id)
               and (not category_id or category == category_id))


def county_facets(grid: dict) -> list[tuple[County, int]]:
    counties = db.session.scalars(db.select(County).order_by(County.position, County.id))
    return [(c, grid_total(grid, county_id=c.id)) for c in counties]


def category_facets(grid: dict) -> list[tuple[Category, int]]:
    categories = db.session.scalars(db.select(Category).order_by(Category.position, Category.id))
    return [(c, grid_total(grid, category_id=c.id)) for c in categories]
