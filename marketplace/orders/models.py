"""Carts, purchase orders, one sub-order per producer, and order lines with snapshots.

A purchase order (采购单) is split at submission into one sub-order per producer. Sub-orders
carry the fulfilment state machine; the purchase order's status is a pure function of its
sub-orders' statuses (`derive_order_status`), stored only so lists can filter on it and
rewritten by the same transaction that changes a sub-order, never set by hand.

An order line copies what it sold as it was at submission — product, producer, county,
township, village (and its 脱贫村 flag), category, unit, unit price, certificate — so that
invoices and the city's reports never move when a listing or a producer is edited later.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import now
from marketplace.extensions import Model, db
from marketplace.workflow import Stateful, edge

QUANTITY = Numeric(14, 3)


class CartLine(Model):
    """A line of a purchaser's cart, kept on the server across sessions and devices."""

    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("user_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    added_at: Mapped[datetime] = mapped_column(default=now)

    product = relationship("Product")


class OrderStatus(StrEnum):
    """A purchase order's status, derived from its sub-orders."""

    AWAITING_APPROVAL = "awaiting_approval"
    RETURNED = "returned"
    PLACED = "placed"
    IN_PROGRESS = "in_progress"
    DISPUTED = "disputed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return _ORDER_LABELS[self]


_ORDER_LABELS = {
    OrderStatus.AWAITING_APPROVAL: _l("待审批"),
    OrderStatus.RETURNED: _l("审批退回"),
    OrderStatus.PLACED: _l("待供应商接单"),
    OrderStatus.IN_PROGRESS: _l("履约中"),
    OrderStatus.DISPUTED: _l("有争议"),
    OrderStatus.COMPLETED: _l("已完成"),
    OrderStatus.CANCELLED: _l("已取消"),
}


class SubOrderStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    RETURNED = "returned"
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SHIPPED = "shipped"
    RECEIVED = "received"
    DISPUTED = "disputed"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return _SUB_LABELS[self]


_SUB_LABELS = {
    SubOrderStatus.AWAITING_APPROVAL: _l("待采购单位审批"),
    SubOrderStatus.RETURNED: _l("审批退回"),
    SubOrderStatus.PENDING: _l("待接单"),
    SubOrderStatus.ACCEPTED: _l("已接单"),
    SubOrderStatus.DECLINED: _l("已拒单"),
    SubOrderStatus.SHIPPED: _l("已发货"),
    SubOrderStatus.RECEIVED: _l("已验收"),
    SubOrderStatus.DISPUTED: _l("争议处理中"),
    SubOrderStatus.CANCELLED: _l("已取消"),
}

S = SubOrderStatus
#: Statuses in which the producer sees the sub-order (it has been routed to them).
ROUTED = (S.PENDING, S.ACCEPTED, S.DECLINED, S.SHIPPED, S.RECEIVED, S.DISPUTED, S.CANCELLED)
#: Statuses whose reserved stock is back on the shelf.
RELEASED = (S.DECLINED, S.CANCELLED)


def derive_order_status(statuses) -> OrderStatus:
    """The purchase order's status from its sub-orders' statuses (a pure function)."""
    statuses = set(statuses)
    if not statuses:
        return OrderStatus.CANCELLED
    if S.AWAITING_APPROVAL in statuses:
        return OrderStatus.AWAITING_APPROVAL
    if S.RETURNED in statuses:
        return OrderStatus.RETURNED
    live = statuses - set(RELEASED)
    if not live:
        return OrderStatus.CANCELLED
    if S.DISPUTED in live:
        return OrderStatus.DISPUTED
    if live == {S.RECEIVED}:
        return OrderStatus.COMPLETED
    if live == {S.PENDING}:
        return OrderStatus.PLACED
    return OrderStatus.IN_PROGRESS


class PurchaseOrder(Model):
    __tablename__ = "purchase_orders"
    __table_args__ = (
        # A double click or a network retry submits the same form twice: one order.
        UniqueConstraint("buyer_org_id", "idempotency_key"),
        db.Index("ix_purchase_orders_buyer_list", "buyer_org_id", "id"),
        # The list filtered by status: without it SQLite walks every order of that status.
        db.Index("ix_purchase_orders_buyer_status", "buyer_org_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    buyer_type: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    buyer_name: Mapped[str] = mapped_column(String(120))
    delivery_address: Mapped[str] = mapped_column(String(200))
    delivery_contact: Mapped[str] = mapped_column(String(40))
    delivery_phone: Mapped[str] = mapped_column(String(20))
    delivery_date: Mapped[date] = mapped_column()
    delivery_window: Mapped[str] = mapped_column(String(20), default="")
    invoice_title: Mapped[str] = mapped_column(String(120), default="")
    tax_number: Mapped[str] = mapped_column(String(20), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    total_fen: Mapped[int] = mapped_column(BigInteger)
    needs_approval: Mapped[bool] = mapped_column(default=False)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(default=now)

    buyer = relationship("Organisation")
    created_by = relationship("User")
    sub_orders: Mapped[list["SubOrder"]] = relationship(
        back_populates="purchase_order", order_by="SubOrder.id")

    @property
    def status_text(self) -> str:
        return str(OrderStatus(self.status).label)

    @property
    def due_fen(self) -> int | None:
        """What the buyer owes once every live sub-order is received (None before that)."""
        live = [s for s in self.sub_orders if s.status not in RELEASED]
        dues = [s.due_fen for s in live]
        if not live or None in dues:
            return None
        return sum(due for due in dues if due is not None)


class SubOrder(Stateful, Model):
    __tablename__ = "sub_orders"
    __table_args__ = (
        db.Index("ix_sub_orders_producer_list", "producer_org_id", "id"),
        db.Index("ix_sub_orders_producer_status", "producer_org_id", "status", "id"),
    )

    STATUS = SubOrderStatus
    AUDIT_NAME = "suborder"
    EDGES = {
        "approve": edge({S.AWAITING_APPROVAL}, S.PENDING, "po.approve", label=_l("批准")),
        "route": edge({S.AWAITING_APPROVAL}, S.PENDING, "po.submit"),
        "return": edge({S.AWAITING_APPROVAL}, S.RETURNED, "po.approve", reason=True,
                       label=_l("退回")),
        "resubmit": edge({S.RETURNED}, S.AWAITING_APPROVAL, "po.submit"),
        "accept": edge({S.PENDING}, S.ACCEPTED, "suborder.fulfil", label=_l("接单")),
        "decline": edge({S.PENDING}, S.DECLINED, "suborder.fulfil", reason=True,
                        label=_l("拒单")),
        "ship": edge({S.ACCEPTED}, S.SHIPPED, "suborder.fulfil", label=_l("发货")),
        "receive": edge({S.SHIPPED}, S.RECEIVED, "suborder.receive", label=_l("验收")),
        "dispute": edge({S.SHIPPED, S.RECEIVED}, S.DISPUTED, "suborder.receive", reason=True,
                        label=_l("提出争议")),
        "resolve": edge({S.DISPUTED}, S.RECEIVED, "suborder.resolve", reason=True,
                        label=_l("处理争议")),
        "cancel": edge({S.AWAITING_APPROVAL, S.RETURNED, S.PENDING, S.ACCEPTED}, S.CANCELLED,
                       "suborder.cancel", reason=True, label=_l("取消")),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    producer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[str] = mapped_column(String(34), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    producer_name: Mapped[str] = mapped_column(String(120))
    ordered_fen: Mapped[int] = mapped_column(BigInteger)
    # Fixed at receipt: price × quantity received, line by line; a dispute may lower it.
    due_fen: Mapped[int | None] = mapped_column(BigInteger)
    routed_at: Mapped[datetime | None] = mapped_column()
    accept_by: Mapped[datetime | None] = mapped_column()
    shipped_at: Mapped[datetime | None] = mapped_column()
    received_on: Mapped[date | None] = mapped_column(index=True)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    dispute_reason: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="sub_orders")
    producer = relationship("Organisation")
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="sub_order",
                                                    order_by="OrderLine.position")

    # Permission rules look at these, whatever the object (sub-order or purchase order).
    @property
    def buyer_org_id(self) -> int:
        return self.purchase_order.buyer_org_id

    def is_overdue(self, at: datetime) -> bool:
        """Past its acceptance deadline without an answer: derived from dates, no job."""
        return self.status == S.PENDING and self.accept_by is not None and at > self.accept_by

    @property
    def shortfall_fen(self) -> int:
        return self.ordered_fen - self.due_fen if self.due_fen is not None else 0

    @staticmethod
    def deadline(routed_at: datetime, hours: int) -> datetime:
        return routed_at + timedelta(hours=hours)


class OrderLine(Model):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub_order_id: Mapped[int] = mapped_column(ForeignKey("sub_orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    # Room for lots: a later issue adds batches with test reports, and a line will point at one.
    batch_id: Mapped[int | None] = mapped_column()
    position: Mapped[int] = mapped_column(default=0)
    # Snapshot at submission.
    product_name: Mapped[str] = mapped_column(String(80))
    specification: Mapped[str] = mapped_column(String(120), default="")
    unit: Mapped[str] = mapped_column(String(8))
    unit_price_fen: Mapped[int] = mapped_column()
    category_id: Mapped[int] = mapped_column()
    category_name: Mapped[str] = mapped_column(String(40))
    producer_org_id: Mapped[int] = mapped_column(index=True)
    producer_name: Mapped[str] = mapped_column(String(120))
    county_id: Mapped[int] = mapped_column()
    county_name: Mapped[str] = mapped_column(String(40))
    township_id: Mapped[int | None] = mapped_column()
    township_name: Mapped[str] = mapped_column(String(40), default="")
    village_id: Mapped[int | None] = mapped_column()
    village_name: Mapped[str] = mapped_column(String(40), default="")
    formerly_poor: Mapped[bool] = mapped_column(default=False)
    certificate_id: Mapped[int | None] = mapped_column()
    certificate_number: Mapped[str] = mapped_column(String(30), default="")
    # Quantities: ordered, shipped by the producer, accepted by the buyer on receipt.
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    quantity_shipped: Mapped[Decimal | None] = mapped_column(QUANTITY)
    quantity_received: Mapped[Decimal | None] = mapped_column(QUANTITY)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    received_fen: Mapped[int | None] = mapped_column(BigInteger)
    # Refunded to the buyer (written by payments through reports.rollups.record_refund):
    # a sale counts at received_fen - refunded_fen.
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    sub_order: Mapped[SubOrder] = relationship(back_populates="lines")
    product = relationship("Product")

    __table_args__ = (
        db.CheckConstraint("quantity > 0", name="quantity_positive"),
        db.CheckConstraint("quantity_shipped IS NULL OR quantity_shipped <= quantity",
                           name="shipped_not_above_ordered"),
        db.CheckConstraint("quantity_received IS NULL OR quantity_shipped IS NULL "
                           "OR quantity_received <= quantity_shipped",
                           name="received_not_above_shipped"),
        db.CheckConstraint("refunded_fen >= 0", name="refunded_not_negative"),
    )


class ProductSales(Model):
    """What buyers have accepted of a product, as one counter row per product: the figure
    behind "sort by sales" (search and catalogue), read with the product's index document
    instead of summing order lines per request. Amounts, not quantities: units differ
    between products (斤, kg, 箱) but fen compare. Kept by `orders.sales.record`."""

    __tablename__ = "product_sales"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    received_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class SupplierRating(Model):
    """A buyer's rating of a producer after receipt (one per sub-order)."""

    __tablename__ = "supplier_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub_order_id: Mapped[int] = mapped_column(ForeignKey("sub_orders.id"), unique=True)
    producer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    score: Mapped[int] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (db.CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)
