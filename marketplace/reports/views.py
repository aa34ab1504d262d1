"""Report pages and their exports: parse the period, call one service, render or stream."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from marketplace.accounts.models import Role
from marketplace.catalog.models import UNITS
from marketplace.clock import today
from marketplace.errors import Invalid, NotAuthorized, NotFound
from marketplace.forms import ConfirmForm, choices, show_errors
from marketplace.params import int_arg
from marketplace.permissions import can
from marketplace.reports import exports, manage, services
from marketplace.reports.forms import ReferencePriceForm, TokenForm
from marketplace.reports.periods import FIRST_YEAR, KINDS, period_from_args
from marketplace.views_common import actor

bp = Blueprint("reports", __name__, url_prefix="/reports")
FORMATS = ("xlsx", "csv")


@bp.app_template_filter("pct")
def pct(value, signed=False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


@bp.app_context_processor
def _reserved_share_helper():
    """`reserved_share_for(org)` in any template: the reader's own buyer share, or None."""
    return {"reserved_share_for": lambda org: services.reserved_share_of(actor(), org)}


def _period_context(period) -> dict:
    return {"period": period, "kinds": KINDS, "years": range(today().year + 1, FIRST_YEAR - 1, -1)}


@bp.get("/")
@login_required
def home():
    """Send each reader to the figures they may see."""
    user = actor()
    if user.role == Role.ADMIN:
        return redirect(url_for("reports.city"))
    if user.role == Role.COUNTY_OFFICER and user.county_id:
        return redirect(url_for("reports.county", county_id=user.county_id))
    if user.role == Role.PRODUCER and user.organisation_id:
        return redirect(url_for("reports.producer", org_id=user.organisation_id))
    if user.role in (Role.BUYER, Role.BUYER_APPROVER) and user.organisation_id:
        return redirect(url_for("buyers.mine"))
    raise NotAuthorized(_("您没有权限访问此页面。"))


def _dashboard_page(d, scope: str, order, export_endpoint: str, **ids):
    """Render a dashboard with its export links and the drill-down links of its rows."""
    args = d.period.args()

    def exports(key, fmt):
        return url_for(export_endpoint, table=key, fmt=fmt, **ids, **args)

    links = {
        "counties": lambda r: url_for("reports.county", county_id=r["_id"], **args),
        "producer": lambda r: url_for("organisations.public_page", org_id=r["_id"]),
    }
    if scope == "city":
        links["township"] = lambda r: url_for("reports.county", county_id=r["_county_id"],
                                              **args) + "#t-township"
    return render_template("reports/dashboard.html", d=d, scope=scope, order=order,
                           exports=exports, links=links, **_period_context(d.period))


@bp.get("/city")
@login_required
def city():
    dashboard = services.city_dashboard(actor(), period_from_args())
    return _dashboard_page(dashboard, "city", services.CITY_TABLES, "reports.city_export")


@bp.get("/county/<int:county_id>")
@login_required
def county(county_id: int):
    dashboard = services.county_dashboard(actor(), county_id, period_from_args())
    return _dashboard_page(dashboard, "county", services.COUNTY_TABLES, "reports.county_export",
                           county_id=county_id)


@bp.get("/producer/<int:org_id>")
@login_required
def producer(org_id: int):
    dashboard = services.producer_dashboard(actor(), org_id, period_from_args())
    return _dashboard_page(dashboard, "producer", services.PRODUCER_TABLES,
                           "reports.producer_export", org_id=org_id)


def _send(fmt: str, name: str, title: str, columns, rows, total=None):
    filename = f"{name}.{fmt}"
    if fmt == "csv":
        return exports.csv_response(filename, columns, rows, total)
    return exports.xlsx_response(filename, title, columns, rows, total)


def _export_dashboard(fmt: str, table: str, dashboard, allowed, place: str, detail):
    if table == "detail":
        period = dashboard
        return _send(fmt, f"{place}-{_('销售明细')}-{period.slug}",
                     f"{place} {_('销售明细')} {period.full_label}", services.DETAIL_COLUMNS,
                     detail())
    if table not in allowed:
        raise Invalid(_("参数 %(name)s 无效：%(hint)s", name="table", hint=_("不是可选的值。")))
    d = dashboard()
    t = d.tables[table]
    return _send(fmt, f"{place}-{t.title}-{d.period.slug}",
                 f"{place} {t.title} {d.period.full_label}", t.columns, t.rows, t.total)


@bp.get("/city/export/<table>.<any(xlsx, csv):fmt>")
@login_required
def city_export(table: str, fmt: str):
    period = period_from_args()
    who = actor()
    if table == "detail":
        return _export_dashboard(fmt, table, period, None, _("许昌市"),
                                 lambda: services.sales_detail(who, period))
    return _export_dashboard(fmt, table, lambda: services.city_dashboard(who, period),
                             services.CITY_TABLES, _("许昌市"), None)


@bp.get("/county/<int:county_id>/export/<table>.<any(xlsx, csv):fmt>")
@login_required
def county_export(county_id: int, table: str, fmt: str):
    period = period_from_args()
    who = actor()
    place = services.get_county(who, county_id).name
    if table == "detail":
        return _export_dashboard(fmt, table, period, None, place,
                                 lambda: services.sales_detail(who, period, county_id=county_id))
    return _export_dashboard(fmt, table,
                             lambda: services.county_dashboard(who, county_id, period),
                             services.COUNTY_TABLES, place, None)


@bp.get("/producer/<int:org_id>/export/<table>.<any(xlsx, csv):fmt>")
@login_required
def producer_export(org_id: int, table: str, fmt: str):
    period = period_from_args()
    who = actor()
    place = services.get_producer(who, org_id).name
    if table == "detail":
        return _export_dashboard(fmt, table, period, None, place,
                                 lambda: services.sales_detail(who, period, producer_id=org_id))
    return _export_dashboard(fmt, table,
                             lambda: services.producer_dashboard(who, org_id, period),
                             services.PRODUCER_TABLES, place, None)


def _simple_exports(page: str, **args):
    def exports(key, fmt):
        return url_for("reports.simple_export", page=page, table=key, fmt=fmt, **args)
    return exports


def _year_arg() -> int:
    return int_arg("year", default=today().year, minimum=FIRST_YEAR, maximum=today().year + 1)


@bp.get("/reserved-share")
@login_required
def reserved_share():
    year = _year_arg()
    table = services.reserved_share(actor(), year)
    return render_template("reports/simple.html", table=table, year=year, page="reserved",
                           years=range(today().year + 1, FIRST_YEAR - 1, -1),
                           exports=_simple_exports("reserved-share", year=year))


@bp.get("/income")
@login_required
def income():
    period = period_from_args()
    table = services.farmer_income(actor(), period)
    return render_template("reports/simple.html", table=table, page="income",
                           exports=_simple_exports("income", **period.args()),
                           **_period_context(period))


@bp.get("/targets")
@login_required
def targets():
    return render_template("reports/simple.html", table=services.policy_targets(actor()),
                           page="targets", exports=_simple_exports("targets"))


@bp.get("/risks")
@login_required
def risks():
    who = actor()
    county_id = int_arg("county")
    if county_id is None and who.role == Role.COUNTY_OFFICER:
        county_id = who.county_id  # an officer's signals are the county's
    signals = services.risk_signals(who, county_id)

    def product(r):
        return url_for("catalog.product_page", product_id=r["_id"])

    def certificate(r):
        if can("certificate.manage", who):
            return url_for("admin.certificate_page", certificate_id=r["_certificate_id"])
        return product(r)

    links = {"slow": product, "price": product, "expiring": certificate,
             "drop": lambda r: url_for("organisations.public_page", org_id=r["_id"])}
    return render_template("reports/risks.html", signals=signals, links=links,
                           exports=_simple_exports("risks", county=county_id))


@bp.get("/<any('reserved-share', income, targets, risks):page>/export/<table>.<any(xlsx, csv):fmt>")
@login_required
def simple_export(page: str, table: str, fmt: str):
    who = actor()
    if page == "reserved-share":
        year = _year_arg()
        t, label = services.reserved_share(who, year), _("%(y)s年", y=year)
    elif page == "income":
        period = period_from_args()
        t, label = services.farmer_income(who, period), period.full_label
    elif page == "targets":
        t, label = services.policy_targets(who), today().isoformat()
    else:
        signals = services.risk_signals(who, int_arg("county"))
        if table not in signals.tables:
            raise Invalid(_("参数 %(name)s 无效：%(hint)s", name="table", hint=_("不是可选的值。")))
        t, label = signals.tables[table], today().isoformat()
    if page != "risks" and table != t.key:
        raise NotFound(_("页面不存在。"))
    return _send(fmt, f"{t.title}-{label}", f"{t.title} {label}", t.columns, t.rows, t.total)


# Administration: tokens and reference prices ---------------------------------------------


def _token_form() -> TokenForm:
    form = TokenForm()
    form.county_id.choices = choices([("", "—")] + [
        (str(c.id), c.name) for c in manage.counties()])
    return form


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    tokens_ = manage.list_tokens(actor())
    form = _token_form()
    secret = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                _token, secret = manage.issue_token(
                    actor(), form.name.data, form.scope.data, form.county_id.data,
                    form.organisation_id.data)
            except Invalid as exc:
                show_errors(form, exc)
                status = 400
            else:
                flash(_("令牌已签发。请立即复制保存，它只显示这一次。"), "success")
        else:
            status = 400
    if secret:
        tokens_ = manage.list_tokens(actor())
    return render_template("reports/tokens.html", tokens=tokens_, form=form,
                           secret=secret, confirm=ConfirmForm()), status


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = manage.get_token(actor(), token_id)
    if ConfirmForm().validate_on_submit():
        manage.revoke_token(actor(), token)
        flash(_("令牌已吊销。"), "success")
    return redirect(url_for("reports.tokens"))


@bp.route("/reference-prices", methods=["GET", "POST"])
@login_required
def reference_prices():
    prices = manage.list_reference_prices(actor())
    form = ReferencePriceForm()
    form.category_id.choices = choices((str(c.id), c.name) for c in manage.categories())
    form.unit.choices = choices((u, u) for u in UNITS)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                manage.set_reference_price(actor(), form.category_id.data, form.unit.data,
                                           form.price_yuan.data, form.note.data)
            except Invalid as exc:
                show_errors(form, exc)
                status = 400
            else:
                flash(_("参考价已保存。"), "success")
                return redirect(url_for("reports.reference_prices"))
        else:
            status = 400
    return render_template("reports/reference_prices.html",
                           prices=prices, form=form,
                           confirm=ConfirmForm()), status


@bp.post("/reference-prices/<int:ref_id>/delete")
@login_required
def delete_reference_price(ref_id: int):
    if ConfirmForm().validate_on_submit():
        manage.delete_reference_price(actor(), ref_id)
        flash(_("参考价已删除。"), "success")
    return redirect(url_for("reports.reference_prices"))
