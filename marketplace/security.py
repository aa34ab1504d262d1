"""Request-level guards: the CSRF token on every state-changing request.

CSRFProtect checks every POST, PUT, PATCH and DELETE before any view runs. A route that must
accept requests without the token (a payment provider's webhook) is listed here and nowhere
else, with the reason: `csrf.exempt` is never used directly.
"""

from flask import Flask

from marketplace.extensions import csrf

#: "module.view_function" of every view exempt from the CSRF check, with the reason.
CSRF_EXEMPT: dict[str, str] = {
    "marketplace.payments.views.stripe_webhook":
        "Stripe posts events without a session; each is verified by its signature instead",
}


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    for view in CSRF_EXEMPT:
        csrf.exempt(view)
