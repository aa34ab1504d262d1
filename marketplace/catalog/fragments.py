"""Rendered catalogue listings, cached per worker by the catalogue's display version.

A listing (facets, product cards, pager) is the same for every visitor. It changes only when
a listed product, its certificates, producer, category, photos or marks change — every such
transaction bumps the display version (readmodel.DISPLAY) before it commits — when the day
changes, or with the reader's language. So the fragment is rendered once per worker per
version and served from memory until then: the first request after a commit, on any worker
or host, renders it afresh.
"""

import threading
from collections.abc import Callable

from cachetools import LRUCache
from flask_babel import get_locale
from markupsafe import Markup

from marketplace.catalog import readmodel
from marketplace.clock import today
from marketplace.extensions import db

_cache: LRUCache = LRUCache(maxsize=512)
_lock = threading.Lock()


def cached(kind: str, params: tuple, render: Callable[[int], str]) -> Markup:
    """The fragment `kind` for `params`, rendering it with `render(listing_version)` if new."""
    listing_version, display_version = readmodel.versions()
    key = (str(db.engine.url), kind, listing_version, display_version, today(),
           str(get_locale()), params)
    with _lock:
        found = _cache.get(key)
    if found is None:
        # A rendered template: Jinja escaped it already, so it is markup as it stands.
        found = Markup(render(listing_version))  # noqa: S704
        with _lock:
            _cache[key] = found
    return found
