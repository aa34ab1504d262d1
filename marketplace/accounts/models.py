"""People who log in, the attempts counted for throttling, and administrator-issued resets."""

from datetime import datetime
from enum import StrEnum

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Computed, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.clock import now
from marketplace.extensions import db


def hash_password(password: str) -> str:
    """Hash with the configured method (scrypt; the test suite sets a cheap one)."""
    method = (current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
              if has_app_context() else "scrypt")
    return generate_password_hash(password, method=method)


class Role(StrEnum):
    PRODUCER = "producer"
    BUYER = "buyer"
    BUYER_APPROVER = "buyer_approver"
    COUNTY_OFFICER = "county_officer"
    ADMIN = "admin"

    @property
    def label(self):
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.PRODUCER: _l("供应商"),
    Role.BUYER: _l("采购人"),
    Role.BUYER_APPROVER: _l("审批人"),
    Role.COUNTY_OFFICER: _l("县级审核"),
    Role.ADMIN: _l("市级管理员"),
}


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    # The database keeps usernames unique case-insensitively: "Alice" and "alice" are one name.
    username_key: Mapped[str] = mapped_column(
        String(40), Computed("lower(username)", persisted=True), unique=True
    )
    display_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(200))  # where notices are also mailed
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_login_at: Mapped[datetime | None] = mapped_column()
    # Part of the id kept in sessions and remember-me cookies: raising it ends them all.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    organisation = relationship("Organisation", back_populates="members")
    county = relationship("County")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """The id Flask-Login stores in the session and remember cookie: "id:version"."""
        return f"{self.id}:{self.session_version}"

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class LoginAttempt(db.Model):
    """One password check (login or password change) by (username, address).

    The row is written as a failure before the password is checked, and marked succeeded
    afterwards, so requests that race are all counted.
    """

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    succeeded: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (db.Index("ix_login_attempts_pair", "ip", "username", "at"),)


class ClientAddress(db.Model):
    """One row per client address that logged in or registered.

    Its row lock serialises that address's attempts for the moment they are counted and
    recorded, so a limit holds exactly however many requests race (several workers included).
    """

    __tablename__ = "client_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64), unique=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)


class RegistrationAttempt(db.Model):
    __tablename__ = "registration_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (db.Index("ix_registration_attempts_ip_at", "ip", "at"),)


class PasswordReset(db.Model):
    """A one-time link an administrator issued; only a hash of its token is kept."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()

    user = relationship("User", foreign_keys=[user_id])
