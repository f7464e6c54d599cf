"""Renamed tables: a table the compared database holds and the models no longer have, beside a new model table with
the same columns (or the same primary key and most of its columns, as the only such pair), is asked about ("Did you
rename task to todo?"), answered, and rendered as ``op.rename_table`` both ways, so its rows are kept; the columns the
new table adds, drops or changes are then altered on the renamed table, as autogenerate would on a kept one.

Autogenerate sees only a new table (the old one is no longer the models', so it is left alone, see
``chain.include_name``; or dropped, where ``MANAGED_TABLES`` names it). The names the naming convention derives from
the table's name (``pk_``, ``uq_``, ``fk_``, ``ck_``, ``ix_``) are renamed with it, through the revision steps
``rename_constraints`` and ``rename_indexes`` (:mod:`todo_data.revision.steps`), so ``check`` finds the database as
the models describe it; a name written out in the models (``ix_task_relationships_child_task_id``) stays as it is.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.operations import MigrateOperation, ops
from sqlalchemy.engine import Inspector

from todo_data.revision.advice import rerun

STEPS_IMPORT = "from todo_data.revision.steps import rename_constraints, rename_indexes"


@dataclass(frozen=True)
class TableRenameCandidate:
    """A table ``old`` the models no longer have, beside a new model table ``new`` with the same columns, or with
    ``common`` of them (the same primary key and most of the others)."""

    old: str
    new: str
    dropped: bool = False  # whether autogenerate drops ``old`` (a table MANAGED_TABLES names), else it is left in place
    constraints: dict[str, str] = field(default_factory=dict)  # the convention's names: old name -> new name
    indexes: dict[str, str] = field(default_factory=dict)
    kept_indexes: frozenset[str] = frozenset()  # indexes the new table has under the same name
    common: tuple[int, int] | None = None  # (columns in common, columns ``old`` has) when not all the same

    @property
    def source(self) -> str:
        return self.old

    @property
    def target(self) -> str:
        return self.new

    def question(self) -> str:
        return f"Did you rename {self.old} to {self.new}? [y/N] "

    def warning(self, written: Path | None = None, given: dict[str, str] | None = None) -> str:
        """Why the unanswered pair matters, and how to answer it (``written``: the file this run writes without it;
        ``given``: the answers this run had, needed again)."""
        fate = "dropped with its rows" if self.dropped else "left as it is with its rows (no longer in the models)"
        columns = "the same columns" if self.common is None else f"{self.common[0]} of its {self.common[1]} columns"
        return f"{self.new} is created empty and {self.old}, which has {columns}, is {fate}; {rerun(self.old, self.new, written, given)}"


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


def _columns(columns: list[tuple[str, sa.types.TypeEngine]]) -> dict[str, type | None]:
    return {name: _python_type(type_) for name, type_ in columns}


def _similarity(old: dict[str, type | None], new: dict[str, type | None], old_key: list[str], new_key: list[str]) -> int | None:
    """How many columns ``old`` and ``new`` share (same name, same Python type), when they may be one table renamed:
    all columns alike, or the same primary key and a majority of the other columns of the wider one alike; else None."""
    common = {name for name in old.keys() & new.keys() if old[name] is new[name]}
    if old and old.keys() == new.keys() == common:
        return len(common)
    if not old_key or sorted(old_key) != sorted(new_key) or not set(old_key) <= common:
        return None
    others = common - set(old_key)
    wider = max(len(old) - len(old_key), len(new) - len(new_key))
    return len(common) if 2 * len(others) > wider else None


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


def _unambiguous(pairs: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
    """The pairs whose old table matches no other new one and whose new table matches no other old one."""
    olds = [old for old, _ in pairs]
    news = [new for _, new in pairs]
    return {(old, new) for old, new in pairs if olds.count(old) == 1 and news.count(new) == 1}


def candidates(upgrade_ops: ops.UpgradeOps, inspector: Inspector, model_tables: set[str]) -> list[TableRenameCandidate]:
    """Each (gone, created) table pair that may be one table renamed, with the names its constraints and indexes
    change to: every pair with the same columns, as Django asks; a pair with the same primary key and most columns in
    common only when neither table has another such match."""
    created = [item for item in upgrade_ops.ops if isinstance(item, ops.CreateTableOp)]
    if not created:
        return []
    dropped = {item.table_name for item in upgrade_ops.ops if isinstance(item, ops.DropTableOp)}
    gone = sorted((set(inspector.get_table_names()) - model_tables - {"alembic_version"}) | dropped)
    reflected = {old: inspector.get_columns(old) for old in gone}
    keys = {old: list(inspector.get_pk_constraint(old).get("constrained_columns") or []) for old in gone}
    exact: list[tuple[str, str]] = []
    partial: dict[tuple[str, str], int] = {}
    tables: dict[str, sa.Table] = {}
    for create in created:
        table = tables[create.table_name] = create.to_table()
        new = _columns([(column.name, column.type) for column in table.columns])
        new_key = [column.name for column in table.primary_key.columns]
        for old in gone:
            before = _columns([(column["name"], column["type"]) for column in reflected[old]])
            common = _similarity(before, new, keys[old], new_key)
            if common is None:
                continue
            if common == len(before) == len(new):
                exact.append((old, create.table_name))
            else:
                partial[(old, create.table_name)] = common
    matched = _unambiguous({**dict.fromkeys(exact, 0), **partial})
    found: list[TableRenameCandidate] = []
    for old, new_name in [*exact, *(pair for pair in partial if pair in matched)]:
        table = tables[new_name]
        constraint_names = {str(item.name) for item in table.constraints if item.name}
        constraints, _ = _renamed(constraint_names, _constraint_names(inspector, old), old, new_name)
        indexes, kept = _renamed(_created_indexes(upgrade_ops, new_name), _index_names(inspector, old), old, new_name)
        common = (partial[(old, new_name)], len(reflected[old])) if (old, new_name) in partial else None
        found.append(TableRenameCandidate(old, new_name, old in dropped, constraints, indexes, frozenset(kept), common))
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


def _reflected(autogen_context: AutogenContext, name: str) -> sa.Table:
    """``name`` as the compared database has it, read the way autogenerate reads a table (the dialect's corrections)."""
    table = sa.Table(name, sa.MetaData(), listeners=[("column_reflect", autogen_context.migration_context.impl.autogen_column_reflect)])
    autogen_context.inspector.reflect_table(table, None)
    return table


def column_changes(autogen_context: AutogenContext, candidate: TableRenameCandidate) -> ops.ModifyTableOps:
    """What makes the columns of ``old``, once renamed ``new``, those of the model table ``new``: autogenerate's own
    add, alter (its column comparators: type, nullability, server default, comment) and drop, on ``new``; then the
    unique constraints and foreign keys of the model table the renamed one lacks (on a new column, say)."""
    old, new = candidate.old, candidate.new
    existing = _reflected(autogen_context, old)
    table = autogen_context.table_key_to_table[new]
    changes = ops.ModifyTableOps(new, [], schema=table.schema)
    wanted = {column.name: column for column in table.columns if not column.system}
    for name, column in wanted.items():
        if name not in existing.c:
            changes.ops.append(ops.AddColumnOp.from_column_and_tablename(table.schema, new, column))
            continue
        alter = ops.AlterColumnOp(new, name, schema=table.schema)
        compare = autogen_context.comparators.dispatch("column", qualifier=autogen_context.dialect.name)
        compare(autogen_context, alter, table.schema, new, name, existing.c[name], column)
        if alter.has_changes():
            changes.ops.append(alter)
    for column in existing.columns:
        if column.name not in wanted:
            changes.ops.append(ops.DropColumnOp.from_column_and_tablename(table.schema, new, column))
    renamed = {candidate.constraints.get(name, name) for name in _constraint_names(autogen_context.inspector, old)}
    for constraint in sorted(table.constraints, key=lambda item: str(item.name)):
        if isinstance(constraint, sa.UniqueConstraint | sa.ForeignKeyConstraint) and constraint.name and constraint.name not in renamed:
            changes.ops.append(ops.AddConstraintOp.from_constraint(constraint))
    return changes


def apply(script: ops.MigrationScript, chosen: list[TableRenameCandidate], autogen_context: AutogenContext) -> None:
    """Rewrite the upgrade and downgrade: each chosen pair becomes ``rename_table`` and its names' renames, then the
    column changes on the renamed table; back, the column changes undone, then the renames back."""
    for candidate in chosen:
        old, new = candidate.old, candidate.new
        handled = set(candidate.indexes.values()) | set(candidate.kept_indexes)
        columns = column_changes(autogen_context, candidate)
        upgrade: list[MigrateOperation] = []
        for item in script.upgrade_ops.ops:
            if isinstance(item, ops.CreateTableOp) and item.table_name == new:
                upgrade.append(ops.RenameTableOp(old, new))
                upgrade.extend(_rename_steps(new, candidate.constraints, candidate.indexes))
                if columns.ops:
                    upgrade.append(columns)
            elif not (isinstance(item, ops.DropTableOp) and item.table_name == old):
                upgrade.append(item)
        script.upgrade_ops.ops = upgrade
        _without_indexes(script.upgrade_ops, new, handled)

        back = {value: key for key, value in candidate.constraints.items()}
        back_indexes = {value: key for key, value in candidate.indexes.items()}
        # Back: first what still runs on ``new`` (its new indexes dropped, then its columns as they were), then the
        # rename, then the rest, which may name ``old`` (a foreign key made again to it, that PostgreSQL checks at once).
        on_new = [item for item in script.downgrade_ops.ops if isinstance(item, ops.ModifyTableOps) and item.table_name == new]
        rest = [
            item
            for item in script.downgrade_ops.ops
            if item not in on_new
            and not (isinstance(item, ops.DropTableOp) and item.table_name == new)
            and not (isinstance(item, ops.CreateTableOp) and item.table_name == old)
        ]
        undo = [columns.reverse()] if columns.ops else []
        script.downgrade_ops.ops = [*on_new, *undo, *_rename_steps(new, back, back_indexes), ops.RenameTableOp(new, old), *rest]
        _without_indexes(script.downgrade_ops, new, handled)
