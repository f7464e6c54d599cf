"""Index health on PostgreSQL and SQLite: findings in one shape, each with its evidence and the fix as SQL and as an Alembic op.

PostgreSQL checks follow PgHero (unused, duplicate, invalid indexes, tables read by sequential scans, bloat, cache
hit rates, pg_stat_statements) and add foreign keys without an index, plans of the application's canonical
queries (also the generic plans prepared statements may switch to) and HypoPG what-if costs. SQLite keeps no usage counters, so its report rests on the catalog and on
``EXPLAIN QUERY PLAN`` over the same canonical queries. Everything is read through a read-only connection.

On PostgreSQL the suggested SQL uses CONCURRENTLY, and the Alembic ops ``postgresql_concurrently=True``: in a
migration such an op must run inside ``with op.get_context().autocommit_block():``.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import TextClause

from todo_data.db import get_engine, resolve_url, translate_errors
from todo_data.errors import ConfigurationError
from todo_data.inspect import IGNORED_TABLES
from todo_data.settings import backend_of, mask_url

T = TypeVar("T")

FINDING_COLUMNS = ["rule", "severity", "table", "index", "evidence", "suggested_sql", "alembic_op"]
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
]
TABLE_COLUMNS = ["table", "rows_estimate", "size_bytes", "total_bytes", "seq_scan", "idx_scan", "cache_hit", "dead_rows", "bloat_bytes"]
TOP_QUERY_COLUMNS = ["query", "calls", "total_ms", "mean_ms", "rows"]
PLAN_COLUMNS = [
    "query",
    "sql",
    "parameters",
    "plan",
    "indexes_used",
    "full_scan",
    "temp_sort",
    "cost",
    # PostgreSQL, queries with parameters: the generic plan a prepared statement may switch to (None elsewhere)
    "generic_plan",
    "generic_indexes_used",
    "generic_full_scan",
    "generic_temp_sort",
    "generic_cost",
]
WHAT_IF_COLUMNS = ["query", "suggested_sql", "cost_before", "cost_after", "index_used"]

RULES = {
    "invalid-index": "An index a failed CREATE INDEX CONCURRENTLY left behind: writes maintain it, no query can use it.",
    "duplicate-index": "Two indexes with the same columns, order and predicate: one of them is pure write cost.",
    "redundant-prefix-index": "A non-unique index whose columns lead another index with the same predicate.",
    "fk-without-index": "A foreign key with no index led by its columns: deleting or updating a parent row scans the child table.",
    "unused-index": "No scans in a statistics window of a week or more (unique and primary-key indexes are exempt).",
    "too-young-to-judge": "No scans, but the statistics cover too little of the index's life to call it unused: "
    "the window is under a week, or of unknown length, or the index was built during it.",
    "seq-scan-heavy": "A table of 10,000+ rows read mostly by sequential scans (PgHero's missing-index check).",
    "index-bloat": "An index with much more space than its rows need (estimated on PostgreSQL, measured on SQLite).",
    "table-bloat": "A table with much more space than its rows need (estimated on PostgreSQL, measured on SQLite).",
    "low-cache-hit": "Under 99% of table or index block reads were served from shared buffers.",
    "full-scan": "A canonical query reads its whole table because the index that serves it is missing.",
    "temp-sort": "A canonical query sorts its rows because no index delivers them in order.",
    "generic-plan-regression": "Prepared, a canonical query's generic plan scans the whole table or sorts, which its custom plan avoids.",
}

MARKER = "/* todo_data.indexes */"  # leads every statement the report sends, so top_queries can leave them out
UNUSED_MIN_WINDOW = timedelta(days=7)  # PgHero's advice: reset the statistics and wait a week or two before judging
SEQ_SCAN_MIN_ROWS = 10_000  # PgHero's missing_indexes thresholds
SEQ_SCAN_MAX_INDEX_SHARE = 0.95
CACHE_HIT_MIN = 0.99
CACHE_MIN_BLOCKS = 1_000
BLOAT_MIN_BYTES = 1 << 20
BLOAT_MIN_RATIO = 0.5  # B-trees filled by random inserts settle near 70%: only flag clearly worse
BLOAT_MEDIUM_BYTES = 100 << 20  # PgHero's index_bloat_bytes default
TOP_QUERIES_LIMIT = 20
PG_NAME_MAX = 63
SSD_RANDOM_PAGE_COST = 1.1  # the usual setting for SSD storage (PostgreSQL's default of 4 prices spinning disks)

CANONICAL_QUERIES: dict[str, TextClause] = {
    "user_newest_tasks": sa.text("SELECT * FROM task WHERE user_id = :user_id ORDER BY created_at DESC LIMIT 50"),
    "user_open_tasks": sa.text("SELECT * FROM task WHERE user_id = :user_id AND completed = false ORDER BY created_at DESC LIMIT 50"),
    "counts_by_status": sa.text("SELECT completed, count(*) AS tasks FROM task GROUP BY completed"),
    "newest_overall": sa.text("SELECT * FROM task ORDER BY created_at DESC LIMIT 50"),
    "task_dependencies": sa.text("SELECT child_task_id FROM task_relationships WHERE parent_task_id = :task_id"),
}


@dataclass(frozen=True)
class ServingIndex:
    """The index shape that answers a canonical query without a full scan or a sort: equality columns, then order."""

    table: str
    equality: tuple[str, ...] = ()
    order: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.equality + self.order


CANONICAL_INDEXES: dict[str, ServingIndex] = {
    "user_newest_tasks": ServingIndex("task", ("user_id",), ("created_at",)),
    "user_open_tasks": ServingIndex("task", ("user_id", "completed"), ("created_at",)),
    "counts_by_status": ServingIndex("task", (), ("completed",)),
    "newest_overall": ServingIndex("task", (), ("created_at",)),
    "task_dependencies": ServingIndex("task_relationships", ("parent_task_id",)),
}


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


def findings_frame(rows: list[dict]) -> pd.DataFrame:
    """Findings as a DataFrame with :data:`FINDING_COLUMNS`, most severe first (then by rule, table, index)."""
    for row in rows:
        if row.get("severity") not in SEVERITIES:
            raise ValueError(f"Unknown severity {row.get('severity')!r}: use one of {', '.join(SEVERITIES)}.")
    ordered = sorted(
        rows,
        key=lambda r: (SEVERITIES.index(r["severity"]), str(r.get("rule") or ""), str(r.get("table") or ""), str(r.get("index") or "")),
    )
    return pd.DataFrame([{column: row.get(column) for column in FINDING_COLUMNS} for row in ordered], columns=FINDING_COLUMNS, dtype=object)


# --- catalog shapes shared by both backends ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    table: str
    name: str
    keys: tuple[str, ...]  # column name, or expression text
    plain: tuple[bool, ...]  # True where the key is a plain column
    # Per key: PostgreSQL's indoption bits (1 DESC, 2 NULLS FIRST). SQLite's ASC is 0 and DESC 3, so on both
    # backends flipping both bits (XOR 3) is the order a backward scan gives.
    directions: tuple[int, ...]
    extras: tuple[Any, ...]  # per key: operator class and collation, compared as they are
    include: tuple[str, ...]
    method: str
    unique: bool
    primary: bool
    constraint: str | None  # the name of the PRIMARY KEY / UNIQUE / EXCLUDE constraint this index enforces
    constraint_kind: str | None  # "primary", "unique" or "exclude" when it enforces one (named or not)
    predicate: str | None
    valid: bool
    definition: str
    size_bytes: int | None = None
    scans: int | None = None
    bloat_bytes: int | None = None
    creating: bool = False
    blocks: int | None = None  # block reads and hits in the statistics window (scans and upkeep)
    table_writes: int | None = None  # rows its table inserted or updated other than HOT in the window: each touches the index

    @property
    def signature(self) -> tuple[tuple[Any, ...], ...]:
        return tuple(zip(self.keys, self.directions, self.extras, strict=True))

    @property
    def keep_rank(self) -> int:
        """Which of two equal indexes to keep: the primary key, then a constraint's, then a unique one."""
        return 3 if self.primary else 2 if self.constraint_kind else 1 if self.unique else 0

    @property
    def keep_key(self) -> tuple[int, int]:
        """Rank, then scans: of two equal plain indexes keep the one the planner uses (ties: the first name)."""
        return (self.keep_rank, self.scans or 0)

    def display_columns(self) -> str:
        parts = []
        for key, plain, direction in zip(self.keys, self.plain, self.directions, strict=True):
            text = key if plain or key.startswith("(") else f"({key})"
            # PostgreSQL's defaults: ASC NULLS LAST (0) and DESC NULLS FIRST (3); only other combinations are spelled out.
            parts.append(text + {0: "", 1: " DESC NULLS LAST", 2: " NULLS FIRST", 3: " DESC"}[direction & 3])
        text = ", ".join(parts)
        return f"{text} INCLUDE ({', '.join(self.include)})" if self.include else text


@dataclass(frozen=True)
class _ForeignKey:
    name: str | None
    table: str
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass
class _Suggestion:
    """One index to create, and the queries it is meant to help (each: name, SQL, parameters)."""

    table: str
    columns: tuple[str, ...]
    targets: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def name(self, backend: str) -> str:
        name = f"ix_{self.table}_{'_'.join(self.columns)}"
        return name[:PG_NAME_MAX] if backend == "postgresql" else name


@dataclass
class _Context:
    """What the checks share while one report is built."""

    backend: str
    quote: Callable[[str], str]
    indexes: list[_Index]
    foreign_keys: list[_ForeignKey]
    stats_since: datetime | None = None
    now: datetime | None = None
    stats_floor: datetime | None = None  # never reset: the oldest vacuum/analyze time the counters hold, so the window began before
    rows: dict[str, int | None] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    suggestions: list[_Suggestion] = field(default_factory=list)
    keepers: set[str] = field(default_factory=set)  # the copies a duplicate-index finding says to keep

    def add(self, rule: str, severity: str, table: str | None, index: str | None, evidence: str, sql: str | None, op: str | None) -> None:
        self.findings.append(
            {
                "rule": rule,
                "severity": severity,
                "table": table,
                "index": index,
                "evidence": evidence,
                "suggested_sql": sql,
                "alembic_op": op,
            }
        )

    def on(self, table: str) -> list[_Index]:
        return [index for index in self.indexes if index.table == table]


def _sql(statement: str) -> TextClause:
    return sa.text(f"{MARKER} {statement}")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _attempt(connection: Connection, action: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run ``action`` inside a savepoint: a failure (missing view, privilege) is returned, and the transaction lives on."""
    savepoint = connection.begin_nested()
    try:
        result = action()
    except DBAPIError as exc:
        savepoint.rollback()
        return None, _first_line(exc)
    savepoint.commit()
    return result, None


def _size(n: int | None) -> str:
    if n is None:
        return "unknown size"
    if n < 1024:
        return f"{n} bytes"
    value = n / 1024
    for unit in ("kB", "MB", "GB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def _duration(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3_600:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 86_400:
        return f"{seconds // 3_600} h {seconds % 3_600 // 60} min"
    hours = seconds % 86_400 // 3_600
    return f"{seconds // 86_400} d {hours} h" if hours else f"{seconds // 86_400} d"


def _window(context: _Context) -> str:
    if context.stats_since is None:
        return "since statistics began (never reset in this database)"
    span = f" ({_duration(context.now - context.stats_since)})" if context.now else ""
    return f"since {context.stats_since.isoformat(timespec='seconds')}{span}"


# --- fixes as SQL and as Alembic ops -----------------------------------------------------------------------------


def _drop_fix(context: _Context, index: _Index) -> tuple[str | None, str | None]:
    q = context.quote
    if index.constraint_kind:
        kind = index.constraint_kind
        if not index.constraint:  # an unnamed constraint (SQLite): only a table rebuild without it removes it
            return None, None
        if context.backend == "sqlite":
            return (
                None,
                f'with op.batch_alter_table("{index.table}") as batch_op: batch_op.drop_constraint("{index.constraint}", type_="{kind}")',
            )
        return f"ALTER TABLE {q(index.table)} DROP CONSTRAINT {q(index.constraint)};", (
            f'op.drop_constraint("{index.constraint}", "{index.table}", type_="{kind}")'
        )
    if context.backend == "postgresql":
        return (
            f"DROP INDEX CONCURRENTLY {q(index.name)};",
            f'op.drop_index("{index.name}", table_name="{index.table}", postgresql_concurrently=True)',
        )
    return f"DROP INDEX {q(index.name)};", f'op.drop_index("{index.name}", table_name="{index.table}")'


def _create_fix(context: _Context, suggestion: _Suggestion) -> tuple[str, str]:
    q = context.quote
    name = suggestion.name(context.backend)
    columns = ", ".join(q(c) for c in suggestion.columns)
    listed = ", ".join(f'"{c}"' for c in suggestion.columns)
    if context.backend == "postgresql":
        return (
            f"CREATE INDEX CONCURRENTLY {q(name)} ON {q(suggestion.table)} ({columns});",
            f'op.create_index("{name}", "{suggestion.table}", [{listed}], postgresql_concurrently=True)',
        )
    return f"CREATE INDEX {q(name)} ON {q(suggestion.table)} ({columns});", f'op.create_index("{name}", "{suggestion.table}", [{listed}])'


def _suggest(
    context: _Context, table: str, columns: tuple[str, ...], target: tuple[str, str, dict[str, Any]] | None, *, leading_ok: bool = False
) -> _Suggestion:
    """One suggestion per index; with ``leading_ok`` (a foreign key), a suggested index led by ``columns`` is reused."""
    for suggestion in context.suggestions:
        same = suggestion.columns == columns
        leads = leading_ok and set(suggestion.columns[: len(columns)]) == set(columns)
        if suggestion.table == table and (same or leads):
            if target:
                suggestion.targets.append(target)
            return suggestion
    suggestion = _Suggestion(table, columns, [target] if target else [])
    context.suggestions.append(suggestion)
    return suggestion


# --- checks that read only the catalog (both backends) ----------------------------------------------------------


def _same_scope(a: _Index, b: _Index) -> bool:
    return a.table == b.table and a.method == b.method and a.predicate == b.predicate and a.valid and b.valid


def _covers_include(a: _Index, b: _Index) -> bool:
    return set(a.include) <= set(b.keys) | set(b.include)


def _flip(signature: tuple[tuple[Any, ...], ...]) -> tuple[tuple[Any, ...], ...]:
    return tuple((key, direction ^ 3, extra) for key, direction, extra in signature)


def _check_redundant(context: _Context) -> None:
    """Duplicate and prefix-redundant indexes, aware of uniqueness, predicates, expressions, order and INCLUDE columns."""
    for a in context.indexes:
        if not a.valid or a.primary:
            continue
        peers = [b for b in context.on(a.table) if b.name != a.name and _same_scope(a, b) and _covers_include(a, b)]
        # A copy in the opposite order is a duplicate too: a backward scan gives that order (errata 27).
        same = [b for b in peers if b.signature in (a.signature, _flip(a.signature))]
        duplicates = [b for b in same if (b.keep_key, a.name) > (a.keep_key, b.name)]
        if duplicates:
            keeper = min(duplicates, key=lambda b: (-b.keep_key[0], -b.keep_key[1], b.name))
            context.keepers.add(keeper.name)
            sql, op = _drop_fix(context, a)
            evidence = (
                f"{a.name} ({a.display_columns()}) duplicates {keeper.name} ({keeper.display_columns()}"
                f"{', ' + _kind(keeper) if keeper.keep_rank else ''}): every write maintains both, and any query can use {keeper.name}"
            )
            if a.constraint_kind and context.backend == "sqlite":
                evidence += "; SQLite drops a constraint only by rebuilding the table (Alembic batch mode)"
            context.add("duplicate-index", "medium", a.table, a.name, evidence + ".", sql, op)
            continue
        if a.unique or a.method != "btree":
            continue  # a unique index enforces something a longer one does not
        covering = [
            b for b in peers if len(b.keys) > len(a.keys) and a.signature in (b.signature[: len(a.keys)], _flip(b.signature[: len(a.keys)]))
        ]
        if covering:
            keeper = min(covering, key=lambda b: (len(b.keys), b.name))
            sql, op = _drop_fix(context, a)
            context.add(
                "redundant-prefix-index",
                "low",
                a.table,
                a.name,
                f"{a.name} ({a.display_columns()}) is the leading part of {keeper.name} ({keeper.display_columns()}), "
                f"which serves the same lookups and orderings; dropping {a.name} saves {_size(a.size_bytes)} and its write cost.",
                sql,
                op,
            )


def _kind(index: _Index) -> str:
    if index.primary:
        return "PRIMARY KEY"
    if index.constraint_kind:
        return f"{index.constraint_kind.upper()} constraint{' ' + index.constraint if index.constraint else ''}"
    return "UNIQUE"


def _leading(index: _Index, columns: tuple[str, ...]) -> bool:
    """Whether ``index`` can look rows up by equality on all of ``columns`` (in any order) from its first keys."""
    n = len(columns)
    usable = index.valid and index.predicate is None and index.method in ("btree", "hash")
    return usable and len(index.keys) >= n and all(index.plain[:n]) and set(index.keys[:n]) == set(columns)


def _serves(index: _Index, serving: ServingIndex) -> bool:
    """Whether ``index`` answers a query filtering on ``serving.equality`` and ordered by ``serving.order``."""
    if not _leading(index, serving.equality) or index.method != "btree":
        return False
    n = len(serving.equality)
    order = index.keys[n : n + len(serving.order)]
    return order == serving.order and all(index.plain[n : n + len(serving.order)])


def _check_foreign_keys(context: _Context, connection: Connection, rowid_tables: dict[str, str]) -> None:
    for fk in context.foreign_keys:
        if any(_leading(index, fk.columns) for index in context.on(fk.table)):
            continue
        if fk.columns == (rowid_tables.get(fk.table),):
            continue  # SQLite: an INTEGER PRIMARY KEY is the table's own B-tree key
        target = _fk_target(connection, context, fk)
        suggestion = _suggest(context, fk.table, fk.columns, target, leading_ok=True)
        sql, op = _create_fix(context, suggestion)
        rows = context.rows.get(fk.table)
        evidence = (
            f"Foreign key {fk.name + ' ' if fk.name else ''}{fk.table}({', '.join(fk.columns)}) -> {fk.referred_table}"
            f"({', '.join(fk.referred_columns)}) has no index led by its columns: each delete or key update in "
            f"{fk.referred_table} scans {fk.table}{f' ({rows:,} rows)' if rows is not None else ''}."
        )
        if suggestion.columns != fk.columns:
            evidence += f" {suggestion.name(context.backend)}, suggested for a canonical query, leads with them and covers it."
        context.add("fk-without-index", "medium", fk.table, suggestion.name(context.backend), evidence, sql, op)


def _fk_target(connection: Connection, context: _Context, fk: _ForeignKey) -> tuple[str, str, dict[str, Any]] | None:
    """The lookup a parent delete runs against the child table, with a real key value, for the what-if."""
    if context.backend != "postgresql":
        return None
    q = context.quote
    columns = ", ".join(q(c) for c in fk.columns)
    row = connection.execute(_sql(f"SELECT {columns} FROM {q(fk.table)} LIMIT 1")).first()
    if row is None:
        return None
    where = " AND ".join(f"{q(c)} = :v{i}" for i, c in enumerate(fk.columns))
    return f"fk:{fk.table}({', '.join(fk.columns)})", f"SELECT 1 FROM {q(fk.table)} WHERE {where}", {f"v{i}": v for i, v in enumerate(row)}


def _check_bloat(context: _Context, tables: list[dict[str, Any]]) -> None:
    q = context.quote
    for index in context.indexes:
        if not _bloated(index.bloat_bytes, index.size_bytes):
            continue
        how = "measured free space in its pages (dbstat)" if context.backend == "sqlite" else "estimated from row count and column widths"
        sql = f"REINDEX INDEX CONCURRENTLY {q(index.name)};" if context.backend == "postgresql" else f"REINDEX {q(index.name)};"
        context.add(
            "index-bloat",
            "medium" if (index.bloat_bytes or 0) >= BLOAT_MEDIUM_BYTES else "low",
            index.table,
            index.name,
            f"{index.name} takes {_size(index.size_bytes)}, of which about {_size(index.bloat_bytes)} is wasted ({how}); a rebuild returns it.",
            sql,
            None,
        )
    for table in tables:
        if not _bloated(table["bloat_bytes"], table["size_bytes"]):
            continue
        if context.backend == "postgresql":
            sql = f"VACUUM (FULL, ANALYZE) {q(table['table'])};"
            how = "estimated from row count and column widths; VACUUM FULL rewrites the table under an exclusive lock (pg_repack does it online)"
        else:
            sql, how = "VACUUM;", "measured free space in its pages (dbstat); VACUUM rebuilds the whole database file"
        context.add(
            "table-bloat",
            "medium" if table["bloat_bytes"] >= BLOAT_MEDIUM_BYTES else "low",
            table["table"],
            None,
            f"{table['table']} takes {_size(table['size_bytes'])}, of which about {_size(table['bloat_bytes'])} is wasted ({how}).",
            sql,
            None,
        )


def _bloated(bloat: int | None, size: int | None) -> bool:
    return bool(bloat and size and bloat >= BLOAT_MIN_BYTES and bloat / size >= BLOAT_MIN_RATIO)


# --- canonical queries and their plans --------------------------------------------------------------------------


def canonical_parameters(connection: Connection, *, user_id: str | None = None) -> dict[str, Any]:
    """Realistic parameters for :data:`CANONICAL_QUERIES`: the user with most tasks and the task with most dependencies."""
    names = set(sa.inspect(connection).get_table_names())
    params: dict[str, Any] = {"user_id": user_id, "task_id": None}
    postgres = connection.dialect.name == "postgresql"
    if user_id is None and "task" in names:
        # On PostgreSQL the planner's statistics name the most common user without reading the table, and without
        # adding scans to the usage counters this report is about; the aggregate is the fallback before ANALYZE.
        if postgres:
            params["user_id"] = _most_common(connection, "task", "user_id")
        if params["user_id"] is None:
            params["user_id"] = connection.execute(
                _sql("SELECT user_id FROM task GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1")
            ).scalar()
    if "task_relationships" in names:
        if postgres:
            value = _most_common(connection, "task_relationships", "parent_task_id")
            params["task_id"] = int(value) if value is not None else None
        if params["task_id"] is None:
            params["task_id"] = connection.execute(
                _sql("SELECT parent_task_id FROM task_relationships GROUP BY parent_task_id ORDER BY count(*) DESC, parent_task_id LIMIT 1")
            ).scalar()
    if params["task_id"] is None and "task" in names:
        params["task_id"] = connection.execute(_sql("SELECT max(id) FROM task")).scalar()
    params["user_id"] = params["user_id"] if params["user_id"] is not None else ""
    params["task_id"] = params["task_id"] if params["task_id"] is not None else 0
    return params


def _most_common(connection: Connection, table: str, column: str) -> str | None:
    return connection.execute(
        _sql(
            "SELECT (most_common_vals::text::text[])[1] FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = :table AND attname = :column AND NOT inherited"
        ),
        {"table": table, "column": column},
    ).scalar()


def _query_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return {key: params[key] for key in CANONICAL_QUERIES[name].compile().params}


def _sqlite_plan(connection: Connection, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    # The plan is fixed when the statement is prepared, and pysqlite caches prepared statements per connection:
    # a unique comment makes SQLite plan afresh, so a pooled connection cannot show a plan from before a DDL change.
    rows = connection.execute(_sql(f"/* {uuid.uuid4().hex} */ EXPLAIN QUERY PLAN {sql}"), params).all()
    return sqlite_plan_shape(rows)


def sqlite_plan_shape(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """``EXPLAIN QUERY PLAN`` rows as indented text, the indexes used, and whether the table is scanned or rows sorted."""
    depth: dict[int, int] = {}
    lines, used, full_scan, temp_sort = [], [], False, False
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
        match = re.search(r"USING (?:COVERING )?INDEX (\S+)", detail)
        if match and "AUTOMATIC" not in detail and match.group(1) not in used:
            used.append(match.group(1))
        if re.fullmatch(r"SCAN (?:TABLE )?\S+(?: AS \S+)?", detail) or "AUTOMATIC" in detail:
            full_scan = True
        temp_sort = temp_sort or detail.startswith("USE TEMP B-TREE")
    return {"plan": "\n".join(lines), "indexes_used": used, "full_scan": full_scan, "temp_sort": temp_sort, "cost": None}


def _pg_plan(connection: Connection, sql: str, params: dict[str, Any], *, text: bool = True) -> dict[str, Any]:
    return _pg_explain(lambda options: connection.execute(_sql(f"EXPLAIN {options}{sql}"), params), text=text)


def _pg_explain(explain: Callable[[str], Any], *, text: bool = True) -> dict[str, Any]:
    """Indexes used, full scans, sorts and total cost of one plan; ``explain`` runs EXPLAIN with the options it is given."""
    document = explain("(FORMAT JSON) ").scalar_one()
    if isinstance(document, str):
        document = json.loads(document)
    root = document[0]["Plan"]
    used: list[str] = []
    full_scan = temp_sort = False
    stack = [root]
    while stack:
        node = stack.pop(0)
        name = node.get("Index Name")
        if name and name not in used:
            used.append(name)
        full_scan = full_scan or node.get("Node Type") == "Seq Scan"
        temp_sort = temp_sort or node.get("Node Type") in ("Sort", "Incremental Sort")
        stack.extend(node.get("Plans", []))
    plan = "\n".join(explain("").scalars()) if text else ""
    return {"plan": plan, "indexes_used": used, "full_scan": full_scan, "temp_sort": temp_sort, "cost": float(root["Total Cost"])}


_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")  # a named parameter in CANONICAL_QUERIES' SQL
_NO_PARAMETERS = {"no_parameters": True}  # the driver gets the text as it is: a '%' in a quoted value stays a '%'


def _pg_generic_plan(
    connection: Connection, sql: str, params: dict[str, Any], settings: dict[str, str] | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """The generic plan of ``sql``: the one a prepared statement may switch to, planned without its parameters' values.

    PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN) (16 has), so the statement is prepared under a unique name and
    explained with EXECUTE under plan_cache_mode = force_generic_plan, set locally in a savepoint. A prepared
    statement outlives a rollback: the savepoint's rollback undoes the settings, DEALLOCATE removes the statement,
    and neither is left on the pooled connection. ``settings``: planner settings for this plan only.
    Returns (plan, None), or (None, the error) where the server refuses (plan_cache_mode needs PostgreSQL 12).
    """
    names = list(dict.fromkeys(_PARAMETER.findall(sql)))
    body = _PARAMETER.sub(lambda match: f"${names.index(match.group(1)) + 1}", sql)
    # EXECUTE's arguments cannot be bind parameters: the server quotes each value, and EXECUTE casts it to the parameter's type.
    values = [connection.execute(_sql("SELECT quote_nullable(CAST(:value AS text))"), {"value": params[n]}).scalar_one() for n in names]
    statement = f"todo_data_generic_{uuid.uuid4().hex[:16]}"
    execute = f"EXECUTE {statement}({', '.join(values)})" if values else f"EXECUTE {statement}"
    savepoint = connection.begin_nested()
    prepared = False
    try:
        connection.exec_driver_sql(f"{MARKER} PREPARE {statement} AS {body}", execution_options=_NO_PARAMETERS)
        prepared = True
        for name, value in {"plan_cache_mode": "force_generic_plan", **(settings or {})}.items():
            connection.exec_driver_sql(f"{MARKER} SET LOCAL {name} = {value}")
        plan = _pg_explain(
            lambda options: connection.exec_driver_sql(f"{MARKER} EXPLAIN {options}{execute}", execution_options=_NO_PARAMETERS)
        )
        return plan, None
    except DBAPIError as exc:
        return None, _first_line(exc)
    finally:
        savepoint.rollback()
        if prepared:
            connection.exec_driver_sql(f"{MARKER} DEALLOCATE {statement}")


def _key_nodes(plan: str) -> str:
    """A plan's nodes with their costs and row estimates on one line, conditions and widths left out."""
    nodes = (line.strip().removeprefix("->").strip() for line in plan.splitlines() if "(cost=" in line)
    return " / ".join(re.sub(r"\s+", " ", re.sub(r" width=\d+", "", node)) for node in nodes)


def _generic_columns(generic: dict[str, Any] | None) -> dict[str, Any]:
    keys = ("plan", "indexes_used", "full_scan", "temp_sort", "cost")
    return {f"generic_{key}": generic[key] if generic else None for key in keys}


def _check_generic_plan(
    connection: Connection, context: _Context, name: str, table: str, params: dict[str, Any], custom: dict[str, Any]
) -> dict[str, Any] | None:
    """Explain a parameterised query's generic plan, and add a finding where it scans or sorts and the custom plan does not."""
    sql = CANONICAL_QUERIES[name].text
    generic, error = _pg_generic_plan(connection, sql, params)
    if generic is None:
        if error and not any(note.startswith("Generic plans") for note in context.notes):
            context.notes.append(f"Generic plans of the canonical queries could not be explained: {error}")
        return None
    lost = [s for s, key in (("reads the whole table", "full_scan"), ("sorts its rows", "temp_sort")) if generic[key] and not custom[key]]
    if not lost:
        return generic
    row = connection.execute(
        _sql(
            "SELECT current_setting('random_page_cost')::float8 AS random_page_cost, current_setting('plan_cache_mode') AS plan_cache_mode, "
            "current_setting('cpu_operator_cost')::float8 AS cpu_operator_cost, current_database() AS database, current_user AS role, "
            "(SELECT source FROM pg_settings WHERE name = 'random_page_cost') AS source"
        )
    ).one()
    q = context.quote
    # plan_cache_mode = auto uses the generic plan when it costs less than the average custom plan plus the custom
    # plan's planning charge, 1000 * cpu_operator_cost * (relations + 1) (plancache.c); each canonical query reads one table.
    planning = 1000 * row.cpu_operator_cost * 2
    cheaper = generic["cost"] < custom["cost"] + planning
    costs = f"{generic['cost']:.2f} against {custom['cost']:.2f} (+ {planning:.2f} for planning)"
    evidence = (
        f"{name} ({sql}), prepared, gets a generic plan that {' and '.join(lost)}, which its custom plan avoids. "
        f"Custom plan, for the parameters in plans: {_key_nodes(custom['plan'])}. "
        f"Generic plan, for an average value: {_key_nodes(generic['plan'])}. "
    )
    if cheaper:
        evidence += (
            f"Estimated at {costs}, the generic plan looks cheaper, so under "
            "plan_cache_mode = auto PostgreSQL switches to it after a prepared statement's first five executions (psycopg "
            "prepares a statement once it has run prepare_threshold = 5 times, asyncpg prepares every statement). "
        )
    else:
        evidence += (
            f"Estimated at {costs} for these parameters, it is used under plan_cache_mode = auto once the average "
            "custom plan of the values the application passes costs more. "
        )
    fixes = []
    if row.random_page_cost > SSD_RANDOM_PAGE_COST:
        ssd, _error = _pg_generic_plan(connection, sql, params, {"random_page_cost": str(SSD_RANDOM_PAGE_COST)})
        ssd_ok = ssd is not None and not any(ssd[key] and not custom[key] for key in ("full_scan", "temp_sort"))
        evidence += f"random_page_cost is {row.random_page_cost:g} ({row.source}); "
        if ssd is None:
            evidence += f"the generic plan with {SSD_RANDOM_PAGE_COST} could not be explained."
        elif ssd_ok:
            evidence += f"with {SSD_RANDOM_PAGE_COST}, the usual value for SSD storage, the generic plan is: {_key_nodes(ssd['plan'])}."
            fixes += [
                "-- On SSD storage: random reads priced near sequential ones (new connections pick it up)",
                f"ALTER DATABASE {q(row.database)} SET random_page_cost = {SSD_RANDOM_PAGE_COST};",
            ]
        else:
            evidence += f"with {SSD_RANDOM_PAGE_COST} the generic plan still {' and '.join(lost)}, so only plan_cache_mode helps."
    else:
        evidence += f"random_page_cost is already {row.random_page_cost:g} ({row.source}), so only plan_cache_mode helps."
    fixes += [
        f"-- {'Or: plan' if fixes else 'Plan'} every execution for its values, for the role the application connects as (here {row.role})",
        f"ALTER ROLE {q(row.role)} IN DATABASE {q(row.database)} SET plan_cache_mode = force_custom_plan;",
    ]
    severity = "medium" if cheaper else "low"
    if row.plan_cache_mode == "force_generic_plan":
        evidence += f" This connection has plan_cache_mode = force_generic_plan (role {row.role}): its prepared statements always use it."
        severity = "medium"
    elif row.plan_cache_mode == "force_custom_plan":
        evidence += (
            f" This connection has plan_cache_mode = force_custom_plan (role {row.role}), so its prepared statements never use the "
            "generic plan; connections of other roles may."
        )
        severity, fixes = "info", []
    index = custom["indexes_used"][0] if custom["indexes_used"] else None
    context.add("generic-plan-regression", severity, table, index, evidence.strip(), "\n".join(fixes) or None, None)
    return generic


def _plans(connection: Connection, context: _Context, params: dict[str, Any], tables: set[str]) -> pd.DataFrame:
    rows = []
    explain = _pg_plan if context.backend == "postgresql" else _sqlite_plan
    for name, statement in CANONICAL_QUERIES.items():
        serving = CANONICAL_INDEXES[name]
        if serving.table not in tables:
            context.notes.append(f"Canonical query {name} skipped: table {serving.table} does not exist (is the database at head?).")
            continue
        bound = _query_params(name, params)
        plan = explain(connection, statement.text, bound)
        generic = None
        if context.backend == "postgresql" and bound:
            generic = _check_generic_plan(connection, context, name, serving.table, bound, plan)
        rows.append({"query": name, "sql": statement.text, "parameters": bound, **plan, **_generic_columns(generic)})
        served = any(_serves(index, serving) for index in context.on(serving.table))
        if served or not (plan["full_scan"] or plan["temp_sort"]):
            continue
        suggestion = _suggest(context, serving.table, serving.columns, (name, statement.text, bound))
        sql, op = _create_fix(context, suggestion)
        rule = "full-scan" if plan["full_scan"] else "temp-sort"
        steps = " and ".join(s for s, on in (("reads the whole table", plan["full_scan"]), ("sorts its rows", plan["temp_sort"])) if on)
        context.add(
            rule,
            "medium" if rule == "full-scan" else "low",
            serving.table,
            suggestion.name(context.backend),
            f"{name} ({statement.text}) {steps}: no valid index on {serving.table} leads with "
            f"{', '.join(serving.columns)}. Plan: {' / '.join(line.strip() for line in plan['plan'].splitlines()[:4])}",
            sql,
            op,
        )
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


# --- SQLite -------------------------------------------------------------------------------------------------------


def _split_terms(body: str) -> list[str]:
    terms, depth, current, quote = [], 0, "", ""
    for char in body:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`[":
            quote = "]" if char == "[" else char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            terms.append(current.strip())
            current = ""
            continue
        current += char
    return [*terms, current.strip()] if current.strip() else terms


def _parse_sqlite_index(sql: str) -> tuple[list[str], str | None]:
    """The key terms and the WHERE predicate of a ``CREATE INDEX`` statement as SQLite stored it."""
    start = re.search(r"\bON\s+(?:\"[^\"]+\"|`[^`]+`|\[[^\]]+\]|\S+?)\s*\(", sql, re.IGNORECASE)
    if not start:
        return [], None
    depth, end = 1, start.end()
    while end < len(sql) and depth:
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        end += 1
    terms = [re.sub(r"(?i)\s+(COLLATE\s+\S+|ASC|DESC)\s*$", "", t).strip() for t in _split_terms(sql[start.end() : end - 1])]
    where = re.search(r"(?is)\bWHERE\b(.*)$", sql[end:])
    return terms, where.group(1).strip() if where else None


def _sqlite_sizes(connection: Connection) -> dict[str, tuple[int, int]]:
    """(bytes, unused bytes) per table and index from the dbstat table, where SQLite was built with it."""
    for statement in (
        "SELECT name, pgsize, unused FROM dbstat WHERE aggregate = TRUE",
        "SELECT name, sum(pgsize), sum(unused) FROM dbstat GROUP BY name",
    ):
        with contextlib.suppress(DBAPIError):
            return {str(n): (int(s), int(u)) for n, s, u in connection.execute(_sql(statement)).all()}
    return {}


def _sqlite_catalog(connection: Connection, context: _Context) -> tuple[list[dict[str, Any]], dict[str, str]]:
    q = context.quote
    names = [
        str(n)
        for n in connection.execute(
            _sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        ).scalars()
        if n not in IGNORED_TABLES
    ]
    sizes = _sqlite_sizes(connection)
    stored_sql = dict(connection.execute(_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
    inspector = sa.inspect(connection)
    tables, rowid_tables = [], {}
    for table in names:
        with warnings.catch_warnings():  # expression indexes are read below from PRAGMA index_xinfo and their SQL
            warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
            uniques = {tuple(u["column_names"]): u.get("name") for u in inspector.get_unique_constraints(table)}
            named_fks = {tuple(fk["constrained_columns"]): fk.get("name") for fk in inspector.get_foreign_keys(table)}
        pk = inspector.get_pk_constraint(table)
        columns = connection.exec_driver_sql(f"PRAGMA table_info({q(table)})").all()
        pk_columns = [c[1] for c in columns if c[5]]
        if len(pk_columns) == 1 and next(c[2] for c in columns if c[1] == pk_columns[0]).upper() == "INTEGER":
            rowid_tables[table] = pk_columns[0]
        index_bytes = 0
        for _seq, name, unique, origin, _partial in connection.exec_driver_sql(f"PRAGMA index_list({q(table)})").all():
            keys = [r for r in connection.exec_driver_sql(f"PRAGMA index_xinfo({q(name)})").all() if r[5]]
            terms, predicate = _parse_sqlite_index(stored_sql.get(name) or "")
            key_names, plain = [], []
            for position, (_seqno, cid, column, _desc, _coll, _key) in enumerate(keys):
                if cid == -2:
                    key_names.append(terms[position] if position < len(terms) else f"<expression {position + 1} of {name}>")
                    plain.append(False)
                else:
                    key_names.append(column if cid != -1 else "rowid")
                    plain.append(cid != -1)
            kind = {"u": "unique", "pk": "primary"}.get(origin)
            constraint = uniques.get(tuple(key_names)) if origin == "u" else (pk.get("name") if origin == "pk" else None)
            size, unused = sizes.get(name, (None, None))
            index_bytes += size or 0
            context.indexes.append(
                _Index(
                    table=table,
                    name=str(name),
                    keys=tuple(key_names),
                    plain=tuple(plain),
                    directions=tuple(3 if r[3] else 0 for r in keys),
                    extras=tuple(str(r[4]).upper() for r in keys),
                    include=(),
                    method="btree",
                    unique=bool(unique),
                    primary=origin == "pk",
                    constraint=constraint,
                    constraint_kind=kind,
                    predicate=predicate,
                    valid=True,
                    definition=stored_sql.get(name) or f"{'PRIMARY KEY' if origin == 'pk' else 'UNIQUE'} ({', '.join(key_names)})",
                    size_bytes=size,
                    bloat_bytes=unused,
                )
            )
        fks: dict[int, list[Any]] = {}
        for row in connection.exec_driver_sql(f"PRAGMA foreign_key_list({q(table)})").all():
            fks.setdefault(row[0], []).append(row)
        for rows in fks.values():
            rows.sort(key=lambda r: r[1])
            local = tuple(r[3] for r in rows)
            context.foreign_keys.append(_ForeignKey(named_fks.get(local), table, local, rows[0][2], tuple(r[4] or "rowid" for r in rows)))
        count = int(connection.execute(_sql(f"SELECT count(*) FROM {q(table)}")).scalar_one())
        context.rows[table] = count
        size, unused = sizes.get(table, (None, None))
        tables.append(
            {
                "table": table,
                "rows_estimate": count,
                "size_bytes": size,
                "total_bytes": size + index_bytes if size is not None else None,
                "seq_scan": None,
                "idx_scan": None,
                "cache_hit": None,
                "dead_rows": None,
                "bloat_bytes": unused,
            }
        )
    free = connection.exec_driver_sql("PRAGMA freelist_count").scalar_one() * connection.exec_driver_sql("PRAGMA page_size").scalar_one()
    if free >= BLOAT_MIN_BYTES:
        context.notes.append(f"The database file holds {_size(free)} of free pages: VACUUM; returns them to the file system.")
    return tables, rowid_tables


# --- PostgreSQL ---------------------------------------------------------------------------------------------------

_PG_INDEXES = """
SELECT t.relname AS table_name, ix.relname AS index_name, am.amname AS method,
       i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS is_valid, i.indnkeyatts AS key_count,
       ARRAY(
           SELECT coalesce(a.attname::text, pg_get_indexdef(i.indexrelid, k.n::int, true))
           FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
           LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
           ORDER BY k.n
       ) AS column_names,
       i.indkey::int2[] AS attnums, i.indoption::int2[] AS options,
       i.indclass::oid[] AS opclasses, i.indcollation::oid[] AS collations,
       pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
       pg_get_indexdef(i.indexrelid) AS definition,
       pg_relation_size(i.indexrelid) AS size_bytes,
       s.idx_scan AS scans,
       coalesce(io.idx_blks_hit, 0) + coalesce(io.idx_blks_read, 0) AS blocks,
       ts.n_tup_ins + ts.n_tup_upd - ts.n_tup_hot_upd AS table_writes,
       con.conname AS constraint_name, con.contype::text AS constraint_type
FROM pg_index i
JOIN pg_class ix ON ix.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ix.relam
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
LEFT JOIN pg_statio_user_indexes io ON io.indexrelid = i.indexrelid
LEFT JOIN pg_stat_user_tables ts ON ts.relid = i.indrelid
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p', 'm')
ORDER BY t.relname, ix.relname
"""

_PG_TABLES = """
SELECT c.relname AS table_name,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE s.n_live_tup END AS rows_estimate,
       pg_relation_size(c.oid) AS size_bytes, pg_total_relation_size(c.oid) AS total_bytes,
       s.seq_scan, s.seq_tup_read, s.idx_scan, s.n_dead_tup AS dead_rows,
       io.heap_blks_hit, io.heap_blks_read,
       (s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL) AS analyzed
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
LEFT JOIN pg_statio_user_tables io ON io.relid = c.oid
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""

_PG_FOREIGN_KEYS = """
SELECT c.conname, t.relname AS table_name, rt.relname AS referred_table,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns,
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.n) AS referred_columns
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class rt ON rt.oid = c.confrelid
WHERE c.contype = 'f' AND n.nspname = current_schema()
ORDER BY t.relname, c.conname
"""

# Widths per index and per table from the planner's statistics (pg_stats), for the bloat estimates below.
_PG_INDEX_WIDTHS = """
SELECT ix.relname AS index_name, ix.relpages, ix.reltuples,
       coalesce(substring(array_to_string(ix.reloptions, ',') FROM 'fillfactor=([0-9]+)')::int, 90) AS fillfactor,
       count(*) AS attributes, count(s.attname) AS attributes_with_stats,
       sum((1 - coalesce(s.null_frac, 0)) * s.avg_width) AS data_width,
       bool_or(coalesce(s.null_frac, 0) > 0) AS has_nulls
FROM pg_index i
JOIN pg_class ix ON ix.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ix.relam AND am.amname = 'btree'
CROSS JOIN LATERAL unnest(i.indkey::int2[]) AS k(attnum)
LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname AND NOT s.inherited
WHERE n.nspname = current_schema()
GROUP BY ix.relname, ix.relpages, ix.reltuples, ix.reloptions
"""

_PG_TABLE_WIDTHS = """
SELECT t.relname AS table_name, t.relpages, t.reltuples,
       coalesce(substring(array_to_string(t.reloptions, ',') FROM 'fillfactor=([0-9]+)')::int, 100) AS fillfactor,
       count(*) AS attributes, count(s.attname) AS attributes_with_stats,
       sum((1 - coalesce(s.null_frac, 0)) * s.avg_width) AS data_width,
       bool_or(coalesce(s.null_frac, 0) > 0) AS has_nulls
FROM pg_class t
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname AND NOT s.inherited
WHERE n.nspname = current_schema() AND t.relkind = 'r'
GROUP BY t.relname, t.relpages, t.reltuples, t.reloptions
"""


def _align(n: float, to: int = 8) -> int:
    return int(math.ceil(n / to) * to)


def _pg_bloat(connection: Connection, block_size: int) -> tuple[dict[str, int], dict[str, int]]:
    """Estimated wasted bytes per B-tree index and per table: pages held minus pages the rows need.

    The model is the one PgHero's index_bloat and ioguix's bloat queries use: rows (reltuples) times the tuple
    size from pg_stats' average widths, with page headers, alignment (8 bytes) and fillfactor. Relations without
    statistics (never analyzed, expression columns) get no estimate. B-tree deduplication (PG 13+) makes real
    indexes smaller than this model, so it errs towards reporting too little.
    """
    indexes, tables = {}, {}
    for row in connection.execute(_sql(_PG_INDEX_WIDTHS)).mappings():
        if row["attributes_with_stats"] < row["attributes"] or row["reltuples"] < 0 or not row["relpages"]:
            continue
        tuple_bytes = _align((16 if row["has_nulls"] else 8) + float(row["data_width"] or 0)) + 4  # IndexTuple + line pointer
        usable = (block_size - 24 - 16) * row["fillfactor"] / 100  # page header, B-tree special space
        needed = math.ceil(row["reltuples"] * tuple_bytes / usable) + 1  # + the metapage
        indexes[row["index_name"]] = max(row["relpages"] - needed, 0) * block_size
    for row in connection.execute(_sql(_PG_TABLE_WIDTHS)).mappings():
        if row["attributes_with_stats"] < row["attributes"] or row["reltuples"] < 0 or not row["relpages"]:
            continue
        header = 23 + (math.ceil(row["attributes"] / 8) if row["has_nulls"] else 0)
        tuple_bytes = _align(header) + _align(float(row["data_width"] or 0)) + 4
        usable = (block_size - 24) * row["fillfactor"] / 100
        needed = math.ceil(row["reltuples"] * tuple_bytes / usable)
        tables[row["table_name"]] = max(row["relpages"] - needed, 0) * block_size
    return indexes, tables


def _pg_catalog(connection: Connection, context: _Context) -> list[dict[str, Any]]:
    block_size = int(connection.execute(_sql("SELECT current_setting('block_size')")).scalar_one())
    index_bloat, table_bloat = _pg_bloat(connection, block_size)
    creating, _ = _attempt(
        connection, lambda: set(connection.execute(_sql("SELECT index_relid::regclass::text FROM pg_stat_progress_create_index")).scalars())
    )
    for row in connection.execute(_sql(_PG_INDEXES)).mappings():
        if row["table_name"] in IGNORED_TABLES:
            continue
        key_count = row["key_count"]
        names = list(row["column_names"])
        context.indexes.append(
            _Index(
                table=row["table_name"],
                name=row["index_name"],
                keys=tuple(names[:key_count]),
                plain=tuple(a != 0 for a in row["attnums"][:key_count]),
                directions=tuple(row["options"][:key_count]),
                extras=tuple(zip(row["opclasses"][:key_count], row["collations"][:key_count], strict=True)),
                include=tuple(names[key_count:]),
                method=row["method"],
                unique=row["is_unique"],
                primary=row["is_primary"],
                constraint=row["constraint_name"],
                constraint_kind={"p": "primary", "u": "unique", "x": "exclude"}.get(row["constraint_type"] or ""),
                predicate=row["predicate"],
                valid=row["is_valid"],
                definition=row["definition"],
                size_bytes=int(row["size_bytes"]),
                scans=None if row["scans"] is None else int(row["scans"]),
                bloat_bytes=index_bloat.get(row["index_name"]),
                creating=row["index_name"] in (creating or set()),
                blocks=None if row["scans"] is None else int(row["blocks"]),
                table_writes=None if row["table_writes"] is None else int(row["table_writes"]),
            )
        )
    for row in connection.execute(_sql(_PG_FOREIGN_KEYS)).mappings():
        if row["table_name"] in IGNORED_TABLES:
            continue
        context.foreign_keys.append(
            _ForeignKey(row["conname"], row["table_name"], tuple(row["columns"]), row["referred_table"], tuple(row["referred_columns"]))
        )
    tables, unanalyzed = [], []
    for row in connection.execute(_sql(_PG_TABLES)).mappings():
        if row["table_name"] in IGNORED_TABLES:
            continue
        hit, read = row["heap_blks_hit"], row["heap_blks_read"]
        rows = None if row["rows_estimate"] is None else int(row["rows_estimate"])
        context.rows[row["table_name"]] = rows
        if not row["analyzed"] and rows:
            unanalyzed.append(row["table_name"])
        tables.append(
            {
                "table": row["table_name"],
                "rows_estimate": rows,
                "size_bytes": int(row["size_bytes"]),
                "total_bytes": int(row["total_bytes"]),
                "seq_scan": row["seq_scan"],
                "idx_scan": row["idx_scan"],
                "cache_hit": hit / (hit + read) if hit is not None and read is not None and hit + read else None,
                "dead_rows": row["dead_rows"],
                "bloat_bytes": table_bloat.get(row["table_name"]),
                "seq_tup_read": row["seq_tup_read"],
            }
        )
    if unanalyzed:
        context.notes.append(
            f"Never analyzed: {', '.join(unanalyzed)}. Row estimates, plans and bloat estimates are rough until "
            f"ANALYZE runs (autovacuum does it in time; or run ANALYZE;)."
        )
    return tables


_PG_STATS_FLOOR = """
SELECT least(min(last_vacuum), min(last_autovacuum), min(last_analyze), min(last_autoanalyze)) FROM pg_stat_all_tables
"""


def _pg_stats_window(connection: Connection, context: _Context) -> None:
    """When the usage counters began: pg_stat_database.stats_reset, or, never reset, no later than the oldest timestamp they hold.

    A database whose statistics were never reset does not record when they began (its creation, or the last crash);
    the vacuum and analyze times the counters keep are a lower bound on the window's length.
    """
    since, now = connection.execute(_sql("SELECT stats_reset, now() FROM pg_stat_database WHERE datname = current_database()")).one()
    context.stats_since, context.now = since, now
    if since is None:
        context.stats_floor = connection.execute(_sql(_PG_STATS_FLOOR)).scalar()
    context.notes.append(
        f"Usage counters (scans, cache hits) count {_window(context)}; pg_stat_reset() starts a new window. "
        f"An index is called unused only after a window of {_duration(UNUSED_MIN_WINDOW)} or more that it lived through. "
        "Scans on replicas are counted on the replicas, not here."
    )


def _window_length(context: _Context) -> tuple[timedelta | None, bool]:
    """How long the usage counters have counted, and whether that is exact (False: at least that long; None: unknown)."""
    if context.now is None:
        return None, False
    if context.stats_since is not None:
        return context.now - context.stats_since, True
    return (context.now - context.stats_floor if context.stats_floor is not None else None), False


def _too_young(context: _Context, index: _Index) -> str | None:
    """Why 0 scans do not show that ``index`` is unused (the verdict first), or None when they do.

    Knowable on a stock server: the window's length (above), and for a B-tree without a predicate whether it lived
    through the window's writes, since every row its table inserts, or updates other than HOT, reads at least one of
    its blocks. When the index saw fewer block accesses than that, it was built during the window (a migration, say).
    """
    length, exact = _window_length(context)
    again = f"read this report again after {_duration(UNUSED_MIN_WINDOW)} of normal use"
    if length is None:
        return (
            "Statistics window of unknown length, too short to judge: 0 scans since statistics began, and this database does "
            "not record when that was (never reset, no vacuum or analyze time yet), so it may be minutes. "
            f"Reset the statistics (SELECT pg_stat_reset();) and {again}."
        )
    if length < UNUSED_MIN_WINDOW and exact:
        since = context.stats_since.isoformat(timespec="seconds") if context.stats_since else ""
        return (
            f"Statistics window of {_duration(length)}, too short to judge: 0 scans since the reset at {since}; "
            f"read this report again after {_duration(UNUSED_MIN_WINDOW - length)} more of normal use."
        )
    if length < UNUSED_MIN_WINDOW:
        return (
            f"Statistics window of unknown length, too short to judge: 0 scans since statistics began (never reset); the oldest "
            f"vacuum or analyze time they hold is only {_duration(length)} old. Reset the statistics (SELECT pg_stat_reset();) "
            f"and {again}."
        )
    if (
        index.method == "btree"
        and index.predicate is None
        and index.blocks is not None
        and index.table_writes is not None
        and index.blocks < index.table_writes
    ):
        return (
            f"Too young to judge: built during the statistics window ({_window(context)}), so its 0 scans cover an unknown, "
            f"maybe short, time. Its table wrote {index.table_writes:,} rows into its indexes in the window, and this index saw "
            f"{index.blocks:,} block accesses, fewer than one per row; {again} with it."
        )
    return None


def _check_pg_usage(context: _Context, tables: list[dict[str, Any]]) -> None:
    fk_sole = {
        next(i.name for i in context.on(fk.table) if _leading(i, fk.columns))
        for fk in context.foreign_keys
        if sum(_leading(i, fk.columns) for i in context.on(fk.table)) == 1
    }
    for index in context.indexes:
        if index.creating:
            context.add(
                "invalid-index",
                "info",
                index.table,
                index.name,
                f"{index.name} is being built right now (CREATE INDEX CONCURRENTLY).",
                None,
                None,
            )
            continue
        if not index.valid:
            sql, op = _drop_fix(context, index)
            context.add(
                "invalid-index",
                "high",
                index.table,
                index.name,
                f"{index.name} is invalid (pg_index.indisvalid = false), left by a failed CREATE INDEX CONCURRENTLY or REINDEX: "
                f"writes still maintain it{' and it still rejects duplicates' if index.unique else ''}, no query uses it. "
                f"Drop it, fix the cause (for a unique index: duplicate rows), then create it again: {index.definition}",
                sql,
                op,
            )
            continue
        if index.unique or index.primary or index.scans is None or index.scans > 0:
            continue
        if index.name in context.keepers:
            continue  # its copies are to be dropped first; advising to drop this one too would leave none
        young = _too_young(context, index)
        if young is not None:
            context.add("too-young-to-judge", "info", index.table, index.name, young, None, None)
            continue
        window = _window(context)
        if index.name in fk_sole:
            context.add(
                "unused-index",
                "info",
                index.table,
                index.name,
                f"{index.name}: 0 scans {window}, but it is the only index serving a foreign key: keep it if parent rows are deleted or updated.",
                None,
                None,
            )
            continue
        sql, op = _drop_fix(context, index)
        context.add(
            "unused-index",
            "medium",
            index.table,
            index.name,
            f"{index.name} ({index.display_columns()}, {_size(index.size_bytes)}): 0 scans {window}.",
            sql,
            op,
        )
    for table in tables:
        rows, seq, idx = table["rows_estimate"] or 0, table["seq_scan"] or 0, table["idx_scan"] or 0
        if rows >= SEQ_SCAN_MIN_ROWS and seq and idx / (seq + idx) < SEQ_SCAN_MAX_INDEX_SHARE:
            context.add(
                "seq-scan-heavy",
                "medium",
                table["table"],
                None,
                f"{table['table']} (~{rows:,} rows): {seq:,} sequential scans read {table['seq_tup_read'] or 0:,} rows, against "
                f"{idx:,} index scans ({idx / (seq + idx):.0%} by index) {_window(context)}. Find the statements in top_queries "
                "(pg_stat_statements) and index what they filter on.",
                None,
                None,
            )


def _pg_cache_hit(connection: Connection, context: _Context) -> dict[str, float | None]:
    rates: dict[str, float | None] = {}
    for kind, statement in (
        ("table", "SELECT sum(heap_blks_hit), sum(heap_blks_read) FROM pg_statio_user_tables"),
        ("index", "SELECT sum(idx_blks_hit), sum(idx_blks_read) FROM pg_statio_user_indexes"),
    ):
        hit, read = (int(v or 0) for v in connection.execute(_sql(statement)).one())
        rates[kind] = hit / (hit + read) if hit + read else None
        if hit + read >= CACHE_MIN_BLOCKS and rates[kind] < CACHE_HIT_MIN:
            context.add(
                "low-cache-hit",
                "medium",
                None,
                None,
                f"{kind.capitalize()} cache hit rate {rates[kind]:.1%} ({hit:,} hits, {read:,} reads {_window(context)}); PgHero's "
                "guideline is above 99%: the working set does not fit in shared_buffers (more memory, or less to read).",
                None,
                None,
            )
    return rates


def _extensions(connection: Connection) -> dict[str, tuple[str, str]]:
    rows = connection.execute(
        _sql(
            "SELECT e.extname, e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname IN ('pg_stat_statements', 'hypopg')"
        )
    ).all()
    return {name: (version, schema) for name, version, schema in rows}


def _top_queries(connection: Connection, context: _Context, extensions: dict[str, tuple[str, str]]) -> pd.DataFrame | None:
    preloaded = "pg_stat_statements" in str(connection.execute(_sql("SELECT current_setting('shared_preload_libraries')")).scalar())
    if "pg_stat_statements" not in extensions:
        how = "CREATE EXTENSION pg_stat_statements;" + (
            "" if preloaded else " It also needs shared_preload_libraries = 'pg_stat_statements' in postgresql.conf and a restart."
        )
        context.notes.append(f"pg_stat_statements is not installed in this database, so there are no top queries: {how}")
        return None
    version, schema = extensions["pg_stat_statements"]
    exec_time = "total_exec_time" if tuple(int(p) for p in version.split(".")[:2]) >= (1, 8) else "total_time"
    statement = _sql(
        f"SELECT query, calls, {exec_time} AS total_ms, {exec_time} / nullif(calls, 0) AS mean_ms, rows "
        f"FROM {context.quote(schema)}.pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND calls > 0 "
        "AND query NOT LIKE :marker "
        "AND query !~* '^\\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SHOW|SET|RESET|DISCARD|DEALLOCATE)\\M' "
        f"ORDER BY {exec_time} DESC LIMIT :limit"
    )
    rows, error = _attempt(connection, lambda: connection.execute(statement, {"marker": f"{MARKER}%", "limit": TOP_QUERIES_LIMIT}).all())
    if error is not None:
        context.notes.append(
            f"pg_stat_statements is installed but cannot be read ({error}): it needs shared_preload_libraries = "
            "'pg_stat_statements' and a restart, and pg_read_all_stats to see other roles' statements."
        )
        return None
    frame = pd.DataFrame([tuple(r) for r in rows or []], columns=TOP_QUERY_COLUMNS)
    context.notes.append(f"Top queries: the {TOP_QUERIES_LIMIT} statements with most execution time in pg_stat_statements {version}.")
    return frame


def _what_if(connection: Connection, context: _Context, extensions: dict[str, tuple[str, str]]) -> pd.DataFrame | None:
    """Plan costs of each suggestion's queries before and with the suggested index as a HypoPG hypothetical index.

    HypoPG keeps hypothetical indexes in this backend's memory, not in the catalog, so hypopg_create_index works
    inside the report's read-only transaction (checked with HypoPG 1.3.1 on PostgreSQL 15). For the same reason a
    ROLLBACK does not remove them: each one is dropped explicitly, so none outlives the report on the pooled
    connection.
    """
    if "hypopg" not in extensions:
        context.notes.append(
            "HypoPG is not installed in this database, so there are no what-if costs for suggested indexes: "
            "CREATE EXTENSION hypopg; (the server needs the hypopg package, e.g. postgresql-15-hypopg)."
        )
        return None
    schema = context.quote(extensions["hypopg"][1])
    rows = []
    for suggestion in context.suggestions:
        if not suggestion.targets:
            continue
        sql, _op = _create_fix(context, suggestion)
        columns = ", ".join(context.quote(c) for c in suggestion.columns)
        hypothetical = f"CREATE INDEX ON {context.quote(suggestion.table)} ({columns})"
        before = {name: _pg_plan(connection, target, params, text=False)["cost"] for name, target, params in suggestion.targets}
        created, error = _attempt(
            connection,
            lambda statement=hypothetical: connection.execute(
                _sql(f"SELECT indexrelid, indexname FROM {schema}.hypopg_create_index(:sql)"), {"sql": statement}
            ).one(),
        )
        if created is None:
            context.notes.append(f"HypoPG could not simulate {hypothetical}: {error}")
            continue
        oid, name = created
        try:
            for query, target, params in suggestion.targets:
                after = _pg_plan(connection, target, params, text=False)
                rows.append(
                    {
                        "query": query,
                        "suggested_sql": sql,
                        "cost_before": before[query],
                        "cost_after": after["cost"],
                        "index_used": name in after["indexes_used"],
                    }
                )
        finally:
            connection.execute(_sql(f"SELECT {schema}.hypopg_drop_index(CAST(:oid AS oid))"), {"oid": oid})
    return pd.DataFrame(rows, columns=WHAT_IF_COLUMNS)


# --- the report ---------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _read_only_connection(url: URL) -> Iterator[Connection]:
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
    backend = backend_of(url)
    if backend not in ("postgresql", "sqlite"):
        raise ConfigurationError(f"index_report supports PostgreSQL and SQLite, not {backend!r}: pass a postgresql:// or sqlite:/// URL.")
    with translate_errors(url), _read_only_connection(url) as connection:
        context = _Context(backend, connection.dialect.identifier_preparer.quote, [], [])
        top_queries = what_if = None
        cache_hit: dict[str, float | None] = {"index": None, "table": None}
        if backend == "postgresql":
            _pg_stats_window(connection, context)  # read the usage counters before the report's own queries run
            tables = _pg_catalog(connection, context)
            cache_hit = _pg_cache_hit(connection, context)
            extensions = _extensions(connection)
            top_queries = _top_queries(connection, context, extensions)
            rowid_tables: dict[str, str] = {}
        else:
            context.notes.append(
                "SQLite keeps no usage counters: which indexes serve the application comes from EXPLAIN QUERY PLAN over "
                "the canonical queries (see plans and the used_by column of indexes)."
            )
            tables, rowid_tables = _sqlite_catalog(connection, context)
        names = {t["table"] for t in tables}
        params = canonical_parameters(connection, user_id=canonical_user_id)
        plans = _plans(connection, context, params, names)
        _check_redundant(context)
        _check_foreign_keys(context, connection, rowid_tables)
        _check_bloat(context, tables)
        if backend == "postgresql":
            _check_pg_usage(context, tables)
            what_if = _what_if(connection, context, extensions)
    used_by: dict[str, list[str]] = {}
    for plan in plans.itertuples():
        for name in plan.indexes_used:
            used_by.setdefault(name, []).append(plan.query)
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
            "used_by": used_by.get(i.name, []),
            "definition": i.definition,
        }
        for i in sorted(context.indexes, key=lambda i: (i.table, i.name))
    ]
    return IndexReport(
        backend=backend,
        database=mask_url(url),
        findings=findings_frame(context.findings),
        notes=context.notes,
        stats_since=context.stats_since,
        indexes=pd.DataFrame(index_rows, columns=INDEX_COLUMNS),
        tables=pd.DataFrame([{c: t.get(c) for c in TABLE_COLUMNS} for t in tables], columns=TABLE_COLUMNS),
        cache_hit=cache_hit,
        top_queries=top_queries,
        plans=plans,
        what_if=what_if,
    )
