"""PostgreSQL's NOT NULL on a populated column without holding ACCESS EXCLUSIVE while the table is read or written.

The revision's transaction is committed before the first step (Alembic's ``autocommit_block``), so the brief ACCESS
EXCLUSIVE of the new column is not held through the rest; each step marks the connection as it commits
(:mod:`todo_data.backends.committed`), so a failure after is undone by the revision's downgrade (the steps come last
in a written revision). The backfill runs in batches of primary keys, each batch its own transaction. ``SET NOT
NULL`` alone would scan the whole table under ACCESS EXCLUSIVE; instead a ``CHECK (column IS NOT NULL) NOT VALID`` is
added (a moment's lock), ``VALIDATE CONSTRAINT`` scans under SHARE UPDATE EXCLUSIVE (reads and writes go on), ``SET
NOT NULL`` trusts the valid check and skips its scan (PostgreSQL 12+), and the check is dropped. The steps can run
again: a check a failed run left is dropped first, and a failure drops its check.
"""

from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa

from todo_data.backends.committed import mark_part_committed

BATCH_ROWS = 10_000


def not_null_check_name(table: str, column: str) -> str:
    """The temporary check's name, in the naming convention's ``ck_<table>_<name>`` shape (PostgreSQL keeps 63 bytes)."""
    return f"ck_{table}_{column}_not_null"[:63]


def backfill(operations: Any, table: str, column: str, value: Any) -> None:
    """Set ``column`` to ``value`` where it is NULL, ``BATCH_ROWS`` primary keys per transaction; ``operations`` is Alembic's ``op``."""
    context = operations.get_context()
    target = sa.table(table, sa.column(column))
    single = target.update().where(target.c[column].is_(None)).values({column: sa.literal(value)})
    if context.as_sql:
        operations.execute(single)  # offline SQL: one statement shows what runs
        return
    keys = sa.inspect(operations.get_bind()).get_pk_constraint(table).get("constrained_columns") or []
    with context.autocommit_block():
        mark_part_committed(context)
        if len(keys) != 1:
            operations.execute(single)
            return
        key = sa.column(keys[0])
        keyed = sa.table(table, sa.column(column), key)
        last = None
        while True:
            chosen = sa.select(key).select_from(keyed).where(keyed.c[column].is_(None)).order_by(key).limit(BATCH_ROWS)
            if last is not None:
                chosen = chosen.where(key > last)
            statement = keyed.update().where(key.in_(chosen.scalar_subquery())).values({column: sa.literal(value)}).returning(key)
            done = [row[0] for row in operations.get_bind().execute(statement)]
            if not done:
                return
            last = max(done)


def set_not_null(operations: Any, table: str, column: str) -> None:
    """The four statements, each its own transaction; ``operations`` is Alembic's ``op``. A check left by a failed run
    is dropped first (read from the catalogue, so the plan and offline SQL show no extra DROP); a failure drops the
    check (when it can) before it is raised."""
    context = operations.get_context()
    quote = context.dialect.identifier_preparer.quote
    check = not_null_check_name(table, column)
    name, target, field = quote(check), quote(table), quote(column)
    with context.autocommit_block():
        mark_part_committed(context)
        if not context.as_sql and check in {found["name"] for found in sa.inspect(operations.get_bind()).get_check_constraints(table)}:
            operations.execute(f"ALTER TABLE {target} DROP CONSTRAINT {name}")
        try:
            operations.execute(f"ALTER TABLE {target} ADD CONSTRAINT {name} CHECK ({field} IS NOT NULL) NOT VALID")
            operations.execute(f"ALTER TABLE {target} VALIDATE CONSTRAINT {name}")
            operations.execute(f"ALTER TABLE {target} ALTER COLUMN {field} SET NOT NULL")
            operations.execute(f"ALTER TABLE {target} DROP CONSTRAINT {name}")
        except Exception:
            if not context.as_sql:
                with contextlib.suppress(sa.exc.DBAPIError):
                    operations.execute(f"ALTER TABLE {target} DROP CONSTRAINT IF EXISTS {name}")
            raise
