"""Streamed reads on PostgreSQL: one query per table through ADBC's COPY reader, every table in one read-only snapshot."""

from __future__ import annotations

from collections.abc import Iterator

import adbc_driver_postgresql.dbapi
import pyarrow as pa
from sqlalchemy.engine import URL

from todo_data.backends.adbc import DRIVER_ERRORS
from todo_data.backends.postgresql.reads import libpq_uri
from todo_data.backends.stream import TableRead, conform
from todo_data.db import describe_connection_error
from todo_data.errors import ConnectionFailed


def stream_arrow(url: URL, reads: list[TableRead]) -> Iterator[Iterator[pa.RecordBatch]]:
    """Each read's record batches, in key order, on a connection of its own (read-only and in UTC: libpq_uri)."""
    try:
        connection = adbc_driver_postgresql.dbapi.connect(libpq_uri(url))
    except DRIVER_ERRORS as exc:
        raise ConnectionFailed(describe_connection_error(exc, url)) from None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")  # every table from one snapshot
            for read in reads:
                cursor.execute(f"{read.sql} ORDER BY {read.key}", read.values or None)
                yield (conform(batch, read.schema) for batch in cursor.fetch_record_batch())
    finally:
        connection.close()  # never committed
