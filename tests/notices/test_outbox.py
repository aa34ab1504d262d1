"""Notices reach people by mail: queued with the change, sent over SMTP by a separate drain."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from marketplace.clock import now
from marketplace.extensions import db as _db
from marketplace.notices.models import Notice, OutboxMail
from marketplace.notices.outbox import send_outbox
from marketplace.orders import cart, services
from marketplace.uow import unit_of_work
from tests.notices.smtp_server import (
    Inbox,
    SmtpServer,
    password_check,
    self_signed_certificate,
    server_tls_context,
)
from tests.orders.conftest import delivery


def give_email(db, *users):
    for user in users:
        user.email = f"{user.username}@example.org"
    db.session.commit()


def place_order(market, fentiao="10", honey="4"):
    cart.add_to_cart(market.purchaser, market.fentiao, fentiao)
    if honey:
        cart.add_to_cart(market.purchaser, market.honey, honey)
    return services.submit_purchase_order(market.purchaser, delivery(market), "k" * 16)


def mails(db) -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_a_new_order_reaches_the_producer_by_mail_in_chinese(app, db, market, smtp):
    give_email(db, market.farmer)  # the beekeeper has no address: inbox only
    app.config["SITE_URL"] = "https://xnyp.example.org/"
    order = place_order(market)
    sub = order.sub_orders[0]

    assert [(m.to_address, m.sent_at) for m in mails(db)] == [("farmer@example.org", None)]
    report = send_outbox()

    assert (report.sent, report.failed) == (1, 0)
    [mail] = smtp.received
    assert mail.recipients == ["farmer@example.org"]
    assert mail.subject == f"【许农优品】新订单 {sub.number} 待接单"
    assert "farmer 姓名，您好" in mail.body
    assert f"https://xnyp.example.org/sub-orders/{sub.id}" in mail.body
    assert mail.message["From"] == "许农优品 <noreply@xnyp.example.org>"
    [row] = mails(db)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == ""
    # Sent is sent: the next run sends nothing again.
    assert send_outbox().sent == 0 and len(smtp.received) == 1


def test_a_user_without_an_address_gets_the_notice_but_no_mail(db, market):
    place_order(market)
    notices = db.session.scalar(select(func.count(Notice.id)))
    assert notices == 2 and mails(db) == []


def test_a_rolled_back_change_leaves_neither_notice_nor_mail(db, market, smtp):
    give_email(db, market.purchaser, market.approver)
    order = place_order(market, honey="")
    sub = order.sub_orders[0]
    before = db.session.scalar(select(func.count(Notice.id)))

    with pytest.raises(RuntimeError), unit_of_work():
        services.accept_sub_order(market.farmer, sub)  # joins the caller's transaction
        assert len(mails(db)) == 2  # queued for both buyer members, not yet committed
        raise RuntimeError("the caller fails after the notice was written")

    assert mails(db) == []
    assert db.session.scalar(select(func.count(Notice.id))) == before
    assert send_outbox().sent == 0 and smtp.received == []
    services.accept_sub_order(market.farmer, sub)  # done for real this time
    assert send_outbox().sent == 2
    assert sorted(r for m in smtp.received for r in m.recipients) == [
        "boss@example.org", "purchaser@example.org"]


def test_a_refused_mail_stays_unsent_with_the_error_and_is_tried_again_later(
        app, db, market, smtp):
    give_email(db, market.farmer)
    place_order(market, honey="")
    smtp.inbox.refuse = "550 5.1.1 Mailbox unavailable"

    report = send_outbox()

    assert (report.sent, report.failed, report.stopped) == (0, 1, "")
    [row] = mails(db)
    assert row.sent_at is None and row.gave_up_at is None and row.attempts == 1
    assert "550" in row.last_error and "Mailbox unavailable" in row.last_error
    assert row.next_attempt_at >= now() + timedelta(minutes=app.config["MAIL_RETRY_MINUTES"] - 1)
    # Not due yet: an immediate second run leaves it alone.
    assert send_outbox().failed == 0 and mails(db)[0].attempts == 1

    smtp.inbox.refuse = ""
    db.session.execute(update(OutboxMail).values(next_attempt_at=now()))  # the wait is over
    db.session.commit()
    assert send_outbox().sent == 1
    [row] = mails(db)
    assert row.sent_at is not None and row.attempts == 2 and row.last_error == ""
    assert [m.recipients for m in smtp.received] == [["farmer@example.org"]]


def test_a_server_that_is_down_stops_the_run_and_spares_the_other_mails(app, db, market, smtp):
    give_email(db, market.farmer, market.beekeeper)
    place_order(market)
    smtp.stop()  # nothing listens on the port any more

    report = send_outbox()

    assert report.stopped and report.failed == 1
    first, second = mails(db)
    assert first.attempts == 1 and first.sent_at is None and first.last_error
    assert second.attempts == 0 and second.last_error == ""  # not tried: the server was down


def test_mail_is_given_up_after_the_last_attempt_and_the_administrator_can_queue_it_again(
        app, db, market, smtp, admin):
    from marketplace.notices.outbox import retry_failed_mail

    app.config.update(MAIL_MAX_ATTEMPTS=3, MAIL_RETRY_MINUTES=0)
    give_email(db, market.farmer)
    place_order(market, honey="")
    smtp.inbox.refuse = "550 No such user"

    results = [send_outbox() for _ in range(4)]

    assert [(r.failed, r.gave_up) for r in results] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    [row] = mails(db)
    assert row.attempts == 3 and row.gave_up_at is not None and row.sent_at is None
    smtp.inbox.refuse = ""
    assert retry_failed_mail(admin) == 1
    assert send_outbox().sent == 1 and len(smtp.received) == 1


def test_two_drains_at_once_send_every_mail_exactly_once(app, db, places):
    from tests import factories

    users = [factories.make_user(f"user{i}", role="producer") for i in range(12)]
    for user in users:
        user.email = f"{user.username}@example.org"
    with unit_of_work():
        from marketplace.notices.services import notify

        notify(users, "认定证书即将到期")
    # The first mail the server sees is held until the second drain has connected too, so
    # both drains are inside the outbox at the same moment, claiming the same rows.
    server = SmtpServer(Inbox(hold_first_until_connections=2))
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_STARTTLS=False)
    reports, errors = [], []

    def drain():
        try:
            with app.app_context():
                reports.append(send_outbox())
                _db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    server.stop()

    assert errors == []
    delivered = sorted(r for m in server.received for r in m.recipients)
    assert delivered == sorted(u.email for u in users)  # each once, none lost
    assert sorted(r.sent for r in reports)[0] >= 1 and sum(r.sent for r in reports) == 12
    assert sum(r.taken for r in reports) >= 1  # they did collide on rows, and one won each
    assert {m.connection for m in server.received} == {1, 2}
    assert all(m.sent_at is not None and m.attempts == 1 for m in mails(db))


def test_starttls_and_login_are_used_when_configured(app, db, market, tmp_path, monkeypatch):
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # trust our own certificate, nothing else
    server = SmtpServer(tls_context=server_tls_context(cert, key), require_starttls=True,
                        authenticator=password_check("xnyp", "s3cret"), auth_required=True)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_STARTTLS=True,
                      SMTP_USER="xnyp", SMTP_PASSWORD="wrong")
    give_email(db, market.farmer)
    place_order(market, honey="")
    try:
        refused = send_outbox()
        assert refused.stopped.startswith("535") and server.received == []
        app.config["SMTP_PASSWORD"] = "s3cret"
        _db.session.execute(update(OutboxMail).values(next_attempt_at=now()))
        _db.session.commit()
        assert send_outbox().sent == 1
    finally:
        server.stop()
    [mail] = server.received
    assert mail.recipients == ["farmer@example.org"] and mail.sender == "xnyp"


def test_tls_from_the_first_byte(app, db, market, tmp_path, monkeypatch):
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    server = SmtpServer(ssl_context=server_tls_context(cert, key))
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_SSL=True,
                      SMTP_STARTTLS=True, SMTP_USER="", SMTP_FROM="noreply@xnyp.example.org")
    give_email(db, market.farmer)
    place_order(market, honey="")
    try:
        assert send_outbox().sent == 1
    finally:
        server.stop()
    assert server.received[0].subject.startswith("【许农优品】新订单")


def test_without_smtp_the_mail_waits_in_the_outbox(app, db, market):
    give_email(db, market.farmer)
    place_order(market, honey="")
    report = send_outbox()
    assert not report.configured and report.sent == 0
    [row] = mails(db)
    assert row.attempts == 0 and row.sent_at is None
