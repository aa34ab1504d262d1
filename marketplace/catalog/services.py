"""Producers manage listings; visitors browse what is on sale today."""

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from marketplace import uploads
from marketplace.audit.models import record
from marketplace.catalog.models import (
    CERTIFIED_FIELDS,
    UNITS,
    Category,
    Product,
    ProductPhoto,
    ProductStatus,
)
from marketplace.catalog.queries import on_sale_products
from marketplace.clock import today
from marketplace.errors import Invalid, NotFound
from marketplace.extensions import db
from marketplace.money import MoneyError, format_quantity, format_yuan, parse_yuan
from marketplace.organisations.models import Organisation
from marketplace.permissions import authorize, can
from marketplace.workflow import transition

MAX_PHOTOS = 8
TEXT_FIELDS = {
    "name": 80, "specification": 120, "origin": 120, "annual_supply_capacity": 60,
    "description": 4000,
}
QUANTITY_LIMIT = Decimal("100000000")


def _quantity(value, field: str, errors: dict, *, positive: bool) -> Decimal | None:
    try:
        qty = Decimal(str(value).strip())
        if not qty.is_finite() or qty.as_tuple().exponent < -3:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[field] = [_("请填写数字，最多 3 位小数。")]
        return None
    if qty < 0 or (positive and qty == 0):
        errors[field] = [_("必须大于 0。") if positive else _("不能为负数。")]
        return None
    if qty >= QUANTITY_LIMIT:
        errors[field] = [_("数值过大。")]
        return None
    return qty


def _clean(data: dict) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    values: dict = {}
    for field, limit in TEXT_FIELDS.items():
        values[field] = (data.get(field) or "").strip()
        if len(values[field]) > limit:
            errors[field] = [_("不能超过 %(n)s 个字。", n=limit)]
    if not values["name"]:
        errors["name"] = [_("此项必填。")]
    category = db.session.get(Category, data.get("category_id") or 0)
    if category is None:
        errors["category_id"] = [_("请选择品类。")]
    values["category_id"] = category.id if category else None
    if data.get("unit") not in UNITS:
        errors["unit"] = [_("请选择计量单位。")]
    values["unit"] = data.get("unit")
    try:
        values["price_fen"] = parse_yuan(data.get("price_yuan"))
    except MoneyError as exc:
        errors["price_yuan"] = [
            _("价格须大于 0，最多两位小数。") if str(exc) != "not a number"
            else _("请填写数字价格，例如 12.50。")
        ]
    values["min_order_qty"] = _quantity(data.get("min_order_qty"), "min_order_qty", errors,
                                        positive=True)
    values["stock"] = _quantity(data.get("stock"), "stock", errors, positive=False)
    for mark in ("green_food", "organic", "geo_indication"):
        values[mark] = bool(data.get(mark))
    return values, errors


def _describe(field: str, value) -> str:
    if field == "price_fen":
        return format_yuan(value)
    if field in ("stock", "min_order_qty"):
        return format_quantity(value)
    return str(value)


def create_product(actor, organisation: Organisation, data: dict) -> Product:
    authorize("product.create", actor, organisation)
    values, errors = _clean(data)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    product = Product(organisation_id=organisation.id, status=ProductStatus.ACTIVE, **values)
    db.session.add(product)
    db.session.flush()
    record(actor, "product.created", product)
    db.session.commit()
    return product


def update_product(actor, product: Product, data: dict) -> list[str]:
    """Edit a listing; return the changed fields.

    Changing name, specification or origin of a certified product suspends its certificate
    and opens a review application, because what was certified is no longer what is sold.
    Price and stock edits only leave an audit record.
    """
    authorize("product.edit", actor, product)
    values, errors = _clean(data)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    changed = [k for k, v in values.items() if getattr(product, k) != v]
    for field in changed:
        old = getattr(product, field)
        record(actor, f"product.{field}_changed", product,
               reason=f"{_describe(field, old)} → {_describe(field, values[field])}")
        setattr(product, field, values[field])
    if any(f in CERTIFIED_FIELDS for f in changed):
        from marketplace.certification.services import send_back_for_review

        send_back_for_review(actor, product)
    db.session.commit()
    return changed


def archive_product(actor, product: Product) -> None:
    authorize("product.edit", actor, product)
    transition(product, ProductStatus.ARCHIVED, actor, action="product.archived")
    db.session.commit()


def restore_product(actor, product: Product) -> None:
    authorize("product.edit", actor, product)
    transition(product, ProductStatus.ACTIVE, actor, action="product.restored")
    db.session.commit()


def add_photo(actor, product: Product, file_storage) -> ProductPhoto:
    authorize("product.edit", actor, product)
    if len(product.photos) >= MAX_PHOTOS:
        msg = _("每个产品最多 %(n)s 张照片。", n=MAX_PHOTOS)
        raise Invalid(msg, {"photo": [msg]})
    stored = uploads.store_image(file_storage, "photos", "photo")
    photo = ProductPhoto(product=product, stored_name=stored.stored_name,
                         position=len(product.photos))
    db.session.add(photo)
    record(actor, "product.photo_added", product)
    db.session.commit()
    return photo


def remove_photo(actor, photo: ProductPhoto) -> None:
    product = photo.product
    authorize("product.edit", actor, product)
    name = photo.stored_name
    db.session.delete(photo)
    record(actor, "product.photo_removed", product)
    db.session.commit()
    uploads.discard("photos", name)


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


def browse_catalogue(*, county_id=None, category_id=None, page=1, per_page=24, total=None):
    """The public catalogue: products on sale today, filterable, newest first.

    Pass `total` when the caller already counted (from on_sale_grid) to skip a count query.
    """
    query = on_sale_products(today()).options(
        selectinload(Product.photos),
        selectinload(Product.organisation).selectinload(Organisation.county),
        selectinload(Product.certificates),
    )
    if county_id:
        query = query.where(Organisation.county_id == county_id)
    if category_id:
        query = query.where(Product.category_id == category_id)
    query = query.order_by(Product.id.desc())
    result = db.paginate(query, page=page, per_page=per_page, error_out=False,
                         count=total is None)
    if total is not None:
        result.total = total
    return result


def producer_products_on_sale(org: Organisation) -> list[Product]:
    query = on_sale_products(today()).where(Product.organisation_id == org.id)
    return list(db.session.scalars(query.order_by(Product.id.desc())))


def organisation_products(actor, org: Organisation) -> list[Product]:
    authorize("product.create", actor, org)
    query = db.select(Product).where(Product.organisation_id == org.id)
    return list(db.session.scalars(query.order_by(Product.status, Product.id.desc())))


def categories() -> list[Category]:
    return list(db.session.scalars(db.select(Category).order_by(Category.position, Category.id)))
