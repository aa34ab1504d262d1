from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME

from marketplace.accounts import services
from marketplace.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, show_errors
from marketplace.safe_redirect import same_site_path
from marketplace.views_common import actor, client_address

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
                                         client_address())
        except Invalid as exc:
            show_errors(form, exc)
        else:
            login_user(user, remember=bool(form.remember.data))
            flash(_("欢迎，%(name)s。", name=user.display_name), "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Log out here and on every other device (the session version moves on)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        services.end_sessions(actor())
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
                form.username.data, form.display_name.data, form.password.data,
                client_address(),
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            login_user(user)
            flash(_("注册成功。下一步：填写您的经营主体资料。"), "success")
            return redirect(url_for("organisations.mine"))
    return render_template("accounts/register.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = services.change_password(actor(), form.current_password.data,
                                            form.password.data, client_address())
        except Invalid as exc:
            show_errors(form, exc)
        else:
            # This session goes on under the new version; a remember cookie is renewed too.
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies
            login_user(user, remember=remembered)
            flash(_("密码已修改，其他设备上的登录已退出。"), "success")
            return redirect(url_for("main.home"))
    return render_template("accounts/password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    reset = services.find_password_reset(token)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("新密码已设置，请用它登录。"), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form, reset=reset)
