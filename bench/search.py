"""Search benchmark: ranking quality, index build, query latency in-process and through HTTP,
worker memory.

    python bench/search.py [--products 100000] [--producers 1000] [--relevance-only] [--show N]

Builds (or reuses, with --reuse) a generated crowded catalogue (bench/relevance.py: the demo
lines written with brands, pack sizes and processed forms) in a scratch SQLite database,
rebuilds the whole index, scores the labelled relevance set of bench/relevance.py (nDCG@10
and MRR), then times the fixed query set of bench/queries.py. It prints one line per figure
and, last, one JSON object with all of them. --show N lists the N worst-ranked queries.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import relevance  # noqa: E402
from bench.queries import QUERIES  # noqa: E402
from bench.relevance import crowded_demo_lines  # noqa: E402
from marketplace import create_app  # noqa: E402
from marketplace.catalog.models import Category  # noqa: E402
from marketplace.extensions import db  # noqa: E402
from marketplace.places.models import County  # noqa: E402


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def resolve(filters: dict, counties: dict, categories: dict) -> dict:
    """Turn names in the query set into the ids the service and the page take."""
    out = dict(filters)
    if "county" in out:
        out["county"] = counties[out["county"]]
    if "category" in out:
        out["category"] = categories[out["category"]]
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--producers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="passes over the query set")
    parser.add_argument("--workdir", default=None, help="keep data here (default: temporary)")
    parser.add_argument("--reuse", action="store_true", help="reuse the workdir's database")
    parser.add_argument("--relevance-only", action="store_true", help="skip the timings")
    parser.add_argument("--show", type=int, default=0, help="print the N worst queries")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="xunong-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "bench.db"
    settings = {
        "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "SEARCH_INDEX_DIR": str(workdir / "search-index"), "UPLOAD_DIR": str(workdir / "up"),
    }
    figures: dict = {"products": args.products}
    app = create_app(settings)
    with app.app_context():
        from marketplace.demo.generate import generate
        from marketplace.search import index
        from marketplace.search.services import reindex_all, search_products

        if not (args.reuse and database.exists()):
            database.unlink(missing_ok=True)
        db.create_all()  # creates what is missing, so an older reused database still works
        if not db.session.scalar(db.select(db.func.count()).select_from(Category)):
            started = time.perf_counter()
            with crowded_demo_lines():
                generate(producers=args.producers, products=args.products,
                         password="bench-pw", with_accounts=False)
            figures["generate_s"] = round(time.perf_counter() - started, 1)
            print(f"generated {args.products} products in {figures['generate_s']} s")
        shutil.rmtree(settings["SEARCH_INDEX_DIR"], ignore_errors=True)
        count, seconds = reindex_all()
        figures.update(indexed=count, index_build_s=round(seconds, 1))
        print(f"index build: {count} documents in {seconds:.1f} s")

        from marketplace.clock import today

        catalogue = relevance.listings(db.session, today())
        scores = relevance.evaluate(relevance.SET, catalogue, lambda q: [
            p.id for p in search_products(q, per_page=10).products])
        quality = relevance.summary(scores)
        figures.update(relevance_queries=quality["queries"], ndcg10=quality["ndcg10"],
                       mrr=quality["mrr"], ndcg10_by_kind=quality["by_kind"])
        print(f"ranking: nDCG@10 {quality['ndcg10']}, MRR {quality['mrr']} over "
              f"{quality['queries']} labelled queries ({len(catalogue)} listable products)")
        print("  nDCG@10 by kind: " + ", ".join(f"{k} {v}" for k, v in quality["by_kind"].items()))
        for score in sorted(scores, key=lambda s: s.ndcg)[:args.show]:
            print(f"  {score.ndcg:.3f} rr {score.rr:.2f} {score.query!r}: "
                  + " ".join(f"{g}:{n}" for g, n in score.top))
        if args.relevance_only:
            print(json.dumps(figures, ensure_ascii=False))
            return

        counties = {c.name: c.id for c in db.session.scalars(db.select(County))}
        categories = {c.name: c.id for c in db.session.scalars(db.select(Category))}
        cases = [(q, resolve(f, counties, categories)) for q, f in QUERIES]
        figures["queries"] = len(cases)

        def run(q, f):
            return search_products(q, county_id=f.get("county"), category_id=f.get("category"),
                                   marks=f.get("mark", ()), price=f.get("price"),
                                   sort=f.get("sort", "relevance"))

        for q, f in cases:  # warm up: first touch of each column and posting list
            run(q, f)
        service, index_only = [], []
        for _ in range(args.repeat):
            for q, f in cases:
                t0 = time.perf_counter()
                run(q, f)
                service.append((time.perf_counter() - t0) * 1000)
        request_cls = index.SearchRequest
        from marketplace.search.lexicon import query_words
        from marketplace.search.services import index_path

        for _ in range(args.repeat):
            for q, f in cases:
                typed = ({"text": q} if "text" in request_cls.__dataclass_fields__
                         else {"words": tuple(query_words(q))})  # main's older request
                request = request_cls(**typed, today=today(),
                                      county_id=f.get("county"), category_id=f.get("category"),
                                      marks=tuple(f.get("mark", ())), price=f.get("price"),
                                      sort=f.get("sort", "relevance"))
                t0 = time.perf_counter()
                index.search(index_path(), request)
                index_only.append((time.perf_counter() - t0) * 1000)
        figures.update(
            inprocess_p50_ms=round(statistics.median(service), 1),
            inprocess_p95_ms=round(percentile(service, 95), 1),
            index_only_p50_ms=round(statistics.median(index_only), 1),
            index_only_p95_ms=round(percentile(index_only, 95), 1),
        )
        print(f"in-process (service: index + database): p50 {figures['inprocess_p50_ms']} ms, "
              f"p95 {figures['inprocess_p95_ms']} ms over {len(service)} searches")
        print(f"  of which the index: p50 {figures['index_only_p50_ms']} ms, "
              f"p95 {figures['index_only_p95_ms']} ms")

        # Live edits: a price change commits and updates the index; the next search must
        # then pick up the new index generation (and rebuild its per-generation tables).
        from marketplace.catalog.models import Product

        commit_ms, after_ms = [], []
        for i, product_id in enumerate(db.session.scalars(
                db.select(Product.id).where(Product.status == "active").limit(20))):
            product = db.session.get(Product, product_id)
            product.price_fen += 10
            t0 = time.perf_counter()
            db.session.commit()
            commit_ms.append((time.perf_counter() - t0) * 1000)
            q, f = cases[i % len(cases)]
            t0 = time.perf_counter()
            run(q, f)
            after_ms.append((time.perf_counter() - t0) * 1000)
        figures.update(
            edit_commit_p50_ms=round(statistics.median(commit_ms), 1),
            search_after_edit_p50_ms=round(statistics.median(after_ms), 1),
            search_after_edit_p95_ms=round(percentile(after_ms, 95), 1),
        )
        print(f"an edit (commit + index update): p50 {figures['edit_commit_p50_ms']} ms; "
              f"the first search after it: p50 {figures['search_after_edit_p50_ms']} ms, "
              f"p95 {figures['search_after_edit_p95_ms']} ms")

    # Through HTTP: one gunicorn worker, the production server, on a loopback port.
    port = free_port()
    env = dict(os.environ, DATABASE_URL=settings["SQLALCHEMY_DATABASE_URI"],
               SEARCH_INDEX_DIR=settings["SEARCH_INDEX_DIR"], SECRET_KEY="bench",
               UPLOAD_DIR=settings["UPLOAD_DIR"])
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        conn = None
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        urls = []
        for q, f in cases:
            params = [("q", q)] + [(k, v) for k, v in f.items() if k != "mark"]
            params += [("mark", m) for m in f.get("mark", [])]
            urls.append("/search?" + urlencode(params))
        for url in urls:
            conn.request("GET", url)
            conn.getresponse().read()
        over_http = []
        for _ in range(args.repeat):
            for url in urls:
                t0 = time.perf_counter()
                conn.request("GET", url)
                response = conn.getresponse()
                response.read()
                over_http.append((time.perf_counter() - t0) * 1000)
                assert response.status == 200, (url, response.status)
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                 text=True).stdout.split()
        worker_rss = max(rss_kib(int(pid)) for pid in workers) if workers else 0
        figures.update(
            http_p50_ms=round(statistics.median(over_http), 1),
            http_p95_ms=round(percentile(over_http, 95), 1),
            worker_rss_mb=round(worker_rss / 1024, 1),
        )
        print(f"through HTTP (gunicorn, 1 worker): p50 {figures['http_p50_ms']} ms, "
              f"p95 {figures['http_p95_ms']} ms over {len(over_http)} requests")
        print(f"worker memory with the index open: {figures['worker_rss_mb']} MB RSS")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    figures["budgets_met"] = (figures["inprocess_p95_ms"] <= 30 and figures["http_p95_ms"] <= 60
                              and figures["index_build_s"] <= 60)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
