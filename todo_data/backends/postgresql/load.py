"""PostgreSQL's bulk load target: Arrow batches in by COPY BINARY through ADBC, DDL on the same connection and transaction."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from todo_data.backends.load import LoadTarget
from todo_data.db import describe_connection_error
from todo_data.errors import ConnectionFailed

# Index builds sort in memory up to this much (session-local, and only ever raised).
PG_MAINTENANCE_WORK_MEM = "256MB"
# Every constraint of the tables (and foreign key pointing at them) and every index not backing a constraint,
# except what something else leans on (CLUSTER ON, replica identity, an invalid index): with the statements to
# drop and restore each. Drops run foreign keys first; restores run in the reverse order.
PG_SECONDARY_OBJECTS = """
WITH targets AS (SELECT to_regclass(name) AS oid FROM unnest(ARRAY[{tables}]) AS name),
kept_index AS (SELECT indexrelid FROM pg_index WHERE indisclustered OR indisreplident OR NOT indisvalid),
items AS (
    SELECT CASE c.contype WHEN 'f' THEN 3 ELSE 1 END AS step, c.conname AS name,
           format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_sql,
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) AS create_sql,
           CASE WHEN d.description IS NOT NULL
                THEN format('COMMENT ON CONSTRAINT %I ON %s IS %L', c.conname, c.conrelid::regclass, d.description) END AS comment_sql
    FROM pg_constraint c
    LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_constraint'::regclass
    WHERE c.conislocal AND c.contype IN ('p', 'u', 'x', 'c', 'f')
      AND (c.conrelid IN (SELECT oid FROM targets) OR (c.contype = 'f' AND c.confrelid IN (SELECT oid FROM targets)))
      AND (c.contype = 'f' OR c.conindid = 0 OR c.conindid NOT IN (SELECT indexrelid FROM kept_index))
    UNION ALL
    SELECT 2, ic.relname,
           format('DROP INDEX %s', i.indexrelid::regclass),
           pg_get_indexdef(i.indexrelid),
           CASE WHEN d.description IS NOT NULL THEN format('COMMENT ON INDEX %s IS %L', i.indexrelid::regclass, d.description) END
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    LEFT JOIN pg_description d ON d.objoid = i.indexrelid AND d.classoid = 'pg_class'::regclass
    WHERE i.indrelid IN (SELECT oid FROM targets) AND i.indexrelid NOT IN (SELECT indexrelid FROM kept_index)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
)
SELECT drop_sql, create_sql, comment_sql FROM items ORDER BY step DESC, name DESC
"""


class PostgresLoadTarget(LoadTarget):
    """PostgreSQL through ADBC: Arrow batches go in by COPY BINARY; the DDL runs on the same connection and transaction."""

    connection: Any = None

    def open(self) -> None:
        import adbc_driver_postgresql.dbapi

        uri = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self.connection = adbc_driver_postgresql.dbapi.connect(uri)  # autocommit off: one transaction until commit
        except adbc_driver_postgresql.dbapi.Error as exc:
            raise ConnectionFailed(describe_connection_error(exc, self.url)) from None
        self.cursor = self.connection.cursor()
        self.execute(f"LOCK TABLE {', '.join(self.tables)} IN SHARE ROW EXCLUSIVE MODE")  # one loader at a time; readers go on

    def close(self) -> None:
        if self.connection is not None:
            self.cursor.close()
            self.connection.close()
            self.connection = None

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        if self.connection is not None:
            self.connection.rollback()

    def execute(self, statement: str) -> list[tuple[Any, ...]]:
        self.cursor.execute(statement)
        return self.cursor.fetchall() if self.cursor.description else []

    def copy(self, table: str, rows: pa.RecordBatchReader) -> None:
        self.cursor.adbc_ingest(table, rows, mode="append")

    def drop_secondary(self) -> list[str]:
        self.execute(f"LOCK TABLE {', '.join(self.tables)} IN ACCESS EXCLUSIVE MODE")
        self.execute(
            f"SELECT set_config('maintenance_work_mem', '{PG_MAINTENANCE_WORK_MEM}', true) "
            f"WHERE pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes('{PG_MAINTENANCE_WORK_MEM}')"
        )
        restore: list[str] = []
        for drop, create, comment in self.execute(PG_SECONDARY_OBJECTS.format(tables=", ".join(f"'{t}'" for t in self.tables))):
            self.execute(drop)
            restore[:0] = [create, comment] if comment else [create]
        return restore

    def finish(self) -> None:
        for table in (table for table in ("task", "task_relationships") if table in self.tables):
            self.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} HAVING max(id) IS NOT NULL")
        self.execute(f"ANALYZE {', '.join(self.tables)}")
