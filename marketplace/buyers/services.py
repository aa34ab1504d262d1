"""Buyer organisations: register, get verified by the city, manage members and settings."""

import re
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Role, User
from marketplace.accounts.services import _new_user, admit_registration
from marketplace.audit.models import record
from marketplace.buyers.models import (
    DEFAULT_RESERVED_SHARE,
    MIN_RESERVED_SHARE,
    BuyerProfile,
    DeliveryAddress,
)
from marketplace.errors import Invalid, InvalidTransition, NotFound
from marketplace.extensions import db
from marketplace.money import MoneyError, parse_quantity, parse_yuan
from marketplace.organisations import credit_code
from marketplace.organisations.models import BUYER_TYPES, Organisation, OrgKind, OrgStatus
from marketplace.organisations.services import PHONE_DIGITS, credit_code_message
from marketplace.permissions import authorize
from marketplace.places.models import County
from marketplace.uow import lock_row, use_case
from marketplace.workflow import fire

MEMBER_ROLES = (Role.BUYER, Role.BUYER_APPROVER)


def _text(data: dict, field: str, limit: int, errors: dict, *, required=True) -> str:
    value = (data.get(field) or "").strip()
    if required and not value:
        errors[field] = [_("此项必填。")]
    elif len(value) > limit:
        errors[field] = [_("不能超过 %(n)s 个字。", n=limit)]
    return value


def _phone(data: dict, field: str, errors: dict) -> str:
    phone = _text(data, field, 20, errors)
    if phone and (not set(phone) <= PHONE_DIGITS or sum(c.isdigit() for c in phone) < 7):
        errors[field] = [_("请填写有效的联系电话。")]
    return phone


def _clean_organisation(data: dict) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "name": _text(data, "name", 120, errors),
        "legal_representative": _text(data, "legal_representative", 40, errors),
        "contact_name": _text(data, "contact_name", 40, errors),
        "contact_phone": _phone(data, "contact_phone", errors),
        "address": _text(data, "address", 200, errors),
    }
    if data.get("org_type") not in BUYER_TYPES:
        errors["org_type"] = [_("请选择单位类型。")]
    values["org_type"] = data.get("org_type")
    code = credit_code.normalise(data.get("credit_code"))
    message = credit_code_message(code)
    if message:
        errors["credit_code"] = [message]
    elif db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        errors["credit_code"] = [_("该统一社会信用代码已登记。")]
    values["credit_code"] = code
    county_id = data.get("county_id")
    county = (db.session.get(County, county_id)
              if isinstance(county_id, int) and 0 < county_id < 2**31 else None)
    if county is None:
        errors["county_id"] = [_("请选择县区。")]
    values["county_id"] = county.id if county else None
    return values, errors


def register_buyer(data: dict, ip: str) -> User:
    """A buyer's manager registers the organisation and their own account in one step.

    Throttled per address like every registration; the organisation then waits for the
    city's verification before anyone in it can order.
    """
    admit_registration(ip)
    return _register_buyer(data)


@use_case(None)
def _register_buyer(data: dict) -> User:
    values, errors = _clean_organisation(data)
    profile_values, profile_errors = _clean_settings(data)
    errors.update(profile_errors)
    address_values, address_errors = _clean_address(data)
    errors.update(address_errors)
    try:
        manager = _new_user(data.get("username", ""), data.get("display_name", ""),
                            data.get("password", ""), Role.BUYER_APPROVER,
                            email=data.get("email"))
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    org = Organisation(kind=OrgKind.BUYER, status=OrgStatus.SUBMITTED, **values)
    db.session.add(org)
    try:
        db.session.flush()
    except IntegrityError:
        raise Invalid(_("请检查填写的内容。"),
                      {"credit_code": [_("该统一社会信用代码已登记。")]}) from None
    manager.organisation_id = org.id
    db.session.flush()
    db.session.add(BuyerProfile(organisation_id=org.id, manager_id=manager.id, **profile_values))
    db.session.add(DeliveryAddress(organisation_id=org.id, **address_values))
    record(manager, "buyer.registered", org, to_status=org.status)
    return manager


def _clean_settings(data: dict) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "invoice_title": _text(data, "invoice_title", 120, errors),
        "tax_number": (data.get("tax_number") or "").strip().upper(),
    }
    if not re.fullmatch(r"[0-9A-Z]{15,20}", values["tax_number"]):
        errors["tax_number"] = [_("纳税人识别号应为 15–20 位数字或大写字母。")]
    threshold = (data.get("approval_threshold_yuan") or "").strip()
    try:
        values["approval_threshold_fen"] = parse_yuan(threshold) if threshold else None
    except MoneyError:
        errors["approval_threshold_yuan"] = [_("请填写金额（元），不需要审批请留空。")]
    budget = (data.get("annual_food_budget_yuan") or "").strip()
    try:
        values["annual_food_budget_fen"] = parse_yuan(budget) if budget else 0
    except MoneyError:
        errors["annual_food_budget_yuan"] = [_("请填写金额（元）。")]
    ratio = (data.get("reserved_share_percent") or "").strip()
    try:
        values["reserved_share_percent"] = (parse_quantity(ratio, positive=False, places=2)
                                            if ratio else DEFAULT_RESERVED_SHARE)
    except MoneyError:
        errors["reserved_share_percent"] = [_("请填写 0–100 之间的百分比，默认 10。")]
    else:
        # National rules ask at least 10% (some places more); the form says so, and so do we.
        if not MIN_RESERVED_SHARE <= values["reserved_share_percent"] <= 100:
            errors["reserved_share_percent"] = [_("预留份额比例不低于 10%，不超过 100%。")]
    return values, errors


@use_case("buyer.manage", subject="org")
def update_settings(actor, org: Organisation, data: dict) -> None:
    """Invoice details, the approval threshold, the canteen food budget and reserved share."""
    values, errors = _clean_settings(data)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    profile = org.buyer_profile
    changes = [k for k, v in values.items() if getattr(profile, k) != v]
    for key in changes:
        setattr(profile, key, values[key])
    if changes:
        record(actor, "buyer.settings_changed", org, reason=", ".join(changes))


def _clean_address(data: dict) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    values = {
        "label": _text(data, "address_label", 40, errors, required=False) or _("默认地址"),
        "address": _text(data, "delivery_address", 200, errors),
        "contact_name": _text(data, "delivery_contact", 40, errors),
        "contact_phone": _phone(data, "delivery_phone", errors),
    }
    return values, errors


@use_case("buyer.manage", subject="org")
def add_address(actor, org: Organisation, data: dict) -> DeliveryAddress:
    values, errors = _clean_address(data)
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    address = DeliveryAddress(organisation_id=org.id, **values)
    db.session.add(address)
    db.session.flush()
    record(actor, "buyer.address_added", org, reason=str(address))
    return address


@use_case("buyer.manage", subject="org")
def remove_address(actor, org: Organisation, address_id: int) -> None:
    address = db.session.get(DeliveryAddress, address_id)
    if address is None or address.organisation_id != org.id:
        raise NotFound(_("地址不存在。"))
    lock_row(org)
    if len(active_addresses(org)) <= 1:
        raise InvalidTransition(_("至少保留一个收货地址。"))
    address.active = False
    record(actor, "buyer.address_removed", org, reason=str(address))


@use_case("buyer.manage", subject="org")
def add_member(actor, org: Organisation, data: dict) -> User:
    """The manager adds a purchaser or an approver with an initial password."""
    role = data.get("role")
    if role not in MEMBER_ROLES:
        raise Invalid(_("请检查填写的内容。"), {"role": [_("请选择角色。")]})
    user = _new_user(data.get("username", ""), data.get("display_name", ""),
                     data.get("password", ""), role, email=data.get("email"),
                     organisation_id=org.id)
    db.session.flush()
    record(actor, "buyer.member_added", org, reason=f"{user.username} ({Role(role).label})")
    return user


@use_case("buyer.manage", subject="org")
def remove_member(actor, org: Organisation, user_id: int) -> None:
    """Removing a member ends their access to the organisation (the account is deactivated)."""
    user = db.session.get(User, user_id)
    if user is None or user.organisation_id != org.id:
        raise NotFound(_("成员不存在。"))
    if user.id == actor.id:
        raise InvalidTransition(_("不能移除自己。"))
    user.active = False
    user.organisation_id = None
    record(actor, "buyer.member_removed", org, reason=user.username)


@use_case("buyer.verify", subject="org")
def decide_buyer(actor, org: Organisation, approved: bool, reason: str) -> None:
    """The city verifies a registered buyer (or returns it with a reason)."""
    fire(org, "buyer_verify" if approved else "buyer_return", actor, reason=reason)


def active_addresses(org: Organisation) -> list[DeliveryAddress]:
    return list(db.session.scalars(select(DeliveryAddress).where(
        DeliveryAddress.organisation_id == org.id, DeliveryAddress.active.is_(True))
        .order_by(DeliveryAddress.id)))


def members(actor, org: Organisation) -> list[User]:
    authorize("buyer.manage", actor, org)
    return list(db.session.scalars(select(User).where(User.organisation_id == org.id)
                                   .order_by(User.id)))


def own_buyer_organisation(actor) -> Organisation:
    org = getattr(actor, "organisation", None)
    if org is None or org.kind != OrgKind.BUYER:
        raise NotFound(_("您不属于任何采购单位。"))
    return org


def buyers_awaiting(actor) -> list[Organisation]:
    authorize("buyer.verify", actor)
    return list(db.session.scalars(select(Organisation).where(
        Organisation.kind == OrgKind.BUYER, Organisation.status == OrgStatus.SUBMITTED)
        .order_by(Organisation.id)))

