"""A real SMTP server on a free local port (aiosmtpd), keeping what arrives for the test."""

import asyncio
import email
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    recipients: list[str]
    sender: str
    subject: str
    body: str
    message: email.message.EmailMessage
    connection: int  # which client connection delivered it


@dataclass
class Inbox:
    """The handler: accepts (or refuses) mail and keeps every message it accepts."""

    refuse: str = ""  # e.g. "550 5.1.1 No such mailbox": refuse every recipient
    hold_first_until_connections: int = 0  # keep the first DATA waiting for more clients
    received: list[Received] = field(default_factory=list)
    connections: dict = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.connections.setdefault(id(session), len(self.connections) + 1)
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hold_first_until_connections and not self.received:
            for _ in range(1000):  # at most ~20 s, then go on anyway
                if len(self.connections) >= self.hold_first_until_connections:
                    break
                await asyncio.sleep(0.02)
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append(Received(list(envelope.rcpt_tos), envelope.mail_from,
                                      str(message["Subject"]), message.get_content(), message,
                                      self.connections[id(session)]))
        return "250 Message accepted for delivery"


def self_signed_certificate(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 made with the openssl command (no download)."""
    cert, key = str(directory / "cert.pem"), str(directory / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def password_check(user: str, password: str):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)  # the server answers 235 or 535
    return authenticator


class SmtpServer:
    """Start with `SmtpServer(Inbox(), **aiosmtpd options)`; `.port`, `.inbox`, `.stop()`."""

    def __init__(self, inbox: Inbox | None = None, **options):
        self.inbox = inbox or Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     **options)
        self.controller.start()

    @property
    def received(self) -> list[Received]:
        return self.inbox.received

    def stop(self) -> None:
        """Stop listening (again is fine)."""
        if self.controller._thread is not None:
            self.controller.stop()
