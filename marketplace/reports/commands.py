"""`flask reports rebuild` and `flask reports check`: the roll-ups are derived data."""

import sys
import time

import click
from flask.cli import with_appcontext

from marketplace.reports import rollups
from marketplace.uow import unit_of_work


@click.group()
def reports():
    """Sales report roll-ups."""


@reports.command("rebuild")
@with_appcontext
def rebuild():
    """Recompute every roll-up row from the order lines (in one transaction)."""
    started = time.perf_counter()
    with unit_of_work():
        count = rollups.rebuild()
    click.echo(f"Rebuilt {count} roll-up rows in {time.perf_counter() - started:.1f}s.")


@reports.command("check")
@with_appcontext
def check():
    """Compare the roll-ups with a plain recomputation; exit 1 when they differ."""
    problems = rollups.differences()
    if problems:
        for line in problems:
            click.echo(line)
        click.echo("Roll-ups differ from the order lines: run `flask reports rebuild`.")
        sys.exit(1)
    click.echo("Roll-ups equal the order lines.")
