"""What revisions written by ``todo-data db revision`` call at run time: for a new NOT NULL column on a populated table
(``backfill``, ``set_not_null``), and for the naming convention's names after ``op.rename_table`` (``rename_constraints``,
``rename_indexes``).

Each step asks the backend of the database being migrated (``Backend.backfill``, ``Backend.set_not_null``): SQLite
rebuilds the table in batch mode; PostgreSQL backfills in batches and sets NOT NULL behind a validated CHECK, so no
ACCESS EXCLUSIVE lock is held for a full scan.
"""

from __future__ import annotations

from typing import Any

from alembic import op

from todo_data.backends import Backend, find_backend
from todo_data.errors import MigrationError
from todo_data.impact.changes import recording


def _backend() -> Backend:
    name = op.get_context().dialect.name
    backend = find_backend(name)
    if backend is None:
        raise MigrationError(f"todo_data's revision steps do not know the {name} backend: write this step by hand for it.")
    return backend


def backfill(table: str, column: str, value: Any) -> None:
    """Set ``table.column`` to ``value`` in every row where it is NULL."""
    recorder = recording(op.get_context())
    if recorder is not None:  # the data impact records what the step means, not the SQL it would send
        recorder.backfill(table, column, value)
        return
    if value is None:
        raise MigrationError(
            f"The revision adds the NOT NULL column {table}.{column} with no value for existing rows: "
            f'edit its backfill("{table}", "{column}", None) line to give one, then upgrade again.'
        )
    _backend().backfill(op, table, column, value)


def set_not_null(table: str, column: str) -> None:
    """Make ``table.column`` NOT NULL once it holds no NULL."""
    recorder = recording(op.get_context())
    if recorder is not None:
        recorder.set_not_null(table, column)
        return
    _backend().set_not_null(op, table, column)


def rename_constraints(table: str, names: dict[str, str]) -> None:
    """Rename ``table``'s constraints (primary key, unique, foreign key, check), ``{old: new}``."""
    recorder = recording(op.get_context())
    if recorder is not None:  # a rename touches no stored value: recorded as what it is, not as SQL the impact cannot read
        recorder.rename_names("rename_constraints", table, names)
        return
    _backend().rename_constraints(op, table, names)


def rename_indexes(table: str, names: dict[str, str]) -> None:
    """Rename ``table``'s indexes, ``{old: new}``."""
    recorder = recording(op.get_context())
    if recorder is not None:
        recorder.rename_names("rename_indexes", table, names)
        return
    _backend().rename_indexes(op, table, names)
