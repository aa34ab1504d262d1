"""Accounts: registration, login with rate limiting, user management."""

import re
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func

from marketplace.accounts.models import LoginAttempt, Role, User
from marketplace.audit.models import record
from marketplace.clock import now
from marketplace.errors import Invalid, NotFound
from marketplace.extensions import db
from marketplace.notices.mailer import valid_address
from marketplace.permissions import authorize
from marketplace.places.models import County
from marketplace.uow import use_case

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,40}$")
MIN_PASSWORD = 8


def _check_new_user(username: str, display_name: str, password: str) -> dict:
    errors: dict[str, list[str]] = {}
    if not USERNAME.match(username or ""):
        errors["username"] = [_("用户名为 3–40 位字母、数字、下划线、点或短横线。")]
    elif db.session.scalar(db.select(User.id).where(func.lower(User.username) == username.lower())):
        errors["username"] = [_("该用户名已被使用。")]
    if not (display_name or "").strip():
        errors["display_name"] = [_("请填写姓名。")]
    if len(password or "") < MIN_PASSWORD:
        errors["password"] = [_("密码至少 %(n)s 位。", n=MIN_PASSWORD)]
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
    return user


@use_case(None)
def register_producer(username: str, display_name: str, password: str) -> User:
    """Anyone may register as a producer member; the organisation comes next."""
    user = _new_user(username, display_name, password, Role.PRODUCER)
    db.session.flush()
    record(user, "user.registered", user)
    return user


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
    db.session.flush()
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


def _recent_failures(column, value) -> int:
    since = now() - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    return db.session.scalar(
        db.select(func.count(LoginAttempt.id)).where(
            column == value, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False)
        )
    )


def authenticate(username: str, password: str, ip: str) -> User:
    """Check a login; refuse with a message (the attempt is recorded either way)."""
    user, message = _attempt_login(username, password, ip)
    if user is None:
        raise Invalid(message)
    return user


@use_case(None)
def _attempt_login(username: str, password: str, ip: str) -> tuple[User | None, str]:
    """Too many recent failures for the account or address lock it for a while.

    Counting attempts in the database (not in process memory) makes the limit hold across
    several production workers.
    """
    username = (username or "").strip()
    cfg = current_app.config
    if (
        _recent_failures(LoginAttempt.username, username.lower()) >= cfg["LOGIN_MAX_FAILURES"]
        or _recent_failures(LoginAttempt.ip, ip) >= cfg["LOGIN_MAX_FAILURES_PER_IP"]
    ):
        return None, _("登录失败次数过多，请 %(m)s 分钟后再试。", m=cfg["LOGIN_WINDOW_MINUTES"])
    user = db.session.scalar(db.select(User).where(func.lower(User.username) == username.lower()))
    ok = user is not None and user.check_password(password or "") and user.active
    db.session.add(LoginAttempt(username=username.lower()[:40], ip=ip[:64], succeeded=ok))
    if ok:
        user.last_login_at = now()
        return user, ""
    return None, _("用户名或密码错误，或账号已停用。")
