"""Payments benchmark: Stripe webhooks over a large ledger, and a large bank statement import.

    python bench/payments.py [--entries 1000000] [--webhooks 400] [--rows 10000]
                             [--database-url URL] [--workdir DIR]

Builds a scratch SQLite database (or uses --database-url) with the demo's places, producers
and buyers, `--entries` ledger entries of past payments spread over 200,000 received
sub-orders, then:

* posts `--webhooks` signed `checkout.session.completed` events one by one through the app's
  webhook route (signature check, idempotency claim, locks, ledger posting, notices, commit),
  and reports their p50/p95;
* imports a `--rows`-row CSV bank statement (parse, map, match by reference and amount, book,
  commit), then imports it again (it must record nothing new).

It prints one line per figure and, last, one JSON object with all of them.
"""

import argparse
import hashlib
import hmac
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from marketplace import create_app  # noqa: E402
from marketplace.clock import now, today  # noqa: E402
from marketplace.extensions import db  # noqa: E402

WEBHOOK_SECRET = "whsec_bench_only"
SUB_ORDERS = 200_000


def sign(payload: str, secret: str) -> str:
    """Stripe's signature scheme: t=…,v1=HMAC-SHA256(secret, "t.payload")."""
    timestamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def build(entries: int, rng: random.Random) -> dict:
    """Orders, sub-orders and a ledger of past payments, with bulk INSERTs."""
    from marketplace.accounts.models import User
    from marketplace.demo.generate import generate
    from marketplace.orders.models import PurchaseOrder, SubOrder
    from marketplace.organisations.models import Organisation
    from marketplace.payments.models import LedgerEntry, LedgerJournal

    started = time.perf_counter()
    generate(producers=200, products=400, password="bench-only-password")  # noqa: S106
    producers = db.session.execute(select(Organisation.id, Organisation.name)
                                   .where(Organisation.kind == "producer")).all()
    buyers = db.session.execute(select(Organisation.id, Organisation.name)
                                .where(Organisation.kind == "buyer")).all()
    day, moment = today(), now()
    orders, subs = [], []
    for i in range(1, SUB_ORDERS // 2 + 1):
        buyer_id, buyer_name = buyers[i % len(buyers)]
        orders.append({
            "id": i, "number": f"CGB{i:09d}", "buyer_org_id": buyer_id, "status": "completed",
            "buyer_type": "canteen", "channel": "canteen", "buyer_name": buyer_name,
            "delivery_address": "许昌市", "delivery_contact": "张", "delivery_phone": "1",
            "delivery_date": day, "delivery_window": "", "invoice_title": buyer_name,
            "tax_number": "", "notes": "", "total_fen": 0, "needs_approval": False,
            "idempotency_key": f"bench-{i}", "submitted_at": moment})
        for k in (1, 2):
            producer_id, producer_name = producers[(2 * i + k) % len(producers)]
            due = rng.randint(50_00, 5_000_00)
            subs.append({
                "id": 2 * i + k - 2, "purchase_order_id": i, "producer_org_id": producer_id,
                "number": f"CGB{i:09d}-{k}", "status": "received", "producer_name": producer_name,
                "ordered_fen": due, "due_fen": due, "routed_at": moment,
                "received_on": day - timedelta(days=rng.randint(0, 90)), "decline_reason": "",
                "dispute_reason": "", "resolution": ""})
    for start in range(0, len(orders), 5000):
        db.session.execute(insert(PurchaseOrder), orders[start:start + 5000])
    for start in range(0, len(subs), 5000):
        db.session.execute(insert(SubOrder), subs[start:start + 5000])
    # Past payments: two entries per journal (bank in, producer credited), one to three
    # journals per sub-order, on 90% of the sub-orders; the rest are still unpaid.
    paid_subs = subs[:len(subs) * 9 // 10]
    journals, lines = [], []
    journal_id = 0
    while len(lines) < entries:
        sub = paid_subs[journal_id % len(paid_subs)]
        journal_id += 1
        amount = max(1, sub["due_fen"] // 3)
        journals.append({"id": journal_id, "kind": "transfer",
                         "booked_on": sub["received_on"], "created_at": moment,
                         "actor_name": "bench", "memo": ""})
        lines.append({"journal_id": journal_id, "account": "bank", "amount_fen": amount})
        lines.append({"journal_id": journal_id, "account": "producer", "amount_fen": -amount,
                      "producer_org_id": sub["producer_org_id"],
                      "buyer_org_id": orders[sub["purchase_order_id"] - 1]["buyer_org_id"],
                      "sub_order_id": sub["id"]})
    for start in range(0, len(journals), 10000):
        db.session.execute(insert(LedgerJournal), journals[start:start + 10000])
    for start in range(0, len(lines), 10000):
        db.session.execute(insert(LedgerEntry), [
            {"producer_org_id": None, "buyer_org_id": None, "sub_order_id": None, **row}
            for row in lines[start:start + 10000]])
    db.session.commit()
    count = db.session.scalar(select(func.count(LedgerEntry.id)))
    admin = db.session.scalar(select(User.id).where(User.username == "admin"))
    buyer = db.session.scalar(select(User.id).where(User.username == "buyer"))
    print(f"built {len(subs):,} received sub-orders and {count:,} ledger entries in "
          f"{time.perf_counter() - started:.1f}s")
    return {"entries": count, "unpaid": [s["id"] for s in subs[len(paid_subs):]], "admin": admin,
            "buyer": buyer}


def bench_webhooks(app, world: dict, count: int) -> dict:
    from marketplace.orders.models import SubOrder
    from marketplace.payments.models import OnlinePayment

    subs = db.session.scalars(select(SubOrder).where(
        SubOrder.id.in_(world["unpaid"][:count]))).all()
    events = []
    for sub in subs:
        session_id = f"cs_bench_{sub.id:07d}"
        db.session.add(OnlinePayment(
            sub_order_id=sub.id, buyer_org_id=sub.purchase_order.buyer_org_id, attempt=1,
            amount_fen=sub.due_fen, currency="cny", session_id=session_id,
            checkout_url="https://checkout.stripe.com/x", status="open"))
        events.append({"id": f"evt_bench_{sub.id:07d}", "object": "event", "type":
                       "checkout.session.completed", "created": int(time.time()),
                       "data": {"object": {
                           "id": session_id, "object": "checkout.session",
                           "amount_total": sub.due_fen, "currency": "cny", "status": "complete",
                           "payment_status": "paid", "payment_intent": f"pi_bench_{sub.id:07d}"}}})
    db.session.commit()
    client = app.test_client()
    timings, cpu = [], []
    for event in events:
        body = json.dumps(event)
        headers = {"Stripe-Signature": sign(body, WEBHOOK_SECRET),
                   "Content-Type": "application/json"}
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.post("/payments/stripe/webhook", data=body, headers=headers)
        timings.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 200 and response.get_json()["outcome"] == "applied", \
            response.get_data(as_text=True)
    # Redelivered: each must change nothing.
    redelivered = []
    for event in events[:50]:
        body = json.dumps(event)
        t0 = time.perf_counter()
        response = client.post("/payments/stripe/webhook", data=body, headers={
            "Stripe-Signature": sign(body, WEBHOOK_SECRET)})
        redelivered.append((time.perf_counter() - t0) * 1000)
        assert response.get_json()["outcome"] == "duplicate"
    figures = {"webhook_p50_ms": round(statistics.median(timings), 1),
               "webhook_p95_ms": round(percentile(timings, 95), 1),
               "webhook_cpu_p95_ms": round(percentile(cpu, 95), 1),
               "webhook_duplicate_p95_ms": round(percentile(redelivered, 95), 1),
               "webhooks": len(timings)}
    print(f"webhook (checkout.session.completed) over {len(timings)} events: "
          f"p50 {figures['webhook_p50_ms']} ms, p95 {figures['webhook_p95_ms']} ms "
          f"(CPU p95 {figures['webhook_cpu_p95_ms']} ms); "
          f"a redelivery p95 {figures['webhook_duplicate_p95_ms']} ms")
    return figures


def statement_csv(world: dict, rows: int, rng: random.Random) -> bytes:
    from marketplace.orders.models import SubOrder
    from marketplace.payments.services import reference_of

    ids = world["unpaid"][-rows:]
    subs = {s.id: s for s in db.session.scalars(select(SubOrder).where(SubOrder.id.in_(ids)))}
    lines = ["交易日期,交易流水号,借方发生额,贷方发生额,对方户名,对方账号,摘要"]
    day = today().isoformat()
    for n, sub_id in enumerate(ids):
        sub = subs[sub_id]
        amount = sub.due_fen
        memo = f"货款 {reference_of(sub)}"
        roll = rng.random()
        if roll < 0.03:
            amount = amount // 2  # partial payment
        elif roll < 0.04:
            amount += 1000  # overpaid
        elif roll < 0.05:
            memo = "货款"  # no reference: unmatched
        lines.append(f"{day},BENCH{n:07d},,{amount / 100:.2f},{sub.purchase_order.buyer_name},"
                     f"62284800{n:08d},{memo}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def bench_import(app, world: dict, rows: int, rng: random.Random) -> dict:
    import io

    from werkzeug.datastructures import FileStorage

    from marketplace.accounts.models import User
    from marketplace.payments import services

    admin = db.session.get(User, world["admin"])
    data = statement_csv(world, rows, rng)
    staged = services.upload_statement(admin, FileStorage(io.BytesIO(data), filename="b.csv"))
    columns = {"value_date": "交易日期", "amount": "贷方发生额", "memo": "摘要",
               "payer_name": "对方户名", "payer_account": "对方账号",
               "bank_reference": "交易流水号"}
    t0, c0 = time.perf_counter(), time.process_time()
    result = services.import_mapped_statement(admin, staged.token, "b.csv", columns)
    first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    statement = result.statement
    assert statement.rows_new == rows, statement.rows_new
    t0 = time.perf_counter()
    again = services.upload_statement(admin, FileStorage(io.BytesIO(data), filename="b.csv"))
    second = time.perf_counter() - t0
    assert again.statement.rows_new == 0 and again.statement.rows_known == rows
    figures = {"import_rows": rows, "import_s": round(first, 2),
               "import_cpu_s": round(first_cpu, 2), "reimport_s": round(second, 2),
               "import_matched": statement.matched, "import_flagged": statement.flagged}
    print(f"statement import of {rows:,} rows: {first:.2f} s, CPU {first_cpu:.2f} s "
          f"({statement.matched:,} matched, "
          f"{statement.flagged:,} flagged for a person); the same file again: {second:.2f} s, "
          f"nothing new")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--webhooks", type=int, default=400)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="xunong-bench-payments-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    os.environ.setdefault("INSTANCE_DIR", str(workdir))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-only",
                      "UPLOAD_DIR": str(workdir / "uploads"),
                      "SEARCH_INDEX_DIR": str(workdir / "index"),
                      "STRIPE_SECRET_KEY": "sk_bench_only", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET})
    rng = random.Random(2026)
    with app.app_context():
        db.drop_all()
        db.create_all()
        world = build(args.entries, rng)
        figures = {"ledger_entries": world["entries"], "database": db.engine.dialect.name,
                   "load_average": round(os.getloadavg()[0], 1)}
        figures.update(bench_webhooks(app, world, args.webhooks))
        figures.update(bench_import(app, world, args.rows, rng))
        from marketplace.payments import ledger

        figures["ledger_sum"] = ledger.totals()["sum"]
        db.session.remove()
        db.engine.dispose()
    figures["budgets_met"] = (figures["webhook_p95_ms"] <= 50 and figures["import_s"] <= 10
                              and figures["ledger_sum"] == 0)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
