"""``index_report``: read the catalogue, plan the canonical queries, run every rule, and assemble one :class:`IndexReport`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy.engine import URL, Connection

from todo_data.backends import backend_for
from todo_data.chain import managed_tables
from todo_data.db import get_engine, resolve_url, translate_errors
from todo_data.indexes.plans import plan_queries
from todo_data.indexes.queries import canonical_parameters
from todo_data.indexes.rules import CHECKS, cache_hit_rates, suggestions
from todo_data.indexes.support import IndexSupport
from todo_data.inspect import UNMANAGED_LABEL
from todo_data.settings import mask_url

FINDING_COLUMNS = ["rule", "severity", "table", "index", "evidence", "suggested_sql", "alembic_op", "managed"]
SEVERITIES = ("high", "medium", "low", "info")
INDEX_COLUMNS = [
    "table",
    "index",
    "columns",
    "unique",
    "primary",
    "partial",
    "valid",
    "size_bytes",
    "scans",
    "bloat_bytes",
    "used_by",
    "definition",
    "managed",
]
TABLE_COLUMNS = [
    "table",
    "rows_estimate",
    "size_bytes",
    "total_bytes",
    "seq_scan",
    "idx_scan",
    "cache_hit",
    "dead_rows",
    "bloat_bytes",
    "managed",
]


@dataclass(frozen=True)
class IndexReport:
    """Index health of one database: findings most severe first, and the data behind them."""

    backend: str
    database: str
    findings: pd.DataFrame
    notes: list[str]
    stats_since: datetime | None
    indexes: pd.DataFrame
    tables: pd.DataFrame
    cache_hit: dict[str, float | None]
    top_queries: pd.DataFrame | None
    plans: pd.DataFrame
    what_if: pd.DataFrame | None
    unmanaged: tuple[str, ...] = ()  # the tables judged that todo_data does not manage (another application's)
    statement_statistics: bool = False  # whether this backend can have top queries (a section of its own)
    hypothetical_indexes: bool = False  # whether this backend can have what-if costs (a section of its own)

    def findings_for(self, *, managed: bool) -> pd.DataFrame:
        """The findings on todo_data's tables (with the database-wide ones), or on the tables it does not manage."""
        theirs = self.findings["managed"].map(lambda value: value is False).astype(bool)
        return self.findings[theirs if not managed else ~theirs]

    @property
    def unmanaged_note(self) -> str | None:
        """What the report says above the findings on tables todo_data does not manage (None: there are none)."""
        return unmanaged_note(list(self.unmanaged)) if self.unmanaged else None


def findings_frame(rows: list[dict]) -> pd.DataFrame:
    """Findings as a DataFrame with :data:`FINDING_COLUMNS`, most severe first (then by rule, table, index).

    ``managed``: whether the finding's table is one todo_data manages (None for database-wide findings).
    """
    for row in rows:
        if row.get("severity") not in SEVERITIES:
            raise ValueError(f"Unknown severity {row.get('severity')!r}: use one of {', '.join(SEVERITIES)}.")
    ordered = sorted(
        rows,
        key=lambda r: (SEVERITIES.index(r["severity"]), str(r.get("rule") or ""), str(r.get("table") or ""), str(r.get("index") or "")),
    )
    return pd.DataFrame([{column: row.get(column) for column in FINDING_COLUMNS} for row in ordered], columns=FINDING_COLUMNS, dtype=object)


def unmanaged_note(tables: list[str]) -> str:
    """Which tables the report judged that todo_data does not manage, and where their fixes belong."""
    return (
        f"These tables are in the database but {UNMANAGED_LABEL} (another application's; managed = False in the Indexes and "
        f"Tables sections): {', '.join(tables)}. Their findings are for their owners: the fixes belong in that "
        "application's migrations, so each gives the SQL but no Alembic op, and todo_data's migrations and db check leave "
        "these tables alone."
    )


def absent_sections_note(support: IndexSupport) -> str | None:
    """Which sections this backend's report leaves out, because they come from extensions it cannot have (None: none)."""
    absent = [
        section
        for section, possible in (
            ("top queries (pg_stat_statements)", support.statement_statistics),
            ("what-if indexes (HypoPG)", support.hypothetical_indexes),
        )
        if not possible
    ]
    if not absent:
        return None
    many = len(absent) > 1
    return (
        f"The {'sections' if many else 'section'} on {' and '.join(absent)} {'are' if many else 'is'} left out: "
        f"{'they apply' if many else 'it applies'} to PostgreSQL only."
    )


def _mark(findings: list[dict], owned: frozenset[str]) -> list[dict]:
    """Each finding with ``managed``; a table todo_data does not manage gets no Alembic op (its migrations are another's)."""
    marked = []
    for found in findings:
        managed = None if found.get("table") is None else found["table"] in owned
        marked.append({**found, "managed": managed, **({"alembic_op": None} if managed is False else {})})
    return marked


def standby_note(standby: str) -> str:
    """What a standby's usage counters mean: only the queries run on it, so an index's fate is judged on the primary too."""
    return (
        f"This database is {standby}: its usage counters (scans, cache hits, top queries) are the standby's own, counting only "
        "the queries run on it; the primary's are on the primary. Judge an index unused there too, and run any suggested SQL on "
        "the primary."
    )


@contextlib.contextmanager
def read_only_connection(url: URL) -> Iterator[Connection]:
    """The report's one connection: from the read-only engine, in one transaction that is always rolled back."""
    with get_engine(url, read_only=True).connect() as connection:
        try:
            yield connection
        finally:
            if connection.in_transaction():
                connection.rollback()


def index_report(database_url: str | URL | None = None, *, canonical_user_id: str | None = None) -> IndexReport:
    """Read the database's indexes, usage and plans, and list what to drop, create or rebuild (nothing is changed)."""
    url = resolve_url(database_url)
    backend = backend_for(url)
    owned = managed_tables()
    with translate_errors(url), read_only_connection(url) as connection:
        support = backend.index_support(connection.dialect)
        catalog = support.read_catalog(connection)
        standby = backend.standby_reason(connection) if support.usage_counters else None
        params = canonical_parameters(connection, user_id=canonical_user_id)
        plans = plan_queries(connection, support, params, {t["table"] for t in catalog.tables})
        findings = _mark([found for rule in CHECKS for found in rule(catalog, plans, support)], owned)
        what_if, what_if_notes = support.what_if(connection, catalog, suggestions(catalog, plans))
    used_by: dict[str, list[str]] = {}
    for plan in plans.frame.itertuples():
        for name in plan.indexes_used:
            used_by.setdefault(name, []).append(plan.query)
    unmanaged = [t["table"] for t in catalog.tables if t["table"] not in owned]
    index_rows = [
        {
            "table": i.table,
            "index": i.name,
            "columns": i.display_columns(),
            "unique": i.unique,
            "primary": i.primary,
            "partial": i.predicate,
            "valid": i.valid,
            "size_bytes": i.size_bytes,
            "scans": i.scans,
            "bloat_bytes": i.bloat_bytes,
            "used_by": used_by.get(i.name, []) if i.schema is None else [],
            "definition": i.definition,
            "managed": i.table in owned,
        }
        for i in sorted(catalog.indexes, key=lambda i: (i.table, i.name))
    ]
    return IndexReport(
        backend=backend.name,
        database=mask_url(url),
        findings=findings_frame(findings),
        notes=[
            *catalog.notes,
            *([standby_note(standby)] if standby else []),
            *plans.notes,
            *what_if_notes,
            *filter(None, [absent_sections_note(support)]),
        ],
        stats_since=catalog.stats.since if catalog.stats else None,
        indexes=pd.DataFrame(index_rows, columns=INDEX_COLUMNS),
        tables=pd.DataFrame([{**t, "managed": t["table"] in owned} for t in catalog.tables], columns=TABLE_COLUMNS),
        cache_hit=cache_hit_rates(catalog),
        top_queries=catalog.top_queries,
        plans=plans.frame,
        what_if=what_if,
        unmanaged=tuple(unmanaged),
        statement_statistics=support.statement_statistics,
        hypothetical_indexes=support.hypothetical_indexes,
    )
