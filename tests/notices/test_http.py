"""Mail through the pages and the command line: addresses on accounts, the outbox page, cron."""

from sqlalchemy import select, update

from marketplace.accounts.models import User
from marketplace.clock import now
from marketplace.notices.models import OutboxMail
from marketplace.orders import cart, services
from marketplace.orders.models import SubOrder
from tests.helpers import csrf_token, login, post_form
from tests.orders.conftest import delivery


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_administrator_creates_an_account_with_an_email_address(client, admin, db):
    login(client, "admin")
    refused = post_form(client, "/admin/users/new", {
        "username": "officer9", "display_name": "王审核", "email": "not an address",
        "password": "long-enough-1", "role": "admin", "county_id": ""})
    assert refused.status_code == 200 and "请填写有效的电子邮箱地址" in text(refused)
    assert db.session.scalar(select(User).where(User.username == "officer9")) is None

    done = post_form(client, "/admin/users/new", {
        "username": "officer9", "display_name": "王审核", "email": " wang@example.org ",
        "password": "long-enough-1", "role": "admin", "county_id": ""})
    assert done.status_code == 302
    assert db.session.scalar(select(User.email).where(User.username == "officer9")) == \
        "wang@example.org"


def test_the_buyer_manager_adds_a_member_with_an_optional_email_address(client, market, db):
    login(client, "boss")
    post_form(client, "/my/buyer/members", {"username": "cook", "display_name": "李厨师",
                                            "password": "long-enough-1", "role": "buyer",
                                            "email": "cook@example.org"}, page="/my/buyer")
    post_form(client, "/my/buyer/members", {"username": "cook2", "display_name": "赵厨师",
                                            "password": "long-enough-1", "role": "buyer",
                                            "email": ""}, page="/my/buyer")
    emails = dict(db.session.execute(select(User.username, User.email)
                                     .where(User.username.in_(["cook", "cook2"]))).all())
    assert emails == {"cook": "cook@example.org", "cook2": None}


def test_an_order_placed_on_the_site_mails_a_link_to_the_same_site(client, market, db):
    market.farmer.email = "farmer@example.org"
    db.session.commit()
    login(client, "purchaser")
    post_form(client, f"/cart/add/{market.fentiao.id}", {"quantity": "10"},
              page=f"/products/{market.fentiao.id}")
    from tests.orders.test_http import checkout_data

    assert post_form(client, "/cart/checkout", checkout_data(client, market),
                     page="/cart").status_code == 302
    mail = db.session.scalars(select(OutboxMail)).one()
    sub = db.session.scalars(select(SubOrder)).one()
    assert mail.to_address == "farmer@example.org"
    assert f"http://localhost/sub-orders/{sub.id}" in mail.body
    assert client.get(f"/sub-orders/{sub.id}").status_code == 200  # the link leads somewhere


def test_the_administrator_reads_the_outbox_and_others_may_not(client, market, admin, db):
    market.farmer.email = "farmer@example.org"
    db.session.commit()
    cart.add_to_cart(market.purchaser, market.fentiao, "10")
    order = services.submit_purchase_order(market.purchaser, delivery(market), "k" * 16)

    login(client, "farmer")
    assert client.get("/admin/outbox").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "admin")
    assert "/admin/outbox" in text(client.get("/admin/"))
    page = text(client.get("/admin/outbox"))
    assert "未配置邮件服务器" in page
    assert "farmer@example.org" in page and f"新订单 {order.sub_orders[0].number} 待接单" in page
    assert "待发送 1" in page
    assert client.get("/admin/outbox?state=bogus").status_code == 400
    assert "发件箱是空的" in text(client.get("/admin/outbox?state=sent"))


def test_the_administrator_queues_given_up_mail_again(client, app, market, admin, db):
    market.farmer.email = "farmer@example.org"
    db.session.commit()
    cart.add_to_cart(market.purchaser, market.fentiao, "10")
    services.submit_purchase_order(market.purchaser, delivery(market), "k" * 16)
    db.session.execute(update(OutboxMail).values(attempts=5, gave_up_at=now(),
                                                 last_error="550 No such user"))
    db.session.commit()

    login(client, "admin")
    failed = text(client.get("/admin/outbox?state=failed"))
    assert "550 No such user" in failed and "已放弃 1" in failed
    response = post_form(client, "/admin/outbox/retry", {}, page="/admin/outbox")
    assert response.status_code == 302
    db.session.expire_all()
    mail = db.session.scalars(select(OutboxMail)).one()
    assert (mail.attempts, mail.gave_up_at) == (0, None)


def test_flask_mail_send_from_cron(app, market, db, smtp):
    market.farmer.email = "farmer@example.org"
    market.purchaser.email = "purchaser@example.org"
    db.session.commit()
    cart.add_to_cart(market.purchaser, market.fentiao, "10")
    order = services.submit_purchase_order(market.purchaser, delivery(market), "k" * 16)
    runner = app.test_cli_runner()

    app.config["SMTP_HOST"] = ""
    waiting = runner.invoke(args=["mail", "send"])
    assert waiting.exit_code == 0 and "SMTP_HOST is not set: 1 mails wait" in waiting.output
    assert smtp.received == []

    app.config["SMTP_HOST"] = "127.0.0.1"
    sent = runner.invoke(args=["mail", "send"])
    assert sent.exit_code == 0 and "Sent 1," in sent.output
    assert [m.recipients for m in smtp.received] == [["farmer@example.org"]]

    services.accept_sub_order(market.farmer, order.sub_orders[0])  # mails the purchaser
    smtp.stop()
    down = runner.invoke(args=["mail", "send"])
    assert down.exit_code == 1 and "The SMTP server is failing" in down.output
    assert len(smtp.received) == 1
