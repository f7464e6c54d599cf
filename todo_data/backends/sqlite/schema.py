"""SQLite's catalogue for ``inspect.read_schema``: counts, page bytes (dbstat), declared types, index order."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def page_bytes(connection: Connection) -> dict[str, int]:
    """Bytes per table or index from SQLite's dbstat table, where the build has it (else nothing)."""
    try:
        rows = connection.execute(sa.text("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")).all()
    except sa.exc.OperationalError:
        return {}
    return {str(name): int(size) for name, size in rows}


def table_sizes(connection: Connection, tables: list[str]) -> dict[str, dict[str, Any]]:
    """Exact row counts (SQLite keeps no estimate) and the table's own bytes; no total, as no relation groups them."""
    sizes = page_bytes(connection)
    stats: dict[str, dict[str, Any]] = {}
    for name in tables:
        rows = connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
        stats[name] = {"rows_estimate": int(rows), "table_bytes": sizes.get(name), "total_bytes": None}
    return stats


def column_types(connection: Connection, tables: list[str]) -> dict[tuple[str, str], str]:
    """Each column's declared type as written in its CREATE TABLE (``PRAGMA table_xinfo``), by (table, column)."""
    types: dict[tuple[str, str], str] = {}
    for name in tables:
        for row in connection.exec_driver_sql(f'PRAGMA table_xinfo("{name}")').all():
            types[(name, str(row[1]))] = str(row[2])
    return types


def objects(connection: Connection) -> list[tuple[str, str, str]]:
    """Every table and view of the file, SQLite's own left out: ("main", name, kind)."""
    query = "SELECT 'main', name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    return [(str(schema), str(name), str(kind)) for schema, name, kind in connection.execute(sa.text(query)).all()]


def index_order(connection: Connection, index: str) -> list[str]:
    """``asc``/``desc`` per key column of an index (``PRAGMA index_xinfo``; SQLAlchemy's reflection leaves it out)."""
    rows = connection.exec_driver_sql(f'PRAGMA index_xinfo("{index}")').all()
    return ["desc" if row[3] else "asc" for row in rows if row[5]]  # row[5]: a key column
