"""Task data as Parquet or CSV files for analysts' tools, streamed in Arrow record batches so memory stays flat.

:func:`export` writes tasks, users and dependencies (``task_relationships``) with the explorer's filters
(:class:`todo_data.frames.TaskFilter`), through ADBC on a read-only connection and in one snapshot for every table:
PostgreSQL streams each table in one query (``fetch_record_batch``); SQLite reads pages by primary key, since its
driver infers a column's type from the first batch. Every batch takes the model's types (timestamps UTC) before it
is written, and a file appears under its name only when complete.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import adbc_driver_manager
import adbc_driver_postgresql.dbapi
import adbc_driver_sqlite.dbapi
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.types import TypeDecorator

from todo_data.db import (
    IN_PROCESS_SQLITE_READS,
    SQLITE_BUSY_TIMEOUT_MS,
    describe_connection_error,
    resolve_url,
    sqlite_child_ended,
    start_sqlite_child,
)
from todo_data.errors import ConfigurationError, ConnectionFailed, MigrationError, QueryError
from todo_data.frames import TaskFilter, held_open_here, libpq_uri, sqlite_uri
from todo_data.models import Task, TaskRelationship, User
from todo_data.settings import backend_of, mask_text, mask_url

TABLES: dict[str, sa.Table] = {
    "tasks": Task.__table__,  # type: ignore[attr-defined]
    "users": User.__table__,  # type: ignore[attr-defined]
    "dependencies": TaskRelationship.__table__,  # type: ignore[attr-defined]
}
FORMATS = ("parquet", "csv")
PAGE_ROWS = 65_536  # SQLite rows per page (and per Parquet row group): a few MB of Arrow, whatever the table's size
PRIORITY_LABELS: Mapping[str, str | None] = {"(none)": None, "(empty)": ""}  # the explorer's names for NULL and ''

_UTC = pa.timestamp("us", tz="UTC")
_DRIVER_ERRORS = (adbc_driver_manager.Error, pa.ArrowException, OSError, ValueError)


@dataclass(frozen=True)
class ExportedFile:
    """One file written: which table, where, how many rows."""

    name: str
    path: Path
    rows: int


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote: the database (password masked), the format and each file with its row count."""

    database: str
    format: str
    files: tuple[ExportedFile, ...]


@dataclass(frozen=True)
class _Query:
    """One table's read: compiled SQL without ORDER BY, its values, the key it pages and sorts by, the Arrow schema."""

    name: str
    sql: str
    values: list[Any]
    key: str
    schema: pa.Schema


def export(
    tables: str | Sequence[str] = "all",
    output_dir: str | Path = "exports",
    *,
    format: str = "parquet",
    database_url: str | URL | None = None,
    user_id: str | None = None,
    completed: bool | None = None,
    priority: str | Sequence[str | None] | None = None,
    created_from: datetime | date | str | None = None,
    created_to: datetime | date | str | None = None,
    text: str | None = None,
) -> ExportResult:
    """Write ``tables`` (``tasks``, ``users``, ``dependencies`` or ``all``) to ``output_dir/NAME.parquet`` or ``.csv``.

    The filters are the explorer's (:class:`~todo_data.frames.TaskFilter`) and select tasks; with any of them,
    users are those owning a selected task and dependencies those whose parent task is selected. Rows are in
    primary-key order. An existing file of the same name is replaced only once its successor is complete.
    """
    names = _table_names(tables)
    if format not in FORMATS:
        raise ConfigurationError(f"format must be one of {', '.join(FORMATS)}, not {format!r}.")
    task_filter = TaskFilter(
        user_id=user_id, completed=completed, priority=priority, created_from=created_from, created_to=created_to, text=text
    )
    url = resolve_url(database_url)
    backend = backend_of(url)
    if backend not in ("postgresql", "sqlite"):
        raise ConfigurationError(f"export reads PostgreSQL and SQLite databases, not {backend}.")
    folder = _writable(Path(output_dir))
    dialect = _dialect(backend)
    queries = [_query(name, task_filter, dialect) for name in names]
    reads = _pg_tables(url, queries) if backend == "postgresql" else _sqlite_tables(url, queries)
    written = []
    with contextlib.closing(reads):
        for query, batches in reads:
            path = folder / f"{query.name}.{format}"
            try:
                rows = _write(batches, path, query.schema, format)
            except _DRIVER_ERRORS as exc:
                raise _failure(exc, url, query.name) from None
            written.append(ExportedFile(query.name, path, rows))
    return ExportResult(mask_url(url), format, tuple(written))


def _table_names(tables: str | Sequence[str]) -> list[str]:
    names = [tables] if isinstance(tables, str) else list(tables)
    if names == ["all"]:
        return list(TABLES)
    if "all" in names:
        raise ConfigurationError("export: give 'all' alone, or table names (tasks, users, dependencies).")
    unknown = [name for name in names if name not in TABLES]
    if unknown or not names:
        raise ConfigurationError(f"export takes {', '.join(TABLES)} or all, not {', '.join(map(repr, unknown)) or 'nothing'}.")
    return list(dict.fromkeys(names))


def _writable(folder: Path) -> Path:
    """The output folder, made if missing, once a file can be created in it; else one line saying what to do."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot write to {folder}: {exc.strerror or exc}: choose another --output-dir, or make it a folder you can write to."
        ) from None
    return folder


def arrow_schema(table: sa.Table) -> pa.Schema:
    """The model's columns as Arrow fields: integers int64, text string, booleans bool, timestamps microseconds UTC."""
    fields = []
    for column in table.columns:
        type_ = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
        if isinstance(type_, sa.DateTime):
            arrow: pa.DataType = _UTC
        elif isinstance(type_, sa.Boolean):
            arrow = pa.bool_()
        elif isinstance(type_, sa.Integer):
            arrow = pa.int64()
        elif isinstance(type_, sa.String):
            arrow = pa.string()
        else:  # a column type the models do not use yet: say so rather than guess
            raise ConfigurationError(f"export has no Arrow type for {table.name}.{column.name} ({column.type}).")
        fields.append(pa.field(column.name, arrow, nullable=bool(column.nullable)))
    return pa.schema(fields)


def _query(name: str, task_filter: TaskFilter, dialect: Dialect) -> _Query:
    table = TABLES[name]
    tasks = TABLES["tasks"]
    statement = sa.select(*table.columns)
    clauses = task_filter.clauses()
    if clauses and name == "tasks":
        statement = statement.where(*clauses)
    elif clauses and name == "users":
        statement = statement.where(sa.exists().where(tasks.c.user_id == table.c.id, *clauses))
    elif clauses and name == "dependencies":
        statement = statement.where(table.c.parent_task_id.in_(sa.select(tasks.c.id).where(*clauses)))
    sql, values = _compile(statement, dialect)
    (key,) = table.primary_key.columns
    return _Query(name, sql, values, key.name, arrow_schema(table))


def _dialect(backend: str) -> Dialect:
    """The SQLAlchemy dialect that compiles for the ADBC driver's positional placeholders."""
    if backend == "postgresql":
        return sa.engine.make_url("postgresql+psycopg://").get_dialect()(paramstyle="numeric_dollar")
    return sa.engine.make_url("sqlite+pysqlite://").get_dialect()(paramstyle="qmark")


def _compile(statement: sa.Select[Any], dialect: Dialect) -> tuple[str, list[Any]]:
    """SQL with positional placeholders and its values in order, each through its type's bind processor."""
    compiled = statement.compile(dialect=dialect)
    state = compiled.construct_expanded_state()
    processors = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    processors.update(state.processors)  # the elements of expanded IN lists
    values = []
    for name in state.positiontup or ():
        value = state.parameters[name]
        values.append(processors[name](value) if name in processors and value is not None else value)
    return state.statement, values


def _write(batches: Iterator[pa.RecordBatch], path: Path, schema: pa.Schema, format: str) -> int:
    """Write the batches to a hidden file beside ``path``, then rename it: ``path`` is the old file or the whole new one."""
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    rows = 0
    try:
        writer: Any = pq.ParquetWriter(partial, schema) if format == "parquet" else pa_csv.CSVWriter(partial, schema)
        with writer:
            for batch in batches:
                writer.write_batch(batch)
                rows += batch.num_rows
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
    return rows


def _failure(exc: BaseException, url: URL, name: str) -> QueryError | MigrationError | ConnectionFailed:
    """One line, no password: what went wrong reading ``name``, and what to do."""
    text = str(exc).strip()
    lowered = text.lower()
    if isinstance(exc, OSError) and not isinstance(exc, adbc_driver_manager.Error) and getattr(exc, "filename", None):
        return QueryError(f"Cannot write {exc.filename}: {exc.strerror}: free some space or choose another --output-dir.")
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return MigrationError(f"The database has no {TABLES[name].name!r} table: run `todo-data db upgrade` to create the schema.")
    if any(sign in lowered for sign in ("server closed the connection", "terminating connection", "could not receive data")):
        return ConnectionFailed(describe_connection_error(exc, url))
    detail = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    password = url.password if isinstance(url.password, str) else None
    return QueryError(mask_text(f"Exporting {name} from {mask_url(url)} failed: {detail}", password))


# --- PostgreSQL: one streamed query per table, in one read-only snapshot -------------------------------------


def _pg_tables(url: URL, queries: list[_Query]) -> Iterator[tuple[_Query, Iterator[pa.RecordBatch]]]:
    try:
        connection = adbc_driver_postgresql.dbapi.connect(libpq_uri(url))  # a transaction: read-only, in UTC (libpq_uri)
    except _DRIVER_ERRORS as exc:
        raise ConnectionFailed(describe_connection_error(exc, url)) from None
    try:
        with connection.cursor() as cursor:
            try:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")  # every table from one snapshot
            except _DRIVER_ERRORS as exc:
                raise _failure(exc, url, queries[0].name) from None
            for query in queries:
                try:
                    cursor.execute(f"{query.sql} ORDER BY {query.key}", query.values or None)
                    reader = cursor.fetch_record_batch()
                except _DRIVER_ERRORS as exc:
                    raise _failure(exc, url, query.name) from None
                yield query, (conform(batch, query.schema) for batch in reader)
    finally:
        connection.close()  # never committed


# --- SQLite: pages by primary key, here or in a child process while this process holds the file open --------


def _sqlite_tables(url: URL, queries: list[_Query]) -> Iterator[tuple[_Query, Iterator[pa.RecordBatch]]]:
    """Each table's pages through ADBC's SQLite in one read transaction; in a child process when the file is open here.

    ADBC carries its own copy of SQLite: closing its connection would drop this process's POSIX locks on the file
    (see :class:`todo_data.db.InProcessSqliteReads`), so while this process holds it open, a child reads.
    """
    uri = sqlite_uri(url)
    plan = [(query.sql, query.values, query.key, query.schema) for query in queries]
    with IN_PROCESS_SQLITE_READS.reading():
        if not held_open_here(Path(unquote(urlsplit(uri).path))):
            try:
                connection = adbc_driver_sqlite.dbapi.connect(uri)
            except _DRIVER_ERRORS as exc:
                raise ConnectionFailed(describe_connection_error(exc, url)) from None
            try:
                yield from zip(queries, sqlite_pages(connection, plan, SQLITE_BUSY_TIMEOUT_MS, PAGE_ROWS), strict=True)
            finally:
                connection.close()  # never committed
            return
    yield from _sqlite_tables_in_child(url, uri, queries, plan)


def _sqlite_tables_in_child(
    url: URL, uri: str, queries: list[_Query], plan: list[tuple[str, list[Any], str, pa.Schema]]
) -> Iterator[tuple[_Query, Iterator[pa.RecordBatch]]]:
    """The pages read by a child process (:func:`_sqlite_exporter`), each table back as an Arrow IPC stream."""
    request = pickle.dumps((uri, plan, SQLITE_BUSY_TIMEOUT_MS, PAGE_ROWS))
    with tempfile.TemporaryFile() as stderr:
        process = start_sqlite_child(stderr, parse_utc, conform, sqlite_pages, _sqlite_exporter)
        try:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.write(request)  # type: ignore[union-attr]
                process.stdin.close()  # type: ignore[union-attr]
            for query in queries:
                status = process.stdout.readline()  # type: ignore[union-attr]
                if status != b"table\n":
                    raise _child_error(status, process, stderr, url, query.name)
                yield query, _child_batches(process, stderr, url, query.name)
        finally:
            process.stdout.close()  # type: ignore[union-attr]
            if process.poll() is None:
                process.kill()
            process.wait()


def _child_batches(process: subprocess.Popen[bytes], stderr: IO[bytes], url: URL, name: str) -> Iterator[pa.RecordBatch]:
    """One table's batches from the child's stream, then its verdict: a table that failed part-way raises."""
    try:
        yield from pa.ipc.open_stream(process.stdout)
    except (pa.ArrowException, OSError):
        raise QueryError(sqlite_child_ended(process, stderr, "export")) from None
    status = process.stdout.readline()  # type: ignore[union-attr]
    if status != b"done\n":
        raise _child_error(status, process, stderr, url, name)


def _child_error(status: bytes, process: subprocess.Popen[bytes], stderr: IO[bytes], url: URL, name: str) -> Exception:
    """What the child's status line (or its silence) means, in one line."""
    if not status.startswith(b"error "):
        return QueryError(sqlite_child_ended(process, stderr, "export"))
    error = RuntimeError(process.stdout.read().decode(errors="replace"))  # type: ignore[union-attr]
    if status == b"error connect\n":
        return ConnectionFailed(describe_connection_error(error, url))
    return _failure(error, url, name)


def sqlite_pages(
    connection: Any, plan: list[tuple[str, list[Any], str, Any]], busy_timeout_ms: int, page_rows: int
) -> Iterator[Iterator[Any]]:
    """For each ``(sql, values, key, schema)``: its rows as record batches of ``schema``, read ``page_rows`` at a time.

    Every page is one driver batch, so the driver infers its types from the whole page (a page of NULLs and text
    is text); :func:`conform` then gives it the schema. Self-contained: the child process runs it too.
    """
    cursor = connection.cursor(adbc_stmt_kwargs={"adbc.sqlite.query.batch_rows": str(page_rows)})
    try:
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.fetchall()

        def pages(sql: str, values: list[Any], key: str, schema: Any) -> Iterator[Any]:
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
            yield pages(sql, values, key, schema)
    finally:
        cursor.close()


def _sqlite_exporter() -> None:
    """The child process of :func:`_sqlite_tables_in_child`: it imports nothing of todo_data, only ADBC and Arrow.

    One pickled request on stdin: URI, plan, busy timeout, page rows. On stdout, per table: ``table`` and an Arrow
    IPC stream; or ``error connect`` or ``error query`` and the driver's message.
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
        for (_sql, _values, _key, schema), batches in zip(plan, sqlite_pages(connection, plan, busy_timeout_ms, page_rows), strict=True):
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


def conform(batch: Any, schema: Any) -> Any:
    """A record batch with ``schema``'s types: all-NULL columns typed, 0/1 as booleans, naive or text timestamps as UTC.

    Self-contained: the child process runs it too. A NULL where the schema forbids one raises ValueError.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = []
    for field in schema:
        column = batch.column(field.name)
        if column.null_count == len(column):
            column = pa.nulls(len(column), field.type)
        elif pa.types.is_timestamp(field.type) and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = parse_utc(column)
        elif pa.types.is_timestamp(field.type) and pa.types.is_timestamp(column.type) and column.type.tz is None:
            column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))  # naive values are UTC, as the models store them
        elif pa.types.is_boolean(field.type) and pa.types.is_integer(column.type):
            column = pc.not_equal(column, 0)
        if not field.nullable and column.null_count:
            raise ValueError(f"column {field.name} holds NULL, which the model does not allow: run `todo-data db upgrade`")
        arrays.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def parse_utc(column: Any) -> Any:
    """ISO 8601 text as UTC microseconds: naive text is UTC; offsets are honoured. Self-contained, for the child too."""
    import pyarrow as pa

    for target in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:
            return column.cast(target).cast(pa.timestamp("us", tz="UTC"))
        except pa.ArrowInvalid:
            continue
    import pandas as pd  # mixed: some values with an offset, some without

    parsed = pd.to_datetime(column.to_pandas(), format="ISO8601", utc=True)
    return pa.Array.from_pandas(parsed).cast(pa.timestamp("us", tz="UTC"))
