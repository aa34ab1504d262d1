"""Institutional buyers: their purchasing settings, delivery addresses and sales channel."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import Model, db
from marketplace.organisations.models import OrgType


class Channel:
    """The plan's 消费帮扶 "六进" channels; every sale carries the one of its buyer."""

    AGENCY = "agency"
    SCHOOL = "school"
    CANTEEN = "canteen"
    ENTERPRISE = "enterprise"
    COMMUNITY = "community"
    RETAIL = "retail"
    SERVICE_AREA = "service_area"

    LABELS = {
        AGENCY: _l("进机关"),
        SCHOOL: _l("进学校"),
        CANTEEN: _l("进医院食堂"),
        ENTERPRISE: _l("进企业"),
        COMMUNITY: _l("进社区"),
        RETAIL: _l("进商超"),
        SERVICE_AREA: _l("进服务区"),
    }

    #: Buyer type -> channel. Trade unions buy for enterprises' staff, so count there.
    OF_TYPE: dict[str, str] = {
        OrgType.GOVERNMENT: AGENCY,
        OrgType.SCHOOL: SCHOOL,
        OrgType.CANTEEN: CANTEEN,
        OrgType.STATE_ENTERPRISE: ENTERPRISE,
        OrgType.TRADE_UNION: ENTERPRISE,
        OrgType.COMMUNITY: COMMUNITY,
        OrgType.SUPERMARKET: RETAIL,
        OrgType.SERVICE_AREA: SERVICE_AREA,
    }

    @classmethod
    def label(cls, channel: str) -> str:
        return str(cls.LABELS.get(channel, channel))


DEFAULT_RESERVED_SHARE = Decimal("10")
#: The national floor of the reserved share (预留份额): at least 10% of the canteen food budget.
MIN_RESERVED_SHARE = Decimal("10")


class BuyerProfile(Model):
    """What a buyer organisation needs to order: invoicing, approval and the reserved share."""

    __tablename__ = "buyer_profiles"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invoice_title: Mapped[str] = mapped_column(String(120), default="")
    tax_number: Mapped[str] = mapped_column(String(20), default="")
    # Orders above this total wait for an approver; None means no approval step.
    approval_threshold_fen: Mapped[int | None] = mapped_column(BigInteger)
    annual_food_budget_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_share_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2),
                                                            default=DEFAULT_RESERVED_SHARE)

    organisation = relationship("Organisation", backref=db.backref("buyer_profile",
                                                                    uselist=False))
    manager = relationship("User")

    __table_args__ = (
        db.CheckConstraint("reserved_share_percent >= 0 AND reserved_share_percent <= 100",
                           name="share_range"),
        db.CheckConstraint("annual_food_budget_fen >= 0", name="budget_not_negative"),
    )

    def needs_approval(self, total_fen: int) -> bool:
        return self.approval_threshold_fen is not None and total_fen > self.approval_threshold_fen

    @property
    def reserved_target_fen(self) -> int:
        """This year's reserved share in fen: budget × ratio, rounded down."""
        return int(Decimal(self.annual_food_budget_fen) * self.reserved_share_percent / 100)


class DeliveryAddress(Model):
    __tablename__ = "delivery_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    label: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(40))
    contact_phone: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return f"{self.label}：{self.address}（{self.contact_name} {self.contact_phone}）"
