"""Several worker processes writing the index at once lose no update and corrupt nothing."""

import subprocess
import sys

from marketplace.catalog.models import Product
from marketplace.config import BASE_DIR
from marketplace.search import index
from marketplace.search.services import index_path, search_products

WORKERS = 4
ROUNDS = 3


def test_concurrent_writers(app, db, catalogue):
    ids = sorted(p.id for p in catalogue.values())
    shares = [ids[i::WORKERS] for i in range(WORKERS)]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.search.writer", url, index_path(),
             ",".join(map(str, share)), str(ROUNDS)],
            cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for share in shares
    ]
    for process in processes:
        _out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err.decode()[-2000:]

    stored = index.stored_documents(index_path())
    prices = dict(db.session.execute(db.select(Product.id, Product.price_fen)).all())
    assert sorted(stored) == ids  # nothing lost, nothing duplicated
    for product_id in ids:
        assert prices[product_id] == 10_000 + product_id * 100 + ROUNDS - 1
        assert stored[product_id]["price_fen"] == prices[product_id], product_id
    assert search_products("").total == len(ids)  # the index still opens and answers
