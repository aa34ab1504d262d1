"""Reports benchmark: dashboards and exports on 1,000,000 order lines.

    python bench/reports.py [--lines 1000000] [--database-url URL] [--workdir DIR --reuse]

Generates (or reuses) a catalogue and two years of purchase orders in a scratch database
(SQLite unless --database-url), rebuilds the roll-ups, then times through the Flask app:
the city dashboard for a year and each county's dashboard (full pages, logged in), the bare
SQL aggregate for the same county figures straight from the order lines (what the page would
cost without roll-ups), and a 100,000-row export (CSV and .xlsx) while sampling the process's
memory. Prints one line per figure and, last, one JSON object with all of them.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench.reports_data import generate_orders  # noqa: E402
from marketplace import create_app  # noqa: E402
from marketplace.accounts.models import User  # noqa: E402
from marketplace.demo.generate import generate  # noqa: E402
from marketplace.extensions import db  # noqa: E402
from marketplace.orders.models import OrderLine, PurchaseOrder, SubOrder  # noqa: E402
from marketplace.places.models import County  # noqa: E402
from marketplace.reports import counting, rollups  # noqa: E402
from marketplace.uow import unit_of_work  # noqa: E402

LAST_DAY = date(2026, 11, 28)
YEAR = 2025
PASSWORD = "bench-password-1"  # noqa: S105 - a scratch database


def percentile(samples, pct):
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakMemory:
    """Sample this process's resident memory every 20 ms while the block runs."""

    def __enter__(self):
        self.start = rss_kib()
        self.peak = self.start
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, rss_kib())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss_kib())

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.start) / 1024


CPU: dict[int, list[float]] = {}


def timed(fn, runs):
    """Wall-clock samples in ms; this process's CPU time per run is kept in CPU[id(samples)].

    On a shared machine the wall clock includes waiting for a core; the CPU time does not.
    """
    samples, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    CPU[id(samples)] = cpu
    return samples


def build(app, lines: int, buyers: int) -> dict:
    with app.app_context():
        db.create_all()
        if db.session.scalar(select(func.count(OrderLine.id))):
            return {"reused": True}
        started = time.perf_counter()
        generate(producers=1000, products=20_000, password=PASSWORD, with_accounts=False)
        catalogue_s = time.perf_counter() - started
        started = time.perf_counter()
        made = generate_orders(lines, buyers, LAST_DAY)
        orders_s = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            for table in ("organisations", "purchase_orders", "sub_orders", "order_lines"):
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))
            db.session.commit()
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        admin = User(username="bench-admin", display_name="Bench", role="admin")
        admin.set_password(PASSWORD)
        db.session.add(admin)
        db.session.commit()
        started = time.perf_counter()
        with unit_of_work():
            rows = rollups.rebuild()
        rebuild_s = time.perf_counter() - started
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        return {"reused": False, "catalogue_s": catalogue_s, "orders_s": orders_s,
                "rebuild_s": rebuild_s, "rollup_rows": rows, **made}


def login(client):
    response = client.post("/login", data={"username": "bench-admin", "password": PASSWORD})
    assert response.status_code == 302, response.status_code


def bare_sql(period_start: date, period_end: date):
    """The city page's county figures straight from the counted order lines."""
    query = (select(OrderLine.county_id, func.sum(counting.NET_FEN_SQL),
                    func.count(func.distinct(OrderLine.sub_order_id)),
                    func.count(func.distinct(PurchaseOrder.buyer_org_id)))
             .select_from(OrderLine).join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
             .join(PurchaseOrder, SubOrder.purchase_order_id == PurchaseOrder.id)
             .where(counting.counted_condition(),
                    SubOrder.received_on.between(period_start, period_end))
             .group_by(OrderLine.county_id))
    return db.session.execute(query).all()


def export_window(rows_wanted: int) -> tuple[date, date]:
    """A custom period ending on LAST_DAY holding at least `rows_wanted` counted lines."""
    per_day = db.session.execute(
        select(SubOrder.received_on, func.count()).select_from(OrderLine)
        .join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
        .where(counting.counted_condition())
        .group_by(SubOrder.received_on).order_by(SubOrder.received_on.desc())).all()
    total = 0
    for day, n in per_day:
        total += n
        if total >= rows_wanted:
            return day, LAST_DAY
    return per_day[-1][0], LAST_DAY


def stream(client, url) -> tuple[int, float, float]:
    """(bytes, seconds, peak memory growth MiB) of one streamed download."""
    with PeakMemory() as memory:
        started = time.perf_counter()
        response = client.get(url, buffered=False)
        assert response.status_code == 200, (url, response.status_code)
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        seconds = time.perf_counter() - started
    return size, seconds, memory.growth_mib


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--buyers", type=int, default=400)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--workdir")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--skip-exports", action="store_true", help="time the pages only")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-reports-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    if not args.reuse and not args.database_url and (workdir / "bench.db").exists():
        os.unlink(workdir / "bench.db")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "FROZEN_TODAY": LAST_DAY.isoformat(),
                      "UPLOAD_DIR": str(workdir / "uploads"),
                      "SEARCH_INDEX_DIR": str(workdir / "index")})
    figures = {"database": app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]}
    figures.update(build(app, args.lines, args.buyers))
    for key in ("catalogue_s", "orders_s", "rebuild_s"):
        if key in figures:
            print(f"{key}: {figures[key]:.1f}")
    with app.app_context():
        figures["order_lines"] = db.session.scalar(select(func.count(OrderLine.id)))
        figures["counted_lines_year"] = db.session.scalar(
            select(func.count()).select_from(OrderLine)
            .join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
            .where(counting.counted_condition(),
                   SubOrder.received_on.between(date(YEAR, 1, 1), date(YEAR, 12, 31))))
        counties = list(db.session.scalars(select(County.id).order_by(County.position)))
        print(f"order lines: {figures['order_lines']:,}; counted in {YEAR}: "
              f"{figures['counted_lines_year']:,}")
        client = app.test_client()
        login(client)
        city_url = f"/reports/city?period=year&year={YEAR}"
        client.get(city_url)  # warm caches and templates
        city = timed(lambda: client.get(city_url), args.runs)
        county_urls = [f"/reports/county/{c}?period=year&year={YEAR}" for c in counties]
        for u in county_urls:
            client.get(u)
        k = iter(range(10**9))
        county = timed(lambda: client.get(county_urls[next(k) % len(county_urls)]),
                       args.runs * 2)
        sql = timed(lambda: (bare_sql(date(YEAR, 1, 1), date(YEAR, 12, 31)),
                             bare_sql(date(YEAR - 1, 1, 1), date(YEAR - 1, 12, 31))),
                    max(5, args.runs // 3))
        figures.update({
            "city_p50_ms": statistics.median(city), "city_p95_ms": percentile(city, 95),
            "county_p50_ms": statistics.median(county),
            "county_p95_ms": percentile(county, 95),
            "bare_sql_p50_ms": statistics.median(sql), "bare_sql_p95_ms": percentile(sql, 95),
        })
        for name, samples in (("city", city), ("county", county), ("bare_sql", sql)):
            figures[f"{name}_cpu_p50_ms"] = statistics.median(CPU[id(samples)])
            figures[f"{name}_cpu_p95_ms"] = percentile(CPU[id(samples)], 95)
        figures["page_sql_ratio"] = figures["city_p50_ms"] / figures["bare_sql_p50_ms"]
        print(f"city dashboard {YEAR}: p50 {figures['city_p50_ms']:.1f} ms, "
              f"p95 {figures['city_p95_ms']:.1f} ms (budget 300)")
        print(f"county dashboard {YEAR}: p50 {figures['county_p50_ms']:.1f} ms, "
              f"p95 {figures['county_p95_ms']:.1f} ms (budget 150)")
        print(f"CPU time per request, p50/p95: city {figures['city_cpu_p50_ms']:.1f}/"
              f"{figures['city_cpu_p95_ms']:.1f} ms, county {figures['county_cpu_p50_ms']:.1f}/"
              f"{figures['county_cpu_p95_ms']:.1f} ms (load average {os.getloadavg()[0]:.1f})")
        print(f"bare SQL aggregate from the order lines (this year and last, per county): "
              f"p50 {figures['bare_sql_p50_ms']:.1f} ms; page/SQL {figures['page_sql_ratio']:.2f}")
        first, last = export_window(args.export_rows)
        small_first = last - timedelta(days=max(1, (last - first).days // 4))
        windows = () if args.skip_exports else (("quarter", small_first), ("full", first))
        for label, start in windows:
            rows = db.session.scalar(
                select(func.count()).select_from(OrderLine)
                .join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
                .where(counting.counted_condition(), SubOrder.received_on.between(start, last)))
            for fmt in ("csv", "xlsx"):
                size, seconds, growth = stream(
                    client, f"/reports/city/export/detail.{fmt}?period=custom"
                            f"&start={start.isoformat()}&end={last.isoformat()}")
                figures[f"export_{fmt}_{label}_rows"] = rows
                figures[f"export_{fmt}_{label}_s"] = seconds
                figures[f"export_{fmt}_{label}_mib"] = growth
                figures[f"export_{fmt}_{label}_bytes"] = size
                print(f"export {fmt} {rows:,} rows: {seconds:.1f} s, {size / 1e6:.1f} MB, "
                      f"peak memory growth {growth:.1f} MiB")
    figures["load_average"] = os.getloadavg()[0]
    print(json.dumps({k: (round(v, 2) if isinstance(v, float) else
                          v.isoformat() if isinstance(v, date) else v)
                      for k, v in figures.items()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
