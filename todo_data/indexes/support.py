"""``IndexSupport``: a backend's part in an index report, as ``Tracing`` is its part in a migration trace.

Each backend subclasses it in ``backends/<name>/indexes.py`` (reached by ``Backend.index_support``): how it reads
its catalogue and explains a query, how it writes a fix, and what it can do beyond that (generic plans, what-if).
The defaults are what a backend without the capability does: nothing, and no note.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from todo_data.indexes.catalog import Catalog, ForeignKey, Index

WHAT_IF_COLUMNS = ["query", "suggested_sql", "cost_before", "cost_after", "index_used"]
Target = tuple[str, str, dict[str, Any]]  # (query name, SQL, parameters): a lookup an index is meant to help


@dataclass(frozen=True)
class Suggestion:
    """One index to create: the canonical queries it is meant to help, and the foreign keys it would serve."""

    table: str
    columns: tuple[str, ...]
    targets: tuple[Target, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = field(default=())
    schema: str | None = None  # the table's schema, None for the connection's own


class IndexSupport(abc.ABC):
    """What one backend does for the index report; ``quote`` quotes an identifier for its SQL."""

    usage_counters: bool = False
    """Whether the database counts scans per index (PostgreSQL's pg_stat views), so unused indexes can be named."""

    statement_statistics: bool = False
    """Whether the database can keep statistics per statement (pg_stat_statements), so the report can have top queries."""

    hypothetical_indexes: bool = False
    """Whether the planner can cost an index that does not exist (HypoPG), so the report can have what-if costs."""

    without_primary_key: str = "duplicate rows cannot be prevented, and a row can be found again only by all its values."
    """What a table without a primary key costs here, for the no-primary-key finding's evidence."""

    def __init__(self, quote: Callable[[str], str]) -> None:
        self.quote = quote

    # --- reading ----------------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def read_catalog(self, connection: Connection) -> Catalog:
        """Indexes, foreign keys, tables and whatever usage counters the database keeps, with notes on them."""

    @abc.abstractmethod
    def explain(self, connection: Connection, sql: str, params: dict[str, Any], *, text: bool = True) -> dict[str, Any]:
        """A query's plan: ``plan`` (text, unless ``text`` is False), ``indexes_used``, ``full_scan``, ``temp_sort``, ``cost``."""

    def most_common(self, connection: Connection, table: str, column: str) -> Any:
        """The most common value of a column from the planner's statistics (no scan); None where there are none."""
        return None

    def generic_plan(
        self, connection: Connection, name: str, table: str, params: dict[str, Any], custom: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
        """The generic plan a prepared statement may switch to: (plan, a generic-plan-regression finding, a note).

        None, None, None where statements have no generic plans.
        """
        return None, None, None

    def what_if(self, connection: Connection, catalog: Catalog, suggestions: list[Suggestion]) -> tuple[pd.DataFrame | None, list[str]]:
        """Plan costs of each suggestion's targets without and with it (WHAT_IF_COLUMNS), and notes; (None, []) without a way."""
        return None, []

    # --- fixes, as SQL and as Alembic ops --------------------------------------------------------------------------

    @abc.abstractmethod
    def index_name(self, table: str, columns: tuple[str, ...]) -> str:
        """The name a suggested index gets (within the backend's identifier length); ``table`` as the catalogue names it."""

    @abc.abstractmethod
    def drop(self, index: Index) -> tuple[str | None, str | None]:
        """SQL and an Alembic op that drop an index or the constraint it enforces (None where none can)."""

    @abc.abstractmethod
    def create(self, name: str, table: str, columns: tuple[str, ...], schema: str | None = None) -> tuple[str, str]:
        """SQL and an Alembic op that create an index (``table`` as the catalogue names it, in ``schema``)."""

    @abc.abstractmethod
    def rebuild_index(self, index: Index) -> tuple[str, str]:
        """SQL that rebuilds a bloated index, and how its bloat was found (for the evidence)."""

    @abc.abstractmethod
    def rebuild_table(self, table: str, schema: str | None = None) -> tuple[str, str]:
        """SQL that returns a bloated table's space, and how its bloat was found and what the SQL costs."""

    def enable_autovacuum(self, table: str, schema: str | None = None) -> str | None:
        """The SQL that gives a table back to autovacuum; None where the database has no autovacuum."""
        return None

    def constraint_drop_note(self) -> str:
        """What dropping a constraint involves here, appended to duplicate-index evidence; empty where it is one statement."""
        return ""
