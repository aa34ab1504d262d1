"""Logging out and changing the password end every other session of the user, remember-me
cookies included (served app: each browser has its own cookies, as people do)."""

import pytest

from marketplace.accounts import services
from marketplace.accounts.models import User
from marketplace.errors import Invalid
from marketplace.web import _load_user
from tests.accounts.conftest import Browser
from tests.factories import PASSWORD, make_user, seed_places

NEW_PASSWORD = "hongshu fentiao 2027"


@pytest.fixture
def served(serve):
    app = serve()
    with app.app_context():
        seed_places()
        make_user("farmer", role="producer")
    return app


def test_logout_ends_the_users_other_sessions(served):
    phone, desk = Browser(served.base_url), Browser(served.base_url)
    assert phone.login("farmer") and desk.login("farmer")
    assert phone.logged_in() and desk.logged_in()
    phone.post("/logout", {}, phone.token("/"))
    assert not phone.logged_in()
    assert not desk.logged_in()
    assert desk.login("farmer") and desk.logged_in()  # logging in again works


def test_remember_me_keeps_a_closed_browser_logged_in(served):
    phone = Browser(served.base_url)
    assert phone.login("farmer", remember="y")
    assert "remember_token" in phone.cookie_names()
    phone.forget_session()
    assert phone.logged_in()


def test_password_change_ends_other_sessions_and_remember_cookies(served):
    phone, desk, laptop = (Browser(served.base_url) for _ in range(3))
    assert phone.login("farmer", remember="y") and desk.login("farmer")
    assert laptop.login("farmer", remember="y")

    _status, page = laptop.form("/account/password", {
        "current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "密码已修改" in page
    assert laptop.logged_in()  # the session that changed it goes on
    laptop.forget_session()
    assert laptop.logged_in()  # and its renewed remember cookie too
    assert not desk.logged_in()
    phone.forget_session()
    assert not phone.logged_in()  # the old remember cookie no longer logs in

    assert not Browser(served.base_url).login("farmer", PASSWORD)
    assert Browser(served.base_url).login("farmer", NEW_PASSWORD)


def test_password_change_needs_the_current_password(served):
    desk = Browser(served.base_url)
    desk.login("farmer")
    _status, page = desk.form("/account/password", {
        "current_password": "not-my-password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "当前密码不正确" in page and "密码已修改" not in page
    _status, page = desk.form("/account/password", {
        "current_password": PASSWORD, "password": "woaini1314", "confirm": "woaini1314"})
    assert "太常见" in page and "密码已修改" not in page
    assert desk.logged_in()
    assert Browser(served.base_url).login("farmer", PASSWORD)


def test_wrong_current_passwords_are_throttled_like_logins(app, places):
    app.config.update(LOGIN_FREE_FAILURES=2)
    user = make_user("alice", role="producer")
    for _ in range(2):
        with pytest.raises(Invalid) as exc:
            services.change_password(user, "guess-guess", NEW_PASSWORD, "5.6.7.8")
        assert "当前密码不正确" in exc.value.errors["current_password"][0]
    with pytest.raises(Invalid) as exc:
        services.change_password(user, PASSWORD, NEW_PASSWORD, "5.6.7.8")
    assert "登录失败次数过多" in exc.value.errors["current_password"][0]
    assert user.check_password(PASSWORD)


def test_the_page_is_for_logged_in_users(client, places):
    response = client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.location


def test_session_ids_carry_the_current_version(app, db, places):
    user = make_user("alice", role="producer")
    assert _load_user(user.get_id()).id == user.id
    assert _load_user(str(user.id)) is None  # a session from before versions
    services.end_sessions(user)
    assert _load_user(f"{user.id}:0") is None
    assert _load_user(db.session.get(User, user.id).get_id()).id == user.id
    assert _load_user("99999999999:0") is None and _load_user("1:x") is None
