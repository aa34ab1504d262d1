"""The SMTP edge: the only module that imports smtplib. It knows nothing of the outbox."""

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

#: One plain address (no display name, no list); enough to refuse typos and header tricks.
ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+\.[^@\s<>()\[\],;:\"\\.]+")


def valid_address(value: str) -> bool:
    return len(value) <= 200 and ADDRESS.fullmatch(value) is not None


class MailError(Exception):
    """A mail was not sent. `per_message`: only this mail was refused (others may go)."""

    def __init__(self, text: str, per_message: bool):
        super().__init__(text)
        self.text = text[:2000]
        self.per_message = per_message


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    sender: str
    starttls: bool
    implicit_tls: bool
    timeout: int

    @classmethod
    def from_config(cls, config) -> "SmtpSettings | None":
        """The server to use, or None when SMTP_HOST is not set (mail stays in the outbox)."""
        if not config.get("SMTP_HOST"):
            return None
        sender = config["SMTP_FROM"] or config["SMTP_USER"] or f"noreply@{config['SMTP_HOST']}"
        return cls(config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_USER"],
                   config["SMTP_PASSWORD"], sender, config["SMTP_STARTTLS"],
                   config["SMTP_SSL"], config["SMTP_TIMEOUT"])


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{to}: {code} {_text(msg)}" for to, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SmtpConnection:
    """One connection to the server, opened on the first mail and reused for the rest."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.implicit_tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.starttls and not s.implicit_tls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, to: str, subject: str, body: str) -> None:
        """Hand one plain-text UTF-8 mail to the server, or raise MailError."""
        try:
            message = self._message(to, subject, body)
        except (ValueError, TypeError) as exc:  # an address or header no mail can carry
            raise MailError(_describe(exc), per_message=True) from exc
        try:
            if self._smtp is None:
                self._smtp = self._open()
            self._smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
            raise MailError(_describe(exc), per_message=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(_describe(exc), per_message=False) from exc

    def _message(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        domain = parseaddr(self.settings.sender)[1].rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(body, cte="base64")  # any relay carries it, 8BITMIME or not
        return message

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None
