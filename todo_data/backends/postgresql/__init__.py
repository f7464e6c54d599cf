"""PostgreSQL: psycopg for SQLAlchemy, asyncpg for async, ADBC (libpq, COPY BINARY) for fast reads and bulk loads.

Its work lives beside this file: ``reads`` (read_frame's transport and its connection cache), ``stream`` (export's
streamed reads), ``migration`` (the advisory migration lock and session timeouts), ``urls`` (the psycopg and asyncpg spellings of a URL, its options checked), ``load`` (the sample loader's COPY target), ``trace`` (the migration trace's recorder of ``pg_locks``
and its scratch database), ``schema`` (read_schema's catalogue queries), ``expressions`` (its SQL for
``backends.expressions``).
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING, Any, ClassVar

from todo_data.backends.base import Backend
from todo_data.backends.postgresql import expressions as expressions  # registers PostgreSQL's SQL for shared constructs

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa
    from sqlalchemy.engine import URL, Connection, Dialect

    from todo_data.backends.load import LoadTarget
    from todo_data.backends.stream import TableRead
    from todo_data.backends.unfit import Unfit
    from todo_data.indexes.support import IndexSupport
    from todo_data.trace.tracing import Tracing

DEFAULT_PORT = 5432
SCRATCH_PREFIX = "todo_data_trace_"
"""The name prefix of the scratch databases a trace or a round trip makes beside the target (``trace`` names them).
Here, not in ``trace``, so ``todo_data.trace`` can re-export it without importing the backend's trace module, which
imports the trace package's own modules."""


class PostgresqlBackend(Backend):
    """PostgreSQL servers, from any accepted URL spelling (``postgres://``, ``+psycopg2``, ``+asyncpg``)."""

    name: ClassVar[str] = "postgresql"
    label: ClassVar[str] = "PostgreSQL"
    url_names: ClassVar[tuple[str, ...]] = ("postgresql", "postgres")
    url_example: ClassVar[str] = "postgresql://"
    sync_driver: ClassVar[str] = "postgresql+psycopg"
    async_driver: ClassVar[str] = "postgresql+asyncpg"
    render_as_batch: ClassVar[bool] = False
    session_timeouts: ClassVar[bool] = True
    naive_utc_timestamps: ClassVar[bool] = False
    enforces_string_length: ClassVar[bool] = True
    foreign_keys_per_connection: ClassVar[bool] = False
    async_pool_per_loop: ClassVar[bool] = True

    def same_database(self, first: URL, second: URL) -> bool:
        def where(url: URL) -> tuple[str, int, str | None]:
            return url.host or "localhost", url.port or DEFAULT_PORT, url.database

        return where(first) == where(second)

    def missing_file(self, url: URL) -> bool:
        return False

    def normalize_url(self, url: URL) -> URL:
        from todo_data.backends.postgresql.urls import sync_url

        return sync_url(url, self.sync_driver)

    def async_url(self, url: URL) -> URL:
        from todo_data.backends.postgresql.urls import async_url

        return async_url(url, self.async_driver)

    def location(self, url: URL) -> str:
        return f"{url.host or 'localhost'}:{url.port or DEFAULT_PORT}"

    def describe_error(self, message: str, url: URL) -> str | None:
        from todo_data.backends.postgresql.errors import describe_error

        return describe_error(message, url, self.location(url))

    def engine_arguments(self, url: URL, *, read_only: bool) -> tuple[URL, dict[str, Any]]:
        if read_only:  # the server refuses writes in every transaction of the session
            return url, {"connect_args": {"options": "-c default_transaction_read_only=on"}}
        return url, {}

    def row_counts(self, connection: Connection, tables: set[str], exact_below: int) -> dict[str, int]:
        import sqlalchemy as sa

        rows: dict[str, int] = {}
        for name in sorted(tables):
            found = connection.execute(
                sa.text(
                    "SELECT c.oid::regclass::text, c.reltuples FROM pg_class c WHERE c.oid = to_regclass(:name) AND c.relkind IN ('r', 'p', 'm')"
                ),
                {"name": name},
            ).first()
            if found is None:
                continue
            estimate = float(found[1])
            rows[name] = (
                int(estimate)
                if estimate >= exact_below
                else int(connection.execute(sa.text(f"SELECT count(*) FROM {found[0]}")).scalar_one())
            )
        return rows

    @functools.cache  # noqa: B019  (one instance per backend, kept by the registry)
    def read_dialect(self) -> Dialect:
        import sqlalchemy as sa

        return sa.engine.make_url(f"{self.sync_driver}://").get_dialect()(paramstyle="numeric_dollar")

    def read_arrow(self, url: URL, sql: str, values: list[Any]) -> pa.Table:
        from todo_data.backends.postgresql.reads import read_arrow

        return read_arrow(url, sql, values)

    def close_readers(self) -> None:
        from todo_data.backends.postgresql.reads import close_connections

        close_connections()

    def stream_arrow(self, url: URL, reads: list[TableRead]) -> Iterator[Iterator[pa.RecordBatch]]:
        from todo_data.backends.postgresql.stream import stream_arrow

        return stream_arrow(url, reads)

    def load_target(self, url: URL, tables: tuple[str, ...]) -> LoadTarget:
        from todo_data.backends.postgresql.load import PostgresLoadTarget

        return PostgresLoadTarget(url, tables)

    def measuring(self, connection: Connection, timeout_seconds: float) -> contextlib.AbstractContextManager[None]:
        from todo_data.backends.postgresql.measure import measuring

        return measuring(connection, timeout_seconds)

    def not_castable(self, column: Any, old: Any, new: Any, options: dict[str, Any]) -> list[Unfit]:
        from todo_data.backends.postgresql.measure import not_castable

        return not_castable(column, old, new, options)

    def tracing(self, url: URL) -> Tracing:
        from todo_data.backends.postgresql.trace import PostgresTracing

        return PostgresTracing(url)

    def migration_lock(self, connection: Connection, url: URL) -> contextlib.AbstractContextManager[None]:
        from todo_data.backends.postgresql.migration import migration_lock

        return migration_lock(connection, url)

    def session_settings(self, lock_timeout: str, statement_timeout: str) -> list[str]:
        from todo_data.backends.postgresql.migration import session_settings

        return session_settings(lock_timeout, statement_timeout)

    def backfill(self, operations: Any, table: str, column: str, value: Any) -> None:
        from todo_data.backends.postgresql.not_null import backfill

        backfill(operations, table, column, value)

    def set_not_null(self, operations: Any, table: str, column: str) -> None:
        from todo_data.backends.postgresql.not_null import set_not_null

        set_not_null(operations, table, column)

    def snapshot(self, connection: Connection) -> Connection:
        return connection.execution_options(isolation_level="REPEATABLE READ")

    def table_sizes(self, connection: Connection, tables: list[str]) -> dict[str, dict[str, Any]]:
        from todo_data.backends.postgresql.schema import table_sizes

        return table_sizes(connection)

    def index_sizes(self, connection: Connection) -> dict[str, int]:
        from todo_data.backends.postgresql.schema import index_sizes

        return index_sizes(connection)

    def column_types(self, connection: Connection, tables: list[str]) -> dict[tuple[str, str], str]:
        from todo_data.backends.postgresql.schema import column_types

        return column_types(connection)

    def schema_objects(self, connection: Connection, default_schema: str | None) -> list[tuple[str, str, str]]:
        from todo_data.backends.postgresql.schema import objects

        return objects(connection)

    def index_support(self, dialect: Dialect) -> IndexSupport:
        from todo_data.backends.postgresql.indexes import PostgresIndexes

        return PostgresIndexes(dialect.identifier_preparer.quote)

    def missing_select(self, connection: Connection, table: str, lost: str) -> str | None:
        from todo_data.backends.postgresql.privileges import missing_select

        return missing_select(connection, table, lost)

    def standby_reason(self, connection: Connection) -> str | None:
        import sqlalchemy as sa

        if connection.execute(sa.text("SELECT pg_is_in_recovery()")).scalar_one():
            return "a hot standby (read-only: it replays its primary's WAL)"
        return None
