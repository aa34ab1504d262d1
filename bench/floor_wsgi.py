"""The app as `make run` serves it, plus a constant route that exists only for the benchmark.

The floor (`/__floor`) answers a fixed body without touching Flask, the database or a
template: what a request costs on this server and machine before the app does any work.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wsgi import app as _app  # noqa: E402

BODY = b"ok"


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/__floor":
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(BODY)))])
        return [BODY]
    return _app(environ, start_response)
