"""New NOT NULL columns that work on populated tables.

Autogenerate writes ``add_column(..., nullable=False)`` with no server default, which fails on every table that holds
rows. Here a scalar ``Field(default=...)`` becomes a server default that fills the existing rows, dropped right after
so the database matches the models; a callable default (evaluated once, when the revision is written) or none becomes
add nullable, backfill, set NOT NULL, through :mod:`todo_data.revision.steps`, which each backend runs its own way.
"""

from __future__ import annotations

import ast
import datetime
import enum
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.operations import MigrateOperation, ops

STEPS_IMPORT = "from todo_data.revision.steps import backfill, set_not_null"


@dataclass(frozen=True)
class NotNullColumn:
    """A new NOT NULL column and how the revision fills the rows a table already holds."""

    table: str
    column: str
    how: str  # "server_default", "backfill" or "needs_value"
    value: Any = None

    def describe(self) -> str:
        where = f"{self.table}.{self.column}"
        if self.how == "server_default":
            return f"{where}: NOT NULL, existing rows get the default {self.value!r} (a server default, dropped after)"
        if self.how == "backfill":
            return f"{where}: NOT NULL, added nullable, existing rows backfilled with {self.value!r}, then set NOT NULL"
        return (
            f"{where}: NOT NULL with no default, so existing rows have no value: edit the backfill(...) line marked TODO "
            "in the revision before upgrading (or give the field a default)"
        )


class BackfillOp(MigrateOperation):
    """``backfill(table, column, value)`` in a revision: fill a new column's NULLs."""

    def __init__(self, table: str, column: str, value: Any) -> None:
        self.table, self.column, self.value = table, column, value


class SetNotNullOp(MigrateOperation):
    """``set_not_null(table, column)`` in a revision."""

    def __init__(self, table: str, column: str) -> None:
        self.table, self.column = table, column


def _literal(value: Any, autogen_context: AutogenContext) -> str:
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        autogen_context.imports.add("import datetime")
    return repr(value)


@renderers.dispatch_for(BackfillOp)
def _render_backfill(autogen_context: AutogenContext, op: BackfillOp) -> str:
    autogen_context.imports.add(STEPS_IMPORT)
    if op.value is None:
        return f"backfill({op.table!r}, {op.column!r}, None)  # TODO: the value existing {op.table} rows get"
    return f"backfill({op.table!r}, {op.column!r}, {_literal(op.value, autogen_context)})"


@renderers.dispatch_for(SetNotNullOp)
def _render_set_not_null(autogen_context: AutogenContext, op: SetNotNullOp) -> str:
    autogen_context.imports.add(STEPS_IMPORT)
    return f"set_not_null({op.table!r}, {op.column!r})"


def _server_default(value: Any) -> Any:
    """A scalar as a server default both backends take, or None when it has no portable SQL literal."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return sa.text("true" if value else "false")
    if isinstance(value, int | float | Decimal):
        return sa.text(str(value))
    if isinstance(value, str):
        return value
    return None


def _plain(value: Any) -> Any:
    """A value a revision can hold as a Python literal (a UUID as its text, an enum as its value), else None."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return value
    try:
        ast.literal_eval(repr(value))
    except (ValueError, SyntaxError):
        return None
    return value


def _needs_filling(column: sa.Column) -> bool:
    return column.nullable is False and column.server_default is None and not column.primary_key


def _copy(column: sa.Column, **changes: Any) -> sa.Column:
    """The column as ``add_column`` renders it (name, type, NULL, server default, comment), with ``changes``."""
    settings: dict[str, Any] = {"nullable": column.nullable, "server_default": column.server_default, "comment": column.comment}
    settings.update(changes)
    return sa.Column(column.name, column.type, **settings)


def apply(script: ops.MigrationScript) -> list[NotNullColumn]:
    """Rewrite each new NOT NULL column of the upgrade to the steps that work on a populated table; what was done.

    Every backfill and set_not_null goes after every other operation: on a backend whose steps commit as they go
    (PostgreSQL), a step that fails finds the rest of the revision committed, which its downgrade undoes whole.
    """
    done: list[NotNullColumn] = []
    rewritten: list[ops.MigrateOperation] = []
    steps: list[ops.MigrateOperation] = []
    for table_ops in script.upgrade_ops.ops:
        rewritten.append(table_ops)
        if not isinstance(table_ops, ops.ModifyTableOps):
            continue
        after: list[ops.MigrateOperation] = []
        for position, item in enumerate(table_ops.ops):
            if not (isinstance(item, ops.AddColumnOp) and _needs_filling(item.column)):
                continue
            column, table = item.column, table_ops.table_name
            default = column.default
            scalar = default is not None and default.is_scalar
            server_default = _server_default(default.arg) if scalar else None
            if server_default is not None:
                table_ops.ops[position] = ops.AddColumnOp(table, _copy(column, server_default=sa.DefaultClause(server_default)))
                after.append(
                    ops.ModifyTableOps(
                        table,
                        [
                            ops.AlterColumnOp(
                                table, column.name, modify_server_default=None, existing_type=column.type, existing_nullable=False
                            )
                        ],
                    )
                )
                done.append(NotNullColumn(table, column.name, "server_default", default.arg))
                continue
            value = None
            if scalar:
                value = _plain(default.arg)
            elif default is not None and default.is_callable:
                value = _plain(default.arg(None))  # SQLAlchemy wraps a no-argument callable to take a context
            table_ops.ops[position] = ops.AddColumnOp(table, _copy(column, nullable=True))
            steps.extend([BackfillOp(table, column.name, value), SetNotNullOp(table, column.name)])
            done.append(NotNullColumn(table, column.name, "backfill" if value is not None else "needs_value", value))
        rewritten.extend(after)
    script.upgrade_ops.ops = rewritten + steps
    return done
