"""Row scoping for the catalogue: what is on sale today, in one place."""

from datetime import date

from sqlalchemy import func

from marketplace.catalog.availability import on_sale_products, on_sale_sql
from marketplace.catalog.models import Category, Product
from marketplace.extensions import db
from marketplace.organisations.models import Organisation
from marketplace.places.models import County

__all__ = ["on_sale_products", "on_sale_grid", "grid_total", "county_facets", "category_facets"]


def on_sale_grid(today: date) -> dict[tuple[int, int], int]:
    """{(county id, category id): products on sale}: one scan serves every count on a page."""
    query = (
        db.select(Organisation.county_id, Product.category_id, func.count(Product.id))
        .select_from(Product)
        .join(Product.organisation)
        .where(on_sale_sql(today))
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
