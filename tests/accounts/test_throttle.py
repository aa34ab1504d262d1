"""Login and registration throttles, each limit tried at its edge: the limit is accepted,
one more is refused. Time passing is simulated by moving the recorded attempts back."""

from datetime import timedelta

import pytest
from sqlalchemy import func

from marketplace.accounts import models, services
from marketplace.accounts.models import LoginAttempt, User
from marketplace.errors import Invalid
from tests.accounts.conftest import Browser
from tests.factories import PASSWORD, make_user, seed_places

WRONG = "用户名或密码错误"
WAIT = "登录失败次数过多"


def refusal(username="alice", password="wrong-guess", ip="5.6.7.8") -> str:  # noqa: S107
    with pytest.raises(Invalid) as exc:
        services.authenticate(username, password, ip)
    return exc.value.message


def checks(db) -> int:
    """Password checks made so far (each is recorded before it is made)."""
    return db.session.scalar(db.select(func.count(LoginAttempt.id)))


def pass_time(db, model, seconds):
    for row in db.session.scalars(db.select(model)):
        row.at -= timedelta(seconds=seconds)
    db.session.commit()


@pytest.fixture
def alice(app, places):
    app.config.update(LOGIN_FREE_FAILURES=3, LOGIN_DELAY_SECONDS=60,
                      LOGIN_MAX_DELAY_SECONDS=240)
    return make_user("alice", role="producer")


def test_delays_double_after_the_free_failures_up_to_the_cap(app):
    app.config.update(LOGIN_FREE_FAILURES=3, LOGIN_DELAY_SECONDS=60,
                      LOGIN_MAX_DELAY_SECONDS=240)
    assert [services.login_delay(n) for n in range(8)] == [0, 0, 0, 60, 120, 240, 240, 240]


def test_pair_limit_at_its_edge_then_growing_waits(db, alice):
    for _ in range(3):
        assert WRONG in refusal()  # up to the limit: each password is checked
    assert WAIT in refusal() and WAIT in refusal(password=PASSWORD)  # limit + 1: waits
    assert checks(db) == 3

    pass_time(db, LoginAttempt, 50)
    assert "10 秒后再试" in refusal()  # 60 s after the last failure: 10 s to go
    pass_time(db, LoginAttempt, 15)
    assert WRONG in refusal()  # the 4th failure: the next wait doubles to 120 s
    pass_time(db, LoginAttempt, 65)
    assert WAIT in refusal()
    pass_time(db, LoginAttempt, 60)
    assert WRONG in refusal()  # 5th failure: 240 s, the cap
    pass_time(db, LoginAttempt, 245)
    assert WRONG in refusal()  # 6th failure: still 240 s, never more
    pass_time(db, LoginAttempt, 245)
    assert services.authenticate("alice", PASSWORD, "5.6.7.8").username == "alice"
    assert checks(db) == 7


def test_a_success_starts_the_pair_afresh(db, alice):
    for _ in range(2):
        refusal()
    services.authenticate("alice", PASSWORD, "5.6.7.8")
    for _ in range(3):
        assert WRONG in refusal()
    assert WAIT in refusal()


def test_the_right_password_from_an_address_that_was_not_failing_always_works(db, alice):
    for _ in range(10):
        refusal(ip="5.6.7.8")
    assert services.authenticate("alice", PASSWORD, "9.9.9.9").username == "alice"


def test_failures_older_than_the_window_are_forgotten(db, app, alice):
    for _ in range(3):
        refusal()
    assert WAIT in refusal()
    pass_time(db, LoginAttempt, app.config["LOGIN_WINDOW_MINUTES"] * 60 + 1)
    assert WRONG in refusal()


def test_unknown_usernames_are_throttled_alike(db, alice):
    """The throttle does not tell whether an account exists."""
    for _ in range(3):
        assert WRONG in refusal("nobody")
    assert WAIT in refusal("nobody")


def test_address_brake_across_accounts_at_its_edge(db, app, places):
    app.config.update(LOGIN_MAX_FAILURES_PER_IP=4, LOGIN_FREE_FAILURES=10)
    make_user("bob", role="producer")
    for i in range(4):  # credential stuffing: one guess per account
        assert WRONG in refusal(f"user{i}", ip="7.7.7.7")
    assert "此网络地址" in refusal("bob", PASSWORD, ip="7.7.7.7")  # limit + 1
    assert services.authenticate("bob", PASSWORD, "8.8.8.8").username == "bob"
    pass_time(db, LoginAttempt, app.config["LOGIN_IP_WINDOW_MINUTES"] * 60 + 1)
    assert services.authenticate("bob", PASSWORD, "7.7.7.7").username == "bob"


def test_registration_limit_at_its_edge(db, app, places):
    app.config.update(REGISTER_MAX_PER_IP=3)
    with pytest.raises(Invalid):  # a refused form counts too (it probes usernames)
        services.register_producer("first", "张三", "short", "4.4.4.4")
    services.register_producer("second", "李四", "hongshu-fentiao", "4.4.4.4")
    services.register_producer("third", "王五", "hongshu-fentiao", "4.4.4.4")  # the limit
    with pytest.raises(Invalid) as exc:
        services.register_producer("fourth", "赵六", "hongshu-fentiao", "4.4.4.4")
    assert "注册次数过多" in exc.value.message
    services.register_producer("fifth", "钱七", "hongshu-fentiao", "4.4.4.5")
    assert db.session.scalar(db.select(func.count(User.id))) == 3

    pass_time(db, models.RegistrationAttempt, app.config["REGISTER_WINDOW_MINUTES"] * 60 + 1)
    services.register_producer("fourth", "赵六", "hongshu-fentiao", "4.4.4.4")


def test_login_limit_over_http(serve):
    """Served behind one proxy: five wrong passwords from a client are checked, its sixth
    attempt waits, and another client of the same proxy logs in to the same account."""
    app = serve(PROXY_COUNT=1, LOGIN_FREE_FAILURES=5)
    with app.app_context():
        seed_places()
        make_user("farmer", role="producer")
    guesser = Browser(app.base_url, X_Forwarded_For="203.0.113.5")
    for _ in range(5):
        _status, page = guesser.form("/login", {"username": "farmer", "password": "wrong-one"})
        assert WRONG in page
    _status, page = guesser.form("/login", {"username": "farmer", "password": PASSWORD})
    assert WAIT in page and "欢迎" not in page
    # A forged first entry changes nothing: the proxy's own (last) entry is the address.
    guesser.headers["X_Forwarded_For"] = "203.0.113.6, 203.0.113.5"
    assert not guesser.login("farmer")
    assert Browser(app.base_url, X_Forwarded_For="203.0.113.6").login("farmer")


def test_forwarded_addresses_are_ignored_without_a_configured_proxy(serve):
    """PROXY_COUNT=0: a client cannot dodge the throttle by inventing X-Forwarded-For."""
    app = serve()
    with app.app_context():
        seed_places()
        make_user("farmer", role="producer")
    browser = Browser(app.base_url)
    for i in range(5):
        browser.headers["X_Forwarded_For"] = f"198.51.100.{i}"
        browser.form("/login", {"username": "farmer", "password": "wrong-one"})
    browser.headers["X_Forwarded_For"] = "198.51.100.99"
    _status, page = browser.form("/login", {"username": "farmer", "password": PASSWORD})
    assert WAIT in page


def test_registration_limit_over_http(serve):
    app = serve(REGISTER_MAX_PER_IP=2)
    with app.app_context():
        seed_places()
    form = {"display_name": "张三", "password": "hongshu-fentiao", "confirm": "hongshu-fentiao"}
    for i in range(2):
        _status, page = Browser(app.base_url).form("/register", dict(form, username=f"farm{i}"))
        assert "注册成功" in page
    _status, page = Browser(app.base_url).form("/register", dict(form, username="farm9"))
    assert "注册次数过多" in page and "注册成功" not in page
