"""Tell people what waits for them: notices written in the same transaction as the change."""

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from marketplace.accounts.models import Role, User
from marketplace.clock import now
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.notices.models import Notice
from marketplace.uow import use_case

BUYER_ROLES = (Role.BUYER, Role.BUYER_APPROVER)


def _members(org_id: int, roles) -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.organisation_id == org_id, User.role.in_(roles), User.active.is_(True))))


def notify(users, text: str, subject=None) -> None:
    """Add a notice for each user (inside the caller's transaction)."""
    for user in users:
        db.session.add(Notice(user_id=user.id, text=text[:300],
                              subject_type=getattr(subject, "__tablename__", ""),
                              subject_id=getattr(subject, "id", None)))


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
