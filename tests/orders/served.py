"""The app served the way `make run` serves it (gunicorn, several sync worker processes), and a
plain HTTP visitor with its own cookies: what racing purchasers need."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from marketplace.config import BASE_DIR
from tests.factories import PASSWORD
from tests.helpers import TOKEN

GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(config: dict, tmp_dir: Path, workers: int = 4):
    """Serve wsgi:app with `workers` sync workers on the given settings; yield the base URL."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
               SECRET_KEY=config["SECRET_KEY"], UPLOAD_DIR=config["UPLOAD_DIR"],
               SEARCH_INDEX_DIR=config["SEARCH_INDEX_DIR"], INSTANCE_DIR=str(tmp_dir),
               CERT_NOTICE_DAYS=str(config["CERT_NOTICE_DAYS"]),
               CERT_TERM_DAYS=str(config["CERT_TERM_DAYS"]))
    log = open(tmp_dir / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(GUNICORN), "--workers", str(workers), "--worker-class", "sync", "--timeout", "120",
         "--preload",  # import the app once, then fork: same workers, a quarter of the start-up
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, tmp_dir / "gunicorn.log")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_until_up(base: str, process, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/login", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer: {log_path.read_text()[-2000:]}")


@dataclass
class Reply:
    status: int
    text: str
    location: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Visitor:
    """One person's browser, minus the browser: cookies, CSRF tokens from pages, no redirects."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def _open(self, path: str, body: bytes | None = None) -> Reply:
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310
        try:
            with self.opener.open(request, timeout=120) as response:
                return Reply(response.status, response.read().decode(), "")
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read().decode(), exc.headers.get("Location", ""))

    def get(self, path: str) -> Reply:
        return self._open(path)

    def post(self, path: str, data: dict) -> Reply:
        return self._open(path, urllib.parse.urlencode(data, doseq=True).encode())

    def token(self, page: str) -> str:
        reply = self.get(page)
        match = TOKEN.search(reply.text)
        assert match, f"no CSRF token on {page} ({reply.status})"
        return match.group(1)

    def post_form(self, path: str, data: dict, *, page: str | None = None) -> Reply:
        return self.post(path, dict(data, csrf_token=self.token(page or path)))

    def login(self, username: str, password: str = PASSWORD) -> "Visitor":
        reply = self.post_form("/login", {"username": username, "password": password})
        assert reply.status == 302, f"{username} could not log in: {reply.status}"
        return self


def idempotency_key(page_text: str) -> str:
    return re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page_text).group(1)
