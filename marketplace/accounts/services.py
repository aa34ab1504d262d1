"""Accounts: registration, login throttling, passwords, sessions, user management.

Throttling (login and registration) is counted in the database, so it holds across
several workers. Each attempt is counted in a short transaction of its own, under the row
lock of the client address (`ClientAddress`), BEFORE the password is checked: of N racing
requests exactly as many get a password check as the limit allows.

Login is throttled per (account, address) pair: after LOGIN_FREE_FAILURES failures of the
pair, each further attempt must wait a delay that doubles with every failure (capped), so a
guesser slows down while the account's owner, from any address that has not been failing,
still logs in at once. A higher per-address limit (across all accounts) brakes credential
stuffing from one address.
"""

import functools
import hashlib
import math
import re
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.accounts.models import (
    ClientAddress,
    LoginAttempt,
    PasswordReset,
    RegistrationAttempt,
    Role,
    User,
)
from marketplace.accounts.passwords import password_problems
from marketplace.audit.models import record
from marketplace.clock import now
from marketplace.errors import Invalid, NotFound
from marketplace.extensions import db
from marketplace.notices.mailer import valid_address
from marketplace.permissions import authorize
from marketplace.places.models import County
from marketplace.uow import use_case

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,40}$")


def _username_taken() -> str:
    return _("该用户名已被使用。")


def find_user_by_name(username: str) -> User | None:
    """The user of `username`, whatever its case ("Alice" is "alice")."""
    return db.session.scalar(db.select(User).where(User.username_key == username.lower()))


def _check_new_user(username: str, display_name: str, password: str) -> dict:
    errors: dict[str, list[str]] = {}
    if not USERNAME.match(username or ""):
        errors["username"] = [_("用户名为 3–40 位字母、数字、下划线、点或短横线。")]
    elif find_user_by_name(username):
        errors["username"] = [_username_taken()]
    if not (display_name or "").strip():
        errors["display_name"] = [_("请填写姓名。")]
    problems = password_problems(password, username)
    if problems:
        errors["password"] = problems
    return errors


def _new_user(username, display_name, password, role, email=None, **extra) -> User:
    errors = _check_new_user(username, display_name, password)
    email = (email or "").strip() or None
    if email and not valid_address(email):
        errors["email"] = [_("请填写有效的电子邮箱地址。")]
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    user = User(username=username, display_name=display_name.strip(), role=role, email=email,
                **extra)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the unique lower(username): another registration won the race
        raise Invalid(_("请检查填写的内容。"), {"username": [_username_taken()]}) from None
    return user


# --- client addresses and throttling ---------------------------------------------------

def _lock_address(ip: str) -> None:
    """Create or touch the address's row, holding its write lock until the commit.

    On PostgreSQL the upsert locks the row; on SQLite it is the first write of the
    transaction, so it takes the database write lock with an up-to-date view. Either way a
    second attempt from the same address waits here, then counts what the first recorded.
    """
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(ClientAddress).values(address=ip, last_seen_at=now())
        .on_conflict_do_update(index_elements=["address"], set_={"last_seen_at": now()})
    )


def _wait_message(seconds: float) -> str:
    if seconds >= 60:
        return _("登录失败次数过多，请 %(n)s 分钟后再试。", n=math.ceil(seconds / 60))
    return _("登录失败次数过多，请 %(n)s 秒后再试。", n=max(1, math.ceil(seconds)))


def login_delay(failures: int) -> float:
    """Seconds the next attempt of a pair with `failures` recent failures must wait after
    the last one: none for the first LOGIN_FREE_FAILURES, then doubling up to the cap."""
    cfg = current_app.config
    extra = failures - cfg["LOGIN_FREE_FAILURES"]
    if extra < 0:
        return 0.0
    return float(min(cfg["LOGIN_DELAY_SECONDS"] * 2 ** min(extra, 32),
                     cfg["LOGIN_MAX_DELAY_SECONDS"]))


def _pair_failures(username: str, ip: str, moment) -> tuple[int, object]:
    """Failures of (username, address) since its last success, within the window."""
    pair = (LoginAttempt.username == username, LoginAttempt.ip == ip)
    since = moment - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    last_success = db.session.scalar(
        db.select(func.max(LoginAttempt.at)).where(*pair, LoginAttempt.succeeded.is_(True))
    )
    if last_success is not None and last_success > since:
        since = last_success
    count, last = db.session.execute(
        db.select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
            *pair, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    ).one()
    return count, last


def _address_failures(ip: str, moment) -> int:
    since = moment - timedelta(minutes=current_app.config["LOGIN_IP_WINDOW_MINUTES"])
    return db.session.scalar(
        db.select(func.count(LoginAttempt.id)).where(
            LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    )


@use_case(None)
def _admit_password_check(username: str, ip: str) -> tuple[int | None, str]:
    """Count a password check of (username, address) before it is made.

    Returns (attempt id, "") when the check may go ahead (the attempt is recorded as a
    failure until `_password_check_passed` marks it), or (None, why not). Returning rather
    than raising commits the attempt either way.
    """
    _lock_address(ip)
    moment = now()
    cfg = current_app.config
    if _address_failures(ip, moment) >= cfg["LOGIN_MAX_FAILURES_PER_IP"]:
        return None, _("此网络地址登录失败次数过多，请 %(m)s 分钟后再试。",
                       m=cfg["LOGIN_IP_WINDOW_MINUTES"])
    failures, last_failure = _pair_failures(username, ip, moment)
    delay = login_delay(failures)
    if delay and last_failure is not None:
        wait = (last_failure + timedelta(seconds=delay) - moment).total_seconds()
        if wait > 0:
            return None, _wait_message(wait)
    attempt = LoginAttempt(username=username, ip=ip, succeeded=False, at=moment)
    db.session.add(attempt)
    db.session.flush()
    return attempt.id, ""


@use_case(None)
def _password_check_passed(attempt_id: int, user: User) -> None:
    db.session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id)
                       .values(succeeded=True))
    user.last_login_at = now()


def _dummy_hash() -> str:
    """A hash made like every new user's, checked for unknown usernames so both cost the same."""
    return _dummy_for(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


@functools.cache
def _dummy_for(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def _password_matches(user: User | None, password: str) -> bool:
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return user.check_password(password)


def _checked(username: str, password: str, ip: str) -> tuple[User | None, str | None]:
    """Throttle, then check the password.

    Returns (user, None) when it is right, (None, None) when it is wrong, and (None, why)
    when the check was refused by the throttle.
    """
    key = (username or "").strip().lower()[:40]
    ip = (ip or "unknown")[:64]
    attempt_id, refusal = _admit_password_check(key, ip)
    if attempt_id is None:
        return None, refusal
    user = find_user_by_name(key)
    if _password_matches(user, password or "") and user.active:
        _password_check_passed(attempt_id, user)
        return user, None
    return None, None


def authenticate(username: str, password: str, ip: str) -> User:
    """Check a login; refuse with a message (the attempt stays recorded either way)."""
    user, refusal = _checked(username, password, ip)
    if user is None:
        raise Invalid(refusal or _("用户名或密码错误，或账号已停用。"))
    return user


@use_case(None)
def _admit_registration(ip: str) -> str:
    """Count a registration attempt of `ip`; "" when it may go ahead, else why not."""
    _lock_address(ip)
    moment = now()
    cfg = current_app.config
    since = moment - timedelta(minutes=cfg["REGISTER_WINDOW_MINUTES"])
    recent = db.session.scalar(
        db.select(func.count(RegistrationAttempt.id)).where(
            RegistrationAttempt.ip == ip, RegistrationAttempt.at >= since)
    )
    if recent >= cfg["REGISTER_MAX_PER_IP"]:
        return _("此网络地址注册次数过多，请 %(m)s 分钟后再试。", m=cfg["REGISTER_WINDOW_MINUTES"])
    db.session.add(RegistrationAttempt(ip=ip, at=moment))
    return ""


def admit_registration(ip: str) -> None:
    """Refuse a registration from an address that registered too often (any kind)."""
    refusal = _admit_registration((ip or "unknown")[:64])
    if refusal:
        raise Invalid(refusal)


def register_producer(username: str, display_name: str, password: str, ip: str) -> User:
    """Anyone may register as a producer member (throttled per address)."""
    admit_registration(ip)
    return _register_producer(username, display_name, password)


@use_case(None)
def _register_producer(username: str, display_name: str, password: str) -> User:
    user = _new_user(username, display_name, password, Role.PRODUCER)
    record(user, "user.registered", user)
    return user


# --- sessions and passwords --------------------------------------------------------------

def _end_sessions(user: User) -> None:
    """Raise the user's session version: every session and remember cookie stops working."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_version=User.session_version + 1))
    db.session.refresh(user, ["session_version"])


@use_case(None)
def end_sessions(user: User) -> None:
    """Log the user out everywhere (the logout button)."""
    _end_sessions(user)


def change_password(actor: User, current_password: str, new_password: str, ip: str) -> User:
    """Change one's own password, proving the current one (throttled like a login).

    Every session of the user ends; the caller logs the current one in again with the
    returned user's new session id.
    """
    user, refusal = _checked(actor.username, current_password, ip)
    if user is None or user.id != actor.id:
        raise Invalid(_("请检查填写的内容。"),
                      {"current_password": [refusal or _("当前密码不正确。")]})
    return _set_own_password(user, new_password)


@use_case(None)
def _set_own_password(user: User, new_password: str) -> User:
    _set_password(user, new_password)
    record(user, "user.password_changed", user)
    return user


def _set_password(user: User, new_password: str) -> None:
    problems = password_problems(new_password, user.username)
    if problems:
        raise Invalid(_("请检查填写的内容。"), {"password": problems})
    user.set_password(new_password)
    _end_sessions(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@use_case("user.manage")
def issue_password_reset(actor, user: User) -> tuple[str, PasswordReset]:
    """A one-time reset link for `user`: returns the token (never stored, shown once).

    An earlier link of the user that was not used stops working.
    """
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(expires_at=now())
    )
    token = secrets.token_urlsafe(32)
    moment = now()
    reset = PasswordReset(
        user_id=user.id, token_hash=_token_hash(token), issued_by_id=actor.id, issued_at=moment,
        expires_at=moment + timedelta(hours=current_app.config["PASSWORD_RESET_HOURS"]),
    )
    db.session.add(reset)
    record(actor, "user.password_reset_issued", user)
    return token, reset


def _link_invalid() -> NotFound:
    return NotFound(_("重置链接无效、已使用或已过期，请联系管理员重新获取。"))


def find_password_reset(token: str) -> PasswordReset:
    """The open reset of `token`, or NotFound when it is unknown, used or expired."""
    if not token or len(token) > 100:
        raise _link_invalid()
    reset = db.session.scalar(
        db.select(PasswordReset).where(PasswordReset.token_hash == _token_hash(token)))
    if (reset is None or reset.used_at is not None or reset.expires_at <= now()
            or not reset.user.active):
        raise _link_invalid()
    return reset


@use_case(None)
def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link; the link works once, and ends all sessions."""
    reset = find_password_reset(token)
    moment = now()
    used = db.session.execute(  # compare-and-set: of two racing uses, one lands
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None),
               PasswordReset.expires_at > moment)
        .values(used_at=moment)
    ).rowcount
    if used != 1:
        raise _link_invalid()
    user = reset.user
    _set_password(user, new_password)
    record(user, "user.password_reset", user)
    return user


# --- administration ----------------------------------------------------------------------

@use_case("user.manage")
def create_user(actor, *, username, display_name, password, role, county_id=None,
                organisation_id=None, email=None) -> User:
    if role not in Role.__members__.values():
        raise Invalid(_("角色无效。"), {"role": [_("角色无效。")]})
    if role == Role.COUNTY_OFFICER and not _exists(County, county_id):
        raise Invalid(_("县级审核人员必须指定所属县区。"), {"county_id": [_("请选择县区。")]})
    user = _new_user(
        username, display_name, password, role,
        county_id=county_id if role == Role.COUNTY_OFFICER else None,
        organisation_id=organisation_id, email=email,
    )
    record(actor, "user.created", user, reason=f"{username} ({Role(role).label})")
    return user


def _exists(model, value) -> bool:
    return (isinstance(value, int) and 0 < value < 2**31
            and db.session.get(model, value) is not None)


@use_case("user.manage")
def set_user_active(actor, user: User, active: bool, reason: str = "") -> None:
    if user.id == actor.id and not active:
        raise Invalid(_("不能停用自己的账号。"))
    user.active = active
    record(actor, "user.activated" if active else "user.deactivated", user, reason=reason)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("用户不存在。"))
    return user


def list_users(actor, page: int = 1):
    authorize("user.manage", actor)
    return db.paginate(db.select(User).order_by(User.id), page=page, per_page=50)
