"""Usernames are one name whatever their case, enforced by the database itself."""

from datetime import datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import MetaData, text
from sqlalchemy.exc import IntegrityError

from marketplace.accounts import services
from marketplace.accounts.models import LoginAttempt, User
from marketplace.audit.models import AuditEvent
from marketplace.config import BASE_DIR
from marketplace.errors import Invalid
from tests.factories import PASSWORD, make_user

MIGRATIONS = str(BASE_DIR / "migrations")
BEFORE = "f080540aa5b8"  # the revision before usernames became case-insensitive


def test_the_database_refuses_a_name_differing_only_in_case(db, places):
    make_user("alice", role="producer")
    db.session.add(User(username="ALICE", display_name="x", password_hash="x", role="producer"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_login_in_any_case_opens_the_one_account(db, places):
    alice = make_user("Alice", role="producer")
    assert services.authenticate("aLiCe", PASSWORD, "1.2.3.4").id == alice.id


def test_losing_the_race_is_the_normal_form_error(db, places, monkeypatch):
    """The check ran before the other registration committed: the database has the last
    word, and the loser sees the usual message instead of a server error."""
    make_user("racer", role="producer")
    monkeypatch.setattr(services, "find_user_by_name", lambda _name: None)
    with pytest.raises(Invalid) as exc:
        services.register_producer("RACER", "赛跑者", "hongshu-fentiao", "1.2.3.4")
    assert exc.value.errors["username"] == ["该用户名已被使用。"]
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def _empty(db):
    db.session.remove()
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_upgrade_renames_accounts_that_already_differ_only_in_case(app, db):
    _empty(db)
    upgrade(directory=MIGRATIONS, revision=BEFORE)
    meta = MetaData()
    meta.reflect(bind=db.engine)
    users, attempts = meta.tables["users"], meta.tables["login_attempts"]
    at = datetime(2026, 3, 1, 9, 0)
    with db.engine.begin() as conn:
        for user_id, name in ((1, "Alice"), (2, "alice"), (3, "ALICE"), (4, "bob"),
                              (5, "x" * 40), (6, "X" * 40)):
            conn.execute(users.insert(), {
                "id": user_id, "username": name, "display_name": name, "password_hash": "h",
                "role": "producer", "active": True, "created_at": at})
        conn.execute(attempts.insert(), {"username": "alice", "ip": "1.2.3.4", "at": at,
                                         "succeeded": False})
    db.session.remove()
    upgrade(directory=MIGRATIONS)

    names = dict(db.session.execute(db.select(User.id, User.username)).all())
    assert names == {1: "Alice", 2: "alice-2", 3: "ALICE-3", 4: "bob",
                     5: "x" * 40, 6: "X" * 38 + "-6"}
    assert {u.session_version for u in db.session.scalars(db.select(User))} == {0}
    renamed = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "user.renamed")).all()
    assert sorted(e.subject_id for e in renamed) == [2, 3, 6]
    assert db.session.scalar(db.select(db.func.count(LoginAttempt.id))) == 1
    db.session.add(User(username="BOB", display_name="x", password_hash="x", role="producer"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
