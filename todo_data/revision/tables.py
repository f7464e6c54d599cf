"""Renamed tables: a table the compared database holds and the models no longer have, beside a new model table with
the same columns, is asked about ("Did you rename task to todo?"), answered, and rendered as ``op.rename_table`` both
ways, so its rows are kept.

Autogenerate sees only a new table (the old one is no longer the models', so it is left alone, see
``chain.include_name``; or dropped, where ``MANAGED_TABLES`` names it). The names the naming convention derives from
the table's name (``pk_``, ``uq_``, ``fk_``, ``ck_``, ``ix_``) are renamed with it, through the revision steps
``rename_constraints`` and ``rename_indexes`` (:mod:`todo_data.revision.steps`), so ``check`` finds the database as
the models describe it; a name written out in the models (``ix_task_relationships_child_task_id``) stays as it is.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.operations import MigrateOperation, ops
from sqlalchemy.engine import Inspector

STEPS_IMPORT = "from todo_data.revision.steps import rename_constraints, rename_indexes"


@dataclass(frozen=True)
class TableRenameCandidate:
    """A table ``old`` the models no longer have, beside a new model table ``new`` with the same columns."""

    old: str
    new: str
    dropped: bool = False  # whether autogenerate drops ``old`` (a table MANAGED_TABLES names), else it is left in place
    constraints: dict[str, str] = field(default_factory=dict)  # the convention's names: old name -> new name
    indexes: dict[str, str] = field(default_factory=dict)
    kept_indexes: frozenset[str] = frozenset()  # indexes the new table has under the same name

    @property
    def source(self) -> str:
        return self.old

    @property
    def target(self) -> str:
        return self.new

    def question(self) -> str:
        return f"Did you rename {self.old} to {self.new}? [y/N] "

    def warning(self) -> str:
        fate = "dropped with its rows" if self.dropped else "left as it is with its rows (no longer in the models)"
        return (
            f"{self.new} is created empty and {self.old}, which has the same columns, is {fate}; "
            f"if it is a rename, run again with --rename {self.old}={self.new} "
            f"(plain Alembic: alembic -x rename={self.old}={self.new} revision --autogenerate)"
        )


class RenameConstraintsOp(MigrateOperation):
    """``rename_constraints(table, {old: new})`` in a revision."""

    def __init__(self, table: str, names: dict[str, str]) -> None:
        self.table, self.names = table, names


class RenameIndexesOp(MigrateOperation):
    """``rename_indexes(table, {old: new})`` in a revision."""

    def __init__(self, table: str, names: dict[str, str]) -> None:
        self.table, self.names = table, names


@renderers.dispatch_for(ops.RenameTableOp)
def _render_rename_table(autogen_context: AutogenContext, op: ops.RenameTableOp) -> str:
    """``op.rename_table(old, new)``: Alembic renders no ``RenameTableOp`` of its own (autogenerate never makes one)."""
    return f"op.rename_table({op.table_name!r}, {op.new_table_name!r})"


@renderers.dispatch_for(RenameConstraintsOp)
def _render_constraints(autogen_context: AutogenContext, op: RenameConstraintsOp) -> str:
    autogen_context.imports.add(STEPS_IMPORT)
    return f"rename_constraints({op.table!r}, {op.names!r})"


@renderers.dispatch_for(RenameIndexesOp)
def _render_indexes(autogen_context: AutogenContext, op: RenameIndexesOp) -> str:
    autogen_context.imports.add(STEPS_IMPORT)
    return f"rename_indexes({op.table!r}, {op.names!r})"


def _python_type(type_: sa.types.TypeEngine) -> type | None:
    """The Python type a column holds; a decorated type's (``UTCDateTime``) is its underlying type's."""
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    try:
        return type_.python_type
    except NotImplementedError:
        return None


def _same_columns(reflected: list[dict], created: list[sa.Column]) -> bool:
    """The same column names, each of the same Python type (text and text, integer and integer)."""
    old = {column["name"]: _python_type(column["type"]) for column in reflected}
    new = {column.name: _python_type(column.type) for column in created}
    return bool(old) and old.keys() == new.keys() and all(old[name] is new[name] for name in old)


def _constraint_names(inspector: Inspector, table: str) -> set[str]:
    names = {inspector.get_pk_constraint(table).get("name")}
    names.update(item.get("name") for item in inspector.get_unique_constraints(table))
    names.update(item.get("name") for item in inspector.get_foreign_keys(table))
    with contextlib.suppress(NotImplementedError):
        names.update(item.get("name") for item in inspector.get_check_constraints(table))
    return {name for name in names if name}


def _index_names(inspector: Inspector, table: str) -> set[str]:
    return {item["name"] for item in inspector.get_indexes(table) if item.get("name") and not item.get("duplicates_constraint")}


def _renamed(new_names: set[str], old_names: set[str], old: str, new: str) -> tuple[dict[str, str], set[str]]:
    """Which of the new table's names are an old one with the table's name changed (old -> new), and which it keeps."""
    renamed: dict[str, str] = {}
    kept: set[str] = set()
    for name in sorted(new_names):
        if name in old_names:
            kept.add(name)
        elif new in name and name.replace(new, old, 1) in old_names:
            renamed[name.replace(new, old, 1)] = name
    return renamed, kept


def _created_indexes(upgrade_ops: ops.UpgradeOps, table: str) -> set[str]:
    return {
        str(item.index_name)
        for table_ops in upgrade_ops.ops
        if isinstance(table_ops, ops.ModifyTableOps) and table_ops.table_name == table
        for item in table_ops.ops
        if isinstance(item, ops.CreateIndexOp) and item.index_name
    }


def candidates(upgrade_ops: ops.UpgradeOps, inspector: Inspector, model_tables: set[str]) -> list[TableRenameCandidate]:
    """Each (gone, created) table pair with the same columns, with the names its constraints and indexes change to."""
    created = [item for item in upgrade_ops.ops if isinstance(item, ops.CreateTableOp)]
    if not created:
        return []
    dropped = {item.table_name for item in upgrade_ops.ops if isinstance(item, ops.DropTableOp)}
    gone = sorted((set(inspector.get_table_names()) - model_tables - {"alembic_version"}) | dropped)
    found: list[TableRenameCandidate] = []
    for create in created:
        table = create.to_table()
        for old in gone:
            if not _same_columns(inspector.get_columns(old), list(table.columns)):
                continue
            constraint_names = {str(item.name) for item in table.constraints if item.name}
            constraints, _ = _renamed(constraint_names, _constraint_names(inspector, old), old, create.table_name)
            indexes, kept = _renamed(_created_indexes(upgrade_ops, create.table_name), _index_names(inspector, old), old, create.table_name)
            found.append(TableRenameCandidate(old, create.table_name, old in dropped, constraints, indexes, frozenset(kept)))
    return found


def _without_indexes(container: ops.OpContainer, table: str, names: set[str]) -> None:
    """Drop the create/drop index operations on ``table`` for ``names`` (the rename keeps or renames those indexes)."""
    kept: list[MigrateOperation] = []
    for item in container.ops:
        if isinstance(item, ops.ModifyTableOps) and item.table_name == table:
            item.ops = [op for op in item.ops if not (isinstance(op, ops.CreateIndexOp | ops.DropIndexOp) and str(op.index_name) in names)]
            if not item.ops:
                continue
        kept.append(item)
    container.ops = kept


def _rename_steps(table: str, constraints: dict[str, str], indexes: dict[str, str]) -> list[MigrateOperation]:
    steps: list[MigrateOperation] = []
    if constraints:
        steps.append(RenameConstraintsOp(table, constraints))
    if indexes:
        steps.append(RenameIndexesOp(table, indexes))
    return steps


def apply(script: ops.MigrationScript, chosen: list[TableRenameCandidate]) -> None:
    """Rewrite the upgrade and downgrade: each chosen pair becomes ``rename_table`` and its names' renames, both ways."""
    for candidate in chosen:
        old, new = candidate.old, candidate.new
        handled = set(candidate.indexes.values()) | set(candidate.kept_indexes)
        upgrade: list[MigrateOperation] = []
        for item in script.upgrade_ops.ops:
            if isinstance(item, ops.CreateTableOp) and item.table_name == new:
                upgrade.append(ops.RenameTableOp(old, new))
                upgrade.extend(_rename_steps(new, candidate.constraints, candidate.indexes))
            elif not (isinstance(item, ops.DropTableOp) and item.table_name == old):
                upgrade.append(item)
        script.upgrade_ops.ops = upgrade
        _without_indexes(script.upgrade_ops, new, handled)

        back = {value: key for key, value in candidate.constraints.items()}
        back_indexes = {value: key for key, value in candidate.indexes.items()}
        # Back: first what still runs on ``new``, then the rename, then the rest, which may name ``old`` (a foreign
        # key made again to it, that PostgreSQL checks at once).
        on_new = [item for item in script.downgrade_ops.ops if isinstance(item, ops.ModifyTableOps) and item.table_name == new]
        rest = [
            item
            for item in script.downgrade_ops.ops
            if item not in on_new
            and not (isinstance(item, ops.DropTableOp) and item.table_name == new)
            and not (isinstance(item, ops.CreateTableOp) and item.table_name == old)
        ]
        script.downgrade_ops.ops = [*on_new, *_rename_steps(new, back, back_indexes), ops.RenameTableOp(new, old), *rest]
        _without_indexes(script.downgrade_ops, new, handled)
