"""Hostile input on every route, as every role: never a 5xx, never an error in the log.

The walk reads the routes from app.url_map. For each GET route and each persona it opens
the page with real ids and notes which query parameters the view reads (the request's
`args` records every name asked for), then sends those parameters with hostile values
("²", 20-digit numbers, "1e999999", NUL, unicode digits, scripts, SQL, very long text) and
swaps each id in the path for 0, 2^31 and a 20-digit number. For each POST route (the rows
of tests/routes.py) the permitted person posts the valid form with a real token, one field
at a time made hostile; the fields are those of the row and those found in the page's form,
so a field added to a template is walked without a new row. Everyone else posts a form of
hostile values. A bad value must be answered with a message (400, 404 or the form again).
"""

import logging
import re
from functools import cached_property
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

from tests.helpers import TOKEN
from tests.routes import (
    POSTS,
    Upload,
    collection_app,
    endpoint_of,
    exempt_endpoints,
    form_data,
    has_upload,
    missing_row_message,
    state_changing_endpoints,
    url_of,
)
from tests.world import PERSONAS, client_as

# Query values: each is a way a number or a choice has broken a parser somewhere.
QUERY_VALUES = ["²", "-1", "0", "9" * 20, "1e999999", "NaN", "<script>alert(1)</script>",
                "' OR 1=1 --", "x" * 5000, "\x00", "%00", "١٢", "１２", " 1", "1.5"]
CORE_QUERY_VALUES = ["²", "9" * 20, "\x00"]  # the other personas
PATH_INT_VALUES = ["0", str(2**31), "9" * 20]
PATH_TEXT_VALUES = ["..", "x" * 300, "<script>", "²", "%00", "%2e%2e%2fetc%2fpasswd"]
#: Per kind of field: (values every form must refuse, values a form may accept). All fields
#: get the first list before any gets the second: an accepted post may take a one-time step
#: (an application, a decision), and every later post would meet "already done" instead of
#: the parser it was meant for.
FORM_VALUES = {
    "text": (["\x00", "x" * 5000], ["<script>alert(1)</script>", "' OR 1=1 --", "", "１２"]),
    "number": (["\x00", "1e999999", "NaN", "Infinity", "1,2,3", "12,50", "-3", "9" * 20,
                "x" * 5000, "١٢"], ["１２．５０", "0", ""]),
    "select": (["\x00", "0", "-1", "999999", "2147483647", "2147483648", "9" * 20, "²", "١٢",
                "abc"], [""]),
    "choice": (["\x00", "gold", "9" * 20, "<script>"], [""]),
    "file": (["\x00", Upload("no-pixels", "empty.png"), Upload("pdf", "a\x00b.pdf")],
             ["", "x" * 5000, Upload("png", "<script>.png"), Upload("pdf", "x" * 300 + ".pdf")]),
}
KIND_ORDER = {"file": 0, "number": 1, "select": 2, "choice": 3, "text": 4}
#: Who gets the full table on a page several personas can open (the others get the core).
PRIORITY = ["admin", "officer", "producer", "newcomer", "buyer", "visitor"]

READ: set[str] = set()


class RecordingArgs(ImmutableMultiDict):
    """Query arguments that remember which names the view asked for."""

    def __getitem__(self, key):
        READ.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - MultiDict's signature
        READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        READ.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        READ.add(key)
        return super().__contains__(key)


class RecordingRequest(Request):
    @cached_property
    def args(self):
        return RecordingArgs(Request.args.fget(self))


class FormFields(HTMLParser):
    """The fields of the forms on a page: action path -> {field name: kind}."""

    def __init__(self, page_path: str):
        super().__init__()
        self.page_path = page_path
        self.forms: dict[str, dict[str, str]] = {}
        self.current: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            action = urlsplit(a.get("action") or self.page_path).path
            self.current = self.forms.setdefault(action, {})
        elif self.current is not None and a.get("name") and a["name"] != "csrf_token":
            kind = {"select": "select", "textarea": "text", "button": "choice"}.get(tag)
            if tag == "input":
                kind = {"file": "file", "checkbox": "choice", "radio": "choice",
                        "submit": None}.get(a.get("type", "text"), "text")
            if kind:
                self.current.setdefault(a["name"], kind)

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def forms_on(html: str, page_path: str) -> dict[str, dict[str, str]]:
    parser = FormFields(page_path)
    parser.feed(html)
    return parser.forms


@pytest.fixture(scope="module")
def walk(world_app):
    """The module's world, answering errors as production does (a logged 500)."""
    world_app.request_class = RecordingRequest
    world_app.config["PROPAGATE_EXCEPTIONS"] = False
    world_app.clients = {p: client_as(world_app, world_app.world, p) for p in PERSONAS}
    world_app.tokens = {}
    return world_app


class Walk:
    """Sends requests and keeps every answer that is a server error."""

    def __init__(self):
        self.failures: list[str] = []

    def send(self, client, method: str, url: str, who: str, what: str = "", **kwargs):
        READ.clear()
        response = client.open(url, method=method, **kwargs)
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {method} {url} {what} as {who}")
        response.close()
        return response

    def check(self, caplog):
        errors = [f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records
                  if r.levelno >= logging.ERROR]
        assert not self.failures, "\n".join(self.failures[:40])
        assert not errors, "\n".join(errors[:10])


def _rules(methods: set[str]):
    app = collection_app()
    return sorted({r.endpoint for r in app.url_map.iter_rules() if r.methods & methods})


def _path_values(walk_app, rule) -> dict:
    """Real values for the route's parameters, by name."""
    world = walk_app.world
    known = {**world.ids(), "code": "zh", "name": world.photo.stored_name,
             "filename": "css/site.css"}
    missing = set(rule.arguments) - set(known)
    assert not missing, (f"tests/world.py World.ids() has no value for URL parameter(s) "
                         f"{sorted(missing)} of {rule}: add one (a real id of the world)")
    return {k: known[k] for k in rule.arguments}


def _hostile_paths(rule, values: dict):
    """The route's URL with one parameter at a time replaced by a hostile text."""
    for name, converter in rule._converters.items():
        hostile = PATH_INT_VALUES if type(converter).__name__.endswith("IntConverter") \
            else PATH_TEXT_VALUES
        for value in hostile:
            url = rule.rule
            for key, real in values.items():
                url = re.sub(rf"<(?:[^:<>]+:)?{key}>", value if key == name else str(real), url)
            yield name, value, url


@pytest.mark.parametrize("endpoint", _rules({"GET"}))
def test_get_routes_survive_hostile_values(walk, endpoint, caplog):
    caplog.set_level(logging.ERROR)
    run = Walk()
    for rule in walk.url_map.iter_rules(endpoint):
        if "GET" not in rule.methods:
            continue
        values = _path_values(walk, rule)
        url = url_of(walk, endpoint, values)
        status, read = {}, set()
        for persona, client in walk.clients.items():
            status[persona] = run.send(client, "GET", url, persona).status_code
            read |= READ
        designated = next((p for p in PRIORITY if status[p] == 200), "admin")
        for persona, client in walk.clients.items():
            table = QUERY_VALUES if persona == designated else CORE_QUERY_VALUES
            for name in sorted(read):
                for value in table:
                    run.send(client, "GET", url, persona, f"{name}={value[:20]!r}",
                             query_string={name: value})
            for name, value, hostile in _hostile_paths(rule, values):
                run.send(client, "GET", hostile, persona, f"<{name}>={value[:20]!r}")
    run.check(caplog)


def _token(client) -> str:
    """The client's CSRF token: from the logout form, or the login form when logged out
    (a walk may have deactivated the persona meanwhile)."""
    for page in ("/", "/login"):
        match = TOKEN.search(client.get(page).get_data(as_text=True))
        if match:
            return match.group(1)
    raise AssertionError("no CSRF token on / or /login")


@pytest.mark.parametrize("endpoint", state_changing_endpoints(collection_app()))
def test_post_routes_survive_hostile_values(walk, endpoint, caplog):
    caplog.set_level(logging.ERROR)
    assert endpoint in POSTS, missing_row_message(collection_app(), [endpoint])
    run = Walk()
    world, row = walk.world, POSTS[endpoint]
    url = url_of(walk, endpoint, row.values(world))
    page = row.page(world) if row.page else url
    owner = client_as(walk, world, row.persona)
    exempt = endpoint_of(endpoint) in exempt_endpoints(walk)
    html = "" if exempt and row.page is None else owner.get(page).get_data(as_text=True)
    found = TOKEN.search(html)
    assert found or exempt, f"no CSRF token on {page}, the page of {endpoint}'s row"
    token = found.group(1) if found else ""
    valid = row.data(world)
    kinds = {**forms_on(html, urlsplit(page).path).get(urlsplit(url).path, {}),
             **{k: "file" for k, v in valid.items() if has_upload({k: v})},
             **row.fields}
    kinds = {k: kinds.get(k, "text") for k in set(kinds) | set(valid)}
    multipart = {"content_type": "multipart/form-data"}

    read = set()  # the query parameters the POST reads (?next= …)
    fields = sorted(kinds.items(), key=lambda item: (KIND_ORDER[item[1]], item[0]))
    for phase in (0, 1):
        for name, value in ((n, v) for n, kind in fields for v in FORM_VALUES[kind][phase]):
            data = {**form_data(valid), name: value, "csrf_token": token}
            run.send(owner, "POST", url, row.persona, f"{name}={str(value)[:20]!r}",
                     data=form_data(data), **multipart)
            read |= READ
    # Last, as the valid post may move the object on (a decision is taken only once).
    run.send(owner, "POST", url, row.persona, "the valid form",
             data={**form_data(valid), "csrf_token": token}, **multipart)
    for name in sorted(read | READ):
        for value in QUERY_VALUES:
            run.send(owner, "POST", url, row.persona, f"?{name}={value[:20]!r}",
                     query_string={name: value},
                     data={**form_data(valid), "csrf_token": token}, **multipart)

    clients = walk.clients
    if row.effect is not None:  # the route changes the session (logout): fresh clients
        clients = {p: client_as(walk, world, p) for p in PERSONAS}
    for i, (persona, client) in enumerate(clients.items()):
        hostile = form_data({name: FORM_VALUES[kind][0][i % len(FORM_VALUES[kind][0])]
                             for name, kind in kinds.items()})
        if exempt:
            pass
        elif row.effect is not None or client not in walk.tokens:
            walk.tokens[client] = _token(client)
        hostile["csrf_token"] = walk.tokens.get(client, "")
        run.send(client, "POST", url, persona, "every field hostile", data=hostile, **multipart)
    run.check(caplog)
