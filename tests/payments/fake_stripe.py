"""A small local Stripe: the parts of the API the platform uses, a hosted checkout page, and
webhooks signed with Stripe's real scheme (t=…,v1=HMAC-SHA256(secret, "t.payload")).

It speaks HTTP on a loopback port, so the real stripe library talks to it through
STRIPE_API_BASE. Faults are real too: `fail_next("500")` answers an API error, "timeout" answers
later than the client waits, "late" does the work but answers after the client gave up,
"disconnect" closes the connection without an answer.
"""

import hashlib
import hmac
import html
import json
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_test_fake_xunong"
WEBHOOK_SECRET = "whsec_test_fake_xunong"


def _nested(pairs) -> dict:
    """Stripe's form encoding (line_items[0][price_data][unit_amount]=1999) as nested data."""
    out: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(out)


def _lists(node):
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A "disconnect" fault breaks the pipe on purpose: nothing to report."""


class FakeStripe:
    def __init__(self, *, api_key: str = API_KEY, webhook_secret: str = WEBHOOK_SECRET):
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.webhook_url: str | None = None
        self.sessions: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.faults: list[str] = []
        self.idempotent: dict[str, tuple[dict, int, dict]] = {}
        self.events: list[dict] = []  # every event made, in order
        self.queue: list[dict] = []  # events not delivered yet
        self.deliveries: list[tuple[str, int]] = []  # (event id, status answered)
        self.auto_deliver = True  # a checkout's events are sent before the buyer returns
        self.slow_seconds = 3.0
        self.lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # Lifecycle ----------------------------------------------------------------------

    def start(self) -> "FakeStripe":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def fail_next(self, *faults: str) -> None:
        self.faults.extend(faults)

    # Events -------------------------------------------------------------------------

    def event(self, type_: str, obj: dict, *, queue: bool = True) -> dict:
        event = {"id": "evt_" + secrets.token_hex(12), "object": "event",
                 "api_version": "2025-06-30.basil", "created": int(time.time()),
                 "livemode": False, "pending_webhooks": 1, "type": type_,
                 "data": {"object": json.loads(json.dumps(obj))}}
        self.events.append(event)
        if queue:
            self.queue.append(event)
        return event

    def post_event(self, event: dict, *, payload: str | None = None,
                   signature: str | None = "sign", timestamp: int | None = None) -> int:
        """POST one event to the webhook URL, signed (or as told); the status answered."""
        body = payload if payload is not None else json.dumps(event)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
        if signature == "sign":
            headers["Stripe-Signature"] = sign(body, self.webhook_secret, timestamp)
        elif signature is not None:
            headers["Stripe-Signature"] = signature
        request = urllib.request.Request(self.webhook_url, data=body.encode(),  # noqa: S310
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        self.deliveries.append((event.get("id", "?"), status))
        return status

    def deliver(self, *, times: int = 1, reverse: bool = False) -> list[int]:
        """Send every queued event (each `times` times; in reverse order if asked)."""
        events, self.queue = self.queue, []
        if reverse:
            events.reverse()
        return [self.post_event(e) for e in events for _ in range(times)]

    # Acting as the buyer on the hosted page ------------------------------------------

    def pay(self, session_id: str, *, method: str = "card", asynchronous: bool = False) -> str:
        """Complete a session as a buyer would; returns the success URL."""
        session = self.sessions[session_id]
        session["status"] = "complete"
        session["payment_intent"] = "pi_" + secrets.token_hex(12)
        session["payment_method_types_used"] = [method]
        session["payment_status"] = "unpaid" if asynchronous else "paid"
        self.event("checkout.session.completed", session)
        if asynchronous:
            session["payment_status"] = "paid"
            self.event("checkout.session.async_payment_succeeded", session)
        if self.auto_deliver:
            self.deliver()
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)

    def expire(self, session_id: str) -> dict:
        session = self.sessions[session_id]
        session["status"] = "expired"
        return self.event("checkout.session.expired", session)

    def latest_session(self) -> dict:
        return list(self.sessions.values())[-1]

    # The HTTP side --------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: str, content_type="application/json",
                      headers=None):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status, message, type_="invalid_request_error", code=None):
                error = {"type": type_, "message": message}
                if code:
                    error["code"] = code
                self._send(status, json.dumps({"error": error}))

            def _params(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                query = urlsplit(self.path).query
                return _nested(parse_qsl(raw or query, keep_blank_values=True))

            def _fault(self) -> bool:
                with fake.lock:
                    fault = fake.faults.pop(0) if fake.faults else None
                self.late = fault == "late"  # do it, but answer after the client gave up
                if fault == "500":
                    self._error(500, "An unknown error occurred", type_="api_error")
                elif fault == "timeout":
                    time.sleep(fake.slow_seconds)
                    self._error(500, "too late", type_="api_error")
                elif fault == "disconnect":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                return fault is not None and not self.late

            def do_GET(self):  # noqa: N802
                path = urlsplit(self.path).path
                match = re.fullmatch(r"/checkout/(cs_[A-Za-z0-9_]+)", path)
                if match and match.group(1) in fake.sessions:
                    return self._send(200, fake.checkout_page(fake.sessions[match.group(1)]),
                                      "text/html; charset=utf-8")
                if not self._authorised():
                    return None
                match = re.fullmatch(r"/v1/checkout/sessions/(cs_[A-Za-z0-9_]+)", path)
                if match and match.group(1) in fake.sessions:
                    return self._send(200, json.dumps(fake.sessions[match.group(1)]))
                return self._error(404, f"No such resource: {path}", code="resource_missing")

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._error(401, "Invalid API Key provided")
                    return False
                return True

            def do_POST(self):  # noqa: N802
                path = urlsplit(self.path).path
                params = self._params()
                match = re.fullmatch(r"/checkout/(cs_[A-Za-z0-9_]+)/(pay|cancel)", path)
                if match and match.group(1) in fake.sessions:
                    session = fake.sessions[match.group(1)]
                    if match.group(2) == "cancel":
                        return self._send(303, "", headers={"Location": session["cancel_url"]})
                    url = fake.pay(session["id"], method=params.get("method", "card"),
                                   asynchronous=params.get("asynchronous") == "1")
                    return self._send(303, "", headers={"Location": url})
                fake.requests.append(("POST", path, params))
                if not self._authorised() or self._fault():
                    return None
                key = self.headers.get("Idempotency-Key")
                if key and key in fake.idempotent:
                    earlier_params, status, body = fake.idempotent[key]
                    if earlier_params != params:
                        return self._error(400, "Keys for idempotent requests can only be used "
                                                "with the same parameters", type_="idempotency_error")
                    return self._send(status, json.dumps(body))
                status, body = fake.route(path, params)
                if key and status < 500:
                    fake.idempotent[key] = (params, status, body)
                if self.late:
                    time.sleep(fake.slow_seconds)
                return self._send(status, json.dumps(body))

        return Handler

    def route(self, path: str, params: dict) -> tuple[int, dict]:
        if path == "/v1/checkout/sessions":
            return self.create_session(params)
        match = re.fullmatch(r"/v1/checkout/sessions/(cs_[A-Za-z0-9_]+)/expire", path)
        if match and match.group(1) in self.sessions:
            session = self.sessions[match.group(1)]
            if session["status"] != "open":
                return 400, {"error": {"type": "invalid_request_error",
                                       "message": "Only open sessions can be expired."}}
            self.expire(session["id"])
            return 200, session
        if path == "/v1/refunds":
            return self.create_refund(params)
        return 404, {"error": {"type": "invalid_request_error", "message": f"No route {path}"}}

    def create_session(self, params: dict) -> tuple[int, dict]:
        items = params.get("line_items") or []
        try:
            price = items[0]["price_data"]
            amount = int(price["unit_amount"]) * int(items[0].get("quantity", 1))
            currency = price["currency"]
        except (KeyError, IndexError, ValueError, TypeError):
            return 400, {"error": {"type": "invalid_request_error",
                                   "message": "line_items are required"}}
        methods = params.get("payment_method_types") or ["card"]
        if currency != "cny" and {"alipay", "wechat_pay"} & set(methods):
            return 400, {"error": {"type": "invalid_request_error",
                                   "message": "alipay and wechat_pay need cny here"}}
        if "wechat_pay" in methods and params.get("payment_method_options", {}).get(
                "wechat_pay", {}).get("client") != "web":
            return 400, {"error": {"type": "invalid_request_error",
                                   "message": "payment_method_options[wechat_pay][client] is required"}}
        session_id = "cs_test_" + secrets.token_hex(16)
        session = {
            "id": session_id, "object": "checkout.session", "mode": params.get("mode"),
            "amount_total": amount, "amount_subtotal": amount, "currency": currency,
            "status": "open", "payment_status": "unpaid", "payment_intent": None,
            "payment_method_types": methods, "metadata": params.get("metadata", {}),
            "client_reference_id": params.get("client_reference_id"),
            "success_url": params["success_url"], "cancel_url": params["cancel_url"],
            "url": f"{self.base_url}/checkout/{session_id}", "locale": params.get("locale"),
            "expires_at": int(time.time()) + 86400, "livemode": False,
            "product_name": items[0]["price_data"].get("product_data", {}).get("name", ""),
        }
        self.sessions[session_id] = session
        return 200, session

    def create_refund(self, params: dict) -> tuple[int, dict]:
        intent = params.get("payment_intent")
        session = next((s for s in self.sessions.values() if s["payment_intent"] == intent
                        and s["payment_status"] == "paid"), None)
        if session is None:
            return 400, {"error": {"type": "invalid_request_error",
                                   "message": f"No such payment_intent: '{intent}'",
                                   "code": "resource_missing"}}
        amount = int(params.get("amount") or session["amount_total"])
        refunded = sum(r["amount"] for r in self.refunds.values()
                       if r["payment_intent"] == intent and r["status"] != "failed")
        if amount > session["amount_total"] - refunded:
            return 400, {"error": {"type": "invalid_request_error", "code": "amount_too_large",
                                   "message": "Refund amount is greater than unrefunded amount"}}
        refund = {"id": "re_" + secrets.token_hex(12), "object": "refund", "amount": amount,
                  "currency": session["currency"], "payment_intent": intent,
                  "status": "succeeded", "created": int(time.time()),
                  "metadata": params.get("metadata", {})}
        self.refunds[refund["id"]] = refund
        self.event("refund.created", refund)
        return 200, refund

    def checkout_page(self, session: dict) -> str:
        """The hosted checkout page: amount, the offered methods, pay or cancel."""
        amount = f"{session['amount_total'] / 100:.2f}"
        methods = "".join(
            f'<label><input type="radio" name="method" value="{m}"{" checked" if i == 0 else ""}>'
            f" {html.escape(m)}</label>" for i, m in enumerate(session["payment_method_types"]))
        state = html.escape(session["status"])
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>Fake Stripe Checkout</title>"
            "</head><body><h1>Fake Stripe Checkout</h1>"
            f"<p class='product'>{html.escape(session['product_name'])}</p>"
            f"<p class='amount'>CNY {amount}</p><p class='state'>{state}</p>"
            f"<form method='post' action='/checkout/{session['id']}/pay'>{methods}"
            "<label><input type='checkbox' name='asynchronous' value='1'> settles later</label>"
            "<button type='submit'>Pay</button></form>"
            f"<form method='post' action='/checkout/{session['id']}/cancel'>"
            "<button type='submit'>Cancel</button></form></body></html>")
