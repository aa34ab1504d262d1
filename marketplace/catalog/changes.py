"""Which products may list or look differently after a transaction: one collector for all.

Every flush notes the products it touched, directly or through their certificates, their
producer or their category. Just before the transaction commits, the handlers registered
here get the affected product ids — the catalogue read model and the search change log — and
write their derived rows in the SAME transaction, so derived data is never behind a commit
that changed what it derives from (and a rollback leaves neither).
"""

from collections.abc import Callable

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from marketplace.catalog.models import Category, Product, ProductPhoto
from marketplace.certification.models import Certificate, MarkClaim
from marketplace.organisations.models import Organisation

KEY = "listing_changes"
HANDLERS: list[Callable[[Session, set[int]], None]] = []


def on_listing_change(handler: Callable[[Session, set[int]], None]):
    """Register `handler(session, product_ids)`, run inside the committing transaction."""
    HANDLERS.append(handler)
    return handler


def _note(session: Session, kind: str, ids) -> None:
    noted = session.info.setdefault(KEY, {"products": set(), "organisations": set(),
                                          "categories": set()})
    noted[kind].update(i for i in ids if i)


def note_products(session: Session, product_ids) -> None:
    """Note products whose listing derives from rows this module does not watch (their
    sales counter): the read model and every host's search index rewrite them at commit."""
    _note(session, "products", product_ids)


@event.listens_for(Session, "after_flush")
def _collect(session, _flush_context):
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Product):
            _note(session, "products", [obj.id])
        elif isinstance(obj, Certificate | MarkClaim | ProductPhoto):
            _note(session, "products", [obj.product_id])
        elif isinstance(obj, Organisation):
            _note(session, "organisations", [obj.id])
        elif isinstance(obj, Category):
            _note(session, "categories", [obj.id])


@event.listens_for(Session, "before_commit")
def _dispatch(session):
    if not HANDLERS:
        return
    session.flush()
    noted = session.info.pop(KEY, None)
    if not noted:
        return
    ids = set(noted["products"])
    if noted["organisations"]:
        ids.update(session.scalars(select(Product.id).where(
            Product.organisation_id.in_(noted["organisations"]))))
    if noted["categories"]:
        ids.update(session.scalars(select(Product.id).where(
            Product.category_id.in_(noted["categories"]))))
    if ids:
        for handler in HANDLERS:
            handler(session, ids)
        session.flush()
        session.info.pop(KEY, None)  # the handlers' own writes are not listing changes


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(KEY, None)
