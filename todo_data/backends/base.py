"""The ``Backend`` base class: everything todo_data does differently on one kind of database, asked for by name.

As Alembic's ``alembic/ddl/impl.py`` keeps ``DefaultImpl`` and a registry its dialect modules join by subclassing,
a backend here subclasses :class:`Backend` and is registered under its ``name`` as the class is made. Code outside
``todo_data/backends/`` asks the backend (``backend_for(url).read_arrow(...)``); it never compares a backend name.

This module and each backend's ``__init__`` import nothing of todo_data but :mod:`todo_data.errors`, so settings
and db can use the registry; the work itself lives in a backend's submodules, imported when first asked for.
See docs/architecture.md for which call site moves to which method.
"""

from __future__ import annotations

import abc
import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa
    from sqlalchemy.engine import URL, Connection, Dialect, Engine

    from todo_data.backends.load import LoadTarget
    from todo_data.backends.stream import TableRead
    from todo_data.backends.unfit import Unfit
    from todo_data.indexes.support import IndexSupport
    from todo_data.trace.tracing import Tracing

_REGISTRY: dict[str, type[Backend]] = {}


class Backend(abc.ABC):
    """One kind of database: its drivers, its rules and the operations that differ on it.

    Subclasses set the class attributes and implement the abstract methods; the other methods are hooks with a
    default that a backend overrides where it differs.
    """

    name: ClassVar[str]
    """The backend's one name (``postgresql``, ``sqlite``): the registry key and what reports call it."""
    label: ClassVar[str]
    """How a sentence names it: ``PostgreSQL``, ``SQLite``."""
    url_names: ClassVar[tuple[str, ...]]
    """URL backend names that mean this backend (``postgres://`` is PostgreSQL)."""
    url_example: ClassVar[str]
    """The start of a URL for it, for error messages: ``postgresql://``, ``sqlite:///``."""
    sync_driver: ClassVar[str]
    """The SQLAlchemy driver name sync work uses (``postgresql+psycopg``)."""
    async_driver: ClassVar[str]
    """The SQLAlchemy driver name async work uses (``postgresql+asyncpg``)."""
    render_as_batch: ClassVar[bool]
    """Whether Alembic alters tables by rebuilding them (batch mode): SQLite's ALTER TABLE cannot do the rest."""
    session_timeouts: ClassVar[bool]
    """Whether migration sessions run with ``lock_timeout`` and ``statement_timeout`` (settings LOCK_TIMEOUT, ...)."""
    naive_utc_timestamps: ClassVar[bool]
    """Whether timestamps are stored as naive UTC text (no time zone type), as ``models.UTCDateTime`` writes them."""
    enforces_string_length: ClassVar[bool]
    """Whether a ``VARCHAR(n)`` column refuses longer values."""
    foreign_keys_per_connection: ClassVar[bool]
    """Whether foreign keys are checked only on connections that ask (SQLite's ``PRAGMA foreign_keys``)."""
    foreign_keys_switch: ClassVar[str | None] = None
    """How a connection asks, where :attr:`foreign_keys_per_connection`: the statement, as messages quote it."""
    async_pool_per_loop: ClassVar[bool]
    """Whether async engines pool connections per event loop (asyncpg's belong to one loop); else one engine serves all."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a concrete backend names itself; helper subclasses without a name stay out
            _REGISTRY[cls.name] = cls

    def __repr__(self) -> str:
        return f"<backend {self.name}>"

    # --- used now: databases, reads, loads and traces ------------------------------------------------------------

    @abc.abstractmethod
    def same_database(self, first: URL, second: URL) -> bool:
        """Whether two URLs of this backend name the same database (same server and name; same file)."""

    @abc.abstractmethod
    def row_counts(self, connection: Connection, tables: set[str], exact_below: int) -> dict[str, int]:
        """Rows in each of ``tables`` that exists: exact, or the catalogue's estimate where it says ``exact_below`` or more."""

    @abc.abstractmethod
    def read_dialect(self) -> Dialect:
        """The SQLAlchemy dialect that compiles statements for :meth:`read_arrow` (the ADBC driver's placeholders)."""

    @abc.abstractmethod
    def read_arrow(self, url: URL, sql: str, values: list[Any]) -> pa.Table:
        """One read-only query's rows as Arrow, through the backend's fastest reader (ADBC).

        Raises :class:`~todo_data.errors.ConnectionFailed` when the database cannot be opened; when the query fails,
        the driver's error or :class:`DriverError`, which the caller words for its user.
        """

    @abc.abstractmethod
    def stream_arrow(self, url: URL, reads: list[TableRead]) -> Iterator[Iterator[pa.RecordBatch]]:
        """Each read's rows as record batches of its schema, in key order, read-only and in one snapshot for all reads.

        Memory stays flat at any size: consume each read's batches before asking for the next read. Raises as
        :meth:`read_arrow` does (the driver's errors, :class:`DriverError`, ConnectionFailed) for the caller to word.
        """

    def close_readers(self) -> None:  # noqa: B027  (a hook: most backends keep nothing open)
        """Close what :meth:`read_arrow` keeps open between reads (a connection cache); nothing by default."""

    @abc.abstractmethod
    def load_target(self, url: URL, tables: tuple[str, ...]) -> LoadTarget:
        """Where a bulk load of ``tables`` (in load order) goes: one connection, one transaction."""

    @abc.abstractmethod
    def tracing(self, url: URL) -> Tracing:
        """The backend's part in a migration trace of ``url``: where it runs, its recorder, danger rule and notes."""

    @abc.abstractmethod
    def standby_reason(self, connection: Connection) -> str | None:
        """Why the connected database takes no writes because it is a replica (``a hot standby (...)``), else None.

        Asked by ``todo_data.standby`` before every write command, so a replica refuses with one line naming it.
        """

    # --- URLs and engines: settings and db ask these ---------------------------------------------------------------

    @abc.abstractmethod
    def normalize_url(self, url: URL) -> URL:
        """The sync URL for any accepted spelling of this backend, its options checked (settings.normalize_url)."""

    @abc.abstractmethod
    def async_url(self, url: URL) -> URL:
        """The async twin of a sync URL, translating driver-only options (settings.async_url)."""

    @abc.abstractmethod
    def location(self, url: URL) -> str:
        """Where the database is, for messages: ``host:port`` or the file (db.describe_connection_error)."""

    def require_file(self, url: URL) -> None:  # noqa: B027  (a hook: servers have no file to miss)
        """Refuse a database file that is not there, with one line saying what to do (db.require_sqlite_file); nothing by default."""

    @abc.abstractmethod
    def engine_arguments(self, url: URL, *, read_only: bool) -> tuple[URL, dict[str, Any]]:
        """The URL to open and the ``create_engine`` keyword arguments this backend adds (db.build_engine).

        May prepare what the engine opens (SQLite: refuse a missing file, make the default file's folder).
        """

    def prepare_engine(self, engine: Engine, *, read_only: bool, for_migrations: bool) -> None:  # noqa: B027  (a hook)
        """Session settings every connection of a new engine gets (SQLite's pragmas and BEGIN); nothing by default."""

    @abc.abstractmethod
    def missing_file(self, url: URL) -> bool:
        """Whether the URL names a database file that does not exist yet (reports); False for servers."""

    # --- migration sessions: migrations and alembic/env.py ask these ------------------------------------------------

    def migration_lock(self, connection: Connection, url: URL) -> contextlib.AbstractContextManager[None]:
        """Hold the database's migration lock for a whole run (migrations.migration_lock); none by default."""
        return contextlib.nullcontext()

    def session_settings(self, lock_timeout: str, statement_timeout: str) -> list[str]:
        """Statements a migration session starts with, where :attr:`session_timeouts` (migrations.session_settings); none by default."""
        return []

    def backfill(self, operations: Any, table: str, column: str, value: Any) -> None:
        """Fill a new column's NULLs with ``value`` inside a revision (``todo_data.revision.steps``): one UPDATE by default."""
        import sqlalchemy as sa

        target = sa.table(table, sa.column(column))
        operations.execute(target.update().where(target.c[column].is_(None)).values({column: sa.literal(value)}))

    def set_not_null(self, operations: Any, table: str, column: str) -> None:
        """Make a backfilled column NOT NULL inside a revision (``todo_data.revision.steps``); ``operations`` is Alembic's ``op``.

        A plain ``ALTER COLUMN ... SET NOT NULL`` by default; a backend overrides it with the shape that works best on it.
        """
        operations.alter_column(table, column, nullable=False)

    def rename_constraints(self, operations: Any, table: str, names: dict[str, str]) -> None:
        """Rename constraints of ``table`` inside a revision (``todo_data.revision.steps``), ``{old: new}``: ``ALTER TABLE
        ... RENAME CONSTRAINT`` by default."""
        quote = operations.get_context().dialect.identifier_preparer.quote
        for old, new in names.items():
            operations.execute(f"ALTER TABLE {quote(table)} RENAME CONSTRAINT {quote(old)} TO {quote(new)}")

    def rename_indexes(self, operations: Any, table: str, names: dict[str, str]) -> None:
        """Rename indexes of ``table`` inside a revision (``todo_data.revision.steps``), ``{old: new}``: ``ALTER INDEX ...
        RENAME TO`` by default."""
        quote = operations.get_context().dialect.identifier_preparer.quote
        for old, new in names.items():
            operations.execute(f"ALTER INDEX {quote(old)} RENAME TO {quote(new)}")

    # --- the data impact: reads of the target before a migration runs ----------------------------------------------

    def measuring(self, connection: Connection, timeout_seconds: float) -> contextlib.AbstractContextManager[None]:
        """One read-only transaction on ``connection`` whose queries each give up after ``timeout_seconds``, rolled back
        at the end (todo_data.impact); by default a plain transaction with no timeout."""
        return _plain_transaction(connection)

    def not_castable(self, column: Any, old: Any, new: Any, options: dict[str, Any]) -> list[Unfit]:
        """The stored values of ``column`` (of type ``old``) that a change to type ``new`` (with the alter_column's other
        ``options``) does not keep: values its cast refuses or changes (todo_data.impact's narrower-type); none by default."""
        return []

    # --- errors ------------------------------------------------------------------------------------------------------

    def describe_error(self, message: str, url: URL) -> str | None:
        """One line with advice for a driver's error ``message`` this backend recognises (db.describe_connection_error
        asks it, and words any other as ``Database error at <location>: <first line>``); None by default."""
        return None

    # --- reports: tasks, read_schema (inspect), the index report ---------------------------------------------------

    def missing_select(self, connection: Connection, table: str, lost: str) -> str | None:
        """A note when the connected role may not SELECT ``table`` (which exists): the privilege, what the report
        leaves out (``lost``) and the GRANT that gives it; None when it may, or the database has no privileges."""
        return None

    def snapshot(self, connection: Connection) -> Connection:
        """The connection set to read one consistent snapshot across several queries (tasks' reports).

        By default the connection as it is: one transaction is one snapshot where writers lock the whole database.
        """
        return connection

    def table_sizes(self, connection: Connection, tables: list[str]) -> dict[str, dict[str, Any]]:
        """``rows_estimate``, ``table_bytes`` and ``total_bytes`` per table (``None`` where unknown); none by default."""
        return {}

    def index_sizes(self, connection: Connection) -> dict[str, int]:
        """Bytes per index, where the database can say; none by default."""
        return {}

    def column_types(self, connection: Connection, tables: list[str]) -> dict[tuple[str, str], str]:
        """Each column's type as the database states it, by (table, column); by default none, so reflection's names show."""
        return {}

    def schema_objects(self, connection: Connection, default_schema: str | None) -> list[tuple[str, str, str]]:
        """Every table, view (and the like) in the database as (schema, name, kind); by default reflection's tables and views."""
        import sqlalchemy as sa

        inspector = sa.inspect(connection)
        found = [(default_schema, name, "table") for name in inspector.get_table_names()]
        return found + [(default_schema, name, "view") for name in inspector.get_view_names()]

    def index_order(self, connection: Connection, index: str, columns: list[str | None], sorting: dict[str, Any]) -> str:
        """``asc``/``desc`` per key column, comma-separated; by default from reflection's ``column_sorting``."""
        return ", ".join(" ".join(sorting.get(c, ())) or "asc" for c in columns if c is not None)

    @abc.abstractmethod
    def index_support(self, dialect: Dialect) -> IndexSupport:
        """The backend's part in an index report (catalogue, plans, fixes), quoting identifiers as ``dialect`` does."""


@contextlib.contextmanager
def _plain_transaction(connection: Connection) -> Iterator[None]:
    with connection.begin() as transaction:
        try:
            yield
        finally:
            transaction.rollback()


class DriverError(Exception):
    """A query failed in a driver running outside this process; the message is the driver's own."""


def registered() -> dict[str, type[Backend]]:
    """Every backend class by name (a copy)."""
    return dict(_REGISTRY)
