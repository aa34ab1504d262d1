"""A served app for the race tests: a real HTTP server in a thread, and small browsers
(each its own cookie jar) that fetch a form's CSRF token and post it at the same moment."""

import threading

import pytest
from werkzeug.serving import make_server

from marketplace.extensions import db as _db
from tests.conftest import make_app
from tests.served import TOKEN, Browser, race  # noqa: F401 - re-exported for these tests


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
