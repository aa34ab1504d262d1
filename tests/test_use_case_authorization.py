"""Every state-changing service, called by every role: refused unless the permission table allows.

`marketplace.uow.USE_CASES` registers each `@use_case` service with its rule. For each one
this test holds a scenario (the subject and the arguments of a call that could succeed), and
calls it as each persona of tests/world.py: a visitor, the producer of the organisation, the
producer of another, a producer without an organisation, a buyer, an approver, the county
officer of the county and of another county, the administrator. Where
`permissions.can(rule, user, subject)` is false the call must raise NotAuthorized and leave
the database as it was; where it is true it must not be refused (it may still meet a state
rule). A new use case without a scenario, or a new role without a persona, fails the test.

Every call runs inside an outer unit of work that is rolled back afterwards, so the world
stays as built and the calls do not depend on their order.
"""

import importlib
import inspect
import io
import pkgutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

import marketplace
from marketplace.accounts.models import Role
from marketplace.clock import today
from marketplace.config import BASE_DIR
from marketplace.errors import DomainError, NotAuthorized
from marketplace.payments.services import PayoutData, TransferData, reference_of
from marketplace.permissions import RULES, can
from marketplace.uow import USE_CASES, unit_of_work
from tests.factories import credit_code, product_data
from tests.helpers import pdf_bytes, png_bytes
from tests.routes import _ADDRESS, _SETTINGS, STRONG
from tests.world import PERSONAS, STATEMENT_COLUMNS, World, snapshot, statement_csv


@dataclass
class Call:
    #: What the rule is checked against (None: the rule takes no object; a function of the
    #: actor when the service takes it from the actor, as its organisation).
    subject: object
    kwargs: dict


def _pdf(name="证书.pdf"):
    return FileStorage(io.BytesIO(pdf_bytes()), filename=name)


def _organisation_data(w: World) -> dict:
    return {"org_type": "cooperative", "name": "新登记合作社", "credit_code": credit_code(),
            "legal_representative": "赵六", "contact_phone": "13800000001",
            "county_id": w.places.yuzhou.id, "township_id": w.places.fangshan.id,
            "benefit_types": ["wages"], "poor_households": 3}


REASON = {"reason": "依据材料"}


def _lines(order_or_sub, value: str) -> dict:
    """{line id: quantity} over the lines of a sub-order, or of every part of an order."""
    subs = getattr(order_or_sub, "sub_orders", None) or [order_or_sub]
    return {line.id: value for sub in subs for line in sub.lines}


def _own_organisation(user):
    return getattr(user, "organisation", None)


def _on_sub(w: World, state: str, **kwargs) -> Call:
    sub = w.purchasing.subs[state]
    return Call(sub, dict(sub=sub, **kwargs))

SCENARIOS = {
    "accounts.services.create_user": lambda w: Call(None, dict(
        username="officer-new", display_name="新审核员", password="long enough pw",
        role="county_officer", county_id=w.places.yanling.id)),
    "accounts.services.set_user_active": lambda w: Call(None, dict(
        user=w.users["buyer"], active=False)),
    "catalog.services.create_product": lambda w: Call(w.org, dict(
        organisation=w.org, data=product_data(w.places.starch))),
    "catalog.services.update_product": lambda w: Call(w.draft, dict(
        product=w.draft, data=product_data(w.places.starch, name=w.draft.name,
                                           price_yuan="21.00"))),
    "catalog.services.archive_product": lambda w: Call(w.draft, dict(product=w.draft)),
    "catalog.services.restore_product": lambda w: Call(w.archived, dict(product=w.archived)),
    "catalog.services.add_photo": lambda w: Call(w.draft, dict(
        product=w.draft, file_storage=FileStorage(io.BytesIO(png_bytes()), filename="p.png"))),
    "catalog.services.remove_photo": lambda w: Call(w.listed, dict(photo=w.photo)),
    "certification.services.apply_for_certification": lambda w: Call(w.draft, dict(
        product=w.draft, data={"annual_supply_capacity": "50 吨", "benefit_mechanism": "务工"},
        documents=[("test_report", _pdf("检测报告.pdf"))])),
    "certification.services.withdraw_application": lambda w: Call(
        w.submitted_application, dict(application=w.submitted_application)),
    "certification.services.review_application": lambda w: Call(
        w.submitted_application, dict(application=w.submitted_application, passed=True,
                                      **REASON)),
    "certification.services.decide_application": lambda w: Call(
        w.passed_application, dict(application=w.passed_application, approved=True, **REASON)),
    "certification.services.suspend_certificate": lambda w: Call(
        w.certificate, dict(certificate=w.certificate, **REASON)),
    "certification.services.reinstate_certificate": lambda w: Call(
        w.paused_certificate, dict(certificate=w.paused_certificate, **REASON)),
    "certification.services.revoke_certificate": lambda w: Call(
        w.certificate, dict(certificate=w.certificate, **REASON)),
    "certification.marks.claim_mark": lambda w: Call(w.draft, dict(
        product=w.draft, mark="green_food", evidence_number="LB-1", valid_until=None,
        document=_pdf())),
    "certification.marks.withdraw_mark_claim": lambda w: Call(
        w.submitted_claim, dict(claim=w.submitted_claim)),
    "certification.marks.review_mark_claim": lambda w: Call(
        w.submitted_claim, dict(claim=w.submitted_claim, passed=True, **REASON)),
    "certification.marks.decide_mark_claim": lambda w: Call(
        w.passed_claim, dict(claim=w.passed_claim, approved=True, **REASON)),
    "certification.marks.revoke_mark": lambda w: Call(
        w.approved_claim, dict(claim=w.approved_claim, **REASON)),
    "organisations.services.create_organisation": lambda w: Call(None, dict(
        data=_organisation_data(w))),
    "organisations.services.update_organisation": lambda w: Call(w.org, dict(
        org=w.org, data={**_organisation_data(w), "name": w.org.name,
                         "credit_code": w.org.credit_code, "contact_name": "李会计",
                         "legal_representative": w.org.legal_representative,
                         "benefit_types": ["wages"], "poor_households": 12})),
    "organisations.services.submit_organisation": lambda w: Call(w.org, dict(org=w.org)),
    "organisations.services.review_organisation": lambda w: Call(
        w.submitted_org, dict(org=w.submitted_org, passed=True, **REASON)),
    "organisations.services.decide_organisation": lambda w: Call(
        w.passed_org, dict(org=w.passed_org, approved=True, **REASON)),
    "organisations.services.suspend_organisation": lambda w: Call(w.org, dict(org=w.org,
                                                                              **REASON)),
    "organisations.services.reinstate_organisation": lambda w: Call(
        w.suspended_org, dict(org=w.suspended_org, **REASON)),
    "organisations.services.review_linkage_change": lambda w: Call(
        w.linkage, dict(change=w.linkage, approved=True, **REASON)),
    "organisations.services.withdraw_linkage_change": lambda w: Call(
        w.linkage, dict(change=w.linkage)),
    # Accounts and stock.
    "accounts.services.issue_password_reset": lambda w: Call(None, dict(
        user=w.users["forgetful"])),
    "catalog.stock.adjust_stock": lambda w: Call(w.listed, dict(
        product=w.listed, reason="restock", quantity_text="5", note="新收")),
    # Buyers: the manager's settings, addresses and members; the city's verification.
    "buyers.services.update_settings": lambda w: Call(w.buyer_org, dict(
        org=w.buyer_org, data=_SETTINGS)),
    "buyers.services.add_address": lambda w: Call(w.buyer_org, dict(
        org=w.buyer_org, data=_ADDRESS)),
    "buyers.services.remove_address": lambda w: Call(w.buyer_org, dict(
        org=w.buyer_org, address_id=w.purchasing.spare_address.id)),
    "buyers.services.add_member": lambda w: Call(w.buyer_org, dict(
        org=w.buyer_org, data={"username": "cook", "display_name": "厨师长",
                               "password": STRONG, "role": "buyer", "email": ""})),
    "buyers.services.remove_member": lambda w: Call(w.buyer_org, dict(
        org=w.buyer_org, user_id=w.users["leaver"].id)),
    "buyers.services.decide_buyer": lambda w: Call(w.purchasing.submitted_buyer, dict(
        org=w.purchasing.submitted_buyer, approved=True, **REASON)),
    # The cart and purchase orders.
    "orders.cart.add_to_cart": lambda w: Call(None, dict(product=w.listed, quantity_text="2")),
    "orders.cart.set_cart_quantity": lambda w: Call(None, dict(
        line_id=w.purchasing.cart_lines[0].id, quantity_text="3")),
    "orders.cart.remove_from_cart": lambda w: Call(None, dict(
        line_id=w.purchasing.cart_lines[1].id)),
    "orders.services.submit_purchase_order": lambda w: Call(_own_organisation, dict(
        data={"address_id": w.purchasing.address.id,
              "delivery_date": today() + timedelta(days=3), "window": ""},
        idempotency_key="use-case-order-0001")),
    "orders.services.reorder": lambda w: Call(None, dict(order=w.purchasing.awaiting)),
    "orders.services.approve_purchase_order": lambda w: Call(w.purchasing.awaiting, dict(
        order=w.purchasing.awaiting, reason="")),
    "orders.services.return_purchase_order": lambda w: Call(
        w.purchasing.awaiting_return, dict(order=w.purchasing.awaiting_return, **REASON)),
    "orders.services.revise_returned_order": lambda w: Call(w.purchasing.returned, dict(
        order=w.purchasing.returned, quantities=_lines(w.purchasing.returned, "10"))),
    "orders.services.cancel_purchase_order": lambda w: Call(
        w.purchasing.returned_cancel, dict(order=w.purchasing.returned_cancel, **REASON)),
    "orders.services.accept_sub_order": lambda w: _on_sub(w, "pending_accept"),
    "orders.services.decline_sub_order": lambda w: _on_sub(w, "pending_decline", **REASON),
    "orders.services.cancel_sub_order": lambda w: _on_sub(w, "pending_cancel", **REASON),
    "orders.services.ship_sub_order": lambda w: _on_sub(
        w, "accepted", quantities=_lines(w.purchasing.subs["accepted"], "4")),
    "orders.services.receive_sub_order": lambda w: _on_sub(
        w, "shipped_receive", quantities=_lines(w.purchasing.subs["shipped_receive"], "4")),
    "orders.services.dispute_sub_order": lambda w: _on_sub(w, "shipped_dispute", **REASON),
    "orders.services.resolve_dispute": lambda w: _on_sub(
        w, "disputed", quantities=_lines(w.purchasing.subs["disputed"], "3"), **REASON),
    "orders.services.rate_supplier": lambda w: _on_sub(w, "received", score=4,
                                                       comment="按时送达"),
    # Mail.
    "notices.outbox.retry_failed_mail": lambda w: Call(None, {}),
    # Payments: the buyer pays, the producer invoices, finance records and settles.
    "payments.services.start_checkout": lambda w: Call(w.finance.pay_sub, dict(
        sub=w.finance.pay_sub, success_url="http://localhost/payments/return",
        cancel_url="http://localhost/payments/cancelled")),
    "payments.services.issue_invoice": lambda w: Call(w.finance.invoice_sub, dict(
        sub=w.finance.invoice_sub, number="FP-2026-0200", issued_on=today(),
        upload=_pdf("发票.pdf"))),
    "payments.services.refund_after_resolution": lambda w: _on_sub(w, "disputed"),
    "payments.services.record_transfer": lambda w: Call(None, dict(data=TransferData(
        value_date=today(), amount="66.00", payer_org_id=w.buyer_org.id, payer_name="",
        reference=reference_of(w.finance.pay_sub), bank_reference="UC-1",
        idempotency_key="use-case-transfer-1"))),
    "payments.services.upload_statement": lambda w: Call(None, dict(
        upload=FileStorage(io.BytesIO(statement_csv(
            [[today().isoformat(), "77.00", "无参考号", "某农场", "6222", "UC-S1"]])),
            filename="流水.csv"))),
    "payments.services.import_mapped_statement": lambda w: Call(None, dict(
        token=w.finance.staged.token, filename=w.finance.staged.filename,
        columns=dict(zip(STATEMENT_COLUMNS, w.finance.staged.headers, strict=True)))),
    "payments.services.resolve_issue": lambda w: Call(None, dict(
        issue=w.finance.underpaid_issue, action="dismiss", note="已联系")),
    "payments.services.record_payout": lambda w: Call(None, dict(data=PayoutData(
        producer_org_id=w.org.id, amount="1.00", paid_on=today(), bank_reference="UC-P1",
        note="", idempotency_key="use-case-payout-1"))),
    # Reports: data-API tokens and reference prices.
    "reports.manage.issue_token": lambda w: Call(None, dict(name="对接", scope="city")),
    "reports.manage.revoke_token": lambda w: Call(w.finance.token_to_revoke, dict(
        token=w.finance.token_to_revoke)),
    "reports.manage.set_reference_price": lambda w: Call(None, dict(
        category_id=w.places.bee.id, unit="瓶", price_yuan="45.00")),
    "reports.manage.delete_reference_price": lambda w: Call(None, dict(
        ref_id=w.finance.reference_price.id)),
}

#: Use cases open to anyone (rule None): still one unit of work, no authorization.
OPEN_USE_CASES = {
    "accounts.services._register_producer": "anyone may register as a producer member",
    "buyers.services._register_buyer": "a buyer's manager registers the organisation",
    "accounts.services._admit_registration": "the registration throttle, before an account",
    "accounts.services._admit_password_check": "the login throttle: logging in is how one "
                                               "becomes someone",
    "accounts.services._password_check_passed": "the login throttle, after the password",
    "accounts.services._set_own_password": "after proving the current password (or a link)",
    "accounts.services.end_sessions": "one's own sessions, after a password change",
    "accounts.services.reset_password": "the holder of a reset link (the token is the proof)",
    "notices.services.mark_read": "one's own notices only (the update is by the reader)",
    "payments.services.receive_webhook": "Stripe's events, proven by their signature",
    "reports.manage.authenticate": "the data API's token is the proof",
}

#: Allowed by the rule but meeting a state or ownership rule in the world as built (the call
#: is not refused, it is told "not now" or "not yours"): use case -> personas. These
#: personas must not succeed either.
STATE_REFUSED = {
    "organisations.services.submit_organisation": {"producer"},  # world.org is verified
    # A verified buyer may use a cart, but only its own lines and its own organisation's
    # orders and addresses (the other members' lines, the other buyer's everything).
    "orders.cart.set_cart_quantity": {"approver", "manager", "rival_buyer"},
    "orders.cart.remove_from_cart": {"approver", "manager", "rival_buyer"},
    "orders.services.reorder": {"rival_buyer"},  # refused: po.read of the order
    # Their carts are empty (and the rival's address is not this one).
    "orders.services.submit_purchase_order": {"approver", "manager", "rival_buyer"},
}

#: Public functions of the service modules that are not use cases, and why.
NOT_USE_CASES = {
    # Read-only: queries, page figures, lookups that authorize a read.
    "accounts.services": {"get_user", "list_users"},
    "admin.services": {"audit_log", "dashboard_figures"},
    "catalog.services": {"browse_catalogue", "can_see_photo", "categories",
                         "get_editable_product", "get_photo", "get_product",
                         "get_product_for_viewer", "organisation_products", "price_ceiling",
                         "price_message", "producer_products_on_sale", "quantity_message"},
    "certification.services": {"applications_awaiting", "applications_of",
                               "changed_since_review", "get_application", "get_certificate",
                               "get_document", "list_certificates", "pending_application"},
    "certification.marks": {"approved_claims", "get_mark_claim", "mark_claims_awaiting",
                            "mark_claims_of_product"},
    "main.services": {"database_ok", "home_figures", "home_page"},
    "organisations.services": {"credit_code_message", "get_linkage_change", "get_organisation",
                               "get_public_producer", "get_readable_organisation",
                               "linkage_changes_awaiting", "list_organisations",
                               "organisation_to_edit", "organisations_awaiting",
                               "own_organisation", "pending_linkage_change"},
    "search.services": {"index_exists", "index_path", "search_products", "suggestions"},
    "accounts.services#read": {"find_password_reset", "find_user_by_name", "login_delay"},
    "buyers.services": {"active_addresses", "buyers_awaiting", "members",
                        "own_buyer_organisation"},
    "certification.services#read": {"previous_certificate"},
    "main.services#read": {"home_listing", "producer_figures"},
    "notices.services": {"inbox", "subject_link", "unread_count"},
    "orders.services": {"awaiting_approval", "disputes", "get_order", "get_sub_order",
                        "order_by_key", "orders_of_buyer", "producer_rating",
                        "sub_orders_of_producer", "in_lock_order"},
    "payments.services": {"buyer_organisations", "checkout_status", "finance_overview",
                          "get_issue", "get_organisation", "invoice_file", "invoice_form", "list_payouts",
                          "list_transfers", "online_unavailable_reason",
                          "open_statement_import", "order_payments",
                          "payee", "producer_ledger", "producers_owed", "reconciliation",
                          "reconciliation_workbook", "reference_of", "rows_of_page",
                          "sub_order_payment"},
    "reports.services": {"city_dashboard", "county_dashboard", "county_table", "farmer_income",
                         "get_county", "get_producer", "own_reserved_share", "policy_targets",
                         "producer_dashboard", "reserved_share", "reserved_share_of",
                         "risk_signals", "sales_detail"},
    # Write only inside the caller's use case (its transaction, its authorization).
    "certification.services#helpers": {"certificate_number", "issue_certificate",
                                       "send_back_for_review"},
    "notices.services#helpers": {"notify", "notify_buyers", "notify_producer"},
    "orders.services#helpers": {"refresh_status"},
    # Throttle first, then the open use case (registration, a password change).
    "accounts.services#delegates": {"authenticate", "admit_registration", "change_password",
                                    "register_producer"},
    "buyers.services#delegates": {"register_buyer"},
    # Maintain the derived search index (after-commit hook and CLI; no actor).
    "search.services#index": {"catch_up", "check_index", "refresh_products", "reindex_all"},
}


def _import_everything() -> None:
    """Import every module of the package: use cases register themselves on import."""
    for module in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
        importlib.import_module(module.name)


_import_everything()


def _short(name: str) -> str:
    return name.removeprefix("marketplace.")


class _Undo(Exception):
    """Raised to roll the outer unit of work back."""


def attempt(function, actor, kwargs, pristine) -> tuple[str, bool]:
    """Call the use case as `actor` and roll everything back; (outcome, database changed)."""
    outcome, changed = "done", False
    try:
        with unit_of_work():
            try:
                function(actor=actor, **kwargs)
            except NotAuthorized:
                outcome = "refused"
                changed = snapshot() != pristine
            except DomainError as exc:
                outcome = type(exc).__name__
            raise _Undo
    except _Undo:
        pass
    return outcome, changed


def test_every_role_has_a_persona():
    assert set(Role) <= {role for role in PERSONAS.values() if role is not None}
    assert None in PERSONAS.values()  # the visitor


def test_every_use_case_has_a_scenario_or_is_declared_open():
    names = {_short(n) for n in USE_CASES}
    open_ = {_short(n) for n, uc in USE_CASES.items() if uc.rule is None}
    assert open_ == set(OPEN_USE_CASES), "a use case without a rule must be declared open here"
    missing = names - set(SCENARIOS) - open_
    assert not missing, f"add a scenario to SCENARIOS for: {sorted(missing)}"
    assert not set(SCENARIOS) - names, "SCENARIOS has rows for use cases that are gone"
    assert {uc.rule for uc in USE_CASES.values() if uc.rule} <= set(RULES)


def test_every_public_service_function_is_a_use_case_or_declared_read_only():
    """A new function that writes cannot hide from the walk as a plain function."""
    paths = sorted(Path(BASE_DIR, "marketplace").glob("*/services.py"))
    paths.append(Path(BASE_DIR, "marketplace/certification/marks.py"))
    declared = {}
    for key, names in NOT_USE_CASES.items():
        declared.setdefault(key.split("#")[0], set()).update(names)
    undeclared = []
    for path in paths:
        module = importlib.import_module(
            ".".join(path.relative_to(BASE_DIR).with_suffix("").parts))
        short = _short(module.__name__)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            if hasattr(function, "use_case"):
                assert name not in declared.get(short, set()), f"{short}.{name} is a use case"
            elif name not in declared.get(short, set()):
                undeclared.append(f"{short}.{name}")
    assert not undeclared, (
        f"make these @use_case services, or declare them read-only in NOT_USE_CASES: "
        f"{undeclared}")


def _subject(call: Call, user):
    return call.subject(user) if inspect.isfunction(call.subject) else call.subject


@pytest.fixture(scope="module")
def pristine(world_app):
    return snapshot()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_use_case_refuses_every_role_the_table_refuses(world_app, pristine, name):
    world = world_app.world
    use_case = USE_CASES[f"marketplace.{name}"]
    assert use_case.rule is not None, f"{name} no longer declares the rule it is checked by"
    wrong = []
    for persona in PERSONAS:
        call = SCENARIOS[name](world)
        user = world.users[persona]
        allowed = can(use_case.rule, user, _subject(call, user))
        outcome, changed = attempt(use_case.function, user, call.kwargs, pristine)
        if not allowed and outcome != "refused":
            wrong.append(f"{persona}: not allowed by {use_case.rule} but {outcome}")
        elif not allowed and changed:
            wrong.append(f"{persona}: refused but the database changed")
        elif allowed and outcome == "refused" and persona not in STATE_REFUSED.get(name, ()):
            wrong.append(f"{persona}: allowed by {use_case.rule} but refused")
        elif allowed and outcome == "refused" and changed:
            wrong.append(f"{persona}: refused but the database changed")
        elif allowed and outcome != "done" and persona not in STATE_REFUSED.get(name, ()):
            wrong.append(f"{persona}: allowed, but the scenario failed with {outcome}")
        elif allowed and outcome == "done" and persona in STATE_REFUSED.get(name, ()):
            wrong.append(f"{persona}: succeeded on what is not theirs (or not now)")
    assert not wrong, "\n".join(wrong)
    allowed_somewhere = [p for p in PERSONAS
                         if can(use_case.rule, world.users[p],
                                _subject(SCENARIOS[name](world), world.users[p]))]
    assert allowed_somewhere, f"no persona may call {name}: the scenario proves nothing"
