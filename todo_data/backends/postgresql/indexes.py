"""PostgreSQL's part in the index report: the catalogue and usage counters (pg_index, pg_stat_*, pg_stats), EXPLAIN
with costs and generic plans, pg_stat_statements' top queries, HypoPG what-if costs, and fixes that use CONCURRENTLY.

The suggested SQL uses CONCURRENTLY, and the Alembic ops ``postgresql_concurrently=True``: in a migration such an op
must run inside ``with op.get_context().autocommit_block():``.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from todo_data.backends.postgresql.privileges import INSUFFICIENT, Privileges, can_execute, can_select, read_privileges
from todo_data.indexes import rules
from todo_data.indexes.catalog import TOP_QUERY_COLUMNS, Catalog, ForeignKey, Index, Policy, StatsWindow, bare, duration, qualified
from todo_data.indexes.plans import GENERIC_NOTE
from todo_data.indexes.queries import CANONICAL_QUERIES, MARKER, attempt, first_line, marked
from todo_data.indexes.support import WHAT_IF_COLUMNS, IndexSupport, Suggestion, Target
from todo_data.inspect import IGNORED_TABLES

# The report judges every table of the database: every schema but the system's, no relation an extension owns. The
# schema is named only outside the connection's own (NULL there), so the kit's tables keep their bare names.
_OWN = (
    "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
    "WHERE d.classid = 'pg_class'::regclass AND d.objid = t.oid AND d.deptype = 'e')"
)
_SCHEMA = "CASE WHEN n.nspname = current_schema() THEN NULL ELSE n.nspname::text END AS schema_name"

TOP_QUERIES_LIMIT = 20
NAME_MAX = 63  # NAMEDATALEN - 1: longer identifiers are truncated
SSD_RANDOM_PAGE_COST = 1.1  # the usual setting for SSD storage (PostgreSQL's default of 4 prices spinning disks)

_PG_INDEXES = f"""
SELECT {_SCHEMA}, t.relname AS table_name, ix.relname AS index_name, am.amname AS method,
       i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS is_valid, i.indnkeyatts AS key_count,
       ix.relispartition AS inherited,
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
WHERE {_OWN} AND t.relkind IN ('r', 'p', 'm')
ORDER BY n.nspname <> current_schema(), n.nspname, t.relname, ix.relname
"""

_PG_TABLES = f"""
SELECT {_SCHEMA}, t.relname AS table_name,
       CASE WHEN t.reltuples >= 0 THEN t.reltuples::bigint ELSE s.n_live_tup END AS rows_estimate,
       pg_relation_size(t.oid) AS size_bytes, pg_total_relation_size(t.oid) AS total_bytes,
       s.seq_scan, s.seq_tup_read, s.idx_scan, s.n_dead_tup AS dead_rows,
       io.heap_blks_hit, io.heap_blks_read,
       -- a standby's statistics views count its own activity only; the primary's ANALYZE reaches it in pg_class
       (s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL OR (pg_is_in_recovery() AND t.reltuples >= 0)) AS analyzed,
       t.relkind = 'p' AS partitioned, t.relispartition AS partition,
       coalesce('autovacuum_enabled=false' = ANY(t.reloptions), false) AS autovacuum_disabled
FROM pg_class t
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = t.oid
LEFT JOIN pg_statio_user_tables io ON io.relid = t.oid
WHERE {_OWN} AND t.relkind IN ('r', 'p')
ORDER BY n.nspname <> current_schema(), n.nspname, t.relname
"""

_PG_FOREIGN_KEYS = f"""
SELECT c.conname, {_SCHEMA}, t.relname AS table_name,
       CASE WHEN rn.nspname = current_schema() THEN NULL ELSE rn.nspname::text END AS referred_schema, rt.relname AS referred_table,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns,
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.n) AS referred_columns
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class rt ON rt.oid = c.confrelid
JOIN pg_namespace rn ON rn.oid = rt.relnamespace
WHERE c.contype = 'f' AND c.conparentid = 0 AND {_OWN}  -- not the copies a partitioned table's key gives each partition
ORDER BY n.nspname <> current_schema(), n.nspname, t.relname, c.conname
"""

# Row-level security policies, the commands and roles each applies to (splinter's multiple_permissive_policies).
_PG_POLICIES = f"""
SELECT {_SCHEMA}, t.relname AS table_name, p.polname::text AS policy, p.polpermissive AS permissive,
       CASE p.polcmd WHEN 'r' THEN ARRAY['SELECT'] WHEN 'a' THEN ARRAY['INSERT'] WHEN 'w' THEN ARRAY['UPDATE']
                     WHEN 'd' THEN ARRAY['DELETE'] ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] END AS commands,
       CASE WHEN p.polroles = '{{0}}' THEN ARRAY['PUBLIC']
            ELSE ARRAY(SELECT quote_ident(r.rolname) FROM pg_roles r WHERE r.oid = ANY(p.polroles) ORDER BY r.rolname) END AS roles
FROM pg_policy p
JOIN pg_class t ON t.oid = p.polrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE {_OWN}
ORDER BY n.nspname, t.relname, p.polname
"""

# Widths per index and per table from the planner's statistics (pg_stats), for the bloat estimates below.
_PG_INDEX_WIDTHS = f"""
SELECT {_SCHEMA}, ix.relname AS index_name, ix.relpages, ix.reltuples,
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
WHERE {_OWN}
GROUP BY n.nspname, ix.relname, ix.relpages, ix.reltuples, ix.reloptions
"""

_PG_TABLE_WIDTHS = f"""
SELECT {_SCHEMA}, t.relname AS table_name, t.relpages, t.reltuples,
       coalesce(substring(array_to_string(t.reloptions, ',') FROM 'fillfactor=([0-9]+)')::int, 100) AS fillfactor,
       count(*) AS attributes, count(s.attname) AS attributes_with_stats,
       sum((1 - coalesce(s.null_frac, 0)) * s.avg_width) AS data_width,
       bool_or(coalesce(s.null_frac, 0) > 0) AS has_nulls
FROM pg_class t
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname AND NOT s.inherited
WHERE {_OWN} AND t.relkind = 'r'
GROUP BY n.nspname, t.relname, t.relpages, t.reltuples, t.reloptions
"""


def _align(n: float, to: int = 8) -> int:
    return int(math.ceil(n / to) * to)


def _pg_bloat(connection: Connection, block_size: int) -> tuple[dict[str, int], dict[str, int]]:
    """Estimated wasted bytes per B-tree index and per table (keyed as :func:`qualified` names them): pages held minus pages the rows need.

    The model is the one PgHero's index_bloat and ioguix's bloat queries use: rows (reltuples) times the tuple
    size from pg_stats' average widths, with page headers, alignment (8 bytes) and fillfactor. Relations without
    statistics (never analyzed, expression columns) get no estimate. B-tree deduplication (PG 13+) makes real
    indexes smaller than this model, so it errs towards reporting too little.
    """
    indexes, tables = {}, {}
    for row in connection.execute(marked(_PG_INDEX_WIDTHS)).mappings():
        if row["attributes_with_stats"] < row["attributes"] or row["reltuples"] < 0 or not row["relpages"]:
            continue
        tuple_bytes = _align((16 if row["has_nulls"] else 8) + float(row["data_width"] or 0)) + 4  # IndexTuple + line pointer
        usable = (block_size - 24 - 16) * row["fillfactor"] / 100  # page header, B-tree special space
        needed = math.ceil(row["reltuples"] * tuple_bytes / usable) + 1  # + the metapage
        indexes[qualified(row["schema_name"], row["index_name"])] = max(row["relpages"] - needed, 0) * block_size
    for row in connection.execute(marked(_PG_TABLE_WIDTHS)).mappings():
        if row["attributes_with_stats"] < row["attributes"] or row["reltuples"] < 0 or not row["relpages"]:
            continue
        header = 23 + (math.ceil(row["attributes"] / 8) if row["has_nulls"] else 0)
        tuple_bytes = _align(header) + _align(float(row["data_width"] or 0)) + 4
        usable = (block_size - 24) * row["fillfactor"] / 100
        needed = math.ceil(row["reltuples"] * tuple_bytes / usable)
        tables[qualified(row["schema_name"], row["table_name"])] = max(row["relpages"] - needed, 0) * block_size
    return indexes, tables


_PG_STATS_FLOOR = """
SELECT least(min(last_vacuum), min(last_autovacuum), min(last_analyze), min(last_autoanalyze)) FROM pg_stat_all_tables
"""


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
    values = [connection.execute(marked("SELECT quote_nullable(CAST(:value AS text))"), {"value": params[n]}).scalar_one() for n in names]
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
        return None, first_line(exc)
    finally:
        savepoint.rollback()
        if prepared:
            connection.exec_driver_sql(f"{MARKER} DEALLOCATE {statement}")


def _key_nodes(plan: str) -> str:
    """A plan's nodes with their costs and row estimates on one line, conditions and widths left out."""
    nodes = (line.strip().removeprefix("->").strip() for line in plan.splitlines() if "(cost=" in line)
    return " / ".join(re.sub(r"\s+", " ", re.sub(r" width=\d+", "", node)) for node in nodes)


def _most_common(connection: Connection, table: str, column: str) -> str | None:
    return connection.execute(
        marked(
            "SELECT (most_common_vals::text::text[])[1] FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = :table AND attname = :column AND NOT inherited"
        ),
        {"table": table, "column": column},
    ).scalar()


def _extensions(connection: Connection) -> dict[str, tuple[str, str]]:
    rows = connection.execute(
        marked(
            "SELECT e.extname, e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname IN ('pg_stat_statements', 'hypopg')"
        )
    ).all()
    return {name: (version, schema) for name, version, schema in rows}


def _top_queries(
    connection: Connection,
    quote: Callable[[str], str],
    extensions: dict[str, tuple[str, str]],
    notes: list[str],
    privileges: Privileges,
) -> pd.DataFrame | None:
    """The statements with most execution time in pg_stat_statements, the report's own left out; None, with a note, without it.

    A role without pg_read_all_stats sees its own statements only (the others' text reads <insufficient privilege>):
    those rows are left out and a note says how many. A role that may not SELECT the view gets a note and no frame.
    """
    if "pg_stat_statements" not in extensions:
        how = "CREATE EXTENSION pg_stat_statements;"
        if not privileges.read_all_settings:
            how += (
                " It also needs shared_preload_libraries = 'pg_stat_statements' in postgresql.conf and a restart, unless the "
                f"server has it already (role {privileges.role} cannot read shared_preload_libraries without pg_read_all_settings: "
                f"{privileges.grant('pg_read_all_settings')})"
            )
        elif "pg_stat_statements" not in str(connection.execute(marked("SELECT current_setting('shared_preload_libraries')")).scalar()):
            how += " It also needs shared_preload_libraries = 'pg_stat_statements' in postgresql.conf and a restart."
        notes.append(f"pg_stat_statements is not installed in this database, so there are no top queries: {how}")
        return None
    version, schema = extensions["pg_stat_statements"]
    view = f"{quote(schema)}.pg_stat_statements"
    if not can_select(connection, view):
        notes.append(privileges.missing("there are no top queries", f"SELECT on {view}", privileges.grant(f"SELECT ON {view}")))
        return None
    exec_time = "total_exec_time" if tuple(int(p) for p in version.split(".")[:2]) >= (1, 8) else "total_time"
    statement = marked(
        f"SELECT query, calls, {exec_time} AS total_ms, {exec_time} / nullif(calls, 0) AS mean_ms, rows "
        f"FROM {view} "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND calls > 0 "
        "AND query NOT LIKE :marker AND query <> :hidden "
        "AND query !~* '^\\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SHOW|SET|RESET|DISCARD|DEALLOCATE)\\M' "
        f"ORDER BY {exec_time} DESC LIMIT :limit"
    )
    parameters = {"marker": f"{MARKER}%", "hidden": INSUFFICIENT, "limit": TOP_QUERIES_LIMIT}
    rows, error = attempt(connection, lambda: connection.execute(statement, parameters).all())
    if error is not None:
        notes.append(
            f"pg_stat_statements is installed but cannot be read ({error}): it needs shared_preload_libraries = "
            "'pg_stat_statements' and a restart."
        )
        return None
    if not privileges.read_all_stats:
        hidden = connection.execute(
            marked(
                f"SELECT count(*) FROM {view} WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND query = :hidden"
            ),
            {"hidden": INSUFFICIENT},
        ).scalar_one()
        if hidden:
            notes.append(
                privileges.missing(
                    f"the top queries are its own statements only ({hidden:,} statements of other roles are hidden)",
                    "pg_read_all_stats",
                    privileges.grant("pg_read_all_stats"),
                    monitor=True,
                )
            )
    frame = pd.DataFrame([tuple(r) for r in rows or []], columns=TOP_QUERY_COLUMNS)
    notes.append(f"Top queries: the {TOP_QUERIES_LIMIT} statements with most execution time in pg_stat_statements {version}.")
    return frame


_CREATING = """
SELECT CASE WHEN n.nspname = current_schema() THEN c.relname::text ELSE n.nspname || '.' || c.relname END
FROM pg_stat_progress_create_index p JOIN pg_class c ON c.oid = p.index_relid JOIN pg_namespace n ON n.oid = c.relnamespace
"""


def _privilege_notes(privileges: Privileges, indexes: list[Index]) -> list[str]:
    """What the role's missing privileges leave out of the catalogue: bloat estimates, and other roles' index builds."""
    notes = []
    if privileges.unreadable_tables:
        tables = ", ".join(privileges.unreadable_tables)
        notes.append(
            privileges.missing(
                "there are no bloat estimates for these tables and their indexes, nor what-if costs for their foreign keys "
                "(pg_stats shows column statistics only to roles that may read the table; every other finding on them stands)",
                f"SELECT on {tables}",
                privileges.grant(f"SELECT ON {tables}"),
            )
        )
    if not privileges.read_all_stats and any(not index.valid for index in indexes):
        notes.append(
            privileges.missing(
                "it cannot see index builds run by other roles (pg_stat_progress_create_index): an invalid index below may be "
                "one being built right now by CREATE INDEX CONCURRENTLY",
                "pg_read_all_stats",
                privileges.grant("pg_read_all_stats"),
                monitor=True,
            )
        )
    return notes


def _catalog(connection: Connection, notes: list[str]) -> tuple[list[Index], list[ForeignKey], list[dict[str, Any]], dict[str, int | None]]:
    """Indexes (with scans, sizes and estimated bloat), foreign keys and tables (with scan and cache counters) of the current schema."""
    indexes: list[Index] = []
    foreign_keys: list[ForeignKey] = []
    rows_by_table: dict[str, int | None] = {}
    block_size = int(connection.execute(marked("SELECT current_setting('block_size')")).scalar_one())
    index_bloat, table_bloat = _pg_bloat(connection, block_size)
    creating, _ = attempt(connection, lambda: set(connection.execute(marked(_CREATING)).scalars()))
    for row in connection.execute(marked(_PG_INDEXES)).mappings():
        table = qualified(row["schema_name"], row["table_name"])
        if table in IGNORED_TABLES:
            continue
        index = qualified(row["schema_name"], row["index_name"])
        key_count = row["key_count"]
        names = list(row["column_names"])
        indexes.append(
            Index(
                table=table,
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
                bloat_bytes=index_bloat.get(index),
                creating=index in (creating or set()),
                blocks=None if row["scans"] is None else int(row["blocks"]),
                table_writes=None if row["table_writes"] is None else int(row["table_writes"]),
                schema=row["schema_name"],
                inherited=row["inherited"],
            )
        )
    for row in connection.execute(marked(_PG_FOREIGN_KEYS)).mappings():
        table = qualified(row["schema_name"], row["table_name"])
        if table in IGNORED_TABLES:
            continue
        referred = qualified(row["referred_schema"], row["referred_table"])
        foreign_keys.append(
            ForeignKey(row["conname"], table, tuple(row["columns"]), referred, tuple(row["referred_columns"]), row["schema_name"])
        )
    tables, unanalyzed = [], []
    for row in connection.execute(marked(_PG_TABLES)).mappings():
        table = qualified(row["schema_name"], row["table_name"])
        if table in IGNORED_TABLES:
            continue
        hit, read = row["heap_blks_hit"], row["heap_blks_read"]
        rows = None if row["rows_estimate"] is None else int(row["rows_estimate"])
        rows_by_table[table] = rows
        if not row["analyzed"] and rows:
            unanalyzed.append(table)
        tables.append(
            {
                "table": table,
                "schema": row["schema_name"],
                "rows_estimate": rows,
                "size_bytes": int(row["size_bytes"]),
                "total_bytes": int(row["total_bytes"]),
                "seq_scan": row["seq_scan"],
                "idx_scan": row["idx_scan"],
                "cache_hit": hit / (hit + read) if hit is not None and read is not None and hit + read else None,
                "dead_rows": row["dead_rows"],
                "bloat_bytes": table_bloat.get(table),
                "seq_tup_read": row["seq_tup_read"],
                "partitioned": row["partitioned"],
                "partition": row["partition"],
                "autovacuum_disabled": row["autovacuum_disabled"],
            }
        )
    if unanalyzed:
        notes.append(
            f"Never analyzed: {', '.join(unanalyzed)}. Row estimates, plans and bloat estimates are rough until "
            f"ANALYZE runs (autovacuum does it in time; or run ANALYZE;)."
        )
    return indexes, foreign_keys, tables, rows_by_table


def _stats_window(connection: Connection, notes: list[str]) -> StatsWindow:
    """When the usage counters began: pg_stat_database.stats_reset, or, never reset, no later than the oldest timestamp they hold.

    A database whose statistics were never reset does not record when they began (its creation, or the last crash);
    the vacuum and analyze times the counters keep are a lower bound on the window's length.
    """
    since, now = connection.execute(marked("SELECT stats_reset, now() FROM pg_stat_database WHERE datname = current_database()")).one()
    floor: datetime | None = connection.execute(marked(_PG_STATS_FLOOR)).scalar() if since is None else None
    window = StatsWindow(since, now, floor)
    notes.append(
        f"Usage counters (scans, cache hits) count {window.describe()}; pg_stat_reset() starts a new window. "
        f"An index is called unused only after a window of {duration(rules.UNUSED_MIN_WINDOW)} or more that it lived through. "
        "Each server counts only the queries run on it: a replica's scans are not in its primary's counters, nor the primary's in a replica's."
    )
    return window


def _cache_blocks(connection: Connection) -> dict[str, tuple[int, int]]:
    """Block hits and reads of tables and of indexes, summed over the current database's user relations."""
    blocks = {}
    for kind, statement in (
        ("table", "SELECT sum(heap_blks_hit), sum(heap_blks_read) FROM pg_statio_user_tables"),
        ("index", "SELECT sum(idx_blks_hit), sum(idx_blks_read) FROM pg_statio_user_indexes"),
    ):
        hit, read = (int(v or 0) for v in connection.execute(marked(statement)).one())
        blocks[kind] = (hit, read)
    return blocks


class PostgresIndexes(IndexSupport):
    """PostgreSQL: usage counters, planner costs and statistics, generic plans, pg_stat_statements and HypoPG."""

    usage_counters = True
    statement_statistics = True
    hypothetical_indexes = True
    # Partitioned tables (as the catalogue names them): PostgreSQL refuses CONCURRENTLY on their indexes, and builds
    # or drops one on every partition (CREATE INDEX ON ONLY and ATTACH PARTITION are the way without a long lock).
    partitioned: frozenset[str] = frozenset()
    without_primary_key = (
        "no key identifies a row, so duplicate rows cannot be prevented, an update or delete of one row must name it by "
        "all its values, and logical replication cannot replicate its UPDATEs and DELETEs (no replica identity)."
    )

    def read_catalog(self, connection: Connection) -> Catalog:
        notes: list[str] = []
        stats = _stats_window(connection, notes)  # read the usage counters before the report's own queries run
        privileges = read_privileges(connection)
        indexes, foreign_keys, tables, rows = _catalog(connection, notes)
        self.partitioned = frozenset(t["table"] for t in tables if t["partitioned"])
        notes += _privilege_notes(privileges, indexes)
        cache = _cache_blocks(connection)
        extensions = _extensions(connection)
        top_queries = _top_queries(connection, self.quote, extensions, notes, privileges)
        policies = tuple(
            Policy(qualified(r["schema_name"], r["table_name"]), r["policy"], r["permissive"], tuple(r["roles"]), tuple(r["commands"]))
            for r in connection.execute(marked(_PG_POLICIES)).mappings()
        )
        return Catalog(
            indexes=tuple(indexes),
            foreign_keys=tuple(foreign_keys),
            tables=tuple(tables),
            rows=rows,
            stats=stats,
            cache=cache,
            extensions=extensions,
            top_queries=top_queries,
            notes=tuple(notes),
            policies=policies,
        )

    def explain(self, connection: Connection, sql: str, params: dict[str, Any], *, text: bool = True) -> dict[str, Any]:
        return _pg_explain(lambda options: connection.execute(marked(f"EXPLAIN {options}{sql}"), params), text=text)

    def most_common(self, connection: Connection, table: str, column: str) -> Any:
        return _most_common(connection, table, column)

    def _foreign_key_lookup(self, connection: Connection, fk: ForeignKey) -> Target | None:
        """The lookup a parent delete runs against the child table, with a real key value, for the what-if."""
        q = self.quote
        relation = self.relation(fk.table, fk.schema)
        if not can_select(connection, relation):
            return None  # the role may not read the child table: no key value to look up (the privilege note says so)
        columns = ", ".join(q(c) for c in fk.columns)
        row = connection.execute(marked(f"SELECT {columns} FROM {relation} LIMIT 1")).first()
        if row is None:
            return None
        where = " AND ".join(f"{q(c)} = :v{i}" for i, c in enumerate(fk.columns))
        return (
            f"fk:{fk.table}({', '.join(fk.columns)})",
            f"SELECT 1 FROM {relation} WHERE {where}",
            {f"v{i}": v for i, v in enumerate(row)},
        )

    def generic_plan(
        self, connection: Connection, name: str, table: str, params: dict[str, Any], custom: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
        """Explain a parameterised query's generic plan; a finding where it scans or sorts and the custom plan does not."""
        sql = CANONICAL_QUERIES[name].text
        generic, error = _pg_generic_plan(connection, sql, params)
        if generic is None:
            return None, None, f"{GENERIC_NOTE} of the canonical queries could not be explained: {error}" if error else None
        lost = [
            s for s, key in (("reads the whole table", "full_scan"), ("sorts its rows", "temp_sort")) if generic[key] and not custom[key]
        ]
        if not lost:
            return generic, None, None
        row = connection.execute(
            marked(
                "SELECT current_setting('random_page_cost')::float8 AS random_page_cost, current_setting('plan_cache_mode') AS plan_cache_mode, "
                "current_setting('cpu_operator_cost')::float8 AS cpu_operator_cost, current_database() AS database, current_user AS role, "
                "(SELECT source FROM pg_settings WHERE name = 'random_page_cost') AS source"
            )
        ).one()
        q = self.quote
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
            evidence += (
                f" This connection has plan_cache_mode = force_generic_plan (role {row.role}): its prepared statements always use it."
            )
            severity = "medium"
        elif row.plan_cache_mode == "force_custom_plan":
            evidence += (
                f" This connection has plan_cache_mode = force_custom_plan (role {row.role}), so its prepared statements never use the "
                "generic plan; connections of other roles may."
            )
            severity, fixes = "info", []
        index = custom["indexes_used"][0] if custom["indexes_used"] else None
        regression = rules.finding("generic-plan-regression", severity, table, index, evidence.strip(), "\n".join(fixes) or None, None)
        return generic, regression, None

    def what_if(self, connection: Connection, catalog: Catalog, suggestions: list[Suggestion]) -> tuple[pd.DataFrame | None, list[str]]:
        """Plan costs of each suggestion's queries before and with the suggested index as a HypoPG hypothetical index.

        HypoPG keeps hypothetical indexes in this backend's memory, not in the catalog, so hypopg_create_index works
        inside the report's read-only transaction (checked with HypoPG 1.3.1 on PostgreSQL 15). For the same reason a
        ROLLBACK does not remove them: each one is dropped explicitly, so none outlives the report on the pooled
        connection.
        """
        notes: list[str] = []
        extensions = catalog.extensions
        if "hypopg" not in extensions:
            notes.append(
                "HypoPG is not installed in this database, so there are no what-if costs for suggested indexes: "
                "CREATE EXTENSION hypopg; (the server needs the hypopg package, e.g. postgresql-15-hypopg)."
            )
            return None, notes
        schema = self.quote(extensions["hypopg"][1])
        functions = [f"{schema}.hypopg_create_index(text)", f"{schema}.hypopg_drop_index(oid)"]
        denied = [f for f in functions if not can_execute(connection, f)]
        if denied:
            privileges = read_privileges(connection)
            grant = privileges.grant(f"EXECUTE ON FUNCTION {', '.join(denied)}")
            notes.append(
                privileges.missing("there are no what-if costs for suggested indexes (HypoPG)", "EXECUTE on " + ", ".join(denied), grant)
            )
            return None, notes
        rows = []
        for suggestion in suggestions:
            targets = [*suggestion.targets, *(t for fk in suggestion.foreign_keys if (t := self._foreign_key_lookup(connection, fk)))]
            if not targets:
                continue
            name = self.index_name(suggestion.table, suggestion.columns)
            sql, _op = self.create(name, suggestion.table, suggestion.columns, suggestion.schema)
            columns = ", ".join(self.quote(c) for c in suggestion.columns)
            hypothetical = f"CREATE INDEX ON {self.relation(suggestion.table, suggestion.schema)} ({columns})"
            before = {name: self.explain(connection, target, params, text=False)["cost"] for name, target, params in targets}
            created, error = attempt(
                connection,
                lambda statement=hypothetical: connection.execute(
                    marked(f"SELECT indexrelid, indexname FROM {schema}.hypopg_create_index(:sql)"), {"sql": statement}
                ).one(),
            )
            if created is None:
                notes.append(f"HypoPG could not simulate {hypothetical}: {error}")
                continue
            oid, name = created
            try:
                for query, target, params in targets:
                    after = self.explain(connection, target, params, text=False)
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
                connection.execute(marked(f"SELECT {schema}.hypopg_drop_index(CAST(:oid AS oid))"), {"oid": oid})
        return pd.DataFrame(rows, columns=WHAT_IF_COLUMNS), notes

    def relation(self, table: str, schema: str | None) -> str:
        """A table the catalogue names ``table`` (see :func:`qualified`) as SQL names it: quoted, with its schema outside the connection's own."""
        return f"{self.quote(schema)}.{self.quote(bare(schema, table))}" if schema else self.quote(table)

    def index_name(self, table: str, columns: tuple[str, ...]) -> str:
        return f"ix_{table.replace('.', '_')}_{'_'.join(columns)}"[:NAME_MAX]

    def drop(self, index: Index) -> tuple[str | None, str | None]:
        q = self.quote
        schema = f', schema="{index.schema}"' if index.schema else ""
        table = bare(index.schema, index.table)
        if index.constraint_kind:
            if not index.constraint:  # an unnamed constraint: nothing names it to drop
                return None, None
            return f"ALTER TABLE {self.relation(index.table, index.schema)} DROP CONSTRAINT {q(index.constraint)};", (
                f'op.drop_constraint("{index.constraint}", "{table}", type_="{index.constraint_kind}"{schema})'
            )
        concurrently = index.table not in self.partitioned
        return (
            f"DROP INDEX{' CONCURRENTLY' * concurrently} {self.relation(qualified(index.schema, index.name), index.schema)};",
            f'op.drop_index("{index.name}", table_name="{table}"{schema}{", postgresql_concurrently=True" * concurrently})',
        )

    def create(self, name: str, table: str, columns: tuple[str, ...], schema: str | None = None) -> tuple[str, str]:
        q = self.quote
        listed = ", ".join(f'"{c}"' for c in columns)
        in_schema = f', schema="{schema}"' if schema else ""
        concurrently = table not in self.partitioned
        return (
            f"CREATE INDEX{' CONCURRENTLY' * concurrently} {q(name)} ON {self.relation(table, schema)} ({', '.join(q(c) for c in columns)});",
            f'op.create_index("{name}", "{bare(schema, table)}", [{listed}]{in_schema}{", postgresql_concurrently=True" * concurrently})',
        )

    def rebuild_index(self, index: Index) -> tuple[str, str]:
        name = self.relation(qualified(index.schema, index.name), index.schema)
        return f"REINDEX INDEX CONCURRENTLY {name};", "estimated from row count and column widths"

    def enable_autovacuum(self, table: str, schema: str | None = None) -> str | None:
        return f"ALTER TABLE {self.relation(table, schema)} RESET (autovacuum_enabled);"

    def rebuild_table(self, table: str, schema: str | None = None) -> tuple[str, str]:
        return (
            f"VACUUM (FULL, ANALYZE) {self.relation(table, schema)};",
            "estimated from row count and column widths; VACUUM FULL rewrites the table under an exclusive lock (pg_repack does it online)",
        )
