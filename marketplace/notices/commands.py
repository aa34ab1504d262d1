"""`flask mail send`: drain the outbox over SMTP (run it every minute from cron or a timer)."""

import click
from flask.cli import with_appcontext

from marketplace.notices.outbox import BATCH, outbox_counts, send_outbox


@click.group()
def mail():
    """Outgoing mail."""


@mail.command("send")
@click.option("--limit", default=BATCH, show_default=True, help="At most this many mails.")
@with_appcontext
def send(limit: int):
    """Send the mails that are due; exit status 1 when the SMTP server is failing."""
    report = send_outbox(limit)
    if not report.configured:
        counts = outbox_counts()
        click.echo(f"SMTP_HOST is not set: {counts['waiting']} mails wait in the outbox "
                   "(the administrator sees them at /admin/outbox).")
        return
    click.echo(f"Sent {report.sent}, failed {report.failed} (will retry), "
               f"gave up {report.gave_up}.")
    if report.stopped:
        click.echo(f"The SMTP server is failing: {report.stopped}", err=True)
        raise SystemExit(1)
