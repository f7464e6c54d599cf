"""SQLite: pysqlite for SQLAlchemy, aiosqlite for async, ADBC's own SQLite for fast reads and bulk loads.

Its work lives beside this file: ``files`` (file and ``file:`` URI rules, who holds a file open), ``engine``
(engine arguments, pragmas, the in-process read guard), ``migration`` (the migration lock), ``child`` (the
child process that runs ADBC's copy of SQLite away from this process's locks), ``reads`` (read_frame's transport),
``stream`` (export's streamed reads), ``load`` (the sample loader's bulk-ingest target), ``trace`` (the migration
trace's recorder and file copy), ``schema`` (read_schema's catalogue: counts, dbstat, PRAGMAs) and ``expressions``
(its SQL for ``backends.expressions``).
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from todo_data.backends.base import Backend
from todo_data.backends.sqlite import expressions as expressions  # registers SQLite's SQL for shared constructs

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa
    from sqlalchemy.engine import URL, Connection, Dialect, Engine

    from todo_data.backends.load import LoadTarget
    from todo_data.backends.stream import TableRead
    from todo_data.backends.unfit import Unfit
    from todo_data.indexes.support import IndexSupport
    from todo_data.trace.tracing import Tracing


class SqliteBackend(Backend):
    """SQLite files (``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``file:`` URIs with ``?uri=true``)."""

    name: ClassVar[str] = "sqlite"
    label: ClassVar[str] = "SQLite"
    url_names: ClassVar[tuple[str, ...]] = ("sqlite",)
    url_example: ClassVar[str] = "sqlite:///"
    sync_driver: ClassVar[str] = "sqlite+pysqlite"
    async_driver: ClassVar[str] = "sqlite+aiosqlite"
    render_as_batch: ClassVar[bool] = True
    session_timeouts: ClassVar[bool] = False
    naive_utc_timestamps: ClassVar[bool] = True
    enforces_string_length: ClassVar[bool] = False
    foreign_keys_per_connection: ClassVar[bool] = True
    foreign_keys_switch: ClassVar[str | None] = "PRAGMA foreign_keys=ON"
    async_pool_per_loop: ClassVar[bool] = False

    def same_database(self, first: URL, second: URL) -> bool:
        return Path(first.database or "").resolve() == Path(second.database or "").resolve()

    def missing_file(self, url: URL) -> bool:
        from todo_data.backends.sqlite.files import file_path

        path = file_path(url.database or "")
        return path is not None and not path.exists()

    def normalize_url(self, url: URL) -> URL:
        return url.set(drivername=self.sync_driver)

    def async_url(self, url: URL) -> URL:
        return url.set(drivername=self.async_driver)

    def location(self, url: URL) -> str:
        return url.database or ""

    def describe_error(self, message: str, url: URL) -> str | None:
        from todo_data.backends.sqlite.errors import describe_error

        return describe_error(message, url)

    def require_file(self, url: URL) -> None:
        from todo_data.backends.sqlite.files import require_file

        require_file(url)

    def engine_arguments(self, url: URL, *, read_only: bool) -> tuple[URL, dict[str, Any]]:
        from todo_data.backends.sqlite.engine import engine_arguments

        return engine_arguments(url, read_only=read_only)

    def prepare_engine(self, engine: Engine, *, read_only: bool, for_migrations: bool) -> None:
        from todo_data.backends.sqlite.engine import install_sqlite_pragmas

        # Migrations rebuild tables (SQLite's 12-step ALTER): foreign keys must be off or a DROP cascades.
        install_sqlite_pragmas(
            engine, foreign_keys=not for_migrations, begin="BEGIN IMMEDIATE" if for_migrations else "BEGIN", read_only=read_only
        )

    def migration_lock(self, connection: Connection, url: URL) -> contextlib.AbstractContextManager[None]:
        from todo_data.backends.sqlite.migration import migration_lock

        return migration_lock(url)

    def set_not_null(self, operations: Any, table: str, column: str) -> None:
        # SQLite's ALTER TABLE cannot change a column: Alembic's batch mode rebuilds the table, copying every row.
        with operations.batch_alter_table(table) as batch:
            batch.alter_column(column, nullable=False)

    def rename_constraints(self, operations: Any, table: str, names: dict[str, str]) -> None:
        from todo_data.backends.sqlite.renames import rename_constraints

        rename_constraints(operations, table, names)

    def rename_indexes(self, operations: Any, table: str, names: dict[str, str]) -> None:
        from todo_data.backends.sqlite.renames import rename_indexes

        rename_indexes(operations, table, names)

    def row_counts(self, connection: Connection, tables: set[str], exact_below: int) -> dict[str, int]:
        import sqlalchemy as sa

        present = set(sa.inspect(connection).get_table_names())
        return {name: int(connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()) for name in sorted(tables & present)}

    @functools.cache  # noqa: B019  (one instance per backend, kept by the registry)
    def read_dialect(self) -> Dialect:
        import sqlalchemy as sa

        return sa.engine.make_url(f"{self.sync_driver}://").get_dialect()(paramstyle="qmark")

    def read_arrow(self, url: URL, sql: str, values: list[Any]) -> pa.Table:
        from todo_data.backends.sqlite.reads import read_arrow

        return read_arrow(url, sql, values)

    def stream_arrow(self, url: URL, reads: list[TableRead]) -> Iterator[Iterator[pa.RecordBatch]]:
        from todo_data.backends.sqlite.stream import stream_arrow

        return stream_arrow(url, reads)

    def load_target(self, url: URL, tables: tuple[str, ...]) -> LoadTarget:
        from todo_data.backends.sqlite.load import SqliteLoadTarget

        return SqliteLoadTarget(url, tables)

    def measuring(self, connection: Connection, timeout_seconds: float) -> contextlib.AbstractContextManager[None]:
        from todo_data.backends.sqlite.measure import measuring

        return measuring(connection, timeout_seconds)

    def not_castable(self, column: Any, old: Any, new: Any, options: dict[str, Any]) -> list[Unfit]:
        from todo_data.backends.sqlite.measure import not_castable

        return not_castable(column, old, new, options)

    def tracing(self, url: URL) -> Tracing:
        from todo_data.backends.sqlite.trace import SqliteTracing

        return SqliteTracing(url)

    def table_sizes(self, connection: Connection, tables: list[str]) -> dict[str, dict[str, Any]]:
        from todo_data.backends.sqlite.schema import table_sizes

        return table_sizes(connection, tables)

    def index_sizes(self, connection: Connection) -> dict[str, int]:
        from todo_data.backends.sqlite.schema import page_bytes

        return page_bytes(connection)

    def column_types(self, connection: Connection, tables: list[str]) -> dict[tuple[str, str], str]:
        from todo_data.backends.sqlite.schema import column_types

        return column_types(connection, tables)

    def schema_objects(self, connection: Connection, default_schema: str | None) -> list[tuple[str, str, str]]:
        from todo_data.backends.sqlite.schema import objects

        return objects(connection)

    def index_order(self, connection: Connection, index: str, columns: list[str | None], sorting: dict[str, Any]) -> str:
        from todo_data.backends.sqlite.schema import index_order

        return ", ".join(index_order(connection, index))

    def index_support(self, dialect: Dialect) -> IndexSupport:
        from todo_data.backends.sqlite.indexes import SqliteIndexes

        return SqliteIndexes(dialect.identifier_preparer.quote)

    def standby_reason(self, connection: Connection) -> str | None:
        return None  # a file has no replicas that refuse writes: a copy of it is a database of its own
