"""Plain factory functions with good defaults."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from marketplace.accounts.models import User
from marketplace.catalog.models import Category, Product  # noqa: F401
from marketplace.catalog.stock import record_initial
from marketplace.certification.models import CertificationApplication
from marketplace.certification.services import issue_certificate
from marketplace.clock import today
from marketplace.extensions import db
from marketplace.organisations.credit_code import check_character
from marketplace.organisations.models import Organisation
from marketplace.places.models import County, Township, Village  # noqa: F401 - re-exported for tests

PASSWORD = "correct horse battery"


@dataclass
class Places:
    yuzhou: County
    yanling: County
    fangshan: Township
    taocheng: Township
    village: Village
    starch: Category
    bee: Category


def seed_places() -> Places:
    yuzhou = County(code="411081", name="禹州市", kind="city", position=1)
    yanling = County(code="411024", name="鄢陵县", kind="county", position=2)
    fangshan = Township(county=yuzhou, name="方山镇")
    taocheng = Township(county=yanling, name="陶城镇")
    village = Village(township=fangshan, name="李庄村", formerly_poor=True)
    starch = Category(code="starch", name="三粉制品", position=1)
    bee = Category(code="bee", name="蜂产品", position=2)
    db.session.add_all([yuzhou, yanling, fangshan, taocheng, village, starch, bee])
    db.session.commit()
    return Places(yuzhou, yanling, fangshan, taocheng, village, starch, bee)


_serial = [0]


def credit_code(serial: int | None = None) -> str:
    if serial is None:
        _serial[0] += 1
        serial = _serial[0]
    first17 = f"93411081MA{serial:07d}"
    return first17 + check_character(first17)


def make_user(username: str, *, role: str, organisation=None, county=None,
              password: str = PASSWORD) -> User:
    user = User(username=username, display_name=f"{username} 姓名", role=role,
                organisation_id=organisation.id if organisation else None,
                county_id=county.id if county else None)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def make_producer(county: County, *, status: str = "verified", name: str = "禹州方山粉条合作社",
                  **fields) -> Organisation:
    township = county.townships[0]
    org = Organisation(
        kind="producer", org_type="cooperative", name=name, credit_code=credit_code(),
        legal_representative="王建国", contact_phone="13800000000", county_id=county.id,
        township_id=township.id, status=status, benefit_types="wages", poor_households=12,
        **fields,
    )
    db.session.add(org)
    db.session.commit()
    return org


def product_data(category: Category, **overrides) -> dict:
    data = {
        "name": "禹州粉条", "category_id": category.id, "specification": "2.5公斤/袋",
        "origin": "禹州市方山镇", "unit": "袋", "price_yuan": "28.50", "min_order_qty": "2",
        "stock": "100", "annual_supply_capacity": "50 吨", "description": "纯红薯淀粉",
    }
    data.update(overrides)
    return data


def make_product(org: Organisation, category: Category, *, name="禹州粉条", price_fen=2850,
                 stock="100", origin="禹州市方山镇") -> Product:
    product = Product(
        organisation_id=org.id, category_id=category.id, name=name, specification="2.5公斤/袋",
        origin=origin, unit="袋", price_fen=price_fen, min_order_qty=Decimal(2),
        stock=Decimal(stock), status="active",
    )
    db.session.add(product)
    db.session.flush()
    record_initial(product, None)
    db.session.commit()
    return product


def make_certified_product(org: Organisation, category: Category, *, issued_days_ago=30,
                           name="禹州粉条", actor=None, origin="禹州市方山镇") -> Product:
    """A product whose certificate was issued `issued_days_ago` days ago (so already valid)."""
    product = make_product(org, category, name=name, origin=origin)
    application = CertificationApplication(
        product_id=product.id, organisation_id=org.id, county_id=org.county_id,
        status="approved", product_name=product.name, specification=product.specification,
        origin=product.origin, price_fen=product.price_fen, unit=product.unit,
        category_id=product.category_id,
        annual_supply_capacity="50 吨", benefit_mechanism="务工和订单收购",
    )
    db.session.add(application)
    db.session.flush()
    issue_certificate(actor, application, today() - timedelta(days=issued_days_ago))
    db.session.commit()
    return product


def make_buyer(county: County, *, name="许昌市中心医院职工食堂", org_type="canteen",
               threshold_fen=None, budget_fen=120_000_000, status="verified"):
    """A verified buyer organisation with its profile and one delivery address."""
    from marketplace.buyers.models import BuyerProfile, DeliveryAddress

    org = Organisation(
        kind="buyer", org_type=org_type, name=name, credit_code=credit_code(),
        legal_representative="李院长", contact_phone="03740000000", county_id=county.id,
        township_id=county.townships[0].id, status=status,
    )
    db.session.add(org)
    db.session.flush()
    db.session.add(BuyerProfile(organisation_id=org.id, invoice_title=name,
                                tax_number=org.credit_code, approval_threshold_fen=threshold_fen,
                                annual_food_budget_fen=budget_fen))
    db.session.add(DeliveryAddress(organisation_id=org.id, label="食堂后门",
                                   address="许昌市魏都区健康路1号", contact_name="张师傅",
                                   contact_phone="13937400000"))
    db.session.commit()
    return org
