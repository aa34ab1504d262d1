"""Tell people what waits for them: notices written in the same transaction as the change.

Each notice is also queued as a mail for a user who has an email address (see outbox.py):
same transaction, so a change that rolls back leaves neither notice nor mail.
"""

from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from marketplace.accounts.models import Role, User
from marketplace.clock import now
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.notices.models import Notice
from marketplace.notices.outbox import message_for, queue_mail
from marketplace.uow import use_case

BUYER_ROLES = (Role.BUYER, Role.BUYER_APPROVER)


def _members(org_id: int, roles) -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.organisation_id == org_id, User.role.in_(roles), User.active.is_(True))))


#: Where a notice about a subject links to: table name -> (endpoint, URL parameter).
SUBJECT_PAGES = {
    "purchase_orders": ("orders.order_page", "order_id"),
    "sub_orders": ("orders.sub_order_page", "sub_id"),
}


def subject_link(subject_type: str, subject_id: int | None) -> str:
    """The full address of the subject's page for a mail ("" when it cannot be known).

    SITE_URL when set (behind a proxy the requested host may be an internal one), else
    the host of the request that caused the notice.
    """
    if subject_type not in SUBJECT_PAGES or subject_id is None:
        return ""
    endpoint, parameter = SUBJECT_PAGES[subject_type]
    site = current_app.config["SITE_URL"].rstrip("/")
    if site:
        return site + current_app.url_map.bind("localhost").build(endpoint, {parameter: subject_id})
    if has_request_context():
        values: dict[str, Any] = {parameter: subject_id}
        return url_for(endpoint, _external=True, **values)
    return ""


def notify(users, text: str, subject=None) -> None:
    """Add a notice for each user, and a mail for those with an address (caller's transaction)."""
    subject_type = getattr(subject, "__tablename__", "")
    subject_id = getattr(subject, "id", None)
    text = text[:300]
    link = None
    for user in users:
        db.session.add(Notice(user_id=user.id, text=text, subject_type=subject_type,
                              subject_id=subject_id))
        if user.email:
            if link is None:
                link = subject_link(subject_type, subject_id)
            queue_mail(user, *message_for(user, text, link))


def notify_producer(sub, text: str) -> None:
    notify(_members(sub.producer_org_id, (Role.PRODUCER,)), text, sub)


def notify_buyers(order, text: str, *, approvers_only: bool = False) -> None:
    roles = (Role.BUYER_APPROVER,) if approvers_only else BUYER_ROLES
    notify(_members(order.buyer_org_id, roles), text, order)


def unread_count(user) -> int:
    return db.session.scalar(select(func.count(Notice.id)).where(
        Notice.user_id == user.id, Notice.read_at.is_(None))) or 0


def inbox(user, limit: int = 100) -> list[Notice]:
    return list(db.session.scalars(select(Notice).where(Notice.user_id == user.id)
                                   .order_by(Notice.id.desc()).limit(limit)))


@use_case(None)
def mark_read(actor, notice_id: int | None = None) -> None:
    """Mark one notice (or all of them) as read; only the reader's own."""
    statement = update(Notice).where(Notice.user_id == actor.id, Notice.read_at.is_(None))
    if notice_id is not None:
        if db.session.get(Notice, notice_id) is None:
            raise NotFound(_("通知不存在。"))
        statement = statement.where(Notice.id == notice_id)
    db.session.execute(statement.values(read_at=now()))
