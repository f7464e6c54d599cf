"""PostgreSQL's catalogue for ``inspect.read_schema``: sizes, column types as stated, and other applications' objects."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# Other applications' objects: (schema, name, kind), extensions' own objects left out.
_OTHER_OBJECTS = """
SELECT n.nspname, c.relname, CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
       WHEN 'f' THEN 'foreign table' ELSE 'table' END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT n.nspname, t.typname, 'enum type'
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
"""


def table_sizes(connection: Connection) -> dict[str, dict[str, Any]]:
    """The planner's row estimate and the heap's and the whole relation's bytes, per table of the current schema."""
    rows = connection.execute(
        sa.text(
            "SELECT c.relname, c.reltuples::bigint, pg_relation_size(c.oid), pg_total_relation_size(c.oid) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
    ).all()
    return {r[0]: {"rows_estimate": max(int(r[1]), 0), "table_bytes": int(r[2]), "total_bytes": int(r[3])} for r in rows}


def index_sizes(connection: Connection) -> dict[str, int]:
    """Bytes per index of the current schema."""
    rows = connection.execute(
        sa.text(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'i'"
        )
    ).all()
    return {str(name): int(size) for name, size in rows}


def column_types(connection: Connection) -> dict[tuple[str, str], str]:
    """``format_type`` of each column (``timestamp without time zone``, ``character varying(200)``), by (table, column)."""
    rows = connection.execute(
        sa.text(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped"
        )
    ).all()
    return {(str(table), str(column)): str(type_) for table, column, type_ in rows}


def objects(connection: Connection) -> list[tuple[str, str, str]]:
    """Every table, view, materialized view, foreign table and enum type in any schema: (schema, name, kind)."""
    return [(str(schema), str(name), str(kind)) for schema, name, kind in connection.execute(sa.text(_OTHER_OBJECTS)).all()]
