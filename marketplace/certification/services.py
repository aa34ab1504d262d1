"""Certification: apply with evidence, county first review, city decision, certificate actions.

Every decision is a compare-and-set through `workflow.fire`, so of two officers deciding the
same application at once exactly one lands. A certificate certifies exactly what was
reviewed: the listing's certified facts are frozen while an application is open, the city's
approval is refused if they no longer match the application, and the certificate keeps its
own copy of them.
"""

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from marketplace import uploads
from marketplace.accounts.models import Role
from marketplace.audit.models import record
from marketplace.catalog.models import CERTIFIED_FIELDS, Product, ProductStatus
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
from marketplace.money import format_yuan
from marketplace.organisations.models import OrgStatus
from marketplace.permissions import authorize
from marketplace.sequences import next_value
from marketplace.uow import lock_row, on_rollback, use_case
from marketplace.workflow import fire

MAX_DOCUMENTS = 10
APPLICABLE_ORG_STATUSES = (OrgStatus.SUBMITTED, OrgStatus.COUNTY_PASSED, OrgStatus.VERIFIED)


def _already_pending() -> InvalidTransition:
    return InvalidTransition(_("该产品已有一份审核中的认定申请。"))


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
        raise _already_pending()
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
    """Snapshot the listing as it stands into a new application (in the caller's transaction)."""
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
        category_id=product.category_id,
        annual_supply_capacity=capacity.strip(),
        benefit_mechanism=mechanism.strip(),
        submitted_by_id=actor.id,
        is_resubmission=resubmission,
    )
    db.session.add(application)
    try:
        db.session.flush()
    except IntegrityError:  # the partial unique index: another application won the race
        raise _already_pending() from None
    record(actor, "application.submitted", application, to_status=application.status)
    return application


@use_case("application.submit", subject="product")
def apply_for_certification(actor, product: Product, data: dict,
                            documents: list[tuple[str, FileStorage]]) -> CertificationApplication:
    """Apply for a product with evidence; `documents` is [(DocumentKind, uploaded file)]."""
    lock_row(product)
    errors = _check_application(product, data, documents)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    stored: list[tuple[str, str | None, uploads.StoredFile]] = []
    on_rollback(lambda: _discard(stored))
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
    return application


def _discard(stored) -> None:
    for _kind, _name, file in stored:
        uploads.discard("documents", file.stored_name)


@use_case("application.withdraw", subject="application")
def withdraw_application(actor, application: CertificationApplication) -> None:
    fire(application, "withdraw", actor)


@use_case("application.county_review", subject="application")
def review_application(actor, application: CertificationApplication, passed: bool,
                       reason: str) -> None:
    """County first review (only the officer of the application's county)."""
    fire(application, "county_pass" if passed else "county_return", actor, reason=reason)


def certificate_number(year: int) -> str:
    """The next number of `year`: from a counter row, so it never collides or repeats."""
    prefix = current_app.config["CERT_NUMBER_PREFIX"]
    return f"{prefix}-{year}-{next_value(f'certificate-{year}'):06d}"


def issue_certificate(actor, application: CertificationApplication, issued_on) -> Certificate:
    """Issue the certificate: public notice first, then valid for the configured term.

    Runs inside the caller's transaction; the certificate copies what was reviewed.
    """
    cfg = current_app.config
    valid_from = issued_on + timedelta(days=cfg["CERT_NOTICE_DAYS"])
    certificate = Certificate(
        number=certificate_number(issued_on.year),
        product_id=application.product_id,
        organisation_id=application.organisation_id,
        application_id=application.id,
        issued_on=issued_on,
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=cfg["CERT_TERM_DAYS"] - 1),
        status=CertificateState.ACTIVE,
        issued_by_id=getattr(actor, "id", None),
        certified_name=application.product_name,
        certified_specification=application.specification,
        certified_origin=application.origin,
        certified_unit=application.unit,
        certified_category_id=application.category_id,
        certified_price_fen=application.price_fen,
    )
    db.session.add(certificate)
    db.session.flush()
    record(actor, "certificate.issued", certificate, to_status=certificate.status,
           reason=f"{certificate.number}: {certificate.valid_from} – {certificate.valid_until}")
    return certificate


FIELD_LABELS = {"name": _l("名称"), "specification": _l("规格"), "origin": _l("产地"),
                "unit": _l("单位"), "category_id": _l("品类"), "price_fen": _l("价格")}


def changed_since_review(product: Product, application: CertificationApplication) -> list[str]:
    """The certified facts (and price) that differ between the listing and the application."""
    reviewed = application.snapshot()
    current = {**product.facts(), "price_fen": product.price_fen}
    return [field for field in (*CERTIFIED_FIELDS, "price_fen")
            if reviewed[field] is not None and reviewed[field] != current[field]]


@use_case("application.city_decide", subject="application")
def decide_application(actor, application: CertificationApplication, approved: bool,
                       reason: str) -> Certificate | None:
    """The city decision on an application that passed the county."""
    if not approved:
        fire(application, "city_reject", actor, reason=reason)
        return None
    product = application.product
    lock_row(product)
    if application.organisation.status != OrgStatus.VERIFIED:
        raise InvalidTransition(_("经营主体尚未通过核验，不能认定其产品。"))
    changed = changed_since_review(product, application)
    if changed:
        raise InvalidTransition(_(
            "产品的%(fields)s在申请提交后已变更，与审核的内容不一致，不能认定。请驳回后由供应商重新申请。",
            fields="、".join(str(FIELD_LABELS[f]) for f in changed)))
    fire(application, "city_approve", actor, reason=reason)
    for older in product.certificates:
        if older.status in (CertificateState.ACTIVE, CertificateState.SUSPENDED):
            fire(older, "supersede", actor,
                 reason=_("新证书已签发（申请 #%(id)s）。", id=application.id))
    return issue_certificate(actor, application, today())


@use_case("certificate.manage", subject="certificate")
def suspend_certificate(actor, certificate: Certificate, reason: str) -> None:
    fire(certificate, "suspend", actor, reason=reason)


@use_case("certificate.manage", subject="certificate")
def reinstate_certificate(actor, certificate: Certificate, reason: str) -> None:
    """Reinstate, but only while the listing still is what the certificate certified: the
    same facts, at a price within the margin above the certified price."""
    product = certificate.product
    lock_row(product)
    if certificate.certified_facts() != product.facts():
        raise InvalidTransition(_("产品信息已变更，与证书认定的内容不一致，不能恢复。请等待重新认定。"))
    ceiling = certificate.price_ceiling(current_app.config["CERT_PRICE_MARGIN_PERCENT"])
    if certificate.certified_price_fen and product.price_fen > ceiling:
        raise InvalidTransition(_(
            "产品现价 ¥%(price)s 超出认定价格 ¥%(certified)s 允许的上限 ¥%(ceiling)s，不能恢复。"
            "请等待重新认定，或由供应商将价格调回上限以内。",
            price=format_yuan(product.price_fen),
            certified=format_yuan(certificate.certified_price_fen),
            ceiling=format_yuan(ceiling)))
    fire(certificate, "reinstate", actor, reason=reason)


@use_case("certificate.manage", subject="certificate")
def revoke_certificate(actor, certificate: Certificate, reason: str) -> None:
    fire(certificate, "revoke", actor, reason=reason)


def send_back_for_review(actor, product: Product, reason: str) -> CertificationApplication | None:
    """After a change to certified facts: suspend live certificates and reopen review.

    Runs inside the caller's transaction (the producer's edit).
    """
    live = [c for c in product.certificates if c.is_current(today())]
    if not live:
        return None
    for certificate in live:
        fire(certificate, "product_changed", actor, reason=reason)
    if pending_application(product):
        return None
    previous = live[0].application
    return _new_application(actor, product, previous.annual_supply_capacity,
                            previous.benefit_mechanism, resubmission=True)


def previous_certificate(application: CertificationApplication) -> Certificate | None:
    """The product's latest certificate issued before this application: what a review of a
    changed listing compares the new facts and price with."""
    earlier = [c for c in application.product.certificates
               if c.application_id != application.id and c.application_id < application.id]
    return max(earlier, key=lambda c: (c.issued_on, c.id), default=None)


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
