"""SQLite's measuring transaction (the data impact's reads): one read transaction on a ``mode=ro`` file, each query
interrupted when it runs past the timeout (SQLite has no statement timeout: a progress handler stands in)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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


def not_an_integer(column: Any) -> Any:
    """Text that is not an integer literal (blanks, one sign, digits): SQLite would keep it as text in an INTEGER column."""
    text = sa.func.trim(column)
    digits = sa.func.ltrim(text, "+-")
    return sa.and_(
        sa.func.typeof(column) == "text",
        sa.or_(digits == "", digits.op("GLOB")("*[^0-9]*"), sa.func.length(text) - sa.func.length(digits) > 1),
    )
