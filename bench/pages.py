"""Pages served under load, against a constant route, at two catalogue sizes.

    python bench/pages.py [--sizes 10000,100000] [--seconds 8] [--workdir DIR] [--reuse]

For each size it generates (or reuses) a SQLite catalogue, builds the search index, serves
the app with gunicorn as `make run` does (2 sync workers) through bench/floor_wsgi.py, which
adds a constant route that is not in the app, and loads each page with a closed loop of 4
connections for a fixed time (wrk when installed, else a Python keep-alive client). The floor
is measured before, between and after the pages; every page is reported as req/s, p50, p99
and its p50 as a multiple of the floor's. The last line is one JSON object.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import free_port, percentile  # noqa: E402

CONNECTIONS = 4


def run(cmd: list[str], env: dict) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare(workdir: Path, products: int, reuse: bool) -> dict:
    """A database with `products` generated products and its index; the env to serve it."""
    database = workdir / f"pages-{products}.db"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", FLASK_APP="wsgi",
               SECRET_KEY="bench", INSTANCE_DIR=str(workdir / f"instance-{products}"),
               SEARCH_INDEX_DIR=str(workdir / f"index-{products}"),
               UPLOAD_DIR=str(workdir / "uploads"))
    flask = str(Path(sys.executable).with_name("flask"))
    if not (reuse and database.exists()):
        database.unlink(missing_ok=True)
        shutil.rmtree(env["SEARCH_INDEX_DIR"], ignore_errors=True)
        run([flask, "db", "upgrade"], env)
        started = time.perf_counter()
        run([flask, "demo", "generate", "--producers", str(max(50, products // 100)),
             "--products", str(products)], env)
        run([flask, "search", "reindex"], env)
        print(f"  generated and indexed {products} products in "
              f"{time.perf_counter() - started:.0f}s", flush=True)
    return env


def _python_load(base: str, path: str, seconds: float) -> list[float]:
    host, port = base.removeprefix("http://").split(":")
    samples: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop():
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            conn.request("GET", path, headers={"Accept-Encoding": "br, gzip"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                raise SystemExit(f"{path} answered {response.status}")
        conn.close()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def measure(base: str, path: str, seconds: float) -> dict:
    _python_load(base, path, min(1.0, seconds / 4))  # warm up (caches, segments)
    samples = _python_load(base, path, seconds)
    return {"path": path, "requests": len(samples), "rps": round(len(samples) / seconds, 1),
            "p50_ms": round(statistics.median(samples) * 1000, 2),
            "p99_ms": round(percentile(samples, 99) * 1000, 2)}


def serve(env: dict):
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen(
        [gunicorn, "--workers", "2", "--bind", f"127.0.0.1:{port}", "bench.floor_wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/__floor")
            if conn.getresponse().status == 200:
                return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")


def pages_for(env: dict) -> list[tuple[str, str]]:
    """(label, path) for every page measured, with real ids from the database."""
    sys.path.insert(0, str(ROOT))
    from marketplace import create_app
    from marketplace.catalog import services

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                      "SEARCH_INDEX_DIR": env["SEARCH_INDEX_DIR"]})
    with app.app_context():
        first = services.browse_catalogue(per_page=24)
        county, category = next(iter(sorted(first.grid.items(), key=lambda kv: -kv[1])))[0]
        deep = max(1, int(first.pages * 0.8))
        product = first.items[0].id
    return [
        ("home page", "/"),
        ("catalogue page 1", "/products"),
        ("catalogue, a deep page", f"/products?page={deep}"),
        ("catalogue by county", f"/products?county={county}"),
        ("catalogue by category", f"/products?category={category}"),
        ("catalogue by county and category", f"/products?county={county}&category={category}"),
        ("product page", f"/products/{product}"),
        ("search 粉条", "/search?q=" + quote("粉条")),
        ("search 蜂蜜", "/search?q=" + quote("蜂蜜")),
        ("search fentiao", "/search?q=fentiao"),
    ]


def bench_size(workdir: Path, products: int, seconds: float, reuse: bool) -> dict:
    print(f"\n== {products} products ==", flush=True)
    env = prepare(workdir, products, reuse)
    pages = pages_for(env)
    process, base = serve(env)
    try:
        floors, results = [], []
        floors.append(measure(base, "/__floor", seconds))
        for i, (label, path) in enumerate(pages):
            result = measure(base, path, seconds)
            result["label"] = label
            results.append(result)
            if i == len(pages) // 2:
                floors.append(measure(base, "/__floor", seconds))
        floors.append(measure(base, "/__floor", seconds))
    finally:
        process.terminate()
        process.wait(timeout=30)
    floor_p50 = statistics.median(f["p50_ms"] for f in floors)
    print(f"floor: {', '.join(str(f['rps']) + ' req/s p50 ' + str(f['p50_ms']) + ' ms' for f in floors)}")
    print(f"{'page':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x floor':>9}")
    for r in results:
        r["x_floor"] = round(r["p50_ms"] / floor_p50, 1)
        print(f"{r['label']:<34}{r['rps']:>9}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['x_floor']:>9}")
    return {"products": products, "floor": floors, "floor_p50_ms": floor_p50, "pages": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="xunong-pages-"))
    workdir.mkdir(parents=True, exist_ok=True)
    runs = [bench_size(workdir, int(n), args.seconds, args.reuse)
            for n in args.sizes.split(",")]
    summary = {"sizes": runs}
    if len(runs) == 2:
        small = {r["label"]: r["p50_ms"] for r in runs[0]["pages"]}
        large = {r["label"]: r["p50_ms"] for r in runs[1]["pages"]}
        summary["growth_p50"] = {label: round(large[label] / small[label], 2) for label in small}
        print("\np50 at the larger size / p50 at the smaller:")
        for label, ratio in summary["growth_p50"].items():
            print(f"  {label:<34}{ratio:>6}")
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
