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
# Where each relation's catalog rows are: a statement that changes a relation's definition (a column, a default, a
# constraint, a trigger) moves one. It shows what a statement works on when the locks it needs were already held.
CATALOG = """
SELECT relid, md5(string_agg(place, ',' ORDER BY place)) FROM (
  SELECT oid AS relid, 'c' || ctid::text AS place FROM pg_class
  UNION ALL SELECT attrelid, 'a' || ctid::text FROM pg_attribute
  UNION ALL SELECT adrelid, 'd' || ctid::text FROM pg_attrdef
  UNION ALL SELECT conrelid, 'k' || ctid::text FROM pg_constraint WHERE conrelid <> 0
  UNION ALL SELECT tgrelid, 't' || ctid::text FROM pg_trigger
) AS places
WHERE relid IN (
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
)
GROUP BY relid
"""


@dataclass
class Snapshot:
    relations: dict[int, Relation]
    locks: set[tuple[int, str]]
    scans: dict[int, int]
    catalog: dict[int, str]


class PostgresRecorder(Recorder):
    """Reads this backend's relation locks, file nodes and scan counts before and after each statement."""

    def __init__(self, revision: str, lock_timeout: str) -> None:
        super().__init__(revision, lock_timeout)
        self.at_start: set[int] = set()  # relations that existed when the revision began: others are invisible to other sessions
        self.baseline: set[tuple[int, str]] = set()  # locks held before the revision (or released by a commit the real run makes)
        self.acquired: dict[tuple[int, str], int] = {}  # lock -> the step that took it, since the last commit
        self.row_cache: dict[int, int] = {}
        self._connection: Any = None
        self._before: Snapshot | None = None

    def _snapshot(self, dbapi_connection: Any) -> Snapshot:
        relations = {
            int(oid): Relation(int(oid), name, kind, int(table_oid), int(filenode))
            for oid, name, kind, filenode, table_oid in fetch(dbapi_connection, RELATIONS)
        }
        locks = {(int(oid), lock_mode_name(mode)) for oid, mode in fetch(dbapi_connection, LOCKS) if lock_mode_name(mode) in CONFLICTS}
        scans = {int(oid): int(count) for oid, count in fetch(dbapi_connection, SCANS)}
        catalog = {int(oid): str(places) for oid, places in fetch(dbapi_connection, CATALOG)}
        return Snapshot(relations, locks, scans, catalog)

    def start(self, dbapi_connection: Any) -> None:
        self._connection = dbapi_connection
        snapshot = self._snapshot(dbapi_connection)
        self.at_start = set(snapshot.relations)
        self.baseline = snapshot.locks

    def transaction_boundary(self) -> None:
        if self._connection is not None:
            self.baseline = self._snapshot(self._connection).locks
            self.acquired = {}

    def prepare(self, dbapi_connection: Any, record: Statement, statement: str) -> str:
        self._before = self._snapshot(dbapi_connection)
        concurrent = CONCURRENT_INDEX.match(statement)
        if concurrent:
            self._static_concurrent(record, statement, self._before.relations)
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
        before, after = self._before, self._snapshot(dbapi_connection)
        relations_before, locks_before, scans_before = before.relations, before.locks, before.scans
        relations_after, locks_after, scans_after = after.relations, after.locks, after.scans
        known = {**relations_after, **relations_before}

        def table_name(relation: Relation) -> str:
            owner = known.get(relation.table_oid, relation)
            return owner.name

        taken = sorted(locks_after - locks_before, key=lambda lock: (lock[0], LOCK_MODES.index(lock[1])))
        for lock in taken:
            self.acquired.setdefault(lock, record.step)
        if record.traced:
            for oid, mode in taken:
                relation = known.get(oid)
                if relation is None:  # a transient heap of a rewrite, gone already
                    continue
                record.locks.append(
                    Lock(relation.name, RELKINDS.get(relation.kind, relation.kind), table_name(relation), mode, oid not in self.at_start)
                )
            for oid in relations_before.keys() & relations_after.keys():
                old, new = relations_before[oid], relations_after[oid]
                if old.filenode != new.filenode and old.filenode and new.filenode:
                    if old.kind in ("r", "m", "t"):
                        record.rewrites.append(old.name)
                    elif old.kind == "i":
                        record.rebuilt_indexes.append(old.name)
            for oid, count in scans_after.items():
                relation = known.get(oid)
                if (
                    relation is not None
                    and oid in self.at_start
                    and count > scans_before.get(oid, 0)
                    and relation.name not in record.rewrites
                ):
                    record.scans.append(relation.name)
            self._held_before(record, before, after, known)
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

    def _held_before(self, record: Statement, before: Snapshot, after: Snapshot, known: dict[int, Relation]) -> None:
        """Add the locks an earlier statement of the transaction took and still holds on what this one works on, where
        they are stronger than what it took itself: pg_locks lists a lock once, so a statement that needs a lock its
        transaction already holds shows nothing new for it (ALTER TYPE after an ALTER TABLE shows only SHARE)."""
        by_name = {relation.name: oid for oid, relation in known.items()}
        worked_on = {oid for oid, _mode in after.locks - before.locks}
        worked_on |= {by_name[name] for name in record.rewrites + record.rebuilt_indexes + record.scans if name in by_name}
        worked_on |= {oid for oid in before.catalog.keys() & after.catalog.keys() if before.catalog[oid] != after.catalog[oid]}
        worked_on |= {known[oid].table_oid for oid in worked_on if oid in known}
        for oid in sorted(worked_on):
            relation = known.get(oid)
            own = [LOCK_MODES.index(mode) for held, mode in after.locks - before.locks if held == oid]
            earlier = [
                (LOCK_MODES.index(mode), step)
                for (held, mode), step in self.acquired.items()
                if held == oid and step < record.step and (held, mode) in after.locks
            ]
            if relation is None or not earlier or max(earlier)[0] <= max(own, default=-1):
                continue
            rank, step = max(earlier, key=lambda entry: (entry[0], -entry[1]))
            kind = RELKINDS.get(relation.kind, relation.kind)
            owner = known.get(relation.table_oid, relation).name
            record.locks.append(Lock(relation.name, kind, owner, LOCK_MODES[rank], oid not in self.at_start, held_since=step))


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
