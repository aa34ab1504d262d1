"""The data API (/api/v1/stats/…) answers only a token, and a token only within its scope.

The walk reads the API's routes from app.url_map, so a new one joins it by construction.
Each route is asked without a token, with a malformed, an unknown and a revoked token, and
with the session cookie of the administrator (a logged-in browser is not a token): each is
a 401 that reads nothing. Every token of the world (the city, each county, each kind of
organisation) asks every route for its own scope and for the others' (another county,
another producer, the buyer's share): what the permission table does not allow is a 403
(or 404) with no figures in it. The API only reads: the state-changing methods are not
routes (405), so it needs no CSRF exemption (marketplace.security.CSRF_EXEMPT stays the
one list). Hostile query values never answer 5xx.
"""

import logging

import pytest

from tests.routes import STATE_CHANGING, collection_app, exempt_endpoints
from tests.test_routes_hostile import QUERY_VALUES
from tests.world import client_as

API = sorted(r.rule for r in collection_app().url_map.iter_rules()
             if r.endpoint.startswith("stats_api."))
YEAR = "period=year&year=2026"


def test_the_api_is_read_only_and_not_exempt_from_csrf():
    app = collection_app()
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("stats_api.")]
    assert rules, "the data API has no routes"
    assert not any(r.methods & STATE_CHANGING for r in rules)
    assert not {r.endpoint for r in rules} & exempt_endpoints(app)


def _get(client, url, secret=None, **kwargs):
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    return client.get(url, headers=headers, **kwargs)


@pytest.mark.parametrize("rule", API)
def test_without_a_valid_token_every_route_is_401(world_app, rule):
    world = world_app.world
    tokens = world.finance.tokens
    client = world_app.test_client()
    admin = client_as(world_app, world, "admin")
    url = f"{rule}?{YEAR}"
    answers = {
        "no header": client.get(url),
        "not bearer": client.get(url, headers={"Authorization": tokens["city"][1]}),
        "empty": _get(client, url, ""),
        "malformed": _get(client, url, "not-a-token"),
        "unknown": _get(client, url, "xnyp_" + "x" * 43),
        "revoked": _get(client, url, tokens["revoked"][1]),
        "too long": _get(client, url, tokens["city"][1] + "x" * 100),
        "admin's session": admin.get(url),
    }
    wrong = {k: r.status_code for k, r in answers.items()
             if r.status_code != 401 or "rows" in (r.get_json(silent=True) or {})}
    assert not wrong, f"{rule}: not refused with 401: {wrong}"
    assert answers["no header"].headers["WWW-Authenticate"].startswith("Bearer")
    for method in sorted(STATE_CHANGING):
        response = client.open(rule, method=method,
                               headers={"Authorization": f"Bearer {tokens['city'][1]}"})
        assert response.status_code == 405, f"{method} {rule}"


def _scope_queries(world) -> dict[str, str]:
    """Query -> what it asks for, on the sales route."""
    places = world.places
    return {
        "": "own",
        f"&county={places.yuzhou.id}": "yuzhou",
        f"&county={places.yanling.id}": "yanling",
        f"&producer={world.org.id}": "org",
        f"&producer={world.rival_org.id}": "rival_org",
    }


#: Which sales each token of the world may read (written out, not derived from the
#: permission table, so that a rule widened by mistake fails here). A buyer's token has no
#: producer sales of its own (404).
SALES = {
    "city": {"own", "yuzhou", "yanling", "org", "rival_org"},
    "county": {"own", "yuzhou"},
    "other_county": {"own", "yanling"},
    "org": {"own", "org"},
    "rival_org": {"own", "rival_org"},
    "buyer": set(),
}


def test_each_token_reads_its_scope_and_nothing_else(world_app):
    world = world_app.world
    client = world_app.test_client()
    wrong = []
    assert set(world.finance.tokens) == set(SALES) | {"revoked"}
    for name, (_token, secret) in world.finance.tokens.items():
        if name == "revoked":
            continue
        for query, target in _scope_queries(world).items():
            response = _get(client, f"/api/v1/stats/sales?{YEAR}{query}", secret)
            allowed = target in SALES[name]
            status = response.status_code
            if allowed and status != 200 or not allowed and status not in (403, 404):
                wrong.append(f"{name} token, sales{query or ' (own scope)'}: {status}, "
                             f"expected {'200' if allowed else '403/404'}")
            if status != 200 and "rows" in (response.get_json(silent=True) or {}):
                wrong.append(f"{name} token, sales{query}: figures in a refusal")
        # The city-wide figures: only the city's token.
        for route in ("/api/v1/stats/income?" + YEAR, "/api/v1/stats/targets"):
            status = _get(client, route, secret).status_code
            expected = 200 if name == "city" else 403
            if status != expected:
                wrong.append(f"{name} token, {route}: {status}, expected {expected}")
        # The reserved share: the city's table, or the buyer's own row.
        response = _get(client, "/api/v1/stats/reserved-share?year=2026", secret)
        expected = {"city": 200, "buyer": 200}.get(name, (403, 404))
        if response.status_code not in (expected if isinstance(expected, tuple) else
                                         (expected,)):
            wrong.append(f"{name} token, reserved-share: {response.status_code}")
        if name == "buyer":
            rows = response.get_json()["rows"]
            assert len(rows) == 1 and rows[0]["id"] == world.buyer_org.id, rows
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("rule", API)
def test_hostile_query_values_with_every_token(world_app, rule, caplog):
    caplog.set_level(logging.ERROR)
    world = world_app.world
    client = world_app.test_client()
    names = ["period", "year", "month", "quarter", "start", "end", "group", "county",
             "producer"]
    failures = []
    for token_name, (_token, secret) in world.finance.tokens.items():
        values = QUERY_VALUES if token_name == "city" else QUERY_VALUES[:3]
        for name in names:
            for value in values:
                response = _get(client, rule, secret, query_string={name: value})
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} {rule}?{name}={value[:20]!r} "
                                    f"({token_name} token)")
    errors = [r.getMessage()[:300] for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, "\n".join(failures[:30])
    assert not errors, "\n".join(errors[:10])
