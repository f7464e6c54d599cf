"""SQLite's migration lock: an exclusive ``flock`` on the database file for a whole run."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import URL

from todo_data.settings import mask_url

log = logging.getLogger("todo_data.migrations")  # where a migration run's messages have always been logged


@contextlib.contextmanager
def migration_lock(url: URL) -> Iterator[None]:
    """``flock`` on the file (SQLite's own locks are POSIX record locks, which ``flock`` does not touch); none in memory."""
    database = url.database or ""
    if database in ("", ":memory:") or not Path(database).exists():
        yield
        return
    import fcntl

    with open(database, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("Another migration is running on %s; waiting for it to finish.", mask_url(url))
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
