"""The search change log: how every host's own index follows commits made on any host.

A transaction that changes how a product lists or looks appends its product ids to
`search_changes`, in the same transaction (changes.py). Each host keeps its own whoosh
index and a cursor file beside it (the last change applied). Before answering a search, and
right after a local commit, a worker replays what it has not applied yet: it re-reads those
products from the database and rewrites their documents. A host that was down simply
replays more when it comes back; one whose cursor predates the log's pruning rebuilds.

Change ids are taken when a transaction inserts its row, but transactions commit in their
own order, so an id below the cursor can still appear late. Replay therefore also looks
again at changes made within the last SEARCH_REPLAY_OVERLAP seconds and applies any it has
not seen; re-applying a change is harmless (it rewrites a document from the database).
"""

import fcntl
import json
import logging
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, ForeignKey, Table, delete, func, insert, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace.catalog.changes import on_listing_change
from marketplace.clock import now
from marketplace.extensions import Model
from marketplace.sequences import Counter

log = logging.getLogger(__name__)
PRUNED = "search-changes-pruned-through"
CURSOR_FILE = "replay-cursor.json"


class SearchChange(Model):
    __tablename__ = "search_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=now, index=True)


@on_listing_change
def record_changes(session: Session, product_ids: set[int]) -> None:
    stamp = now()
    session.execute(insert(SearchChange),
                    [{"product_id": pid, "at": stamp} for pid in sorted(product_ids)])
    session.info["listing_changed"] = True  # replay into this host's index after the commit


# The cursor: per index directory, a small file written atomically and never moved back.

def _cursor_path(index_dir: str) -> Path:
    return Path(index_dir) / CURSOR_FILE


def read_cursor(index_dir: str) -> int | None:
    try:
        return int(json.loads(_cursor_path(index_dir).read_text())["applied_through"])
    except (FileNotFoundError, ValueError, KeyError):
        return None


def write_cursor(index_dir: str, value: int) -> None:
    """Advance the cursor to `value` unless another worker already moved it further."""
    path = _cursor_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_cursor(index_dir)
        if current is None or value > current:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"applied_through": value}))
            tmp.replace(path)


def reset_cursor(index_dir: str, value: int) -> None:
    """After a full rebuild: the index holds the database as of change `value`."""
    path = _cursor_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"applied_through": value}))
        tmp.replace(path)
    forget(index_dir)


def latest_change(session: Session) -> int:
    return session.scalar(select(func.max(SearchChange.id))) or 0


def pruned_through(session: Session) -> int:
    return session.scalar(select(Counter.value).where(Counter.name == PRUNED)) or 0


_recent: dict[tuple[str, int], float] = {}  # (index dir, change id) -> when applied here
_recent_lock = threading.Lock()


def pending(session: Session, index_dir: str) -> tuple[list[tuple[int, int]], bool]:
    """([(change id, product id)] not applied here yet, whether a full rebuild is needed)."""
    cursor = read_cursor(index_dir)
    if cursor is None or cursor < pruned_through(session):
        return [], True
    overlap = timedelta(seconds=current_app.config["SEARCH_REPLAY_OVERLAP"])
    rows = session.execute(select(SearchChange.id, SearchChange.product_id).where(
        or_(SearchChange.id > cursor, SearchChange.at >= now() - overlap))).all()
    with _recent_lock:
        return [(cid, pid) for cid, pid in rows if (index_dir, cid) not in _recent], False


def mark_applied(index_dir: str, change_ids: list[int]) -> None:
    if not change_ids:
        return
    write_cursor(index_dir, max(change_ids))
    moment = time.monotonic()
    horizon = moment - 2 * current_app.config["SEARCH_REPLAY_OVERLAP"]
    with _recent_lock:
        for cid in change_ids:
            _recent[(index_dir, cid)] = moment
        for key in [k for k, at in _recent.items() if at < horizon]:
            _recent.pop(key, None)


def forget(index_dir: str) -> None:
    with _recent_lock:
        for key in [k for k in _recent if k[0] == index_dir]:
            _recent.pop(key, None)


def prune(session: Session, older_than_days: int) -> int:
    """Delete changes older than the given age; hosts behind them will rebuild."""
    cutoff = now() - timedelta(days=older_than_days)
    last = session.scalar(select(func.max(SearchChange.id)).where(SearchChange.at < cutoff))
    if not last:
        return 0
    removed = cast(CursorResult, session.execute(
        delete(SearchChange).where(SearchChange.id <= last))).rowcount
    from marketplace.sequences import next_value

    next_value(PRUNED)  # make sure the row exists
    session.execute(cast(Table, Counter.__table__).update().where(Counter.name == PRUNED)
                    .values(value=last))
    return removed
