from flask import Blueprint, flash, redirect, render_template, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import login_required

from marketplace import uploads
from marketplace.audit.models import history_of
from marketplace.catalog.services import get_editable_product
from marketplace.certification import services
from marketplace.certification.forms import ApplicationForm
from marketplace.certification.models import DocumentKind
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, DecisionForm, show_errors
from marketplace.organisations.services import organisations_awaiting, own_organisation
from marketplace.views_common import actor

bp = Blueprint("certification", __name__)


def _documents(form: ApplicationForm) -> list:
    """The uploaded files with their kinds, skipping empty file inputs."""
    files = [(DocumentKind.TEST_REPORT, form.test_report.data)]
    files += [(DocumentKind.GREEN_FOOD, f) for f in form.mark_documents.data or []]
    files += [(DocumentKind.OTHER, f) for f in form.other_documents.data or []]
    return [(kind, f) for kind, f in files if f and getattr(f, "filename", "")]


@bp.route("/my/products/<int:product_id>/apply", methods=["GET", "POST"])
@login_required
def apply(product_id: int):
    product = get_editable_product(actor(), product_id)
    form = ApplicationForm(obj=product)
    if form.validate_on_submit():
        try:
            application = services.apply_for_certification(
                actor(), product, form.data, _documents(form)
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("申请已提交，等待县级初审。"), "success")
            return redirect(url_for("certification.application_page",
                                    application_id=application.id))
    return render_template("certification/apply.html", form=form, product=product,
                           pending=services.pending_application(product))


@bp.get("/my/applications")
@login_required
def my_applications():
    org = own_organisation(actor())
    return render_template("certification/my_applications.html",
                           applications=services.applications_of(actor(), org))


@bp.get("/applications/<int:application_id>")
@login_required
def application_page(application_id: int, form=None):
    application = services.get_application(actor(), application_id)
    return render_template(
        "certification/application.html", application=application,
        form=form or DecisionForm(), confirm=ConfirmForm(), history=history_of(application),
        certificate_history=history_of(application.certificate) if application.certificate
        else [],
    )


@bp.post("/applications/<int:application_id>/withdraw")
@login_required
def withdraw(application_id: int):
    application = services.get_application(actor(), application_id)
    if ConfirmForm().validate_on_submit():
        services.withdraw_application(actor(), application)
        flash(_("申请已撤回。"), "success")
    return redirect(url_for("certification.application_page", application_id=application.id))


def _decide(application_id: int, service, done_message: str):
    application = services.get_application(actor(), application_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            service(actor(), application, bool(form.approve.data), form.reason.data)
        except Invalid as exc:
            show_errors(form, exc)
            return application_page(application_id, form=form), 400
        flash(done_message, "success")
        return redirect(url_for("certification.queue"))
    return redirect(url_for("certification.application_page", application_id=application.id))


@bp.post("/applications/<int:application_id>/county-review")
@login_required
def county_review(application_id: int):
    return _decide(application_id, services.review_application, _("已记录县级初审意见。"))


@bp.post("/applications/<int:application_id>/city-decision")
@login_required
def city_decision(application_id: int):
    return _decide(application_id, services.decide_application, _("已记录市级认定结果。"))


@bp.get("/documents/<int:document_id>")
@login_required
def document(document_id: int):
    doc = services.get_document(actor(), document_id)
    response = send_from_directory(
        uploads.upload_dir("documents"), doc.stored_name, mimetype=doc.content_type,
        as_attachment=doc.content_type == "application/pdf",
        download_name=doc.original_name or doc.stored_name,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/review")
@login_required
def queue():
    return render_template(
        "certification/queue.html",
        organisations=organisations_awaiting(actor()),
        applications=services.applications_awaiting(actor()),
    )
