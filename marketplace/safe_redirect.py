"""Redirect targets taken from a request (?next=, Referer) are only ever paths on this site."""

from urllib.parse import urlsplit

from flask import request


def same_site_path(target: str | None) -> str | None:
    """The path (and query) of `target` if it points at this site, else None.

    Refuses scheme-relative ("//evil.example/x"), backslash ("/\\evil.example") and
    other-host URLs, so a crafted link can never bounce a user off the site.
    """
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path + (f"?{parts.query}" if parts.query else "")
