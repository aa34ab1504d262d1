"""Web plumbing shared by every blueprint: locale, login, headers, errors, template helpers."""

import re
import sqlite3

import flask_babel
from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
    session,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine

from marketplace import clock, money, permissions
from marketplace.catalog import pictures
from marketplace.errors import DomainError
from marketplace.extensions import compress, db, login_manager

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if has_request_context() and session.get("lang") in languages:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite as a real embedded database: WAL, enforced foreign keys, wait on locks."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


SESSION_ID = re.compile(r"^(\d{1,10}):(\d{1,10})$")


def _load_user(session_id: str):
    """The user of a session or remember cookie "id:version", if that version is current.

    Logging out or changing the password raises the user's version, which ends every
    session and remember cookie issued before.
    """
    from marketplace.accounts.models import User

    match = SESSION_ID.match(session_id or "")
    if not match:
        return None
    user = db.session.get(User, int(match.group(1))) if int(match.group(1)) < 2**31 else None
    if user is None or user.session_version != int(match.group(2)):
        return None
    return user


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if getattr(g, "no_store", False) or current_user.is_authenticated:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


DIGESTED = re.compile(r"-[0-9a-f]{32}\.[a-z0-9]+$")


def _compress_if_safe(response):
    """Compress, except an HTML page that carries a CSRF token.

    Compressing a secret beside text an attacker can reflect (a search query) leaks the
    secret through the response size (BREACH). Public pages carry no token and are
    compressed; forms keep their token uncompressed. Static files are always compressed.
    """
    if response.mimetype == "text/html" and "csrf_token" in g:
        response.vary.add("Accept-Encoding")
        return response
    if response.is_streamed and request.endpoint == "static":
        # A static file is small: read it whole (the file is closed with the response)
        # rather than stream-compress it, which would leave the file open.
        response.direct_passthrough = False
        response.make_sequence()
    return compress.after_request(response)


def _send_file_max_age(filename: str | None) -> int | None:
    """A year for content-hashed static names (they never change); revalidate the rest."""
    if filename and DIGESTED.search(filename):
        return current_app.config["STATIC_MAX_AGE"]
    return None


def _immutable_static(response):
    if request.endpoint == "static" and response.cache_control.max_age:
        response.cache_control.immutable = True
        response.cache_control.public = True
    return response


def _template_globals():
    from marketplace.notices.services import unread_count
    from marketplace.orders.cart import cart_size
    from marketplace.views_common import actions_for

    return {
        "cart_size": lambda: cart_size(current_user),
        "unread_count": lambda: unread_count(current_user),
        "can": lambda action, obj=None: permissions.can(action, current_user, obj),
        "actions_for": actions_for,
        "today": clock.today(),
        "current_locale": select_locale(),
    }


def init_app(app: Flask) -> None:
    login_manager.user_loader(_load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    # The locale is per request; an app context shared by several requests (tests, CLI) must
    # not carry the previous request's language.
    app.before_request(flask_babel.refresh)
    # after_request functions run in reverse order of registration: compression last.
    app.after_request(_compress_if_safe)
    app.after_request(_security_headers)
    app.after_request(_immutable_static)
    app.get_send_file_max_age = _send_file_max_age
    app.context_processor(_template_globals)
    app.jinja_env.filters["yuan"] = money.format_yuan
    app.jinja_env.filters["qty"] = money.format_quantity
    app.jinja_env.globals["product_picture"] = pictures.picture_for  # macros see globals only
    app.jinja_env.policies["ext.i18n.trimmed"] = True


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error_page(status: int, message: str):
    db.session.rollback()
    if _wants_json():
        return jsonify(error=message), status
    return render_template("errors/error.html", status=status, message=message), status


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return _error_page(exc.status_code, exc.message or _("操作未能完成。"))

    @app.errorhandler(CSRFError)
    def csrf_error(_exc):
        return _error_page(400, _("页面已过期或表单缺少安全令牌，请刷新页面后重试。"))

    @app.errorhandler(404)
    def not_found(_exc):
        return _error_page(404, _("页面不存在。"))

    @app.errorhandler(403)
    def forbidden(_exc):
        return _error_page(403, _("您没有权限访问此页面。"))

    @app.errorhandler(413)
    def too_large(_exc):
        return _error_page(413, _("上传的文件太大。"))

    @app.errorhandler(500)
    def server_error(_exc):
        return _error_page(500, _("服务器出错了，请稍后再试。"))
