"""The read-only data API: /api/v1/stats/…, authenticated by per-organisation tokens.

`Authorization: Bearer xnyp_…`. A token reads what its scope allows (the city, one county,
one organisation) through the same services and permission rules as the pages; a missing,
unknown or revoked token is a 401, a figure outside the scope a 403, a bad parameter a 400.
"""

from datetime import date
from decimal import Decimal

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from marketplace.clock import today
from marketplace.errors import Invalid
from marketplace.extensions import csrf
from marketplace.params import choice_arg, int_arg
from marketplace.reports import manage, services
from marketplace.reports.models import TokenScope
from marketplace.reports.periods import FIRST_YEAR, period_from_args

bp = Blueprint("stats_api", __name__, url_prefix="/api/v1/stats")
csrf.exempt(bp)


@bp.before_request
def _authenticate():
    header = request.headers.get("Authorization", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else ""
    client = manage.authenticate(secret) if secret else None
    if client is None:
        response = jsonify(error=_("缺少有效的访问令牌。"))
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="stats"'
        return response
    g.api_client = client
    g.no_store = True
    return None


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(row: dict) -> dict:
    out = {k: _plain(v) for k, v in row.items() if not k.startswith("_")}
    if "_id" in row:
        out["id"] = row["_id"]
    return out


def _table_json(table, period=None, **extra) -> dict:
    body = {"table": table.key, "title": table.title,
            "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind}
                        for c in table.columns],
            "rows": [_row(r) for r in table.rows],
            "total": _row(table.total) if table.total else None, **extra}
    if period is not None:
        body["period"] = {"kind": period.kind, "start": period.start.isoformat(),
                          "end": period.end.isoformat(), "label": period.label}
    return body


@bp.get("/sales")
def sales():
    """Sales for a period grouped one way: ?period…&group=…[&county=id | &producer=id]."""
    client = g.api_client
    period = period_from_args()
    county_id = int_arg("county")
    producer_id = int_arg("producer")
    if county_id and producer_id:
        raise Invalid(_("county 与 producer 只能选一个。"))
    if not county_id and not producer_id:
        if client.scope == TokenScope.COUNTY:
            county_id = client.scope_key
        elif client.scope == TokenScope.ORGANISATION:
            producer_id = client.scope_key
    if producer_id:
        group = choice_arg("group", services.PRODUCER_TABLES, default="product")
        dashboard = services.producer_dashboard(client, producer_id, period)
    elif county_id:
        group = choice_arg("group", services.COUNTY_TABLES, default="township")
        dashboard = services.county_dashboard(client, county_id, period)
    else:
        group = choice_arg("group", services.CITY_TABLES, default="counties")
        dashboard = services.city_dashboard(client, period)
    return jsonify(_table_json(dashboard.tables[group], period,
                               headline={k: _plain(v) for k, v in dashboard.headline.items()},
                               amounts_in="fen"))


@bp.get("/reserved-share")
def reserved_share():
    client = g.api_client
    year = int_arg("year", default=today().year, minimum=FIRST_YEAR, maximum=today().year + 1)
    if client.scope == TokenScope.ORGANISATION:
        row = services.own_reserved_share(client, client.scope_key, year)
        return jsonify({"year": year, "rows": [_row(row)] if row else [], "amounts_in": "fen"})
    return jsonify(_table_json(services.reserved_share(client, year), year=year,
                               amounts_in="fen"))


@bp.get("/income")
def income():
    period = period_from_args()
    return jsonify(_table_json(services.farmer_income(g.api_client, period), period,
                               amounts_in="fen"))


@bp.get("/targets")
def targets():
    return jsonify(_table_json(services.policy_targets(g.api_client)))
