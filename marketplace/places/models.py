"""Xuchang's county-level divisions, townships and villages."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import Model


class CountyKind(StrEnum):
    DISTRICT = "district"
    CITY = "city"
    COUNTY = "county"
    ZONE = "zone"

    @property
    def label(self):
        return _COUNTY_KIND_LABELS[self]


_COUNTY_KIND_LABELS = {
    CountyKind.DISTRICT: _l("市辖区"),
    CountyKind.CITY: _l("县级市"),
    CountyKind.COUNTY: _l("县"),
    CountyKind.ZONE: _l("功能区"),
}


class County(Model):
    __tablename__ = "counties"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)

    townships: Mapped[list["Township"]] = relationship(
        back_populates="county", order_by="Township.id"
    )

    def __str__(self) -> str:
        return self.name


class Township(Model):
    __tablename__ = "townships"
    __table_args__ = (UniqueConstraint("county_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))

    county: Mapped[County] = relationship(back_populates="townships")
    villages: Mapped[list["Village"]] = relationship(
        back_populates="township", order_by="Village.id"
    )

    def __str__(self) -> str:
        return self.name


class Village(Model):
    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("township_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    formerly_poor: Mapped[bool] = mapped_column(default=False)

    township: Mapped[Township] = relationship(back_populates="villages")

    def __str__(self) -> str:
        return self.name
