"""A served app for the race tests: a real HTTP server in a thread, and small browsers
(each its own cookie jar) that fetch a form's CSRF token and post it at the same moment."""

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from werkzeug.serving import make_server

from marketplace.extensions import db as _db
from tests.conftest import make_app

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """One visitor: its own cookies, forms posted with the token of the page they are on."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base_url + path))  # noqa: S310 - loopback

    def token(self, path: str) -> str:
        status, page = self.get(path)
        match = TOKEN.search(page)
        assert match, f"no CSRF token on {path} ({status})"
        return match.group(1)

    def post(self, path: str, data: dict, token: str) -> tuple[int, str]:
        body = urllib.parse.urlencode(dict(data, csrf_token=token)).encode()
        return self._open(urllib.request.Request(self.base_url + path, data=body))  # noqa: S310

    def _open(self, request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def race(browsers, path: str, forms: list[dict]) -> list[tuple[int, str]]:
    """Each browser opens `path`, then all post their form at once; the answers in order."""
    tokens = [b.token(path) for b in browsers]
    barrier = threading.Barrier(len(browsers))
    answers: list = [None] * len(browsers)

    def post(i):
        barrier.wait(timeout=60)
        answers[i] = browsers[i].post(path, forms[i], tokens[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(answer is not None for answer in answers), "a request never finished"
    return answers


@pytest.fixture
def serve(tmp_path):
    """serve(**settings) -> the app, on a fresh database, served on a loopback port."""
    running = []

    def start(**settings):
        app = make_app(tmp_path, **settings)
        with app.app_context():
            _db.drop_all()
            _db.create_all()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        app.base_url = f"http://127.0.0.1:{server.server_port}"
        running.append((app, server, thread))
        return app

    yield start
    for app, server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            _db.session.remove()
            _db.drop_all()
            _db.engine.dispose()
