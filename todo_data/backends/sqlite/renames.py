"""SQLite's renames of constraints and indexes inside a revision, after ``op.rename_table``.

SQLite has no ``RENAME CONSTRAINT`` or ``ALTER INDEX ... RENAME``: a constraint's name lives in the table's
``CREATE TABLE``, so the table is rebuilt (Alembic's batch mode) from its reflected definition with the new names; an
index is dropped and made again from its own stored ``CREATE INDEX`` under the new name.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import sqlalchemy as sa

from todo_data.errors import MigrationError


def rename_constraints(operations: Any, table: str, names: dict[str, str]) -> None:
    """Rebuild ``table`` with its constraints ``{old: new}`` renamed, every row copied; ``operations`` is Alembic's ``op``."""
    if operations.get_context().as_sql:
        return  # offline SQL cannot reflect the table; the names are all that changes
    with warnings.catch_warnings():  # an expression's index is made again from its SQL below
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", sa.exc.SAWarning)
        definition = sa.Table(table, sa.MetaData(), autoload_with=operations.get_bind())
    missing = set(names)
    for constraint in definition.constraints:
        if constraint.name in names:
            missing.discard(str(constraint.name))
            constraint.name = names[str(constraint.name)]
    if missing:
        raise MigrationError(f"{table} has no constraint named {', '.join(sorted(missing))} to rename.")
    bind = operations.get_bind()
    stored = _index_definitions(bind, table)  # reflection misses some (an expression's): made again from their SQL
    with operations.batch_alter_table(table, copy_from=definition, recreate="always"):
        pass
    for name, sql in stored.items():
        if name not in _index_definitions(bind, table):
            operations.execute(sql)


def _index_definitions(bind: Any, table: str) -> dict[str, str]:
    rows = bind.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL"), {"table": table}
    )
    return {name: sql for name, sql in rows}


def rename_indexes(operations: Any, table: str, names: dict[str, str]) -> None:
    """Make each index ``old`` again as ``new`` from its stored definition, and drop ``old``."""
    if operations.get_context().as_sql:
        return
    bind = operations.get_bind()
    quote = operations.get_context().dialect.identifier_preparer.quote
    for old, new in names.items():
        sql = bind.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name AND tbl_name = :table"),
            {"name": old, "table": table},
        ).scalar_one_or_none()
        if sql is None:
            raise MigrationError(f"{table} has no index named {old} to rename.")
        pattern = r"^(\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?)(?:\"[^\"]+\"|`[^`]+`|\[[^\]]+\]|\S+)"
        head = re.match(pattern, sql, flags=re.IGNORECASE)
        if head is None:
            raise MigrationError(f"The index {old} of {table} is not a CREATE INDEX SQLite stored: rename it by hand.")
        renamed = head.group(1) + quote(new) + sql[head.end() :]
        operations.execute(f"DROP INDEX {quote(old)}")
        operations.execute(renamed)
