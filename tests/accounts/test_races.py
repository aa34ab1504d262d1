"""Limits hold under real concurrent requests to a served app (SQLite and PostgreSQL)."""

from sqlalchemy import func

from marketplace.accounts.models import LoginAttempt, User
from marketplace.extensions import db
from tests.accounts.conftest import Browser, race
from tests.factories import make_user, seed_places

FREE_FAILURES = 5
RACERS = 12


def test_parallel_wrong_passwords_get_exactly_the_allowed_checks(serve):
    """12 wrong passwords at once for one account from one address: 5 are checked, 7 wait."""
    app = serve(LOGIN_FREE_FAILURES=FREE_FAILURES, LOGIN_DELAY_SECONDS=3600)
    with app.app_context():
        seed_places()
        make_user("alice", role="producer")
    browsers = [Browser(app.base_url) for _ in range(RACERS)]
    answers = race(browsers, "/login",
                   [{"username": "alice", "password": f"guess-{i}"} for i in range(RACERS)])

    assert all(status == 200 for status, _page in answers)
    checked = [page for _status, page in answers if "用户名或密码错误" in page]
    waited = [page for _status, page in answers if "登录失败次数过多" in page]
    assert (len(checked), len(waited)) == (FREE_FAILURES, RACERS - FREE_FAILURES)
    with app.app_context():
        assert db.session.scalar(db.select(func.count(LoginAttempt.id))) == FREE_FAILURES


def test_parallel_registrations_differing_only_in_case_make_one_account(serve):
    app = serve(REGISTER_MAX_PER_IP=100)
    with app.app_context():
        seed_places()
    names = ["Racer", "racer", "RACER", "rAcer", "raCer", "racEr"]
    browsers = [Browser(app.base_url) for _ in names]
    answers = race(browsers, "/register", [
        {"username": name, "display_name": "赛跑者", "password": "fentiao-2026-hongshu",
         "confirm": "fentiao-2026-hongshu"} for name in names
    ])

    registered = [page for _status, page in answers if "注册成功" in page]
    refused = [page for _status, page in answers if "该用户名已被使用" in page]
    assert (len(registered), len(refused)) == (1, len(names) - 1)
    with app.app_context():
        count = db.session.scalar(
            db.select(func.count(User.id)).where(func.lower(User.username) == "racer"))
        assert count == 1
