"""Look-ups of places shared by forms and services."""

from marketplace.extensions import db
from marketplace.places.models import County, Township, Village


def all_counties() -> list[County]:
    return list(db.session.scalars(db.select(County).order_by(County.position, County.id)))


def all_townships() -> list[Township]:
    return list(
        db.session.scalars(db.select(Township).order_by(Township.county_id, Township.id))
    )


def villages_of(township_id: int | None) -> list[Village]:
    if not township_id:
        return []
    return list(
        db.session.scalars(
            db.select(Village).where(Village.township_id == township_id).order_by(Village.id)
        )
    )
