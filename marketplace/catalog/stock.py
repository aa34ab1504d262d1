"""Stock that cannot be oversold, and a record of every change with its reason.

Orders take stock with one guarded statement — `UPDATE products SET stock = stock - :q
WHERE id = :id AND stock >= :q` — and check that a row changed; there is no read-then-write
for two buyers to race through. Producers adjust stock with a reason (recount, loss,
restock) instead of overwriting a number that orders are decrementing.
"""

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm.util import identity_key

from marketplace.audit.models import record
from marketplace.catalog.models import (
    MANUAL_STOCK_REASONS,
    Product,
    StockMovement,
    StockReason,
)
from marketplace.errors import Invalid
from marketplace.extensions import db
from marketplace.money import MoneyError, format_quantity, parse_quantity
from marketplace.uow import lock_row, use_case


def _move(product_id: int, delta: Decimal, reason: str, *, guard: bool, sub_order_id=None,
          actor=None, note: str = "") -> Decimal | None:
    """Add `delta` to the stock in one statement; None (nothing changed) if it would go below 0."""
    statement = update(Product).where(Product.id == product_id)
    if guard and delta < 0:
        statement = statement.where(Product.stock >= -delta)
    balance = db.session.execute(
        statement.values(stock=Product.stock + delta).returning(Product.stock)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if balance is None:
        return None
    product = db.session.identity_map.get(identity_key(Product, product_id))
    if product is not None:
        db.session.expire(product, ["stock"])
    db.session.add(StockMovement(product_id=product_id, delta=delta, balance=balance,
                                 reason=reason, sub_order_id=sub_order_id,
                                 actor_id=getattr(actor, "id", None), note=note[:200]))
    return balance


def take(product_id: int, quantity: Decimal, *, sub_order_id=None, actor=None) -> bool:
    """Reserve `quantity` for an order; False when there is not that much left."""
    return _move(product_id, -quantity, StockReason.ORDER, guard=True,
                 sub_order_id=sub_order_id, actor=actor) is not None


def put_back(product_id: int, quantity: Decimal, *, sub_order_id=None, actor=None) -> None:
    """Return reserved stock (a declined or cancelled order, or what was not shipped)."""
    if quantity > 0:
        _move(product_id, quantity, StockReason.RELEASE, guard=False,
              sub_order_id=sub_order_id, actor=actor)


@use_case("product.edit", subject="product")
def adjust_stock(actor, product: Product, reason: str, quantity_text: str,
                 note: str = "") -> Decimal:
    """A producer's adjustment: a recount sets the stock, a loss takes, a restock adds."""
    if reason not in MANUAL_STOCK_REASONS:
        raise Invalid(_("请检查填写的内容。"), {"reason": [_("请选择调整原因。")]})
    try:
        quantity = parse_quantity(quantity_text, positive=reason != StockReason.RECOUNT)
    except MoneyError:
        msg = _("请填写不小于 0 的数字，最多 3 位小数。")
        raise Invalid(msg, {"quantity": [msg]}) from None
    note = (note or "").strip()
    if len(note) > 200:
        raise Invalid(_("请检查填写的内容。"), {"note": [_("不能超过 %(n)s 个字。", n=200)]})
    lock_row(product)  # a recount reads the stock it replaces: nobody may move it meanwhile
    db.session.refresh(product, ["stock"])
    if reason == StockReason.RECOUNT:
        delta = quantity - product.stock
    elif reason == StockReason.LOSS:
        delta = -quantity
    else:
        delta = quantity
    balance = _move(product.id, delta, reason, guard=True, actor=actor, note=note)
    if balance is None:
        msg = _("损耗不能超过现有库存（%(s)s）。", s=format_quantity(product.stock))
        raise Invalid(msg, {"quantity": [msg]})
    record(actor, "product.stock_adjusted", product,
           reason=f"{StockReason(reason).label} {format_quantity(delta)} → "
                  f"{format_quantity(balance)} {note}".strip())
    return balance


def record_initial(product: Product, actor) -> None:
    """The first movement of a new product: its starting stock."""
    db.session.add(StockMovement(product_id=product.id, delta=product.stock,
                                 balance=product.stock, reason=StockReason.INITIAL,
                                 actor_id=getattr(actor, "id", None)))


def movements(product: Product, limit: int = 50) -> list[StockMovement]:
    return list(db.session.scalars(
        db.select(StockMovement).where(StockMovement.product_id == product.id)
        .order_by(StockMovement.id.desc()).limit(limit)))
