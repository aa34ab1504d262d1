"""What the administrator maintains for the reports: data-API tokens and reference prices."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.audit.models import record
from marketplace.catalog.models import UNITS, Category
from marketplace.clock import now
from marketplace.errors import Invalid, InvalidTransition, NotFound
from marketplace.extensions import db
from marketplace.money import MoneyError, parse_yuan
from marketplace.organisations.models import Organisation
from marketplace.permissions import authorize
from marketplace.places.models import County
from marketplace.reports.models import ApiToken, ReferencePrice, TokenScope, hash_token
from marketplace.uow import use_case

TOKEN_PREFIX = "xnyp_"  # noqa: S105 - a visible marker, not a secret


# Data-API tokens ------------------------------------------------------------------------


@use_case("reports.manage")
def issue_token(actor, name: str, scope: str, county_id=None,
                organisation_id=None) -> tuple[ApiToken, str]:
    """Issue a token for the city, a county or an organisation; the secret is returned once."""
    errors = {}
    name = (name or "").strip()
    if not name or len(name) > 80:
        errors["name"] = [_("请填写用途说明（不超过 80 个字）。")]
    if scope not in TokenScope.ALL:
        errors["scope"] = [_("请选择范围。")]
    county = db.session.get(County, county_id) if scope == TokenScope.COUNTY and county_id else None
    org = (db.session.get(Organisation, organisation_id)
           if scope == TokenScope.ORGANISATION and organisation_id else None)
    if scope == TokenScope.COUNTY and county is None:
        errors["county_id"] = [_("请选择县区。")]
    if scope == TokenScope.ORGANISATION and org is None:
        errors["organisation_id"] = [_("请选择单位。")]
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, scope=scope, county_id=county.id if county else None,
                     organisation_id=org.id if org else None, token_hash=hash_token(secret),
                     prefix=secret[:12], created_by_id=actor.id)
    db.session.add(token)
    db.session.flush()
    record(actor, "api_token.issued", token, reason=f"{name} ({scope})")
    return token, secret


@use_case("reports.manage", subject="token")
def revoke_token(actor, token: ApiToken) -> None:
    if token.revoked_at is not None:
        raise InvalidTransition(_("该令牌已经吊销。"))
    token.revoked_at = now()
    token.revoked_by_id = actor.id
    record(actor, "api_token.revoked", token, reason=token.name)


def list_tokens(actor) -> list[ApiToken]:
    authorize("reports.manage", actor)
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def get_token(actor, token_id: int) -> ApiToken:
    authorize("reports.manage", actor)
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_("令牌不存在。"))
    return token


@dataclass(frozen=True)
class ApiClient:
    """Who calls the data API: the token's scope, checked by the permission table."""

    token_id: int
    scope: str
    scope_key: int | None
    name: str
    county_id = None  # never a county officer or an organisation member
    organisation_id = None
    role = "api"
    is_api_client = True
    is_authenticated = True
    is_active = True
    id = None


@use_case(None)
def authenticate(secret: str) -> ApiClient | None:
    """The client of an active token, or None; marks the token used (at most once a minute)."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked_at is not None:
        return None
    stamp = now()
    if token.last_used_at is None or stamp - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = stamp
    key = token.county_id if token.scope == TokenScope.COUNTY else token.organisation_id
    return ApiClient(token.id, token.scope, key, token.name)


def counties() -> list[County]:
    return list(db.session.scalars(select(County).order_by(County.position, County.id)))


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


# Reference prices -----------------------------------------------------------------------


def list_reference_prices(actor) -> list[ReferencePrice]:
    authorize("reports.manage", actor)
    return list(db.session.scalars(select(ReferencePrice).join(ReferencePrice.category)
                                   .order_by(Category.position, ReferencePrice.unit)))


@use_case("reports.manage")
def set_reference_price(actor, category_id, unit: str, price_yuan: str,
                        note: str = "") -> ReferencePrice:
    """Set (or replace) the reference price of a category and unit."""
    errors = {}
    category = db.session.get(Category, category_id) if isinstance(category_id, int) else None
    if category is None:
        errors["category_id"] = [_("请选择品类。")]
    if unit not in UNITS:
        errors["unit"] = [_("请选择计量单位。")]
    try:
        price = parse_yuan(price_yuan)
    except MoneyError:
        errors["price_yuan"] = [_("请填写大于 0 的金额，最多两位小数。")]
    note = (note or "").strip()
    if len(note) > 120:
        errors["note"] = [_("不能超过 %(n)s 个字。", n=120)]
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    ref = db.session.scalar(select(ReferencePrice).where(
        ReferencePrice.category_id == category.id, ReferencePrice.unit == unit))
    if ref is None:
        ref = ReferencePrice(category_id=category.id, unit=unit)
        db.session.add(ref)
    ref.price_fen, ref.note, ref.updated_by_id = price, note, actor.id
    db.session.flush()
    record(actor, "reference_price.set", ref, reason=f"{category.name}/{unit} {price_yuan}")
    return ref


@use_case("reports.manage")
def delete_reference_price(actor, ref_id: int) -> None:
    ref = db.session.get(ReferencePrice, ref_id)
    if ref is None:
        raise NotFound(_("参考价不存在。"))
    record(actor, "reference_price.deleted", ref, reason=f"{ref.category_id}/{ref.unit}")
    db.session.delete(ref)
