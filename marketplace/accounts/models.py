"""People who log in, and the record of login attempts used for rate limiting."""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.clock import now
from marketplace.extensions import db


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
    username: Mapped[str] = mapped_column(String(40), unique=True)
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

    organisation = relationship("Organisation", back_populates="members")
    county = relationship("County")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class LoginAttempt(db.Model):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    succeeded: Mapped[bool] = mapped_column(default=False)
