"""Today's date and the current time, in one place so a demo or test can fix the date."""

from datetime import UTC, date, datetime

from flask import current_app, has_app_context


def today() -> date:
    if has_app_context() and current_app.config.get("FROZEN_TODAY"):
        return date.fromisoformat(str(current_app.config["FROZEN_TODAY"]))
    return date.today()


def now() -> datetime:
    """Naive UTC timestamp, as stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)
