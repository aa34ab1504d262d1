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


def on_sale_counts(today: date, group_column):
    """{group value: number of products on sale}, e.g. per county or per category."""
    query = (
        db.select(group_column, func.count(Product.id))
        .select_from(Product)
        .join(Product.organisation)
        .where(on_sale_condition(today))
        .group_by(group_column)
    )
    return dict(db.session.execute(query).all())


def county_facets(today: date) -> list[tuple[County, int]]:
    counts = on_sale_counts(today, Organisation.county_id)
    counties = db.session.scalars(db.select(County).order_by(County.position, County.id))
    return [(c, counts.get(c.id, 0)) for c in counties]


def category_facets(today: date) -> list[tuple[Category, int]]:
    counts = on_sale_counts(today, Product.category_id)
    categories = db.session.scalars(db.select(Category).order_by(Category.position, Category.id))
    return [(c, counts.get(c.id, 0)) for c in categories]
