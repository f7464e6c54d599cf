"""The application's canonical queries, the index shape that serves each, and how the report sends its statements.

Every statement the report sends starts with :data:`MARKER`, so ``top_queries`` can leave the report's own out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import TextClause

from todo_data.backends import backend_for

T = TypeVar("T")

MARKER = "/* todo_data.indexes */"  # leads every statement the report sends, so top_queries can leave them out

CANONICAL_QUERIES: dict[str, TextClause] = {
    "user_newest_tasks": sa.text("SELECT * FROM task WHERE user_id = :user_id ORDER BY created_at DESC LIMIT 50"),
    "user_open_tasks": sa.text("SELECT * FROM task WHERE user_id = :user_id AND completed = false ORDER BY created_at DESC LIMIT 50"),
    "counts_by_status": sa.text("SELECT completed, count(*) AS tasks FROM task GROUP BY completed"),
    "newest_overall": sa.text("SELECT * FROM task ORDER BY created_at DESC LIMIT 50"),
    "task_dependencies": sa.text("SELECT child_task_id FROM task_relationships WHERE parent_task_id = :task_id"),
}


@dataclass(frozen=True)
class ServingIndex:
    """The index shape that answers a canonical query without a full scan or a sort: equality columns, then order."""

    table: str
    equality: tuple[str, ...] = ()
    order: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.equality + self.order


CANONICAL_INDEXES: dict[str, ServingIndex] = {
    "user_newest_tasks": ServingIndex("task", ("user_id",), ("created_at",)),
    "user_open_tasks": ServingIndex("task", ("user_id", "completed"), ("created_at",)),
    "counts_by_status": ServingIndex("task", (), ("completed",)),
    "newest_overall": ServingIndex("task", (), ("created_at",)),
    "task_dependencies": ServingIndex("task_relationships", ("parent_task_id",)),
}


def marked(statement: str) -> TextClause:
    """``statement`` as text that starts with :data:`MARKER`."""
    return sa.text(f"{MARKER} {statement}")


def first_line(exc: BaseException) -> str:
    """The first line of a driver's error, for a note."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def attempt(connection: Connection, action: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run ``action`` inside a savepoint: a failure (missing view, privilege) is returned, and the transaction lives on."""
    savepoint = connection.begin_nested()
    try:
        result = action()
    except DBAPIError as exc:
        savepoint.rollback()
        return None, first_line(exc)
    savepoint.commit()
    return result, None


def query_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters canonical query ``name`` takes, from all of them."""
    return {key: params[key] for key in CANONICAL_QUERIES[name].compile().params}


def canonical_parameters(connection: Connection, *, user_id: str | None = None) -> dict[str, Any]:
    """Realistic parameters for :data:`CANONICAL_QUERIES`: the user with most tasks and the task with most dependencies."""
    names = set(sa.inspect(connection).get_table_names())
    params: dict[str, Any] = {"user_id": user_id, "task_id": None}
    # Where the planner keeps statistics, they name the most common value without reading the table, and without
    # adding scans to the usage counters the report is about; the aggregate is the fallback (and SQLite's way).
    support = backend_for(connection.dialect.name).index_support(connection.dialect)
    if user_id is None and "task" in names:
        params["user_id"] = support.most_common(connection, "task", "user_id")
        if params["user_id"] is None:
            params["user_id"] = connection.execute(
                marked("SELECT user_id FROM task GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1")
            ).scalar()
    if "task_relationships" in names:
        value = support.most_common(connection, "task_relationships", "parent_task_id")
        params["task_id"] = int(value) if value is not None else None
        if params["task_id"] is None:
            params["task_id"] = connection.execute(
                marked(
                    "SELECT parent_task_id FROM task_relationships GROUP BY parent_task_id ORDER BY count(*) DESC, parent_task_id LIMIT 1"
                )
            ).scalar()
    if params["task_id"] is None and "task" in names:
        params["task_id"] = connection.execute(marked("SELECT max(id) FROM task")).scalar()
    params["user_id"] = params["user_id"] if params["user_id"] is not None else ""
    params["task_id"] = params["task_id"] if params["task_id"] is not None else 0
    return params
