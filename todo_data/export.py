"""Task data as Parquet or CSV files for analysts' tools, streamed in Arrow record batches so memory stays flat.

:func:`export` writes tasks, users and dependencies (``task_relationships``) with the explorer's filters
(:class:`todo_data.frames.TaskFilter`), through the backend's streamed reader (``Backend.stream_arrow``: ADBC, read-only, one snapshot for every table).
Every batch has the model's types (timestamps UTC) when it is written, and a file appears under its name only when
complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.types import TypeDecorator

from todo_data.backends import backend_for
from todo_data.backends.adbc import DRIVER_ERRORS
from todo_data.backends.stream import TableRead
from todo_data.db import describe_connection_error, resolve_url
from todo_data.errors import ConfigurationError, ConnectionFailed, MigrationError, QueryError
from todo_data.frames import TaskFilter, compile_positional
from todo_data.models import Task, TaskRelationship, User
from todo_data.settings import mask_text, mask_url

TABLES: dict[str, sa.Table] = {
    "tasks": Task.__table__,  # type: ignore[attr-defined]
    "users": User.__table__,  # type: ignore[attr-defined]
    "dependencies": TaskRelationship.__table__,  # type: ignore[attr-defined]
}
FORMATS = ("parquet", "csv")
PRIORITY_LABELS: Mapping[str, str | None] = {"(none)": None, "(empty)": ""}  # the explorer's names for NULL and ''

_UTC = pa.timestamp("us", tz="UTC")
_READ_ERRORS = (*DRIVER_ERRORS, ValueError)  # ValueError: a batch that cannot take the model's types


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
    backend = backend_for(url)
    folder = _writable(Path(output_dir))
    reads = [_read(name, task_filter, backend.read_dialect()) for name in names]
    streams = backend.stream_arrow(url, reads)
    written = []
    with contextlib.closing(streams):  # type: ignore[type-var]
        for name, read in zip(names, reads, strict=True):
            path = folder / f"{name}.{format}"
            try:
                rows = _write(next(streams), path, read.schema, format)
            except _READ_ERRORS as exc:
                raise _failure(exc, url, name) from None
            written.append(ExportedFile(name, path, rows))
    return ExportResult(mask_url(url), format, tuple(written))


def save_tasks(path: str | Path, *, database_url: str | URL | None = None, **filters: Any) -> ExportedFile:
    """The tasks matching ``filters`` (:func:`export`'s: user_id, completed, priority, created_from, created_to, text),
    streamed into one file, Parquet or CSV by ``path``'s suffix: the explorer's save.

    ``path`` appears only once complete, replacing a file of that name.
    """
    target = Path(path)
    format = target.suffix.lower().lstrip(".")
    if format not in FORMATS or not target.stem:
        raise ConfigurationError(f"Save to a file ending in .parquet or .csv, not {str(path)!r} (e.g. open-tasks.parquet).")
    folder = _writable(target.parent)
    with tempfile.TemporaryDirectory(dir=folder, prefix=f".{target.name}.") as scratch:
        (written,) = export("tasks", scratch, format=format, database_url=database_url, **filters).files
        os.replace(written.path, target)
    return ExportedFile("tasks", target, written.rows)


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


def _read(name: str, task_filter: TaskFilter, dialect: Dialect) -> TableRead:
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
    sql, values = compile_positional(statement, None, dialect)
    (key,) = table.primary_key.columns
    return TableRead(sql, values, key.name, arrow_schema(table))


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
        os.chmod(partial, 0o666 & ~_umask())  # mkstemp's 0600 would hide the file from the user's other tools
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
    return rows


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _failure(exc: BaseException, url: URL, name: str) -> QueryError | MigrationError | ConnectionFailed:
    """One line, no password: what went wrong reading ``name``, and what to do."""
    text = str(exc).strip()
    lowered = text.lower()
    if isinstance(exc, OSError) and getattr(exc, "filename", None):
        return QueryError(f"Cannot write {exc.filename}: {exc.strerror}: free some space or choose another --output-dir.")
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return MigrationError(f"The database has no {TABLES[name].name!r} table: run `todo-data db upgrade` to create the schema.")
    if any(sign in lowered for sign in ("server closed the connection", "terminating connection", "could not receive data")):
        return ConnectionFailed(describe_connection_error(exc, url))
    detail = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    password = url.password if isinstance(url.password, str) else None
    return QueryError(mask_text(f"Exporting {name} from {mask_url(url)} failed: {detail}", password))
