"""SQLite's SQL for the constructs of ``todo_data.backends.expressions``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from todo_data.backends.expressions import week_start


@compiles(week_start, "sqlite")
def _week_start(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    # The Sunday ending the week, less six days. The inner date() keeps the stored day as written: with modifiers
    # SQLite computes in milliseconds, and 23:59:59.9995 would round into the next day (and the next week).
    return f"date(date({compiler.process(element.column, **kw)}), 'weekday 0', '-6 days')"
