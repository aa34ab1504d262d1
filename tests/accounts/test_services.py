"""Login: hashed passwords and rate limiting that holds across workers (it is in the database)."""

import pytest

from marketplace.accounts import services
from marketplace.accounts.models import User
from marketplace.errors import Invalid
from tests.factories import PASSWORD, make_user


def test_passwords_are_hashed(db, places):
    user = make_user("alice", role="producer")
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_login_with_right_and_wrong_password(db, places):
    make_user("alice", role="producer")
    assert services.authenticate("alice", PASSWORD, "1.2.3.4").username == "alice"
    assert services.authenticate("ALICE", PASSWORD, "1.2.3.4").username == "alice"
    with pytest.raises(Invalid):
        services.authenticate("alice", "wrong", "1.2.3.4")


def test_a_failing_address_never_locks_the_owner_out_from_elsewhere(db, app, places, admin):
    """Changed: failures used to lock the account itself (a denial of service, admin too)."""
    for _ in range(app.config["LOGIN_FREE_FAILURES"] * 3):
        with pytest.raises(Invalid):
            services.authenticate("admin", "guess", "5.6.7.8")
    assert services.authenticate("admin", PASSWORD, "9.9.9.9").username == "admin"
    with pytest.raises(Invalid) as exc:  # the guessing address waits, even with the password
        services.authenticate("admin", PASSWORD, "5.6.7.8")
    assert "过多" in exc.value.message


def test_deactivated_user_cannot_log_in(db, places, admin):
    user = make_user("bob", role="producer")
    services.set_user_active(admin, user, False)
    with pytest.raises(Invalid):
        services.authenticate("bob", PASSWORD, "1.1.1.1")


def test_registration_validates(db, places):
    with pytest.raises(Invalid) as exc:
        services.register_producer("x", "", "short", "1.2.3.4")
    assert set(exc.value.errors) == {"username", "display_name", "password"}
    services.register_producer("farmer1", "张三", "long enough pw", "1.2.3.4")
    with pytest.raises(Invalid) as exc:
        services.register_producer("Farmer1", "李四", "long enough pw", "1.2.3.4")
    assert "username" in exc.value.errors
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_admin_creates_county_officer(db, places, admin):
    officer = services.create_user(admin, username="officer-yl", display_name="鄢陵审核员",
                                   password="long enough pw", role="county_officer",
                                   county_id=places.yanling.id)
    assert officer.county_id == places.yanling.id
    with pytest.raises(Invalid):
        services.create_user(admin, username="officer-x", display_name="x",
                             password="long enough pw", role="county_officer")
