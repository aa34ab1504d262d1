from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.accounts import services
from marketplace.accounts.forms import LoginForm, RegisterForm
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, show_errors
from marketplace.safe_redirect import same_site_path

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc:
        return same_site_path(target) or url_for("main.home")
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data,
                                         request.remote_addr or "unknown")
        except Invalid as exc:
            show_errors(form, exc)
        else:
            login_user(user)
            flash(_("欢迎，%(name)s。", name=user.display_name), "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        logout_user()
    return redirect(url_for("main.home"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_producer(
                form.username.data, form.display_name.data, form.password.data
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            login_user(user)
            flash(_("注册成功。下一步：填写您的经营主体资料。"), "success")
            return redirect(url_for("organisations.mine"))
    return render_template("accounts/register.html", form=form)
