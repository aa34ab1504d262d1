"""Keep this host's search index in step with the database, right after each local commit.

Transactions log the products they change (search/changelog.py, written in the same
transaction through catalog/changes.py). After a commit on this process, the log is replayed
into this host's index at once, so the next request sees the change; other hosts replay it
before their next search. A rollback logs nothing.
"""

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session


@event.listens_for(Session, "after_commit")
def _replay_after_commit(session):
    if not has_app_context() or session.info.get("search_replaying"):
        return
    if not session.info.pop("listing_changed", False):
        return
    from marketplace.search.services import catch_up  # services imports this module

    catch_up()


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop("listing_changed", None)
