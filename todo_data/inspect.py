"""The live schema as data: tables, columns, constraints and indexes; drift against the models; an ER diagram."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, Connection

from todo_data.db import get_engine, resolve_url, translate_errors
from todo_data.models import metadata
from todo_data.settings import mask_url

IGNORED_TABLES = ("alembic_version",)


@dataclass(frozen=True)
class Schema:
    """One database's schema: a DataFrame per kind of object."""

    database: str
    dialect: str
    tables: pd.DataFrame
    columns: pd.DataFrame
    constraints: pd.DataFrame
    indexes: pd.DataFrame


def _table_stats(connection: Connection, names: list[str]) -> dict[str, dict[str, Any]]:
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            sa.text(
                "SELECT c.relname, c.reltuples::bigint, pg_relation_size(c.oid), pg_total_relation_size(c.oid) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        ).all()
        return {r[0]: {"rows_estimate": max(int(r[1]), 0), "table_bytes": int(r[2]), "total_bytes": int(r[3])} for r in rows}
    stats: dict[str, dict[str, Any]] = {}
    sizes = _sqlite_sizes(connection)
    for name in names:
        rows = connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
        stats[name] = {"rows_estimate": int(rows), "table_bytes": sizes.get(name), "total_bytes": None}
    return stats


def _sqlite_sizes(connection: Connection) -> dict[str, int]:
    """Bytes per table or index from SQLite's dbstat table, where the build has it."""
    try:
        rows = connection.execute(sa.text("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")).all()
    except sa.exc.OperationalError:
        return {}
    return {str(name): int(size) for name, size in rows}


def _index_sizes(connection: Connection) -> dict[str, int]:
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            sa.text(
                "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'i'"
            )
        ).all()
        return {str(name): int(size) for name, size in rows}
    return _sqlite_sizes(connection)


def _column_types(connection: Connection, names: list[str]) -> dict[tuple[str, str], str]:
    """Each column's type as the database states it, keyed by (table, column).

    SQLAlchemy's reflected types are its own generic classes (``timestamp`` and ``timestamp with time zone`` both
    print ``TIMESTAMP``), which would hide exactly what a migration changed; so ask the database. PostgreSQL:
    ``format_type`` (e.g. ``timestamp without time zone``, ``character varying(200)``); SQLite: the declared type.
    """
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            sa.text(
                "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped"
            )
        ).all()
        return {(str(table), str(column)): str(type_) for table, column, type_ in rows}
    types: dict[tuple[str, str], str] = {}
    for name in names:
        for row in connection.exec_driver_sql(f'PRAGMA table_xinfo("{name}")').all():
            types[(name, str(row[1]))] = str(row[2])
    return types


def read_schema(database_url: str | URL | None = None) -> Schema:
    """Reflect the live schema (read-only) into DataFrames; column types as the database has them."""
    url = resolve_url(database_url)
    engine = get_engine(url, read_only=True)
    with translate_errors(url), engine.connect() as connection:
        inspector = sa.inspect(connection)
        names = sorted(n for n in inspector.get_table_names() if n not in IGNORED_TABLES)
        stats = _table_stats(connection, names)
        index_sizes = _index_sizes(connection)
        types = _column_types(connection, names)
        tables, columns, constraints, indexes = [], [], [], []
        for table in names:
            tables.append({"table": table, **stats.get(table, {"rows_estimate": None, "table_bytes": None, "total_bytes": None})})
            for position, column in enumerate(inspector.get_columns(table), start=1):
                columns.append(
                    {
                        "table": table,
                        "position": position,
                        "column": column["name"],
                        "type": types.get((table, column["name"]), str(column["type"])),
                        "nullable": bool(column["nullable"]),
                        "default": column.get("default"),
                    }
                )
            pk = inspector.get_pk_constraint(table)
            if pk.get("constrained_columns"):
                constraints.append(_constraint(table, pk.get("name"), "PRIMARY KEY", pk["constrained_columns"]))
            for fk in inspector.get_foreign_keys(table):
                constraints.append(
                    _constraint(
                        table,
                        fk.get("name"),
                        "FOREIGN KEY",
                        fk["constrained_columns"],
                        references=f"{fk['referred_table']}({', '.join(fk['referred_columns'])})",
                        on_delete=(fk.get("options") or {}).get("ondelete"),
                    )
                )
            for unique in inspector.get_unique_constraints(table):
                constraints.append(_constraint(table, unique.get("name"), "UNIQUE", unique["column_names"]))
            for check in inspector.get_check_constraints(table):
                constraints.append(_constraint(table, check.get("name"), "CHECK", [], definition=check.get("sqltext")))
            for index in inspector.get_indexes(table):
                options = index.get("dialect_options", {})
                sorting = index.get("column_sorting", {})
                cols = [
                    c if c is not None else f"({expr})"
                    for c, expr in zip(index["column_names"], index.get("expressions") or index["column_names"], strict=False)
                ]
                indexes.append(
                    {
                        "table": table,
                        "index": index["name"],
                        "columns": ", ".join(str(c) for c in cols),
                        "order": _index_order(connection, index["name"], index["column_names"], sorting),
                        "unique": bool(index.get("unique")),
                        "partial": options.get("postgresql_where") or options.get("sqlite_where"),
                        "bytes": index_sizes.get(index["name"]),
                    }
                )
        if connection.in_transaction():
            connection.rollback()
    return Schema(
        database=mask_url(url),
        dialect=engine.dialect.name,
        tables=pd.DataFrame(tables, columns=["table", "rows_estimate", "table_bytes", "total_bytes"]),
        columns=pd.DataFrame(columns, columns=["table", "position", "column", "type", "nullable", "default"]),
        constraints=pd.DataFrame(constraints, columns=["table", "constraint", "kind", "columns", "references", "on_delete", "definition"]),
        indexes=pd.DataFrame(indexes, columns=["table", "index", "columns", "order", "unique", "partial", "bytes"]),
    )


def _index_order(connection: Connection, name: str, columns: list[str | None], sorting: dict[str, Any]) -> str:
    """``asc``/``desc`` per column; SQLite's reflection leaves it out, so ask ``PRAGMA index_xinfo``."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f'PRAGMA index_xinfo("{name}")').all()
        return ", ".join("desc" if row[3] else "asc" for row in rows if row[5])  # row[5]: key column
    return ", ".join(" ".join(sorting.get(c, ())) or "asc" for c in columns if c is not None)


def _constraint(table: str, name: str | None, kind: str, columns: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "table": table,
        "constraint": name,
        "kind": kind,
        "columns": ", ".join(columns),
        "references": extra.get("references"),
        "on_delete": extra.get("on_delete"),
        "definition": extra.get("definition"),
    }


# --- drift against the models -------------------------------------------------------------------

DRIFT_COLUMNS = ["kind", "table", "name", "detail", "comparable"]


def drift(database_url: str | URL | None = None) -> pd.DataFrame:
    """What Alembic's autogenerate finds between the database and the models, one row per difference.

    ``comparable`` is False where Alembic cannot judge (e.g. a type it does not compare on this
    backend, or check constraints, which it never compares): those rows are notes, not verdicts.
    """
    url = resolve_url(database_url)
    engine = get_engine(url, read_only=True)
    with translate_errors(url), engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True, "target_metadata": metadata}
        )
        diffs = compare_metadata(context, metadata)
        rows = [_drift_row(diff, connection.dialect) for diff in _flatten(diffs)]
        rows.extend(_check_constraint_notes(connection))
        if connection.in_transaction():
            connection.rollback()
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)


def _flatten(diffs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for diff in diffs:
        out.extend(diff if isinstance(diff, list) else [diff])
    return out


def _shown(value: Any, dialect: sa.Dialect) -> str:
    """A type or server default as this database would spell it (``timestamp`` vs ``timestamp with time zone``, not ``DATETIME``)."""
    if isinstance(value, sa.types.TypeEngine):
        return value.compile(dialect=dialect)
    if isinstance(value, sa.DefaultClause):
        arg = value.arg
        return str(arg.compile(dialect=dialect)) if isinstance(arg, sa.sql.ClauseElement) else repr(arg)
    return "none" if value is None else str(value)


def _drift_row(diff: tuple[Any, ...], dialect: sa.Dialect) -> dict[str, Any]:
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        return {"kind": kind, "table": diff[1].name, "name": diff[1].name, "detail": "", "comparable": True}
    if kind in ("add_column", "remove_column"):
        return {"kind": kind, "table": diff[2], "name": diff[3].name, "detail": str(diff[3].type), "comparable": True}
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        obj = diff[1]
        table = obj.table.name if getattr(obj, "table", None) is not None else ""
        cols = ", ".join(c.name for c in getattr(obj, "columns", []))
        return {"kind": kind, "table": table, "name": obj.name, "detail": cols, "comparable": True}
    if kind in ("add_fk", "remove_fk"):
        fk = diff[1]
        return {"kind": kind, "table": fk.parent.name, "name": fk.name, "detail": ", ".join(c.name for c in fk.columns), "comparable": True}
    if kind.startswith("modify_"):
        _, _schema, table, column, _existing, old, new = diff
        return {
            "kind": kind,
            "table": table,
            "name": column,
            "detail": f"{_shown(old, dialect)} -> {_shown(new, dialect)}",
            "comparable": True,
        }
    return {"kind": kind, "table": "", "name": "", "detail": repr(diff[1:]), "comparable": True}


def _check_constraint_notes(connection: Connection) -> list[dict[str, Any]]:
    """Alembic never compares CHECK constraints: compare their names ourselves and say so."""
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    rows = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            continue
        live = {c.get("name") for c in inspector.get_check_constraints(table.name)}
        for constraint in table.constraints:
            if isinstance(constraint, sa.CheckConstraint) and constraint.name not in live:
                rows.append(
                    {
                        "kind": "missing_check",
                        "table": table.name,
                        "name": str(constraint.name),
                        "detail": "compared by name only: Alembic does not compare CHECK constraints",
                        "comparable": False,
                    }
                )
    return rows


# --- ER diagram ---------------------------------------------------------------------------------


def er_diagram(schema: Schema) -> str:
    """A Mermaid ``erDiagram`` of the live schema: columns with PK/FK/UK marks and the foreign keys."""
    lines = ["erDiagram"]
    keys: dict[tuple[str, str], list[str]] = {}
    for row in schema.constraints.itertuples(index=False):
        mark = {"PRIMARY KEY": "PK", "FOREIGN KEY": "FK", "UNIQUE": "UK"}.get(row.kind)
        if mark:
            for column in str(row.columns).split(", "):
                keys.setdefault((row.table, column), []).append(mark)
    for table in schema.tables["table"]:
        lines.append(f"    {table} {{")
        for row in schema.columns[schema.columns["table"] == table].itertuples(index=False):
            type_name = re.sub(r"\W+", "_", str(row.type).split("(")[0].strip()).lower() or "untyped"  # SQLite allows no type
            mark = ",".join(dict.fromkeys(keys.get((table, row.column), [])))
            null = "" if row.nullable else ' "not null"'
            lines.append(f"        {type_name} {row.column}{' ' + mark if mark else ''}{null}")
        lines.append("    }")
    for row in schema.constraints[schema.constraints["kind"] == "FOREIGN KEY"].itertuples(index=False):
        parent = str(row.references).split("(")[0]
        label = f"{row.columns}{' cascade' if (row.on_delete or '').upper() == 'CASCADE' else ''}"
        lines.append(f'    {parent} ||--o{{ {row.table} : "{label}"')
    return "\n".join(lines) + "\n"
