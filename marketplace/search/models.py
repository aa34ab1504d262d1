"""Products whose index update could not be written yet (the backlog)."""

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from marketplace.clock import now
from marketplace.extensions import db


class SearchBacklog(db.Model):
    """A product to write to the index at the next chance.

    An index update runs after the database commit; if it fails (say another worker held
    the index lock past the timeout), the product lands here instead of being forgotten, and
    the next successful update, or `flask search reindex`, takes it.
    """

    __tablename__ = "search_backlog"

    product_id: Mapped[int] = mapped_column(primary_key=True)
    since: Mapped[datetime] = mapped_column(default=now)
