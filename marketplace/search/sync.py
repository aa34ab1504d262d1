"""Keep the search index in step with the database: after commit, never on rollback.

Every flush notes which products may have changed how they look or whether they are listed
(a product, its certificates, its producer). After the transaction commits, those products
are re-read from the database in a fresh session and written to the index; a rollback
forgets them. This is the SearchableMixin idea from Flask's microblog, for whole products.
"""

import logging

from flask import has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from marketplace.catalog.models import Category, Product
from marketplace.certification.models import Certificate
from marketplace.organisations.models import Organisation

log = logging.getLogger(__name__)
KEY = "search_dirty"


def _note(session: Session, product_ids=(), organisation_ids=(), category_ids=()) -> None:
    dirty = session.info.setdefault(KEY, {"products": set(), "organisations": set(),
                                          "categories": set()})
    dirty["products"].update(i for i in product_ids if i)
    dirty["organisations"].update(i for i in organisation_ids if i)
    dirty["categories"].update(i for i in category_ids if i)


@event.listens_for(Session, "after_flush")
def _collect(session, _flush_context):
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Product):
            _note(session, product_ids=[obj.id])
        elif isinstance(obj, Certificate):
            _note(session, product_ids=[obj.product_id])
        elif isinstance(obj, Organisation):
            _note(session, organisation_ids=[obj.id])
        elif isinstance(obj, Category):
            _note(session, category_ids=[obj.id])


@event.listens_for(Session, "after_commit")
def _flush_to_index(session):
    dirty = session.info.pop(KEY, None)
    if not dirty or not has_app_context():
        return
    from marketplace.search.services import refresh_products  # services imports this module

    bind = session.get_bind()
    with Session(bind=bind) as fresh:
        ids = set(dirty["products"])
        if dirty["organisations"]:
            ids.update(fresh.scalars(select(Product.id).where(
                Product.organisation_id.in_(dirty["organisations"]))))
        if dirty["categories"]:
            ids.update(fresh.scalars(select(Product.id).where(
                Product.category_id.in_(dirty["categories"]))))
        if ids:
            refresh_products(fresh, ids)


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(KEY, None)
