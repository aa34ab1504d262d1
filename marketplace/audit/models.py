"""The append-only record of every decision: who, when, what, why (谁审核谁负责)."""

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from marketplace.clock import now
from marketplace.extensions import Model, db


class AuditEvent(Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column()
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")

    actor = relationship("User")

    __table_args__ = (db.Index("ix_audit_subject", "subject_type", "subject_id"),)


# The database itself refuses to change or delete an audit row, whatever code runs against
# it. The same statements are in the migration that added them.
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
]
POSTGRESQL_APPEND_ONLY = [
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
]
for _statement in SQLITE_APPEND_ONLY:
    event.listen(AuditEvent.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRESQL_APPEND_ONLY:
    event.listen(AuditEvent.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise RuntimeError("audit events are append-only")


def record(actor, action: str, subject, *, reason: str = "", from_status=None, to_status=None):
    """Append one audit event about `subject` (flushed with the caller's transaction)."""
    if subject.id is None:
        db.session.flush()
    event_row = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "display_name", "") or getattr(actor, "username", "system"),
        action=action,
        subject_type=subject.__tablename__,
        subject_id=subject.id,
        from_status=str(from_status) if from_status is not None else None,
        to_status=str(to_status) if to_status is not None else None,
        reason=reason or "",
    )
    db.session.add(event_row)
    return event_row


def history_of(subject) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            db.select(AuditEvent)
            .where(
                AuditEvent.subject_type == subject.__tablename__,
                AuditEvent.subject_id == subject.id,
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
