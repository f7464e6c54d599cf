"""read_frame's transport on SQLite: ADBC's copy of SQLite in this process, or in a child process while this
process holds the file open (closing ADBC's connection would drop this process's POSIX locks on it)."""

from __future__ import annotations

import contextlib
import pickle
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import adbc_driver_sqlite.dbapi
import pyarrow as pa
from sqlalchemy.engine import URL

from todo_data.backends.adbc import DRIVER_ERRORS
from todo_data.backends.base import DriverError
from todo_data.backends.sqlite.child import sqlite_child_ended, start_sqlite_child
from todo_data.backends.sqlite.engine import IN_PROCESS_SQLITE_READS, SQLITE_BUSY_TIMEOUT_MS
from todo_data.backends.sqlite.files import held_open_here, read_uri
from todo_data.db import describe_connection_error
from todo_data.errors import ConnectionFailed, QueryError

# The driver infers each column's type from the first batch: large batches make a leading run of NULLs harmless,
# and on a type mismatch the read is tried again with one batch for every row (the driver refuses 2**31 - 1).
BATCH_ROWS_TRIED = (1 << 20, 1 << 30)


@contextlib.contextmanager
def adbc_here_or_child(url: URL, uri: str) -> Iterator[Any | None]:
    """ADBC's read-only connection to the file in this process, or None when the read must run in a child process.

    ADBC carries its own copy of SQLite; closing its connection would drop the POSIX locks that this process's
    ``sqlite3`` connections hold on the same file (a write transaction's included), so while any is open the read
    runs in a process of its own. A read here counts itself for the block (:class:`InProcessSqliteReads`) and its
    connection is closed after it, never committed; None is given after that count is over, so the child's read
    keeps no ``sqlite3`` connection of this process waiting.
    """
    with IN_PROCESS_SQLITE_READS.reading():
        if not held_open_here(Path(unquote(urlsplit(uri).path))):
            try:
                connection = adbc_driver_sqlite.dbapi.connect(uri)
            except DRIVER_ERRORS as exc:
                raise ConnectionFailed(describe_connection_error(exc, url)) from None
            try:
                yield connection
            finally:
                connection.close()  # never committed: whatever a query did is rolled back
            return
    yield None


def read_arrow(url: URL, sql: str, values: list[Any]) -> pa.Table:
    """The read through ADBC's SQLite: here when nothing in this process holds the file open, else in a child process
    (:func:`adbc_here_or_child`). A failed query raises the driver's error (or :class:`DriverError` from the child),
    for the caller to word.
    """
    uri = read_uri(url)
    with adbc_here_or_child(url, uri) as connection:
        if connection is not None:
            return _rows(connection, sql, values, SQLITE_BUSY_TIMEOUT_MS, BATCH_ROWS_TRIED)
        return _read_in_child(url, uri, sql, values)


def _read_in_child(url: URL, uri: str, sql: str, values: list[Any]) -> pa.Table:
    """The read in a child process (:func:`_reader`), its result back as an Arrow IPC stream."""
    request = pickle.dumps((uri, sql, values, SQLITE_BUSY_TIMEOUT_MS, BATCH_ROWS_TRIED))
    with tempfile.TemporaryFile() as stderr:
        process = start_sqlite_child(stderr, _rows, _reader)
        try:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.write(request)  # type: ignore[union-attr]
                process.stdin.close()  # type: ignore[union-attr]
            status = process.stdout.readline()  # type: ignore[union-attr]
            if status == b"ok\n":
                with contextlib.suppress(pa.ArrowException, OSError):  # the child died mid-stream: said below
                    return pa.ipc.open_stream(process.stdout).read_all()
            elif status.startswith(b"error "):
                error = RuntimeError(process.stdout.read().decode(errors="replace"))  # type: ignore[union-attr]
                if status == b"error connect\n":
                    raise ConnectionFailed(describe_connection_error(error, url))
                raise DriverError(str(error))
            raise QueryError(sqlite_child_ended(process, stderr, "reading"))
        finally:
            process.stdout.close()  # type: ignore[union-attr]
            if process.poll() is None:
                process.kill()
            process.wait()


def _rows(connection: Any, sql: str, values: list[Any], busy_timeout_ms: int, tried: Sequence[int]) -> pa.Table:
    """The query's rows from an ADBC SQLite connection, read again in larger batches after a type mismatch.

    The driver infers each column's type from the first batch. Self-contained: the child process runs it too.
    """

    def read(batch_rows: int) -> pa.Table:
        with connection.cursor(adbc_stmt_kwargs={"adbc.sqlite.query.batch_rows": str(batch_rows)}) as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            cursor.fetchall()
            cursor.execute(sql, values or None)
            return cursor.fetch_arrow_table()

    for batch_rows in tried[:-1]:
        try:
            return read(batch_rows)
        except Exception as exc:
            if "type mismatch" not in str(exc).lower():
                raise
    return read(tried[-1])


def _reader() -> None:
    """The child process of :func:`_read_in_child`: it imports nothing of todo_data, only ADBC and Arrow.

    One pickled request on stdin: URI, SQL, values, busy timeout, and the batch sizes to try. On stdout: ``ok``
    and an Arrow IPC stream, or ``error connect`` or ``error query`` and the driver's message.
    """
    import pickle
    import sys

    import adbc_driver_sqlite.dbapi
    import pyarrow as pa

    uri, sql, values, busy_timeout_ms, tried = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    try:
        connection = adbc_driver_sqlite.dbapi.connect(uri)
    except Exception as exc:
        out.write(b"error connect\n" + str(exc).encode())
        return
    try:
        table = _rows(connection, sql, values, busy_timeout_ms, tried)
    except Exception as exc:
        out.write(b"error query\n" + str(exc).encode())
        return
    finally:
        connection.close()  # never committed: whatever the query did is rolled back
    out.write(b"ok\n")
    with pa.ipc.new_stream(out, table.schema) as writer:
        writer.write_table(table)
