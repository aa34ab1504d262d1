"""What a permitted person posts to each POST route of the app, in the world of tests/world.py.

The CSRF walk and the hostile-values walk cover every route in `app.url_map` that accepts a
state-changing method. Each needs a row here: who may post it (the owner or the reviewer),
the URL with real ids, valid form data and the page whose form carries the token. A route
without a row fails both walks, so a new route cannot be added without saying how it is
used. The rows act on different objects of the world, so each can succeed once in any order.
"""

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

from marketplace import create_app
from marketplace.security import CSRF_EXEMPT
from tests.helpers import pdf_bytes, png_bytes, png_header
from tests.world import PASSWORD, World

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Upload:
    """A file field's value, made fresh for each request."""

    kind: str  # "png", "pdf", or "no-pixels" (a PNG header that declares 8000×5000)
    name: str

    def open(self):
        data = {"png": png_bytes, "pdf": pdf_bytes,
                "no-pixels": lambda: png_header(8000, 5000)}[self.kind]()
        return io.BytesIO(data), self.name


@dataclass(frozen=True)
class Post:
    persona: str  # who may post it: a key of world.users
    values: Callable[[World], dict]  # the route's URL parameters
    data: Callable[[World], dict]  # a valid form (Upload for files)
    page: Callable[[World], str] | None = None  # where the token is (default: the URL)
    #: What the accepted post did, when it is not a database change (logout): a check on
    #: the client that posted it.
    effect: Callable | None = None
    #: Field kinds for the hostile walk where not "text": "number", "select" (an id),
    #: "choice" (one of fixed values), "file".
    fields: dict = field(default_factory=dict)


def _decision(event: str, reason: str = "材料齐全，同意") -> Callable[[World], dict]:
    return lambda w: {"event": event, "reason": reason}


def _product_form(w: World, **changes) -> dict:
    data = {"name": "石磨面粉", "category_id": w.places.starch.id, "specification": "5公斤/袋",
            "origin": "禹州市方山镇", "unit": "袋", "price_yuan": "36.50", "min_order_qty": "1",
            "stock": "40", "annual_supply_capacity": "30 吨", "description": "石磨慢磨"}
    data.update(changes)
    return data


def _organisation_form(w: World, org, **changes) -> dict:
    data = {"org_type": org.org_type, "name": org.name, "credit_code": org.credit_code,
            "legal_representative": org.legal_representative, "contact_name": "李会计",
            "contact_phone": org.contact_phone, "county_id": org.county_id,
            "township_id": org.township_id, "village_id": "", "address": "方山镇",
            "benefit_types": org.benefit_types.split(","),
            "poor_households": str(org.poor_households), "benefit_description": "务工",
            "description": "红薯粉条"}
    data.update(changes)
    return data


PRODUCT_FIELDS = {"category_id": "select", "unit": "choice", "price_yuan": "number",
                  "min_order_qty": "number", "stock": "number"}

POSTS: dict[str, Post] = {
    "accounts.login": Post(
        "visitor", lambda w: {}, lambda w: {"username": "spare", "password": PASSWORD}),
    "accounts.logout": Post(
        "producer", lambda w: {}, lambda w: {}, page=lambda w: "/",
        effect=lambda client: not logged_in(client)),
    "accounts.register": Post(
        "visitor", lambda w: {},
        lambda w: {"username": "new_farmer", "display_name": "新农户",
                   "password": "long enough pw", "confirm": "long enough pw"}),
    "catalog.new_product": Post(
        "producer", lambda w: {}, _product_form, fields=PRODUCT_FIELDS),
    "catalog.edit_product": Post(
        "producer", lambda w: {"product_id": w.draft.id},
        lambda w: _product_form(w, name=w.draft.name, specification=w.draft.specification,
                                origin=w.draft.origin, price_yuan="22.00", stock="80"),
        fields=PRODUCT_FIELDS),
    "catalog.archive": Post(
        "producer", lambda w: {"product_id": w.listed.id}, lambda w: {},
        page=lambda w: "/my/products"),
    "catalog.restore": Post(
        "producer", lambda w: {"product_id": w.archived.id}, lambda w: {},
        page=lambda w: "/my/products"),
    "catalog.upload_photo": Post(
        "producer", lambda w: {"product_id": w.draft.id},
        lambda w: {"photo": Upload("png", "粉皮.png")},
        page=lambda w: f"/my/products/{w.draft.id}/edit"),
    "catalog.delete_photo": Post(
        "producer", lambda w: {"photo_id": w.photo.id}, lambda w: {},
        page=lambda w: f"/my/products/{w.listed.id}/edit"),
    "organisations.mine": Post(
        "producer", lambda w: {}, lambda w: _organisation_form(w, w.org),
        fields={"org_type": "choice", "county_id": "select", "township_id": "select",
                "village_id": "select", "benefit_types": "choice", "poor_households": "number"}),
    "organisations.submit": Post(
        "drafter", lambda w: {}, lambda w: {}, page=lambda w: "/my/organisation"),
    "organisations.decide": Post(
        "officer", lambda w: {"org_id": w.submitted_org.id}, _decision("county_pass"),
        page=lambda w: f"/organisations/{w.submitted_org.id}"),
    "organisations.decide_linkage": Post(
        "officer", lambda w: {"change_id": w.linkage.id}, _decision("county_approve"),
        page=lambda w: f"/linkage-changes/{w.linkage.id}"),
    "certification.apply": Post(
        "producer", lambda w: {"product_id": w.draft.id},
        lambda w: {"annual_supply_capacity": "60 吨", "benefit_mechanism": "吸纳脱贫户务工",
                   "test_report": Upload("pdf", "检测报告.pdf")}),
    "certification.decide_application": Post(
        "officer", lambda w: {"application_id": w.submitted_application.id},
        _decision("county_pass"),
        page=lambda w: f"/applications/{w.submitted_application.id}"),
    "certification.claim_mark": Post(
        "producer", lambda w: {"product_id": w.draft.id},
        lambda w: {"mark": "green_food", "evidence_number": "LB-2026-0042",
                   "evidence_valid_until": "2027-12-31", "document": Upload("pdf", "证书.pdf")},
        page=lambda w: f"/my/products/{w.draft.id}/edit", fields={"mark": "choice"}),
    "certification.decide_mark": Post(
        "officer", lambda w: {"claim_id": w.submitted_claim.id}, _decision("county_pass"),
        page=lambda w: f"/marks/{w.submitted_claim.id}"),
    "admin.certificate_action": Post(
        "admin", lambda w: {"certificate_id": w.certificate.id}, _decision("suspend", "抽检"),
        page=lambda w: f"/admin/certificates/{w.certificate.id}"),
    "admin.new_user": Post(
        "admin", lambda w: {},
        lambda w: {"username": "officer-yl2", "display_name": "鄢陵审核员",
                   "password": "long enough pw", "role": "county_officer",
                   "county_id": w.places.yanling.id},
        fields={"role": "choice", "county_id": "select"}),
    "admin.toggle_user": Post(
        "admin", lambda w: {"user_id": w.users["buyer"].id}, lambda w: {},
        page=lambda w: "/admin/users"),
}


def logged_in(client) -> bool:
    """A visitor is sent to the login page; anyone logged in is answered (maybe refused)."""
    return client.get("/admin/").status_code != 302


@functools.cache
def collection_app() -> Flask:
    """An app to read the route map from while tests are collected (no database used)."""
    return create_app({"SECRET_KEY": "collect-only", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def exempt_endpoints(app: Flask) -> set[str]:
    """The endpoints whose view is listed in marketplace.security.CSRF_EXEMPT."""
    return {endpoint for endpoint, view in app.view_functions.items()
            if f"{view.__module__}.{view.__name__}" in CSRF_EXEMPT}


def state_changing_endpoints(app: Flask) -> list[str]:
    """Every endpoint with a route that accepts POST, PUT, PATCH or DELETE."""
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()
                   if rule.methods & STATE_CHANGING})


def url_of(app: Flask, endpoint: str, values: dict) -> str:
    return app.url_map.bind("localhost").build(endpoint, values)


def form_data(data: dict) -> dict:
    """The request body: uploads opened afresh, everything else as given."""
    return {k: (v.open() if isinstance(v, Upload) else v) for k, v in data.items()}


def has_upload(data: dict) -> bool:
    return any(isinstance(v, Upload) for v in data.values())
