"""Fixtures: an app on a fresh database per test (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), a test client, and a few logged-in roles."""

import contextvars
import os

import pytest
from flask import has_app_context
from flask.testing import FlaskClient

from marketplace import create_app
from marketplace.catalog import fragments, readmodel
from marketplace.extensions import db as _db
from marketplace.search import index
from tests import factories
from tests.live import LiveServer

#: One Chromium for the whole session, whichever directory a journey lives in.
pytest_plugins = ["tests.browser.fixtures"]


def _database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"


class IsolatedClient(FlaskClient):
    """A test client whose every request runs as a real server runs it: in its own context.

    The `app` fixture keeps an application context open so that test code can use the
    database. Flask would reuse that context for the client's requests, and `flask.g` (the
    logged-in user, "this request's CSRF token was checked") would leak from one request
    into the next. Each request here starts from an empty `contextvars.Context`, so Flask
    pushes a fresh application context and its own database session.

    Before the request the test's session commits (the request, like any other client of
    the database, sees only committed rows, and no lock the test holds can block it); after
    it, the test's objects are expired so that test code reads what the request committed.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            _db.session.commit()
        context = contextvars.Context()
        response = context.run(super().open, *args, **kwargs)
        if response.is_streamed:  # a streamed body is produced in its request's own context
            context.run(response.make_sequence)
            context.run(response.close)
        if has_app_context():
            _db.session.expire_all()
        return response


def make_app(tmp_path, **overrides):
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-only-secret",
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
        "CERT_NOTICE_DAYS": 7,
        "CERT_TERM_DAYS": 365,
        # A real hash, but cheap: scrypt would cost each test a second per user it makes.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    settings.update(overrides)
    # Listings and their rendered fragments are cached per process by database URL and
    # catalogue version; a PostgreSQL database reused by the next test has the same URL and
    # restarts the versions, so neither cache may outlive its test.
    fragments._cache.clear()
    readmodel._cache.clear()
    app = create_app(settings)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        yield app
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()
        index.forget(app.config["SEARCH_INDEX_DIR"])


@pytest.fixture(scope="module")
def world_app(tmp_path_factory):
    """One app on one populated world (tests/world.py), shared by a module's tests.

    For walks whose requests change nothing, or change different objects each.
    """
    from tests.payments.conftest import stripe_settings
    from tests.payments.fake_stripe import FakeStripe
    from tests.world import build_world

    stripe = FakeStripe().start()
    app = make_app(tmp_path_factory.mktemp("world"), **stripe_settings(stripe))
    app.fake_stripe = stripe
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        app.world = build_world(stripe)
        yield app
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()
        index.forget(app.config["SEARCH_INDEX_DIR"])
    stripe.stop()


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
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def places(app):
    return factories.seed_places()


@pytest.fixture
def admin(places):
    return factories.make_user("admin", role="admin")


@pytest.fixture
def officer(places):
    return factories.make_user("officer", role="county_officer", county=places.yuzhou)


@pytest.fixture
def other_officer(places):
    return factories.make_user("officer2", role="county_officer", county=places.yanling)


@pytest.fixture
def producer_org(places):
    return factories.make_producer(places.yuzhou)


@pytest.fixture
def producer(producer_org):
    return factories.make_user("farmer", role="producer", organisation=producer_org)
