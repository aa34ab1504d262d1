"""Stock moves only by orders and reasoned adjustments, each one in the ledger."""

from decimal import Decimal

from marketplace.catalog.models import Product, StockMovement
from tests import factories
from tests.helpers import login, post_form


def text(response) -> str:
    return response.get_data(as_text=True)


def ledger(db, product) -> list[tuple]:
    return [(m.reason, m.delta, m.balance) for m in db.session.scalars(
        db.select(StockMovement).where(StockMovement.product_id == product.id)
        .order_by(StockMovement.id))]


def test_the_product_form_cannot_overwrite_stock_orders_are_taking(client, db, market):
    login(client, "farmer")
    data = factories.product_data(market.fentiao.category, stock="999", name="禹州粉条")
    response = post_form(client, f"/my/products/{market.fentiao.id}/edit", data)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, market.fentiao.id).stock == 100
    assert ledger(db, market.fentiao) == [("initial", Decimal(100), Decimal(100))]


def test_adjustments_are_refused_when_they_would_break_the_stock(client, db, market):
    login(client, "farmer")
    page = f"/my/products/{market.fentiao.id}/edit"
    path = f"/my/products/{market.fentiao.id}/stock"
    for data, message in [
        ({"reason": "loss", "quantity": "101"}, "损耗不能超过现有库存（100）"),
        ({"reason": "order", "quantity": "5"}, "不是有效的选择"),  # orders move stock by themselves
        ({"reason": "release", "quantity": "5"}, "不是有效的选择"),
        ({"reason": "restock", "quantity": "-5"}, "请填写不小于 0 的数字"),
        ({"reason": "recount", "quantity": "abc"}, "请填写不小于 0 的数字"),
    ]:
        response = post_form(client, path, {**data, "note": ""}, page=page)
        assert response.status_code == 400, data
        assert message in text(response), data
    assert ledger(db, market.fentiao) == [("initial", Decimal(100), Decimal(100))]
    post_form(client, path, {"reason": "recount", "quantity": "96", "note": "月底盘点"}, page=page)
    post_form(client, path, {"reason": "loss", "quantity": "6", "note": "受潮"}, page=page)
    post_form(client, path, {"reason": "restock", "quantity": "10", "note": ""}, page=page)
    assert ledger(db, market.fentiao) == [
        ("initial", Decimal(100), Decimal(100)), ("recount", Decimal(-4), Decimal(96)),
        ("loss", Decimal(-6), Decimal(90)), ("restock", Decimal(10), Decimal(100))]
    db.session.expire_all()
    assert db.session.get(Product, market.fentiao.id).stock == 100


def test_another_producer_cannot_adjust_the_stock(client, db, market):
    login(client, "beekeeper")
    response = post_form(client, f"/my/products/{market.fentiao.id}/stock",
                         {"reason": "loss", "quantity": "100", "note": ""}, page="/")
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Product, market.fentiao.id).stock == 100
