"""PostgreSQL in a migration trace: every statement bracketed by reads of ``pg_locks`` (this backend's relation
locks), ``pg_class.relfilenode`` (a changed file node is a table rewrite) and ``pg_stat_xact_user_tables``
(sequential scans); traced on a scratch database made on the target's server and dropped afterwards."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from todo_data.backends.postgresql import SCRATCH_PREFIX
from todo_data.errors import ConfigurationError
from todo_data.settings import mask_url
from todo_data.trace.locks import CONFLICTS, LOCK_MODES, blocked_operations, interval, lock_mode_name
from todo_data.trace.records import Lock, Recorder, Statement, error_line, fetch
from todo_data.trace.tracing import Tracing

TABLE_KINDS = ("r", "p", "m")
RELKINDS = {"r": "table", "p": "table", "i": "index", "I": "index", "S": "sequence", "m": "materialized view", "t": "toast table"}

CONCURRENT_INDEX = re.compile(r"^(\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX\s+(?:\([^)]*\)\s*)?\w+))\s+CONCURRENTLY\b", re.I)
NO_TRANSACTION = re.compile(r"^\s*(VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM)\b", re.I)
INDEX_TABLE = re.compile(r"\bON\s+(?:ONLY\s+)?((?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)", re.I)
INDEX_NAME = re.compile(r"\bCONCURRENTLY\s+(?:IF\s+EXISTS\s+)?((?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)", re.I)


@dataclass
class Relation:
    oid: int
    name: str
    kind: str
    table_oid: int
    filenode: int


RELATIONS = """
SELECT c.oid, c.oid::regclass::text, c.relkind, c.relfilenode, coalesce(i.indrelid, c.oid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
"""
LOCKS = """
SELECT relation, mode FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
SCANS = "SELECT relid, seq_scan FROM pg_stat_xact_user_tables"


class PostgresRecorder(Recorder):
    """Reads this backend's relation locks, file nodes and scan counts before and after each statement."""

    def __init__(self, revision: str, lock_timeout: str) -> None:
        super().__init__(revision, lock_timeout)
        self.at_start: set[int] = set()  # relations that existed when the revision began: others are invisible to other sessions
        self.baseline: set[tuple[int, str]] = set()  # locks held before the revision (or released by a commit the real run makes)
        self.row_cache: dict[int, int] = {}
        self._connection: Any = None
        self._before: tuple[dict[int, Relation], set[tuple[int, str]], dict[int, int]] | None = None

    def _snapshot(self, dbapi_connection: Any) -> tuple[dict[int, Relation], set[tuple[int, str]], dict[int, int]]:
        relations = {
            int(oid): Relation(int(oid), name, kind, int(table_oid), int(filenode))
            for oid, name, kind, filenode, table_oid in fetch(dbapi_connection, RELATIONS)
        }
        locks = {(int(oid), lock_mode_name(mode)) for oid, mode in fetch(dbapi_connection, LOCKS) if lock_mode_name(mode) in CONFLICTS}
        scans = {int(oid): int(count) for oid, count in fetch(dbapi_connection, SCANS)}
        return relations, locks, scans

    def start(self, dbapi_connection: Any) -> None:
        self._connection = dbapi_connection
        relations, locks, _scans = self._snapshot(dbapi_connection)
        self.at_start = set(relations)
        self.baseline = locks

    def transaction_boundary(self) -> None:
        if self._connection is not None:
            self.baseline = self._snapshot(self._connection)[1]

    def prepare(self, dbapi_connection: Any, record: Statement, statement: str) -> str:
        self._before = self._snapshot(dbapi_connection)
        concurrent = CONCURRENT_INDEX.match(statement)
        if concurrent:
            self._static_concurrent(record, statement, self._before[0])
            return statement[: concurrent.end(1)] + statement[concurrent.end() :]
        if NO_TRANSACTION.match(statement):
            record.traced, record.skipped = False, True
            record.note = "not traced: cannot run inside a transaction; it takes no relation locks that block reads or writes"
            return "SELECT 1"
        return statement

    def _static_concurrent(self, record: Statement, statement: str, relations: dict[int, Relation]) -> None:
        """CONCURRENTLY cannot run in the trace's transaction: its lock comes from the docs, its time from the plain build."""
        record.traced = False
        by_name = {relation.name: relation for relation in relations.values()}

        def lookup(name: str) -> Relation | None:
            return by_name.get(name) or by_name.get(name.split(".")[-1].strip('"'))

        on, named = INDEX_TABLE.search(statement), INDEX_NAME.search(statement)
        table = lookup(on.group(1)) if on else None
        if table is None and named and (found := lookup(named.group(1))) is not None:
            table = relations.get(found.table_oid, found)
        if table is not None:
            record.locks.append(
                Lock(table.name, RELKINDS.get(table.kind, table.kind), table.name, "SHARE UPDATE EXCLUSIVE", False, traced=False)
            )
            record.tables.append(table.name)
            if statement.lstrip().upper().startswith("CREATE"):
                record.scans.append(table.name)
        record.note = (
            "not traced: CONCURRENTLY runs outside a transaction (SHARE UPDATE EXCLUSIVE, blocks neither reads nor writes; "
            "it waits for transactions that hold conflicting locks); locks from the PostgreSQL docs, time from the same build without CONCURRENTLY"
        )
        if not self.outside_transaction:
            record.error = (
                "CONCURRENTLY inside the revision's transaction: PostgreSQL refuses it; wrap it in op.get_context().autocommit_block()"
            )

    def observe(self, dbapi_connection: Any, record: Statement) -> None:
        assert self._before is not None
        relations_before, locks_before, scans_before = self._before
        relations_after, locks_after, scans_after = self._snapshot(dbapi_connection)
        known = {**relations_after, **relations_before}

        def table_name(relation: Relation) -> str:
            owner = known.get(relation.table_oid, relation)
            return owner.name

        if record.traced:
            for oid, mode in sorted(locks_after - locks_before, key=lambda lock: (lock[0], LOCK_MODES.index(lock[1]))):
                relation = known.get(oid)
                if relation is None:  # a transient heap of a rewrite, gone already
                    continue
                record.locks.append(
                    Lock(relation.name, RELKINDS.get(relation.kind, relation.kind), table_name(relation), mode, oid not in self.at_start)
                )
            for oid in relations_before.keys() & relations_after.keys():
                before, after = relations_before[oid], relations_after[oid]
                if before.filenode != after.filenode and before.filenode and after.filenode:
                    if before.kind in ("r", "m", "t"):
                        record.rewrites.append(before.name)
                    elif before.kind == "i":
                        record.rebuilt_indexes.append(before.name)
            for oid, count in scans_after.items():
                relation = known.get(oid)
                if (
                    relation is not None
                    and oid in self.at_start
                    and count > scans_before.get(oid, 0)
                    and relation.name not in record.rewrites
                ):
                    record.scans.append(relation.name)
        held: dict[str, set[str]] = {}
        for oid, mode in locks_after - self.baseline if record.traced else ():
            relation = known.get(oid)
            if relation is None or oid not in self.at_start:
                continue
            held.setdefault(table_name(relation), set()).update(blocked_operations(mode))
        record.held_blocks = {table: blocks for table, blocks in held.items() if blocks}
        kinds = {relation.name: relation.kind for relation in known.values()}
        touched = {lock.table for lock in record.locks if kinds.get(lock.table) in TABLE_KINDS} | set(record.rewrites) | set(record.scans)
        for name in sorted(touched):
            if name not in record.tables:
                record.tables.append(name)
        by_name = {relation.name: oid for oid, relation in relations_after.items()}
        for name in record.tables:
            oid = by_name.get(name)
            if oid is None:
                continue
            if oid not in self.row_cache:
                self.row_cache[oid] = int(fetch(dbapi_connection, f"SELECT count(*) FROM {name}")[0][0])
            record.traced_rows[name] = self.row_cache[oid]


@contextlib.contextmanager
def scratch_database(url: URL) -> Iterator[URL]:
    """A new, empty database on the target's server, dropped (WITH FORCE) however the trace ends."""
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    admin, problem = None, ""
    for maintenance in ("postgres", "template1"):
        candidate = sa.create_engine(url.set(database=maintenance), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with candidate.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            admin = candidate
            break
        except sa.exc.DBAPIError as exc:
            candidate.dispose()
            problem = error_line(exc)
    if admin is None:
        raise ConfigurationError(
            f"Cannot create a scratch database on {mask_url(url.set(database=None))} ({problem}): "
            "grant the user CREATEDB, or pass --trace-url with a staging copy of the database to trace on."
        )
    try:
        yield url.set(database=name)
    finally:
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.dispose()


class PostgresTracing(Tracing):
    """Traced on a scratch database (or the staging copy the caller names), with ``lock_timeout`` set for the trace."""

    on_copy: ClassVar[bool] = False
    lint: ClassVar[bool] = True

    def database(self, url: URL) -> contextlib.AbstractContextManager[URL]:
        return scratch_database(url)

    def recorder(self, revision: str, lock_timeout: str) -> Recorder:
        return PostgresRecorder(revision, lock_timeout)

    def begin(self, connection: Connection, trace_lock_timeout: str) -> None:
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{interval(trace_lock_timeout)}'")
