"""Producer organisations: create, edit, submit, and the county -> city verification chain."""

from flask_babel import gettext as _

from marketplace.accounts.models import Role
from marketplace.audit.models import record
from marketplace.errors import Invalid, NotAuthorized, NotFound
from marketplace.extensions import db
from marketplace.organisations import credit_code
from marketplace.organisations.models import (
    PRODUCER_TYPES,
    BenefitType,
    Organisation,
    OrgKind,
    OrgStatus,
)
from marketplace.permissions import authorize
from marketplace.places.models import County, Township, Village
from marketplace.workflow import require_status, transition

PHONE_DIGITS = set("0123456789-+ ")

EDITABLE_FIELDS = (
    "org_type", "name", "credit_code", "legal_representative", "contact_name",
    "contact_phone", "county_id", "township_id", "village_id", "address",
    "benefit_types", "poor_households", "benefit_description", "description",
)


def credit_code_message(code: str) -> str | None:
    """A reader-facing message for a bad credit code, or None."""
    why = credit_code.problem(code)
    return {
        None: None,
        "length": _("统一社会信用代码应为 18 位。"),
        "characters": _("统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）。"),
        "check": _("统一社会信用代码校验位不正确，请核对。"),
    }[why]


def _clean(data: dict, organisation: Organisation | None) -> tuple[dict, dict]:
    """Validate organisation fields; return (clean values, errors by field)."""
    errors: dict[str, list[str]] = {}
    values = {k: data.get(k) for k in EDITABLE_FIELDS}
    for field in ("name", "legal_representative", "contact_phone"):
        values[field] = (values[field] or "").strip()
        if not values[field]:
            errors[field] = [_("此项必填。")]
    for field in ("contact_name", "address", "benefit_description", "description"):
        values[field] = (values[field] or "").strip()
    if values["org_type"] not in PRODUCER_TYPES:
        errors["org_type"] = [_("请选择经营主体类型。")]
    code = credit_code.normalise(values["credit_code"])
    values["credit_code"] = code
    message = credit_code_message(code)
    if message:
        errors["credit_code"] = [message]
    else:
        clash = db.session.scalar(
            db.select(Organisation.id).where(Organisation.credit_code == code)
        )
        if clash and (organisation is None or clash != organisation.id):
            errors["credit_code"] = [_("该统一社会信用代码已登记。")]
    phone = values["contact_phone"]
    if phone and (not set(phone) <= PHONE_DIGITS or sum(c.isdigit() for c in phone) < 7):
        errors["contact_phone"] = [_("请填写有效的联系电话。")]
    county = db.session.get(County, values["county_id"]) if values["county_id"] else None
    if county is None:
        errors["county_id"] = [_("请选择县区。")]
    township = db.session.get(Township, values["township_id"]) if values["township_id"] else None
    if township is None or (county and township.county_id != county.id):
        errors["township_id"] = [_("请选择所在县区下的乡镇。")]
    village = db.session.get(Village, values["village_id"]) if values["village_id"] else None
    if values["village_id"] and (village is None or village.township_id != values["township_id"]):
        errors["village_id"] = [_("村不属于所选乡镇。")]
    values["village_id"] = village.id if village else None
    benefits = values["benefit_types"] or []
    if isinstance(benefits, str):
        benefits = [b for b in benefits.split(",") if b]
    if any(b not in BenefitType.__members__.values() for b in benefits):
        errors["benefit_types"] = [_("联农带农方式无效。")]
    values["benefit_types"] = ",".join(sorted(set(benefits)))
    try:
        households = int(values["poor_households"] or 0)
        if households < 0:
            raise ValueError
        values["poor_households"] = households
    except (TypeError, ValueError):
        errors["poor_households"] = [_("请填写不小于 0 的整数。")]
    return values, errors


def create_organisation(actor, data: dict) -> Organisation:
    """A producer member creates their organisation (as a draft) and joins it."""
    authorize("organisation.create", actor)
    values, errors = _clean(data, None)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    org = Organisation(kind=OrgKind.PRODUCER, status=OrgStatus.DRAFT, **values)
    db.session.add(org)
    db.session.flush()
    actor.organisation_id = org.id
    record(actor, "organisation.created", org, to_status=org.status)
    db.session.commit()
    return org


def update_organisation(actor, org: Organisation, data: dict) -> Organisation:
    authorize("organisation.edit", actor, org)
    if not org.is_editable:
        raise Invalid(_("审核中的资料不能修改。"))
    values, errors = _clean(data, org)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    changed = [k for k, v in values.items() if getattr(org, k) != v]
    if org.is_verified:
        locked = [k for k in changed if k in Organisation.LOCKED_WHEN_VERIFIED]
        if locked:
            msg = _("已核验主体的名称、代码、类型、法定代表人和所在地不能自行修改，请联系管理员。")
            raise Invalid(msg, {k: [msg] for k in locked})
    for key in changed:
        setattr(org, key, values[key])
    if changed:
        record(actor, "organisation.edited", org, reason=", ".join(changed))
    db.session.commit()
    return org


def submit_organisation(actor, org: Organisation) -> None:
    authorize("organisation.submit", actor, org)
    transition(org, OrgStatus.SUBMITTED, actor, action="organisation.submitted")
    db.session.commit()


def review_organisation(actor, org: Organisation, passed: bool, reason: str) -> None:
    """County first review of a producer in the officer's own county."""
    authorize("organisation.county_review", actor, org)
    new = OrgStatus.COUNTY_PASSED if passed else OrgStatus.RETURNED
    transition(org, new, actor, action="organisation.county_review", reason=reason,
               reason_required=not passed)
    db.session.commit()


def decide_organisation(actor, org: Organisation, approved: bool, reason: str) -> None:
    """City verification of a producer that passed the county."""
    authorize("organisation.city_decide", actor, org)
    require_status(org, OrgStatus.COUNTY_PASSED)
    new = OrgStatus.VERIFIED if approved else OrgStatus.RETURNED
    transition(org, new, actor, action="organisation.city_decision", reason=reason,
               reason_required=not approved)
    db.session.commit()


def suspend_organisation(actor, org: Organisation, reason: str) -> None:
    """Suspending a producer takes all its products off sale at once."""
    authorize("organisation.suspend", actor, org)
    transition(org, OrgStatus.SUSPENDED, actor, action="organisation.suspended", reason=reason,
               reason_required=True)
    db.session.commit()


def reinstate_organisation(actor, org: Organisation, reason: str) -> None:
    authorize("organisation.suspend", actor, org)
    require_status(org, OrgStatus.SUSPENDED)
    transition(org, OrgStatus.VERIFIED, actor, action="organisation.reinstated", reason=reason,
               reason_required=True)
    db.session.commit()


def own_organisation(actor) -> Organisation:
    """The actor's own organisation; refused until they have registered one."""
    if actor.organisation is None:
        raise NotAuthorized(_("请先登记经营主体。"))
    return actor.organisation


def organisation_to_edit(actor) -> Organisation | None:
    """The actor's organisation, or None when they may create one (else refused)."""
    if actor.organisation is None:
        authorize("organisation.create", actor)
    return actor.organisation


def get_organisation(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None:
        raise NotFound(_("经营主体不存在。"))
    return org


def get_readable_organisation(actor, org_id: int) -> Organisation:
    org = get_organisation(org_id)
    authorize("organisation.read", actor, org)
    return org


def get_public_producer(org_id: int) -> Organisation:
    """A verified producer's public page; others are not shown to visitors."""
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind != OrgKind.PRODUCER or not org.is_verified:
        raise NotFound(_("经营主体不存在。"))
    return org


def organisations_awaiting(actor) -> list[Organisation]:
    """Producers waiting for this reviewer: the officer's county first review, or the city's."""
    authorize("review.queue", actor)
    query = db.select(Organisation).where(Organisation.kind == OrgKind.PRODUCER)
    if actor.role == Role.ADMIN:
        query = query.where(Organisation.status == OrgStatus.COUNTY_PASSED)
    else:
        query = query.where(
            Organisation.status == OrgStatus.SUBMITTED, Organisation.county_id == actor.county_id
        )
    return list(db.session.scalars(query.order_by(Organisation.updated_at)))


def list_organisations(actor, status: str | None = None, page: int = 1):
    authorize("organisation.city_decide", actor)
    query = db.select(Organisation)
    if status:
        query = query.where(Organisation.status == status)
    return db.paginate(query.order_by(Organisation.id.desc()), page=page, per_page=50)
