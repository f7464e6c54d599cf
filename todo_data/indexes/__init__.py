"""Index health on PostgreSQL and SQLite: findings in one shape, each with its evidence and the fix as SQL and as an Alembic op.

PostgreSQL checks follow PgHero (unused, duplicate, invalid indexes, tables read by sequential scans, bloat, cache
hit rates, pg_stat_statements) and add foreign keys without an index, plans of the application's canonical
queries (also the generic plans prepared statements may switch to) and HypoPG what-if costs. SQLite keeps no usage
counters, so its report rests on the catalog and on ``EXPLAIN QUERY PLAN`` over the same canonical queries.
Everything is read through a read-only connection.

The package: ``queries`` (the canonical queries), ``catalog`` (what is read, as data), ``support`` (a backend's
part, implemented in ``backends/<name>/indexes.py``), ``plans`` (EXPLAIN of the canonical queries), ``rules`` (the
rules, functions from a catalogue to findings, registered in ``CHECKS``) and ``report`` (``index_report``).
"""

from todo_data.backends.sqlite.plans import sqlite_plan_shape
from todo_data.indexes.catalog import TOP_QUERY_COLUMNS, Catalog, ForeignKey, Index, StatsWindow
from todo_data.indexes.plans import PLAN_COLUMNS, Plans
from todo_data.indexes.queries import CANONICAL_INDEXES, CANONICAL_QUERIES, MARKER, ServingIndex, canonical_parameters
from todo_data.indexes.report import (
    FINDING_COLUMNS,
    INDEX_COLUMNS,
    SEVERITIES,
    TABLE_COLUMNS,
    IndexReport,
    findings_frame,
    index_report,
    read_only_connection,
)
from todo_data.indexes.rules import (
    BLOAT_MEDIUM_BYTES,
    BLOAT_MIN_BYTES,
    BLOAT_MIN_RATIO,
    CACHE_HIT_MIN,
    CACHE_MIN_BLOCKS,
    CHECKS,
    RULES,
    SEQ_SCAN_MAX_INDEX_SHARE,
    SEQ_SCAN_MIN_ROWS,
    UNUSED_MIN_WINDOW,
)
from todo_data.indexes.support import WHAT_IF_COLUMNS, IndexSupport, Suggestion

__all__ = [
    "BLOAT_MEDIUM_BYTES",
    "BLOAT_MIN_BYTES",
    "BLOAT_MIN_RATIO",
    "CACHE_HIT_MIN",
    "CACHE_MIN_BLOCKS",
    "CANONICAL_INDEXES",
    "CANONICAL_QUERIES",
    "CHECKS",
    "FINDING_COLUMNS",
    "INDEX_COLUMNS",
    "MARKER",
    "PLAN_COLUMNS",
    "RULES",
    "SEQ_SCAN_MAX_INDEX_SHARE",
    "SEQ_SCAN_MIN_ROWS",
    "SEVERITIES",
    "TABLE_COLUMNS",
    "TOP_QUERY_COLUMNS",
    "UNUSED_MIN_WINDOW",
    "WHAT_IF_COLUMNS",
    "Catalog",
    "ForeignKey",
    "Index",
    "IndexReport",
    "IndexSupport",
    "Plans",
    "ServingIndex",
    "StatsWindow",
    "Suggestion",
    "canonical_parameters",
    "findings_frame",
    "index_report",
    "read_only_connection",
    "sqlite_plan_shape",
]
