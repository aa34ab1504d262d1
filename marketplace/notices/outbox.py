"""Mail from an outbox: rows written with the change that caused them, sent by a separate job.

`queue_mail` adds a row inside the caller's transaction, so a rolled-back use case leaves
no mail behind. `send_outbox` (run by `flask mail send`, e.g. every minute from cron) drains
the outbox: it claims each due row with a guarded UPDATE and commits the claim before talking
to the server, so two drains running at once never send the same mail twice; it records a
failure with its error and the time of the next try, and gives up after MAIL_MAX_ATTEMPTS.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, func, or_, select, update

from marketplace.clock import now
from marketplace.extensions import db
from marketplace.notices.mailer import MailError, SmtpConnection, SmtpSettings
from marketplace.notices.models import OutboxMail
from marketplace.permissions import authorize
from marketplace.uow import in_unit_of_work, unit_of_work, use_case

#: How long a claimed mail is left to its drain before another may take it (a drain that
#: died mid-send); far longer than one SMTP conversation can take.
LEASE = timedelta(minutes=15)
BATCH = 200
STATES = ("waiting", "sent", "failed")


def queue_mail(user, subject: str, body: str) -> None:
    """Add a mail for `user` to the outbox, inside the caller's transaction."""
    db.session.add(OutboxMail(user_id=user.id, to_address=user.email,
                              subject=" ".join(subject.split())[:300], body=body))


def smtp_configured() -> bool:
    return SmtpSettings.from_config(current_app.config) is not None


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    taken: int = 0  # due when this run started, but claimed by another run first
    configured: bool = True
    stopped: str = ""  # the server error that ended the run early, if any


def _due(at):
    return (OutboxMail.sent_at.is_(None), OutboxMail.gave_up_at.is_(None),
            OutboxMail.next_attempt_at <= at,
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < at))


@dataclass(frozen=True)
class Claimed:
    id: int
    to_address: str
    subject: str
    body: str
    attempts: int


def _claim(mail_id: int, token: str) -> Claimed | None:
    """Take the mail for this drain if it is still due; None when another drain has it.

    The claim commits before the mail is sent, and nothing stays open while we talk to
    the server.
    """
    with unit_of_work():
        at = now()
        claimed = cast(CursorResult, db.session.execute(
            update(OutboxMail).where(OutboxMail.id == mail_id, *_due(at))
            .values(claimed_until=at + LEASE, claimed_by=token, attempts=OutboxMail.attempts + 1)
            .execution_options(synchronize_session=False))).rowcount
        if claimed != 1:
            return None
        row = db.session.execute(select(OutboxMail.to_address, OutboxMail.subject,
                                        OutboxMail.body, OutboxMail.attempts)
                                 .where(OutboxMail.id == mail_id)).one()
    return Claimed(mail_id, *row)


def _settle(mail: Claimed, token: str, error: str | None) -> str:
    """Record the outcome of our claim: sent, failed (try again later) or given up."""
    config = current_app.config
    at = now()
    values: dict[str, Any] = {"claimed_until": None, "claimed_by": None}
    if error is None:
        outcome, values["sent_at"], values["last_error"] = "sent", at, ""
    elif mail.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        outcome, values["gave_up_at"], values["last_error"] = "gave_up", at, error
    else:
        delay = timedelta(minutes=config["MAIL_RETRY_MINUTES"] * 2 ** (mail.attempts - 1))
        outcome, values["next_attempt_at"], values["last_error"] = "failed", at + delay, error
    with unit_of_work():
        db.session.execute(update(OutboxMail).where(OutboxMail.id == mail.id,
                                                    OutboxMail.claimed_by == token)
                           .values(**values).execution_options(synchronize_session=False))
    return outcome


def send_outbox(limit: int = BATCH) -> DrainReport:
    """Send the due mails (at most `limit`) over SMTP; safe to run in several processes."""
    assert not in_unit_of_work(), "the outbox is drained outside any use case"
    settings = SmtpSettings.from_config(current_app.config)
    if settings is None:
        return DrainReport(configured=False)
    report = DrainReport()
    token = secrets.token_hex(16)
    candidates = db.session.scalars(select(OutboxMail.id).where(*_due(now()))
                                    .order_by(OutboxMail.id).limit(limit)).all()
    db.session.rollback()  # end the read so the claims below see what others committed
    with SmtpConnection(settings) as connection:
        for mail_id in candidates:
            mail = _claim(mail_id, token)
            if mail is None:
                report.taken += 1
                continue
            error = None
            try:
                connection.send(mail.to_address, mail.subject, mail.body)
            except MailError as exc:
                error = exc.text
                if not exc.per_message:
                    report.stopped = exc.text
            outcome = _settle(mail, token, error)
            if outcome == "sent":
                report.sent += 1
            elif outcome == "failed":
                report.failed += 1
            else:
                report.gave_up += 1
            if report.stopped:
                break  # the server itself is failing: leave the others their attempts
    return report


def outbox_counts() -> dict[str, int]:
    waiting = db.session.scalar(select(func.count(OutboxMail.id)).where(
        OutboxMail.sent_at.is_(None), OutboxMail.gave_up_at.is_(None)))
    failed = db.session.scalar(select(func.count(OutboxMail.id)).where(
        OutboxMail.sent_at.is_(None), OutboxMail.gave_up_at.is_not(None)))
    return {"waiting": waiting or 0, "failed": failed or 0}


@dataclass
class OutboxView:
    page: object  # a Flask-SQLAlchemy pagination of OutboxMail
    counts: dict[str, int]
    configured: bool


def outbox_page(actor, state: str | None = None, page: int = 1) -> OutboxView:
    """The outbox for the administrator, newest first, optionally of one state."""
    authorize("mail.outbox", actor)
    query = select(OutboxMail)
    if state == "sent":
        query = query.where(OutboxMail.sent_at.is_not(None))
    elif state == "failed":
        query = query.where(OutboxMail.sent_at.is_(None), OutboxMail.gave_up_at.is_not(None))
    elif state == "waiting":
        query = query.where(OutboxMail.sent_at.is_(None), OutboxMail.gave_up_at.is_(None))
    rows = db.paginate(query.order_by(OutboxMail.id.desc()), page=page, per_page=50,
                       error_out=False)
    return OutboxView(rows, outbox_counts(), smtp_configured())


@use_case("mail.outbox")
def retry_failed_mail(actor) -> int:
    """Give every mail that was given up a fresh set of tries (after the server is fixed)."""
    return cast(CursorResult, db.session.execute(
        update(OutboxMail).where(OutboxMail.sent_at.is_(None), OutboxMail.gave_up_at.is_not(None))
        .values(gave_up_at=None, attempts=0, next_attempt_at=now())
        .execution_options(synchronize_session=False))).rowcount


def message_for(user, text: str, link: str) -> tuple[str, str]:
    """The subject and plain-text body of the mail that carries a notice."""
    lines = [_("%(name)s，您好：", name=user.display_name), "", text, ""]
    lines.append(_("查看详情：%(link)s", link=link) if link else _("请登录许农优品查看详情。"))
    lines += ["", "—— " + _("许农优品（许昌市消费帮扶平台）"),
              _("此邮件由系统自动发送，请勿直接回复。")]
    return _("【许农优品】%(text)s", text=text), "\n".join(lines)
