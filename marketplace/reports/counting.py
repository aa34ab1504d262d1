"""What counts as a sale in the city's figures: defined once, used by every page, export and API.

A line of a sub-order counts when

- its sub-order is received (验收) — a dispute resolved by the city is received again; a
  declined, cancelled, not yet received or disputed-unresolved sub-order does not count;
- the product was certified at submission (the line's certificate snapshot is set);
- the buyer accepted a quantity above zero on receipt.

It counts at the accepted quantity, at the snapshot unit price (received_fen = price ×
accepted quantity, fixed at receipt or by the resolution), less what was refunded
(refunded_fen), on the sub-order's date of receipt, in the county, township and village of the
producer as they were at submission, in the buyer type and channel of the order at submission.
A refund lowers the sale it refunds, in the period of that sale. Nothing here reads today's
organisation or product rows.

Each counted line is summed per breakdown (DIMENSIONS) into roll-ups; the key functions below
exist twice, as Python over one line and as SQL over all lines, and `flask reports check`
proves they agree.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, and_, case, cast, func, literal, select, type_coerce
from sqlalchemy.sql.elements import BindParameter

from marketplace.extensions import db
from marketplace.orders.models import OrderLine, PurchaseOrder, SubOrder, SubOrderStatus

COUNTED_STATUS = SubOrderStatus.RECEIVED


def counts(line: OrderLine, sub: SubOrder) -> bool:
    """This line is in the city's figures (the Python form of `counted_condition`)."""
    return sub.status == COUNTED_STATUS and line_qualifies(line, sub)


def line_qualifies(line: OrderLine, sub: SubOrder) -> bool:
    """The line counts whenever its sub-order is in the counted state."""
    return (sub.received_on is not None and line.certificate_id is not None
            and (line.quantity_received or 0) > 0)


def counted_condition():
    """SQL condition over OrderLine joined to SubOrder: the line is in the figures."""
    return and_(SubOrder.status == COUNTED_STATUS, SubOrder.received_on.isnot(None),
                OrderLine.certificate_id.isnot(None), OrderLine.quantity_received > 0)


def net_fen(line: OrderLine) -> int:
    return (line.received_fen or 0) - (line.refunded_fen or 0)


NET_FEN_SQL = func.coalesce(OrderLine.received_fen, 0) - func.coalesce(OrderLine.refunded_fen, 0)


def counted_lines():
    """SELECT of the counted lines with what every report reads (no other join needed)."""
    return (select(OrderLine, SubOrder.received_on, PurchaseOrder.buyer_org_id,
                   PurchaseOrder.buyer_type, PurchaseOrder.channel)
            .join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
            .join(PurchaseOrder, SubOrder.purchase_order_id == PurchaseOrder.id)
            .where(counted_condition()))


@dataclass(frozen=True)
class Dimension:
    name: str
    key_id: object  # (line, order) -> int, and the SQL expression
    key_text: object
    key_id_sql: object
    key_text_sql: object


def _zero(_line, _order):
    return 0


def _blank(_line, _order):
    return ""


_ZERO, _BLANK = literal(0), literal("")

#: The breakdowns summed into roll-ups. Sub-order counts are exact per key; buyers are
#: counted as distinct keys of the "buyer" dimension.
DIMENSIONS = {d.name: d for d in (
    Dimension("county", _zero, _blank, _ZERO, _BLANK),
    Dimension("poor", lambda line, _o: 1 if line.formerly_poor else 0, _blank,
              case((OrderLine.formerly_poor, 1), else_=0), _BLANK),
    Dimension("township", lambda line, _o: line.township_id or 0, _blank,
              func.coalesce(OrderLine.township_id, 0), _BLANK),
    Dimension("category", lambda line, _o: line.category_id, _blank,
              OrderLine.category_id, _BLANK),
    Dimension("unit", _zero, lambda line, _o: line.unit, _ZERO, OrderLine.unit),
    Dimension("buyer_type", _zero, lambda _l, order: order.buyer_type, _ZERO,
              PurchaseOrder.buyer_type),
    Dimension("channel", _zero, lambda _l, order: order.channel, _ZERO, PurchaseOrder.channel),
    Dimension("producer", lambda line, _o: line.producer_org_id, _blank,
              OrderLine.producer_org_id, _BLANK),
    Dimension("buyer", lambda _l, order: order.buyer_org_id, _blank,
              PurchaseOrder.buyer_org_id, _BLANK),
)}

GRAINS = ("m", "d")


def period_start(grain: str, day: date) -> date:
    return day.replace(day=1) if grain == "m" else day


def period_start_sql(grain: str):
    """SQL for period_start(grain, SubOrder.received_on) in the running database."""
    if grain == "d":
        return SubOrder.received_on
    if db.engine.dialect.name == "postgresql":
        return cast(func.date_trunc("month", SubOrder.received_on), Date)
    return type_coerce(func.date(SubOrder.received_on, "start of month"), Date)


@dataclass
class Measures:
    amount_fen: int = 0
    quantity: Decimal = Decimal(0)
    lines: int = 0
    sub_orders: int = 0

    def add(self, other: "Measures") -> None:
        self.amount_fen += other.amount_fen
        self.quantity += other.quantity
        self.lines += other.lines
        self.sub_orders += other.sub_orders


def contribution(sub: SubOrder) -> dict[tuple, Measures]:
    """What one sub-order adds to the roll-ups while it is in the counted state.

    Computed from its lines whatever its status now, so that a dispute can take away
    exactly what the receipt added.
    """
    order = sub.purchase_order
    out: dict[tuple, Measures] = {}
    for line in sub.lines:
        if not line_qualifies(line, sub):
            continue
        for dim in DIMENSIONS.values():
            for grain in GRAINS:
                key = (dim.name, grain, period_start(grain, sub.received_on), line.county_id,
                       dim.key_id(line, order), dim.key_text(line, order))
                m = out.setdefault(key, Measures())
                m.amount_fen += net_fen(line)
                m.quantity += line.quantity_received
                m.lines += 1
    for m in out.values():
        m.sub_orders = 1  # every key a sub-order reaches holds that one sub-order
    return out


def recomputed_rollups():
    """One SELECT per dimension and grain: the roll-up rows as a plain recomputation."""
    base = (select().select_from(OrderLine)
            .join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
            .join(PurchaseOrder, SubOrder.purchase_order_id == PurchaseOrder.id)
            .where(counted_condition()))
    for dim in DIMENSIONS.values():
        for grain in GRAINS:
            start = period_start_sql(grain)
            yield base.add_columns(
                literal(dim.name).label("dimension"), literal(grain).label("grain"),
                start.label("period_start"), OrderLine.county_id.label("county_id"),
                dim.key_id_sql.label("key_id"), dim.key_text_sql.label("key_text"),
                func.sum(NET_FEN_SQL).label("amount_fen"),
                func.sum(OrderLine.quantity_received).label("quantity"),
                func.count().label("lines"),
                func.count(func.distinct(OrderLine.sub_order_id)).label("sub_orders"),
            ).group_by(*_groupable(start, OrderLine.county_id, dim.key_id_sql,
                                   dim.key_text_sql))


def _groupable(*expressions):
    """Leave constants out of GROUP BY (PostgreSQL reads a constant there as a position)."""
    return [e for e in expressions if not isinstance(e, BindParameter)]
