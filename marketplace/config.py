"""Configuration: the only module that reads os.environ."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Use SECRET_KEY, or a random key kept in instance/ so sessions survive a restart.

    The key is never committed: instance/ is ignored by git.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    SECRET_KEY = None  # filled in by load_config so importing this module writes nothing
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a hashing method, not a password
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'xunong.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = _int("MAX_UPLOAD_MB", 12) * 1024 * 1024
    MAX_IMAGE_BYTES = _int("MAX_IMAGE_MB", 5) * 1024 * 1024
    MAX_DOCUMENT_BYTES = _int("MAX_DOCUMENT_MB", 10) * 1024 * 1024
    MAX_IMAGE_PIXELS = _int("MAX_IMAGE_PIXELS", 40_000_000)  # checked in the header first

    # Certification policy (local policy choices, so configuration rather than constants).
    CERT_NOTICE_DAYS = _int("CERT_NOTICE_DAYS", 7)
    CERT_TERM_DAYS = _int("CERT_TERM_DAYS", 730)
    CERT_NUMBER_PREFIX = os.environ.get("CERT_NUMBER_PREFIX", "XNYP")
    # A price raised above the certified price by more than this sends the product back
    # for review (the reviewers' test: not above the local market); a cut never does.
    CERT_PRICE_MARGIN_PERCENT = _int("CERT_PRICE_MARGIN_PERCENT", 20)

    # How many reverse proxies in front of the app set X-Forwarded-For and -Proto.
    # 0 trusts none of these headers (a client could forge them); behind one nginx, 1.
    PROXY_COUNT = _int("PROXY_COUNT", 0)

    # Login throttling, counted in the database (see accounts/services.py). Per (account,
    # client address) pair: LOGIN_FREE_FAILURES failures, then each further attempt waits
    # LOGIN_DELAY_SECONDS, doubling with each failure up to LOGIN_MAX_DELAY_SECONDS; failures
    # older than LOGIN_WINDOW_MINUTES or before the pair's last success are forgotten.
    LOGIN_FREE_FAILURES = _int("LOGIN_FREE_FAILURES", 5)
    LOGIN_DELAY_SECONDS = _int("LOGIN_DELAY_SECONDS", 30)
    LOGIN_MAX_DELAY_SECONDS = _int("LOGIN_MAX_DELAY_SECONDS", 900)
    LOGIN_WINDOW_MINUTES = _int("LOGIN_WINDOW_MINUTES", 1440)
    # Per client address, across accounts (credential stuffing): failures in the window.
    LOGIN_MAX_FAILURES_PER_IP = _int("LOGIN_MAX_FAILURES_PER_IP", 100)
    LOGIN_IP_WINDOW_MINUTES = _int("LOGIN_IP_WINDOW_MINUTES", 15)
    # Registration attempts allowed per client address in the window.
    REGISTER_MAX_PER_IP = _int("REGISTER_MAX_PER_IP", 10)
    REGISTER_WINDOW_MINUTES = _int("REGISTER_WINDOW_MINUTES", 60)
    # How long an administrator-issued password reset link stays valid.
    PASSWORD_RESET_HOURS = _int("PASSWORD_RESET_HOURS", 24)

    # Purchasing: hours a producer has to accept or decline a routed sub-order (past it the
    # sub-order shows as overdue and the buyer may cancel), and how far ahead delivery may be.
    ORDER_ACCEPT_HOURS = _int("ORDER_ACCEPT_HOURS", 24)
    ORDER_MAX_DAYS_AHEAD = _int("ORDER_MAX_DAYS_AHEAD", 60)

    # Mail: notices are also written to an outbox, which `flask mail send` drains over SMTP.
    # No SMTP_HOST: nothing is sent and the administrator reads the outbox at /admin/outbox.
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = _int("SMTP_PORT", 587)
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_FROM = os.environ.get("SMTP_FROM", "")  # e.g. "许农优品 <noreply@example.org>"
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", True)
    SMTP_SSL = _bool("SMTP_SSL", False)  # TLS from the first byte (port 465) instead
    SMTP_TIMEOUT = _int("SMTP_TIMEOUT", 30)
    # A failed mail is tried again after MAIL_RETRY_MINUTES, doubling each time, and given
    # up after MAIL_MAX_ATTEMPTS tries (the administrator can queue it again).
    MAIL_MAX_ATTEMPTS = _int("MAIL_MAX_ATTEMPTS", 5)
    MAIL_RETRY_MINUTES = _int("MAIL_RETRY_MINUTES", 5)
    # The address mails link to, e.g. "https://xnyp.example.org"; empty: the requested host.
    SITE_URL = os.environ.get("SITE_URL", "")
    # A CJK TrueType font to embed in delivery-note PDFs; empty: the first one found on the
    # machine (WenQuanYi …), else (or when set to "STSong-Light") embed none and let the PDF
    # reader supply its own Song typeface.
    PDF_FONT = os.environ.get("PDF_FONT", "")
    # Reports: risk-signal thresholds (风险监测) and the plan's 2025 targets, all local choices.
    REPORT_SLOW_DAYS = _int("REPORT_SLOW_DAYS", 60)  # stock but no sale for this many days
    REPORT_EXPIRY_DAYS = _int("REPORT_EXPIRY_DAYS", 30)  # certificates ending within
    REPORT_PRICE_ABOVE_PERCENT = _int("REPORT_PRICE_ABOVE_PERCENT", 30)  # over the reference
    REPORT_DROP_MONTHS = _int("REPORT_DROP_MONTHS", 3)  # last N months against the N before
    REPORT_DROP_PERCENT = _int("REPORT_DROP_PERCENT", 50)  # a fall of more than this
    REPORT_DROP_MIN_YUAN = _int("REPORT_DROP_MIN_YUAN", 1000)  # ignore producers selling less
    TARGET_PROVINCIAL_BRANDS = _int("TARGET_PROVINCIAL_BRANDS", 60)
    TARGET_GREEN_FOOD = _int("TARGET_GREEN_FOOD", 100)
    TARGET_CERTIFIED_PRODUCTS = _int("TARGET_CERTIFIED_PRODUCTS", 500)
    TARGET_CERTIFIED_PRODUCERS = _int("TARGET_CERTIFIED_PRODUCERS", 100)
    TARGET_COUNTY_COVERAGE = _int("TARGET_COUNTY_COVERAGE", 8)
    # Payments. The platform's bank account (收款账户) that buyers transfer to, shown on the
    # payment page and the printable statement; the platform pays producers out from it.
    PAYEE_NAME = os.environ.get("PAYEE_NAME", "许昌市消费帮扶服务中心")
    PAYEE_BANK = os.environ.get("PAYEE_BANK", "中国农业银行许昌分行营业部")
    PAYEE_ACCOUNT = os.environ.get("PAYEE_ACCOUNT", "1625 0101 0400 0000 0")
    # Every received sub-order has a payment reference: this prefix, the sub-order id in 8
    # digits and 2 check digits (ISO 7064 mod 97-10), e.g. XN0000004217 plus its check.
    PAYMENT_REFERENCE_PREFIX = os.environ.get("PAYMENT_REFERENCE_PREFIX", "XN")
    # Stripe (online payment). Without the secret key and the webhook signing secret the
    # online option is hidden and the payment page says why; bank transfer always works.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    # Another API address (tests point it at a local fake server); empty means Stripe's own.
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
    # Where Stripe's hosted checkout page lives: the payment page's Content-Security-Policy
    # lets its "pay online" form be redirected there (form-action), and nowhere else.
    STRIPE_CHECKOUT_ORIGIN = os.environ.get("STRIPE_CHECKOUT_ORIGIN", "https://checkout.stripe.com")
    STRIPE_PAYMENT_METHODS = os.environ.get("STRIPE_PAYMENT_METHODS", "card,alipay,wechat_pay")
    STRIPE_TIMEOUT = float(os.environ.get("STRIPE_TIMEOUT", "15"))
    # A webhook whose signature timestamp is older than this many seconds is refused.
    STRIPE_WEBHOOK_TOLERANCE = _int("STRIPE_WEBHOOK_TOLERANCE", 300)

    CATALOGUE_PAGE_SIZE = _int("CATALOGUE_PAGE_SIZE", 24)
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR", str(INSTANCE_DIR / "search-index"))
    SEARCH_PAGE_SIZE = _int("SEARCH_PAGE_SIZE", 20)
    SEARCH_WRITE_TIMEOUT = float(os.environ.get("SEARCH_WRITE_TIMEOUT", "60"))
    # Seconds of recent changes every replay looks at again (a transaction that took its
    # change id before another one but committed after it is still applied).
    SEARCH_REPLAY_OVERLAP = _int("SEARCH_REPLAY_OVERLAP", 60)

    # Responses are compressed by the app (brotli or gzip), except pages that carry a CSRF
    # token (see web._compress_if_safe); static files are served under content-hashed names
    # (`flask digest compile`) with a year's cache lifetime.
    COMPRESS_REGISTER = False
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_ALGORITHM_STREAMING = ["br", "deflate"]
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript",
                          "application/json", "image/svg+xml", "text/plain"]
    FLASK_STATIC_DIGEST_COMPRESSION = []  # no .gz/.br copies: the app compresses on the fly
    STATIC_MAX_AGE = 365 * 24 * 3600

    BABEL_DEFAULT_LOCALE = "zh"
    LANGUAGES = {"zh": "中文", "en": "English"}
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "marketplace" / "translations")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=_int("REMEMBER_DAYS", 30))
    WTF_CSRF_TIME_LIMIT = None  # a form left open over lunch still submits; the token is per session

    # A fixed "today" (YYYY-MM-DD) for demonstrations and tests; never set in production.
    FROZEN_TODAY = os.environ.get("FROZEN_TODAY")


class TestConfig(Config):
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - cheap: thousands of users are made in tests
    TESTING = True
    SECRET_KEY = "test-only-secret"  # noqa: S105 - never used outside tests
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")


def load_config(config) -> dict:
    """Return the settings for create_app as a dict, resolving the secret key."""
    config = config or Config
    if isinstance(config, dict):
        values = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
        values.update(config)
    else:
        values = {k: getattr(config, k) for k in dir(config) if k.isupper()}
    if not values.get("SECRET_KEY"):
        values["SECRET_KEY"] = _secret_key()
    return values
