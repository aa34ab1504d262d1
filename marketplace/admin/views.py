from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from marketplace.accounts import services as accounts
from marketplace.admin import services
from marketplace.admin.forms import UserForm
from marketplace.audit.models import history_of
from marketplace.certification import services as certification
from marketplace.certification.models import CertificateStatus
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, DecisionForm, show_errors
from marketplace.organisations import services as organisations
from marketplace.organisations.models import OrgStatus
from marketplace.views_common import actor, page_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@login_required
def dashboard():
    return render_template("admin/dashboard.html", figures=services.dashboard_figures(actor()))


def _status_arg(statuses) -> str | None:
    """The ?status= filter if it names one of `statuses`, else None (no filter)."""
    status = request.args.get("status")
    return status if status in statuses.__members__.values() else None


@bp.get("/organisations")
@login_required
def organisation_list():
    status = _status_arg(OrgStatus)
    page = organisations.list_organisations(actor(), status, page_arg(request))
    return render_template("admin/organisations.html", page=page, status=status,
                           statuses=list(OrgStatus))


@bp.get("/certificates")
@login_required
def certificate_list():
    status = _status_arg(CertificateStatus)
    page = certification.list_certificates(actor(), status, page_arg(request))
    return render_template("admin/certificates.html", page=page, status=status,
                           statuses=list(CertificateStatus))


@bp.get("/certificates/<int:certificate_id>")
@login_required
def certificate_page(certificate_id: int):
    certificate = certification.get_certificate(actor(), certificate_id)
    return render_template("admin/certificate.html", certificate=certificate,
                           form=DecisionForm(), history=history_of(certificate))


CERTIFICATE_ACTIONS = {
    "suspend": certification.suspend_certificate,
    "reinstate": certification.reinstate_certificate,
    "revoke": certification.revoke_certificate,
}


@bp.post("/certificates/<int:certificate_id>/<action>")
@login_required
def certificate_action(certificate_id: int, action: str):
    certificate = certification.get_certificate(actor(), certificate_id)
    form = DecisionForm()
    if action in CERTIFICATE_ACTIONS and form.validate_on_submit():
        try:
            CERTIFICATE_ACTIONS[action](actor(), certificate, form.reason.data)
        except Invalid as exc:
            show_errors(form, exc)
            return render_template("admin/certificate.html", certificate=certificate,
                                   form=form, history=history_of(certificate)), 400
        flash(_("证书状态已更新。"), "success")
    return redirect(url_for("admin.certificate_page", certificate_id=certificate.id))


@bp.get("/users")
@login_required
def user_list():
    return render_template("admin/users.html", page=accounts.list_users(actor(), page_arg(request)),
                           confirm=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    form = UserForm()
    if form.validate_on_submit():
        try:
            accounts.create_user(actor(), username=form.username.data,
                                 display_name=form.display_name.data,
                                 password=form.password.data, role=form.role.data,
                                 county_id=form.county_id.data)
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("账号已创建。"), "success")
            return redirect(url_for("admin.user_list"))
    return render_template("admin/user_form.html", form=form)


@bp.post("/users/<int:user_id>/active")
@login_required
def toggle_user(user_id: int):
    user = accounts.get_user(user_id)
    if ConfirmForm().validate_on_submit():
        try:
            accounts.set_user_active(actor(), user, not user.active)
        except Invalid as exc:
            flash(exc.message, "error")
    return redirect(url_for("admin.user_list"))


@bp.get("/audit")
@login_required
def audit_log():
    return render_template("admin/audit.html",
                           page=services.audit_log(actor(), page_arg(request),
                                                   request.args.get("action") or None))
