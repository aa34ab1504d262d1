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
from tests.factories import PASSWORD

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """One visitor: its own cookies, forms posted with the token of the page they are on."""

    def __init__(self, base_url: str, **headers):
        self.base_url = base_url
        self.headers = headers
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

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

    def form(self, path: str, data: dict) -> tuple[int, str]:
        """Open the form's page, then post `data` with its token; the final page."""
        return self.post(path, data, self.token(path))

    def login(self, username: str, password: str = PASSWORD, **extra) -> bool:
        _status, page = self.form("/login", dict(extra, username=username, password=password))
        return "欢迎" in page

    def logged_in(self) -> bool:
        """Whether a page for logged-in users opens (rather than sending to the login page)."""
        status, page = self.get("/account/password")
        return status == 200 and 'name="current_password"' in page

    def forget_session(self) -> None:
        """Close the browser: the session cookie goes, a remember-me cookie stays."""
        for cookie in list(self.cookies):
            if cookie.name == "session":
                self.cookies.clear(cookie.domain, cookie.path, cookie.name)

    def cookie_names(self) -> set[str]:
        return {cookie.name for cookie in self.cookies}

    def _open(self, request) -> tuple[int, str]:
        for name, value in self.headers.items():
            request.add_header(name.replace("_", "-"), value)
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
