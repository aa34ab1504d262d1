"""The only module that talks to Stripe (imports the stripe library); it returns plain dataclasses.

Everything else in the platform calls these functions and sees `GatewayError` (Stripe could not
be reached or refused the request: no payment was made) or `BadSignature` (a webhook that was
not signed by Stripe with our secret, or signed too long ago). Tests point STRIPE_API_BASE at a
local fake server that speaks the same API.
"""

import json
from dataclasses import dataclass, field

import stripe
from flask import current_app


class GatewayError(Exception):
    """Stripe did not do what was asked (unreachable, timed out, answered an error)."""

    def __init__(self, message: str, *, kind: str = "error"):
        super().__init__(message)
        self.kind = kind  # "network", "server", "refused", "auth"


class BadSignature(Exception):
    """The webhook's signature is missing, wrong, malformed, or its timestamp is stale."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    status: str  # open, complete, expired
    payment_status: str  # unpaid, paid, no_payment_required
    amount_total: int
    currency: str
    payment_intent: str | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # pending, succeeded, failed, canceled, requires_action
    amount: int
    currency: str
    payment_intent: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: int
    object: dict  # event.data.object as plain JSON


def configured() -> bool:
    """Online payment is offered only with both the secret key and the webhook secret."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET"))


def payment_method_types() -> list[str]:
    raw = current_app.config.get("STRIPE_PAYMENT_METHODS") or "card"
    return [m.strip() for m in raw.split(",") if m.strip()]


def _client() -> stripe.StripeClient:
    config = current_app.config
    base = config.get("STRIPE_API_BASE") or ""
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
        max_network_retries=0,  # a retry is the person's, with the same idempotency key
        http_client=stripe.RequestsClient(timeout=config.get("STRIPE_TIMEOUT", 15)),
    )


def _translate(exc: stripe.StripeError) -> GatewayError:
    if isinstance(exc, stripe.APIConnectionError):
        return GatewayError(str(exc.user_message or exc), kind="network")
    if isinstance(exc, stripe.AuthenticationError):
        return GatewayError(str(exc.user_message or exc), kind="auth")
    if isinstance(exc, (stripe.InvalidRequestError, stripe.CardError, stripe.IdempotencyError)):
        return GatewayError(str(exc.user_message or exc), kind="refused")
    return GatewayError(str(exc.user_message or exc), kind="server")


def _plain(obj) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _session(obj) -> CheckoutSession:
    obj = _plain(obj)
    pi = obj.get("payment_intent")
    return CheckoutSession(
        id=obj["id"], url=obj.get("url") or "", status=obj.get("status") or "",
        payment_status=obj.get("payment_status") or "", amount_total=int(obj.get(
            "amount_total") or 0), currency=(obj.get("currency") or "").lower(),
        payment_intent=pi if isinstance(pi, str) or pi is None else pi.get("id"),
        metadata=dict(obj.get("metadata") or {}),
    )


def create_checkout_session(*, amount_fen: int, name: str, reference: str, success_url: str,
                            cancel_url: str, idempotency_key: str, metadata: dict,
                            locale: str = "auto") -> CheckoutSession:
    """One Checkout session in CNY for `amount_fen`, offering the configured methods."""
    methods = payment_method_types()
    params = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": "cny", "unit_amount": amount_fen,
            "product_data": {"name": name}}}],
        "payment_method_types": methods,
        "client_reference_id": reference,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": locale,
    }
    if "wechat_pay" in methods:
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    try:
        obj = _client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key})
    except stripe.StripeError as exc:
        raise _translate(exc) from None
    return _session(obj)


def expire_checkout_session(session_id: str) -> CheckoutSession:
    try:
        return _session(_client().v1.checkout.sessions.expire(session_id))
    except stripe.StripeError as exc:
        raise _translate(exc) from None


def create_refund(*, payment_intent: str, amount_fen: int, idempotency_key: str,
                  metadata: dict) -> RefundResult:
    try:
        obj = _client().v1.refunds.create(
            params={"payment_intent": payment_intent, "amount": amount_fen,
                    "metadata": metadata},
            options={"idempotency_key": idempotency_key})
    except stripe.StripeError as exc:
        raise _translate(exc) from None
    obj = _plain(obj)
    return RefundResult(id=obj["id"], status=obj.get("status") or "",
                        amount=int(obj.get("amount") or 0),
                        currency=(obj.get("currency") or "").lower(),
                        payment_intent=obj.get("payment_intent"))


def parse_webhook(payload: bytes, signature: str | None) -> WebhookEvent:
    """Verify the Stripe-Signature header offline and return the event; else BadSignature."""
    config = current_app.config
    secret = config.get("STRIPE_WEBHOOK_SECRET") or ""
    if not secret:
        raise BadSignature("no webhook secret is configured")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature or "", secret,
            tolerance=config.get("STRIPE_WEBHOOK_TOLERANCE", 300))
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise BadSignature(str(exc)) from None
    try:
        data = json.loads(payload)
        obj = data["data"]["object"]
        if not isinstance(obj, dict):
            raise TypeError("object")
        return WebhookEvent(id=str(data["id"]), type=str(data["type"]),
                            created=int(data.get("created") or 0), object=obj)
    except (ValueError, KeyError, TypeError) as exc:
        raise BadSignature(f"signed but not an event: {exc}") from None
