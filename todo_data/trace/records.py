"""What one traced statement did (:class:`Statement`, its :class:`Lock` s), and the :class:`Recorder` that watches
a connection and writes them down; each backend's recorder (``todo_data/backends/*/trace.py``) says what to read."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from todo_data.settings import mask_text
from todo_data.trace.locks import CONFLICTS, blocked_operations

SET_LOCK_TIMEOUT = re.compile(r"^\s*SET\s+(SESSION\s+|LOCAL\s+)?lock_timeout\s*(?:=|TO)\s*'?([^';]+?)'?\s*;?\s*$", re.I)
BOOKKEEPING = re.compile(r"\balembic_version\b|^\s*PRAGMA\b|\b(pg_catalog|information_schema|sqlite_master|sqlite_schema)\b", re.I)


@dataclass
class Lock:
    relation: str
    kind: str
    table: str
    mode: str
    new_relation: bool  # made by this revision: no other session can see it yet, so the lock blocks nobody
    traced: bool = True
    blocks: tuple[str, ...] = ()
    held_since: int | None = None  # taken by that earlier statement of the transaction and still held: this one did not wait for it

    def __post_init__(self) -> None:
        if not self.blocks and not self.new_relation and self.mode in CONFLICTS:
            self.blocks = blocked_operations(self.mode)


@dataclass
class Statement:
    revision: str
    step: int
    statement: str
    traced: bool = True
    skipped: bool = False  # replaced by a no-op in the trace: it cannot run in a transaction at all
    locks: list[Lock] = field(default_factory=list)  # taken by it, and the stronger ones still held on what it works on
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


class Recorder:
    """Watches every statement on one connection and records what it did; subclasses know the backend."""

    def __init__(self, revision: str, lock_timeout: str) -> None:
        self.revision = revision
        self.lock_timeout = lock_timeout
        self.statements: list[Statement] = []
        self.outside_transaction = False
        self._current: Statement | None = None
        self._started = 0.0

    # Event hooks: SQLAlchemy calls them around each cursor.execute on the traced connection.
    def before(self, _conn: Connection, cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> tuple[str, Any]:
        if BOOKKEEPING.search(statement):
            self._current = None
            return statement, parameters
        record = Statement(self.revision, len(self.statements) + 1, statement.strip())
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
            self._current.error = error_line(error)
            self._current = None

    def _track_lock_timeout(self, statement: str) -> None:
        match = SET_LOCK_TIMEOUT.match(statement)
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

    def prepare(self, dbapi_connection: Any, record: Statement, statement: str) -> str:
        return statement

    def observe(self, dbapi_connection: Any, record: Statement) -> None:
        raise NotImplementedError


def error_line(error: BaseException) -> str:
    """The first line of an error, with no password in it."""
    text = str(getattr(error, "orig", None) or error).strip()
    return mask_text(text.splitlines()[0] if text else type(error).__name__)


def fetch(dbapi_connection: Any, sql: str) -> list[tuple]:
    """Rows of one query on the raw driver connection (outside SQLAlchemy's events, so it is not traced)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()
