"""What the search index holds about a product: built from the database, never the reverse."""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from marketplace.catalog.models import MARKS, Product
from marketplace.orders.models import ProductSales
from marketplace.organisations.models import Organisation
from marketplace.places.models import County
from marketplace.search.lexicon import hypernyms_for, name_grams, pinyin_terms, place_forms

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
    place: str  # county, township and village as written, for word matches
    body: str
    keywords: list[str]  # the kinds the name's head word is (枣花蜜 -> 蜂蜜)
    pinyin: list[str]
    name_pinyin: list[str]
    county_id: int
    category_id: int
    category: str = ""  # the category's whole name: never split into its words
    places: list[str] = field(default_factory=list)  # full and short forms of its places
    marks: list[str] = field(default_factory=list)
    price_fen: int = 0
    valid_from: date = date.min
    valid_until: date = date.min
    sales: int = 0  # fen buyers accepted of it, all time (sort by sales)

    @property
    def grams(self) -> list[str]:
        return name_grams(self.name)


def _places(product: Product) -> list[str]:
    """Full and short forms of the producer's county and township, and of a township of
    that county the product's origin names (grown in 陶城镇 by a producer registered in 柏梁镇)."""
    org = product.organisation
    forms: list[str] = list(place_forms(org.county.name, county=True))
    townships = [org.township] if org.township else []
    townships += [t for t in org.county.townships
                  if t.name in (product.origin or "") and t not in townships]
    for township in townships:
        forms += [f for f in place_forms(township.name, county=False) if f not in forms]
    return forms


def document_for(product: Product, today: date, sales: int = 0) -> ProductDocument:
    org = product.organisation
    certificates = [c for c in product.certificates if c.is_current(today)]
    place = " ".join(str(p) for p in (org.county, org.township, org.village) if p)
    marks = [m for m in MARKS if getattr(product, m)]
    keywords = hypernyms_for(product.name)
    places = _places(product)
    return ProductDocument(
        id=product.id,
        name=product.name,
        producer=org.name,
        place=place,
        # "许昌市" heads nearly every origin; indexed, it would match the whole catalogue.
        # The category is not in the body: its name is matched whole (花生大豆 must not make
        # 花生 find the sesame oil filed under it).
        body=" ".join([product.specification, product.origin.replace("许昌市", ""),
                       *(MARK_WORDS[m] for m in marks), product.description]),
        keywords=keywords,
        # Pinyin for what people name when they type latin letters: the product, its
        # category and its places (not every word of a producer's name).
        pinyin=sorted(pinyin_terms(product.name, product.category.name, *keywords, *places)),
        name_pinyin=sorted(pinyin_terms(product.name)),
        county_id=org.county_id,
        category_id=product.category_id,
        category=product.category.name,
        places=places,
        marks=marks,
        price_fen=product.price_fen,
        valid_from=min(c.valid_from for c in certificates),
        valid_until=max(c.valid_until for c in certificates),
        sales=sales,
    )


def sales_of(session: Session, product_ids) -> dict[int, int]:
    """{product id: fen accepted by buyers} from the per-product counters (orders/sales.py)."""
    return dict(session.execute(
        select(ProductSales.product_id, ProductSales.received_fen)
        .where(ProductSales.product_id.in_(list(product_ids)))).all())


def load_products(session: Session, ids=None):
    """(product, fen sold) with everything a document needs, in batches
    (ids=None: all of them)."""
    query = (
        select(Product)
        .options(
            selectinload(Product.organisation).selectinload(Organisation.county)
            .selectinload(County.townships),
            selectinload(Product.organisation).selectinload(Organisation.township),
            selectinload(Product.organisation).selectinload(Organisation.village),
            selectinload(Product.category),
            selectinload(Product.certificates),
        )
        .order_by(Product.id)
    )

    def with_sales(batch):
        sales = sales_of(session, [p.id for p in batch])
        for product in batch:
            yield product, sales.get(product.id, 0)

    if ids is not None:
        id_list = sorted(ids)
        for i in range(0, len(id_list), 500):
            yield from with_sales(list(session.scalars(
                query.where(Product.id.in_(id_list[i:i + 500])))))
        return
    last = 0
    while True:
        batch = list(session.scalars(query.where(Product.id > last).limit(2000)))
        if not batch:
            return
        yield from with_sales(batch)
        last = batch[-1].id
        session.expunge_all()
