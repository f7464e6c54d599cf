"""One line per operation of a revision, for the person who asked for it."""

from __future__ import annotations

from alembic.operations import MigrateOperation, ops

from todo_data.revision.defaults import BackfillOp, SetNotNullOp
from todo_data.revision.tables import RenameConstraintsOp, RenameIndexesOp


def _column_text(column: object) -> str:
    nullable = "NULL" if getattr(column, "nullable", True) else "NOT NULL"
    return f"{getattr(column, 'name', '?')} {getattr(column, 'type', '')} {nullable}"


def _one(op: MigrateOperation) -> str:
    if isinstance(op, ops.AddColumnOp):
        return f"add column {_column_text(op.column)}"
    if isinstance(op, ops.DropColumnOp):
        return f"drop column {op.column_name}"
    if isinstance(op, ops.AlterColumnOp):
        changes = []
        if op.modify_name:
            changes.append(f"rename to {op.modify_name}")
        if op.modify_type is not None:
            changes.append(f"type {op.existing_type} -> {op.modify_type}")
        if op.modify_nullable is not None:
            changes.append("NULL" if op.modify_nullable else "NOT NULL")
        if op.modify_server_default is not False:
            changes.append("drop the server default" if op.modify_server_default is None else "set a server default")
        return f"alter column {op.column_name}: {', '.join(changes) or 'no change'}"
    if isinstance(op, BackfillOp):
        if op.value is None:
            return f"backfill {op.column}: no value yet (fill in the line marked TODO)"
        return f"backfill {op.column} with {op.value!r} where NULL"
    if isinstance(op, SetNotNullOp):
        return f"set {op.column} NOT NULL"
    if isinstance(op, ops.RenameTableOp):
        return f"rename table {op.table_name} to {op.new_table_name}"
    for kind, label in ((ops.CreateTableOp, "create table"), (ops.DropTableOp, "drop table")):
        if isinstance(op, kind):
            return f"{label} {op.table_name}"
    for kind, label in ((ops.CreateIndexOp, "create index"), (ops.DropIndexOp, "drop index")):
        if isinstance(op, kind):
            return f"{label} {op.index_name}"
    constraints = (
        (ops.CreateUniqueConstraintOp, "add unique constraint"),
        (ops.CreateForeignKeyOp, "add foreign key"),
        (ops.CreateCheckConstraintOp, "add check constraint"),
        (ops.CreatePrimaryKeyOp, "add primary key"),
        (ops.DropConstraintOp, "drop constraint"),
    )
    for kind, label in constraints:
        if isinstance(op, kind):
            return f"{label} {op.constraint_name}"
    return type(op).__name__.removesuffix("Op")


def describe_ops(container: ops.OpContainer) -> list[str]:
    """``task: rename column description to notes``-style lines, in the order the revision runs them."""
    lines: list[str] = []
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps):
            lines.extend(f"{op.table_name}: {_one(item)}" for item in op.ops)
        else:
            if isinstance(op, RenameConstraintsOp | RenameIndexesOp):
                kind = "constraint" if isinstance(op, RenameConstraintsOp) else "index"
                lines.extend(f"{op.table}: rename {kind} {old} to {new}" for old, new in op.names.items())
                continue
            table = getattr(op, "table", None) if isinstance(op, BackfillOp | SetNotNullOp) else None
            lines.append(f"{table}: {_one(op)}" if table else _one(op))
    return lines
