"""Producers manage listings; visitors browse what is on sale today."""

from dataclasses import dataclass
from dataclasses import field as dataclass_field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.orm import selectinload

from marketplace import uploads
from marketplace.audit.models import record
from marketplace.catalog import readmodel
from marketplace.catalog.models import (
    CERTIFIED_FIELDS,
    FROZEN_IN_REVIEW,
    UNITS,
    Category,
    Product,
    ProductPhoto,
    ProductStatus,
)
from marketplace.catalog.queries import on_sale_products
from marketplace.catalog.stock import record_initial
from marketplace.clock import today
from marketplace.errors import Invalid, NotFound
from marketplace.extensions import db
from marketplace.money import MoneyError, format_quantity, format_yuan, parse_quantity, parse_yuan
from marketplace.organisations.models import Organisation
from marketplace.permissions import authorize, can
from marketplace.uow import lock_row, on_commit, on_rollback, use_case
from marketplace.workflow import fire

MAX_PHOTOS = 8
TEXT_FIELDS = {
    "name": 80, "specification": 120, "origin": 120, "annual_supply_capacity": 60,
    "description": 4000,
}
FORM_FIELD = {"price_fen": "price_yuan"}  # service value -> the form field a person typed in


def price_message(reason: str) -> str:
    return {
        "grouping": _("千分位逗号位置不对：请写成 1,234.50 或 1234.50（小数点用“.”）。"),
        "not a number": _("请填写数字价格，例如 12.50（全角数字会自动转换）。"),
        "too large": _("价格过大，请核对。"),
    }.get(reason, _("价格须大于 0，最多两位小数。"))


def quantity_message(reason: str, positive: bool) -> str:
    return {
        "not a number": _("请填写数字，最多 3 位小数。"),
        "too many decimals": _("请填写数字，最多 3 位小数。"),
        "too large": _("数值过大。"),
    }.get(reason, _("必须大于 0。") if positive else _("不能为负数。"))


def _quantity(value, field: str, errors: dict, *, positive: bool):
    try:
        return parse_quantity(value, positive=positive)
    except MoneyError as exc:
        errors[field] = [quantity_message(str(exc), positive)]
        return None


def _clean(data: dict, *, creating: bool) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    values: dict = {}
    for field, limit in TEXT_FIELDS.items():
        values[field] = (data.get(field) or "").strip()
        if len(values[field]) > limit:
            errors[field] = [_("不能超过 %(n)s 个字。", n=limit)]
    if not values["name"]:
        errors["name"] = [_("此项必填。")]
    category_id = data.get("category_id")
    category = (db.session.get(Category, category_id)
                if isinstance(category_id, int) and 0 < category_id < 2**31 else None)
    if category is None:
        errors["category_id"] = [_("请选择品类。")]
    values["category_id"] = category.id if category else None
    if data.get("unit") not in UNITS:
        errors["unit"] = [_("请选择计量单位。")]
    values["unit"] = data.get("unit")
    try:
        values["price_fen"] = parse_yuan(data.get("price_yuan"))
    except MoneyError as exc:
        errors["price_yuan"] = [price_message(str(exc))]
    values["min_order_qty"] = _quantity(data.get("min_order_qty"), "min_order_qty", errors,
                                        positive=True)
    values["qty_step"] = _quantity(data.get("qty_step") or "1", "qty_step", errors,
                                   positive=True)
    if creating:  # afterwards stock moves only by orders and reasoned adjustments
        values["stock"] = _quantity(data.get("stock"), "stock", errors, positive=False)
    return values, errors


def _describe(field: str, value) -> str:
    if field == "price_fen":
        return format_yuan(value)
    if field in ("stock", "min_order_qty"):
        return format_quantity(value)
    return str(value)


@use_case("product.create", subject="organisation")
def create_product(actor, organisation: Organisation, data: dict) -> Product:
    values, errors = _clean(data, creating=True)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    product = Product(organisation_id=organisation.id, status=ProductStatus.ACTIVE, **values)
    db.session.add(product)
    db.session.flush()
    record_initial(product, actor)
    record(actor, "product.created", product)
    return product


def price_ceiling(product: Product) -> int | None:
    """The highest price (fen) the current certificate allows without a new review."""
    margin = current_app.config["CERT_PRICE_MARGIN_PERCENT"]
    ceilings = [c.price_ceiling(margin) for c in product.certificates
                if c.is_current(today()) and c.certified_price_fen]
    return max(ceilings, default=None)


@use_case("product.edit", subject="product")
def update_product(actor, product: Product, data: dict) -> list[str]:
    """Edit a listing; return the changed fields.

    While a certification application is open, what the reviewers judge (name,
    specification, origin, unit, category and price) cannot change. On a certified product,
    changing a certified fact, or raising the price above the certified price by more than
    CERT_PRICE_MARGIN_PERCENT, suspends the certificate and opens a new review; a price cut
    never does. Every change leaves an audit record.
    """
    from marketplace.certification.services import pending_application, send_back_for_review

    lock_row(product)
    values, errors = _clean(data, creating=False)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    changed = [k for k, v in values.items() if getattr(product, k) != v]
    frozen = [k for k in changed if k in FROZEN_IN_REVIEW]
    if frozen and pending_application(product):
        msg = _("认定申请审核期间，名称、规格、产地、单位、品类和价格不能修改。如需修改，请先撤回申请。")
        raise Invalid(msg, {FORM_FIELD.get(k, k): [msg] for k in frozen})
    ceiling = price_ceiling(product)
    for field in changed:
        old = getattr(product, field)
        record(actor, f"product.{field}_changed", product,
               reason=f"{_describe(field, old)} → {_describe(field, values[field])}")
        setattr(product, field, values[field])
    reasons = []
    if any(f in CERTIFIED_FIELDS for f in changed):
        reasons.append(_("产品名称、规格、产地、单位或品类变更"))
    if "price_fen" in changed and ceiling is not None and product.price_fen > ceiling:
        reasons.append(_("价格 ¥%(price)s 超出认定价格允许的上限 ¥%(ceiling)s",
                         price=format_yuan(product.price_fen), ceiling=format_yuan(ceiling)))
    if reasons:
        send_back_for_review(actor, product, "；".join(reasons) + _("，需重新认定。"))
    return changed


@use_case("product.edit", subject="product")
def archive_product(actor, product: Product) -> None:
    fire(product, "archive", actor)


@use_case("product.edit", subject="product")
def restore_product(actor, product: Product) -> None:
    fire(product, "restore", actor)


@use_case("product.edit", subject="product")
def add_photo(actor, product: Product, file_storage) -> ProductPhoto:
    """Add a photo; the limit holds however many uploads race (the product row is locked)."""
    lock_row(product)
    count = db.session.scalar(
        db.select(func.count(ProductPhoto.id)).where(ProductPhoto.product_id == product.id))
    if count >= MAX_PHOTOS:
        msg = _("每个产品最多 %(n)s 张照片。", n=MAX_PHOTOS)
        raise Invalid(msg, {"photo": [msg]})
    stored = uploads.store_image(file_storage, "photos", "photo")
    on_rollback(lambda: uploads.discard("photos", stored.stored_name))
    photo = ProductPhoto(product_id=product.id, stored_name=stored.stored_name, position=count)
    db.session.add(photo)
    record(actor, "product.photo_added", product)
    return photo


@use_case("product.edit", subject=lambda args: args["photo"].product)
def remove_photo(actor, photo: ProductPhoto) -> None:
    product = photo.product
    name = photo.stored_name
    db.session.delete(photo)
    record(actor, "product.photo_removed", product)
    on_commit(lambda: uploads.discard("photos", name))


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(_("产品不存在。"))
    return product


def get_editable_product(actor, product_id: int) -> Product:
    product = get_product(product_id)
    authorize("product.edit", actor, product)
    return product


def get_photo(actor, photo_id: int) -> ProductPhoto:
    photo = db.session.get(ProductPhoto, photo_id)
    if photo is None:
        raise NotFound(_("照片不存在。"))
    authorize("product.edit", actor, photo.product)
    return photo


def get_product_for_viewer(actor, product_id: int) -> Product:
    """A product page: anyone while on sale; otherwise only its producer and reviewers."""
    product = get_product(product_id)
    if product.is_on_sale(today()) or can("product.read_private", actor, product):
        return product
    raise NotFound(_("产品不存在或已下架。"))


def can_see_photo(actor, stored_name: str) -> bool:
    photo = db.session.scalar(db.select(ProductPhoto).where(ProductPhoto.stored_name == stored_name))
    if photo is None:
        raise NotFound(_("照片不存在。"))
    return photo.product.is_on_sale(today()) or can("product.read_private", actor, photo.product)


@dataclass
class CataloguePage:
    """One page of the catalogue, shaped like Flask-SQLAlchemy's Pagination for templates."""

    items: list[Product]
    page: int
    per_page: int
    total: int
    grid: dict = dataclass_field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def browse_catalogue(*, county_id=None, category_id=None, page=1, per_page=24,
                     version: int | None = None) -> CataloguePage:
    """The public catalogue: products on sale today, filterable, newest first.

    Which ids are on which page comes from the read model's cached listing (readmodel.py),
    so a deep page costs what page 1 costs; the products shown are then loaded by primary
    key and re-checked against the on-sale rule.
    """
    day = today()
    listing = readmodel.listing(day, version)
    ids = listing.ids_for(county_id, category_id)
    start = (page - 1) * per_page
    page_ids = list(ids[start:start + per_page])
    products = []
    if page_ids:
        query = on_sale_products(day).where(Product.id.in_(page_ids)).options(
            selectinload(Product.photos), selectinload(Product.category),
            selectinload(Product.organisation).selectinload(Organisation.county),
        )
        found = {p.id: p for p in db.session.scalars(query)}
        products = [found[i] for i in page_ids if i in found]
    return CataloguePage(products, page, per_page, len(ids), listing.grid)


def producer_products_on_sale(org: Organisation) -> list[Product]:
    query = on_sale_products(today()).where(Product.organisation_id == org.id)
    return list(db.session.scalars(query.order_by(Product.id.desc())))


def organisation_products(actor, org: Organisation) -> list[Product]:
    authorize("product.create", actor, org)
    query = db.select(Product).where(Product.organisation_id == org.id)
    return list(db.session.scalars(query.order_by(Product.status, Product.id.desc())))


def categories() -> list[Category]:
    return list(db.session.scalars(db.select(Category).order_by(Category.position, Category.id)))
