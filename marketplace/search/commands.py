"""`flask search reindex`: the index is derived data, rebuilt from the database at will."""

import click
from flask.cli import with_appcontext

from marketplace.extensions import db
from marketplace.search import changelog
from marketplace.search.services import check_index, index_exists, reindex_all


@click.group()
def search():
    """Product search index."""


@search.command("reindex")
@click.option("--if-missing", is_flag=True, help="Only build it when there is no index yet.")
@with_appcontext
def reindex(if_missing: bool):
    """Rebuild the whole search index from the database."""
    if if_missing and index_exists():
        click.echo("Search index present.")
        return
    count, seconds = reindex_all()
    click.echo(f"Indexed {count} products in {seconds:.1f}s.")


@search.command("check")
@click.option("--repair", is_flag=True, help="Rewrite the documents that differ.")
@with_appcontext
def check(repair: bool):
    """Compare the index with the database (exit status 1 when they differ)."""
    result = check_index(repair=repair)
    click.echo(f"missing {len(result.missing)}, extra {len(result.extra)}, "
               f"stale {len(result.stale)}" + (" (repaired)" if repair and not result.ok else ""))
    if not result.ok and not repair:
        raise SystemExit(1)


@search.command("prune")
@click.option("--days", default=7, show_default=True, help="Keep this many days of changes.")
@with_appcontext
def prune(days: int):
    """Delete old entries of the change log (hosts further behind will rebuild)."""
    removed = changelog.prune(db.session(), days)
    db.session.commit()
    click.echo(f"Pruned {removed} changes older than {days} days.")
