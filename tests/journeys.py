"""HTTP steps of the certification chain, for tests where several people take turns.

The `app` fixture keeps one app context open for the whole test, and every test-client
request joins it, so they would share `g`, where Flask-WTF caches the CSRF token of the
first session that asked, and Flask-Login the user who logged in last. `take_turns(app)`
starts each request with empty globals, as each request has in production, so several
logged-in clients can act one after another.
"""

import io

from flask import g

from tests.helpers import login, pdf_bytes, post_form


def take_turns(app) -> None:
    @app.before_request
    def _fresh_globals():
        g.__dict__.clear()


def browser(app, username: str):
    """A test client logged in as `username` (call take_turns(app) first)."""
    client = app.test_client()
    response = login(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


class People(dict):
    """Logged-in clients by username, each logging in when first used (logins cost a
    password hash)."""

    def __init__(self, app):
        super().__init__()
        take_turns(app)
        self.app = app

    def __missing__(self, username: str):
        self[username] = browser(self.app, username)
        return self[username]


def text(response) -> str:
    return response.get_data(as_text=True)


def apply(client, product_id: int, **files):
    """The producer applies for certification with a PDF test report; returns the response."""
    data = {"annual_supply_capacity": "50 吨", "benefit_mechanism": "吸纳 12 户脱贫户务工",
            "test_report": (io.BytesIO(pdf_bytes()), "检测报告.pdf"), **files}
    return post_form(client, f"/my/products/{product_id}/apply", data,
                     content_type="multipart/form-data")


def decide(client, path: str, event: str, reason: str = "材料齐全，价格合理"):
    """Press the `event` button on the page at `path` (an application, claim, change …)."""
    return post_form(client, f"{path}/decide", {"event": event, "reason": reason}, page=path)


def edit_product(client, product_id: int, data: dict):
    return post_form(client, f"/my/products/{product_id}/edit", data)
