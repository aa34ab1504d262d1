"""Producer organisations: create, edit, submit, and the county -> city verification chain."""

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Role
from marketplace.audit.models import record
from marketplace.errors import Invalid, InvalidTransition, NotAuthorized, NotFound
from marketplace.extensions import db
from marketplace.organisations import credit_code
from marketplace.organisations.models import (
    PRODUCER_TYPES,
    BenefitType,
    LinkageChange,
    LinkageStatus,
    Organisation,
    OrgKind,
    OrgStatus,
)
from marketplace.permissions import authorize
from marketplace.places.models import County, Township, Village
from marketplace.uow import lock_row, use_case
from marketplace.workflow import fire

PHONE_DIGITS = set("0123456789-+ ")
MAX_HOUSEHOLDS = 1_000_000  # far above any producer; stops typos and integer overflow

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


def _row(model, value):
    """The row with this id, or None for a missing, malformed or out-of-range id."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return db.session.get(model, value)
    return None


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
    county = _row(County, values["county_id"])
    if county is None:
        errors["county_id"] = [_("请选择县区。")]
    township = _row(Township, values["township_id"])
    if township is None or (county and township.county_id != county.id):
        errors["township_id"] = [_("请选择所在县区下的乡镇。")]
    village = _row(Village, values["village_id"])
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
        if not 0 <= households <= MAX_HOUSEHOLDS:
            raise ValueError
        values["poor_households"] = households
    except (TypeError, ValueError):
        errors["poor_households"] = [_("请填写 0 到 %(n)s 之间的整数。", n=MAX_HOUSEHOLDS)]
    return values, errors


@use_case("organisation.create")
def create_organisation(actor, data: dict) -> Organisation:
    """A producer member creates their organisation (as a draft) and joins it."""
    values, errors = _clean(data, None)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    org = Organisation(kind=OrgKind.PRODUCER, status=OrgStatus.DRAFT, **values)
    db.session.add(org)
    db.session.flush()
    actor.organisation_id = org.id
    record(actor, "organisation.created", org, to_status=org.status)
    return org


@use_case("organisation.edit", subject="org")
def update_organisation(actor, org: Organisation, data: dict) -> LinkageChange | None:
    """Save edits. On a verified organisation, new farmer-linkage figures go to the county
    for review (returned, not applied) and the identity fields stay locked."""
    lock_row(org)
    if not org.is_editable:
        raise Invalid(_("审核中的资料不能修改。"))
    values, errors = _clean(data, org)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    changed = [k for k, v in values.items() if getattr(org, k) != v]
    proposal = None
    if org.is_verified:
        locked = [k for k in changed if k in Organisation.LOCKED_WHEN_VERIFIED]
        if locked:
            msg = _("已核验主体的名称、代码、类型、法定代表人和所在地不能自行修改，请联系管理员。")
            raise Invalid(msg, {k: [msg] for k in locked})
        linkage = [k for k in changed if k in Organisation.LINKAGE_FIELDS]
        if linkage:
            proposal = _propose_linkage(actor, org, values)
            changed = [k for k in changed if k not in linkage]
    for key in changed:
        setattr(org, key, values[key])
    if changed:
        record(actor, "organisation.edited", org, reason=", ".join(changed))
    return proposal


def pending_linkage_change(org: Organisation) -> LinkageChange | None:
    return db.session.scalar(db.select(LinkageChange).where(
        LinkageChange.organisation_id == org.id, LinkageChange.status == LinkageStatus.SUBMITTED))


def _propose_linkage(actor, org: Organisation, values: dict) -> LinkageChange:
    if pending_linkage_change(org):
        msg = _("上一次联农带农信息变更还在县级审核中，请等审核完成或撤回后再修改。")
        raise Invalid(msg, {k: [msg] for k in Organisation.LINKAGE_FIELDS})
    change = LinkageChange(
        organisation_id=org.id, county_id=org.county_id, status=LinkageStatus.SUBMITTED,
        submitted_by_id=actor.id,
        **{k: values[k] for k in Organisation.LINKAGE_FIELDS},
        **{f"previous_{k}": getattr(org, k) for k in Organisation.LINKAGE_FIELDS},
    )
    db.session.add(change)
    try:
        db.session.flush()
    except IntegrityError:
        raise InvalidTransition(_("上一次联农带农信息变更还在县级审核中。")) from None
    record(actor, "linkage.submitted", change, to_status=change.status,
           reason=f"{change.previous_poor_households} → {change.poor_households}")
    return change


@use_case("linkage.county_review", subject="change")
def review_linkage_change(actor, change: LinkageChange, approved: bool, reason: str) -> None:
    """The county officer approves (the figures go public) or returns new linkage figures."""
    fire(change, "county_approve" if approved else "county_return", actor, reason=reason)
    if approved:
        org = change.organisation
        for key in Organisation.LINKAGE_FIELDS:
            setattr(org, key, getattr(change, key))
        record(actor, "organisation.linkage_applied", org, reason=f"#{change.id}")


@use_case("linkage.withdraw", subject="change")
def withdraw_linkage_change(actor, change: LinkageChange) -> None:
    fire(change, "withdraw", actor)


def get_linkage_change(actor, change_id: int) -> LinkageChange:
    change = db.session.get(LinkageChange, change_id)
    if change is None:
        raise NotFound(_("变更申请不存在。"))
    authorize("organisation.read", actor, change.organisation)
    return change


def linkage_changes_awaiting(actor) -> list[LinkageChange]:
    authorize("review.queue", actor)
    if actor.role != Role.COUNTY_OFFICER:
        return []
    return list(db.session.scalars(db.select(LinkageChange).where(
        LinkageChange.status == LinkageStatus.SUBMITTED,
        LinkageChange.county_id == actor.county_id).order_by(LinkageChange.id)))


@use_case("organisation.submit", subject="org")
def submit_organisation(actor, org: Organisation) -> None:
    fire(org, "submit", actor)


@use_case("organisation.county_review", subject="org")
def review_organisation(actor, org: Organisation, passed: bool, reason: str) -> None:
    """County first review of a producer in the officer's own county."""
    fire(org, "county_pass" if passed else "county_return", actor, reason=reason)


@use_case("organisation.city_decide", subject="org")
def decide_organisation(actor, org: Organisation, approved: bool, reason: str) -> None:
    """City verification of a producer that passed the county."""
    fire(org, "city_verify" if approved else "city_return", actor, reason=reason)


@use_case("organisation.suspend", subject="org")
def suspend_organisation(actor, org: Organisation, reason: str) -> None:
    """Suspending a producer takes all its products off sale at once."""
    fire(org, "suspend", actor, reason=reason)


@use_case("organisation.suspend", subject="org")
def reinstate_organisation(actor, org: Organisation, reason: str) -> None:
    fire(org, "reinstate", actor, reason=reason)


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
