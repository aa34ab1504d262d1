"""Small helpers the blueprints share."""

from dataclasses import dataclass

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from marketplace.errors import Invalid
from marketplace.forms import DecisionForm, show_errors


def client_address() -> str:
    """The client's address: the peer, or what the trusted proxies said (PROXY_COUNT)."""
    from flask import request

    return request.remote_addr or "unknown"


def actor():
    """The logged-in user as a plain object for services (not the request proxy)."""
    return current_user._get_current_object()


@dataclass(frozen=True)
class Action:
    event: str
    label: str
    reason_required: bool


def actions_for(obj, *events) -> list[Action]:
    """The edges of `obj` the current user may take now (all edges when none are named)."""
    user = actor()
    names = events or tuple(obj.EDGES)
    return [Action(e, str(obj.EDGES[e].label), obj.EDGES[e].reason_required)
            for e in names if obj.may(e, user)]


REVIEW_EVENTS = {"county_pass", "county_return", "county_approve", "city_approve",
                 "city_reject", "city_verify", "city_return"}


def decide(obj, handlers: dict, *, done: str, success_url: str, failure_url: str,
           template: str, **context):
    """Handle a DecisionForm post: call the handler of the pressed event with the reason.

    `handlers` maps event -> function(actor, obj, reason). A refused input re-renders the
    page with what was typed (400); success flashes `done` and redirects: a reviewer back to
    the review queue, anyone else to `success_url`.
    """
    form = DecisionForm()
    if not form.validate_on_submit():
        return redirect(failure_url)
    handler = handlers.get(form.event.data or "")
    if handler is None:
        raise Invalid(_unknown_action())
    try:
        handler(actor(), obj, form.reason.data or "")
    except Invalid as exc:
        show_errors(form, exc)
        return render_template(template, form=form, **context), 400
    flash(done, "success")
    if form.event.data in REVIEW_EVENTS:
        return redirect(url_for("certification.queue"))
    return redirect(success_url)


def _unknown_action() -> str:
    from flask_babel import gettext as _

    return _("未知的操作。")
