"""`flask catalogue …`: the read model is derived data, rebuilt and checked at will."""

import click
from flask.cli import with_appcontext

from marketplace.catalog import readmodel
from marketplace.clock import today
from marketplace.extensions import db


@click.group()
def catalogue():
    """The catalogue's read model (catalogue_entries)."""


@catalogue.command("rebuild")
@with_appcontext
def rebuild():
    """Recompute every entry from the products."""
    count = readmodel.rebuild(db.session())
    db.session.commit()
    click.echo(f"Catalogue read model rebuilt: {count} listable products.")


@catalogue.command("check")
@with_appcontext
def check():
    """Compare what the read model puts on sale today with the products (exit 1 if they differ)."""
    result = readmodel.check(db.session, today())
    click.echo(f"missing {len(result.missing)}, extra {len(result.extra)}, "
               f"stale {len(result.stale)}")
    if not result.ok:
        raise SystemExit(1)
