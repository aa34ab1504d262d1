"""Named counters for human-facing numbers (certificates, orders): gap-tolerant, never reused.

`next_value("certificate-2026")` increments one row with a single UPDATE … RETURNING, so two
concurrent approvals can never draw the same number, on SQLite or on PostgreSQL.
"""

from sqlalchemy import String, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import Model, db


class Counter(Model):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def next_value(name: str) -> int:
    """The next number of counter `name`, starting at 1; safe under concurrent callers."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(Counter).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"])
    )
    return db.session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()
