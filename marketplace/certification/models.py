"""Certification applications, their evidence, and the certificates they lead to.

An application runs county first review -> city decision. An approved application issues a
Certificate whose *effective* status follows from its dates and from the city's decisions
(suspend, reinstate, revoke), so a product is on sale exactly while its certificate is valid
today, whether or not any scheduled job has run.
"""

from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import now
from marketplace.extensions import Model, db
from marketplace.workflow import Stateful, edge


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    COUNTY_PASSED = "county_passed"
    COUNTY_RETURNED = "county_returned"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return _APPLICATION_LABELS[self]


_APPLICATION_LABELS = {
    ApplicationStatus.SUBMITTED: _l("待县级初审"),
    ApplicationStatus.COUNTY_PASSED: _l("待市级认定"),
    ApplicationStatus.COUNTY_RETURNED: _l("县级退回"),
    ApplicationStatus.APPROVED: _l("已认定"),
    ApplicationStatus.REJECTED: _l("市级驳回"),
    ApplicationStatus.WITHDRAWN: _l("已撤回"),
}

PENDING_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.COUNTY_PASSED)


class DocumentKind(StrEnum):
    TEST_REPORT = "test_report"
    GREEN_FOOD = "green_food"
    ORGANIC = "organic"
    GEO_INDICATION = "geo_indication"
    OTHER = "other"

    @property
    def label(self):
        return _DOCUMENT_LABELS[self]


_DOCUMENT_LABELS = {
    DocumentKind.TEST_REPORT: _l("检测报告"),
    DocumentKind.GREEN_FOOD: _l("绿色食品证书"),
    DocumentKind.ORGANIC: _l("有机产品证书"),
    DocumentKind.GEO_INDICATION: _l("地理标志证明"),
    DocumentKind.OTHER: _l("其他材料"),
}


def review_edges(status, rule_prefix: str) -> dict:
    """The county-first-review -> city-decision chain that applications and mark claims share."""
    return {
        "withdraw": edge({status.SUBMITTED, status.COUNTY_PASSED}, status.WITHDRAWN,
                         f"{rule_prefix}.withdraw", label=_l("撤回申请")),
        "county_pass": edge({status.SUBMITTED}, status.COUNTY_PASSED,
                            f"{rule_prefix}.county_review", reason=True, label=_l("县级初审通过")),
        "county_return": edge({status.SUBMITTED}, status.COUNTY_RETURNED,
                              f"{rule_prefix}.county_review", reason=True, label=_l("退回")),
        "city_approve": edge({status.COUNTY_PASSED}, status.APPROVED,
                             f"{rule_prefix}.city_decide", reason=True, label=_l("认定通过")),
        "city_reject": edge({status.COUNTY_PASSED}, status.REJECTED,
                            f"{rule_prefix}.city_decide", reason=True, label=_l("驳回")),
    }


class CertificationApplication(Stateful, Model):
    __tablename__ = "certification_applications"

    STATUS = ApplicationStatus
    EDGES = review_edges(ApplicationStatus, "application")
    AUDIT_NAME = "application"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    status: Mapped[str] = mapped_column(
        String(20), default=ApplicationStatus.SUBMITTED, index=True
    )
    # What was applied for, as it stood then (the product may be edited later).
    product_name: Mapped[str] = mapped_column(String(80))
    specification: Mapped[str] = mapped_column(String(120))
    origin: Mapped[str] = mapped_column(String(120))
    price_fen: Mapped[int] = mapped_column()
    unit: Mapped[str] = mapped_column(String(8))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    annual_supply_capacity: Mapped[str] = mapped_column(String(60))
    benefit_mechanism: Mapped[str] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=now)
    is_resubmission: Mapped[bool] = mapped_column(default=False)

    product = relationship("Product")
    organisation = relationship("Organisation")
    county = relationship("County")
    category = relationship("Category")
    submitted_by = relationship("User")
    documents: Mapped[list["ApplicationDocument"]] = relationship(
        back_populates="application", order_by="ApplicationDocument.id"
    )
    certificate = relationship("Certificate", back_populates="application", uselist=False)

    __table_args__ = (
        # At most one pending application per product, even under concurrent submissions.
        db.Index(
            "uq_one_pending_application",
            "product_id",
            unique=True,
            sqlite_where=db.text("status IN ('submitted', 'county_passed')"),
            postgresql_where=db.text("status IN ('submitted', 'county_passed')"),
        ),
    )

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES

    def snapshot(self) -> dict:
        """What the reviewers saw: the product's certified facts as applied for."""
        return {"name": self.product_name, "specification": self.specification,
                "origin": self.origin, "unit": self.unit, "category_id": self.category_id,
                "price_fen": self.price_fen}


class ApplicationDocument(Model):
    __tablename__ = "application_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_applications.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column()
    uploaded_at: Mapped[datetime] = mapped_column(default=now)

    application: Mapped[CertificationApplication] = relationship(back_populates="documents")

    @property
    def kind_label(self) -> str:
        return str(DocumentKind(self.kind).label)


class CertificateState(StrEnum):
    """The city's decisions on a certificate; dates decide the rest."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"

    @property
    def label(self):
        return _CERT_STATE_LABELS[self]


_CERT_STATE_LABELS = {
    CertificateState.ACTIVE: _l("生效"),
    CertificateState.SUSPENDED: _l("已暂停"),
    CertificateState.REVOKED: _l("已撤销"),
    CertificateState.SUPERSEDED: _l("已换证"),
}


class CertificateStatus(StrEnum):
    """What a reader sees: derived from state and today's date."""

    IN_NOTICE = "in_notice"
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"

    @property
    def label(self):
        return _CERT_STATUS_LABELS[self]


_CERT_STATUS_LABELS = {
    CertificateStatus.IN_NOTICE: _l("公示中"),
    CertificateStatus.VALID: _l("有效"),
    CertificateStatus.SUSPENDED: _l("已暂停"),
    CertificateStatus.REVOKED: _l("已撤销"),
    CertificateStatus.EXPIRED: _l("已过期"),
    CertificateStatus.SUPERSEDED: _l("已换证"),
}


class Certificate(Stateful, Model):
    __tablename__ = "certificates"

    STATUS = CertificateState
    _LIVE = {CertificateState.ACTIVE, CertificateState.SUSPENDED}
    EDGES = {
        "suspend": edge({CertificateState.ACTIVE}, CertificateState.SUSPENDED,
                        "certificate.manage", reason=True, label=_l("暂停")),
        "reinstate": edge({CertificateState.SUSPENDED}, CertificateState.ACTIVE,
                          "certificate.manage", reason=True, label=_l("恢复")),
        "revoke": edge(_LIVE, CertificateState.REVOKED, "certificate.manage", reason=True,
                       label=_l("撤销")),
        # The producer changed certified facts: the certificate stops covering the product.
        "product_changed": edge({CertificateState.ACTIVE}, CertificateState.SUSPENDED,
                                "product.edit_certified", reason=True),
        # A new certificate for the same product replaces this one.
        "supersede": edge(_LIVE, CertificateState.SUPERSEDED, "application.city_decide",
                          reason=True),
    }
    AUDIT_NAME = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_applications.id"), unique=True
    )
    issued_on: Mapped[date] = mapped_column()
    valid_from: Mapped[date] = mapped_column()  # the day after the public notice ends
    valid_until: Mapped[date] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default=CertificateState.ACTIVE)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What was certified, copied from the reviewed application: the certificate covers
    # exactly this, whatever the listing says later.
    certified_name: Mapped[str] = mapped_column(String(80), default="")
    certified_specification: Mapped[str] = mapped_column(String(120), default="")
    certified_origin: Mapped[str] = mapped_column(String(120), default="")
    certified_unit: Mapped[str] = mapped_column(String(8), default="")
    certified_category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    certified_price_fen: Mapped[int] = mapped_column(default=0)

    product = relationship("Product", back_populates="certificates")
    organisation = relationship("Organisation")
    application = relationship("CertificationApplication", back_populates="certificate")
    issued_by = relationship("User")
    certified_category = relationship("Category")

    __table_args__ = (
        db.Index("ix_certificates_live", "product_id", "status", "valid_from", "valid_until"),
        db.CheckConstraint("valid_until >= valid_from", name="valid_range"),
    )

    def certified_facts(self) -> dict:
        return {"name": self.certified_name, "specification": self.certified_specification,
                "origin": self.certified_origin, "unit": self.certified_unit,
                "category_id": self.certified_category_id}

    def price_ceiling(self, margin_percent: int) -> int:
        """The highest price (fen) this certificate covers: the certified price plus the margin."""
        return self.certified_price_fen * (100 + margin_percent) // 100

    def effective_status(self, today: date) -> CertificateStatus:
        if self.status == CertificateState.REVOKED:
            return CertificateStatus.REVOKED
        if self.status == CertificateState.SUPERSEDED:
            return CertificateStatus.SUPERSEDED
        if self.status == CertificateState.SUSPENDED:
            return CertificateStatus.SUSPENDED
        if today > self.valid_until:
            return CertificateStatus.EXPIRED
        if today < self.valid_from:
            return CertificateStatus.IN_NOTICE
        return CertificateStatus.VALID

    def is_valid_on(self, today: date) -> bool:
        return self.effective_status(today) == CertificateStatus.VALID

    def is_current(self, today: date) -> bool:
        """In public notice or valid: it stands for the product now or soon, untouched."""
        return self.effective_status(today) in (CertificateStatus.IN_NOTICE,
                                                CertificateStatus.VALID)

    @classmethod
    def valid_on(cls, today: date):
        """SQL condition: this certificate puts its product on sale on `today`."""
        return and_(
            cls.status == CertificateState.ACTIVE,
            cls.valid_from <= today,
            cls.valid_until >= today,
        )

    @classmethod
    def with_effective_status(cls, status: CertificateStatus, today: date):
        """SQL condition matching effective_status() == status."""
        active = cls.status == CertificateState.ACTIVE
        return {
            CertificateStatus.REVOKED: cls.status == CertificateState.REVOKED,
            CertificateStatus.SUPERSEDED: cls.status == CertificateState.SUPERSEDED,
            CertificateStatus.SUSPENDED: cls.status == CertificateState.SUSPENDED,
            CertificateStatus.EXPIRED: and_(active, cls.valid_until < today),
            CertificateStatus.IN_NOTICE: and_(active, cls.valid_from > today),
            CertificateStatus.VALID: cls.valid_on(today),
        }[status]



class MarkStatus(StrEnum):
    SUBMITTED = "submitted"
    COUNTY_PASSED = "county_passed"
    COUNTY_RETURNED = "county_returned"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"

    @property
    def label(self):
        if self is MarkStatus.REVOKED:
            return _l("已撤销")
        return ApplicationStatus(self.value).label


class MarkClaim(Stateful, Model):
    """A quality mark (绿色食品, 有机, 地理标志) claimed for a product with its evidence.

    A mark is shown and searchable only once the county and the city approved its claim;
    the product's mark column is set by that approval and cleared by a revocation.
    """

    __tablename__ = "mark_claims"

    STATUS = MarkStatus
    EDGES = {
        **review_edges(MarkStatus, "mark"),
        "revoke": edge({MarkStatus.APPROVED}, MarkStatus.REVOKED, "mark.city_decide",
                       reason=True, label=_l("撤销标识")),
    }
    AUDIT_NAME = "mark"
    OPEN_STATUSES = (MarkStatus.SUBMITTED, MarkStatus.COUNTY_PASSED, MarkStatus.APPROVED)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    mark: Mapped[str] = mapped_column(String(20))
    evidence_number: Mapped[str] = mapped_column(String(60))
    evidence_valid_until: Mapped[date | None] = mapped_column()
    stored_name: Mapped[str] = mapped_column(String(80), default="")
    original_name: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(20), default=MarkStatus.SUBMITTED, index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=now)

    product = relationship("Product")
    organisation = relationship("Organisation")

    __table_args__ = (
        # One claim per product and mark that is open or standing, even under races.
        db.Index(
            "uq_one_open_mark_claim", "product_id", "mark", unique=True,
            sqlite_where=db.text("status IN ('submitted', 'county_passed', 'approved')"),
            postgresql_where=db.text("status IN ('submitted', 'county_passed', 'approved')"),
        ),
    )

    @property
    def mark_label(self) -> str:
        from marketplace.catalog.models import MARKS

        return str(MARKS[self.mark])
