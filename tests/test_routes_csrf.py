"""Every state-changing route refuses a request without the session's CSRF token, and the
only routes exempt from the check are the ones listed in marketplace.security.CSRF_EXEMPT.

The walk reads the routes from app.url_map, so a new POST route joins it by construction
(and needs its row in tests/routes.py). Each post is made by someone who may make it, with
real ids, so the refusal can only be the token's; the same post with the token is then
accepted, which proves it.
"""

import pytest

from marketplace.extensions import csrf
from marketplace.security import CSRF_EXEMPT
from tests.helpers import post_form
from tests.routes import (
    POSTS,
    STATE_CHANGING,
    collection_app,
    endpoint_of,
    exempt_endpoints,
    form_data,
    has_upload,
    logged_in,
    missing_row_message,
    state_changing_endpoints,
    url_of,
)
from tests.world import client_as, snapshot

ENDPOINTS = [e for e in state_changing_endpoints(collection_app())
             if endpoint_of(e) not in exempt_endpoints(collection_app())]


def test_only_the_listed_views_are_exempt(world_app):
    """A view marked csrf.exempt anywhere else (a decorator, a blueprint) fails here."""
    assert csrf._exempt_views == set(CSRF_EXEMPT)
    assert csrf._exempt_blueprints == set()
    views = {f"{v.__module__}.{v.__name__}" for v in world_app.view_functions.values()}
    assert set(CSRF_EXEMPT) <= views, "CSRF_EXEMPT names a view that does not exist"


def test_every_state_changing_route_has_a_row():
    """Exempt routes too: the hostile walk posts to them (without a token)."""
    app = collection_app()
    keys = state_changing_endpoints(app)
    missing = sorted(set(keys) - set(POSTS))
    assert not missing, missing_row_message(app, missing)
    gone = sorted(set(POSTS) - set(keys))
    assert not gone, f"tests/routes.py POSTS has rows for routes that are gone: {gone}"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_refused_without_token_and_nothing_changes(world_app, endpoint):
    row = POSTS.get(endpoint)
    assert row is not None, missing_row_message(collection_app(), [endpoint])
    world = world_app.world
    client = client_as(world_app, world, row.persona)
    url = url_of(world_app, endpoint, row.values(world))
    data = row.data(world)
    kwargs = {"content_type": "multipart/form-data"} if has_upload(data) else {}
    methods = set().union(*(r.methods for r in world_app.url_map.iter_rules(endpoint_of(endpoint))))
    was_logged_in = logged_in(client)

    before = snapshot()
    for method in sorted(methods & STATE_CHANGING):
        response = client.open(url, method=method, data=form_data(data), **kwargs)
        assert response.status_code == 400, f"{method} {url} without a token"
        assert "安全令牌" in response.get_data(as_text=True)
    assert snapshot() == before, "a refused request changed the database"
    assert logged_in(client) == was_logged_in

    # The same post with the page's token is accepted: the refusal above was the token's.
    response = post_form(client, url, form_data(data), page=row.page(world) if row.page else url,
                         **kwargs)
    assert response.status_code == row.accepted, f"{endpoint} was not accepted with its token"
    if row.effect is None:
        assert snapshot() != before, f"{endpoint} accepted but changed nothing"
    else:
        assert row.effect(client)
