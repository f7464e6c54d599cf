"""What a revision does, as data: its ``upgrade()`` or ``downgrade()`` run against Alembic operations that record
each change instead of executing it.

The revision's function runs in an offline (``as_sql``) :class:`~alembic.runtime.migration.MigrationContext` for the
target's dialect, whose ``impl`` is a :class:`RecordingImpl`: Alembic turns each ``op.*`` call (and each
``batch_alter_table`` step) into calls on the impl, and the impl keeps them as :class:`Change` records with the
SQLAlchemy objects Alembic built (columns, constraints, indexes). Nothing is sent to any database.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alembic.ddl.impl import DefaultImpl
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Dialect

ACKNOWLEDGE_MARKER = "acknowledge_data_loss"
"""The module-level list in a revision naming what it destroys on purpose: ``acknowledge_data_loss = ["task.description"]``."""


@dataclass
class Change:
    """One schema change a revision makes: ``kind`` is the Alembic impl call (``drop_column``, ``add_constraint``, ...).

    ``role``: ``run`` for a change the measured run makes now; ``undo`` for one the revision's downgrade would make
    later (what it can give back).
    """

    kind: str
    table: str | None
    column: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    role: str = "run"

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else (self.table or "")
        return f"{self.kind} {where}".strip()


class RecordingImpl(DefaultImpl):
    """An Alembic impl that keeps every change it is asked to make and executes nothing.

    No ``__dialect__`` of its own: Alembic's registry is untouched and operations dispatch as on the default impl.
    """

    def __init__(self, context: MigrationContext) -> None:
        super().__init__(context.dialect, context.connection, True, True, io.StringIO(), {})
        self.changes: list[Change] = []

    def _keep(self, kind: str, where: Any, column: str | None = None, **detail: Any) -> None:
        self.changes.append(Change(kind, None if where is None else str(where), column, detail))

    def requires_recreate_in_batch(self, batch_op: Any) -> bool:
        return False  # batch steps arrive one by one, as on a database that alters in place

    def add_column(self, table_name: str, column: Any, **kw: Any) -> None:
        self._keep("add_column", table_name, column.name, definition=column)

    def drop_column(self, table_name: str, column: Any, **kw: Any) -> None:
        self._keep("drop_column", table_name, column.name, definition=column)

    def alter_column(self, table_name: str, column_name: str, **kw: Any) -> None:
        self._keep("alter_column", table_name, column_name, **kw)

    def add_constraint(self, const: Any, **kw: Any) -> None:
        self._keep("add_constraint", const.table.name if const.table is not None else None, constraint=const)

    def drop_constraint(self, const: Any, **kw: Any) -> None:
        self._keep("drop_constraint", const.table.name if const.table is not None else None, constraint=const)

    def create_index(self, index: Any, **kw: Any) -> None:
        self._keep("create_index", index.table.name if index.table is not None else None, index=index)

    def drop_index(self, index: Any, **kw: Any) -> None:
        self._keep("drop_index", index.table.name if index.table is not None else None, index=index)

    def create_table(self, table: Any, **kw: Any) -> None:
        self._keep("create_table", table.name, table=table)

    def drop_table(self, table: Any, **kw: Any) -> None:
        self._keep("drop_table", table.name, table=table)

    def rename_table(self, old_table_name: str, new_table_name: Any, schema: Any = None) -> None:
        self._keep("rename_table", old_table_name, new_name=str(new_table_name))

    def execute(self, sql: Any, execution_options: Any = None) -> None:
        self._keep("execute", None, sql=str(sql))

    def bulk_insert(self, table: Any, rows: Any, multiinsert: bool = True) -> None:
        self._keep("bulk_insert", getattr(table, "name", None), rows=len(rows))

    def create_table_comment(self, table: Any) -> None:
        self._keep("comment", table.name)

    def drop_table_comment(self, table: Any) -> None:
        self._keep("comment", table.name)

    def create_column_comment(self, column: Any) -> None:
        self._keep("comment", column.table.name if column.table is not None else None, column.name)

    # --- the steps of revisions written by ``todo-data db revision`` (todo_data.revision.steps), kept as what they mean

    def backfill(self, table: str, column: str, value: Any) -> None:
        """``backfill(table, column, value)``: the column's NULLs get ``value`` (None: the revision has none to give yet)."""
        self._keep("backfill", table, column, value=value)

    def set_not_null(self, table: str, column: str) -> None:
        """``set_not_null(table, column)``: the column becomes NOT NULL, in whatever shape the backend runs it."""
        self._keep("set_not_null", table, column)

    def rename_names(self, kind: str, table: str, names: dict[str, str]) -> None:
        """``rename_constraints`` / ``rename_indexes`` (``kind``): new names for ``table``'s constraints or indexes, no data touched."""
        self._keep(kind, table, names=dict(names))


def recording(context: MigrationContext) -> RecordingImpl | None:
    """The recorder of ``context`` when a revision runs only to be recorded, else None (a real or offline-SQL run)."""
    return context.impl if isinstance(context.impl, RecordingImpl) else None


def record(function: Callable[[], None], dialect: Dialect, role: str = "run") -> list[Change]:
    """The changes ``function`` (a revision's ``upgrade`` or ``downgrade``) makes on ``dialect``, executing none.

    Raises whatever the function raises (a revision that reads the database through ``op.get_bind()`` cannot run offline).
    """
    context = MigrationContext.configure(dialect=dialect, opts={"as_sql": True, "output_buffer": io.StringIO()})
    recorder = RecordingImpl(context)
    context.impl = recorder
    with Operations.context(context):
        function()
    for change in recorder.changes:
        change.role = role
    return recorder.changes


def acknowledged(module: Any) -> frozenset[str]:
    """What a revision module acknowledges it destroys (``table.column`` or ``table``), from :data:`ACKNOWLEDGE_MARKER`."""
    names = getattr(module, ACKNOWLEDGE_MARKER, None) or ()
    if isinstance(names, str):
        names = (names,)
    return frozenset(str(name) for name in names)
