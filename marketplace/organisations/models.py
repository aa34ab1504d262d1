"""Organisations: producer 经营主体 and institutional buyers, with producer verification."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import now
from marketplace.extensions import Model, db
from marketplace.workflow import Stateful, edge

if TYPE_CHECKING:
    from marketplace.buyers.models import BuyerProfile


class OrgKind(StrEnum):
    PRODUCER = "producer"
    BUYER = "buyer"


class OrgType(StrEnum):
    COOPERATIVE = "cooperative"
    FAMILY_FARM = "family_farm"
    LEADING_ENTERPRISE = "leading_enterprise"
    OTHER_ENTERPRISE = "other_enterprise"
    SCHOOL = "school"
    CANTEEN = "canteen"
    GOVERNMENT = "government"
    STATE_ENTERPRISE = "state_enterprise"
    TRADE_UNION = "trade_union"
    COMMUNITY = "community"
    SUPERMARKET = "supermarket"
    SERVICE_AREA = "service_area"

    @property
    def label(self):
        return _ORG_TYPE_LABELS[self]


_ORG_TYPE_LABELS = {
    OrgType.COOPERATIVE: _l("农民专业合作社"),
    OrgType.FAMILY_FARM: _l("家庭农场"),
    OrgType.LEADING_ENTERPRISE: _l("农业产业化龙头企业"),
    OrgType.OTHER_ENTERPRISE: _l("其他企业"),
    OrgType.SCHOOL: _l("学校"),
    OrgType.CANTEEN: _l("食堂"),
    OrgType.GOVERNMENT: _l("机关事业单位"),
    OrgType.STATE_ENTERPRISE: _l("国有企业"),
    OrgType.TRADE_UNION: _l("工会"),
    OrgType.COMMUNITY: _l("社区"),
    OrgType.SUPERMARKET: _l("商超"),
    OrgType.SERVICE_AREA: _l("高速服务区"),
}

PRODUCER_TYPES = (
    OrgType.COOPERATIVE,
    OrgType.FAMILY_FARM,
    OrgType.LEADING_ENTERPRISE,
    OrgType.OTHER_ENTERPRISE,
)
BUYER_TYPES = tuple(t for t in OrgType if t not in PRODUCER_TYPES)


class BenefitType(StrEnum):
    """How a producer benefits local households (联农带农)."""

    WAGES = "wages"
    LAND_RENT = "land_rent"
    DIVIDENDS = "dividends"
    PURCHASE_CONTRACTS = "purchase_contracts"

    @property
    def label(self):
        return _BENEFIT_LABELS[self]


_BENEFIT_LABELS = {
    BenefitType.WAGES: _l("务工工资"),
    BenefitType.LAND_RENT: _l("土地流转租金"),
    BenefitType.DIVIDENDS: _l("入股分红"),
    BenefitType.PURCHASE_CONTRACTS: _l("订单收购"),
}


class OrgStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    COUNTY_PASSED = "county_passed"
    RETURNED = "returned"
    VERIFIED = "verified"
    SUSPENDED = "suspended"

    @property
    def label(self):
        return _ORG_STATUS_LABELS[self]


_ORG_STATUS_LABELS = {
    OrgStatus.DRAFT: _l("草稿"),
    OrgStatus.SUBMITTED: _l("待县级初审"),
    OrgStatus.COUNTY_PASSED: _l("待市级核验"),
    OrgStatus.RETURNED: _l("已退回"),
    OrgStatus.VERIFIED: _l("已核验"),
    OrgStatus.SUSPENDED: _l("已暂停"),
}


class Organisation(Stateful, Model):
    __tablename__ = "organisations"
    if TYPE_CHECKING:  # the backref BuyerProfile.organisation declares
        buyer_profile: BuyerProfile | None

    STATUS = OrgStatus
    EDGES = {
        "submit": edge({OrgStatus.DRAFT, OrgStatus.RETURNED}, OrgStatus.SUBMITTED,
                       "organisation.submit", label=_l("提交核验")),
        "county_pass": edge({OrgStatus.SUBMITTED}, OrgStatus.COUNTY_PASSED,
                            "organisation.county_review", label=_l("县级初审通过")),
        "county_return": edge({OrgStatus.SUBMITTED}, OrgStatus.RETURNED,
                              "organisation.county_review", reason=True, label=_l("退回")),
        "city_verify": edge({OrgStatus.COUNTY_PASSED}, OrgStatus.VERIFIED,
                            "organisation.city_decide", label=_l("核验通过")),
        "city_return": edge({OrgStatus.COUNTY_PASSED}, OrgStatus.RETURNED,
                            "organisation.city_decide", reason=True, label=_l("退回")),
        # Buyer organisations are verified by the city directly (no county review).
        "buyer_verify": edge({OrgStatus.SUBMITTED}, OrgStatus.VERIFIED, "buyer.verify",
                             label=_l("核验通过")),
        "buyer_return": edge({OrgStatus.SUBMITTED}, OrgStatus.RETURNED, "buyer.verify",
                             reason=True, label=_l("退回")),
        "suspend": edge({OrgStatus.VERIFIED}, OrgStatus.SUSPENDED, "organisation.suspend",
                        reason=True, label=_l("暂停主体")),
        "reinstate": edge({OrgStatus.SUSPENDED}, OrgStatus.VERIFIED, "organisation.suspend",
                          reason=True, label=_l("恢复主体")),
    }
    AUDIT_NAME = "organisation"
    #: Farmer-linkage figures: once verified, a change waits for the county's review.
    LINKAGE_FIELDS = ("benefit_types", "poor_households", "benefit_description")
    #: Fields fixed once verified: changing them would need a new verification.
    LOCKED_WHEN_VERIFIED = (
        "name",
        "credit_code",
        "org_type",
        "legal_representative",
        "county_id",
        "township_id",
        "village_id",
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), index=True)
    org_type: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    legal_representative: Mapped[str] = mapped_column(String(40))
    contact_name: Mapped[str] = mapped_column(String(40), default="")
    contact_phone: Mapped[str] = mapped_column(String(20))
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    address: Mapped[str] = mapped_column(String(200), default="")
    benefit_types: Mapped[str] = mapped_column(String(120), default="")
    poor_households: Mapped[int] = mapped_column(default=0)
    benefit_description: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=OrgStatus.DRAFT, index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    county = relationship("County")
    township = relationship("Township")
    village = relationship("Village")
    members = relationship("User", back_populates="organisation")
    products = relationship("Product", back_populates="organisation")

    __table_args__ = (
        db.CheckConstraint("poor_households >= 0", name="poor_households_not_negative"),
    )

    @property
    def is_producer(self) -> bool:
        return self.kind == OrgKind.PRODUCER

    @property
    def is_verified(self) -> bool:
        return self.status == OrgStatus.VERIFIED

    @property
    def is_editable(self) -> bool:
        return self.status in (OrgStatus.DRAFT, OrgStatus.RETURNED, OrgStatus.VERIFIED)

    @property
    def type_label(self) -> str:
        return str(OrgType(self.org_type).label)

    @property
    def benefit_type_list(self) -> list[BenefitType]:
        return [BenefitType(v) for v in self.benefit_types.split(",") if v]

    @property
    def place(self) -> str:
        parts = [self.county, self.township, self.village]
        return " ".join(str(p) for p in parts if p)


class LinkageStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return _LINKAGE_LABELS[self]


_LINKAGE_LABELS = {
    LinkageStatus.SUBMITTED: _l("待县级审核"),
    LinkageStatus.APPROVED: _l("已通过"),
    LinkageStatus.RETURNED: _l("已退回"),
    LinkageStatus.WITHDRAWN: _l("已撤回"),
}


class LinkageChange(Stateful, Model):
    """A verified producer's proposed new farmer-linkage figures (联农带农), for county review.

    The figures feed the city's 带农增收 reports, so a change is public only once the county
    officer approved it; until then the organisation keeps the figures last reviewed.
    """

    __tablename__ = "linkage_changes"

    STATUS = LinkageStatus
    EDGES = {
        "county_approve": edge({LinkageStatus.SUBMITTED}, LinkageStatus.APPROVED,
                               "linkage.county_review", label=_l("通过")),
        "county_return": edge({LinkageStatus.SUBMITTED}, LinkageStatus.RETURNED,
                              "linkage.county_review", reason=True, label=_l("退回")),
        "withdraw": edge({LinkageStatus.SUBMITTED}, LinkageStatus.WITHDRAWN, "linkage.withdraw",
                         label=_l("撤回")),
    }
    AUDIT_NAME = "linkage"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=LinkageStatus.SUBMITTED, index=True)
    benefit_types: Mapped[str] = mapped_column(String(120), default="")
    poor_households: Mapped[int] = mapped_column(default=0)
    benefit_description: Mapped[str] = mapped_column(Text, default="")
    previous_benefit_types: Mapped[str] = mapped_column(String(120), default="")
    previous_poor_households: Mapped[int] = mapped_column(default=0)
    previous_benefit_description: Mapped[str] = mapped_column(Text, default="")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=now)

    organisation = relationship("Organisation")

    __table_args__ = (
        db.Index(
            "uq_one_pending_linkage_change", "organisation_id", unique=True,
            sqlite_where=db.text("status = 'submitted'"),
            postgresql_where=db.text("status = 'submitted'"),
        ),
        db.CheckConstraint("poor_households >= 0", name="poor_households_not_negative"),
    )

    def benefit_labels(self, previous: bool = False) -> str:
        value = self.previous_benefit_types if previous else self.benefit_types
        return "、".join(str(BenefitType(v).label) for v in value.split(",") if v)
