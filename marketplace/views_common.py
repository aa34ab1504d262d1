"""Small helpers the blueprints share."""

from flask_login import current_user


def actor():
    """The logged-in user as a plain object for services (not the request proxy)."""
    return current_user._get_current_object()


def page_arg(request) -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def id_arg(request, name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None
