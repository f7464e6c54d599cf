"""PostgreSQL's migration session: a session advisory lock for a whole run, and the lock and statement timeouts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from todo_data.errors import ConfigurationError
from todo_data.settings import mask_url

log = logging.getLogger("todo_data.migrations")  # where a migration run's messages have always been logged

# The advisory lock key for "a todo_data migration is running" (any 64-bit constant will do).
ADVISORY_LOCK_KEY = 0x70D0_DA7A_0001


@contextlib.contextmanager
def migration_lock(connection: Connection, url: URL) -> Iterator[None]:
    """A session advisory lock: a second run waits for it (saying so), without a lock_timeout, however long the first takes."""
    key = {"key": ADVISORY_LOCK_KEY}
    if not connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), key).scalar_one():
        log.warning("Another migration is running on %s; waiting for it to finish.", mask_url(url))
        connection.exec_driver_sql("SET lock_timeout = 0")  # the wait is for the lock, however long the other run takes
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), key)
    connection.commit()
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), key)
        connection.commit()


def session_settings(lock_timeout: str, statement_timeout: str) -> list[str]:
    """``SET lock_timeout`` and ``SET statement_timeout``, each checked to be a PostgreSQL duration."""
    return [f"SET lock_timeout = '{_interval(lock_timeout)}'", f"SET statement_timeout = '{_interval(statement_timeout)}'"]


def _interval(value: str) -> str:
    text = str(value).strip()
    if not text.replace(" ", "").replace(".", "").isalnum():
        raise ConfigurationError(f"Timeout {text!r} is not a PostgreSQL duration: use e.g. 5s, 500ms or 0.")
    return text
