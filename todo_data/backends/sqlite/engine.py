"""SQLite engines: the pragmas and BEGIN every connection gets, and the guard that keeps them off ADBC's in-process reads."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from todo_data.backends.sqlite.files import prepare_file, read_only_url

SQLITE_BUSY_TIMEOUT_MS = 10_000


class InProcessSqliteReads:
    """Keeps this process's ``sqlite3`` connections from starting while ``read_frame`` reads a file through ADBC here.

    ADBC carries its own copy of SQLite, and POSIX locks belong to the process: when that copy closes a file, every
    lock the process holds on it is gone, the ``sqlite3`` module's included
    (https://sqlite.org/howtocorrupt.html#multiple_copies_of_sqlite_linked_into_the_same_application). So a read counts
    itself here *before* it looks for descriptors already open on the file, and a new connection waits, after opening
    its file and before its first statement, until no such read runs: either the read sees the connection's
    descriptor (and reads from a child process instead), or the connection takes no lock until the read is over.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._running = 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            self._running += 1
        try:
            yield
        finally:
            with self._condition:
                self._running -= 1
                if not self._running:
                    self._condition.notify_all()

    def wait(self) -> None:
        with self._condition:
            self._condition.wait_for(lambda: not self._running)


IN_PROCESS_SQLITE_READS = InProcessSqliteReads()


def install_sqlite_pragmas(engine: Engine, *, foreign_keys: bool = True, begin: str = "BEGIN", read_only: bool = False) -> None:
    """Real transactions on SQLite (DDL included), foreign keys, WAL and a busy timeout on each connection."""

    @event.listens_for(engine, "do_connect")
    def _open(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        connection = dialect.connect(*cargs, **cparams)  # the file is open now, and nothing has run on it yet
        IN_PROCESS_SQLITE_READS.wait()
        return connection

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling skips DDL; we issue BEGIN ourselves (SQLAlchemy's recipe).
        dbapi_connection.isolation_level = None
        if read_only:  # mode=ro covers this file only: ATTACH could open it again writable
            dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0] not in ("wal", "memory"):
            with contextlib.suppress(Exception):  # a read-only file keeps its mode
                cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)


def engine_arguments(url: URL, *, read_only: bool) -> tuple[URL, dict[str, Any]]:
    """The busy timeout and no pool for files, the file checked (or its default folder made), ``mode=ro`` when read-only.

    Files get no pool (opening one costs ~0.1 ms): an idle pooled connection would keep the file open, and
    ``read_frame`` reads a file this process holds open through a child process, more slowly.
    """
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if url.database not in (None, "", ":memory:") and "mode=memory" not in url.database:
        kwargs["poolclass"] = NullPool
    prepare_file(url, read_only=read_only)
    return (read_only_url(url) if read_only else url), kwargs
