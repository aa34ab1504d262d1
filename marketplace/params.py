"""Strict parsing of query parameters and URL ids: a bad value is a clear 400 or 404, never a 500.

Every view reads its query string through these helpers, so "?county=²", a 20-digit page
number or an unknown sort gets a message instead of an exception deep in a query.
"""

import re

from flask import request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from marketplace.errors import Invalid

MAX_ID = 2**31 - 1  # PostgreSQL integer; larger ids cannot exist
MAX_PAGE = 10_000
_DIGITS = re.compile(r"[0-9]{1,10}")


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in routes: only ids a database integer can hold (others are 404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _bad(name: str, hint: str) -> Invalid:
    return Invalid(_("参数 %(name)s 无效：%(hint)s", name=name, hint=hint))


def int_arg(name: str, *, default: int | None = None, minimum: int = 1,
            maximum: int = MAX_ID, args=None) -> int | None:
    """An integer query parameter in [minimum, maximum]; empty or absent gives `default`."""
    raw = (request.args if args is None else args).get(name, "")
    if raw == "":
        return default
    if not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise _bad(name, _("应为 %(lo)s 到 %(hi)s 之间的整数。", lo=minimum, hi=maximum))
    return int(raw)


def page_arg(args=None) -> int:
    return int_arg("page", default=1, maximum=MAX_PAGE, args=args)


def choice_arg(name: str, allowed, default=None, args=None):
    """A parameter that must be one of `allowed` (empty or absent gives `default`)."""
    raw = (request.args if args is None else args).get(name, "")
    if raw == "":
        return default
    if raw not in allowed:
        raise _bad(name, _("不是可选的值。"))
    return raw


def choices_arg(name: str, allowed, args=None) -> list[str]:
    """A repeated parameter (?mark=a&mark=b), each value one of `allowed`."""
    values = (request.args if args is None else args).getlist(name)
    if any(v not in allowed for v in values):
        raise _bad(name, _("不是可选的值。"))
    return list(dict.fromkeys(values))


def text_arg(name: str, max_length: int, args=None) -> str:
    """Free text, cut to `max_length` characters (the forms say so), NUL characters dropped
    (no one types them and PostgreSQL cannot compare text with them)."""
    return (request.args if args is None else args).get(name, "").replace("\x00", "")[:max_length]
