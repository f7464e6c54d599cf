"""PostgreSQL's SQL for the constructs of ``todo_data.backends.expressions``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from todo_data.backends.expressions import week_start


@compiles(week_start, "postgresql")
def _week_start(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    # timezone('UTC', timestamptz) is the UTC wall time, so the session's TimeZone does not move the week.
    return f"date_trunc('week', timezone('UTC', {compiler.process(element.column, **kw)}))"
