from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from marketplace.buyers import services
from marketplace.buyers.forms import AddressForm, BuyerRegistrationForm, MemberForm, SettingsForm
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, show_errors
from marketplace.money import fen_to_yuan
from marketplace.views_common import actor, client_address

bp = Blueprint("buyers", __name__)


@bp.route("/register/buyer", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = BuyerRegistrationForm()
    if form.validate_on_submit():
        try:
            manager = services.register_buyer(form.data, client_address())
        except Invalid as exc:
            show_errors(form, exc)
        else:
            login_user(manager)
            flash(_("注册已提交，市级管理员核验后即可下单。"), "success")
            return redirect(url_for("buyers.mine"))
    return render_template("buyers/register.html", form=form)


def _settings_form(org) -> SettingsForm:
    profile = org.buyer_profile
    return SettingsForm(
        formdata=None, invoice_title=profile.invoice_title, tax_number=profile.tax_number,
        approval_threshold_yuan=str(fen_to_yuan(profile.approval_threshold_fen))
        if profile.approval_threshold_fen is not None else "",
        annual_food_budget_yuan=str(fen_to_yuan(profile.annual_food_budget_fen)),
        reserved_share_percent=f"{profile.reserved_share_percent.normalize():f}",
    )


def _render(org, status=200, **forms):
    user = actor()
    manages = org.buyer_profile and org.buyer_profile.manager_id == user.id
    return render_template(
        "buyers/mine.html", org=org, manages=manages,
        members=services.members(user, org) if manages else [],
        addresses=services.active_addresses(org),
        settings_form=forms.get("settings_form") or _settings_form(org),
        address_form=forms.get("address_form") or AddressForm(formdata=None),
        member_form=forms.get("member_form") or MemberForm(formdata=None),
        confirm=ConfirmForm(),
    ), status


@bp.get("/my/buyer")
@login_required
def mine():
    return _render(services.own_buyer_organisation(actor()))


def _post(form, call, key: str, done: str):
    org = services.own_buyer_organisation(actor())
    if form.validate_on_submit():
        try:
            call(actor(), org, form.data)
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(done, "success")
            return redirect(url_for("buyers.mine"))
    return _render(org, 400, **{key: form})


@bp.post("/my/buyer/settings")
@login_required
def settings():
    return _post(SettingsForm(), services.update_settings, "settings_form", _("设置已保存。"))


@bp.post("/my/buyer/addresses")
@login_required
def add_address():
    return _post(AddressForm(), services.add_address, "address_form", _("地址已添加。"))


@bp.post("/my/buyer/members")
@login_required
def add_member():
    return _post(MemberForm(), services.add_member, "member_form", _("成员已添加。"))


@bp.post("/my/buyer/addresses/<int:address_id>/remove")
@login_required
def remove_address(address_id: int):
    org = services.own_buyer_organisation(actor())
    if ConfirmForm().validate_on_submit():
        services.remove_address(actor(), org, address_id)
        flash(_("地址已删除。"), "success")
    return redirect(url_for("buyers.mine"))


@bp.post("/my/buyer/members/<int:user_id>/remove")
@login_required
def remove_member(user_id: int):
    org = services.own_buyer_organisation(actor())
    if ConfirmForm().validate_on_submit():
        services.remove_member(actor(), org, user_id)
        flash(_("成员已移除。"), "success")
    return redirect(url_for("buyers.mine"))
