from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from marketplace.audit.models import history_of
from marketplace.catalog import services as catalog
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, DecisionForm, show_errors
from marketplace.organisations import services
from marketplace.organisations.forms import OrganisationForm
from marketplace.views_common import actor

bp = Blueprint("organisations", __name__)


@bp.route("/my/organisation", methods=["GET", "POST"])
@login_required
def mine():
    user = actor()
    org = services.organisation_to_edit(user)
    form = OrganisationForm(obj=org)
    if request.method == "GET" and org is not None:
        form.benefit_types.data = [b.value for b in org.benefit_type_list]
    if form.validate_on_submit():
        try:
            if org is None:
                services.create_organisation(user, form.data)
                flash(_("已保存。确认无误后请提交核验。"), "success")
            else:
                services.update_organisation(user, org, form.data)
                flash(_("已保存。"), "success")
        except Invalid as exc:
            show_errors(form, exc)
        else:
            return redirect(url_for("organisations.mine"))
    history = history_of(org) if org is not None else []
    return render_template("organisations/mine.html", form=form, org=org,
                           confirm=ConfirmForm(), history=history)


@bp.post("/my/organisation/submit")
@login_required
def submit():
    user = actor()
    if ConfirmForm().validate_on_submit() and user.organisation is not None:
        services.submit_organisation(user, user.organisation)
        flash(_("已提交，等待县级初审。"), "success")
    return redirect(url_for("organisations.mine"))


@bp.get("/organisations/<int:org_id>")
@login_required
def review_page(org_id: int):
    org = services.get_readable_organisation(actor(), org_id)
    return render_template("organisations/review.html", org=org, form=DecisionForm(),
                           confirm=ConfirmForm(), history=history_of(org))


def _decide(org_id: int, service):
    org = services.get_organisation(org_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            service(actor(), org, bool(form.approve.data), form.reason.data)
        except Invalid as exc:
            show_errors(form, exc)
            return render_template("organisations/review.html", org=org, form=form,
                                   confirm=ConfirmForm(), history=history_of(org)), 400
        flash(_("已记录审核意见。"), "success")
        return redirect(url_for("certification.queue"))
    return redirect(url_for("organisations.review_page", org_id=org.id))


@bp.post("/organisations/<int:org_id>/county-review")
@login_required
def county_review(org_id: int):
    return _decide(org_id, services.review_organisation)


@bp.post("/organisations/<int:org_id>/city-decision")
@login_required
def city_decision(org_id: int):
    return _decide(org_id, services.decide_organisation)


@bp.post("/organisations/<int:org_id>/suspension")
@login_required
def suspension(org_id: int):
    org = services.get_organisation(org_id)
    form = DecisionForm()
    if form.validate_on_submit():
        service = services.reinstate_organisation if form.approve.data else (
            services.suspend_organisation)
        try:
            service(actor(), org, form.reason.data)
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("已更新主体状态。"), "success")
    return redirect(url_for("organisations.review_page", org_id=org.id))


@bp.get("/producers/<int:org_id>")
def public_page(org_id: int):
    org = services.get_public_producer(org_id)
    return render_template("organisations/public.html", org=org,
                           products=catalog.producer_products_on_sale(org))
