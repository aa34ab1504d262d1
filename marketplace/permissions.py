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
        or (organisation.kind == "producer" and _officer_of(user, organisation.county_id))
        or _admin(user)
    )


def _buyer_member(user, org_id) -> bool:
    return (
        _authenticated(user)
        and user.role in (Role.BUYER, Role.BUYER_APPROVER)
        and org_id is not None
        and user.organisation_id == org_id
    )


def _verified_buyer(user, _obj=None) -> bool:
    """A member of a buyer organisation the city has verified: may fill a cart and order."""
    org = getattr(user, "organisation", None) if _authenticated(user) else None
    return (_buyer_member(user, getattr(org, "id", None)) and org.kind == "buyer"
            and org.status == "verified")


def _order(obj):
    """The purchase order behind a purchase order or one of its sub-orders."""
    return getattr(obj, "purchase_order", None) or obj


def _buyer_org_id(obj):
    """The buyer organisation of an organisation, a purchase order or a sub-order."""
    if getattr(obj, "__tablename__", "") == "organisations":
        return obj.id
    return _order(obj).buyer_org_id


def _buyer_manager(user, org) -> bool:
    profile = getattr(org, "buyer_profile", None)
    return (_buyer_member(user, org.id) and profile is not None
            and profile.manager_id == user.id)


def _approver_of(user, obj) -> bool:
    """An approver of the buyer, not the purchaser who made the order (four eyes)."""
    order = _order(obj)
    return (_buyer_member(user, order.buyer_org_id) and user.role == Role.BUYER_APPROVER
            and user.id != order.created_by_id)


def _can_read_sub_order(user, sub) -> bool:
    return (_buyer_member(user, sub.purchase_order.buyer_org_id)
            or _producer_member(user, sub.producer) or _admin(user))


def _api_client(user, scope: str, key=None) -> bool:
    """A data-API token's principal (reports.api.ApiClient) of this scope (and target)."""
    return (getattr(user, "is_api_client", False) and user.scope == scope
            and (key is None or user.scope_key == key))


def _reads_city(user, _obj=None) -> bool:
    return _admin(user) or _api_client(user, "city")


RULES = {
    "organisation.create": _can_create_organisation,
    "organisation.edit": _producer_member,
    "organisation.submit": lambda u, org: _producer_member(u, org) or _buyer_manager(u, org),
    "organisation.read": _can_read_organisation_file,
    "organisation.county_review": lambda u, org: org.kind == "producer"
    and _officer_of(u, org.county_id),
    "organisation.city_decide": lambda u, org=None: _admin(u) and (
        org is None or org.kind == "producer"),
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
    "buyer.manage": _buyer_manager,
    "buyer.verify": lambda u, org=None: _admin(u) and (org is None or org.kind == "buyer"),
    "cart.use": _verified_buyer,
    "po.submit": lambda u, obj: _verified_buyer(u) and _buyer_member(u, _buyer_org_id(obj)),
    "po.read": lambda u, obj: _buyer_member(u, _buyer_org_id(obj)) or _admin(u),
    "po.approve": _approver_of,
    "suborder.read": _can_read_sub_order,
    "suborder.fulfil": lambda u, sub: _producer_member(u, sub.producer),
    "suborder.receive": lambda u, sub: _buyer_member(u, sub.purchase_order.buyer_org_id),
    "suborder.cancel": lambda u, sub: _buyer_member(u, sub.purchase_order.buyer_org_id),
    "suborder.resolve": _admin,
    "orders.producer": lambda u, org: _producer_member(u, org),
    # Payments: the buyer reads and pays its orders; the producer invoices its own sub-orders
    # and reads its own ledger; finance (the city administrator) records money and payouts.
    "payment.read": lambda u, obj: _buyer_member(u, _buyer_org_id(obj)) or _admin(u),
    "payment.pay": lambda u, sub: _buyer_member(u, sub.purchase_order.buyer_org_id),
    "invoice.issue": lambda u, sub: _producer_member(u, sub.producer),
    "ledger.read": lambda u, org: _producer_member(u, org) or _admin(u),
    "finance.manage": _admin,
    "review.queue": lambda u, _o=None: _admin(u) or (
        _authenticated(u) and u.role == Role.COUNTY_OFFICER
    ),
    "user.manage": _admin,
    # Reports: the city reads everything, a county its own, an organisation its own.
    "reports.city": _reads_city,
    "reports.county": lambda u, county: _reads_city(u) or _officer_of(u, county.id)
    or _api_client(u, "county", county.id),
    "reports.producer": lambda u, org: _reads_city(u) or _producer_member(u, org)
    or _api_client(u, "organisation", org.id),
    "reports.buyer": lambda u, org: _reads_city(u) or _buyer_member(u, org.id)
    or _api_client(u, "organisation", org.id),
    "reports.manage": _admin,
    "audit.read": _admin,
    "mail.outbox": _admin,
}


def can(action: str, user, obj=None) -> bool:
    return bool(RULES[action](user, obj))


def authorize(action: str, user, obj=None) -> None:
    if not can(action, user, obj):
        raise NotAuthorized(_("您没有权限执行此操作。"))
