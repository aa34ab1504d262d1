"""Browser journeys: the real app served on a loopback port, driven by headless Chromium."""

import gc
import os
import shutil
import threading
import warnings

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from marketplace.extensions import db as _db
from tests.conftest import make_app

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def closing(wsgi_app):
    """Hand the server each response whole, with its file already closed.

    werkzeug's development server leaves a static or download file open when the browser
    drops the connection mid-response (its clean-up reads the dead socket first and never
    reaches close()). The ResourceWarning then surfaced, via filterwarnings=error, as an
    error in whichever test happened to be running when the file was collected.
    """

    def app(environ, start_response):
        body = wsgi_app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return app


class LiveServer:
    """The app on a loopback port, one thread per request; stop() waits for all of them."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, closing(app), threaded=True)
        self.server.daemon_threads = False  # tracked, so server_close() joins them
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.stopped = False

    def stop(self) -> list[str]:
        """Stop serving, close the socket, join the request threads; return any leaks."""
        if self.stopped:
            return []
        self.stopped = True
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            self.server.shutdown()
            self.thread.join(timeout=10)
            self.server.server_close()
            gc.collect()
        return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.fixture
def live_app(tmp_path):
    """The app on a fresh database, served by a real HTTP server in a thread."""
    app = make_app(tmp_path)
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    app.server = LiveServer(app)
    app.base_url = f"http://127.0.0.1:{app.server.port}"
    yield app
    leaks = app.server.stop()
    with app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()
    assert not leaks, f"the test server left resources open: {leaks}"


@pytest.fixture
def new_page(browser, live_app):
    """Open a fresh browser context (its own cookies) per person in the journey."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=live_app.base_url, locale="zh-CN", **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
