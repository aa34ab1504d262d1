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
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

import marketplace
from marketplace.accounts.models import Role
from marketplace.config import BASE_DIR
from marketplace.errors import DomainError, NotAuthorized
from marketplace.permissions import RULES, can
from marketplace.uow import USE_CASES, unit_of_work
from tests.factories import credit_code, product_data
from tests.helpers import pdf_bytes, png_bytes
from tests.world import PERSONAS, World, snapshot


@dataclass
class Call:
    subject: object  # what the rule is checked against (None: the rule takes no object)
    kwargs: dict


def _pdf(name="证书.pdf"):
    return FileStorage(io.BytesIO(pdf_bytes()), filename=name)


def _organisation_data(w: World) -> dict:
    return {"org_type": "cooperative", "name": "新登记合作社", "credit_code": credit_code(),
            "legal_representative": "赵六", "contact_phone": "13800000001",
            "county_id": w.places.yuzhou.id, "township_id": w.places.fangshan.id,
            "benefit_types": ["wages"], "poor_households": 3}


REASON = {"reason": "依据材料"}
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
}

#: Use cases open to anyone (rule None): still one unit of work, no authorization.
OPEN_USE_CASES = {
    "accounts.services.register_producer": "anyone may register as a producer member",
    "accounts.services._attempt_login": "logging in is how one becomes someone",
}

#: Allowed but meeting a state rule in the world as built (the call is not refused, it is
#: told "not now"): use case -> personas.
STATE_REFUSED = {
    "organisations.services.submit_organisation": {"producer"},  # world.org is verified
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
    # Write only inside the caller's use case (its transaction, its authorization).
    "certification.services#helpers": {"certificate_number", "issue_certificate",
                                       "send_back_for_review"},
    # Check a login through the _attempt_login use case.
    "accounts.services#delegates": {"authenticate"},
    # Maintain the derived search index (after-commit hook and CLI; no actor).
    "search.services#index": {"check_index", "refresh_products", "reindex_all"},
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
        allowed = can(use_case.rule, user, call.subject)
        outcome, changed = attempt(use_case.function, user, call.kwargs, pristine)
        if not allowed and outcome != "refused":
            wrong.append(f"{persona}: not allowed by {use_case.rule} but {outcome}")
        elif not allowed and changed:
            wrong.append(f"{persona}: refused but the database changed")
        elif allowed and outcome == "refused":
            wrong.append(f"{persona}: allowed by {use_case.rule} but refused")
        elif allowed and outcome != "done" and persona not in STATE_REFUSED.get(name, ()):
            wrong.append(f"{persona}: allowed, but the scenario failed with {outcome}")
    assert not wrong, "\n".join(wrong)
    allowed_somewhere = [p for p in PERSONAS
                         if can(use_case.rule, world.users[p], SCENARIOS[name](world).subject)]
    assert allowed_somewhere, f"no persona may call {name}: the scenario proves nothing"
