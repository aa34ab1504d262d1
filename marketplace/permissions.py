"""Who may do what: one table of rules, each a small function of (user, object).

Services call authorize() first; templates call can() to hide buttons a user may not press.
"""

from flask_babel import gettext as _

from marketplace.accounts.models import Role
from marketplace.errors import NotAuthorized


def _authenticated(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def _admin(user, _obj=None) -> bool:
    return _authenticated(user) and user.role == Role.ADMIN


def _member_of(user, organisation) -> bool:
    return (
        _authenticated(user)
        and organisation is not None
        and user.organisation_id is not None
        and user.organisation_id == organisation.id
    )


def _producer_member(user, organisation) -> bool:
    return _member_of(user, organisation) and user.role == Role.PRODUCER


def _officer_of(user, county_id) -> bool:
    return (
        _authenticated(user)
        and user.role == Role.COUNTY_OFFICER
        and user.county_id is not None
        and user.county_id == county_id
    )


def _can_create_organisation(user, _obj=None) -> bool:
    return _authenticated(user) and user.role == Role.PRODUCER and user.organisation_id is None


def _can_read_application(user, application) -> bool:
    return (
        _producer_member(user, application.organisation)
        or _officer_of(user, application.county_id)
        or _admin(user)
    )


def _can_read_organisation_file(user, organisation) -> bool:
    return (
        _member_of(user, organisation)
        or _officer_of(user, organisation.county_id)
        or _admin(user)
    )


RULES = {
    "organisation.create": _can_create_organisation,
    "organisation.edit": _producer_member,
    "organisation.submit": _producer_member,
    "organisation.read": _can_read_organisation_file,
    "organisation.county_review": lambda u, org: _officer_of(u, org.county_id),
    "organisation.city_decide": _admin,
    "organisation.suspend": _admin,
    "product.create": _producer_member,
    "product.edit": lambda u, product: _producer_member(u, product.organisation),
    "product.read_private": lambda u, product: _can_read_organisation_file(
        u, product.organisation
    ),
    "product.edit_certified": lambda u, cert: _producer_member(u, cert.organisation),
    "application.submit": lambda u, product: _producer_member(u, product.organisation),
    "application.withdraw": lambda u, app: _producer_member(u, app.organisation),
    "application.read": _can_read_application,
    "application.county_review": lambda u, app: _officer_of(u, app.county_id),
    "application.city_decide": _admin,
    "certificate.manage": _admin,
    "mark.submit": lambda u, product: _producer_member(u, product.organisation),
    "mark.withdraw": lambda u, claim: _producer_member(u, claim.organisation),
    "mark.read": _can_read_application,
    "mark.county_review": lambda u, claim: _officer_of(u, claim.county_id),
    "mark.city_decide": _admin,
    "linkage.withdraw": lambda u, change: _producer_member(u, change.organisation),
    "linkage.county_review": lambda u, change: _officer_of(u, change.county_id),
    "review.queue": lambda u, _o=None: _admin(u) or (
        _authenticated(u) and u.role == Role.COUNTY_OFFICER
    ),
    "user.manage": _admin,
    "audit.read": _admin,
}


def can(action: str, user, obj=None) -> bool:
    return bool(RULES[action](user, obj))


def authorize(action: str, user, obj=None) -> None:
    if not can(action, user, obj):
        raise NotAuthorized(_("您没有权限执行此操作。"))
