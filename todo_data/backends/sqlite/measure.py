"""SQLite's measuring transaction (the data impact's reads): one read transaction on a ``mode=ro`` file, each query
interrupted when it runs past the timeout (SQLite has no statement timeout: a progress handler stands in)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from todo_data.backends.unfit import Unfit

PROGRESS_STEPS = 10_000  # virtual machine instructions between two looks at the clock


@contextlib.contextmanager
def measuring(connection: Connection, timeout_seconds: float) -> Iterator[None]:
    """One read transaction (one snapshot) whose statements are interrupted after ``timeout_seconds`` each."""
    dbapi = connection.connection.dbapi_connection
    started = [time.monotonic()]

    def before(*_args: object) -> None:
        started[0] = time.monotonic()

    def over_time() -> int:
        return int(time.monotonic() - started[0] > timeout_seconds)

    from sqlalchemy import event

    event.listen(connection, "before_cursor_execute", before)
    dbapi.set_progress_handler(over_time, PROGRESS_STEPS)  # type: ignore[union-attr]
    try:
        with connection.begin() as transaction:
            connection.exec_driver_sql("PRAGMA query_only = ON")
            try:
                yield
            finally:
                transaction.rollback()
    finally:
        dbapi.set_progress_handler(None, PROGRESS_STEPS)  # type: ignore[union-attr]
        event.remove(connection, "before_cursor_execute", before)
        with contextlib.suppress(Exception):
            connection.exec_driver_sql("PRAGMA query_only = OFF")


# The type families Alembic's batch copy tells apart: between two of them it copies the column through CAST(col AS NEW).
FAMILIES = (sa.String, sa.Integer, sa.Numeric, sa.Float, sa.DateTime, sa.Date, sa.Time, sa.Boolean, sa.LargeBinary)
AS_TEXT = (sa.DateTime, sa.Date, sa.Time)  # what SQLAlchemy stores as ISO text on SQLite, and reads back only from text
READ_AS = {sa.DateTime: "a datetime", sa.Date: "a date", sa.Time: "a time"}


def not_castable(column: Any, old: Any, new: Any, options: dict[str, Any]) -> list[Unfit]:
    """The values the batch copy's ``CAST(column AS NEW)`` does not keep: SQLite refuses none, it stores the cast's result.

    A date, datetime or time target has numeric affinity, so every value becomes a number SQLAlchemy cannot read back;
    otherwise a value is lost where the cast's result differs from it (compared as SQLite compares them), and a boolean
    keeps only 0 and 1.
    """
    if isinstance(new, sa.Uuid) and isinstance(old, sa.String) and not isinstance(old, sa.Enum):
        return [_not_a_uuid(column)]
    family_old, family_new = _family(old), _family(new)
    if family_old is None or family_new is None or family_old is family_new:
        return []
    type_name = new.compile(dialect=sqlite.dialect())
    cast = sa.cast(column, new)
    where = f"CAST({column.name} AS {type_name})"
    keep = "to keep them, add the new column, copy them over converted with op.execute, drop the old column and rename the new one"
    if isinstance(new, AS_TEXT):
        return [
            Unfit(
                column.is_not(None),
                f"{where} makes a number of each",
                "data-loss",
                f"; SQLite would not refuse them: the batch copy stores the number ('2020-01-05' becomes 2020), which "
                f"SQLAlchemy cannot read back as {READ_AS[family_new]}",
                f'{keep} (SQLite keeps a date as ISO text: op.execute("UPDATE ... SET new = old") keeps it)',
            )
        ]
    changed = sa.or_(cast != column, cast.not_in([0, 1])) if isinstance(new, sa.Boolean) else cast != column
    words = "not 0 or 1" if isinstance(new, sa.Boolean) else f"changed by {where}"
    example = (
        "'true' becomes 0, read back as False" if isinstance(new, sa.Boolean) else "text that is no number becomes 0, a fraction is cut off"
    )
    return [
        Unfit(
            sa.and_(column.is_not(None), changed),
            words,
            "data-loss",
            f"; SQLite would not refuse them: the batch copy stores what {where} gives in their place ({example})",
            f"correct those values first in the revision, or {keep}",
        )
    ]


def _family(kind: Any) -> type | None:
    return next((family for family in FAMILIES if isinstance(kind, family)), None)


def _not_a_uuid(column: Any) -> Unfit:
    """Text becoming a UUID: the batch copy keeps it as it is (CHAR(32) is text), and SQLAlchemy reads it back through
    Python's ``uuid.UUID``, which takes 32 hex digits after dropping ``urn:``, ``uuid:``, outer braces and hyphens."""
    bare = sa.func.replace(sa.func.trim(sa.func.replace(sa.func.replace(column, "urn:", ""), "uuid:", ""), "{}"), "-", "")
    unreadable = sa.or_(sa.func.length(bare) != 32, sa.func.lower(bare).op("GLOB")("*[^0-9a-f]*"))
    return Unfit(
        sa.and_(column.is_not(None), unreadable),
        "not a UUID",
        "data-loss",
        "; SQLite would not refuse them: the batch copy keeps them as text, which SQLAlchemy cannot read back as a UUID",
        "correct those values first in the revision (or clear them), or keep the type",
    )
