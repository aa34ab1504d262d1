"""What a permitted person posts to each POST route of the app, in the world of tests/world.py.

The CSRF walk and the hostile-values walk cover every route in `app.url_map` that accepts a
state-changing method. Each needs a row here: who may post it (the owner or the reviewer),
the URL with real ids, valid form data and the page whose form carries the token. A route
without a row fails both walks, so a new route cannot be added without saying how it is
used. The rows act on different objects of the world, so each can succeed once in any order.

Adding a route (the failing tests print the row to fill in)
------------------------------------------------------------
1. A new POST (PUT, PATCH, DELETE) route: add a row to POSTS keyed by its endpoint
   ("blueprint.view"; a route with an `<any(a, b):action>` part needs one row per value,
   keyed "blueprint.view:a"). `persona` is someone who may post it (a key of
   `world.users`: a walk persona of tests/world.py PERSONAS, or a user of the world made for
   one row, when the post would change a persona's session or password); `values` gives the
   URL parameters from objects of the world; `data` a valid form (Upload(...) for a file);
   `page` the page whose form carries the token, when it is not the URL itself. The post
   with the token must be accepted (302, or `accepted=` another status) and change the
   database (or declare its `effect`). If nothing in the world is in the state the post
   starts from, add an object to tests/world.py (each row acts on its own object, so the
   rows succeed in any order and the walks stay independent).
2. A new URL parameter name (GET or POST): give it a real value in `World.ids()`.
3. A route that must be reachable without the CSRF token (a payment provider's webhook, a
   token-authenticated API): list its view in marketplace/security.py CSRF_EXEMPT with the
   reason; it still needs its row here for the hostile-values walk (no token is sent).
4. A new `@use_case` service: a scenario in tests/test_use_case_authorization.py SCENARIOS
   (or OPEN_USE_CASES when its rule is None); a new public read-only service function:
   NOT_USE_CASES there.
"""

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask

from marketplace import create_app
from marketplace.clock import today
from marketplace.security import CSRF_EXEMPT
from tests.factories import credit_code
from tests.helpers import pdf_bytes, png_bytes, png_header
from tests.world import PASSWORD, PERSONAS, World

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
    #: The status of the accepted post: a redirect, or a page (a one-time link shown once).
    accepted: int = 302


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


#: A password the policy accepts (long, not common, not the username).
STRONG = "Fangshan-fentiao-2026"
REASON = {"reason": "依据材料"}


def _quantities(sub, value="4") -> dict:
    """The q<line id> fields of a sub-order's form, each set to `value`."""
    return {f"q{line.id}": value for line in sub.lines}


def _sub(state: str, persona: str, data=lambda w: REASON, **kwargs) -> Post:
    """A row for POST /sub-orders/<id>/<action> on the world's sub-order in `state`."""
    return Post(persona, lambda w: {"sub_id": w.purchasing.subs[state].id}, data,
                page=lambda w: f"/sub-orders/{w.purchasing.subs[state].id}", **kwargs)


def _order(name: str, persona: str, data=lambda w: REASON, **kwargs) -> Post:
    """A row for POST /orders/<id>/<...> on the world's purchase order `name`."""
    return Post(persona, lambda w: {"order_id": getattr(w.purchasing, name).id}, data,
                page=lambda w: f"/orders/{getattr(w.purchasing, name).id}", **kwargs)


_ADDRESS = {"address_label": "仓库", "delivery_address": "许昌市建安大道8号",
            "delivery_contact": "周师傅", "delivery_phone": "13937400009"}
_SETTINGS = {"invoice_title": "许昌市第一中学", "tax_number": "91411000MA00000001",
             "approval_threshold_yuan": "800", "annual_food_budget_yuan": "1,200,000.00",
             "reserved_share_percent": "12"}
_QUANTITY = {"quantity": "number"}


def _checkout(w: World) -> dict:
    return {"address_id": w.purchasing.address.id,
            "delivery_date": (today() + timedelta(days=3)).isoformat(),
            "window": "06:00-08:00", "invoice_title": "许昌市第一中学", "tax_number": "",
            "notes": "走侧门", "idempotency_key": "walk-checkout-0001"}


def _buyer_registration(w: World) -> dict:
    return {"org_type": "canteen", "name": "许昌市人民医院职工食堂",
            "credit_code": credit_code(), "legal_representative": "钱院长",
            "county_id": w.places.yuzhou.id, "address": "禹州市药城路1号",
            "contact_name": "孙主任", "contact_phone": "03748888888", "username": "hospital",
            "display_name": "孙主任", "email": "", "password": STRONG, "confirm": STRONG,
            **_SETTINGS, **_ADDRESS}


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
        "producer", lambda w: {"product_id": w.retiring.id}, lambda w: {},
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
    # The suspended certificate (the live one's product is what the order rows buy).
    "admin.certificate_action": Post(
        "admin", lambda w: {"certificate_id": w.paused_certificate.id},
        _decision("reinstate", "复检合格"),
        page=lambda w: f"/admin/certificates/{w.paused_certificate.id}"),
    "admin.new_user": Post(
        "admin", lambda w: {},
        lambda w: {"username": "officer-yl2", "display_name": "鄢陵审核员",
                   "password": "long enough pw", "role": "county_officer",
                   "county_id": w.places.yanling.id},
        fields={"role": "choice", "county_id": "select"}),
    "admin.toggle_user": Post(
        "admin", lambda w: {"user_id": w.users["idle"].id}, lambda w: {},
        page=lambda w: "/admin/users"),
    "admin.reset_user_password": Post(
        "admin", lambda w: {"user_id": w.users["drafter"].id}, lambda w: {},
        page=lambda w: "/admin/users", accepted=200),
    # Accounts: own password, a reset link.
    "accounts.change_password": Post(
        "changer", lambda w: {},
        lambda w: {"current_password": PASSWORD, "password": STRONG, "confirm": STRONG}),
    "accounts.reset_password": Post(
        "visitor", lambda w: {"token": w.purchasing.reset_token},
        lambda w: {"password": STRONG, "confirm": STRONG}),
    # Stock.
    "catalog.adjust_stock": Post(
        "producer", lambda w: {"product_id": w.listed.id},
        lambda w: {"reason": "restock", "quantity": "12", "note": "新收一批"},
        page=lambda w: f"/my/products/{w.listed.id}/edit",
        fields={"reason": "choice", **_QUANTITY}),
    # Buyers: registration, the manager's settings, addresses and members.
    "buyers.register": Post(
        "visitor", lambda w: {}, _buyer_registration,
        fields={"org_type": "choice", "county_id": "select",
                "approval_threshold_yuan": "number", "annual_food_budget_yuan": "number",
                "reserved_share_percent": "number"}),
    "buyers.settings": Post(
        "manager", lambda w: {}, lambda w: _SETTINGS, page=lambda w: "/my/buyer",
        fields={"approval_threshold_yuan": "number", "annual_food_budget_yuan": "number",
                "reserved_share_percent": "number"}),
    "buyers.add_address": Post(
        "manager", lambda w: {}, lambda w: _ADDRESS, page=lambda w: "/my/buyer"),
    "buyers.remove_address": Post(
        "manager", lambda w: {"address_id": w.purchasing.spare_address.id}, lambda w: {},
        page=lambda w: "/my/buyer"),
    "buyers.add_member": Post(
        "manager", lambda w: {},
        lambda w: {"username": "cook", "display_name": "厨师长", "email": "cook@example.org",
                   "password": STRONG, "role": "buyer"},
        page=lambda w: "/my/buyer", fields={"role": "choice"}),
    "buyers.remove_member": Post(
        "manager", lambda w: {"user_id": w.users["leaver"].id}, lambda w: {},
        page=lambda w: "/my/buyer"),
    # The cart.
    "orders.add_to_cart": Post(
        "buyer", lambda w: {"product_id": w.rival_product.id}, lambda w: {"quantity": "2"},
        page=lambda w: f"/products/{w.rival_product.id}", fields=_QUANTITY),
    "orders.update_cart_line": Post(
        "buyer", lambda w: {"line_id": w.purchasing.cart_lines[0].id},
        lambda w: {"quantity": "6"}, page=lambda w: "/cart", fields=_QUANTITY),
    "orders.remove_cart_line": Post(
        "buyer", lambda w: {"line_id": w.purchasing.cart_lines[1].id}, lambda w: {},
        page=lambda w: "/cart"),
    "orders.checkout": Post(
        "checkout", lambda w: {}, _checkout, page=lambda w: "/cart",
        fields={"address_id": "select", "window": "choice", "delivery_date": "number"}),
    # Purchase orders: the approver's decision, the purchaser's revision and cancellation.
    "orders.approve": _order("awaiting", "approver"),
    "orders.return_order": _order("awaiting_return", "approver"),
    "orders.revise": _order(
        "returned", "buyer", lambda w: {f"q{line.id}": "10" for sub in w.purchasing.returned
                                        .sub_orders for line in sub.lines}),
    "orders.cancel_order": _order("returned_cancel", "buyer"),
    "orders.reorder": _order("awaiting", "buyer", lambda w: {}),
    # Sub-orders: each action on the producer's part in the state it starts from.
    "orders.sub_action:accept": _sub("pending_accept", "producer", lambda w: {}),
    "orders.sub_action:decline": _sub("pending_decline", "producer",
                                      lambda w: {"reason": "缺货"}),
    "orders.sub_action:cancel": _sub("pending_cancel", "buyer",
                                     lambda w: {"reason": "计划有变"}),
    "orders.sub_action:ship": _sub(
        "accepted", "producer",
        lambda w: _quantities(w.purchasing.subs["accepted"], "4")),
    "orders.sub_action:receive": _sub(
        "shipped_receive", "buyer",
        lambda w: _quantities(w.purchasing.subs["shipped_receive"], "3.5")),
    "orders.sub_action:dispute": _sub("shipped_dispute", "buyer",
                                      lambda w: {"reason": "有两袋破损"}),
    "orders.sub_action:resolve": _sub(
        "disputed", "admin",
        lambda w: {**_quantities(w.purchasing.subs["disputed"], "3"), "reason": "按实收结算"}),
    "orders.rate": _sub("received", "buyer",
                        lambda w: {"score": "4", "comment": "按时送达"},
                        fields={"score": "choice"}),
    # Notices and mail.
    "notices.read_all": Post("producer", lambda w: {}, lambda w: {}, page=lambda w: "/inbox"),
    "notices.read_one": Post(
        "approver", lambda w: {"notice_id": w.purchasing.notice.id}, lambda w: {},
        page=lambda w: "/inbox"),
    "notices.retry_outbox": Post(
        "admin", lambda w: {}, lambda w: {}, page=lambda w: "/admin/outbox"),
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
    """Every route key (see route_keys) that accepts POST, PUT, PATCH or DELETE."""
    return route_keys(app, STATE_CHANGING)


def route_keys(app: Flask, methods: set[str]) -> list[str]:
    """The endpoints with a route accepting one of `methods`, a route with an
    `<any(...)>` part once per value ("orders.sub_action:accept")."""
    keys = set()
    for rule in app.url_map.iter_rules():
        if not rule.methods & methods:
            continue
        choices = [c.items for c in rule._converters.values() if hasattr(c, "items")]
        keys |= ({f"{rule.endpoint}:{value}" for value in choices[0]} if choices
                 else {rule.endpoint})
    return sorted(keys)


def endpoint_of(key: str) -> str:
    return key.split(":")[0]


def url_of(app: Flask, key: str, values: dict) -> str:
    """The URL of a route key with the given parameter values (an <any> part from the key)."""
    endpoint, _, choice = key.partition(":")
    if choice:
        (name,) = [n for rule in app.url_map.iter_rules(endpoint)
                   for n, c in rule._converters.items() if hasattr(c, "items")]
        values = {**values, name: choice}
    return app.url_map.bind("localhost").build(endpoint, values)


def missing_row_message(app: Flask, keys) -> str:
    """What to add for routes without a row: the row to fill in, per route."""
    out = [f"tests/routes.py POSTS has no row for {len(keys)} state-changing route(s); add "
           f"(see the docstring of tests/routes.py):"]
    for key in keys:
        endpoint = endpoint_of(key)
        rules = [r for r in app.url_map.iter_rules(endpoint) if r.methods & STATE_CHANGING]
        params = sorted({a for r in rules for a in r.arguments} - {"action"})
        values = ", ".join(f'"{p}": w.<object of tests/world.py>.id' for p in params)
        exempt = endpoint in exempt_endpoints(app)
        out.append(
            f"  # {' '.join(sorted(rules[0].methods & STATE_CHANGING))} {rules[0].rule}"
            f"{'  (CSRF-exempt: posted without a token)' if exempt else ''}\n"
            f'    "{key}": Post(\n'
            f'        "<who may post it: one of {", ".join(PERSONAS)} or a world user>",\n'
            f"        lambda w: {{{values}}},\n"
            f"        lambda w: {{<the fields of a valid form>}},\n"
            f'        page=lambda w: "<the page whose form posts here, if not the URL>"),')
    if any(endpoint_of(k) not in exempt_endpoints(app) for k in keys):
        out.append("A route that must take posts without the CSRF token (a webhook, a "
                   "token-authenticated API) is listed in marketplace/security.py CSRF_EXEMPT "
                   "as well.")
    return "\n".join(out)


def form_data(data: dict) -> dict:
    """The request body: uploads opened afresh, everything else as given."""
    return {k: (v.open() if isinstance(v, Upload) else v) for k, v in data.items()}


def has_upload(data: dict) -> bool:
    return any(isinstance(v, Upload) for v in data.values())
