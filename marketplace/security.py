"""Cross-site request forgery: every state-changing request carries the session's token.

CSRFProtect checks every POST, PUT, PATCH and DELETE before any view runs. A route that
must accept requests without the token (a payment provider's webhook, a token-authenticated
API) is listed here and nowhere else: `csrf.exempt` is never used directly, and a test
checks that Flask-WTF's exempt set is exactly this list.
"""

from flask import Flask

from marketplace.extensions import csrf

#: "module.view_function" of every view that is exempt from the CSRF check, with the reason.
CSRF_EXEMPT: dict[str, str] = {}


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    for view in CSRF_EXEMPT:
        csrf.exempt(view)
