"""Keep the sales roll-ups equal to the counted lines: written with each receipt, rebuildable.

The orders services call `sub_order_changed(sub, old_status)` inside the use case that moves a
sub-order into or out of the counted state (receipt, dispute, resolution), so the roll-ups
change in the same transaction as the sale. Each write is an INSERT … ON CONFLICT DO UPDATE
adding a delta, which two concurrent receipts can both make without losing either.
"""

from decimal import Decimal
from typing import cast

from flask_babel import gettext as _
from sqlalchemy import Table, and_, delete, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from marketplace.errors import Invalid
from marketplace.extensions import db
from marketplace.orders import sales
from marketplace.orders.models import OrderLine, SubOrder
from marketplace.reports import counting
from marketplace.reports.models import SalesRollup
from marketplace.uow import lock_row

KEY = ("dimension", "grain", "period_start", "county_id", "key_id", "key_text")


def _insert():
    return pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def _apply(deltas: dict[tuple, counting.Measures], sign: int) -> None:
    """Add (sign=1) or take away (sign=-1) measures; drop rows left with no line."""
    if not deltas:
        return
    rows = [dict(zip(KEY, key, strict=True), amount_fen=sign * m.amount_fen,
                 quantity=sign * m.quantity, lines=sign * m.lines,
                 sub_orders=sign * m.sub_orders)
            for key, m in sorted(deltas.items())]  # one order of row locks: no deadlock
    statement = _insert()(SalesRollup)
    table = SalesRollup.__table__
    statement = statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={name: table.c[name] + statement.excluded[name]
              for name in ("amount_fen", "quantity", "lines", "sub_orders")})
    db.session.execute(statement, rows)
    if sign < 0:
        keys = [tuple(r[k] for k in KEY) for r in rows]
        for i in range(0, len(keys), 200):
            db.session.execute(delete(SalesRollup).where(
                tuple_(*(table.c[k] for k in KEY)).in_(keys[i:i + 200]),
                SalesRollup.lines <= 0).execution_options(synchronize_session=False))


def sub_order_changed(sub, old_status: str) -> None:
    """A sub-order moved from `old_status` to its current status: follow it in the roll-ups.

    Into the counted state (receipt, resolution) adds its lines as they now stand; out of
    it (a dispute after receipt) takes away the same lines, which a dispute does not change.
    """
    was, now_ = old_status == counting.COUNTED_STATUS, sub.status == counting.COUNTED_STATUS
    if was == now_:
        return
    db.session.flush()
    sign = 1 if now_ else -1
    _apply(counting.contribution(sub), sign)
    per_product: dict[int, int] = {}
    for line in sub.lines:
        if counting.line_qualifies(line, sub):
            per_product[line.product_id] = (per_product.get(line.product_id, 0)
                                            + sign * counting.net_fen(line))
    sales.record(db.session(), per_product)  # what "sort by sales" reads


def record_refund(line: OrderLine, amount_fen: int) -> None:
    """Deduct a refund from a line's sale (and from the roll-ups if the sale counts now).

    For the payments use case that pays a refund back; call it inside that use case's unit
    of work. The refund lowers the sale in the period the sale was counted in.
    """
    lock_row(line)
    db.session.refresh(line)
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise Invalid(_("退款金额必须大于 0。"))
    if amount_fen > counting.net_fen(line):
        raise Invalid(_("退款金额不能超过已验收金额减去已退款金额。"))
    sub = line.sub_order
    if sub.status != counting.COUNTED_STATUS:  # counted afresh when it is received again
        line.refunded_fen = (line.refunded_fen or 0) + amount_fen
        return
    before = counting.contribution(sub)
    line.refunded_fen = (line.refunded_fen or 0) + amount_fen
    after = counting.contribution(sub)
    deltas = {}
    for key, m in after.items():
        delta = m.amount_fen - before[key].amount_fen
        if delta:
            deltas[key] = counting.Measures(amount_fen=delta)
    _apply(deltas, 1)
    sales.record(db.session(), {line.product_id: -amount_fen})


# Rebuild and check ----------------------------------------------------------------------


def rebuild() -> int:
    """Throw the roll-ups away and recompute them from the order lines; return the row count."""
    db.session.execute(delete(SalesRollup))
    columns = [*KEY, "amount_fen", "quantity", "lines", "sub_orders"]
    for query in counting.recomputed_rollups():
        db.session.execute(cast(Table, SalesRollup.__table__).insert().from_select(columns, query))
    sales.rebuild(db.session(), select(OrderLine.product_id, counting.NET_FEN_SQL.label("net_fen"))
                  .join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
                  .where(counting.counted_condition()))
    return db.session.execute(select(db.func.count(SalesRollup.id))).scalar_one()


def _normalise(row) -> tuple:
    key = (row.dimension, row.grain, row.period_start, int(row.county_id), int(row.key_id),
           row.key_text or "")
    return key, (int(row.amount_fen), Decimal(row.quantity).normalize(), int(row.lines),
                 int(row.sub_orders))


def differences(limit: int = 20) -> list[str]:
    """Where the stored roll-ups differ from a plain recomputation (empty when equal)."""
    expected = {}
    for query in counting.recomputed_rollups():
        for row in db.session.execute(query):
            key, values = _normalise(row)
            expected[key] = values
    stored = {}
    for rollup in db.session.execute(select(SalesRollup)).scalars():
        key, values = _normalise(rollup)
        stored[key] = values
    problems = []
    for key in sorted(set(expected) | set(stored), key=str):
        if expected.get(key) != stored.get(key):
            problems.append(f"{key}: stored {stored.get(key)} expected {expected.get(key)}")
            if len(problems) >= limit:
                break
    return problems


def period_condition(period):
    """SQL condition selecting the roll-up rows that make up `period` exactly."""
    parts = []
    months, day_ranges = period.split()
    if months:
        parts.append(and_(SalesRollup.grain == "m",
                          SalesRollup.period_start.between(months[0], months[-1])))
    for first, last in day_ranges:
        parts.append(and_(SalesRollup.grain == "d",
                          SalesRollup.period_start.between(first, last)))
    return or_(*parts) if parts else SalesRollup.id < 0
