"""What the order tests compare: whole tables before and after a refused request."""

from flask import g
from sqlalchemy import text

#: Every row of these is compared before and after a request that must change nothing.
TABLES = ("purchase_orders", "sub_orders", "order_lines", "stock_movements", "cart_lines",
          "supplier_ratings", "delivery_addresses", "buyer_profiles", "notices",
          "audit_events", "organisations")


def snapshot(db) -> dict:
    db.session.expire_all()
    tables = {t: db.session.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}
    tables["stock"] = db.session.execute(text("SELECT id, stock FROM products ORDER BY id")).all()
    tables["users"] = db.session.execute(text(
        "SELECT id, username, role, organisation_id, active FROM users ORDER BY id")).all()
    return tables


def forget_previous_request() -> None:
    """The test client's requests share the test's app context, hence its `g`, where
    Flask-Login keeps the user and Flask-WTF the CSRF token: a second client must not
    inherit the first one's."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)
