"""Purchasing benchmark: submitting orders, the order lists, and a load run against gunicorn.

    python bench/orders.py [--databases sqlite,postgresql] [--products 100000] [--lines 1000000]
                           [--workdir DIR [--reuse]] [--submits 100] [--load-seconds 30]
                           [--purchasers 50]

For each database it builds (or, with --reuse, finds in the workdir) a catalogue of 100,000
products with 1,000,000 order lines of history (`flask demo generate --orders`), the schema
from the migrations; PostgreSQL runs in a throw-away cluster started like scripts/pg.sh does.
Then it measures, through the test client with the real CSRF tokens:

- submitting a 10-line purchase order from three or four producers (POST /cart/checkout; the
  cart is filled beforehand), p50 / p95 / max;
- a buyer's and a producer's order list pages (first page, a later page, a status filter);

and runs 50 purchasers at once against gunicorn started as `make run` starts it (2 workers)
for a fixed time: each logs in, fills a cart, opens it and submits. One product has little
stock and half the carts want it. Afterwards it checks that exactly its stock was sold (no
unit oversold, no order half-made: every order has its parts, every part its lines, every
line its stock movement, and the ledger sums to the stock). It prints one line per figure and,
last, one JSON object with all of them.
"""

import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import free_port, percentile  # noqa: E402
from marketplace import create_app  # noqa: E402
from marketplace.extensions import db  # noqa: E402

PASSWORD = "bench-password"  # noqa: S105 - throw-away accounts in a scratch database
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key"[^>]*value="([^"]+)"')
ADDRESS = re.compile(r'<option[^>]*value="(\d+)"')
CART_ROW = re.compile(r'href="/products/(\d+)".*?/cart/lines/(\d+)/remove', re.S)
BUDGETS = {"submit_p95_ms": 100, "list_p95_ms": 50}


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def summary(samples: list[float], cpu: list[float]) -> dict:
    """Wall-clock p50 / p95 / max, and this process's CPU time per request (p50 / p95): on a
    machine shared with other work the wall clock includes waiting for a core."""
    return {"p50": round(statistics.median(samples), 1), "p95": round(percentile(samples, 95), 1),
            "max": round(max(samples), 1), "n": len(samples),
            "cpu_p50": round(statistics.median(cpu), 1), "cpu_p95": round(percentile(cpu, 95), 1)}


# A throw-away PostgreSQL cluster, kept in the workdir so --reuse finds its data again. ----


class Postgres:
    def __init__(self, directory: Path):
        self.dir = directory
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                          key=lambda p: int(p.parent.name))[-1]
        self.port = free_port()

    def _run(self, command: str) -> None:
        if os.getuid() == 0:
            subprocess.run(["su", "postgres", "-s", "/bin/bash", "-c", command], check=True)
        else:
            subprocess.run(["bash", "-c", command], check=True)

    def start(self) -> str:
        fresh = not (self.dir / "data").exists()
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        if fresh:
            self._run(f"{self.bin}/initdb -D {self.dir}/data -U postgres -A trust -E UTF8 "
                      f"--locale=C.UTF-8 --no-sync >/dev/null")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(f'{self.bin}/pg_ctl -D {self.dir}/data -l {self.dir}/log -w -o "{options}" '
                  f"start >/dev/null")
        if fresh:
            self._run(f"{self.bin}/createdb -h 127.0.0.1 -p {self.port} -U postgres xunong")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/xunong"

    def stop(self) -> None:
        self._run(f"{self.bin}/pg_ctl -D {self.dir}/data -m fast stop >/dev/null")


# Data ------------------------------------------------------------------------------------


def prepare(app, args, figures: dict) -> None:
    """The catalogue and order history (generated once), then bench accounts."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from marketplace.catalog.models import Product
    from marketplace.demo.generate import generate
    from marketplace.demo.orders import generate_orders
    from marketplace.orders.models import OrderLine

    upgrade(directory=str(ROOT / "migrations"))
    products = db.session.scalar(db.select(db.func.count(Product.id)))
    if not products:
        started = time.perf_counter()
        generate(producers=args.producers, products=args.products, password=PASSWORD,
                 with_accounts=False)
        figures["generate_products_s"] = round(time.perf_counter() - started, 1)
        print(f"  generated {args.products} products in {figures['generate_products_s']} s")
    lines = db.session.scalar(db.select(db.func.count(OrderLine.id)))
    if lines < args.lines:
        started = time.perf_counter()
        result = generate_orders(lines=args.lines - lines)
        figures["generate_orders_s"] = round(time.perf_counter() - started, 1)
        print(f"  generated {result.lines} order lines ({result.orders} purchase orders, "
              f"{result.sub_orders} sub-orders) in {figures['generate_orders_s']} s")
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: statistics, and the visibility map
        # that lets a count be answered from an index.
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    figures["products"] = db.session.scalar(db.select(db.func.count(Product.id)))
    figures["order_lines"] = db.session.scalar(db.select(db.func.count(OrderLine.id)))


def bench_accounts(count: int) -> dict:
    """Purchasers spread over the buyer organisations, and the busiest producer's login."""
    from marketplace.accounts.models import User
    from marketplace.orders.models import PurchaseOrder, SubOrder
    from marketplace.organisations.models import Organisation

    buyers = list(db.session.scalars(db.select(Organisation.id).where(
        Organisation.kind == "buyer", Organisation.status == "verified")
        .order_by(Organisation.id)))
    busiest_buyer = db.session.execute(
        db.select(PurchaseOrder.buyer_org_id, db.func.count()).group_by(
            PurchaseOrder.buyer_org_id).order_by(db.func.count().desc())).first()[0]
    busiest_producer = db.session.execute(
        db.select(SubOrder.producer_org_id, db.func.count()).group_by(
            SubOrder.producer_org_id).order_by(db.func.count().desc())).first()[0]
    template = User(username="x", display_name="x", role="buyer")
    template.set_password(PASSWORD)
    wanted = [(f"bench-buyer-{i:02d}", "buyer", busiest_buyer if i == 0 else buyers[i % len(
        buyers)]) for i in range(count)]
    wanted.append(("bench-producer", "producer", busiest_producer))
    existing = set(db.session.scalars(db.select(User.username).where(
        User.username.like("bench-%"))))
    for username, role, org_id in wanted:
        if username not in existing:
            db.session.add(User(username=username, display_name=username, role=role,
                                organisation_id=org_id, password_hash=template.password_hash))
    db.session.commit()
    return {"purchasers": [w[0] for w in wanted[:-1]], "producer": "bench-producer",
            "buyer_orders": db.session.scalar(db.select(db.func.count(PurchaseOrder.id)).where(
                PurchaseOrder.buyer_org_id == busiest_buyer)),
            "producer_sub_orders": db.session.scalar(db.select(db.func.count(SubOrder.id)).where(
                SubOrder.producer_org_id == busiest_producer))}


def orderable_by_producer(minimum_stock: int = 200) -> dict[int, list[int]]:
    """Orderable products with plenty of stock, by producer (producers with four or more)."""
    from marketplace.catalog.availability import orderable_sql
    from marketplace.catalog.models import Product
    from marketplace.clock import today
    from marketplace.organisations.models import Organisation

    rows = db.session.execute(
        db.select(Product.organisation_id, Product.id).join(
            Organisation, Organisation.id == Product.organisation_id)
        .where(orderable_sql(today()), Product.stock >= Product.min_order_qty * minimum_stock))
    by_producer: dict[int, list[int]] = {}
    for org_id, product_id in rows:
        by_producer.setdefault(org_id, []).append(product_id)
    return {k: v for k, v in by_producer.items() if len(v) >= 4}


def ten_lines(rng, by_producer) -> list[int]:
    """Ten products from three or four producers, as a canteen's daily order looks."""
    producers = rng.sample(sorted(by_producer), rng.choice((3, 4)))
    picked: list[int] = []
    while len(picked) < 10:
        for org_id in producers:
            choices = [p for p in by_producer[org_id] if p not in picked]
            if choices and len(picked) < 10:
                picked.append(rng.choice(choices))
    return picked


# In-process figures through the test client --------------------------------------------


def login(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": TOKEN.search(page).group(1)})
    assert response.status_code == 302, (username, response.status_code)


def measure_submit(app, accounts: dict, by_producer, count: int) -> dict:
    """POST /cart/checkout of a 10-line cart; the cart is filled (untimed) before each."""
    from marketplace.accounts.models import User
    from marketplace.catalog.models import Product
    from marketplace.orders.cart import add_to_cart
    from marketplace.orders.models import SubOrder

    rng = random.Random(7)
    client = app.test_client()
    username = accounts["purchasers"][0]
    login(client, username)
    samples, cpu, subs = [], [], []
    for i in range(count + 5):
        with app.app_context():
            user = db.session.scalar(db.select(User).where(User.username == username))
            for product_id in ten_lines(rng, by_producer):
                product = db.session.get(Product, product_id)
                add_to_cart(user, product, str(product.min_order_qty))
        page = client.get("/cart").get_data(as_text=True)
        data = {"csrf_token": TOKEN.search(page).group(1),
                "idempotency_key": KEY.search(page).group(1),
                "address_id": ADDRESS.search(page).group(1),
                "delivery_date": (date.today() + timedelta(days=1)).isoformat(), "window": "",
                "invoice_title": "", "tax_number": "", "notes": "bench"}
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.post("/cart/checkout", data=data)
        elapsed = time.perf_counter() - started
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        if i >= 5:  # the first few warm the process: templates, caches, connections
            samples.append(elapsed * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        order_id = int(response.headers["Location"].rsplit("/", 1)[1])
        with app.app_context():
            subs.append(db.session.scalar(db.select(db.func.count(SubOrder.id)).where(
                SubOrder.purchase_order_id == order_id)))
    result = summary(samples, cpu)
    result["sub_orders_per_order"] = round(statistics.mean(subs), 1)
    return result


def measure_lists(app, accounts: dict, repeat: int) -> dict:
    """A buyer's and a producer's order lists: first page, a later page, a status filter."""
    pages = {
        "buyer": (accounts["purchasers"][0], ["/orders", "/orders?page=40",
                                              "/orders?status=completed",
                                              "/orders?status=in_progress"]),
        "producer": (accounts["producer"], ["/my/orders", "/my/orders?page=10",
                                            "/my/orders?status=received",
                                            "/my/orders?status=pending"]),
    }
    out = {}
    for who, (username, urls) in pages.items():
        client = app.test_client()
        login(client, username)
        for url in urls:
            assert client.get(url).status_code == 200, url
        samples, cpu = [], []
        for _ in range(repeat):
            for url in urls:
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                assert response.status_code == 200, url
        out[who] = summary(samples, cpu)
    return out


# The load run against gunicorn ----------------------------------------------------------


class Purchaser(threading.Thread):
    """One browser: logs in, then fills a cart, opens it and submits, until time is up."""

    def __init__(self, port, username, quantities, scarce, clock, seed):
        super().__init__(daemon=True)
        self.port, self.username, self.scarce, self.clock = port, username, scarce, clock
        self.quantities = quantities  # product id -> quantity to order (its minimum)
        self.pool = sorted(p for p in quantities if p != scarce)
        self.rng = random.Random(seed)
        self.cookie = ""
        self.orders, self.refused, self.errors = [], 0, []
        self.checkout_ms, self.request_ms = [], []

    def request(self, method, path, form=None):
        body = urlencode(form) if form is not None else None
        headers = {"Cookie": self.cookie}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        self.request_ms.append((time.perf_counter() - started) * 1000)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, response.getheader("Location") or "", text

    def run(self):
        try:
            _, _, page = self.request("GET", "/login")
            token = TOKEN.search(page).group(1)
            status, _, _ = self.request("POST", "/login", {
                "username": self.username, "password": PASSWORD, "csrf_token": token})
            assert status == 302, f"login {status}"
            _, _, page = self.request("GET", "/orders")
            token = TOKEN.search(page).group(1)
        except Exception as exc:  # noqa: BLE001 - reported, and the run counts as failed
            self.errors.append(repr(exc))
        self.clock["start"].wait()  # the run starts when every purchaser is logged in
        self.request_ms, self.checkout_ms = [], []
        try:
            while not self.errors and time.monotonic() < self.clock["deadline"]:
                self.one_order(token)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(repr(exc))

    def one_order(self, token):
        products = self.rng.sample(self.pool, self.rng.randint(2, 5))
        if self.rng.random() < 0.5:
            products.append(self.scarce)
        for product_id in products:
            self.request("POST", f"/cart/add/{product_id}",
                         {"quantity": self.quantities[product_id], "csrf_token": token})
        status, _, page = self.request("GET", "/cart")
        for _attempt in range(2):
            key = KEY.search(page)
            if key is None:  # nothing left in the cart
                return
            form = {"csrf_token": token, "idempotency_key": key.group(1),
                    "address_id": ADDRESS.search(page).group(1),
                    "delivery_date": (date.today() + timedelta(days=1)).isoformat(),
                    "window": "", "invoice_title": "", "tax_number": "", "notes": ""}
            started = time.perf_counter()
            status, location, page = self.request("POST", "/cart/checkout", form)
            self.checkout_ms.append((time.perf_counter() - started) * 1000)
            if status == 302 and "/orders/" in location:
                self.orders.append(int(location.rsplit("/", 1)[1]))
                return
            assert status == 400, f"checkout {status}"
            self.refused += 1
            # The scarce product ran out meanwhile: take it out of the cart and submit again.
            for product_id, line_id in CART_ROW.findall(page):
                if int(product_id) == self.scarce:
                    self.request("POST", f"/cart/lines/{line_id}/remove",
                                 {"csrf_token": token})
            status, _, page = self.request("GET", "/cart")


def load_run(app, url: str, workdir: Path, accounts: dict, seconds: int) -> dict:
    with app.app_context():
        scarce, initial, quantities, before = _load_setup(accounts)
    purchasers, elapsed = _serve_and_buy(url, workdir, accounts, quantities, scarce, seconds)
    with app.app_context():
        return _load_check(purchasers, elapsed, scarce, initial, before)


def _load_setup(accounts: dict):
    from marketplace.accounts.models import User
    from marketplace.catalog import stock
    from marketplace.catalog.models import Product
    from marketplace.orders.cart import clear_cart
    from marketplace.orders.models import PurchaseOrder

    # The scarce product: a recount by its producer leaves it little stock.
    by_producer = orderable_by_producer()
    org_id = sorted(by_producer)[len(by_producer) // 2]
    scarce = db.session.get(Product, by_producer[org_id][0])
    owner = db.session.scalar(db.select(User).where(User.username == "bench-scarce"))
    if owner is None:
        owner = User(username="bench-scarce", display_name="bench", role="producer",
                     organisation_id=org_id)
        owner.set_password(PASSWORD)
        db.session.add(owner)
        db.session.commit()
    owner.organisation_id = org_id
    db.session.commit()
    units = 20  # sells out within seconds when half of 50 purchasers want it
    stock.adjust_stock(owner, scarce, "recount", str(scarce.min_order_qty * units))
    initial = db.session.get(Product, scarce.id).stock
    pool = [p for org, products in list(by_producer.items())[:60] for p in products[:3]
            if p != scarce.id]
    quantities = {p.id: str(p.min_order_qty) for p in db.session.scalars(
        db.select(Product).where(Product.id.in_(pool + [scarce.id])))}
    users = list(db.session.scalars(db.select(User).where(
        User.username.in_(accounts["purchasers"]))))
    for user in users:
        clear_cart(user)
    db.session.commit()
    before = db.session.scalar(db.select(db.func.max(PurchaseOrder.id))) or 0
    return scarce.id, initial, quantities, before


def _serve_and_buy(url, workdir, accounts, quantities, scarce, seconds):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench",
               SEARCH_INDEX_DIR=str(workdir / "search-index"), UPLOAD_DIR=str(workdir / "up"))
    env.pop("FROZEN_TODAY", None)
    # As `make run` starts it (WORKERS defaults to 2, with an access log).
    log = (workdir / "gunicorn.log").open("ab")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind",
         f"127.0.0.1:{port}", "--access-logfile", "-", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        clock: dict = {}

        def go():
            clock["started"] = time.monotonic()
            clock["deadline"] = clock["started"] + seconds

        clock["start"] = threading.Barrier(len(accounts["purchasers"]), action=go)
        purchasers = [Purchaser(port, user, quantities, scarce, clock, seed)
                      for seed, user in enumerate(accounts["purchasers"])]
        for purchaser in purchasers:
            purchaser.start()
        for purchaser in purchasers:
            purchaser.join(timeout=seconds + 600)
        elapsed = time.monotonic() - clock["started"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    return purchasers, elapsed


def _load_check(purchasers, elapsed, scarce, initial, before) -> dict:
    """What the database says: every order whole, the scarce product sold exactly once over."""
    from marketplace.catalog.models import Product, StockMovement
    from marketplace.orders.models import OrderLine, PurchaseOrder, SubOrder

    errors = [e for p in purchasers for e in p.errors]
    made = sorted(o for p in purchasers for o in p.orders)
    checkout = [x for p in purchasers for x in p.checkout_ms]
    requests = [x for p in purchasers for x in p.request_ms]

    orders = list(db.session.scalars(db.select(PurchaseOrder).where(PurchaseOrder.id > before)))
    whole = True
    for order in orders:
        subs = order.sub_orders
        whole &= bool(subs) and order.total_fen == sum(s.ordered_fen for s in subs)
        for sub in subs:
            moves = db.session.scalar(db.select(db.func.count(StockMovement.id)).where(
                StockMovement.sub_order_id == sub.id, StockMovement.reason == "order"))
            whole &= bool(sub.lines) and moves == len(sub.lines)
    sold = db.session.scalar(db.select(db.func.coalesce(db.func.sum(OrderLine.quantity), 0))
                             .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
                             .where(SubOrder.purchase_order_id > before,
                                    OrderLine.product_id == scarce)) or Decimal(0)
    left = db.session.get(Product, scarce).stock
    ledger = db.session.scalar(db.select(db.func.sum(StockMovement.delta)).where(
        StockMovement.product_id == scarce))
    result = {
        "seconds": round(elapsed, 1), "purchasers": len(purchasers),
        "orders": len(made), "orders_per_s": round(len(made) / elapsed, 1),
        "checkout_p50_ms": round(statistics.median(checkout), 1) if checkout else None,
        "checkout_p95_ms": round(percentile(checkout, 95), 1) if checkout else None,
        "request_p95_ms": round(percentile(requests, 95), 1) if requests else None,
        "requests": len(requests), "refused_checkouts": sum(p.refused for p in purchasers),
        "scarce_stock": float(initial), "scarce_sold": float(sold), "scarce_left": float(left),
        "oversold_units": float(max(Decimal(0), sold - initial)),
        "orders_in_database": len(orders), "orders_whole": whole and len(orders) == len(made),
        "ledger_matches": ledger == left and sold + left == initial, "errors": errors[:3],
    }
    return result


# Main ------------------------------------------------------------------------------------


def run_database(kind: str, args, workdir: Path) -> dict:
    figures: dict = {"database": kind}
    pg = None
    if kind == "postgresql":
        pg = Postgres(workdir / "postgresql")
        url = pg.start()
    else:
        url = f"sqlite:///{workdir / 'orders.db'}"
    try:
        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                          "SEARCH_INDEX_DIR": str(workdir / "search-index"),
                          "UPLOAD_DIR": str(workdir / "up")})
        # Requests run outside any app context of ours, each in its own as under a server.
        print(f"== {kind} ==")
        with app.app_context():
            prepare(app, args, figures)
            accounts = bench_accounts(args.purchasers)
            by_producer = orderable_by_producer()
        figures["buyer_orders"] = accounts["buyer_orders"]
        figures["producer_sub_orders"] = accounts["producer_sub_orders"]
        submit = measure_submit(app, accounts, by_producer, args.submits)
        figures["submit"] = submit
        print(f"  submit a 10-line order ({submit['sub_orders_per_order']} producers): "
              f"p50 {submit['p50']} ms, p95 {submit['p95']} ms, max {submit['max']} ms "
              f"(CPU of this process p50 {submit['cpu_p50']} ms, p95 {submit['cpu_p95']} ms)")
        lists = measure_lists(app, accounts, args.repeat)
        figures["lists"] = lists
        print(f"  buyer's order list ({accounts['buyer_orders']} orders): "
              f"p50 {lists['buyer']['p50']} ms, p95 {lists['buyer']['p95']} ms "
              f"(CPU p95 {lists['buyer']['cpu_p95']} ms)")
        print(f"  producer's order list ({accounts['producer_sub_orders']} sub-orders): "
              f"p50 {lists['producer']['p50']} ms, p95 {lists['producer']['p95']} ms "
              f"(CPU p95 {lists['producer']['cpu_p95']} ms)")
        load = load_run(app, url, workdir, accounts, args.load_seconds)
        figures["load"] = load
        print(f"  load: {load['purchasers']} purchasers for {load['seconds']} s: "
              f"{load['orders']} orders, {load['orders_per_s']} orders/s, checkout "
              f"p50 {load['checkout_p50_ms']} ms p95 {load['checkout_p95_ms']} ms; scarce "
              f"product stock {load['scarce_stock']:g}, sold {load['scarce_sold']:g}, "
              f"oversold {load['oversold_units']:g}; orders whole: {load['orders_whole']}")
        with app.app_context():
            db.engine.dispose()
    finally:
        if pg is not None:
            pg.stop()
    figures["budgets_met"] = (
        figures["submit"]["p95"] <= BUDGETS["submit_p95_ms"]
        and max(lists["buyer"]["p95"], lists["producer"]["p95"]) <= BUDGETS["list_p95_ms"]
        and figures["load"]["oversold_units"] == 0 and figures["load"]["orders_whole"]
        and figures["load"]["ledger_matches"] and not figures["load"]["errors"])
    return figures


def table(results: list[dict]) -> None:
    rows = [("figure", *[r["database"] for r in results], "budget")]

    def add(label, value, budget=""):
        rows.append((label, *[value(r) for r in results], budget))

    add("products / order lines", lambda r: f"{r['products']:,} / {r['order_lines']:,}")
    add("submit 10-line order p50 / p95", lambda r: f"{r['submit']['p50']} / "
        f"{r['submit']['p95']} ms", "p95 ≤ 100 ms")
    add("buyer's order list p50 / p95", lambda r: f"{r['lists']['buyer']['p50']} / "
        f"{r['lists']['buyer']['p95']} ms", "p95 ≤ 50 ms")
    add("producer's order list p50 / p95", lambda r: f"{r['lists']['producer']['p50']} / "
        f"{r['lists']['producer']['p95']} ms", "p95 ≤ 50 ms")
    add("  CPU of the app process, p50 / p95", lambda r: f"{r['submit']['cpu_p50']} / "
        f"{r['submit']['cpu_p95']} ms")
    add("load: orders per second", lambda r: f"{r['load']['orders_per_s']}")
    add("load: checkout p50 / p95", lambda r: f"{r['load']['checkout_p50_ms']} / "
        f"{r['load']['checkout_p95_ms']} ms")
    add("load: scarce stock / sold / oversold", lambda r: f"{r['load']['scarce_stock']:g} / "
        f"{r['load']['scarce_sold']:g} / {r['load']['oversold_units']:g}", "oversold 0")
    add("load: every order whole", lambda r: str(r["load"]["orders_whole"]))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths,
                                                                        strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--producers", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--purchasers", type=int, default=50)
    parser.add_argument("--submits", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=25, help="passes over the list pages")
    parser.add_argument("--load-seconds", type=int, default=30)
    parser.add_argument("--workdir", default=None, help="keep data here (default: temporary)")
    parser.add_argument("--reuse", action="store_true", help="reuse the workdir's databases")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="xunong-orders-"))
    if args.workdir and not args.reuse and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results = [run_database(kind, args, workdir) for kind in args.databases.split(",")]
    print()
    table(results)
    figures = {"date": date.today().isoformat(), "machine": f"{os.cpu_count()} cores, "
               f"{platform.machine()}, Python {platform.python_version()}",
               "load_average": os.getloadavg()[0], "results": results,
               "budgets_met": all(r["budgets_met"] for r in results)}
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
