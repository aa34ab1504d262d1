"""Ranking: the labelled set over a crowded catalogue, the issue's cases one by one, and the
buyer's "sort by sales"."""

import pytest

from bench import relevance
from marketplace.clock import today
from marketplace.demo.generate import generate
from marketplace.extensions import db as _db
from marketplace.search.services import reindex_all, search_products
from tests import factories
from tests.orders.conftest import market  # noqa: F401 - the orders' fixture, reused


def names(result, top=None):
    return [p.name for p in result.products[:top]]


@pytest.fixture
def crowded(app):
    """The demo generator's catalogue with crowded lines: 1,200 listings, 60 producers."""
    with relevance.crowded_demo_lines():
        generate(producers=60, products=1200, password="x", with_accounts=False)
    reindex_all()
    return relevance.listings(_db.session, today())


def test_the_labelled_set_ranks_well(crowded):
    """nDCG@10 and MRR over every labelled query that has a listing of the product meant
    in this catalogue (a township with nothing on sale has nothing to rank)."""
    judged = [j for j in relevance.SET if any(j.meant(x) for x in crowded)]
    assert len(judged) >= 100
    scores = relevance.evaluate(judged, crowded, lambda q: [
        p.id for p in search_products(q, per_page=10).products])
    quality = relevance.summary(scores)
    worst = sorted(scores, key=lambda s: s.ndcg)[:5]
    assert quality["ndcg10"] >= 0.9 and quality["mrr"] >= 0.9, (quality, [
        (s.query, round(s.ndcg, 2), s.top[:4]) for s in worst])
    for kind in ("category", "pinyin", "misspelling", "word"):
        assert quality["by_kind"][kind] >= 0.9, (kind, quality)


@pytest.fixture
def lines(places):
    """Near-duplicate listings of a few lines, by producers in two counties."""
    xiangcheng = factories.County(code="411025", name="襄城县", kind="county", position=5)
    _db.session.add_all([xiangcheng, factories.Township(county=xiangcheng, name="城关镇")])
    grain = factories.Category(code="grain_oil", name="花生大豆", position=9)
    fungi = factories.Category(code="fungi", name="食用菌", position=9)
    _db.session.add_all([grain, fungi])
    _db.session.commit()
    yuzhou = factories.make_producer(places.yuzhou, name="禹州方山红薯专业合作社")
    yuzhou.township_id = places.fangshan.id
    yanling = factories.make_producer(places.yanling, name="鄢陵花木合作社")
    yanling.township_id = places.taocheng.id
    others = factories.make_producer(xiangcheng, name="襄城县丰收农业合作社")
    _db.session.commit()
    listing = {}
    for org, category, name in [
        (yuzhou, places.starch, "粉皮"), (yuzhou, places.starch, "红薯粉皮"),
        (yuzhou, places.starch, "红薯粉条 10斤装"), (yuzhou, places.starch, "农家红薯粉面（礼盒装）"),
        (others, places.starch, "手工粉皮"),
        (others, grain, "芝麻香油"), (others, grain, "四粒红花生 5斤装"), (others, grain, "黄豆"),
        (others, fungi, "鲜香菇 10斤装"), (others, fungi, "白玉菇"), (others, fungi, "平菇"),
        (yanling, fungi, "鲜香菇"), (others, places.bee, "鄢陵槐花蜂蜜"),
    ]:
        origin = org.county.name + (org.township.name if org.township else "")
        listing[name] = factories.make_certified_product(org, category, name=name,
                                                         origin=origin)
    return listing


def test_a_compound_query_is_not_cut_into_a_word_and_a_prefix(lines):
    """红薯粉 means the 粉条 and 粉面 made of 红薯, not every 粉皮 (shorter names)."""
    top = names(search_products("红薯粉"), 2)
    assert set(top) == {"红薯粉条 10斤装", "农家红薯粉面（礼盒装）"}
    assert "粉皮" not in names(search_products("红薯粉"))


def test_full_and_short_place_names_meet(lines):
    """鄢陵县 and 鄢陵 find the 鄢陵 producer's products first (through its county), before a
    listing from elsewhere that only carries 鄢陵 in its name; townships the same."""
    for query in ("鄢陵县", "鄢陵"):
        assert names(search_products(query), 1) == ["鲜香菇"], query
        assert names(search_products(query))[-1] == "鄢陵槐花蜂蜜", query
    for query in ("陶城镇", "陶城"):
        assert names(search_products(query), 1) == ["鲜香菇"], query
    for query in ("方山镇", "方山"):
        assert set(names(search_products(query))) == {
            "粉皮", "红薯粉皮", "红薯粉条 10斤装", "农家红薯粉面（礼盒装）"}, query
    assert names(search_products("鄢陵县 香菇"), 1) == ["鲜香菇"]


def test_category_words_reach_every_member_and_combined_names_split(lines):
    """食用菌 finds a mushroom no word list names (白玉菇) as it finds 香菇; 花生 in the
    category 花生大豆 does not make 花生 find the sesame oil filed there; 大豆 does reach the
    category's products, as no product is named by it."""
    fungi = search_products("食用菌")
    assert set(names(fungi)) == {"鲜香菇 10斤装", "白玉菇", "平菇", "鲜香菇"}
    assert names(search_products("花生")) == ["四粒红花生 5斤装"]
    assert "芝麻香油" not in names(search_products("花生"))
    assert names(search_products("大豆"), 1) == ["黄豆"]


def test_a_pack_size_in_the_name_does_not_bury_a_listing(lines):
    """鲜香菇 10斤装 and 鲜香菇 are equally what 香菇 asks for: both lead, in today's rotation,
    ahead of other mushrooms; a query naming the pack size puts that listing first."""
    assert set(names(search_products("香菇"), 2)) == {"鲜香菇 10斤装", "鲜香菇"}
    assert names(search_products("香菇 10斤装"), 1) == ["鲜香菇 10斤装"]


def test_sort_by_sales_is_a_separate_choice(client, db, market):  # noqa: F811
    """Relevance stays the default; once an order is received, "sort by sales" puts the
    product that sold first, counted from the accepted amount, not per request."""
    from marketplace.orders import cart, services
    from marketplace.orders.models import ProductSales
    from marketplace.reports import rollups
    from tests.orders.conftest import delivery

    other = factories.make_certified_product(market.fentiao.organisation, market.fentiao.category,
                                             name="红薯粉条")
    assert search_products("粉条", sort="sales").filters["sort"] == "sales"
    cart.add_to_cart(market.purchaser, other, "10")
    order = services.submit_purchase_order(market.purchaser, delivery(market), "s" * 16)
    sub = order.sub_orders[0]
    services.accept_sub_order(market.farmer, sub)
    services.ship_sub_order(market.farmer, sub, {sub.lines[0].id: "10"})
    assert _db.session.get(ProductSales, other.id) is None  # shipped is not sold
    services.receive_sub_order(market.purchaser, sub, {sub.lines[0].id: "8"})
    sold = sub.lines[0].received_fen
    assert _db.session.get(ProductSales, other.id).received_fen == sold
    rollups.rebuild()  # recomputed from the lines by the reports' definition of a sale
    _db.session.commit()
    _db.session.expire_all()
    assert _db.session.get(ProductSales, other.id).received_fen == sold
    by_sales = names(search_products("粉条", sort="sales"))
    assert by_sales[0] == "红薯粉条" and "禹州粉条" in by_sales
    page = client.get("/search?q=粉条&sort=sales").get_data(as_text=True)
    first, then = f'href="/products/{other.id}"', f'href="/products/{market.fentiao.id}"'
    assert page.index(first) < page.index(then) and "<strong>销量</strong>" in page
    default = client.get("/search?q=粉条").get_data(as_text=True)
    assert "<strong>相关度</strong>" in default
    assert client.get("/search?q=粉条&sort=sold").status_code == 400
    catalogue = client.get("/products").get_data(as_text=True)  # the catalogue offers it too
    assert 'href="/search?sort=sales"' in catalogue
    everything = client.get("/search?sort=sales").get_data(as_text=True)
    assert everything.index(first) < everything.index(then)
