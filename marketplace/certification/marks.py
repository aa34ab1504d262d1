"""Quality marks (绿色食品, 有机, 地理标志): claimed with evidence, reviewed like a product.

A producer claims a mark with the mark certificate's number and a scan of it; the county
officer reviews first and the city decides. Only an approved mark is shown on the product,
offered as a filter and indexed for search: the product's mark column is written by the
approval (and cleared by a revocation) in the same transaction, never by the producer.
"""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from marketplace import uploads
from marketplace.accounts.models import Role
from marketplace.audit.models import record
from marketplace.catalog.models import MARKS, Product, ProductStatus
from marketplace.certification.models import MarkClaim, MarkStatus
from marketplace.errors import Invalid, InvalidTransition, NotFound
from marketplace.extensions import db
from marketplace.permissions import authorize
from marketplace.uow import on_rollback, use_case
from marketplace.workflow import fire

MAX_EVIDENCE_NUMBER = 60


def _evidence_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(_("请检查填写的内容。"),
                      {"evidence_valid_until": [_("日期格式应为 YYYY-MM-DD。")]}) from None


@use_case("mark.submit", subject="product")
def claim_mark(actor, product: Product, mark: str, evidence_number: str, valid_until,
               document) -> MarkClaim:
    """Claim a quality mark for a product, with the mark certificate's number and a scan."""
    errors: dict[str, list[str]] = {}
    if mark not in MARKS:
        errors["mark"] = [_("请选择标识类型。")]
    number = (evidence_number or "").strip()
    if not number:
        errors["evidence_number"] = [_("请填写证书编号。")]
    elif len(number) > MAX_EVIDENCE_NUMBER:
        errors["evidence_number"] = [_("不能超过 %(n)s 个字。", n=MAX_EVIDENCE_NUMBER)]
    if document is None or not getattr(document, "filename", ""):
        errors["document"] = [_("请上传标识证书的扫描件或照片。")]
    expiry = _evidence_date(valid_until)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    if product.status != ProductStatus.ACTIVE:
        raise InvalidTransition(_("已归档的产品不能申请标识。"))
    stored = uploads.store_document(document, field="document")
    on_rollback(lambda: uploads.discard("documents", stored.stored_name))
    claim = MarkClaim(
        product_id=product.id, organisation_id=product.organisation_id,
        county_id=product.organisation.county_id, mark=mark, evidence_number=number,
        evidence_valid_until=expiry, stored_name=stored.stored_name,
        original_name=(document.filename or "")[-200:], content_type=stored.content_type,
        status=MarkStatus.SUBMITTED, submitted_by_id=actor.id,
    )
    db.session.add(claim)
    try:
        db.session.flush()
    except IntegrityError:
        raise InvalidTransition(_("该产品的这项标识已在审核中或已认定。")) from None
    record(actor, "mark.submitted", claim, to_status=claim.status, reason=f"{mark} {number}")
    return claim


@use_case("mark.withdraw", subject="claim")
def withdraw_mark_claim(actor, claim: MarkClaim) -> None:
    fire(claim, "withdraw", actor)


@use_case("mark.county_review", subject="claim")
def review_mark_claim(actor, claim: MarkClaim, passed: bool, reason: str) -> None:
    fire(claim, "county_pass" if passed else "county_return", actor, reason=reason)


@use_case("mark.city_decide", subject="claim")
def decide_mark_claim(actor, claim: MarkClaim, approved: bool, reason: str) -> None:
    """The city's decision; an approval shows the mark on the product from now on."""
    fire(claim, "city_approve" if approved else "city_reject", actor, reason=reason)
    if approved:
        setattr(claim.product, claim.mark, True)


@use_case("mark.city_decide", subject="claim")
def revoke_mark(actor, claim: MarkClaim, reason: str) -> None:
    fire(claim, "revoke", actor, reason=reason)
    setattr(claim.product, claim.mark, False)


def get_mark_claim(actor, claim_id: int) -> MarkClaim:
    claim = db.session.get(MarkClaim, claim_id)
    if claim is None:
        raise NotFound(_("标识申请不存在。"))
    authorize("mark.read", actor, claim)
    return claim


def mark_claims_of_product(product: Product) -> list[MarkClaim]:
    return list(db.session.scalars(
        db.select(MarkClaim).where(MarkClaim.product_id == product.id).order_by(MarkClaim.id.desc())
    ))


def approved_claims(product: Product) -> list[MarkClaim]:
    return [c for c in mark_claims_of_product(product) if c.status == MarkStatus.APPROVED]


def mark_claims_awaiting(actor) -> list[MarkClaim]:
    """Mark claims waiting for this reviewer (county first review, then the city)."""
    authorize("review.queue", actor)
    query = db.select(MarkClaim)
    if actor.role == Role.ADMIN:
        query = query.where(MarkClaim.status == MarkStatus.COUNTY_PASSED)
    else:
        query = query.where(MarkClaim.status == MarkStatus.SUBMITTED,
                            MarkClaim.county_id == actor.county_id)
    return list(db.session.scalars(query.order_by(MarkClaim.submitted_at, MarkClaim.id)))
