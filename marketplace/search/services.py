"""Product search: the use cases behind the search page, the suggest endpoint and the CLI.

The index finds and ranks; the database has the last word. Every page of hits is re-read
through the catalogue's on-sale condition, so a product that went off sale a moment ago is
never shown even if some index update were still on its way.
"""

import logging
import time
from dataclasses import dataclass, field, replace

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from marketplace.catalog.availability import is_listable
from marketplace.catalog.models import MARKS, Product
from marketplace.catalog.queries import on_sale_products
from marketplace.catalog.services import categories as catalog_categories
from marketplace.clock import today
from marketplace.extensions import db
from marketplace.organisations.models import Organisation
from marketplace.places.queries import all_counties, all_townships
from marketplace.search import changelog, index
from marketplace.search import sync as _sync  # noqa: F401 - registers the session hooks
from marketplace.search.documents import PRICE_BUCKETS, document_for, load_products
from marketplace.search.lexicon import place_forms, query_words

log = logging.getLogger(__name__)
MAX_QUERY = 100  # characters of a query that are looked at
SORTS = index.SORTS  # relevance | price | -price | sales (fen accepted by buyers)


def index_path() -> str:
    return current_app.config["SEARCH_INDEX_DIR"]


@dataclass
class Facet:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class SearchPage:
    query: str
    words: list[str]
    products: list[Product]
    total: int
    page: int
    pages: int
    facets: dict[str, list[Facet]] = field(default_factory=dict)
    corrected: str | None = None  # nothing matched the query; these results are for this
    filters: dict = field(default_factory=dict)


def _documents(session: Session, ids=None):
    """Index documents for the listable products among `ids` (None: all), one at a time."""
    day = today()
    for product, sales in load_products(session, ids):
        if is_listable(product, day):
            yield document_for(product, day, sales)


def _write(session: Session, ids: set[int]) -> None:
    """Rewrite these products' documents from the database (delete the unlisted ones)."""

    def load():
        documents = list(_documents(session, ids))
        removed = ids - {doc.id for doc in documents}  # off sale now, or deleted
        return documents, sorted(removed)

    index.apply_changes(index_path(), load, timeout=current_app.config["SEARCH_WRITE_TIMEOUT"])


def catch_up() -> int:
    """Apply the changes this host's index has not seen yet; returns how many were applied.

    Runs after every local commit and before every search. If the index lock cannot be had
    in time, the changes simply stay pending in the log for the next call: nothing is lost.
    """
    path = index_path()
    with Session(bind=db.engine) as session:
        rows, rebuild_needed = changelog.pending(session, path)
        any_product = session.scalar(select(Product.id).limit(1)) is not None
    if rebuild_needed:
        if index.exists(path) or any_product:
            (log.warning if index.exists(path) else log.info)(
                "search index at %s has no usable replay cursor; rebuilding", path)
            count, _seconds = reindex_all()
            return count
        return 0
    if not rows:
        return 0
    with Session(bind=db.engine) as session:
        try:
            _write(session, {pid for _cid, pid in rows})
        except Exception:
            log.exception("search index update failed; %s changes stay pending", len(rows))
            return 0
    changelog.mark_applied(path, [cid for cid, _pid in rows])
    return len(rows)


def reindex_all() -> tuple[int, float]:
    """Rebuild the whole index from the database; returns (documents, seconds).

    The cursor is set to the last change logged before reading started, so whatever
    commits while the rebuild reads is replayed afterwards.
    """
    started = time.perf_counter()
    path = index_path()
    with Session(bind=db.engine) as session:
        through = changelog.latest_change(session)
        count = index.rebuild(path, _documents(session),
                              timeout=current_app.config["SEARCH_WRITE_TIMEOUT"])
    changelog.reset_cursor(path, through)
    return count, time.perf_counter() - started


@dataclass
class IndexCheck:
    missing: list[int]  # listable in the database, absent from the index
    extra: list[int]  # in the index, not listable any more
    stale: list[int]  # in both, but the index holds another price or name

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale)


def check_index(repair: bool = False) -> IndexCheck:
    """Compare the index with the database; with `repair`, rewrite what differs."""
    stored = index.stored_documents(index_path())
    with Session(bind=db.engine) as session:
        listable = {doc.id: (doc.name, doc.price_fen) for doc in _documents(session)}
        result = IndexCheck(
            missing=sorted(set(listable) - set(stored)),
            extra=sorted(set(stored) - set(listable)),
            stale=sorted(i for i in set(listable) & set(stored)
                         if (stored[i]["name"], stored[i]["price_fen"]) != listable[i]),
        )
        if repair and not result.ok:
            _write(session, set(result.missing + result.extra + result.stale))
    return result


def index_exists() -> bool:
    """An index with this code's schema and a replay cursor (else it must be rebuilt)."""
    return index.exists(index_path()) and changelog.read_cursor(index_path()) is not None


def _labels() -> dict[str, dict[str, str]]:
    counties = {str(c.id): c.name for c in all_counties()}
    categories = {str(c.id): c.name for c in catalog_categories()}
    prices = {key: (f"¥{low // 100}–{high // 100}" if high else f"¥{low // 100}+")
              for key, low, high in PRICE_BUCKETS}
    return {"county_id": counties, "category_id": categories, "price_bucket": prices}


def _facets(hits, request: index.SearchRequest) -> dict[str, list[Facet]]:
    labels = _labels()
    selected = {"county_id": str(request.county_id or ""),
                "category_id": str(request.category_id or ""), "price_bucket": request.price or ""}
    out = {}
    for name in ("county_id", "category_id", "price_bucket"):
        counts = hits.facets.get(name, {})
        out[name] = [
            Facet(value, label, counts.get(value, 0), selected[name] == value)
            for value, label in labels[name].items()
            if counts.get(value, 0) or selected[name] == value
        ]
    marks = hits.facets.get("marks", {})
    out["marks"] = [Facet(m, str(label), marks.get(m, 0), m in request.marks)
                    for m, label in MARKS.items()]
    return out


def _on_sale_in_order(ids: list[int]) -> list[Product]:
    if not ids:
        return []
    query = on_sale_products(today()).where(Product.id.in_(ids)).options(
        selectinload(Product.photos),
        selectinload(Product.organisation).selectinload(Organisation.county),
        selectinload(Product.certificates),
    )
    found = {p.id: p for p in db.session.scalars(query)}
    return [found[i] for i in ids if i in found]


def _names_a_place(text: str) -> bool:
    """The query names a county or township of the city (in full or short form): it is
    spelt right even if nothing from there is on sale, so it is never "corrected"."""
    flat = "".join(text.split())
    forms: set[str] = set()
    for county in all_counties():
        forms.update(place_forms(county.name, county=True))
    for township in all_townships():
        forms.update(place_forms(township.name, county=False))
    return any(len(form) >= 2 and form in flat for form in forms)


def _found_unfiltered(request: index.SearchRequest) -> bool:
    """The text matches something when the filters are dropped: then it is spelt right and
    the filters are what excludes everything (蜂 in a county without bees), not a typo."""
    if not (request.county_id or request.category_id or request.marks or request.price):
        return False
    return index.search(index_path(), index.SearchRequest(
        text=request.text, today=request.today, per_page=1)).total > 0


def search_products(text: str = "", *, county_id=None, category_id=None, marks=(), price=None,
                    sort="relevance", page=1, per_page=20) -> SearchPage:
    """Search what is on sale today. Any text is safe: it is segmented, never parsed.

    When nothing matches and a close spelling does (粉跳 -> 粉条, fentaio -> fentiao), the
    page shows that spelling's results and says so.
    """
    catch_up()
    text = (text or "").strip()[:MAX_QUERY]
    request = index.SearchRequest(
        text=text, today=today(), county_id=county_id, category_id=category_id,
        marks=tuple(m for m in marks if m in MARKS),
        price=price if price in {b[0] for b in PRICE_BUCKETS} else None,
        sort=sort if sort in SORTS else "relevance", page=max(1, page), per_page=per_page,
    )
    hits = index.search(index_path(), request)
    corrected = None
    if (hits.total == 0 and len(text) > 1 and not _found_unfiltered(request)
            and not _names_a_place(text)):
        candidate = index.correction(index_path(), text)
        if candidate:
            retry = replace(request, text=candidate)
            retried = index.search(index_path(), retry)
            if retried.total:
                corrected, hits = candidate, retried
    shown = corrected or text
    return SearchPage(
        query=text, words=query_words(shown), products=_on_sale_in_order(hits.ids),
        total=hits.total, page=request.page, pages=max(1, -(-hits.total // per_page)),
        facets=_facets(hits, request), corrected=corrected,
        filters={"county": county_id, "category": category_id, "mark": list(request.marks),
                 "price": request.price, "sort": request.sort},
    )


def suggestions(prefix: str, limit: int = 8) -> list[str]:
    catch_up()
    return index.suggest(index_path(), (prefix or "")[:MAX_QUERY], today(), limit)
