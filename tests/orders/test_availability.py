""""On sale" and "orderable" in SQL (lists) and in Python (one product) agree, case by case."""

from datetime import timedelta
from decimal import Decimal

from marketplace.catalog.availability import (
    is_on_sale,
    is_orderable,
    on_sale_products,
    orderable_sql,
)
from marketplace.catalog.models import Product
from marketplace.clock import today
from marketplace.organisations.models import Organisation
from tests import factories


def test_the_sql_and_python_forms_agree_on_every_case_and_day(db, places, producer_org):
    suspended = factories.make_producer(places.yanling, name="已暂停合作社")
    day = today()

    def product(name, org=producer_org, **certificate):
        item = factories.make_certified_product(org, places.starch, name=name)
        for key, value in certificate.items():
            setattr(item.certificates[0], key, value)
        db.session.commit()
        return item

    cases = {
        "valid": product("有效"),
        "archived": product("已归档"),
        "producer suspended": product("主体暂停", org=suspended),
        "in notice": product("公示中", valid_from=day + timedelta(days=3)),
        "expired": product("已过期", valid_until=day - timedelta(days=1)),
        "ends today": product("今天到期", valid_until=day),
        "starts today": product("今天生效", valid_from=day),
        "suspended": product("证书暂停", status="suspended"),
        "revoked": product("证书撤销", status="revoked"),
        "superseded": product("证书被替换", status="superseded"),
        "below minimum": product("库存不足"),
        "exactly minimum": product("库存正好"),
    }
    cases["archived"].status = "archived"
    suspended.status = "suspended"
    cases["below minimum"].stock = Decimal("1.5")  # the minimum is 2
    cases["exactly minimum"].stock = Decimal(2)
    db.session.commit()

    expected_today = {"valid", "ends today", "starts today", "below minimum", "exactly minimum"}
    for offset in (-30, -1, 0, 1, 3, 400):
        when = day + timedelta(days=offset)
        db.session.expire_all()
        listed = set(db.session.scalars(on_sale_products(when).with_only_columns(Product.id)))
        orderable = set(db.session.scalars(db.select(Product.id).join(Organisation)
                                           .where(orderable_sql(when))))
        for name, item in cases.items():
            item = db.session.get(Product, item.id)
            assert (item.id in listed) == is_on_sale(item, when), (name, offset)
            assert (item.id in orderable) == is_orderable(item, when), (name, offset)
            if offset == 0:
                assert is_on_sale(item, when) == (name in expected_today), name
                assert is_orderable(item, when) == (name in expected_today - {"below minimum"})
