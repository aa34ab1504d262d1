"""What the search index holds about a product: built from the database, never the reverse."""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from marketplace.catalog.models import MARKS, Product
from marketplace.organisations.models import Organisation
from marketplace.search.lexicon import keywords_for, pinyin_terms

# Indexed words for each mark, in Chinese whatever the reader's language (绿色 面粉 finds it).
MARK_WORDS = {"green_food": "绿色食品", "organic": "有机食品", "geo_indication": "地理标志"}

PRICE_BUCKETS = (  # (key, low fen inclusive, high fen exclusive)
    ("0-10", 0, 1000),
    ("10-30", 1000, 3000),
    ("30-100", 3000, 10000),
    ("100-300", 10000, 30000),
    ("300-", 30000, None),
)


def price_bucket(price_fen: int) -> str:
    for key, low, high in PRICE_BUCKETS:
        if price_fen >= low and (high is None or price_fen < high):
            return key
    return PRICE_BUCKETS[-1][0]


@dataclass(frozen=True)
class ProductDocument:
    id: int
    name: str
    producer: str
    place: str
    body: str
    keywords: list[str]
    pinyin: list[str]
    name_pinyin: list[str]
    county_id: int
    category_id: int
    marks: list[str] = field(default_factory=list)
    price_fen: int = 0
    valid_from: date = date.min
    valid_until: date = date.min


def document_for(product: Product, today: date) -> ProductDocument:
    org = product.organisation
    certificates = [c for c in product.certificates if c.is_current(today)]
    place = " ".join(str(p) for p in (org.county, org.township, org.village) if p)
    marks = [m for m in MARKS if getattr(product, m)]
    keywords = keywords_for(product.name)
    return ProductDocument(
        id=product.id,
        name=product.name,
        producer=org.name,
        place=place,
        # "许昌市" heads nearly every origin; indexed, it would match the whole catalogue.
        body=" ".join([product.specification, product.origin.replace("许昌市", ""),
                       product.category.name,
                       *(MARK_WORDS[m] for m in marks), product.description]),
        keywords=keywords,
        # Pinyin for what people name when they type latin letters: the product, its
        # category and the county and township (not every word of a producer's name).
        pinyin=sorted(pinyin_terms(product.name, product.category.name, *keywords,
                                   *(str(p) for p in (org.county, org.township) if p))),
        name_pinyin=sorted(pinyin_terms(product.name)),
        county_id=org.county_id,
        category_id=product.category_id,
        marks=marks,
        price_fen=product.price_fen,
        valid_from=min(c.valid_from for c in certificates),
        valid_until=max(c.valid_until for c in certificates),
    )


def load_products(session: Session, ids=None):
    """Products with everything a document needs, in batches (ids=None: all of them)."""
    query = (
        select(Product)
        .options(
            selectinload(Product.organisation).selectinload(Organisation.county),
            selectinload(Product.organisation).selectinload(Organisation.township),
            selectinload(Product.organisation).selectinload(Organisation.village),
            selectinload(Product.category),
            selectinload(Product.certificates),
        )
        .order_by(Product.id)
    )
    if ids is not None:
        id_list = sorted(ids)
        for i in range(0, len(id_list), 500):
            yield from session.scalars(query.where(Product.id.in_(id_list[i:i + 500])))
        return
    last = 0
    while True:
        batch = list(session.scalars(query.where(Product.id > last).limit(2000)))
        if not batch:
            return
        yield from batch
        last = batch[-1].id
        session.expunge_all()
