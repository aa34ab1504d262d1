from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from marketplace.audit.models import history_of
from marketplace.buyers.services import decide_buyer
from marketplace.catalog import services as catalog
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, DecisionForm, show_errors
from marketplace.orders.services import producer_rating
from marketplace.organisations import services
from marketplace.organisations.forms import OrganisationForm
from marketplace.views_common import actor
from marketplace.views_common import decide as decide_view

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
                proposal = services.update_organisation(user, org, form.data)
                flash(_("已保存。联农带农信息的变更已提交县级审核，通过后公开。") if proposal
                      else _("已保存。"), "success")
        except Invalid as exc:
            show_errors(form, exc)
        else:
            return redirect(url_for("organisations.mine"))
    history = history_of(org) if org is not None else []
    return render_template("organisations/mine.html", form=form, org=org,
                           confirm=ConfirmForm(), history=history,
                           pending_linkage=services.pending_linkage_change(org) if org else None)


@bp.post("/my/organisation/submit")
@login_required
def submit():
    user = actor()
    if ConfirmForm().validate_on_submit():
        services.submit_organisation(user, services.own_organisation(user))
        flash(_("已提交，等待县级初审。"), "success")
    return redirect(url_for("organisations.mine"))


def _review_context(org) -> dict:
    return {"org": org, "confirm": ConfirmForm(), "history": history_of(org)}


@bp.get("/organisations/<int:org_id>")
@login_required
def review_page(org_id: int):
    org = services.get_readable_organisation(actor(), org_id)
    return render_template("organisations/review.html", form=DecisionForm(),
                           **_review_context(org))


ORGANISATION_EVENTS = {
    "county_pass": lambda a, o, reason: services.review_organisation(a, o, True, reason),
    "county_return": lambda a, o, reason: services.review_organisation(a, o, False, reason),
    "city_verify": lambda a, o, reason: services.decide_organisation(a, o, True, reason),
    "city_return": lambda a, o, reason: services.decide_organisation(a, o, False, reason),
    "buyer_verify": lambda a, o, reason: decide_buyer(a, o, True, reason),
    "buyer_return": lambda a, o, reason: decide_buyer(a, o, False, reason),
    "suspend": services.suspend_organisation,
    "reinstate": services.reinstate_organisation,
}


@bp.post("/organisations/<int:org_id>/decide")
@login_required
def decide(org_id: int):
    org = services.get_readable_organisation(actor(), org_id)
    page = url_for("organisations.review_page", org_id=org.id)
    return decide_view(org, ORGANISATION_EVENTS, done=_("已记录审核意见。"), success_url=page,
                       failure_url=page, template="organisations/review.html",
                       **_review_context(org))


def _linkage_context(change) -> dict:
    return {"change": change, "history": history_of(change)}


@bp.get("/linkage-changes/<int:change_id>")
@login_required
def linkage_page(change_id: int):
    change = services.get_linkage_change(actor(), change_id)
    return render_template("organisations/linkage.html", form=DecisionForm(),
                           **_linkage_context(change))


LINKAGE_EVENTS = {
    "county_approve": lambda a, c, reason: services.review_linkage_change(a, c, True, reason),
    "county_return": lambda a, c, reason: services.review_linkage_change(a, c, False, reason),
    "withdraw": lambda a, c, _reason: services.withdraw_linkage_change(a, c),
}


@bp.post("/linkage-changes/<int:change_id>/decide")
@login_required
def decide_linkage(change_id: int):
    change = services.get_linkage_change(actor(), change_id)
    page = url_for("organisations.linkage_page", change_id=change.id)
    return decide_view(change, LINKAGE_EVENTS, done=_("已记录。"), success_url=page,
                       failure_url=page, template="organisations/linkage.html",
                       **_linkage_context(change))


@bp.get("/producers/<int:org_id>")
def public_page(org_id: int):
    org = services.get_public_producer(org_id)
    average, count = producer_rating(org.id)
    return render_template("organisations/public.html", org=org,
                           products=catalog.producer_products_on_sale(org),
                           rating_average=average, rating_count=count)
