"""SQL constructs whose text differs per database, written once: each backend's folder compiles them for its dialect.

A construct here has no SQL of its own; ``postgresql/expressions.py`` and ``sqlite/expressions.py`` register one
``@compiles`` each (SQLAlchemy's compiler extension), so a query built with it runs on either backend unchanged.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class week_start(FunctionElement[Any]):  # lower case, as SQLAlchemy names its functions (sa.func.now)
    """The Monday 00:00 UTC that starts the week of a timestamp column (tasks.weekly, frames.weekly_tasks).

    Untyped, as the SQL functions it compiles to are: callers type its result (``sa.type_coerce``) or parse it.
    """

    name = "week_start"
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column)

    @property
    def column(self) -> ColumnElement[Any]:
        """The timestamp column whose week this is."""
        return next(iter(self.clauses))


@compiles(week_start)
def _unsupported(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"week_start has no SQL for {compiler.dialect.name}: weekly counts run on PostgreSQL and SQLite.")
