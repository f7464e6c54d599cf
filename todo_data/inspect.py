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

from todo_data.backends import Backend, backend_for
from todo_data.chain import comparison_options, managed_tables
from todo_data.db import get_engine, resolve_url, translate_errors
from todo_data.models import metadata
from todo_data.settings import mask_url

IGNORED_TABLES = ("alembic_version",)
UNMANAGED_COLUMNS = ["schema", "name", "kind"]


@dataclass(frozen=True)
class Schema:
    """One database's schema: a DataFrame per kind of object; ``unmanaged`` lists what todo_data leaves alone."""

    database: str
    dialect: str
    tables: pd.DataFrame
    columns: pd.DataFrame
    constraints: pd.DataFrame
    indexes: pd.DataFrame
    unmanaged: pd.DataFrame

    @property
    def unmanaged_count(self) -> int:
        """How many tables, views, materialized views, enum types (any schema) todo_data does not manage."""
        return len(self.unmanaged)


def _unmanaged_objects(connection: Connection, backend: Backend, default_schema: str | None) -> pd.DataFrame:
    """Every table, view, materialized view and enum type in the database that todo_data does not manage."""
    owned = managed_tables()
    rows = sorted(
        (str(schema), str(name), str(kind))
        for schema, name, kind in backend.schema_objects(connection, default_schema)
        if not (kind == "table" and schema == default_schema and name in owned)
    )
    return pd.DataFrame(rows, columns=UNMANAGED_COLUMNS)


def read_schema(database_url: str | URL | None = None) -> Schema:
    """Reflect the live schema (read-only) into DataFrames: column types as the database has them, and tables
    the kit does not manage marked ``managed=False``."""
    url = resolve_url(database_url)
    engine = get_engine(url, read_only=True)
    with translate_errors(url), engine.connect() as connection:
        inspector = sa.inspect(connection)
        names = sorted(n for n in inspector.get_table_names() if n not in IGNORED_TABLES)
        backend = backend_for(connection.dialect.name)
        stats = backend.table_sizes(connection, names)
        index_sizes = backend.index_sizes(connection)
        # SQLAlchemy's reflected types are its own generic classes (``timestamp`` and ``timestamp with time zone`` both
        # print ``TIMESTAMP``), which would hide exactly what a migration changed; so the database states them.
        types = backend.column_types(connection, names)
        unmanaged = _unmanaged_objects(connection, backend, inspector.default_schema_name)
        owned = managed_tables()
        tables, columns, constraints, indexes = [], [], [], []
        for table in names:
            empty = {"rows_estimate": None, "table_bytes": None, "total_bytes": None}
            tables.append({"table": table, **stats.get(table, empty), "managed": table in owned})
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
                        references=f"{_qualified(fk.get('referred_schema'), fk['referred_table'])}({', '.join(fk['referred_columns'])})",
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
                        "order": backend.index_order(connection, index["name"], index["column_names"], sorting),
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
        tables=pd.DataFrame(tables, columns=["table", "rows_estimate", "table_bytes", "total_bytes", "managed"]),
        columns=pd.DataFrame(columns, columns=["table", "position", "column", "type", "nullable", "default"]),
        constraints=pd.DataFrame(constraints, columns=["table", "constraint", "kind", "columns", "references", "on_delete", "definition"]),
        indexes=pd.DataFrame(indexes, columns=["table", "index", "columns", "order", "unique", "partial", "bytes"]),
        unmanaged=unmanaged,
    )


def _qualified(schema: str | None, table: str) -> str:
    """``table``, or ``schema.table`` for a table outside the connection's default schema."""
    return f"{schema}.{table}" if schema else table


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
        context = MigrationContext.configure(connection, opts=comparison_options())
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


UNMANAGED_LABEL = "not managed by todo_data"
_MERMAID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _entity_ids(tables: pd.DataFrame) -> dict[str, str]:
    """A Mermaid-safe id per table: its name where Mermaid accepts it bare, else ``table_N``."""
    return {name: name if _MERMAID_NAME.fullmatch(name) else f"table_{i}" for i, name in enumerate(tables["table"], start=1)}


def er_diagram(schema: Schema) -> str:
    """A Mermaid ``erDiagram`` of the live schema: columns with PK/FK/UK marks and the foreign keys.

    Tables todo_data does not manage are drawn grey and labelled, so another application's tables are
    shown but not mistaken for the kit's.
    """
    ids = _entity_ids(schema.tables)
    managed = dict(zip(schema.tables["table"], schema.tables["managed"], strict=True))
    others = [table for table in ids if not managed[table]]
    lines = ["erDiagram"]
    if others:
        lines.append(f"    %% {UNMANAGED_LABEL}: {', '.join(others)}")
    keys: dict[tuple[str, str], list[str]] = {}
    for row in schema.constraints.itertuples(index=False):
        mark = {"PRIMARY KEY": "PK", "FOREIGN KEY": "FK", "UNIQUE": "UK"}.get(row.kind)
        if mark:
            for column in str(row.columns).split(", "):
                keys.setdefault((row.table, column), []).append(mark)
    for table, entity in ids.items():
        shown = table.replace('"', "'")
        if not managed[table]:
            entity = f'{entity}["{shown} ({UNMANAGED_LABEL})"]'
        elif entity != table:
            entity = f'{entity}["{shown}"]'
        lines.append(f"    {entity} {{")
        for row in schema.columns[schema.columns["table"] == table].itertuples(index=False):
            type_name = re.sub(r"\W+", "_", str(row.type).split("(")[0].strip()).lower() or "untyped"  # SQLite allows no type
            mark = ",".join(dict.fromkeys(keys.get((table, row.column), [])))
            null = "" if row.nullable else ' "not null"'
            lines.append(f"        {type_name} {row.column}{' ' + mark if mark else ''}{null}")
        lines.append("    }")
    for row in schema.constraints[schema.constraints["kind"] == "FOREIGN KEY"].itertuples(index=False):
        parent = str(row.references).split("(")[0]
        on_delete = row.on_delete if isinstance(row.on_delete, str) else ""  # None or NaN: no ON DELETE
        label = f"{row.columns}{' cascade' if on_delete.upper() == 'CASCADE' else ''}"
        if parent in ids:
            lines.append(f'    {ids[parent]} ||--o{{ {ids[row.table]} : "{label}"')
        else:  # a table in another schema is not drawn
            lines.append(f"    %% {row.table}.{row.columns} references {row.references}")
    if others:
        lines.append("    classDef unmanaged fill:#eeeeee,stroke:#999999,color:#555555")
        lines.append(f"    class {','.join(ids[table] for table in others)} unmanaged")
    return "\n".join(lines) + "\n"
