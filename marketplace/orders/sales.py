"""Per-product sales counters: accepted amounts, kept in the transaction that settles a line.

A sub-order's lines count once the buyer accepts them on receipt (or the city fixes the
accepted quantities when settling a dispute). Settling again moves the counter by the
difference only. The increment is one INSERT … ON CONFLICT DO UPDATE per product, so two
sub-orders of the same product received at once both land. The products are noted as
changed listings, so every host's search index picks up the new figure (sort by sales).
"""

from sqlalchemy.orm import Session

from marketplace.catalog.changes import note_products
from marketplace.orders.models import ProductSales


def _upsert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def record(session: Session, deltas: dict[int, int]) -> None:
    """Add `deltas` ({product id: fen}) to the products' sales counters."""
    deltas = {pid: fen for pid, fen in deltas.items() if fen}
    if not deltas:
        return
    insert = _upsert(session)
    for product_id in sorted(deltas):  # one lock order for every transaction
        statement = insert(ProductSales).values(product_id=product_id,
                                                received_fen=deltas[product_id])
        session.execute(statement.on_conflict_do_update(
            index_elements=[ProductSales.product_id],
            set_={"received_fen": ProductSales.received_fen + statement.excluded.received_fen}))
    note_products(session, deltas)
