"""Search: Chinese segmentation, pinyin, facets, and an index that never lies."""

import shutil
from datetime import date, timedelta

import pytest

from marketplace.catalog import services as catalog
from marketplace.certification import services as certification
from marketplace.organisations import services as organisations
from marketplace.search import index
from marketplace.search.services import index_path, reindex_all, search_products, suggestions
from tests.search.conftest import RELEVANCE


def names(result, top=None):
    return [p.name for p in result.products[:top]]


@pytest.mark.parametrize("query, expected", sorted(RELEVANCE.items()))
def test_labelled_queries_find_their_products_in_the_top_five(catalogue, query, expected):
    top = names(search_products(query), 5)
    assert set(expected) <= set(top), (query, top)


def test_results_hold_only_matching_products(catalogue):
    result = search_products("蜂蜜")
    assert set(names(result)) == {"枣花蜜", "槐花蜂蜜"}
    assert "红薯粉条" not in names(search_products("蜡梅"))


def test_facets_count_and_filter(catalogue, places):
    result = search_products("粉条")
    counties = {f.label: f.count for f in result.facets["county_id"]}
    assert counties == {"禹州市": 2}
    everything = search_products("")
    assert {f.label: f.count for f in everything.facets["county_id"]} == {
        "禹州市": 7, "鄢陵县": 3, "长葛市": 4, "建安区": 2}
    marks = {f.value: f.count for f in everything.facets["marks"]}
    assert marks == {"green_food": 3, "organic": 1, "geo_indication": 3}
    assert names(search_products("", county_id=places.yanling.id, marks=["geo_indication"])) == [
        "鄢陵蜡梅"]
    cheap = search_products("", price="10-30")
    assert all(1000 <= p.price_fen < 3000 for p in cheap.products) and cheap.total == 6


def test_sort_by_price(catalogue):
    up = [p.price_fen for p in search_products("蜂", sort="price").products]
    assert up == sorted(up) and len(up) >= 3
    down = [p.price_fen for p in search_products("蜂", sort="-price").products]
    assert down == sorted(down, reverse=True)


def test_did_you_mean(catalogue):
    result = search_products("fentaio")
    assert result.corrected == "fentiao" and {"禹州粉条", "红薯粉条"} <= set(names(result))
    wrong = search_products("蜡海")
    assert wrong.corrected == "蜡梅" and "鄢陵蜡梅" in names(wrong)
    assert search_products("粉条").corrected is None
    # Spelt right but filtered to nothing: no correction, an empty page.
    assert search_products("蜂蜜", county_id=catalogue["鄢陵蜡梅"].organisation.county_id
                           ).total == 0


def test_suggestions_for_chinese_and_pinyin_prefixes(catalogue):
    assert "枣花蜜" in suggestions("枣")
    assert {"禹州粉条", "红薯粉条"} <= set(suggestions("fent"))
    assert suggestions("") == []


@pytest.mark.parametrize("query", [
    '"粉条', "粉条*", "name:粉条", "粉条 AND OR NOT", "(粉条", "[a TO z]", "*", "?", "\\", "'",
    "", "粉" * 10_000, "<script>alert(1)</script>", "%", "粉条 -蜜 +",
])
def test_odd_queries_give_a_normal_result(catalogue, query):
    result = search_products(query)
    assert result.total >= 0
    for product in result.products:
        assert product.is_on_sale(date.today())


def test_changes_reach_the_index_at_once(catalogue, admin, places):
    fentiao = catalogue["禹州粉条"]
    producer = factories_user(fentiao.organisation)
    assert search_products("").total == len(catalogue)  # caches the index's rows
    catalog.archive_product(producer, fentiao)
    assert search_products("").total == len(catalogue) - 1  # the deletion counts at once
    assert "禹州粉条" not in names(search_products("粉条"))
    assert fentiao.id not in index.stored_documents(index_path())
    catalog.restore_product(producer, fentiao)
    assert "禹州粉条" in names(search_products("粉条"))

    honey = catalogue["枣花蜜"]
    certification.suspend_certificate(admin, honey.certificates[0], "价格虚高")
    assert "枣花蜜" not in names(search_products("蜂蜜"))
    certification.reinstate_certificate(admin, honey.certificates[0], "已整改")
    assert "枣花蜜" in names(search_products("蜂蜜"))
    certification.revoke_certificate(admin, honey.certificates[0], "抽检不合格")
    assert "枣花蜜" not in names(search_products("蜂蜜"))

    organisations.suspend_organisation(admin, catalogue["鄢陵蜡梅"].organisation, "违规")
    assert search_products("鄢陵").total == 0


def test_rename_is_searchable_at_once(catalogue, db):
    product = catalogue["豆腐皮"]
    producer = factories_user(product.organisation)
    catalog.update_product(producer, product, {
        "name": "豆腐皮", "category_id": product.category_id, "specification": "鲜品",
        "origin": "建安区", "unit": "袋", "price_yuan": "9.90", "min_order_qty": "2",
        "stock": "10"})
    stored = index.stored_documents(index_path())
    assert product.id not in stored  # origin changed: certificate suspended, off sale


def test_expiry_needs_no_rebuild(catalogue, app):
    last_day = catalogue["禹州粉条"].certificates[0].valid_until
    app.config["FROZEN_TODAY"] = last_day.isoformat()
    assert "禹州粉条" in names(search_products("粉条"))
    app.config["FROZEN_TODAY"] = (last_day + timedelta(days=1)).isoformat()
    assert search_products("粉条").total == 0
    assert search_products("").total == 0


def test_rollback_leaves_the_index_alone(catalogue, db):
    product = catalogue["金银花"]
    product.status = "archived"
    db.session.flush()
    db.session.rollback()
    assert product.id in index.stored_documents(index_path())
    assert "金银花" in names(search_products("金银花"))


def test_index_is_derived_data(catalogue, app):
    before = names(search_products("粉条"))
    index.forget(index_path())
    shutil.rmtree(index_path())
    assert not index.exists(index_path())
    count, _seconds = reindex_all()
    assert count == len(catalogue)
    assert names(search_products("粉条")) == before


def test_cli_reindex(catalogue, app):
    runner = app.test_cli_runner()
    assert "present" in runner.invoke(args=["search", "reindex", "--if-missing"]).output
    assert f"Indexed {len(catalogue)}" in runner.invoke(args=["search", "reindex"]).output


def factories_user(org):
    from tests.factories import make_user

    return make_user(f"member{org.id}", role="producer", organisation=org)


def test_an_update_blocked_by_the_lock_stays_in_the_log(catalogue, app, db):
    """Another worker holds the index lock past the timeout: the change waits, not lost."""
    from marketplace.search import changelog

    app.config["SEARCH_WRITE_TIMEOUT"] = 0.2
    product = catalogue["金银花"]
    producer = factories_user(product.organisation)
    holder = index.hold_write_lock(index_path())
    try:
        catalog.archive_product(producer, product)
        assert product.id in index.stored_documents(index_path())  # not written yet
        waiting, _rebuild = changelog.pending(db.session, index_path())
        assert {pid for _cid, pid in waiting} == {product.id}
        assert "金银花" not in names(search_products("金银花"))  # the page rechecks the database
    finally:
        holder.cancel()
    search_products("粉条")  # the next search replays what is pending
    assert product.id not in index.stored_documents(index_path())
    assert changelog.pending(db.session, index_path())[0] == []


def test_check_finds_and_repairs_drift(catalogue, app, db):
    """`flask search check` tells when the index and database disagree, and can repair it."""
    runner = app.test_cli_runner()
    assert "missing 0, extra 0, stale 0" in runner.invoke(args=["search", "check"]).output
    product = catalogue["月季苗"]
    index.apply_changes(index_path(), lambda: ([], [product.id]))  # drift: an update lost
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and "missing 1" in result.output
    assert "repaired" in runner.invoke(args=["search", "check", "--repair"]).output
    assert product.id in index.stored_documents(index_path())
