"""PostgreSQL's measuring transaction (the data impact's reads): read-only, with a statement timeout for each query."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Connection


@contextlib.contextmanager
def measuring(connection: Connection, timeout_seconds: float) -> Iterator[None]:
    """One read-only transaction whose statements each give up after ``timeout_seconds``; rolled back at the end."""
    with connection.begin() as transaction:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(timeout_seconds * 1000))}")
        try:
            yield
        finally:
            transaction.rollback()


def not_an_integer(column: Any) -> Any:
    """Text that ``::integer`` refuses: anything but optional blanks, a sign and digits."""
    return column.op("!~")(r"^\s*[-+]?[0-9]+\s*$")
