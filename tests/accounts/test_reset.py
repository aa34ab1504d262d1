"""An administrator-issued password reset: a one-time link, shown once, valid for hours."""

import hashlib
import re
from datetime import timedelta

import pytest

from marketplace.accounts import services
from marketplace.accounts.models import PasswordReset, User
from marketplace.audit.models import AuditEvent
from marketplace.clock import now
from marketplace.errors import NotAuthorized, NotFound
from marketplace.extensions import db as _db
from tests.accounts.conftest import Browser, race
from tests.factories import PASSWORD, make_user, seed_places

NEW_PASSWORD = "hongshu fentiao 2027"
LINK = re.compile(r'id="reset-link"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*id="reset-link"')


@pytest.fixture
def served(serve):
    app = serve()
    with app.app_context():
        seed_places()
        app.admin_id = make_user("admin", role="admin").id
        app.farmer_id = make_user("farmer", role="producer").id
    return app


def issue_link(app, admin: Browser, user_id: int) -> str:
    _status, users_page = admin.get("/admin/users")
    assert f"/admin/users/{user_id}/reset-password" in users_page  # the button is there
    _status, page = admin.post(f"/admin/users/{user_id}/reset-password", {},
                               admin.token("/admin/users"))
    match = LINK.search(page)
    assert match, page[-2000:]
    link = match.group(1) or match.group(2)
    assert link.startswith(app.base_url + "/reset-password/")
    return link[len(app.base_url):]


def test_admin_issues_a_link_the_user_sets_a_new_password_once(served):
    admin = Browser(served.base_url)
    assert admin.login("admin")
    farmer_elsewhere = Browser(served.base_url)
    assert farmer_elsewhere.login("farmer")
    path = issue_link(served, admin, served.farmer_id)
    token = path.rsplit("/", 1)[1]

    with served.app_context():  # only a hash of the token is kept
        reset = _db.session.scalars(_db.select(PasswordReset)).one()
        assert reset.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in reset.token_hash
    _status, users_page = admin.get("/admin/users")
    assert token not in users_page  # shown once: never again

    farmer = Browser(served.base_url)
    status, page = farmer.get(path)
    assert status == 200 and "farmer" in page
    _status, page = farmer.form(path, {"password": "1234567890", "confirm": "1234567890"})
    assert "太常见" in page  # refused; the link still works
    _status, page = farmer.form(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "新密码已设置" in page
    assert farmer.login("farmer", NEW_PASSWORD)
    assert not farmer_elsewhere.logged_in()  # the reset ended the farmer's other sessions

    status, page = Browser(served.base_url).get(path)
    assert status == 404 and "重置链接无效" in page  # used: gone


def test_a_link_used_twice_at_once_works_once(served):
    admin = Browser(served.base_url)
    admin.login("admin")
    path = issue_link(served, admin, served.farmer_id)
    passwords = [f"{NEW_PASSWORD} {i}" for i in range(4)]
    answers = race([Browser(served.base_url) for _ in passwords], path,
                   [{"password": p, "confirm": p} for p in passwords])
    assert sum("新密码已设置" in page for _status, page in answers) == 1
    assert sum(Browser(served.base_url).login("farmer", p) for p in passwords) == 1


def test_only_an_administrator_issues_links(served):
    farmer = Browser(served.base_url)
    farmer.login("farmer")
    status, _page = farmer.post(f"/admin/users/{served.admin_id}/reset-password", {},
                                farmer.token("/"))
    assert status == 403
    with served.app_context():
        assert _db.session.scalar(_db.select(_db.func.count(PasswordReset.id))) == 0


def test_a_link_expires_and_a_new_link_replaces_the_old(app, db, places):
    app.config.update(PASSWORD_RESET_HOURS=2)
    admin = make_user("admin", role="admin")
    farmer = make_user("farmer", role="producer")
    first, reset = services.issue_password_reset(admin, farmer)
    assert reset.expires_at - reset.issued_at == timedelta(hours=2)
    second, _reset = services.issue_password_reset(admin, farmer)
    with pytest.raises(NotFound):
        services.find_password_reset(first)
    services.find_password_reset(second)

    reset = services.find_password_reset(second)
    reset.expires_at = now() - timedelta(seconds=1)  # two hours have passed
    db.session.commit()
    with pytest.raises(NotFound):
        services.reset_password(second, NEW_PASSWORD)
    assert db.session.get(User, farmer.id).check_password(PASSWORD)
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert "user.password_reset_issued" in actions


def test_reset_links_are_for_administrators_only(app, db, places):
    officer = make_user("officer", role="county_officer", county=places.yuzhou)
    farmer = make_user("farmer", role="producer")
    with pytest.raises(NotAuthorized):
        services.issue_password_reset(officer, farmer)


def test_unknown_and_malformed_links_are_not_found(client, places):
    for path in ("/reset-password/nothing-here", "/reset-password/" + "x" * 300):
        response = client.get(path)
        assert response.status_code == 404
