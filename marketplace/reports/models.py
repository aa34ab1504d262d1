"""Report roll-ups (derived data), the administrator's reference prices, and data-API tokens."""

import hashlib
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import now
from marketplace.extensions import db

QUANTITY = Numeric(16, 3)


class SalesRollup(db.Model):
    """Counted sales summed per period, county and one breakdown key: derived, rebuildable.

    `grain` is "m" (period_start = first day of a month) or "d" (one day). A report over a
    range reads whole months from "m" rows and the edge days from "d" rows, so sums stay
    exact and distinct counts (buyers) stay exact as a union of keys. `dimension` names the
    breakdown (see counting.DIMENSIONS); `key_id` / `key_text` identify its value. Written in
    the same transaction as a receipt, a dispute or a resolution; `flask reports rebuild`
    recomputes every row from the order lines and `flask reports check` compares.
    """

    __tablename__ = "sales_rollups"

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(String(12))
    grain: Mapped[str] = mapped_column(String(1))
    period_start: Mapped[date] = mapped_column()
    county_id: Mapped[int] = mapped_column()
    key_id: Mapped[int] = mapped_column(default=0)
    key_text: Mapped[str] = mapped_column(String(30), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    lines: Mapped[int] = mapped_column(default=0)
    sub_orders: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        db.UniqueConstraint("dimension", "grain", "period_start", "county_id", "key_id",
                            "key_text", name="uq_sales_rollup_key"),
        # A county's dashboard reads its own rows only.
        db.Index("ix_sales_rollups_county", "dimension", "county_id", "grain", "period_start"),
    )


class ReferencePrice(db.Model):
    """The administrator's reference price of a category and unit (the 价格合理 test)."""

    __tablename__ = "reference_prices"
    __table_args__ = (
        db.UniqueConstraint("category_id", "unit"),
        db.CheckConstraint("price_fen > 0", name="reference_price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    unit: Mapped[str] = mapped_column(String(8))
    price_fen: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(String(120), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    category = relationship("Category")


class TokenScope:
    """What a data-API token may read: the whole city, one county, or one organisation."""

    CITY = "city"
    COUNTY = "county"
    ORGANISATION = "organisation"
    ALL = (CITY, COUNTY, ORGANISATION)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(db.Model):
    """A read-only data-API token; only its SHA-256 is stored, the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(12))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column()

    county = relationship("County")
    organisation = relationship("Organisation")

    __table_args__ = (
        db.CheckConstraint(
            "(scope = 'city' AND county_id IS NULL AND organisation_id IS NULL)"
            " OR (scope = 'county' AND county_id IS NOT NULL AND organisation_id IS NULL)"
            " OR (scope = 'organisation' AND organisation_id IS NOT NULL AND county_id IS NULL)",
            name="token_scope_target"),
    )

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
