"""The bulk load target each backend implements: one connection, one transaction, Arrow batches in.

``todo_data.sample`` drives it (generate, drop what slows a load, copy, restore, finish, commit); a backend's
``load`` module says how (COPY BINARY through ADBC on PostgreSQL; ADBC's bulk ingest in a child process on SQLite).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import URL


class LoadTarget(abc.ABC):
    """One database through one connection and one transaction: what a sample load does to it."""

    def __init__(self, url: URL, tables: tuple[str, ...]) -> None:
        self.url = url
        self.tables = tables  # in load order

    def __enter__(self) -> Self:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.rollback()  # nothing left to undo after a commit
        finally:
            self.close()

    @abc.abstractmethod
    def open(self) -> None:
        """Connect, begin, and take the locks that keep a second loader out."""

    @abc.abstractmethod
    def close(self) -> None:
        """Give the connection back as it was found (safe on a half-open target)."""

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def execute(self, statement: str) -> list[tuple[Any, ...]]:
        """Run one statement; its rows, if it returns any."""

    @abc.abstractmethod
    def copy(self, table: str, rows: pa.RecordBatchReader) -> None:
        """Append Arrow batches to a table."""

    @abc.abstractmethod
    def drop_secondary(self) -> list[str]:
        """Drop what a bulk load is faster without; returns the statements that restore it, in order."""

    @abc.abstractmethod
    def finish(self) -> None:
        """Work after the rows are in and the indexes back (sequences, planner statistics)."""

    def tables_holding_rows(self) -> list[str]:
        return [table for table in self.tables if self.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")[0][0]]

    def email_tag_used(self, tag: str) -> bool:
        return bool(self.execute(f"SELECT EXISTS (SELECT 1 FROM users WHERE email LIKE '%{tag}%')")[0][0])

    def max_ids(self) -> tuple[int, int]:
        row = self.execute("SELECT (SELECT coalesce(max(id), 0) FROM task), (SELECT coalesce(max(id), 0) FROM task_relationships)")[0]
        return int(row[0]), int(row[1])
