"""The city administrator's overview and the audit log."""

from sqlalchemy import func

from marketplace.audit.models import AuditEvent
from marketplace.catalog.queries import on_sale_products
from marketplace.certification.models import (
    ApplicationStatus,
    Certificate,
    CertificateStatus,
    CertificationApplication,
)
from marketplace.clock import today
from marketplace.extensions import db
from marketplace.organisations.models import Organisation, OrgKind, OrgStatus
from marketplace.permissions import authorize


def _count(model, *conditions) -> int:
    return db.session.scalar(db.select(func.count(model.id)).where(*conditions))


def dashboard_figures(actor) -> dict:
    authorize("audit.read", actor)
    day = today()
    on_sale = on_sale_products(day).subquery()
    return {
        "on_sale": db.session.scalar(db.select(func.count()).select_from(on_sale)),
        "verified_producers": _count(Organisation, Organisation.kind == OrgKind.PRODUCER,
                                     Organisation.status == OrgStatus.VERIFIED),
        "awaiting_city": _count(CertificationApplication,
                                CertificationApplication.status == ApplicationStatus.COUNTY_PASSED),
        "awaiting_county": _count(CertificationApplication,
                                  CertificationApplication.status == ApplicationStatus.SUBMITTED),
        "certificates": {
            status: _count(Certificate, Certificate.with_effective_status(status, day))
            for status in CertificateStatus
        },
    }


def audit_log(actor, page: int = 1, action: str | None = None):
    authorize("audit.read", actor)
    query = db.select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    return db.paginate(query, page=page, per_page=100, error_out=False)
