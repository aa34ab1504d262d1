"""What "on sale", "listable" and "orderable" mean: one module, in SQL and in Python.

- on sale today: the listing is active, its producer verified, and a certificate is valid
  today (after its public notice, before its end, not suspended or revoked);
- listable (what the search index holds): on sale now, or later without another decision,
  i.e. a certificate in public notice or valid;
- orderable: on sale, with stock of at least the minimum order quantity.

Lists use the SQL forms, a single product the Python forms; tests check the two agree.
"""

from datetime import date

from sqlalchemy import exists

from marketplace.catalog.models import Product, ProductStatus
from marketplace.certification.models import Certificate
from marketplace.extensions import db
from marketplace.organisations.models import Organisation, OrgStatus


def on_sale_sql(today: date):
    """SQL condition over Product joined to its Organisation."""
    return db.and_(
        Product.status == ProductStatus.ACTIVE,
        Organisation.status == OrgStatus.VERIFIED,
        exists().where(Certificate.product_id == Product.id, Certificate.valid_on(today)),
    )


def orderable_sql(today: date):
    return db.and_(on_sale_sql(today), Product.stock >= Product.min_order_qty)


def is_on_sale(product: Product, today: date) -> bool:
    return (
        product.status == ProductStatus.ACTIVE
        and product.organisation.status == OrgStatus.VERIFIED
        and any(c.is_valid_on(today) for c in product.certificates)
    )


def is_listable(product: Product, today: date) -> bool:
    return (
        product.status == ProductStatus.ACTIVE
        and product.organisation.status == OrgStatus.VERIFIED
        and any(c.is_current(today) for c in product.certificates)
    )


def is_orderable(product: Product, today: date) -> bool:
    return is_on_sale(product, today) and product.stock >= product.min_order_qty


def on_sale_products(today: date):
    return db.select(Product).join(Product.organisation).where(on_sale_sql(today))

