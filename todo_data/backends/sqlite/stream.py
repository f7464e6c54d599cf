"""Streamed reads on SQLite: pages by primary key through ADBC's SQLite in one read transaction; in a child process
while this process holds the file open (closing ADBC's connection would drop this process's POSIX locks on it).

The driver infers a column's type from its first batch, so a stream of small batches breaks on a run of NULLs
followed by text; each page is one batch, typed from the whole page, and :func:`conform` gives it the schema.
"""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import tempfile
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa
from sqlalchemy.engine import URL

from todo_data.backends.base import DriverError
from todo_data.backends.sqlite.child import sqlite_child_ended, start_sqlite_child
from todo_data.backends.sqlite.engine import SQLITE_BUSY_TIMEOUT_MS
from todo_data.backends.sqlite.files import read_uri
from todo_data.backends.sqlite.reads import adbc_here_or_child
from todo_data.backends.stream import TableRead, conform, parse_utc
from todo_data.db import describe_connection_error
from todo_data.errors import ConnectionFailed, QueryError

PAGE_ROWS = 65_536  # rows per page and per batch: a few MB of Arrow, whatever the table's size


def stream_arrow(url: URL, reads: list[TableRead]) -> Iterator[Iterator[pa.RecordBatch]]:
    """Each read's record batches in key order: ADBC here when nothing in this process holds the file open, else a child."""
    uri = read_uri(url)
    plan = [(read.sql, read.values, read.key, read.schema) for read in reads]
    with adbc_here_or_child(url, uri) as connection:
        if connection is not None:
            yield from pages(connection, plan, SQLITE_BUSY_TIMEOUT_MS, PAGE_ROWS)
        else:
            yield from _stream_in_child(url, uri, plan)


def _stream_in_child(url: URL, uri: str, plan: list[tuple[str, list[Any], str, pa.Schema]]) -> Iterator[Iterator[pa.RecordBatch]]:
    """The pages read by a child process (:func:`_streamer`), each table back as an Arrow IPC stream."""
    request = pickle.dumps((uri, plan, SQLITE_BUSY_TIMEOUT_MS, PAGE_ROWS))
    with tempfile.TemporaryFile() as stderr:
        process = start_sqlite_child(stderr, parse_utc, conform, pages, _streamer)
        try:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.write(request)  # type: ignore[union-attr]
                process.stdin.close()  # type: ignore[union-attr]
            for _ in plan:
                status = process.stdout.readline()  # type: ignore[union-attr]
                if status != b"table\n":
                    raise _child_error(status, process, stderr, url)
                yield _child_batches(process, stderr, url)
        finally:
            process.stdout.close()  # type: ignore[union-attr]
            if process.poll() is None:
                process.kill()
            process.wait()


def _child_batches(process: subprocess.Popen[bytes], stderr: IO[bytes], url: URL) -> Iterator[pa.RecordBatch]:
    """One table's batches from the child's stream, then its verdict: a table that failed part-way raises."""
    try:
        yield from pa.ipc.open_stream(process.stdout)
    except (pa.ArrowException, OSError):
        raise QueryError(sqlite_child_ended(process, stderr, "reading")) from None
    status = process.stdout.readline()  # type: ignore[union-attr]
    if status != b"done\n":
        raise _child_error(status, process, stderr, url)


def _child_error(status: bytes, process: subprocess.Popen[bytes], stderr: IO[bytes], url: URL) -> Exception:
    """What the child's status line (or its silence) means: a connection failure, the driver's error, or its exit."""
    if not status.startswith(b"error "):
        return QueryError(sqlite_child_ended(process, stderr, "reading"))
    message = process.stdout.read().decode(errors="replace")  # type: ignore[union-attr]
    if status == b"error connect\n":
        return ConnectionFailed(describe_connection_error(RuntimeError(message), url))
    return DriverError(message)


def pages(connection: Any, plan: list[tuple[str, list[Any], str, Any]], busy_timeout_ms: int, page_rows: int) -> Iterator[Iterator[Any]]:
    """For each ``(sql, values, key, schema)``: its rows as record batches of ``schema``, ``page_rows`` at a time.

    One cursor, so one read transaction (the connection is not autocommit): every table from one snapshot.
    Self-contained: the child process runs it too.
    """
    cursor = connection.cursor(adbc_stmt_kwargs={"adbc.sqlite.query.batch_rows": str(page_rows)})
    try:
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.fetchall()

        def table(sql: str, values: list[Any], key: str, schema: Any) -> Iterator[Any]:
            after = None
            while True:
                if after is None:
                    cursor.execute(f"SELECT * FROM ({sql}) AS page ORDER BY {key} LIMIT {page_rows}", values or None)
                else:
                    cursor.execute(f"SELECT * FROM ({sql}) AS page WHERE {key} > ? ORDER BY {key} LIMIT {page_rows}", [*values, after])
                page = cursor.fetch_arrow_table()
                for batch in page.to_batches():
                    yield conform(batch, schema)
                if page.num_rows < page_rows:
                    return
                after = page.column(key)[-1].as_py()

        for sql, values, key, schema in plan:
            yield table(sql, values, key, schema)
    finally:
        cursor.close()


def _streamer() -> None:
    """The child process of :func:`_stream_in_child`: it imports nothing of todo_data, only ADBC and Arrow.

    One pickled request on stdin: URI, plan, busy timeout, page rows. On stdout, per table: ``table``, an Arrow IPC
    stream and ``done``; or ``error connect`` or ``error query`` and the driver's message.
    """
    import pickle
    import sys

    import adbc_driver_sqlite.dbapi
    import pyarrow as pa

    uri, plan, busy_timeout_ms, page_rows = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    try:
        connection = adbc_driver_sqlite.dbapi.connect(uri)
    except Exception as exc:
        out.write(b"error connect\n" + str(exc).encode())
        return
    try:
        for (_sql, _values, _key, schema), batches in zip(plan, pages(connection, plan, busy_timeout_ms, page_rows), strict=True):
            out.write(b"table\n")
            failed = None
            with pa.ipc.new_stream(out, schema) as writer:
                try:
                    for batch in batches:
                        writer.write_batch(batch)
                except Exception as exc:
                    failed = exc
            if failed is not None:
                out.write(b"error query\n" + str(failed).encode())
                return
            out.write(b"done\n")
    except Exception as exc:
        out.write(b"error query\n" + str(exc).encode())
    finally:
        connection.close()  # never committed
