"""One transaction per use case, and the registry of use cases.

A use case is a service function decorated with `@use_case(rule, subject=…)`. It

1. checks `authorize(rule, actor, subject)` before anything else,
2. runs inside `unit_of_work()`: the outermost use case commits once at the end, or rolls
   everything back (rows, audit events, outbox mail) when anything raises; a use case called
   from inside another joins the caller's transaction instead of committing on its own.

Work that must follow the database outcome (deleting a file once its row is gone, forgetting
an uploaded file when the row never landed) is registered with `on_commit` / `on_rollback`.

The registry (`USE_CASES`) lets tests walk every state-changing service with every role, so
a new service cannot be added without the authorization test noticing it.
"""

import functools
import inspect
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.permissions import authorize

_DEPTH = "uow_depth"
_ON_COMMIT = "uow_on_commit"
_ON_ROLLBACK = "uow_on_rollback"


@contextmanager
def unit_of_work():
    """Commit once when the outermost block ends; roll everything back if it raises."""
    session = db.session()
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info[_DEPTH] = depth


def in_unit_of_work() -> bool:
    return db.session().info.get(_DEPTH, 0) > 0


def on_commit(callback: Callable[[], None]) -> None:
    """Run `callback` after the current transaction commits (never if it rolls back)."""
    db.session().info.setdefault(_ON_COMMIT, []).append(callback)


def on_rollback(callback: Callable[[], None]) -> None:
    """Run `callback` if the current transaction rolls back (never if it commits)."""
    db.session().info.setdefault(_ON_ROLLBACK, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_commit_callbacks(session):
    session.info.pop(_ON_ROLLBACK, None)
    for callback in session.info.pop(_ON_COMMIT, []):
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _run_rollback_callbacks(session, previous_transaction):
    if previous_transaction.parent is not None:  # a savepoint, not the whole transaction
        return
    session.info.pop(_ON_COMMIT, None)
    for callback in session.info.pop(_ON_ROLLBACK, []):
        callback()


@dataclass(frozen=True)
class UseCase:
    name: str
    rule: str | None
    function: Callable


#: "module.function" -> UseCase, filled by the decorator at import time.
USE_CASES: dict[str, UseCase] = {}


def use_case(rule: str | None, subject: str | Callable | None = None):
    """Declare a state-changing service: authorize `rule` first, then one unit of work.

    `subject` names the parameter whose value the rule is checked against, or is a function
    of the bound arguments returning it; None checks the rule without an object. `rule=None`
    marks a use case open to anyone (registration, login): still one transaction, no check.
    """

    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if rule is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                arguments = bound.arguments
                if callable(subject):
                    obj = subject(arguments)
                elif subject:
                    obj = arguments[subject]
                else:
                    obj = None
                authorize(rule, arguments["actor"], obj)
            with unit_of_work():
                return function(*args, **kwargs)

        name = f"{function.__module__}.{function.__name__}"
        USE_CASES[name] = UseCase(name, rule, wrapper)
        wrapper.use_case = USE_CASES[name]
        return wrapper

    return decorate


def lock_row(obj) -> None:
    """Take the row's write lock until the transaction ends.

    PostgreSQL locks the row; SQLite takes its database write lock. Either way a second
    transaction that does the same waits here, so a count read after this call is exact
    (the photo limit, the login throttle …) however many requests race.
    """
    table = type(obj).__table__
    if db.session.get_bind().dialect.name == "sqlite":
        # Any write takes SQLite's lock. Not the key: rewriting a key other tables point at
        # makes SQLite look for their rows, a full scan of each table whose column has no
        # index (0.7 s per add-to-cart once there are a million stock movements).
        column = next(c.name for c in table.columns if not c.primary_key)
        statement = f"UPDATE {table.name} SET {column} = {column} WHERE id = :id"
    else:
        statement = f"UPDATE {table.name} SET id = id WHERE id = :id"
    db.session.execute(text(statement), {"id": obj.id})
