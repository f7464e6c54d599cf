"""The data impact's reads of the target: reflection once per table, and one statement per question, each giving the
count and up to five example primary keys together (``count(*) OVER ()`` beside the keys), inside the backend's
read-only measuring transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from todo_data.backends import Backend

EXAMPLES = 5
TRIALS = 1000  # distinct candidate values a column's trial casts at most; past that the count is an upper bound


@dataclass(frozen=True)
class Measured:
    """How many rows answer a question, and the primary keys of the first few (in key order)."""

    count: int
    examples: tuple[Any, ...]
    groups: int | None = None  # duplicate groups, where the question is about duplicates
    upper_bound: bool = False  # not every candidate could be tried: at most ``count`` rows


class NotMeasured(Exception):
    """A read that could not be made (a timeout, a table the database does not have): one line for the finding."""


class Reader:
    """Reads of one database inside one read-only transaction; reflection is cached per table."""

    def __init__(self, connection: Connection, backend: Backend) -> None:
        self.connection = connection
        self.backend = backend
        self._inspector = sa.inspect(connection)
        self._tables = set(self._inspector.get_table_names())
        self._columns: dict[str, dict[str, dict[str, Any]]] = {}
        self._keys: dict[str, list[str]] = {}
        self._rows: dict[str, int] = {}
        self._clauses: dict[str, sa.TableClause] = {}

    # --- the schema as it stands ------------------------------------------------------------------------------------

    def has_table(self, table: str | None) -> bool:
        return table is not None and table in self._tables

    def columns(self, table: str) -> dict[str, dict[str, Any]]:
        """The table's columns as reflection gives them, by name (empty for a table the database does not have)."""
        if table not in self._columns:
            found = self._inspector.get_columns(table) if self.has_table(table) else []
            self._columns[table] = {column["name"]: column for column in found}
        return self._columns[table]

    def has_column(self, table: str | None, column: str | None) -> bool:
        return table is not None and column is not None and column in self.columns(table)

    def key(self, table: str) -> list[str]:
        """The primary key's columns (none for a table without one: its findings give no examples)."""
        if table not in self._keys:
            self._keys[table] = list(self._inspector.get_pk_constraint(table).get("constrained_columns") or [])
        return self._keys[table]

    def table(self, table: str) -> sa.TableClause:
        """A lightweight table of every reflected column, to build a question's predicate from (one object per table)."""
        if table not in self._clauses:
            self._clauses[table] = sa.table(table, *(sa.column(name) for name in self.columns(table)))
        return self._clauses[table]

    # --- questions -------------------------------------------------------------------------------------------------

    def rows(self, table: str) -> int:
        if table not in self._rows:
            self._rows[table] = int(self._scalar(sa.select(sa.func.count()).select_from(sa.table(table))))
        return self._rows[table]

    def matching(self, table: str, predicate: Any) -> Measured:
        """Rows of ``table`` for which ``predicate`` holds: their count and the first example keys, in one statement."""
        source = self.table(table)
        key = [source.c[name] for name in self.key(table)]
        if not key:
            return Measured(int(self._scalar(sa.select(sa.func.count()).select_from(source).where(predicate))), ())
        query = sa.select(*key, sa.func.count().over()).select_from(source).where(predicate).order_by(*key).limit(EXAMPLES)
        found = self._all(query)
        return Measured(int(found[0][-1]) if found else 0, tuple(_key(row[:-1]) for row in found))

    def duplicates(self, table: str, columns: list[str]) -> Measured:
        """Rows sharing their values of ``columns`` with another row (NULLs never collide): rows, groups, first keys."""
        source = self.table(table)
        picked = [source.c[name] for name in columns]
        groups = (
            sa.select(*picked, sa.func.count().label("n"))
            .where(*(column.is_not(None) for column in picked))
            .group_by(*picked)
            .having(sa.func.count() > 1)
            .cte("duplicate_groups")
        )
        totals = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(groups.c.n), 0)).select_from(groups)
        group_count, row_count = self._all(totals)[0]
        if not group_count:
            return Measured(0, (), 0)
        key = [source.c[name] for name in self.key(table)]
        examples: tuple[Any, ...] = ()
        if key:
            joined = source.join(groups, sa.and_(*(source.c[name] == groups.c[name] for name in columns)))
            examples = tuple(_key(row) for row in self._all(sa.select(*key).select_from(joined).order_by(*key).limit(EXAMPLES)))
        return Measured(int(row_count), examples, int(group_count))

    def orphans(self, table: str, columns: list[str], parent: str, parent_columns: list[str]) -> Measured:
        """Rows of ``table`` whose ``columns`` (all set) match no row of ``parent``."""
        child = self.table(table)
        referred = sa.table(parent, *(sa.column(name) for name in parent_columns)).alias("parent")
        match = sa.exists().where(*(referred.c[p] == child.c[c] for c, p in zip(columns, parent_columns, strict=True)))
        return self.matching(table, sa.and_(*(child.c[name].is_not(None) for name in columns), ~match))

    def refused(self, table: str, column: str, candidates: Any, trial: Callable[[Connection, list[Any]], list[Any]]) -> Measured:
        """Rows whose value ``trial`` refuses, among the rows ``candidates`` selects: the distinct candidate values read in
        one pass (at most :data:`TRIALS` of them tried), then, only when some are refused, their rows counted."""
        value = self.table(table).c[column]
        distinct = (
            sa.select(value, sa.func.count().over()).where(value.is_not(None), candidates).group_by(value).order_by(value).limit(TRIALS)
        )
        found = self._all(distinct)
        if not found:
            return Measured(0, ())
        tried = [row[0] for row in found]
        try:
            refused = trial(self.connection, tried)
        except sa.exc.DBAPIError as exc:
            raise NotMeasured(_error_line(exc)) from None
        untried = int(found[0][-1]) > len(tried)
        if not refused and not untried:
            return Measured(0, ())
        predicate = value.in_(refused) if refused else sa.false()
        if untried:
            predicate = sa.or_(predicate, sa.and_(value.is_not(None), candidates, value.not_in(tried)))
        measured = self.matching(table, predicate)
        return dataclasses.replace(measured, upper_bound=untried and measured.count > 0)

    # --- execution -------------------------------------------------------------------------------------------------

    def _all(self, query: Any) -> list[Any]:
        try:
            with self.connection.begin_nested():
                return list(self.connection.execute(query).all())
        except sa.exc.DBAPIError as exc:
            raise NotMeasured(_error_line(exc)) from None

    def _scalar(self, query: Any) -> Any:
        return self._all(query)[0][0]


def _key(values: Any) -> Any:
    values = tuple(values)
    return values[0] if len(values) == 1 else values


def _error_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
