from flask import Blueprint, flash, redirect, render_template, url_for
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
from marketplace.params import choice_arg, page_arg, text_arg
from marketplace.permissions import authorize
from marketplace.views_common import actor, decide

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@login_required
def dashboard():
    return render_template("admin/dashboard.html", figures=services.dashboard_figures(actor()))


def _status_arg(statuses) -> str | None:
    """The ?status= filter: one of `statuses`, or None (no filter)."""
    return choice_arg("status", set(statuses.__members__.values()))


@bp.get("/organisations")
@login_required
def organisation_list():
    status = _status_arg(OrgStatus)
    page = organisations.list_organisations(actor(), status, page_arg())
    return render_template("admin/organisations.html", page=page, status=status,
                           statuses=list(OrgStatus))


@bp.get("/certificates")
@login_required
def certificate_list():
    status = _status_arg(CertificateStatus)
    page = certification.list_certificates(actor(), status, page_arg())
    return render_template("admin/certificates.html", page=page, status=status,
                           statuses=list(CertificateStatus))


def _certificate_context(certificate) -> dict:
    return {"certificate": certificate, "history": history_of(certificate)}


@bp.get("/certificates/<int:certificate_id>")
@login_required
def certificate_page(certificate_id: int):
    certificate = certification.get_certificate(actor(), certificate_id)
    return render_template("admin/certificate.html", form=DecisionForm(),
                           **_certificate_context(certificate))


CERTIFICATE_EVENTS = {
    "suspend": certification.suspend_certificate,
    "reinstate": certification.reinstate_certificate,
    "revoke": certification.revoke_certificate,
}


@bp.post("/certificates/<int:certificate_id>/decide")
@login_required
def certificate_action(certificate_id: int):
    certificate = certification.get_certificate(actor(), certificate_id)
    page = url_for("admin.certificate_page", certificate_id=certificate.id)
    return decide(certificate, CERTIFICATE_EVENTS, done=_("证书状态已更新。"), success_url=page,
                  failure_url=page, template="admin/certificate.html",
                  **_certificate_context(certificate))


@bp.get("/users")
@login_required
def user_list():
    return render_template("admin/users.html", page=accounts.list_users(actor(), page_arg()),
                           confirm=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    authorize("user.manage", actor())
    form = UserForm()
    if form.validate_on_submit():
        try:
            accounts.create_user(actor(), username=form.username.data,
                                 display_name=form.display_name.data,
                                 password=form.password.data, role=form.role.data,
                                 county_id=form.county_id.data, email=form.email.data)
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


@bp.post("/users/<int:user_id>/reset-password")
@login_required
def reset_user_password(user_id: int):
    """Issue a one-time reset link; this response is the only place it is ever shown."""
    user = accounts.get_user(user_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("admin.user_list"))
    token, reset = accounts.issue_password_reset(actor(), user)
    link = url_for("accounts.reset_password", token=token, _external=True)
    return render_template("admin/password_reset.html", user=user, link=link, reset=reset)


@bp.get("/audit")
@login_required
def audit_log():
    return render_template("admin/audit.html",
                           page=services.audit_log(actor(), page_arg(),
                                                   text_arg("action", 60) or None))
