"""A local SMTP server per test, and the app pointed at it."""

import pytest

from tests.notices.smtp_server import SmtpServer
from tests.orders.conftest import market  # noqa: F401 - the purchasing fixture, reused here


@pytest.fixture
def smtp(app):
    """A plain SMTP server on a free port; the app sends to it (no TLS, no login)."""
    server = SmtpServer()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_STARTTLS=False,
                      SMTP_USER="", SMTP_PASSWORD="", SMTP_FROM="许农优品 <noreply@xnyp.example.org>")
    yield server
    server.stop()
