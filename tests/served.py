"""Served apps for tests that need real HTTP: a small browser with its own cookie jar, a
race helper that posts forms at the same moment, and the app served by gunicorn in a
subprocess (as `make run` serves it) for tests that need several processes or hosts."""

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

from marketplace.config import BASE_DIR
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



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, instance: Path, workers: int = 2, **settings):
    """The app served by gunicorn in a subprocess on a free port; yields its base URL.

    `settings` become environment variables (SEARCH_INDEX_DIR=…, FROZEN_TODAY=…).
    """
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, INSTANCE_DIR=str(instance),
               SECRET_KEY="test-only-secret", UPLOAD_DIR=str(instance / "uploads"),
               **{k: str(v) for k, v in settings.items()})
    env.pop("TEST_DATABASE_URL", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "wsgi:app"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base_url + "/healthz", timeout=5):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(process.stderr.read().decode()[-3000:]) from None
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()
