"""The catalogue's read model: what is listable, kept beside the products, cached per version.

`catalogue_entries` holds one slim row per listable product (on sale now or after its
public notice): county, category and the certificate window. It is derived data, written
in the same transaction as any change to a product, its certificates, producer or category
(see changes.py), rebuilt by `flask catalogue rebuild` and compared with the database by
`flask catalogue check`.

Each worker keeps, per (catalogue version, today), the ids on sale today sorted newest
first with their county and category. The version is a counter row bumped by every
transaction that changes an entry, so the first request after such a commit — on any worker,
on any host sharing the database — rebuilds the cache, and a new day rebuilds it too
(certificate windows open and close at midnight without a job). A page is then a slice of
that list plus a primary-key load of the products shown: its cost does not grow with the
catalogue, and a deep page costs what page 1 costs.
"""

import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ForeignKey, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace.catalog.availability import is_listable
from marketplace.catalog.changes import on_listing_change
from marketplace.catalog.models import Product
from marketplace.extensions import Model, db
from marketplace.sequences import Counter

VERSION = "catalogue-version"  # bumped when what is listable changes
DISPLAY = "catalogue-display"  # bumped by any change to a listed product's page or card


class CatalogueEntry(Model):
    __tablename__ = "catalogue_entries"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    county_id: Mapped[int] = mapped_column()
    category_id: Mapped[int] = mapped_column()
    valid_from: Mapped[date] = mapped_column()
    valid_until: Mapped[date] = mapped_column()

    __table_args__ = (db.Index("ix_catalogue_entries_window", "valid_from", "valid_until"),)


def _entry_for(product: Product, today: date) -> dict | None:
    if not is_listable(product, today):
        return None
    windows = [(c.valid_from, c.valid_until) for c in product.certificates
               if c.is_current(today)]
    return {"product_id": product.id, "county_id": product.organisation.county_id,
            "category_id": product.category_id, "valid_from": min(w[0] for w in windows),
            "valid_until": max(w[1] for w in windows)}


def _load(session: Session, ids) -> list[Product]:
    """The products as the transaction now stands (collections loaded earlier in this
    session, like a product's certificates before one was added, are read again)."""
    from sqlalchemy.orm import selectinload

    return list(session.scalars(
        select(Product).where(Product.id.in_(ids))
        .options(selectinload(Product.organisation), selectinload(Product.certificates))
        .execution_options(populate_existing=True)))


def _bump_version(session: Session) -> None:
    from marketplace.sequences import next_value

    next_value(VERSION)


@on_listing_change
def refresh_entries(session: Session, product_ids: set[int]) -> None:
    """Rewrite the entries of these products inside the committing transaction."""
    from marketplace.clock import today
    from marketplace.sequences import next_value

    next_value(DISPLAY)  # names, prices, photos or marks may have changed: pages are stale
    day = today()
    ids = sorted(product_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        wanted = {p.id: _entry_for(p, day) for p in _load(session, chunk)}
        current = {row.product_id: row for row in session.scalars(
            select(CatalogueEntry).where(CatalogueEntry.product_id.in_(chunk)))}
        changed = False
        for product_id in chunk:
            entry, row = wanted.get(product_id), current.get(product_id)
            if entry is None and row is not None:
                session.delete(row)
                changed = True
            elif entry is not None and (row is None or any(
                    getattr(row, k) != v for k, v in entry.items())):
                session.merge(CatalogueEntry(**entry))
                changed = True
        if changed:
            _bump_version(session)


def rebuild(session: Session) -> int:
    """Recompute every entry from the products (after bulk loads, or to repair)."""
    from marketplace.clock import today

    day = today()
    session.execute(delete(CatalogueEntry))
    rows, last, count = [], 0, 0
    while True:
        batch = list(session.scalars(select(Product.id).where(Product.id > last)
                                     .order_by(Product.id).limit(2000)))
        if not batch:
            break
        last = batch[-1]
        rows = [e for e in (_entry_for(p, day) for p in _load(session, batch)) if e]
        if rows:
            session.execute(insert(CatalogueEntry), rows)
            count += len(rows)
        session.expunge_all()
    _bump_version(session)
    return count


@dataclass
class Difference:
    missing: list[int] = field(default_factory=list)  # listable, no entry
    extra: list[int] = field(default_factory=list)  # entry, not listable
    stale: list[int] = field(default_factory=list)  # entry differs from the product

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale)


def check(session: Session, today: date) -> Difference:
    """Compare what the entries put on sale today with the on-sale rule applied to products."""
    from marketplace.catalog.availability import on_sale_sql
    from marketplace.organisations.models import Organisation

    truth = {pid: (county, category) for pid, county, category in session.execute(
        select(Product.id, Organisation.county_id, Product.category_id)
        .join(Product.organisation).where(on_sale_sql(today)))}
    entries = {pid: (county, category) for pid, county, category in session.execute(
        select(CatalogueEntry.product_id, CatalogueEntry.county_id, CatalogueEntry.category_id)
        .where(CatalogueEntry.valid_from <= today, CatalogueEntry.valid_until >= today))}
    return Difference(
        missing=sorted(set(truth) - set(entries)),
        extra=sorted(set(entries) - set(truth)),
        stale=sorted(i for i in set(truth) & set(entries) if truth[i] != entries[i]),
    )


# The per-worker cache --------------------------------------------------------------------


@dataclass
class Listing:
    """Products on sale today, newest first, as parallel arrays (ids, counties, categories)."""

    ids: array
    counties: array
    categories: array
    grid: dict[tuple[int, int], int]
    _filtered: OrderedDict = field(default_factory=OrderedDict)

    def ids_for(self, county_id=None, category_id=None) -> array:
        if not county_id and not category_id:
            return self.ids
        key = (county_id, category_id)
        found = self._filtered.get(key)
        if found is None:
            found = array("l", (i for i, c, g in zip(self.ids, self.counties, self.categories,
                                                     strict=True)
                                if (not county_id or c == county_id)
                                and (not category_id or g == category_id)))
            self._filtered[key] = found
            while len(self._filtered) > 256:
                self._filtered.popitem(last=False)
        else:
            self._filtered.move_to_end(key)
        return found


_cache: dict = {}
_lock = threading.Lock()


def versions() -> tuple[int, int]:
    """(listing version, display version), read in one query."""
    values = dict(db.session.execute(
        select(Counter.name, Counter.value).where(Counter.name.in_((VERSION, DISPLAY)))).all())
    return values.get(VERSION, 0), values.get(DISPLAY, 0)


def current_version() -> int:
    return versions()[0]


def listing(today: date, version: int | None = None) -> Listing:
    """This worker's listing for today at the current catalogue version."""
    key = (str(db.engine.url), current_version() if version is None else version, today)
    found = _cache.get(key)
    if found is not None:
        return found
    rows = db.session.execute(
        select(CatalogueEntry.product_id, CatalogueEntry.county_id, CatalogueEntry.category_id)
        .where(CatalogueEntry.valid_from <= today, CatalogueEntry.valid_until >= today)
        .order_by(CatalogueEntry.product_id.desc())
    ).all()
    grid: dict[tuple[int, int], int] = {}
    for _pid, county, category in rows:
        grid[(county, category)] = grid.get((county, category), 0) + 1
    value = Listing(array("l", (r[0] for r in rows)), array("l", (r[1] for r in rows)),
                    array("l", (r[2] for r in rows)), grid)
    with _lock:
        for old in [k for k in _cache if k[0] == key[0]]:
            _cache.pop(old, None)
        _cache[key] = value
    return value
