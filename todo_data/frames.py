"""DataFrames for notebooks and reports: ADBC and Arrow on PostgreSQL and SQLite, read-only, values always bound.

``read_frame`` runs any query; ``tasks_frame``, ``count_tasks`` and ``weekly_tasks`` are the task explorer's
queries, built with SQLAlchemy Core over ``models.Task`` and sharing one :class:`TaskFilter`. Timestamps come
back as ``datetime64[us, UTC]`` on both backends (SQLite keeps them as text; they are parsed in Arrow).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.type_api import TypeEngine
from sqlalchemy.types import NullType, TypeDecorator

from todo_data.backends import Backend, backend_for, backend_names, find_backend
from todo_data.backends.adbc import DRIVER_ERRORS
from todo_data.backends.expressions import week_start
from todo_data.backends.postgresql.reads import libpq_uri as libpq_uri  # re-exported: benchmarks read with it
from todo_data.backends.sqlite.files import held_open_here as held_open_here  # re-exported
from todo_data.backends.sqlite.files import read_uri as sqlite_uri  # noqa: F401  (re-exported under its old name)
from todo_data.db import describe_connection_error, get_engine, resolve_url, translate_errors
from todo_data.errors import ConfigurationError, ConnectionFailed, MigrationError, QueryError, TodoDataError
from todo_data.models import PRIORITIES, Task, User, UTCDateTime, metadata
from todo_data.settings import mask_text, mask_url

Query = str | sa.sql.expression.SelectBase | sa.TextClause
Params = Mapping[str, Any] | Sequence[Any] | None

TASK: sa.Table = Task.__table__  # type: ignore[attr-defined]
USERS: sa.Table = User.__table__  # type: ignore[attr-defined]
TASK_COLUMNS = ("id", "user_id", "title", "description", "completed", "priority", "created_at", "updated_at")
# Columns the models declare as UTC timestamps: what read_frame parses when a plain-text query does not say.
DEFAULT_TIMESTAMP_COLUMNS = frozenset(
    column.name for table in metadata.tables.values() for column in table.columns if isinstance(column.type, UTCDateTime)
)
ADBC_BACKENDS = backend_names()  # every backend reads through ADBC (backend.read_arrow); others through SQLAlchemy

_UTC = pa.timestamp("us", tz="UTC")
_TARGETS = {"timestamp": _UTC, "date": pa.date32(), "bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "string": pa.string()}
_LOST_CONNECTION = ("server closed the connection", "terminating connection", "no connection to the server", "could not receive data")


# --- read_frame -----------------------------------------------------------------------------------


def read_frame(
    query: Query,
    *,
    database_url: str | URL | None = None,
    params: Params = None,
    timestamps: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Run one read-only query and return its rows as a DataFrame, through ADBC and Arrow on PostgreSQL and SQLite.

    ``query`` is SQL text with ``:name`` parameters (values from the ``params`` mapping; a list value expands
    for ``IN :name``), or a SQLAlchemy select / ``text()`` construct, compiled for the target database.
    A ``params`` sequence binds positionally to the driver's own placeholders (``?`` on SQLite, ``$1`` on PostgreSQL).
    Values are always bound, never written into the SQL.

    Columns the statement types as ``DateTime`` come back as ``datetime64[us, UTC]``, and so do the columns
    named in ``timestamps`` (default: those named like the models' timestamp columns, ``created_at`` and
    ``updated_at``); naive values are taken to be UTC, as the models store them.
    """
    url = resolve_url(database_url)
    backend = find_backend(url)
    clause, named, positional = _as_clause(query, params)
    if backend is not None and backend.name in ADBC_BACKENDS:
        dialect = backend.read_dialect()
        if clause is None:
            sql, values = str(query), [_bind_value(value, None, dialect) for value in positional]
        else:
            sql, values = compile_positional(clause, named, dialect)
        table = _read_adbc(url, backend, sql, values)
    else:
        table = _read_sqlalchemy(url, str(query) if clause is None else clause, positional, named)
    return _to_frame(table, _declared_types(clause, table.column_names), timestamps)


def _as_clause(query: Query, params: Params) -> tuple[ClauseElement | None, Mapping[str, Any] | None, list[Any]]:
    """The statement to compile (None for driver-native positional SQL), the values it still needs, the positional values."""
    if params is not None and not isinstance(params, Mapping) and (isinstance(params, str | bytes) or not isinstance(params, Sequence)):
        raise ConfigurationError(f"params must be a mapping of names to values or a sequence of values, not {type(params).__name__}.")
    if isinstance(query, str):
        if not query.strip():
            raise ConfigurationError("The query is empty: pass SQL text or a SQLAlchemy select.")
        if params is None or isinstance(params, Mapping):
            return _text_clause(query, params or {}), None, []
        return None, None, list(params)
    if isinstance(query, sa.sql.expression.SelectBase | sa.TextClause):
        if params is not None and not isinstance(params, Mapping):
            raise ConfigurationError("A SQLAlchemy statement takes params as a mapping of parameter names to values.")
        return query, params, []
    raise ConfigurationError(f"read_frame takes SQL text or a SQLAlchemy select or text() construct, not {type(query).__name__}.")


def _text_clause(sql: str, params: Mapping[str, Any]) -> sa.TextClause:
    """``sa.text`` with each value bound and typed from the value; lists expand for ``IN :name``."""
    clause = sa.text(sql)
    for name, value in params.items():
        expanding = isinstance(value, list | tuple | set | frozenset)
        sample = next((item for item in value if item is not None), None) if expanding else value
        bind = sa.bindparam(
            name, list(value) if expanding else value, type_=UTCDateTime() if isinstance(sample, datetime) else None, expanding=expanding
        )
        try:
            clause = clause.bindparams(bind)
        except sa.exc.ArgumentError:
            raise ConfigurationError(f"params has {name!r}, but the query has no :{name} placeholder.") from None
    return clause


def compile_positional(clause: ClauseElement, params: Mapping[str, Any] | None, dialect: Dialect) -> tuple[str, list[Any]]:
    """SQL with positional placeholders and the values in order, each through its type's bind processor."""
    compiled = clause.compile(dialect=dialect)
    unknown = sorted(set(params or {}) - set(compiled.binds))
    if unknown:
        raise ConfigurationError(f"params has {', '.join(map(repr, unknown))}, which the statement does not use.")
    try:
        state = compiled.construct_expanded_state(dict(params) if params else None)
    except sa.exc.InvalidRequestError as exc:  # a bind parameter without a value
        raise ConfigurationError(f"{str(exc).split(' (Background')[0]}: pass it in params.") from None
    processors = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    processors.update(state.processors)  # the elements of expanded IN lists
    values = [_bind_value(state.parameters[name], processors.get(name), dialect) for name in state.positiontup or ()]
    return state.statement, values


def _bind_value(value: Any, processor: Any, dialect: Dialect) -> Any:
    """What the driver gets: the bind type's processing, or the value's own type's (an untyped datetime is UTC)."""
    if processor is not None:
        return processor(value)
    if value is None:
        return None
    type_: TypeEngine[Any] = UTCDateTime() if isinstance(value, datetime) else sa.literal(value).type
    processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor(value) if processor is not None else value


# --- ADBC, through the backend's transport ---------------------------------------------------------


def _read_adbc(url: URL, backend: Backend, sql: str, values: list[Any]) -> pa.Table:
    try:
        return backend.read_arrow(url, sql, values)
    except DRIVER_ERRORS as exc:
        raise _query_error(exc, url) from None


def close_connections() -> None:
    """Close the connections the backends' readers keep (before dropping a database a notebook has read, say)."""
    for name in backend_names():
        backend_for(name).close_readers()


def _query_error(exc: BaseException, url: URL) -> TodoDataError:
    """One line, no password: what the database said about the query, and what to do."""
    text = str(exc)
    lowered = text.lower()
    where = mask_url(url)
    password = url.password if isinstance(url.password, str) else None
    if any(sign in lowered for sign in _LOST_CONNECTION) or "file is not a database" in lowered:
        return ConnectionFailed(describe_connection_error(exc, url))
    detail = _driver_detail(text)
    table = re.search(r'no such table: ([\w."]+)|relation "([^"]+)" does not exist', text)
    if table:
        name = (table.group(1) or table.group(2)).strip('"')
        if name in metadata.tables:
            return MigrationError(f"The database has no table {name!r}: run `todo-data db upgrade` to create the schema.")
        return QueryError(
            mask_text(f"No table {name!r} in {where}: check the name (the app's tables: {', '.join(sorted(metadata.tables))}).", password)
        )
    if "read-only transaction" in lowered or "readonly database" in lowered:
        return QueryError(mask_text(f"read_frame only reads, and {where} refused a write: {detail}", password))
    return QueryError(mask_text(f"The query failed on {where}: {detail}", password))


def _driver_detail(text: str) -> str:
    """The database's own words from an ADBC message, without the driver's status prefixes."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), text.strip())
    match = re.search(r"(?:ERROR|FATAL):\s+(.*)", line)
    if match:
        return match.group(1).strip()
    line = re.sub(r"^[A-Z_]+:\s*", "", line)
    line = re.sub(r"^\[\w+\]\s*", "", line)
    return re.sub(r"^(?:Failed to \w+ query|Execution error \[\w+\]):\s*", "", line)


# --- SQLAlchemy, for any other dialect -------------------------------------------------------------


def _read_sqlalchemy(url: URL, statement: ClauseElement | str, positional: list[Any], params: Mapping[str, Any] | None) -> pa.Table:
    """The same read through a read-only SQLAlchemy engine, for databases without an ADBC driver here."""
    engine = get_engine(url, read_only=True)
    try:
        with translate_errors(url), engine.connect() as connection:
            if isinstance(statement, str):
                result = connection.exec_driver_sql(statement, tuple(positional))
            else:
                result = connection.execute(statement, dict(params or {}))
            names, rows = list(result.keys()), result.all()
    except sa.exc.DBAPIError as exc:
        raise _query_error(exc.orig or exc, url) from None
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.Table.from_arrays([_python_array(list(values)) for values in columns], names=names)


def _python_array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in one column: keep them as text
        return pa.array([None if value is None else str(value) for value in values], pa.string())


# --- Arrow to pandas ------------------------------------------------------------------------------


def _declared_types(clause: ClauseElement | None, names: list[str]) -> list[TypeEngine[Any] | None]:
    """The SQLAlchemy type of each result column, where the statement says (a select, ``text().columns()``)."""
    columns = list(getattr(clause, "selected_columns", None) or ())
    if len(columns) == len(names):
        return [column.type for column in columns]
    by_name = {column.key: column.type for column in columns}
    return [by_name.get(name) for name in names]


def _kind(type_: TypeEngine[Any] | None) -> str | None:
    if type_ is None or isinstance(type_, NullType | sa.Interval):
        return None
    impl = type_.impl if isinstance(type_, TypeDecorator) else type_
    for cls, kind in (
        (sa.DateTime, "timestamp"),
        (sa.Date, "date"),
        (sa.Boolean, "bool"),
        (sa.Integer, "int"),
        (sa.Numeric, "float"),
        (sa.String, "string"),
    ):
        if isinstance(impl, cls):
            return kind
    return None


def _to_frame(table: pa.Table, declared: list[TypeEngine[Any] | None], timestamps: Sequence[str] | None) -> pd.DataFrame:
    """Arrow columns as the types they mean, then one ``to_pandas`` (numbers, bools and timestamps without copies)."""
    names = table.column_names
    if timestamps is None:
        wanted, explicit = DEFAULT_TIMESTAMP_COLUMNS, False
    else:
        if isinstance(timestamps, str) or not all(isinstance(name, str) for name in timestamps):
            raise ConfigurationError("timestamps must be a list of column names, e.g. timestamps=['created_at'].")
        missing = sorted(set(timestamps) - set(names))
        if missing:
            raise ConfigurationError(f"timestamps names {', '.join(map(repr, missing))}, not in the result (columns: {', '.join(names)}).")
        wanted, explicit = frozenset(timestamps), True
    for index, name in enumerate(names):
        kind = _kind(declared[index])
        strict = kind is not None or explicit
        if name in wanted:
            kind = "timestamp"
        column = table.column(index)
        converted = _convert(column, kind, name, strict=strict)
        if converted is not column:
            table = table.set_column(index, table.schema.field(index).name, converted)
    return table.to_pandas()


def _convert(column: pa.ChunkedArray, kind: str | None, name: str, *, strict: bool) -> pa.ChunkedArray:
    type_ = column.type
    if isinstance(type_, pa.BaseExtensionType):  # PostgreSQL types Arrow has no name for arrive as opaque text
        storage = pa.chunked_array([chunk.storage for chunk in column.chunks], type_.storage_type)
        return _convert(storage, kind or ("float" if getattr(type_, "type_name", "") == "numeric" else None), name, strict=strict)
    if kind is not None and column.null_count == len(column):  # no rows, or only NULLs (typeless on SQLite)
        return pa.chunked_array([pa.nulls(len(column), _TARGETS[kind])])
    if kind == "timestamp":
        return _to_utc(column, name, strict=strict)
    if kind == "date" and (pa.types.is_string(type_) or pa.types.is_timestamp(type_)):
        return column.cast(pa.date32())
    if kind == "bool" and pa.types.is_integer(type_):
        return pc.not_equal(column, 0)
    if kind == "float" and (pa.types.is_integer(type_) or pa.types.is_string(type_)):
        return column.cast(pa.float64())
    if pa.types.is_decimal(type_) or (pa.types.is_floating(type_) and type_.bit_width < 64):
        return column.cast(pa.float64())
    if pa.types.is_signed_integer(type_) and type_.bit_width < 64:
        return column.cast(pa.int64())
    return column


def _to_utc(column: pa.ChunkedArray, name: str, *, strict: bool) -> pa.ChunkedArray:
    type_ = column.type
    if pa.types.is_timestamp(type_):
        return column if type_.tz == "UTC" else column.cast(pa.timestamp(type_.unit, tz="UTC"))  # naive: already UTC
    if pa.types.is_date(type_):
        return column.cast(pa.timestamp("us")).cast(_UTC)
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return _parse_utc(column, name)
    if strict:
        raise ConfigurationError(f"Column {name!r} holds {type_} values, not timestamps: leave it out of timestamps=[...].")
    return column


def _parse_utc(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """ISO 8601 text as UTC instants: in Arrow when the column is uniform, else through pandas (mixed offsets)."""
    for target in (pa.timestamp("us"), _UTC):
        try:
            return column.cast(target).cast(_UTC)
        except pa.ArrowInvalid:
            continue
    text = column.to_pandas()
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = text.notna() & parsed.isna()
    if bad.any():
        raise ConfigurationError(
            f"Column {name!r} holds {text[bad].iloc[0]!r}, which is not a timestamp: fix the row, or leave the column out of timestamps=[...]."
        )
    return pa.chunked_array([pa.Array.from_pandas(parsed).cast(_UTC)])


# --- the task explorer's queries ------------------------------------------------------------------


def _utc_bound(value: datetime | date | str | None, name: str, *, end: bool) -> datetime | None:
    """A filter bound as an aware UTC datetime; a date is a whole UTC day (the end bound is the next midnight)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip()) if len(value.strip()) > 10 else date.fromisoformat(value.strip())
        except ValueError:
            raise ConfigurationError(
                f"{name}={value!r} is not a date or time: use ISO 8601, e.g. 2025-01-31 or 2025-01-31T12:00:00Z."
            ) from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value + timedelta(days=1) if end else value, time(), tzinfo=UTC)
    raise ConfigurationError(f"{name} must be a datetime, a date or ISO 8601 text, not {type(value).__name__}.")


@dataclass(frozen=True)
class TaskFilter:
    """The filters ``tasks_frame``, ``count_tasks`` and ``weekly_tasks`` share, checked once.

    ``created_from`` is inclusive and ``created_to`` exclusive; a date in either is a whole UTC day, so
    ``created_to=date(2025, 1, 31)`` keeps the 31st. ``priority`` takes any stored value, legacy ones too, and
    None inside a list for tasks without one. After checking, ``priority`` is a tuple and both bounds are aware UTC datetimes.
    """

    user_id: str | None = None
    completed: bool | None = None
    priority: str | Sequence[str] | None = None
    created_from: datetime | date | str | None = None
    created_to: datetime | date | str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.user_id is not None and not isinstance(self.user_id, str):
            raise ConfigurationError(f"user_id must be text (a user's id), not {type(self.user_id).__name__}.")
        if self.completed is not None and not isinstance(self.completed, bool | np.bool_):
            raise ConfigurationError(f"completed must be True, False or None, not {self.completed!r}.")
        if self.completed is not None:
            object.__setattr__(self, "completed", bool(self.completed))
        priority: Any = self.priority
        if priority is not None:
            if isinstance(priority, str):
                priority = (priority,)
            if not isinstance(priority, Sequence | set | frozenset) or not all(item is None or isinstance(item, str) for item in priority):
                raise ConfigurationError(
                    f"priority must be a priority or a list of them (e.g. ['high', 'medium'], [None] for no priority), not {self.priority!r}."
                )
            if not priority:
                raise ConfigurationError("priority is an empty list, which matches no task: pass None for every priority.")
            object.__setattr__(self, "priority", tuple(priority))
        start = _utc_bound(self.created_from, "created_from", end=False)
        stop = _utc_bound(self.created_to, "created_to", end=True)
        if start is not None and stop is not None and start > stop:
            raise ConfigurationError(f"created_from ({self.created_from}) is after created_to ({self.created_to}): swap them.")
        object.__setattr__(self, "created_from", start)
        object.__setattr__(self, "created_to", stop)
        if self.text is not None and not isinstance(self.text, str):
            raise ConfigurationError(f"text must be a string to search for, not {type(self.text).__name__}.")

    def clauses(self) -> list[sa.ColumnElement[bool]]:
        """The WHERE conditions, every value a bound parameter."""
        clauses: list[sa.ColumnElement[bool]] = []
        if self.user_id is not None:
            clauses.append(TASK.c.user_id == self.user_id)
        if self.completed is not None:
            clauses.append(TASK.c.completed == self.completed)
        if self.priority is not None:
            named = TASK.c.priority.in_([p for p in self.priority if p is not None])
            clauses.append(sa.or_(named, TASK.c.priority.is_(None)) if None in self.priority else named)
        if self.created_from is not None:
            clauses.append(TASK.c.created_at >= self.created_from)
        if self.created_to is not None:
            clauses.append(TASK.c.created_at < self.created_to)
        if self.text is not None:
            # autoescape: %, _ and the escape character in the text match themselves.
            clauses.append(
                sa.or_(TASK.c.title.icontains(self.text, autoescape=True), TASK.c.description.icontains(self.text, autoescape=True))
            )
        return clauses


def tasks_frame(
    database_url: str | URL | None = None,
    *,
    user_id: str | None = None,
    completed: bool | None = None,
    priority: str | Sequence[str] | None = None,
    created_from: datetime | date | str | None = None,
    created_to: datetime | date | str | None = None,
    text: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = True,
    with_email: bool = False,
) -> pd.DataFrame:
    """Tasks matching the filters, newest first (ties by id): id, user_id, title, description, completed, priority, created_at, updated_at.

    ``text`` matches title or description case-insensitively, as a literal substring. ``limit`` and ``offset``
    page through the same order ``count_tasks`` counts. ``with_email`` adds the owner's email after user_id
    (missing where the task's user row is).
    """
    task_filter = TaskFilter(
        user_id=user_id, completed=completed, priority=priority, created_from=created_from, created_to=created_to, text=text
    )
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0):
            raise ConfigurationError(f"{name} must be a whole number of rows, 0 or more, not {value!r}.")
    if not isinstance(newest_first, bool | np.bool_):
        raise ConfigurationError(f"newest_first must be True or False, not {newest_first!r}.")
    order = (TASK.c.created_at.desc(), TASK.c.id.desc()) if newest_first else (TASK.c.created_at.asc(), TASK.c.id.asc())
    columns: list[sa.ColumnElement[Any]] = [TASK.c[name] for name in TASK_COLUMNS]
    statement = sa.select(*columns)
    if with_email:
        columns.insert(TASK_COLUMNS.index("user_id") + 1, USERS.c.email)
        statement = sa.select(*columns).select_from(TASK.outerjoin(USERS, USERS.c.id == TASK.c.user_id))
    statement = statement.where(*task_filter.clauses()).order_by(*order)
    if offset:
        statement = statement.offset(int(offset))
    if limit is not None:
        statement = statement.limit(int(limit))
    return read_frame(statement, database_url=database_url)


def count_tasks(
    database_url: str | URL | None = None,
    *,
    user_id: str | None = None,
    completed: bool | None = None,
    priority: str | Sequence[str] | None = None,
    created_from: datetime | date | str | None = None,
    created_to: datetime | date | str | None = None,
    text: str | None = None,
) -> int:
    """How many tasks match the filters (one COUNT in the database): the explorer's page count."""
    task_filter = TaskFilter(
        user_id=user_id, completed=completed, priority=priority, created_from=created_from, created_to=created_to, text=text
    )
    statement = sa.select(sa.func.count().label("tasks")).select_from(TASK).where(*task_filter.clauses())
    return int(read_frame(statement, database_url=database_url).iat[0, 0])


def task_priorities(database_url: str | URL | None = None) -> list[str | None]:
    """Every priority value the task table holds, legacy ones ('urgent', '') included and None for NULL.

    Low, medium and high first (when present), then the others in sorted order, then None: the explorer's choices.
    """
    frame = read_frame(sa.select(TASK.c.priority).distinct(), database_url=database_url)
    values = {None if pd.isna(value) else str(value) for value in frame["priority"]}
    rank = {name: i for i, name in enumerate(PRIORITIES)}
    return sorted(values, key=lambda value: (value is None, rank.get(value, len(rank)), value or ""))  # type: ignore[arg-type]


def weekly_tasks(
    database_url: str | URL | None = None,
    *,
    user_id: str | None = None,
    completed: bool | None = None,
    priority: str | Sequence[str] | None = None,
    created_from: datetime | date | str | None = None,
    created_to: datetime | date | str | None = None,
    text: str | None = None,
) -> pd.DataFrame:
    """Matching tasks created per UTC week, counted in SQL: week (the Monday, 00:00 UTC) and created.

    Columns as in :func:`todo_data.tasks.weekly`. Weeks without tasks between the first and the last appear
    with 0, so a chart's time axis has no holes; ``created`` sums to :func:`count_tasks` for the same filters.
    """
    task_filter = TaskFilter(
        user_id=user_id, completed=completed, priority=priority, created_from=created_from, created_to=created_to, text=text
    )
    url = resolve_url(database_url)
    backend_for(url)  # any other backend fails here, with one line
    week = sa.type_coerce(week_start(TASK.c.created_at), UTCDateTime()).label("week")
    statement = sa.select(week, sa.func.count().label("created")).where(*task_filter.clauses()).group_by(week).order_by(week)
    frame = read_frame(statement, database_url=url)
    if len(frame) > 1:
        weeks = pd.date_range(frame["week"].iloc[0], frame["week"].iloc[-1], freq="7D", unit="us")
        frame = frame.set_index("week").reindex(weeks, fill_value=0).rename_axis("week").reset_index()
    return frame
