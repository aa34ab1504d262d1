from flask import Blueprint, flash, redirect, render_template, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import login_required

from marketplace import uploads
from marketplace.audit.models import history_of
from marketplace.buyers.services import buyers_awaiting
from marketplace.catalog.forms import MarkClaimForm
from marketplace.catalog.services import get_editable_product
from marketplace.certification import marks, services
from marketplace.certification.forms import ApplicationForm
from marketplace.certification.models import DocumentKind
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, DecisionForm, show_errors
from marketplace.organisations.services import (
    linkage_changes_awaiting,
    organisations_awaiting,
    own_organisation,
)
from marketplace.permissions import can
from marketplace.views_common import actor, decide

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


def _application_context(application, form=None) -> dict:
    return {
        "application": application, "form": form or DecisionForm(), "confirm": ConfirmForm(),
        "history": history_of(application),
        "certificate_history": history_of(application.certificate)
        if application.certificate else [],
        "previous": services.previous_certificate(application),
        "changed": "、".join(
            str(services.FIELD_LABELS[f])
            for f in services.changed_since_review(application.product, application)
        ) if application.is_pending else "",
    }


@bp.get("/applications/<int:application_id>")
@login_required
def application_page(application_id: int):
    application = services.get_application(actor(), application_id)
    return render_template("certification/application.html", **_application_context(application))


APPLICATION_EVENTS = {
    "county_pass": lambda a, app, reason: services.review_application(a, app, True, reason),
    "county_return": lambda a, app, reason: services.review_application(a, app, False, reason),
    "city_approve": lambda a, app, reason: services.decide_application(a, app, True, reason),
    "city_reject": lambda a, app, reason: services.decide_application(a, app, False, reason),
    "withdraw": lambda a, app, _reason: services.withdraw_application(a, app),
}


@bp.post("/applications/<int:application_id>/decide")
@login_required
def decide_application(application_id: int):
    application = services.get_application(actor(), application_id)
    page = url_for("certification.application_page", application_id=application.id)
    return decide(application, APPLICATION_EVENTS, done=_("已记录。"), success_url=page,
                  failure_url=page, template="certification/application.html",
                  **{k: v for k, v in _application_context(application).items() if k != "form"})


@bp.get("/documents/<int:document_id>")
@login_required
def document(document_id: int):
    doc = services.get_document(actor(), document_id)
    return _send_document(doc.stored_name, doc.content_type, doc.original_name)


def _send_document(stored_name: str, content_type: str, original_name: str):
    response = send_from_directory(
        uploads.upload_dir("documents"), stored_name, mimetype=content_type,
        as_attachment=content_type == "application/pdf",
        download_name=original_name or stored_name,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/my/products/<int:product_id>/marks")
@login_required
def claim_mark(product_id: int):
    product = get_editable_product(actor(), product_id)
    form = MarkClaimForm()
    if form.validate_on_submit():
        try:
            claim = marks.claim_mark(actor(), product, form.mark.data, form.evidence_number.data,
                                     form.evidence_valid_until.data, form.document.data)
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("标识申请已提交，等待县级初审。"), "success")
            return redirect(url_for("certification.mark_page", claim_id=claim.id))
    for name, messages in form.errors.items():
        for message in messages:
            flash(f"{getattr(form, name).label.text}：{message}", "error")
    return redirect(url_for("catalog.edit_product", product_id=product.id))


def _mark_context(claim) -> dict:
    return {"claim": claim, "history": history_of(claim)}


@bp.get("/marks/<int:claim_id>")
@login_required
def mark_page(claim_id: int):
    claim = marks.get_mark_claim(actor(), claim_id)
    return render_template("certification/mark.html", form=DecisionForm(), **_mark_context(claim))


MARK_EVENTS = {
    "county_pass": lambda a, c, reason: marks.review_mark_claim(a, c, True, reason),
    "county_return": lambda a, c, reason: marks.review_mark_claim(a, c, False, reason),
    "city_approve": lambda a, c, reason: marks.decide_mark_claim(a, c, True, reason),
    "city_reject": lambda a, c, reason: marks.decide_mark_claim(a, c, False, reason),
    "withdraw": lambda a, c, _reason: marks.withdraw_mark_claim(a, c),
    "revoke": lambda a, c, reason: marks.revoke_mark(a, c, reason),
}


@bp.post("/marks/<int:claim_id>/decide")
@login_required
def decide_mark(claim_id: int):
    claim = marks.get_mark_claim(actor(), claim_id)
    page = url_for("certification.mark_page", claim_id=claim.id)
    return decide(claim, MARK_EVENTS, done=_("已记录。"), success_url=page, failure_url=page,
                  template="certification/mark.html", **_mark_context(claim))


@bp.get("/marks/<int:claim_id>/document")
@login_required
def mark_document(claim_id: int):
    claim = marks.get_mark_claim(actor(), claim_id)
    return _send_document(claim.stored_name, claim.content_type, claim.original_name)


@bp.get("/review")
@login_required
def queue():
    return render_template(
        "certification/queue.html",
        organisations=organisations_awaiting(actor()),
        applications=services.applications_awaiting(actor()),
        mark_claims=marks.mark_claims_awaiting(actor()),
        linkage_changes=linkage_changes_awaiting(actor()),
        buyers=buyers_awaiting(actor()) if can("buyer.verify", actor()) else [],
    )
