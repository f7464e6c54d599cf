"""SQLite's part in the index report: the catalogue from ``sqlite_master``, PRAGMAs and dbstat; EXPLAIN QUERY PLAN; fixes.

SQLite keeps no usage counters, so which indexes serve the application comes from the canonical queries' plans.
"""

from __future__ import annotations

import contextlib
import re
import uuid
import warnings
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from todo_data.backends.sqlite.plans import sqlite_plan_shape
from todo_data.indexes import rules
from todo_data.indexes.catalog import Catalog, ForeignKey, Index, size
from todo_data.indexes.queries import marked
from todo_data.indexes.support import IndexSupport
from todo_data.inspect import IGNORED_TABLES


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


def _parse_index_sql(sql: str) -> tuple[list[str], str | None]:
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


def _sizes(connection: Connection) -> dict[str, tuple[int, int]]:
    """(bytes, unused bytes) per table and index from the dbstat table, where SQLite was built with it."""
    for statement in (
        "SELECT name, pgsize, unused FROM dbstat WHERE aggregate = TRUE",
        "SELECT name, sum(pgsize), sum(unused) FROM dbstat GROUP BY name",
    ):
        with contextlib.suppress(DBAPIError):
            return {str(n): (int(s), int(u)) for n, s, u in connection.execute(marked(statement)).all()}
    return {}


class SqliteIndexes(IndexSupport):
    """SQLite: no usage counters, no planner costs; plans from EXPLAIN QUERY PLAN, sizes from dbstat."""

    without_primary_key = (
        "its rows are told apart only by the implicit rowid, which VACUUM may renumber (only an INTEGER PRIMARY KEY keeps "
        "it), and duplicate rows cannot be prevented."
    )

    def read_catalog(self, connection: Connection) -> Catalog:
        q = self.quote
        notes = [
            "SQLite keeps no usage counters: which indexes serve the application comes from EXPLAIN QUERY PLAN over "
            "the canonical queries (see plans and the used_by column of indexes)."
        ]
        names = [
            str(n)
            for n in connection.execute(
                marked("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            ).scalars()
            if n not in IGNORED_TABLES
        ]
        sizes = _sizes(connection)
        stored_sql = dict(connection.execute(marked("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
        inspector = sa.inspect(connection)
        indexes: list[Index] = []
        foreign_keys: list[ForeignKey] = []
        tables: list[dict[str, Any]] = []
        rows: dict[str, int | None] = {}
        rowid_keys: dict[str, str] = {}
        for table in names:
            with warnings.catch_warnings():  # expression indexes are read below from PRAGMA index_xinfo and their SQL
                warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
                uniques = {tuple(u["column_names"]): u.get("name") for u in inspector.get_unique_constraints(table)}
                named_fks = {tuple(fk["constrained_columns"]): fk.get("name") for fk in inspector.get_foreign_keys(table)}
            pk = inspector.get_pk_constraint(table)
            columns = connection.exec_driver_sql(f"PRAGMA table_info({q(table)})").all()
            pk_columns = [c[1] for c in columns if c[5]]
            if len(pk_columns) == 1 and next(c[2] for c in columns if c[1] == pk_columns[0]).upper() == "INTEGER":
                rowid_keys[table] = pk_columns[0]
            index_bytes = 0
            for _seq, name, unique, origin, _partial in connection.exec_driver_sql(f"PRAGMA index_list({q(table)})").all():
                keys = [r for r in connection.exec_driver_sql(f"PRAGMA index_xinfo({q(name)})").all() if r[5]]
                terms, predicate = _parse_index_sql(stored_sql.get(name) or "")
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
                index_size, unused = sizes.get(name, (None, None))
                index_bytes += index_size or 0
                indexes.append(
                    Index(
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
                        size_bytes=index_size,
                        bloat_bytes=unused,
                    )
                )
            fks: dict[int, list[Any]] = {}
            for row in connection.exec_driver_sql(f"PRAGMA foreign_key_list({q(table)})").all():
                fks.setdefault(row[0], []).append(row)
            for fk_rows in fks.values():
                fk_rows.sort(key=lambda r: r[1])
                local = tuple(r[3] for r in fk_rows)
                foreign_keys.append(ForeignKey(named_fks.get(local), table, local, fk_rows[0][2], tuple(r[4] or "rowid" for r in fk_rows)))
            count = int(connection.execute(marked(f"SELECT count(*) FROM {q(table)}")).scalar_one())
            rows[table] = count
            table_size, unused = sizes.get(table, (None, None))
            tables.append(
                {
                    "table": table,
                    "rows_estimate": count,
                    "size_bytes": table_size,
                    "total_bytes": table_size + index_bytes if table_size is not None else None,
                    "seq_scan": None,
                    "idx_scan": None,
                    "cache_hit": None,
                    "dead_rows": None,
                    "bloat_bytes": unused,
                }
            )
        free = (
            connection.exec_driver_sql("PRAGMA freelist_count").scalar_one() * connection.exec_driver_sql("PRAGMA page_size").scalar_one()
        )
        if free >= rules.BLOAT_MIN_BYTES:
            notes.append(f"The database file holds {size(free)} of free pages: VACUUM; returns them to the file system.")
        return Catalog(
            indexes=tuple(indexes),
            foreign_keys=tuple(foreign_keys),
            tables=tuple(tables),
            rows=rows,
            rowid_keys=rowid_keys,
            notes=tuple(notes),
        )

    def explain(self, connection: Connection, sql: str, params: dict[str, Any], *, text: bool = True) -> dict[str, Any]:
        # The plan is fixed when the statement is prepared, and pysqlite caches prepared statements per connection:
        # a unique comment makes SQLite plan afresh, so a pooled connection cannot show a plan from before a DDL change.
        rows = connection.execute(marked(f"/* {uuid.uuid4().hex} */ EXPLAIN QUERY PLAN {sql}"), params).all()
        return sqlite_plan_shape(rows)

    def index_name(self, table: str, columns: tuple[str, ...]) -> str:
        return f"ix_{table}_{'_'.join(columns)}"

    def drop(self, index: Index) -> tuple[str | None, str | None]:
        if index.constraint_kind:
            if not index.constraint:  # an unnamed constraint: only a table rebuild without it removes it
                return None, None
            return (
                None,
                f'with op.batch_alter_table("{index.table}") as batch_op: '
                f'batch_op.drop_constraint("{index.constraint}", type_="{index.constraint_kind}")',
            )
        return f"DROP INDEX {self.quote(index.name)};", f'op.drop_index("{index.name}", table_name="{index.table}")'

    def create(self, name: str, table: str, columns: tuple[str, ...], schema: str | None = None) -> tuple[str, str]:
        q = self.quote
        listed = ", ".join(f'"{c}"' for c in columns)
        return (
            f"CREATE INDEX {q(name)} ON {q(table)} ({', '.join(q(c) for c in columns)});",
            f'op.create_index("{name}", "{table}", [{listed}])',
        )

    def rebuild_index(self, index: Index) -> tuple[str, str]:
        return f"REINDEX {self.quote(index.name)};", "measured free space in its pages (dbstat)"

    def rebuild_table(self, table: str, schema: str | None = None) -> tuple[str, str]:
        return "VACUUM;", "measured free space in its pages (dbstat); VACUUM rebuilds the whole database file"

    def constraint_drop_note(self) -> str:
        return "; SQLite drops a constraint only by rebuilding the table (Alembic batch mode)"
