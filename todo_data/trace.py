"""Migration safety report: what each pending statement locks, rewrites, scans and blocks, measured before it runs for real.

Each pending revision runs on a database built or named for the purpose, in a transaction that is always
rolled back: on PostgreSQL every statement is bracketed by reads of ``pg_locks`` (this backend's relation
locks), ``pg_class.relfilenode`` (a changed file node is a table rewrite) and ``pg_stat_xact_user_tables``
(sequential scans), and timed. squawk's findings for the same statements sit beside them. SQLite has one
lock for the whole file, so there the report says what batch mode rebuilds and what the write lock blocks.
"""

from __future__ import annotations

import contextlib
import io
import re
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection

from todo_data import migrations
from todo_data.db import build_engine, resolve_url, translate_errors
from todo_data.errors import ConfigurationError, MigrationError
from todo_data.models import metadata
from todo_data.settings import backend_of, get_settings, mask_text, mask_url

# --- lock modes and what they block (PostgreSQL docs, 13.3.1, "Conflicting Lock Modes") ----------

LOCK_MODES = (
    "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE",
)  # weakest first  # fmt: skip
CONFLICTS: dict[str, frozenset[str]] = {
    "ACCESS SHARE": frozenset({"ACCESS EXCLUSIVE"}),
    "ROW SHARE": frozenset({"EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "ROW EXCLUSIVE": frozenset({"SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "SHARE UPDATE EXCLUSIVE": frozenset({"SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "SHARE": frozenset({"ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "SHARE ROW EXCLUSIVE": frozenset(
        {"ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}
    ),
    "EXCLUSIVE": frozenset(LOCK_MODES[1:]),
    "ACCESS EXCLUSIVE": frozenset(LOCK_MODES),
}
# The lock each everyday operation takes: SELECT; SELECT ... FOR UPDATE/SHARE; INSERT, UPDATE, DELETE.
EVERYDAY = {"reads": "ACCESS SHARE", "row locks": "ROW SHARE", "writes": "ROW EXCLUSIVE"}

STATEMENT_COLUMNS = [
    "revision", "step", "statement", "traced", "locks", "blocks", "blocks_while_running", "rewrites", "scans", "ms",
    "tables", "rows", "traced_rows", "lock_timeout", "lint", "danger", "strict", "note", "error",
]  # fmt: skip
LOCK_COLUMNS = ["revision", "step", "relation", "kind", "table", "mode", "blocks", "new_relation", "traced"]
TABLE_COLUMNS = ["step", "statement", "locks", "blocks", "rewrite", "time", "lint", "danger"]
SCRATCH_PREFIX = "todo_data_trace_"
EXACT_COUNT_BELOW = 1_000_000  # target tables above this many rows (planner estimate) are not counted exactly
TABLE_KINDS = ("r", "p", "m")
RELKINDS = {"r": "table", "p": "table", "i": "index", "I": "index", "S": "sequence", "m": "materialized view", "t": "toast table"}

_CONCURRENT_INDEX = re.compile(r"^(\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX\s+(?:\([^)]*\)\s*)?\w+))\s+CONCURRENTLY\b", re.I)
_NO_TRANSACTION = re.compile(r"^\s*(VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM)\b", re.I)
_INDEX_TABLE = re.compile(r"\bON\s+(?:ONLY\s+)?((?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)", re.I)
_INDEX_NAME = re.compile(r"\bCONCURRENTLY\s+(?:IF\s+EXISTS\s+)?((?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)", re.I)
_SET_LOCK_TIMEOUT = re.compile(r"^\s*SET\s+(SESSION\s+|LOCAL\s+)?lock_timeout\s*(?:=|TO)\s*'?([^';]+?)'?\s*;?\s*$", re.I)
_BOOKKEEPING = re.compile(r"\balembic_version\b|^\s*PRAGMA\b|\b(pg_catalog|information_schema|sqlite_master|sqlite_schema)\b", re.I)


def lock_mode_name(mode: str) -> str:
    """``AccessExclusiveLock`` (as pg_locks spells it) -> ``ACCESS EXCLUSIVE`` (as the docs do)."""
    words = re.findall(r"[A-Z][a-z]*", mode.removesuffix("Lock"))
    return " ".join(words).upper() if words else mode.upper()


def blocked_operations(mode: str) -> tuple[str, ...]:
    """The everyday operations (``reads``, ``row locks``, ``writes``) a lock of ``mode`` makes wait."""
    name = lock_mode_name(mode) if mode not in CONFLICTS else mode
    if name not in CONFLICTS:
        raise ConfigurationError(f"Unknown lock mode {mode!r}: use one of {', '.join(LOCK_MODES)}.")
    return tuple(operation for operation, taken in EVERYDAY.items() if taken in CONFLICTS[name])


def describe_blocks(operations: set[str] | tuple[str, ...]) -> str:
    """``reads and writes`` / ``writes and SELECT FOR UPDATE`` / ``writes`` / ``""``: what a reader needs to know."""
    if "reads" in operations:
        return "reads and writes"
    if "row locks" in operations:
        return "writes and SELECT FOR UPDATE"
    return "writes" if "writes" in operations else ""


def _strongest(modes: set[str]) -> str:
    return max(modes, key=LOCK_MODES.index)


def _interval(value: str) -> str:
    """A PostgreSQL duration (``5s``, ``500ms``, ``0``) safe to put in a SET statement, or a one-line error."""
    text = str(value).strip()
    if not re.fullmatch(r"[0-9.]+\s*[a-zA-Z]*", text):
        raise ConfigurationError(f"Timeout {text!r} is not a PostgreSQL duration: use e.g. 5s, 500ms or 0.")
    return text


def _is_zero_timeout(value: str) -> bool:
    match = re.fullmatch(r"\s*([0-9.]+)\s*[a-z]*\s*", str(value).lower())
    return bool(match) and float(match.group(1)) == 0


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TracedRevision:
    """One pending revision as traced: how many statements, how long they took, and why tracing stopped if it did."""

    revision: str
    down_revision: str | None
    message: str
    statements: int
    ms: float
    error: str | None = None


@dataclass(frozen=True, eq=False)
class TraceReport:
    """What the pending revisions do while they run, statement by statement, and where that was measured.

    ``statements``: one row per statement (:data:`STATEMENT_COLUMNS`); ``locks``: one row per relation lock a
    statement took (:data:`LOCK_COLUMNS`); ``lint``: squawk's findings (``migrations.lint``'s columns plus the
    ``step`` they belong to).
    """

    database: str
    traced: str
    scratch: bool
    backend: str
    current: tuple[str, ...]
    target: str
    lock_timeout: str
    revisions: list[TracedRevision]
    statements: pd.DataFrame
    locks: pd.DataFrame
    lint: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    sample_tasks: int = 0

    def dangerous(self) -> pd.DataFrame:
        """The statements that block reads or writes on tables with rows for longer than a lock wait."""
        return self.statements[self.statements["danger"] != ""]

    def strict_failures(self) -> pd.DataFrame:
        """Statements that take a lock blocking reads on a table with rows while no lock_timeout is set (``--strict``)."""
        return self.statements[self.statements["strict"]]

    def table(self, revision: str) -> pd.DataFrame:
        """One revision as the notebook shows it: statement, locks, blocks, rewrite, time, lint and the danger."""
        rows = self.statements[self.statements["revision"] == revision]
        if revision not in {traced.revision for traced in self.revisions}:
            raise ConfigurationError(
                f"Revision {revision!r} is not pending here: the report covers {', '.join(r.revision for r in self.revisions) or 'none'}."
            )
        view = pd.DataFrame(
            {
                "step": rows["step"],
                "statement": rows["statement"],
                "locks": rows["locks"],
                "blocks": rows["blocks_while_running"],
                "rewrite": rows["rewrites"],
                "time": [_duration(ms, traced) for ms, traced in zip(rows["ms"], rows["traced"], strict=True)],
                "lint": rows["lint"],
                "danger": rows["danger"],
            },
            columns=TABLE_COLUMNS,
        )
        return view.reset_index(drop=True)

    def to_text(self) -> str:
        """The report as plain text, one block per revision, dangerous statements marked with ``!``."""
        lines = [
            f"Migration safety report for {self.database}",
            f"Traced on {self.traced}{' (made for the trace, removed)' if self.scratch else ''}",
        ]
        if self.backend == "postgresql":
            lines.append(f"lock_timeout for the real run: {self.lock_timeout if not _is_zero_timeout(self.lock_timeout) else 'none (0)'}")
        if not self.revisions:
            lines.append(f"Nothing pending: the database is at {', '.join(self.current) or 'no revision'}.")
        for revision in self.revisions:
            lines.append("")
            header = f"{revision.revision}  {revision.message}  ({revision.statements} statement(s), {revision.ms:.1f} ms)"
            if revision.error is None:
                lines.append(header)
            elif revision.error.startswith("not traced"):
                lines.append(f"{revision.revision}  {revision.message}  ({revision.error})")
            else:
                lines.append(f"{header}  FAILED: {revision.error}")
            for row in self.statements[self.statements["revision"] == revision.revision].itertuples(index=False):
                mark = "!" if row.danger else " "
                lines.append(f"  {mark} {row.step:>2}  {_one_line(row.statement)}")
                facts = [f"locks: {row.locks or 'none new'}", f"blocks: {row.blocks_while_running or 'neither reads nor writes'}"]
                if row.rewrites:
                    facts.append(f"rewrites: {row.rewrites}")
                if row.scans:
                    facts.append(f"scans: {row.scans}")
                facts.append(_duration(row.ms, row.traced))
                if row.tables:
                    facts.append(f"rows: {row.tables}")
                lines.append("        " + "; ".join(facts))
                for label, value in (("lint", row.lint), ("danger", row.danger), ("note", row.note), ("error", row.error)):
                    if value:
                        lines.append(f"        {label}: {value}")
        if self.notes:
            lines.append("")
            lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)


def _duration(ms: float | None, traced: bool) -> str:
    if ms is None or pd.isna(ms):
        return "not run"
    return f"{ms:.1f} ms" if traced else f"{ms:.1f} ms (without CONCURRENTLY)"


def _one_line(statement: str, width: int = 110) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- what one statement did ---------------------------------------------------------------------


@dataclass
class _Relation:
    oid: int
    name: str
    kind: str
    table_oid: int
    filenode: int


@dataclass
class _Lock:
    relation: str
    kind: str
    table: str
    mode: str
    new_relation: bool  # made by this revision: no other session can see it yet, so the lock blocks nobody
    traced: bool = True
    blocks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.blocks and not self.new_relation and self.mode in CONFLICTS:
            self.blocks = blocked_operations(self.mode)


@dataclass
class _Statement:
    revision: str
    step: int
    statement: str
    traced: bool = True
    skipped: bool = False  # replaced by a no-op in the trace: it cannot run in a transaction at all
    locks: list[_Lock] = field(default_factory=list)
    held_blocks: dict[str, set[str]] = field(default_factory=dict)  # table -> operations blocked while it runs
    rewrites: list[str] = field(default_factory=list)
    rebuilt_indexes: list[str] = field(default_factory=list)
    scans: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    traced_rows: dict[str, int] = field(default_factory=dict)
    ms: float | None = None
    lock_timeout: str = ""
    note: str = ""
    error: str = ""


class _Recorder:
    """Watches every statement on one connection and records what it did; subclasses know the backend."""

    def __init__(self, revision: str, lock_timeout: str) -> None:
        self.revision = revision
        self.lock_timeout = lock_timeout
        self.statements: list[_Statement] = []
        self.outside_transaction = False
        self._current: _Statement | None = None
        self._started = 0.0

    # Event hooks: SQLAlchemy calls them around each cursor.execute on the traced connection.
    def before(self, _conn: Connection, cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> tuple[str, Any]:
        if _BOOKKEEPING.search(statement):
            self._current = None
            return statement, parameters
        record = _Statement(self.revision, len(self.statements) + 1, statement.strip())
        record.lock_timeout = self.lock_timeout
        self.statements.append(record)
        self._current = record
        statement = self.prepare(cursor.connection, record, statement)
        self._started = time.perf_counter()
        return statement, parameters

    def after(self, _conn: Connection, cursor: Any, _statement: str, _parameters: Any, _context: Any, _many: bool) -> None:
        record = self._current
        if record is None:
            return
        record.ms = (time.perf_counter() - self._started) * 1000
        self._current = None
        if record.skipped:
            record.ms = None
        self.observe(cursor.connection, record)
        self._track_lock_timeout(record.statement)
        if self.outside_transaction:  # autocommit: the real run commits each statement
            if record.traced and not record.note:
                record.note = "runs in autocommit mode, outside the revision's transaction: its locks end with it"
            self.transaction_boundary()

    def failed(self, error: BaseException) -> None:
        if self._current is not None:
            self._current.ms = (time.perf_counter() - self._started) * 1000
            self._current.error = _error_line(error)
            self._current = None

    def _track_lock_timeout(self, statement: str) -> None:
        match = _SET_LOCK_TIMEOUT.match(statement)
        if match:
            self.lock_timeout = match.group(2).strip()

    @contextlib.contextmanager
    def autocommit_block(self) -> Iterator[None]:
        """Stands in for ``MigrationContext.autocommit_block`` in the trace: nothing is committed, statements are marked."""
        self.outside_transaction = True
        self.transaction_boundary()
        try:
            yield
        finally:
            self.outside_transaction = False
            self.transaction_boundary()

    def start(self, dbapi_connection: Any) -> None:
        """Called once the revision's transaction is open, before its first statement."""

    def transaction_boundary(self) -> None:
        """The real run commits here: locks taken so far are released."""

    def prepare(self, dbapi_connection: Any, record: _Statement, statement: str) -> str:
        return statement

    def observe(self, dbapi_connection: Any, record: _Statement) -> None:
        raise NotImplementedError


def _error_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return mask_text(text.splitlines()[0] if text else type(error).__name__)


def _fetch(dbapi_connection: Any, sql: str) -> list[tuple]:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


_PG_RELATIONS = """
SELECT c.oid, c.oid::regclass::text, c.relkind, c.relfilenode, coalesce(i.indrelid, c.oid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
"""
_PG_LOCKS = """
SELECT relation, mode FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_PG_SCANS = "SELECT relid, seq_scan FROM pg_stat_xact_user_tables"


class _PostgresRecorder(_Recorder):
    """Reads this backend's relation locks, file nodes and scan counts before and after each statement."""

    def __init__(self, revision: str, lock_timeout: str) -> None:
        super().__init__(revision, lock_timeout)
        self.at_start: set[int] = set()  # relations that existed when the revision began: others are invisible to other sessions
        self.baseline: set[tuple[int, str]] = set()  # locks held before the revision (or released by a commit the real run makes)
        self.row_cache: dict[int, int] = {}
        self._connection: Any = None
        self._before: tuple[dict[int, _Relation], set[tuple[int, str]], dict[int, int]] | None = None

    def _snapshot(self, dbapi_connection: Any) -> tuple[dict[int, _Relation], set[tuple[int, str]], dict[int, int]]:
        relations = {
            int(oid): _Relation(int(oid), name, kind, int(table_oid), int(filenode))
            for oid, name, kind, filenode, table_oid in _fetch(dbapi_connection, _PG_RELATIONS)
        }
        locks = {(int(oid), lock_mode_name(mode)) for oid, mode in _fetch(dbapi_connection, _PG_LOCKS) if lock_mode_name(mode) in CONFLICTS}
        scans = {int(oid): int(count) for oid, count in _fetch(dbapi_connection, _PG_SCANS)}
        return relations, locks, scans

    def start(self, dbapi_connection: Any) -> None:
        self._connection = dbapi_connection
        relations, locks, _scans = self._snapshot(dbapi_connection)
        self.at_start = set(relations)
        self.baseline = locks

    def transaction_boundary(self) -> None:
        if self._connection is not None:
            self.baseline = self._snapshot(self._connection)[1]

    def prepare(self, dbapi_connection: Any, record: _Statement, statement: str) -> str:
        self._before = self._snapshot(dbapi_connection)
        concurrent = _CONCURRENT_INDEX.match(statement)
        if concurrent:
            self._static_concurrent(record, statement, self._before[0])
            return statement[: concurrent.end(1)] + statement[concurrent.end() :]
        if _NO_TRANSACTION.match(statement):
            record.traced, record.skipped = False, True
            record.note = "not traced: cannot run inside a transaction; it takes no relation locks that block reads or writes"
            return "SELECT 1"
        return statement

    def _static_concurrent(self, record: _Statement, statement: str, relations: dict[int, _Relation]) -> None:
        """CONCURRENTLY cannot run in the trace's transaction: its lock comes from the docs, its time from the plain build."""
        record.traced = False
        by_name = {relation.name: relation for relation in relations.values()}

        def lookup(name: str) -> _Relation | None:
            return by_name.get(name) or by_name.get(name.split(".")[-1].strip('"'))

        on, named = _INDEX_TABLE.search(statement), _INDEX_NAME.search(statement)
        table = lookup(on.group(1)) if on else None
        if table is None and named and (found := lookup(named.group(1))) is not None:
            table = relations.get(found.table_oid, found)
        if table is not None:
            record.locks.append(
                _Lock(table.name, RELKINDS.get(table.kind, table.kind), table.name, "SHARE UPDATE EXCLUSIVE", False, traced=False)
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

    def observe(self, dbapi_connection: Any, record: _Statement) -> None:
        assert self._before is not None
        relations_before, locks_before, scans_before = self._before
        relations_after, locks_after, scans_after = self._snapshot(dbapi_connection)
        known = {**relations_after, **relations_before}

        def table_name(relation: _Relation) -> str:
            owner = known.get(relation.table_oid, relation)
            return owner.name

        if record.traced:
            for oid, mode in sorted(locks_after - locks_before, key=lambda lock: (lock[0], LOCK_MODES.index(lock[1]))):
                relation = known.get(oid)
                if relation is None:  # a transient heap of a rewrite, gone already
                    continue
                record.locks.append(
                    _Lock(relation.name, RELKINDS.get(relation.kind, relation.kind), table_name(relation), mode, oid not in self.at_start)
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
                self.row_cache[oid] = int(_fetch(dbapi_connection, f"SELECT count(*) FROM {name}")[0][0])
            record.traced_rows[name] = self.row_cache[oid]


class _SqliteRecorder(_Recorder):
    """SQLite: one write lock for the file, taken by BEGIN IMMEDIATE. A table is rebuilt (batch mode, or by hand) by
    copying its rows into a new table that replaces it: that copy is the rewrite."""

    def __init__(self, revision: str, journal_mode: str) -> None:
        super().__init__(revision, "")
        self.journal_mode = journal_mode
        self._at_start: set[str] = set()
        self._before: set[str] = set()
        self._copies: dict[str, str] = {}  # new table -> the table whose rows it took over

    @staticmethod
    def _table_names(dbapi_connection: Any) -> set[str]:
        return {name for (name,) in _fetch(dbapi_connection, "SELECT name FROM sqlite_master WHERE type = 'table'")}

    def start(self, dbapi_connection: Any) -> None:
        self._at_start = self._table_names(dbapi_connection)

    def prepare(self, dbapi_connection: Any, record: _Statement, statement: str) -> str:
        self._before = self._table_names(dbapi_connection)
        return statement

    def observe(self, dbapi_connection: Any, record: _Statement) -> None:
        text = record.statement
        after = self._table_names(dbapi_connection)
        created = re.match(r'^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(\w+)"?', text, re.I)
        if created:
            mentioned = [created.group(1)]  # not the tables its foreign keys name
        else:
            mentioned = [name for name in sorted(self._before | after) if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text)]
        copy = re.match(r'^\s*INSERT\s+INTO\s+"?(\w+)"?.*?\bSELECT\b.*?\bFROM\s+"?(\w+)"?', text, re.I | re.S)
        if copy and copy.group(1) not in self._at_start and copy.group(2) in self._at_start:
            new, old = copy.groups()
            self._copies[new] = old
            record.rewrites.append(old)
            record.note = f"rebuilds {old}: every row is copied into {new}, which then replaces it (batch mode's way to alter a table)"
        elif any(name in self._copies or name in self._copies.values() for name in mentioned) and re.match(
            r"^\s*(DROP|ALTER)\s+TABLE\b", text, re.I
        ):
            record.note = f"part of the rebuild of {', '.join(sorted({self._copies.get(name, name) for name in mentioned}))}"
        record.tables = sorted({self._copies.get(name, name) for name in mentioned})
        if not re.match(r"^\s*(SELECT|WITH)\b", text, re.I):
            # WAL: readers go on reading the last commit; a rollback journal makes them wait while the revision commits.
            blocks = ("writes",) if self.journal_mode == "wal" else ("reads", "writes")
            record.locks.append(_Lock("database", "database", "", "WRITE LOCK", False, blocks=blocks))
            record.held_blocks = {"database": set(blocks)}
        index = re.match(r'^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+.*?\bON\s+"?(\w+)"?', text, re.I | re.S)
        if index and index.group(1) in self._at_start:
            record.scans.append(index.group(1))
        for name in record.tables:
            if name in after:
                record.traced_rows[name] = int(_fetch(dbapi_connection, f'SELECT count(*) FROM "{name}"')[0][0])


# --- running Alembic on a watched connection ------------------------------------------------------


def _config(script_location: str | Path | None, connection: Connection | None = None) -> Config:
    config = migrations.alembic_config(connection=connection)
    if script_location is not None:
        config.set_main_option("script_location", str(Path(script_location).resolve()).replace("%", "%%"))
    return config


def _run_alembic(connection: Connection, config: Config, script: ScriptDirectory, destination: str, recorder: _Recorder | None) -> None:
    """Upgrade to ``destination`` inside the connection's open transaction: Alembic sees it as external and never commits."""

    def upgrade(rev: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs(destination, rev)

    with EnvironmentContext(config, script, fn=upgrade, destination_rev=destination, as_sql=False) as environment:
        # The options env.py gives every online run that shape the SQL (batch mode on SQLite, transactional DDL).
        environment.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            transactional_ddl=True,
            render_item=migrations.render_item,
        )
        if recorder is not None:
            environment.get_context().autocommit_block = recorder.autocommit_block  # type: ignore[method-assign]
        environment.run_migrations()


def _apply(config_for: Callable[[Connection], Config], url: URL, revision: str) -> None:
    """Upgrade a database the trace owns (scratch or copy) for real, through env.py like any upgrade."""
    engine = build_engine(url, for_migrations=True)
    try:
        with translate_errors(url), engine.connect() as connection:
            command.upgrade(config_for(connection), revision)
            if connection.in_transaction():
                connection.commit()
    except (CommandError, sa.exc.DBAPIError) as exc:
        raise MigrationError(f"Could not bring {mask_url(url)} to revision {revision} for the trace: {_error_line(exc)}") from None
    finally:
        engine.dispose()


def _stamp(config_for: Callable[[Connection], Config], url: URL, revision: str) -> None:
    """Record ``revision`` in a copy the trace owns, as the real upgrade's adoption would."""
    engine = build_engine(url, for_migrations=True)
    try:
        with engine.connect() as connection:
            command.stamp(config_for(connection), revision)
            if connection.in_transaction():
                connection.commit()
    finally:
        engine.dispose()


@dataclass
class _Traced:
    statements: list[_Statement]
    ms: float
    error: str | None


def _trace_revision(
    url: URL,
    config: Config,
    script: ScriptDirectory,
    revision: str,
    replay: str | None,
    make: Callable[[str], _Recorder],
    trace_lock_timeout: str,
    stamp: str | None = None,
) -> _Traced:
    """Run one revision in a transaction that is rolled back, every statement watched; ``replay``: run up to it first, unwatched."""
    engine = build_engine(url, for_migrations=True)
    recorder = make(revision)
    error: str | None = None
    started = time.perf_counter()
    try:
        with translate_errors(url), engine.connect() as connection:
            transaction = connection.begin()
            try:
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{_interval(trace_lock_timeout)}'")
                if stamp is not None:  # adopted, as the real upgrade would, inside the transaction that is rolled back
                    MigrationContext.configure(connection).stamp(script, stamp)
                if replay is not None:
                    _run_alembic(connection, config, script, replay, None)
                recorder.start(connection.connection.dbapi_connection)
                started = time.perf_counter()
                event.listen(connection, "before_cursor_execute", recorder.before, retval=True)
                event.listen(connection, "after_cursor_execute", recorder.after)
                try:
                    _run_alembic(connection, config, script, revision, recorder)
                except (sa.exc.SQLAlchemyError, RuntimeError) as exc:  # what a failing revision raises in a real upgrade too
                    recorder.failed(exc)
                    error = _error_line(exc)
                finally:
                    event.remove(connection, "before_cursor_execute", recorder.before)
                    event.remove(connection, "after_cursor_execute", recorder.after)
            finally:
                transaction.rollback()
    finally:
        engine.dispose()
    ms = sum(statement.ms or 0.0 for statement in recorder.statements) if recorder.statements else (time.perf_counter() - started) * 1000
    if any(statement.error and not error for statement in recorder.statements):
        error = next(statement.error for statement in recorder.statements if statement.error)
    return _Traced(recorder.statements, ms, error)


# --- the databases: target (read only), traced (scratch, copy, or staging) ---------------------------


def _current(url: URL) -> tuple[str, ...]:
    engine = build_engine(url, read_only=True)
    try:
        with translate_errors(url), engine.connect() as connection:
            return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    finally:
        engine.dispose()


def _adoptable(url: URL) -> bool:
    """A database with the app's tables but no ``alembic_version``: an upgrade adopts it as 001 if its schema is exactly 001."""
    engine = build_engine(url, read_only=True)
    try:
        with translate_errors(url), engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names()) & set(migrations.APP_TABLES)
            differences = migrations.seed_schema_differences(connection) if tables else []
    finally:
        engine.dispose()
    if differences:
        raise MigrationError(
            f"{mask_url(url)} has tables ({', '.join(sorted(tables))}) but no alembic_version, and its schema is not revision "
            f"{migrations.BASE_REVISION}: an upgrade would refuse it, so there is nothing to trace (first difference: {differences[0]})."
        )
    return bool(tables)


def _target_rows(url: URL, names: set[str]) -> dict[str, int]:
    """Rows in the target's tables (read only): exact, or the planner's estimate for tables above :data:`EXACT_COUNT_BELOW`."""
    if not names:
        return {}
    engine = build_engine(url, read_only=True)
    rows: dict[str, int] = {}
    try:
        with translate_errors(url), engine.connect() as connection:
            if backend_of(url) == "sqlite":
                present = set(sa.inspect(connection).get_table_names())
                for name in sorted(names & present):
                    rows[name] = int(connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                return rows
            for name in sorted(names):
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
                    if estimate >= EXACT_COUNT_BELOW
                    else int(connection.execute(sa.text(f"SELECT count(*) FROM {found[0]}")).scalar_one())
                )
    finally:
        engine.dispose()
    return rows


def _journal_mode(url: URL) -> str:
    engine = build_engine(url, read_only=True)
    try:
        with translate_errors(url), engine.connect() as connection:
            return str(connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()).lower()
    finally:
        engine.dispose()


def _same_database(first: URL, second: URL) -> bool:
    if backend_of(first) == "sqlite":
        return Path(first.database or "").resolve() == Path(second.database or "").resolve()
    return (first.host or "localhost", first.port or 5432, first.database) == (
        second.host or "localhost",
        second.port or 5432,
        second.database,
    )


@contextlib.contextmanager
def _scratch_database(url: URL) -> Iterator[URL]:
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
            problem = _error_line(exc)
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


def _fill_scratch(scratch: URL, current: tuple[str, ...], tasks: int, users: int | None, notes: list[str]) -> int:
    """Sample rows shaped for the scratch's revision: loaded at head, then downgraded (downgrades keep the data)."""
    if not tasks:
        return 0
    known = [info.revision for info in migrations.history()]
    if not current or current[0] not in known:
        notes.append(
            f"No sample data: the target is at {current[0] if current else 'no revision'}, where todo_data cannot load sample rows."
        )
        return 0
    from todo_data import sample
    from todo_data.db import get_engine

    project_head = migrations.head()
    if current[0] != project_head:
        migrations.upgrade(scratch, project_head)
    sample.load_sample(scratch, users=users or max(1, tasks // 10), tasks=tasks, progress=False)
    get_engine(scratch).dispose()  # the loader's pooled connections must not hold the scratch open
    if current[0] != project_head:
        migrations.downgrade(current[0], scratch)
    return tasks


@contextlib.contextmanager
def _sqlite_copy(url: URL) -> Iterator[URL]:
    """A consistent copy of a SQLite file (the backup API also copies what is still in the WAL), deleted afterwards."""
    source = Path(url.database or "")
    with tempfile.TemporaryDirectory(prefix="todo-data-trace-") as folder:
        copy = Path(folder) / source.name
        with (
            contextlib.closing(sqlite3.connect(f"file:{source.resolve()}?mode=ro", uri=True)) as original,
            contextlib.closing(sqlite3.connect(copy)) as target,
        ):
            original.backup(target)
        yield url.set(database=str(copy))


# --- lint beside the trace --------------------------------------------------------------------------


def _offline_sql(config: Config, down: str | None, revision: str) -> str:
    buffer = io.StringIO()
    config.output_buffer = buffer
    config.attributes["dialect"] = "postgresql"
    command.upgrade(config, f"{down or 'base'}:{revision}", sql=True)
    return buffer.getvalue()


def _normal(statement: str) -> str:
    return " ".join(statement.split()).rstrip(";").strip().lower()


def _offline_statements(sql: str) -> list[tuple[int, int, str]]:
    """(first line, last line, text) of each statement in Alembic's offline SQL (1-based lines; each ends with ``;``)."""
    found: list[tuple[int, int, str]] = []
    start, buffer = None, []
    for number, line in enumerate(sql.splitlines(), 1):
        if start is None:
            if not line.strip() or line.strip().startswith("--"):
                continue
            start = number
        buffer.append(line)
        if line.rstrip().endswith(";"):
            found.append((start, number, "\n".join(buffer)))
            start, buffer = None, []
    return found


def _lint_frame(
    config_for: Callable[[], Config], pending: list[tuple[str, str | None, str]], statements: list[_Statement], notes: list[str]
) -> pd.DataFrame:
    columns = [*migrations.LINT_COLUMNS, "step"]
    items = [migrations.PendingRevision(rev, down, message, _offline_sql(config_for(), down, rev)) for rev, down, message in pending]
    try:
        findings = migrations.lint(items)
    except (ConfigurationError, MigrationError) as exc:
        notes.append(f"No lint: {exc}")
        return pd.DataFrame(columns=columns)
    steps: list[Any] = []
    for finding in findings.itertuples(index=False):
        item = next(item for item in items if item.revision == finding.revision)
        offline = _offline_statements(item.sql)
        ours = [s for s in statements if s.revision == finding.revision]
        text = next((t for first, last, t in offline if first <= finding.line <= last), finding.statement)
        match = next((s.step for s in ours if _normal(s.statement) == _normal(text)), None)
        if match is None:  # bound parameters online, literals offline: fall back to the statement's position
            migration_only = [
                t for _f, _l, t in offline if not _BOOKKEEPING.search(t) and not re.match(r"^\s*(BEGIN|COMMIT|SET)\b", t, re.I)
            ]
            position = next((i for i, t in enumerate(migration_only) if _normal(t) == _normal(text)), None)
            if position is not None and position < len(ours):
                match = ours[position].step
        steps.append(match)
    frame = findings.copy()
    frame["step"] = pd.array(steps, dtype="Int64")
    return frame[columns]


# --- the report ------------------------------------------------------------------------------------


def _danger(record: _Statement, rows: dict[str, int], backend: str) -> tuple[str, bool]:
    """Why a statement is dangerous (empty when it is not), and whether ``--strict`` fails on it."""
    if backend == "sqlite":
        work = [(name, "rebuilds") for name in record.rewrites] + [(name, "scans") for name in record.scans]
        for name, verb in work:
            if rows.get(name, 0):
                blocked = describe_blocks(record.held_blocks.get("database", set()))
                return f"blocks {blocked} on the whole database while it {verb} {name} ({rows[name]:,} rows)", False
        return "", False
    no_timeout = _is_zero_timeout(record.lock_timeout)
    reasons: list[str] = []
    for name, verb in [(name, "rewrites") for name in record.rewrites] + [(name, "scans") for name in record.scans]:
        blocked = describe_blocks(record.held_blocks.get(name, set()))
        if blocked and rows.get(name, 0):
            reasons.append(f"blocks {blocked} on {name} ({rows[name]:,} rows) while it {verb} it")
    strict = False
    for lock in record.locks:
        if lock.new_relation or not lock.blocks or not rows.get(lock.table, 0):
            continue
        if "reads" in lock.blocks and no_timeout:
            strict = True
        if no_timeout and not reasons:
            where = (
                f"{lock.table} ({rows[lock.table]:,} rows)"
                if lock.relation == lock.table
                else f"{lock.relation} (of {lock.table}, {rows[lock.table]:,} rows)"
            )
            reasons.append(
                f"takes {lock.mode} on {where} with no lock_timeout: {describe_blocks(lock.blocks)} queue behind it while it waits"
            )
    if record.error and "CONCURRENTLY inside" in record.error:
        reasons.append(record.error)
    return "; ".join(dict.fromkeys(reasons)), strict


def _locks_text(locks: list[_Lock]) -> str:
    groups: dict[tuple[str, bool], list[_Lock]] = {}
    for lock in locks:
        groups.setdefault((lock.table or lock.relation, lock.new_relation), []).append(lock)
    parts = []
    for (table, new), entries in groups.items():
        if entries[0].kind == "database":
            parts.append("write lock on the whole database")
            continue
        own = {lock.mode for lock in entries if lock.relation == table}
        others = [lock for lock in entries if lock.relation != table]
        prefix = "new " if new else ""
        if own:
            text = f"{_strongest(own)} on {prefix}{entries[0].kind if table == entries[0].relation else 'table'} {table}"
            if others:
                names = sorted({lock.relation for lock in others})
                text += f" (+{_strongest({lock.mode for lock in others})} on {len(names)} {'index' if len(names) == 1 else 'indexes'})"
        else:
            names = sorted({lock.relation for lock in others})
            text = f"{_strongest({lock.mode for lock in others})} on {prefix}{others[0].kind} {', '.join(names)}"
        parts.append(text)
    return "; ".join(parts)


def _table_rows(name: str, rows: int, traced: int | None) -> str:
    return f"{name} {rows:,}" if traced is None or traced == rows else f"{name} {rows:,} (traced with {traced:,})"


def _rewrites_text(record: _Statement) -> str:
    if record.rewrites:
        extra = f" (+{len(record.rebuilt_indexes)} indexes rebuilt)" if record.rebuilt_indexes else ""
        return ", ".join(record.rewrites) + extra
    return ", ".join(f"index {name} rebuilt" for name in record.rebuilt_indexes)


def _frames(statements: list[_Statement], target_rows: dict[str, int], backend: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows_out, locks_out = [], []
    for record in statements:
        rows = {name: target_rows.get(name, record.traced_rows.get(name, 0)) for name in record.tables}
        # A table "has rows" when the target's or the traced copy's does: sample rows stand in for production's.
        danger, strict = _danger(record, {name: max(rows[name], record.traced_rows.get(name, 0)) for name in rows}, backend)
        new_blocks: set[str] = set()
        for lock in record.locks:
            new_blocks.update(lock.blocks)
        if backend == "sqlite":
            new_blocks = set().union(*record.held_blocks.values()) if record.held_blocks else set()
        while_running = "; ".join(
            f"{describe_blocks(ops)} on {table}" for table, ops in sorted(record.held_blocks.items()) if describe_blocks(ops)
        )
        rows_out.append(
            {
                "revision": record.revision,
                "step": record.step,
                "statement": record.statement,
                "traced": record.traced,
                "locks": _locks_text(record.locks),
                "blocks": describe_blocks(new_blocks),
                "blocks_while_running": while_running,
                "rewrites": _rewrites_text(record),
                "scans": ", ".join(record.scans),
                "ms": record.ms,
                "tables": "; ".join(_table_rows(name, rows[name], record.traced_rows.get(name)) for name in record.tables),
                "rows": sum(rows.values()) if rows else 0,
                "traced_rows": sum(record.traced_rows.values()) if record.traced_rows else 0,
                "lock_timeout": record.lock_timeout,
                "lint": "",
                "danger": danger,
                "strict": strict,
                "note": record.note,
                "error": record.error,
            }
        )
        for lock in record.locks:
            locks_out.append(
                {
                    "revision": record.revision,
                    "step": record.step,
                    "relation": lock.relation,
                    "kind": lock.kind,
                    "table": lock.table,
                    "mode": lock.mode,
                    "blocks": describe_blocks(lock.blocks),
                    "new_relation": lock.new_relation,
                    "traced": lock.traced,
                }
            )
    frame = pd.DataFrame(rows_out, columns=STATEMENT_COLUMNS)
    frame["ms"] = frame["ms"].astype("float64")
    frame["strict"] = frame["strict"].astype(bool)
    frame["traced"] = frame["traced"].astype(bool)
    return frame, pd.DataFrame(locks_out, columns=LOCK_COLUMNS)


def trace(
    database_url: str | URL | None = None,
    *,
    trace_url: str | URL | None = None,
    target: str = "head",
    sample_tasks: int = 0,
    sample_users: int | None = None,
    lock_timeout: str | None = None,
    trace_lock_timeout: str = "5s",
    lint: bool = True,
    script_location: str | Path | None = None,
) -> TraceReport:
    """Trace every statement the pending revisions would run on ``database_url``, without changing it.

    PostgreSQL: on a scratch database built to the target's revision (optionally ``sample_tasks`` sample rows;
    dropped afterwards), or on ``trace_url``, a staging copy the caller names; each revision runs in a transaction
    that is rolled back, with ``trace_lock_timeout``. SQLite: on a copy of the file. ``lock_timeout``: what the
    real run sets (default: the LOCK_TIMEOUT setting); ``script_location``: another folder of revision scripts.
    """
    url = resolve_url(database_url)
    backend = backend_of(url)
    if backend not in ("postgresql", "sqlite"):
        raise MigrationError(f"{mask_url(url)} is a {backend} database: the migration trace supports PostgreSQL and SQLite.")
    staging = resolve_url(trace_url) if trace_url is not None else None
    if staging is not None and backend_of(staging) != backend:
        raise ConfigurationError(
            f"--trace-url is {backend_of(staging)} but the target is {backend}: trace on a copy of the same kind of database."
        )
    if staging is not None and backend == "postgresql" and _same_database(url, staging):
        raise ConfigurationError(
            f"--trace-url {mask_url(staging)} is the target database itself: the trace takes its locks; point it at a staging copy."
        )
    if sample_tasks < 0 or (sample_users is not None and sample_users < 1):
        raise ConfigurationError("--sample-tasks must be 0 or more (and sample users 1 or more).")
    if sample_tasks and (staging is not None or backend == "sqlite"):
        raise ConfigurationError(
            "--sample-tasks fills a scratch PostgreSQL database only: SQLite is traced on a copy of its file, --trace-url on the copy you named."
        )
    _interval(trace_lock_timeout)
    real_lock_timeout = str(lock_timeout if lock_timeout is not None else get_settings().lock_timeout)
    _interval(real_lock_timeout)

    script = ScriptDirectory.from_config(_config(script_location))
    notes: list[str] = []
    current = _current(url)
    adopted = not current and _adoptable(url)
    if adopted:
        current = (migrations.BASE_REVISION,)
        notes.append(
            f"{mask_url(url)} has no alembic_version but revision {current[0]}'s schema: the upgrade adopts it as {current[0]} first."
        )
    pending = _pending(script, current, target, url)
    if staging is not None:
        staged = _current(staging) or ((migrations.BASE_REVISION,) if _adoptable(staging) else ())
        if staged != current:
            raise ConfigurationError(
                f"The staging copy {mask_url(staging)} is at {', '.join(staged) or 'no revision'}, the target at "
                f"{', '.join(current) or 'no revision'}: bring the copy to the target's revision first."
            )

    journal = _journal_mode(url) if backend == "sqlite" else ""

    def config_for(connection: Connection | None = None) -> Config:
        return _config(script_location, connection)

    statements: list[_Statement] = []
    revisions: list[TracedRevision] = []
    traced_label, scratch = "nothing (no pending revisions)", False
    with contextlib.ExitStack() as stack:
        if pending:
            if backend == "sqlite":
                traced_url = stack.enter_context(_sqlite_copy(staging or url))
                traced_label, scratch = f"a copy of {mask_url(staging or url)}", True
                if adopted and not _current(traced_url):
                    _stamp(config_for, traced_url, current[0])
            elif staging is not None:
                traced_url, traced_label = staging, mask_url(staging)
            else:
                traced_url = stack.enter_context(_scratch_database(url))
                traced_label, scratch = mask_url(traced_url), True
                if current:
                    _apply(config_for, traced_url, current[0])
                sample_tasks = _fill_scratch(traced_url, current, sample_tasks, sample_users, notes)
            statements, revisions = _trace_pending(
                traced_url,
                pending,
                config_for,
                script,
                backend,
                real_lock_timeout,
                trace_lock_timeout,
                journal,
                owned=scratch,
                stamp=current[0] if adopted and staging is not None and not _current(staging) else None,
            )
        target_rows = _target_rows(url, {name for record in statements for name in record.tables})

    if scratch and backend == "postgresql" and not sample_tasks:
        notes.append(
            "The scratch database holds no rows (pass --sample-tasks N to fill it): times are for empty tables; rows are the target's."
        )
    if staging is not None and len(pending) > 1:
        notes.append(
            "Each revision after the first was traced after replaying the earlier ones in the same transaction (the copy must stay "
            "unchanged): locks those already took are not listed again."
        )
    if backend == "sqlite":
        notes.append(
            "SQLite: each revision holds the database's write lock from BEGIN IMMEDIATE to COMMIT, so every write waits for the "
            + ("whole revision; readers continue (WAL mode)." if journal == "wal" else "whole revision, and readers wait while it commits.")
        )
    statements_frame, locks_frame = _frames(statements, target_rows, backend)
    lint_frame = pd.DataFrame(columns=[*migrations.LINT_COLUMNS, "step"])
    if lint and backend == "postgresql" and pending:
        lint_frame = _lint_frame(config_for, pending, statements, notes)
        for (revision, step), group in lint_frame.dropna(subset=["step"]).groupby(["revision", "step"]):
            text = ", ".join(
                dict.fromkeys(
                    f"{rule}{' (excused)' if excused else ''}" for rule, excused in zip(group["rule"], group["excused"], strict=True)
                )
            )
            statements_frame.loc[(statements_frame["revision"] == revision) & (statements_frame["step"] == step), "lint"] = text
    elif lint and backend == "sqlite" and pending:
        notes.append("No lint on SQLite: squawk reads PostgreSQL SQL (run the plan against PostgreSQL to see it).")
    return TraceReport(
        database=mask_url(url),
        traced=traced_label,
        scratch=scratch,
        backend=backend,
        current=current,
        target=pending[-1][0] if pending else (current[0] if current else target),
        lock_timeout=real_lock_timeout,
        revisions=revisions,
        statements=statements_frame,
        locks=locks_frame,
        lint=lint_frame,
        notes=notes,
        sample_tasks=sample_tasks,
    )


def _pending(script: ScriptDirectory, current: tuple[str, ...], target: str, url: URL) -> list[tuple[str, str | None, str]]:
    """(revision, down revision, message) of each revision from ``current`` (exclusive) up to ``target``, oldest first."""
    try:
        for revision in current:
            script.get_revision(revision)
        wanted = script.get_revision(target)
    except CommandError as exc:
        raise MigrationError(f"{mask_url(url)}: {str(exc).splitlines()[0]}: the trace needs revisions this project knows.") from None
    if len(current) > 1:
        raise MigrationError(f"{mask_url(url)} has several heads ({', '.join(current)}): merge them before tracing.")
    order = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    start = order.index(current[0]) + 1 if current else 0
    stop = order.index(wanted.revision) + 1 if wanted is not None else 0
    if stop < start:
        raise ConfigurationError(f"{mask_url(url)} is at {current[0]}, past {target}: the trace shows upgrades only.")
    pending = []
    for revision in order[start:stop]:
        rev = script.get_revision(revision)
        down = rev.down_revision if isinstance(rev.down_revision, str) or rev.down_revision is None else ",".join(rev.down_revision)
        pending.append((revision, down, (rev.doc or "").strip()))
    return pending


def _trace_pending(
    url: URL,
    pending: list[tuple[str, str | None, str]],
    config_for: Callable[..., Config],
    script: ScriptDirectory,
    backend: str,
    lock_timeout: str,
    trace_lock_timeout: str,
    journal: str,
    *,
    owned: bool,
    stamp: str | None,
) -> tuple[list[_Statement], list[TracedRevision]]:
    """Trace each revision in its own rolled-back transaction. A database the trace ``owned`` (scratch, copy) is then
    upgraded for real, so the next revision starts without the locks of the one before; a staging copy is not, so
    the revisions before are replayed, unwatched, inside the next one's transaction."""
    statements: list[_Statement] = []
    revisions: list[TracedRevision] = []
    failed_at: str | None = None
    for index, (revision, down, message) in enumerate(pending):
        if failed_at is not None:
            revisions.append(TracedRevision(revision, down, message, 0, 0.0, f"not traced: revision {failed_at} failed first"))
            continue

        def make(rev: str, timeout: str = lock_timeout) -> _Recorder:
            return _SqliteRecorder(rev, journal) if backend == "sqlite" else _PostgresRecorder(rev, timeout)

        replay = pending[index - 1][0] if index and not owned else None
        traced = _trace_revision(url, config_for(), script, revision, replay, make, trace_lock_timeout, None if owned else stamp)
        statements.extend(traced.statements)
        lock_timeout = _session_timeout_after(traced.statements, lock_timeout)
        revisions.append(TracedRevision(revision, down, message, len(traced.statements), traced.ms, traced.error))
        if traced.error is not None:
            failed_at = revision
        elif owned and index + 1 < len(pending):
            _apply(config_for, url, revision)
    return statements, revisions


def _session_timeout_after(statements: list[_Statement], timeout: str) -> str:
    """A revision's ``SET lock_timeout`` (not LOCAL) lasts for the rest of the run's session."""
    for record in statements:
        match = _SET_LOCK_TIMEOUT.match(record.statement)
        if match and (match.group(1) or "").strip().upper() != "LOCAL":
            timeout = match.group(2).strip()
    return timeout
