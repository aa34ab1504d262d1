from flask import Blueprint, redirect, render_template, url_for
from flask_login import login_required

from marketplace.forms import ConfirmForm
from marketplace.notices import services
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
