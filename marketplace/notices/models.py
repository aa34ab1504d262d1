"""What waits for someone: an inbox of notices per user."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.clock import now
from marketplace.extensions import Model, db


class Notice(Model):
    __tablename__ = "notices"
    __table_args__ = (db.Index("ix_notices_inbox", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(String(300))
    # What the notice is about, for its link: ("purchase_orders" | "sub_orders", id).
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=now)
    read_at: Mapped[datetime | None] = mapped_column()


class OutboxMail(Model):
    """A mail waiting to be sent, written in the same transaction as the notice it carries.

    `flask mail send` claims a row (a guarded UPDATE sets claimed_until), sends it, and marks
    it sent; a failure records the error and the time of the next try; after the last try
    `gave_up_at` is set. So a rolled-back change sends nothing and a mail goes out once.
    """

    __tablename__ = "outbox_mails"
    __table_args__ = (db.Index("ix_outbox_mails_due", "sent_at", "gave_up_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now)
    claimed_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    sent_at: Mapped[datetime | None] = mapped_column()
    gave_up_at: Mapped[datetime | None] = mapped_column()

    @property
    def state(self) -> str:
        if self.sent_at is not None:
            return "sent"
        return "failed" if self.gave_up_at is not None else "waiting"
