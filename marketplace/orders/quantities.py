"""The quantity rules an order line must meet: minimum, step, stock. One place for cart and order."""

from decimal import Decimal

from flask_babel import gettext as _

from marketplace.catalog.models import Product
from marketplace.money import MoneyError, format_quantity, parse_quantity


def parse_order_quantity(text) -> Decimal:
    """A quantity typed by a purchaser; raises ValueError with a reader-facing message."""
    try:
        return parse_quantity(text, positive=True)
    except MoneyError:
        raise ValueError(_("请填写大于 0 的数量，最多 3 位小数。")) from None


def quantity_problem(product: Product, quantity: Decimal, *, check_stock: bool = True) -> str | None:
    """Why `quantity` of `product` cannot be ordered, or None."""
    unit = product.unit
    if quantity < product.min_order_qty:
        return _("%(name)s 起订量为 %(q)s %(u)s。", name=product.name,
                 q=format_quantity(product.min_order_qty), u=unit)
    if quantity % product.qty_step != 0:
        return _("%(name)s 须按 %(s)s %(u)s 的整数倍订购。", name=product.name,
                 s=format_quantity(product.qty_step), u=unit)
    if check_stock and quantity > product.stock:
        return _("%(name)s 库存只有 %(q)s %(u)s。", name=product.name,
                 q=format_quantity(product.stock), u=unit)
    return None
