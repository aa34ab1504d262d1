"""The purchaser's cart: kept on the server, filled from many producers, checked line by line."""

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from marketplace.buyers.services import active_addresses
from marketplace.catalog.availability import is_on_sale
from marketplace.catalog.models import Product
from marketplace.clock import today
from marketplace.errors import Invalid, NotFound
from marketplace.extensions import db
from marketplace.money import line_amount
from marketplace.orders.models import CartLine
from marketplace.orders.quantities import parse_order_quantity, quantity_problem
from marketplace.organisations.models import Organisation
from marketplace.permissions import authorize
from marketplace.uow import lock_row, use_case

MAX_CART_LINES = 100


@dataclass
class CartItem:
    line: CartLine
    amount_fen: int
    problem: str | None


@dataclass
class ProducerPart:
    producer: Organisation
    items: list[CartItem] = field(default_factory=list)

    @property
    def subtotal_fen(self) -> int:
        return sum(item.amount_fen for item in self.items)


@dataclass
class Cart:
    parts: list[ProducerPart]

    @property
    def total_fen(self) -> int:
        return sum(part.subtotal_fen for part in self.parts)

    @property
    def items(self) -> list[CartItem]:
        return [item for part in self.parts for item in part.items]

    @property
    def problems(self) -> list[str]:
        return [item.problem for item in self.items if item.problem]

    @property
    def is_empty(self) -> bool:
        return not self.parts


def line_problem(product: Product, quantity: Decimal) -> str | None:
    """Why this cart line cannot be ordered now (off sale, quantity rules, stock), or None."""
    if not is_on_sale(product, today()):
        return _("%(name)s 已下架或认定证书已失效，不能订购。", name=product.name)
    return quantity_problem(product, quantity)


def cart_lines(user) -> list[CartLine]:
    """The cart with what a page and an order's line snapshot read, in a few queries."""
    product = selectinload(CartLine.product)
    organisation = product.selectinload(Product.organisation)
    return list(db.session.scalars(
        db.select(CartLine).where(CartLine.user_id == user.id)
        .options(product.selectinload(Product.certificates),
                 product.selectinload(Product.category),
                 organisation.selectinload(Organisation.county),
                 organisation.selectinload(Organisation.township),
                 organisation.selectinload(Organisation.village))
        .order_by(CartLine.id)))


def view_cart(actor) -> Cart:
    """The cart grouped by producer, with each part's cost and each line's problem."""
    authorize("cart.use", actor)
    parts: dict[int, ProducerPart] = {}
    for line in cart_lines(actor):
        product = line.product
        part = parts.setdefault(product.organisation_id, ProducerPart(product.organisation))
        part.items.append(CartItem(line, line_amount(product.price_fen, line.quantity),
                                   line_problem(product, line.quantity)))
    return Cart(list(parts.values()))


def delivery_addresses(actor) -> list:
    """Where the purchaser's organisation takes deliveries (the checkout's choices)."""
    authorize("cart.use", actor)
    return active_addresses(actor.organisation)


def cart_size(user) -> int:
    return db.session.scalar(db.select(db.func.count(CartLine.id))
                             .where(CartLine.user_id == user.id)) or 0


def _quantity(text) -> Decimal:
    try:
        return parse_order_quantity(text)
    except ValueError as exc:
        raise Invalid(str(exc), {"quantity": [str(exc)]}) from None


@use_case("cart.use")
def add_to_cart(actor, product: Product, quantity_text) -> CartLine:
    """Add to the cart (to the line already there, if any), checked against the listing."""
    quantity = _quantity(quantity_text)
    lock_row(actor)  # the line count and an existing line's quantity are read, then written
    line = db.session.scalar(db.select(CartLine).where(CartLine.user_id == actor.id,
                                                       CartLine.product_id == product.id))
    total = quantity + (line.quantity if line else 0)
    problem = line_problem(product, total)
    if problem:
        raise Invalid(problem, {"quantity": [problem]})
    if line is None:
        if cart_size(actor) >= MAX_CART_LINES:
            raise Invalid(_("购物车最多 %(n)s 种产品。", n=MAX_CART_LINES))
        line = CartLine(user_id=actor.id, product_id=product.id, quantity=total)
        db.session.add(line)
    else:
        line.quantity = total
    return line


def _own_line(actor, line_id: int) -> CartLine:
    line = db.session.get(CartLine, line_id)
    if line is None or line.user_id != actor.id:
        raise NotFound(_("购物车中没有这一项。"))
    return line


@use_case("cart.use")
def set_cart_quantity(actor, line_id: int, quantity_text) -> CartLine:
    line = _own_line(actor, line_id)
    quantity = _quantity(quantity_text)
    problem = line_problem(line.product, quantity)
    if problem:
        raise Invalid(problem, {"quantity": [problem]})
    line.quantity = quantity
    return line


@use_case("cart.use")
def remove_from_cart(actor, line_id: int) -> None:
    db.session.delete(_own_line(actor, line_id))


def clear_cart(actor) -> None:
    """Inside the caller's transaction (a submitted order empties the cart)."""
    db.session.execute(db.delete(CartLine).where(CartLine.user_id == actor.id))
