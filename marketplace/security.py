"""Request-level guards: the CSRF token on every state-changing request, and no NUL
characters in anything a request carries.

CSRFProtect checks every POST, PUT, PATCH and DELETE before any view runs. A route that
must accept requests without the token (a payment provider's webhook, a token-authenticated
API) is listed here and nowhere else: `csrf.exempt` is never used directly, and a test
checks that Flask-WTF's exempt set is exactly this list.
"""

from flask import Flask, request
from flask_babel import gettext as _

from marketplace.errors import Invalid
from marketplace.extensions import csrf

#: "module.view_function" of every view that is exempt from the CSRF check, with the reason.
CSRF_EXEMPT: dict[str, str] = {
    "marketplace.payments.views.stripe_webhook":
        "Stripe posts events without a session; each is verified by its signature instead",
}


def refuse_nul_characters() -> None:
    """Refuse U+0000 in the path, form fields and upload names with a 400 and a message.

    No person types it, and PostgreSQL cannot store it in text: a form field or a photo
    name carrying one reached the database and answered 500. (Free-text query parameters
    drop it in params.text_arg instead, so a search box never fails.)
    """
    texts = [request.path]
    texts += [text for pair in request.form.items(multi=True) for text in pair]
    texts += [f.filename or "" for f in request.files.values()]
    if any("\x00" in text for text in texts):
        raise Invalid(_("请求中含有不允许的字符。"))


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    for view in CSRF_EXEMPT:
        csrf.exempt(view)
    app.before_request(refuse_nul_characters)
