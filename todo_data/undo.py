"""Undoing a revision that failed after committing part of itself (PostgreSQL's NOT NULL steps commit as they go), by
its own downgrade, so a failed upgrade leaves the database at its previous revision with its data intact.

A step that commits marks the connection with the revision then recorded (:mod:`todo_data.backends.committed`). When
the upgrade fails and the database still records that revision, the failed revision is the next one on the chain: its
``downgrade()`` runs on the same connection in a fresh transaction. A written revision's steps come after all its
other operations, so that downgrade finds everything it reverses, and the new columns hold only backfilled values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import Script
from sqlalchemy.engine import Connection

from todo_data import chain
from todo_data.backends.committed import PART_COMMITTED

RETRY_PAUSES = (1.0, 2.0, 4.0, 8.0)
"""Seconds between tries of an undo stopped by a lock or statement timeout (each try waits the session's lock_timeout):
the lock that failed the upgrade is often still held a moment after."""


@dataclass(frozen=True)
class Undo:
    """A failed revision whose committed part was undone (or could not be)."""

    revision: str
    previous: str
    error: str | None = None  # why the undo failed; None when it worked
    dropped: tuple[str, ...] = ()  # what the revision dropped before it failed: its downgrade makes them again, empty

    def sentence(self, action: str, cause: str) -> str:
        """One line: what failed, what the undo did, and what to run."""
        failed = f"The {action} failed in revision {self.revision} after part of it had committed (cause: {cause})"
        if self.error is None:
            data = (
                f"and what the revision dropped ({', '.join(self.dropped)}) is back, but empty"
                if self.dropped
                else "with its data unchanged"
            )
            return (
                f"{failed}; that part was undone by {self.revision}'s downgrade, so the database is at {self.previous} "
                f"{data}: fix the cause, then run `todo-data db upgrade` again."
            )
        return (
            f"{failed}, and undoing that part with {self.revision}'s downgrade failed too ({self.error}): the database "
            f"holds part of {self.revision} while it records {self.previous}; once the causes are fixed, run "
            f"`todo-data db stamp {self.revision}`, then `todo-data db downgrade {self.previous} --accept-data-loss` "
            f"(the new columns hold only backfilled values), then `todo-data db upgrade`."
        )


def forget(connection: Connection) -> None:
    """Clear a mark left by an earlier run on this connection."""
    connection.info.pop(PART_COMMITTED, None)


def undo_committed_part(connection: Connection) -> Undo | None:
    """After a failed upgrade (its transaction rolled back): run the failed revision's downgrade when part of it had
    committed; None when nothing of it had."""
    marked = connection.info.pop(PART_COMMITTED, None)
    if marked is None:
        return None
    try:
        now = chain.current_revisions(connection)
    except Exception:  # the connection is gone: the failure's own line says where the database stands
        return None
    if now != marked:
        return None  # the revision that committed part of itself completed; a later one failed whole
    order = chain.revisions()
    ids = [revision.revision for revision in order]
    failed = order[ids.index(now[0]) + 1 if now else 0]
    previous = ", ".join(now) or "no revision"
    error = None
    for pause in (0.0, *RETRY_PAUSES):
        time.sleep(pause)
        error, again = _downgrade(connection, failed)
        if not again:
            break
    return Undo(failed.revision, previous, error, _dropped(failed, connection))


def _dropped(revision: Script, connection: Connection) -> tuple[str, ...]:
    """The columns and tables ``revision``'s upgrade drops (``task.description``), read from its recorded operations."""
    from todo_data.impact.changes import record  # here: the impact package loads pandas, which `todo-data` starts without

    try:
        changes = record(revision.module.upgrade, connection.dialect)
    except Exception:  # a revision that reads the database cannot be recorded: nothing is claimed about it
        return ()
    return tuple(change.describe().removeprefix(f"{change.kind} ") for change in changes if change.kind in ("drop_column", "drop_table"))


def _downgrade(connection: Connection, revision: Script) -> tuple[str | None, bool]:
    """Run ``revision``'s ``downgrade()`` on ``connection`` in one transaction of its own: why it failed (None when it
    did not), and whether to try again (a lock or statement timeout: what failed the upgrade may still hold on)."""
    try:
        with connection.begin():
            context = MigrationContext.configure(connection, opts=chain.run_options(connection.dialect.name))
            with Operations.context(context):
                revision.module.downgrade()
    except Exception as exc:  # whatever stops the undo is reported with what to run instead
        if connection.in_transaction():
            connection.rollback()
        return first_line(exc), isinstance(exc, sa.exc.OperationalError)
    return None, False


def first_line(exc: BaseException) -> str:
    """The first line of what the database (or the revision) said about ``exc``."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
