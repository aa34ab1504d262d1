"""`flask demo …`: load the demo, or generate a large catalogue for benchmarks."""

import os
import time

import click
from flask.cli import with_appcontext
from sqlalchemy import func

from marketplace.catalog.models import Product
from marketplace.demo.generate import demo_accounts_table, generate
from marketplace.demo.orders import demo_orders, generate_orders
from marketplace.extensions import db
from marketplace.search.services import reindex_all

DEFAULT_PASSWORD = "xunong-demo"  # noqa: S105 - the documented demo login, override with DEMO_PASSWORD


def _password() -> str:
    return os.environ.get("DEMO_PASSWORD", DEFAULT_PASSWORD)


@click.group()
def demo():
    """Demo data."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when products already exist.")
@with_appcontext
def load(if_empty: bool):
    """Load the Xuchang demo: 48 producers, 360 products, a year of orders, one login per role."""
    if if_empty and db.session.scalar(db.select(func.count(Product.id))):
        click.echo("Demo data already present.")
        return
    started = time.perf_counter()
    generate(producers=48, products=360, password=_password())
    orders = demo_orders()
    count, _seconds = reindex_all()
    click.echo(f"Demo data loaded ({orders.orders} purchase orders, {orders.lines} order lines) "
               f"and {count} products indexed in {time.perf_counter() - started:.1f}s.")


@demo.command("generate")
@click.option("--producers", default=1000, show_default=True)
@click.option("--products", default=100_000, show_default=True)
@click.option("--orders", default=0, show_default=True,
              help="Order lines to add over the last year (0: none).")
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def generate_command(producers: int, products: int, orders: int, seed: int):
    """Add a large generated catalogue and order history (for benchmarks).

    `--producers 0 --products 0 --orders N` adds orders to the catalogue already there.
    """
    started = time.perf_counter()
    if products:
        generate(producers=producers, products=products, password=_password(), seed=seed,
                 with_accounts=False)
        click.echo(f"Generated {producers} producers and {products} products in "
                   f"{time.perf_counter() - started:.1f}s.")
    if orders:
        begun = time.perf_counter()
        result = generate_orders(lines=orders, seed=seed)
        click.echo(f"Generated {result.orders} purchase orders, {result.sub_orders} sub-orders "
                   f"and {result.lines} order lines in {time.perf_counter() - begun:.1f}s.")
    click.echo("Run `flask search reindex` next.")


@demo.command("accounts")
@with_appcontext
def accounts():
    """Print the demo logins."""
    click.echo("")
    click.echo(f"Demo accounts (password: {_password()})")
    for role, username, where in demo_accounts_table():
        click.echo(f"  {role:<14} {username:<16} {where}")
    click.echo("")
