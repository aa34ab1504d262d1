"""A worker process that changes prices of some products, committing each change.

Run as `python -m tests.search.writer DB_URL INDEX_DIR ID,ID,… ROUNDS`; the concurrency test
starts several at once against the same database and index directory.
"""

import sys

from marketplace import create_app
from marketplace.catalog.models import Product
from marketplace.extensions import db


def main(database_url: str, index_dir: str, ids: str, rounds: str) -> None:
    app = create_app({"SECRET_KEY": "writer", "SQLALCHEMY_DATABASE_URI": database_url,
                      "SEARCH_INDEX_DIR": index_dir})
    with app.app_context():
        for round_number in range(int(rounds)):
            for product_id in (int(i) for i in ids.split(",")):
                product = db.session.get(Product, product_id)
                product.price_fen = 10_000 + product_id * 100 + round_number
                db.session.commit()


if __name__ == "__main__":
    main(*sys.argv[1:])
