"""Certification: apply with evidence, county first review, city decision, certificate actions."""

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from marketplace import uploads
from marketplace.accounts.models import Role
from marketplace.audit.models import record
from marketplace.catalog.models import Product, ProductStatus
from marketplace.certification.models import (
    PENDING_STATUSES,
    ApplicationDocument,
    ApplicationStatus,
    Certificate,
    CertificateState,
    CertificateStatus,
    CertificationApplication,
    DocumentKind,
)
from marketplace.clock import today
from marketplace.errors import Invalid, InvalidTransition, NotFound
from marketplace.extensions import db
from marketplace.organisations.models import OrgStatus
from marketplace.permissions import authorize
from marketplace.workflow import transition

MAX_DOCUMENTS = 10
APPLICABLE_ORG_STATUSES = (OrgStatus.SUBMITTED, OrgStatus.COUNTY_PASSED, OrgStatus.VERIFIED)


def pending_application(product: Product) -> CertificationApplication | None:
    return db.session.scalar(
        db.select(CertificationApplication).where(
            CertificationApplication.product_id == product.id,
            CertificationApplication.status.in_(PENDING_STATUSES),
        )
    )


def _check_application(product: Product, data: dict, documents: list) -> dict:
    errors: dict[str, list[str]] = {}
    if product.status != ProductStatus.ACTIVE:
        raise InvalidTransition(_("已归档的产品不能申请认定。"))
    if product.organisation.status not in APPLICABLE_ORG_STATUSES:
        raise InvalidTransition(_("请先完善并提交经营主体资料，再申请产品认定。"))
    if pending_application(product):
        raise InvalidTransition(_("该产品已有一份审核中的认定申请。"))
    if not product.specification or not product.origin:
        errors["specification"] = [_("请先在产品信息中填写规格和产地。")]
    for field in ("annual_supply_capacity", "benefit_mechanism"):
        if not (data.get(field) or "").strip():
            errors[field] = [_("此项必填。")]
    if not documents:
        errors["documents"] = [_("请至少上传一份检测报告或其他证明材料。")]
    elif len(documents) > MAX_DOCUMENTS:
        errors["documents"] = [_("最多上传 %(n)s 份材料。", n=MAX_DOCUMENTS)]
    if any(kind not in DocumentKind.__members__.values() for kind, _f in documents):
        errors["documents"] = [_("材料类型无效。")]
    return errors


def _new_application(actor, product: Product, capacity: str, mechanism: str, *,
                     resubmission=False) -> CertificationApplication:
    application = CertificationApplication(
        product_id=product.id,
        organisation_id=product.organisation_id,
        county_id=product.organisation.county_id,
        status=ApplicationStatus.SUBMITTED,
        product_name=product.name,
        specification=product.specification,
        origin=product.origin,
        price_fen=product.price_fen,
        unit=product.unit,
        annual_supply_capacity=capacity.strip(),
        benefit_mechanism=mechanism.strip(),
        submitted_by_id=actor.id,
        is_resubmission=resubmission,
    )
    db.session.add(application)
    db.session.flush()
    record(actor, "application.submitted", application, to_status=application.status)
    return application


def apply_for_certification(actor, product: Product, data: dict,
                            documents: list[tuple[str, object]]) -> CertificationApplication:
    """Apply for a product with evidence; `documents` is [(DocumentKind, uploaded file)]."""
    authorize("application.submit", actor, product)
    errors = _check_application(product, data, documents)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    stored = []
    try:
        for kind, file_storage in documents:
            stored.append((kind, file_storage.filename, uploads.store_document(file_storage)))
        application = _new_application(
            actor, product, data["annual_supply_capacity"], data["benefit_mechanism"]
        )
        for kind, original, file in stored:
            db.session.add(ApplicationDocument(
                application_id=application.id, kind=kind, stored_name=file.stored_name,
                original_name=(original or "")[-200:], content_type=file.content_type,
                size=file.size,
            ))
        product.annual_supply_capacity = application.annual_supply_capacity
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _discard(stored)
        raise InvalidTransition(_("该产品已有一份审核中的认定申请。")) from None
    except Exception:
        db.session.rollback()
        _discard(stored)
        raise
    return application


def _discard(stored) -> None:
    for _kind, _name, file in stored:
        uploads.discard("documents", file.stored_name)


def withdraw_application(actor, application: CertificationApplication) -> None:
    authorize("application.withdraw", actor, application)
    transition(application, ApplicationStatus.WITHDRAWN, actor, action="application.withdrawn")
    db.session.commit()


def review_application(actor, application: CertificationApplication, passed: bool,
                       reason: str) -> None:
    """County first review (only the officer of the application's county)."""
    authorize("application.county_review", actor, application)
    new = ApplicationStatus.COUNTY_PASSED if passed else ApplicationStatus.COUNTY_RETURNED
    transition(application, new, actor, action="application.county_review", reason=reason,
               reason_required=True)
    db.session.commit()


def _next_certificate_number(year: int) -> str:
    prefix = f"{current_app.config['CERT_NUMBER_PREFIX']}-{year}-"
    last = db.session.scalar(
        db.select(func.max(Certificate.number)).where(Certificate.number.like(f"{prefix}%"))
    )
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:06d}"


def issue_certificate(actor, application: CertificationApplication, issued_on) -> Certificate:
    """Issue the certificate: public notice first, then valid for the configured term."""
    cfg = current_app.config
    valid_from = issued_on + timedelta(days=cfg["CERT_NOTICE_DAYS"])
    certificate = Certificate(
        number=_next_certificate_number(issued_on.year),
        product_id=application.product_id,
        organisation_id=application.organisation_id,
        application_id=application.id,
        issued_on=issued_on,
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=cfg["CERT_TERM_DAYS"] - 1),
        status=CertificateState.ACTIVE,
        issued_by_id=getattr(actor, "id", None),
    )
    db.session.add(certificate)
    db.session.flush()
    record(actor, "certificate.issued", certificate, to_status=certificate.status,
           reason=f"{certificate.number}: {certificate.valid_from} – {certificate.valid_until}")
    return certificate


def decide_application(actor, application: CertificationApplication, approved: bool,
                       reason: str) -> Certificate | None:
    """The city decision on an application that passed the county."""
    authorize("application.city_decide", actor, application)
    if approved and application.organisation.status != OrgStatus.VERIFIED:
        raise InvalidTransition(_("经营主体尚未通过核验，不能认定其产品。"))
    new = ApplicationStatus.APPROVED if approved else ApplicationStatus.REJECTED
    transition(application, new, actor, action="application.city_decision", reason=reason,
               reason_required=True)
    certificate = issue_certificate(actor, application, today()) if approved else None
    try:
        db.session.commit()
    except IntegrityError:  # two decisions raced for the same number
        db.session.rollback()
        raise InvalidTransition(_("操作冲突，请刷新后重试。")) from None
    return certificate


def _certificate_action(actor, certificate: Certificate, new, action: str, reason: str):
    authorize("certificate.manage", actor, certificate)
    transition(certificate, new, actor, action=action, reason=reason, reason_required=True)
    db.session.commit()


def suspend_certificate(actor, certificate: Certificate, reason: str) -> None:
    _certificate_action(actor, certificate, CertificateState.SUSPENDED, "certificate.suspended",
                        reason)


def reinstate_certificate(actor, certificate: Certificate, reason: str) -> None:
    _certificate_action(actor, certificate, CertificateState.ACTIVE, "certificate.reinstated",
                        reason)


def revoke_certificate(actor, certificate: Certificate, reason: str) -> None:
    _certificate_action(actor, certificate, CertificateState.REVOKED, "certificate.revoked",
                        reason)


def send_back_for_review(actor, product: Product) -> CertificationApplication | None:
    """After a change to certified facts: suspend live certificates and reopen review.

    Runs inside the caller's transaction (the caller commits).
    """
    reason = _("产品名称、规格或产地变更，需重新认定。")
    live = [c for c in product.certificates if c.is_current(today())]
    if not live:
        return None
    for certificate in live:
        transition(certificate, CertificateState.SUSPENDED, actor,
                   action="certificate.suspended", reason=reason)
    if pending_application(product):
        return None
    previous = live[0].application
    return _new_application(actor, product, previous.annual_supply_capacity,
                            previous.benefit_mechanism, resubmission=True)


def get_application(actor, application_id: int) -> CertificationApplication:
    application = db.session.get(CertificationApplication, application_id)
    if application is None:
        raise NotFound(_("申请不存在。"))
    authorize("application.read", actor, application)
    return application


def get_document(actor, document_id: int) -> ApplicationDocument:
    document = db.session.get(ApplicationDocument, document_id)
    if document is None:
        raise NotFound(_("材料不存在。"))
    authorize("application.read", actor, document.application)
    return document


def get_certificate(actor, certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound(_("证书不存在。"))
    authorize("certificate.manage", actor, certificate)
    return certificate


def applications_awaiting(actor) -> list[CertificationApplication]:
    """The reviewer's queue: the officer's county first reviews, or the city's decisions."""
    authorize("review.queue", actor)
    query = db.select(CertificationApplication)
    if actor.role == Role.ADMIN:
        query = query.where(CertificationApplication.status == ApplicationStatus.COUNTY_PASSED)
    else:
        query = query.where(
            CertificationApplication.status == ApplicationStatus.SUBMITTED,
            CertificationApplication.county_id == actor.county_id,
        )
    return list(db.session.scalars(query.order_by(CertificationApplication.submitted_at)))


def applications_of(actor, organisation) -> list[CertificationApplication]:
    authorize("product.create", actor, organisation)
    query = (
        db.select(CertificationApplication)
        .where(CertificationApplication.organisation_id == organisation.id)
        .order_by(CertificationApplication.id.desc())
    )
    return list(db.session.scalars(query))


def list_certificates(actor, status: str | None = None, page: int = 1):
    authorize("certificate.manage", actor)
    query = db.select(Certificate).order_by(Certificate.id.desc())
    if status:
        query = query.where(Certificate.with_effective_status(CertificateStatus(status), today()))
    return db.paginate(query, page=page, per_page=50, error_out=False)
