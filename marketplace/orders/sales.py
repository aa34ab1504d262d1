"""Per-product sales counters: what "sort by sales" orders by, kept with each sale.

A product's figure is the net amount (fen) of its order lines that count as sales by the
city's one definition (marketplace/reports/counting.py: received, certified at submission,
a quantity accepted, less refunds). The reports' roll-ups call `record` in the same unit of
work as the receipt, dispute, resolution or refund that moves a sale, so the counter never
differs from the lines, and a search never sums order lines. Amounts, not quantities: units
differ between products (斤, kg, 箱) but fen compare.

The increment is one INSERT … ON CONFLICT DO UPDATE per product, so two sub-orders of the
same product received at once both land. The products are noted as changed listings, so
every host's search index rewrites their documents with the new figure.
"""

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from marketplace.catalog.changes import note_products
from marketplace.orders.models import OrderLine, ProductSales


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def record(session: Session, deltas: dict[int, int]) -> None:
    """Add `deltas` ({product id: fen}, negative to take away) to the products' counters."""
    deltas = {pid: fen for pid, fen in deltas.items() if fen}
    if not deltas:
        return
    statement = _insert(session)(ProductSales)
    statement = statement.on_conflict_do_update(
        index_elements=[ProductSales.product_id],
        set_={"received_fen": ProductSales.received_fen + statement.excluded.received_fen})
    session.execute(statement, [{"product_id": pid, "received_fen": deltas[pid]}
                                for pid in sorted(deltas)])  # one lock order: no deadlock
    note_products(session, deltas)


def rebuild(session: Session, counted_lines) -> None:
    """Recompute every counter from `counted_lines`: a SELECT of (product id, net fen)."""
    from sqlalchemy import func

    session.execute(delete(ProductSales))
    sub = counted_lines.subquery()
    session.execute(insert(ProductSales).from_select(
        ["product_id", "received_fen"],
        select(sub.c.product_id, func.sum(sub.c.net_fen)).group_by(sub.c.product_id)))
    note_products(session, session.scalars(select(OrderLine.product_id).distinct()))
