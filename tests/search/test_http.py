"""The search page and the suggest endpoint through HTTP."""

import pytest


def test_search_page_highlights_and_counts(client, catalogue):
    page = client.get("/search?q=粉条").get_data(as_text=True)
    assert "<mark>粉条</mark>" in page
    assert "禹州市 (2)" in page
    assert "找到 2 个在售产品" in page


def test_search_box_on_every_page(client, catalogue):
    for url in ("/", "/products", "/login"):
        assert 'action="/search"' in client.get(url).get_data(as_text=True)


def test_filters_combine_with_query(client, catalogue, places):
    page = client.get(f"/search?q=蜂&county={places.yanling.id}").get_data(as_text=True)
    assert "找到 0 个" in page
    page = client.get("/search?q=&mark=geo_indication&sort=-price").get_data(as_text=True)
    assert page.index("鄢陵蜡梅") < page.index("许昌腐竹")


def test_did_you_mean_link(client, catalogue):
    """A misspelt query that finds nothing shows the close spelling's results, and says so."""
    page = client.get("/search?q=fentaio").get_data(as_text=True)
    assert "没有找到“fentaio”" in page and "q=fentiao" in page
    assert "禹州粉条" in page and "找到 2 个在售产品" in page


@pytest.mark.parametrize("query", ['"', "*:*", "a" * 10_000, "粉条 OR (", "%00", "\x00"])
def test_odd_queries_never_fail(client, catalogue, query):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200


def test_a_long_query_is_cut_and_the_page_says_so(client, catalogue):
    page = client.get("/search", query_string={"q": "粉条" + "a" * 200}).get_data(as_text=True)
    assert "最多 100 个字" in page


@pytest.mark.parametrize("param, value", [("page", "x"), ("page", "0"), ("page", "9" * 20),
                                          ("county", "abc"), ("county", "²"),
                                          ("category", "9" * 20), ("price", "free"),
                                          ("sort", "drop table"), ("mark", "gold")])
def test_bad_filter_parameters_get_a_clear_400(client, catalogue, param, value):
    response = client.get("/search", query_string={"q": "粉条", param: value})
    assert response.status_code == 400
    assert f"参数 {param} 无效" in response.get_data(as_text=True)


def test_suggest_json(client, catalogue):
    response = client.get("/search/suggest?q=fent")
    assert response.is_json
    assert {"禹州粉条", "红薯粉条"} <= set(response.get_json()["suggestions"])
    assert client.get("/search/suggest").get_json()["suggestions"] == []


def test_html_in_product_names_is_escaped(client, catalogue, db):
    product = catalogue["蜂胶"]
    product.name = "蜂胶<script>x</script>"
    db.session.commit()
    page = client.get("/search?q=蜂胶").get_data(as_text=True)
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
