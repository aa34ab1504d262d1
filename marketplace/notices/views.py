from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required

from marketplace.forms import ConfirmForm
from marketplace.notices import outbox as outbox_mail
from marketplace.notices import services
from marketplace.params import choice_arg, page_arg
from marketplace.views_common import actor

bp = Blueprint("notices", __name__)


@bp.get("/inbox")
@login_required
def inbox():
    return render_template("notices/inbox.html", notices=services.inbox(actor()),
                           confirm=ConfirmForm())


@bp.post("/inbox/read")
@login_required
def read_all():
    if ConfirmForm().validate_on_submit():
        services.mark_read(actor())
    return redirect(url_for("notices.inbox"))


@bp.post("/inbox/<int:notice_id>/read")
@login_required
def read_one(notice_id: int):
    if ConfirmForm().validate_on_submit():
        services.mark_read(actor(), notice_id)
    return redirect(url_for("notices.inbox"))


@bp.get("/admin/outbox")
@login_required
def outbox():
    state = choice_arg("state", set(outbox_mail.STATES))
    return render_template("notices/outbox.html", state=state, states=outbox_mail.STATES,
                           view=outbox_mail.outbox_page(actor(), state, page_arg()),
                           confirm=ConfirmForm())


@bp.post("/admin/outbox/retry")
@login_required
def retry_outbox():
    if ConfirmForm().validate_on_submit():
        count = outbox_mail.retry_failed_mail(actor())
        flash(_("%(n)s 封邮件已重新排队。", n=count), "success")
    return redirect(url_for("notices.outbox"))
