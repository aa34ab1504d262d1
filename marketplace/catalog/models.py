"""Products a producer organisation lists, their photos and categories."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import now
from marketplace.extensions import Model, db
from marketplace.workflow import Stateful, edge

UNITS = ("斤", "公斤", "箱", "袋", "瓶", "盒", "桶", "提", "件", "只", "株", "盆", "罐")

#: Quality marks a product may carry: its boolean column -> label.
MARKS = {
    "green_food": _l("绿色食品"),
    "organic": _l("有机"),
    "geo_indication": _l("地理标志"),
}

#: What a certificate certifies about a listing: editing any of these on a certified product
#: sends it back for review, and none of them may change while an application is open.
CERTIFIED_FIELDS = ("name", "specification", "origin", "unit", "category_id")
#: Also frozen while reviewers look at an application: the price they judge.
FROZEN_IN_REVIEW = (*CERTIFIED_FIELDS, "price_fen")


class Category(Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.name


class ProductStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"

    @property
    def label(self):
        return _PRODUCT_STATUS_LABELS[self]


_PRODUCT_STATUS_LABELS = {ProductStatus.ACTIVE: _l("上架中"), ProductStatus.ARCHIVED: _l("已归档")}


class Product(Stateful, Model):
    __tablename__ = "products"

    STATUS = ProductStatus
    EDGES = {
        "archive": edge({ProductStatus.ACTIVE}, ProductStatus.ARCHIVED, "product.edit",
                        label=_l("归档")),
        "restore": edge({ProductStatus.ARCHIVED}, ProductStatus.ACTIVE, "product.edit",
                        label=_l("恢复")),
    }
    AUDIT_NAME = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    specification: Mapped[str] = mapped_column(String(120), default="")
    origin: Mapped[str] = mapped_column(String(120), default="")
    unit: Mapped[str] = mapped_column(String(8))
    price_fen: Mapped[int] = mapped_column()
    min_order_qty: Mapped[Decimal] = mapped_column(Numeric(12, 3), default=Decimal(1))
    # Orders are in multiples of this (0.5 斤 for weighed goods, 1 箱 for boxes).
    qty_step: Mapped[Decimal] = mapped_column(Numeric(12, 3), default=Decimal(1),
                                              server_default="1")
    stock: Mapped[Decimal] = mapped_column(Numeric(14, 3), default=Decimal(0))
    annual_supply_capacity: Mapped[str] = mapped_column(String(60), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    green_food: Mapped[bool] = mapped_column(default=False)
    organic: Mapped[bool] = mapped_column(default=False)
    geo_indication: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default=ProductStatus.ACTIVE, index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    organisation = relationship("Organisation", back_populates="products")
    category = relationship("Category")
    photos: Mapped[list["ProductPhoto"]] = relationship(
        back_populates="product", order_by="ProductPhoto.position, ProductPhoto.id",
        cascade="all, delete-orphan",
    )
    certificates = relationship(
        "Certificate", back_populates="product", order_by="Certificate.issued_on.desc()"
    )

    __table_args__ = (
        db.CheckConstraint("price_fen > 0", name="price_positive"),
        db.CheckConstraint("min_order_qty > 0", name="min_order_positive"),
        db.CheckConstraint("stock >= 0", name="stock_not_negative"),
        db.CheckConstraint("qty_step > 0", name="qty_step_positive"),
    )

    @property
    def marks(self) -> list[str]:
        return [str(label) for mark, label in MARKS.items() if getattr(self, mark)]

    def live_certificate(self, today):
        """The certificate that puts this product on sale today, if any."""
        for cert in self.certificates:
            if cert.is_valid_on(today):
                return cert
        return None

    def latest_certificate(self):
        return self.certificates[0] if self.certificates else None

    def facts(self) -> dict:
        """The listing's certified facts as they stand now (compare with a certificate's)."""
        return {field: getattr(self, field) for field in CERTIFIED_FIELDS}

    def is_on_sale(self, today) -> bool:
        from marketplace.catalog.availability import is_on_sale

        return is_on_sale(self, today)


class ProductPhoto(Model):
    __tablename__ = "product_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now)

    product: Mapped[Product] = relationship(back_populates="photos")


class StockReason(StrEnum):
    INITIAL = "initial"
    RECOUNT = "recount"
    LOSS = "loss"
    RESTOCK = "restock"
    ORDER = "order"
    RELEASE = "release"

    @property
    def label(self):
        return _STOCK_REASON_LABELS[self]


_STOCK_REASON_LABELS = {
    StockReason.INITIAL: _l("初始库存"),
    StockReason.RECOUNT: _l("盘点"),
    StockReason.LOSS: _l("损耗"),
    StockReason.RESTOCK: _l("入库"),
    StockReason.ORDER: _l("订单占用"),
    StockReason.RELEASE: _l("订单释放"),
}
#: The reasons a producer may give by hand; orders move stock by themselves.
MANUAL_STOCK_REASONS = (StockReason.RECOUNT, StockReason.LOSS, StockReason.RESTOCK)


class StockMovement(Model):
    """Every change of a product's stock, with why: the stock column is their running sum."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    delta: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    balance: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    reason: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(String(200), default="")
    sub_order_id: Mapped[int | None] = mapped_column(ForeignKey("sub_orders.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=now)

    @property
    def reason_label(self) -> str:
        return str(StockReason(self.reason).label)
