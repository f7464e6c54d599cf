"""SQLite in a migration trace: one write lock for the whole file, taken by BEGIN IMMEDIATE; a table altered in
batch mode is rebuilt by copying its rows. Traced on a copy of the file (the backup API), deleted afterwards."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.engine import URL, Connection

from todo_data.trace.danger import whole_database_danger
from todo_data.trace.records import Lock, Recorder, Statement, fetch
from todo_data.trace.tracing import Tracing


class SqliteRecorder(Recorder):
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
        return {name for (name,) in fetch(dbapi_connection, "SELECT name FROM sqlite_master WHERE type = 'table'")}

    def start(self, dbapi_connection: Any) -> None:
        self._at_start = self._table_names(dbapi_connection)

    def prepare(self, dbapi_connection: Any, record: Statement, statement: str) -> str:
        self._before = self._table_names(dbapi_connection)
        return statement

    def observe(self, dbapi_connection: Any, record: Statement) -> None:
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
        if not self.outside_transaction or not re.match(r"^\s*(SELECT|WITH)\b", text, re.I):
            # The revision's BEGIN IMMEDIATE took the lock: a read in it holds it as long as a write does.
            # WAL: readers go on reading the last commit; a rollback journal makes them wait while the revision commits.
            blocks = ("writes",) if self.journal_mode == "wal" else ("reads", "writes")
            record.locks.append(Lock("database", "database", "", "WRITE LOCK", False, blocks=blocks))
            record.held_blocks = {"database": set(blocks)}
        index = re.match(r'^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+.*?\bON\s+"?(\w+)"?', text, re.I | re.S)
        if index and index.group(1) in self._at_start:
            record.scans.append(index.group(1))
        for name in record.tables:
            if name in after:
                record.traced_rows[name] = int(fetch(dbapi_connection, f'SELECT count(*) FROM "{name}"')[0][0])


def journal_mode(connection: Connection) -> str:
    """``wal``, ``delete``, ...: whether readers go on while a writer holds the lock."""
    return str(connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()).lower()


@contextlib.contextmanager
def copy(url: URL) -> Iterator[URL]:
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


class SqliteTracing(Tracing):
    """Traced on a copy of the file; every write waits for a whole revision, so that is what the danger rule says."""

    on_copy: ClassVar[bool] = True
    lint: ClassVar[bool] = False

    journal: str
    """The target's journal mode, read once by :meth:`read_target`."""

    def read_target(self, connection: Connection) -> None:
        self.journal = journal_mode(connection)

    def database(self, url: URL) -> contextlib.AbstractContextManager[URL]:
        return copy(url)

    def recorder(self, revision: str, lock_timeout: str) -> Recorder:
        return SqliteRecorder(revision, self.journal)

    def danger(self, record: Statement, rows: dict[str, int]) -> tuple[str, bool]:
        return whole_database_danger(record, rows)

    def blocks(self, record: Statement) -> set[str]:
        return set().union(*record.held_blocks.values()) if record.held_blocks else set()

    def notes(self) -> list[str]:
        return [
            "SQLite: each revision holds the database's write lock from BEGIN IMMEDIATE to COMMIT, so every write waits for the "
            + (
                "whole revision; readers continue (WAL mode)."
                if self.journal == "wal"
                else "whole revision, and readers wait while it commits."
            )
        ]
