"""Equal-rank results keep one order whatever the index went through; long queries are cut
with a note, and the search box says how long a query may be."""

from datetime import timedelta

from marketplace.catalog.models import Product
from marketplace.clock import today
from marketplace.search.index import rotation_key
from marketplace.search.services import search_products
from tests.factories import make_certified_product

QUERIES = [("粉条", "relevance"), ("方山", "relevance"), ("", "relevance"), ("", "price"),
           ("", "-price"), ("粉条", "price"), ("粉条", "sales")]


def orders() -> dict:
    return {(q, sort): [p.id for p in search_products(q, sort=sort, per_page=50).products]
            for q, sort in QUERIES}


def test_equal_results_keep_their_order_through_edits_and_rebuilds(app, db, places,
                                                                    producer_org):
    """24 products of equal rank and price: in today's rotation (a hash of the date and the
    product id), not by id, name length or insertion order; the same after a full rebuild,
    after edits rewrote some of their index documents, and after another rebuild; and
    another order tomorrow."""
    packs = ("", " 5斤装", " 10kg", "（家庭装）", " 2.5kg×4袋", "礼盒装")
    ids = [make_certified_product(producer_org, places.starch, name="粉条" + packs[n % 6]).id
           for n in range(24)]
    runner = app.test_cli_runner()
    assert "Indexed 24 products" in runner.invoke(args=["search", "reindex"]).output
    day = today()
    rotation = sorted(ids, key=lambda i: rotation_key(i, day))
    assert rotation != ids and rotation != ids[::-1]
    first = orders()
    for key in QUERIES:
        assert first[key] == rotation, key

    for product_id in ids[::3]:  # each edit rewrites the product's index document
        product = db.session.get(Product, product_id)
        product.stock = product.stock + 1
        db.session.commit()
    assert orders() == first

    runner.invoke(args=["search", "reindex"])
    assert orders() == first
    runner.invoke(args=["search", "reindex"])
    assert orders() == first

    app.config["FROZEN_TODAY"] = (day + timedelta(days=1)).isoformat()
    tomorrow = orders()
    assert tomorrow[("粉条", "relevance")] != rotation
    assert sorted(tomorrow[("粉条", "relevance")]) == sorted(ids)


def test_the_search_box_caps_the_query_and_a_long_query_is_cut_with_a_note(client, places,
                                                                            producer_org):
    make_certified_product(producer_org, places.starch, name="禹州粉条")
    for url in ("/", "/products", "/login", "/search?q=粉条"):
        page = client.get(url).get_data(as_text=True)
        assert 'name="q"' in page and 'maxlength="100"' in page, url
    long_query = "粉条" + "很" * 300
    response = client.get("/search", query_string={"q": long_query})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "搜索词最多 100 个字，已按前 100 个字搜索" in page
    short = client.get("/search", query_string={"q": "粉条"}).get_data(as_text=True)
    assert "已按前 100 个字搜索" not in short and 'href="/products/1"' in short
