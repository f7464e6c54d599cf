"""Renamed columns: a column one table loses and one of a compatible type it gains is asked about, answered, and
rendered as ``alter_column(new_column_name=...)`` both ways, so the stored values are kept. Renamed tables are found by
:mod:`todo_data.revision.tables` and answered here, the same way (``--rename task=todo``).

Django's ``makemigrations`` asks the same question ("Was task.description renamed to task.notes?"); here the answer
can also be given without a terminal (``--rename task.description=task.notes``), and is recorded in the revision.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import sqlalchemy as sa
from alembic.operations import ops

from todo_data.errors import ConfigurationError
from todo_data.revision.advice import rerun
from todo_data.revision.tables import TableRenameCandidate

Candidate = Union["RenameCandidate", TableRenameCandidate]
Ask = Callable[[Candidate], bool]


@dataclass(frozen=True)
class RenameCandidate:
    """A column ``table.old`` the models no longer have, beside a new ``table.new`` of a compatible type."""

    table: str
    old: str
    new: str

    @property
    def source(self) -> str:
        return f"{self.table}.{self.old}"

    @property
    def target(self) -> str:
        return f"{self.table}.{self.new}"

    def question(self) -> str:
        return f"Did you rename {self.source} to {self.target}? [y/N] "

    def warning(self, written: Path | None = None, given: dict[str, str] | None = None) -> str:
        """Why the unanswered pair matters, and how to answer it (``written``: the file this run writes without it;
        ``given``: the answers this run had, needed again)."""
        return (
            f"{self.source} is dropped and {self.target} added, so the values stored in {self.source} are lost; "
            f"{rerun(self.source, self.target, written, given)}"
        )


def parse_renames(values: list[str] | None) -> dict[str, str]:
    """``["task.description=task.notes", "task=todo"]`` as ``{"task.description": "task.notes", "task": "todo"}``: a column
    within one table, or a table; a bad one is one line of advice."""
    answers: dict[str, str] = {}
    for value in values or []:
        old, _, new = value.partition("=")
        parts_old, parts_new = old.strip().split("."), new.strip().split(".")
        table = len(parts_old) == len(parts_new) == 1 and all([*parts_old, *parts_new])
        column = len(parts_old) == len(parts_new) == 2 and all([*parts_old, *parts_new]) and parts_old[0] == parts_new[0]
        if not (table or column):
            raise ConfigurationError(
                "--rename takes TABLE.OLD=TABLE.NEW for a column within one table (--rename task.description=task.notes) "
                f"or OLD=NEW for a table (--rename task=todo); got {value!r}."
            )
        answers[old.strip()] = new.strip()
    return answers


def ask_on_terminal(candidate: RenameCandidate) -> bool:
    """Ask the person at the terminal; anything but y/yes is no."""
    return input(candidate.question()).strip().lower() in ("y", "yes")


def terminal_asker() -> Ask | None:
    """:func:`ask_on_terminal` when standard input and output are a terminal, else None (nobody to ask)."""
    return ask_on_terminal if sys.stdin.isatty() and sys.stdout.isatty() else None


def _python_type(column: sa.Column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _compatible(dropped: sa.Column, added: sa.Column) -> bool:
    kind = _python_type(dropped)
    return kind is not None and kind is _python_type(added)


def candidates(upgrade_ops: ops.UpgradeOps) -> list[RenameCandidate]:
    """Each (dropped, added) column pair of one table with compatible types, in the order autogenerate found them."""
    found: list[RenameCandidate] = []
    for table_ops in upgrade_ops.ops:
        if not isinstance(table_ops, ops.ModifyTableOps):
            continue
        adds = [item for item in table_ops.ops if isinstance(item, ops.AddColumnOp)]
        drops = [item for item in table_ops.ops if isinstance(item, ops.DropColumnOp)]
        for drop in drops:
            for add in adds:
                if _compatible(drop.to_column(), add.column):
                    found.append(RenameCandidate(table_ops.table_name, drop.column_name, add.column.name))
    return found


def require_known(answers: dict[str, str], found: list[Candidate], *, tables_only: bool = False) -> None:
    """Refuse, in one line listing the pairs there are, an answer that matches no pair found (``tables_only``: check
    only the table answers, before the column pairs of a renamed table can be known)."""
    known = {(candidate.source, candidate.target) for candidate in found}
    for source, target in answers.items():
        if tables_only and "." in source:
            continue
        if (source, target) not in known:
            offered = ", ".join(f"{c.source}={c.target}" for c in found) or (
                "none: no table lost and gained a column of one type, and no new table has the primary key and most columns of one the models lost"
            )
            raise ConfigurationError(
                f"--rename {source}={target} matches no dropped and added column or table of the models; the pairs are: {offered}."
            )


def choose(found: list[Candidate], answers: dict[str, str], ask: Ask | None) -> tuple[list[Candidate], list[Candidate]]:
    """The renames to make among ``found`` (from ``answers``, else asked), and the pairs nobody answered."""
    chosen: list[Candidate] = []
    unanswered: list[Candidate] = []
    used: set[str] = set()
    for candidate in found:
        if candidate.source in used or candidate.target in used:
            continue
        if candidate.source in answers:
            if answers[candidate.source] == candidate.target:
                chosen.append(candidate)
                used.update((candidate.source, candidate.target))
            continue
        if ask is not None:
            if ask(candidate):
                chosen.append(candidate)
                used.update((candidate.source, candidate.target))
            continue
        unanswered.append(candidate)
    return chosen, unanswered


def _type_text(column: sa.Column, dialect: sa.Dialect) -> str:
    return str(column.type.compile(dialect=dialect))


def _rename_op(table: str, dropped: sa.Column, added: sa.Column, dialect: sa.Dialect) -> ops.AlterColumnOp:
    """``alter_column(table, dropped.name, new_column_name=added.name)``, with the type and nullability the added one has."""
    changes: dict[str, object] = {}
    if _type_text(dropped, dialect) != _type_text(added, dialect):
        changes["modify_type"] = added.type
    if bool(dropped.nullable) != bool(added.nullable):
        changes["modify_nullable"] = added.nullable
    return ops.AlterColumnOp(
        table, dropped.name, modify_name=added.name, existing_type=dropped.type, existing_nullable=dropped.nullable, **changes
    )


def _replace(container: ops.OpContainer, table: str, dropped_name: str, added_name: str, dialect: sa.Dialect) -> None:
    """In ``container``'s ops for ``table``, put one rename in place of dropping ``dropped_name`` and adding ``added_name``."""
    for table_ops in container.ops:
        if not isinstance(table_ops, ops.ModifyTableOps) or table_ops.table_name != table:
            continue
        drop = next((o for o in table_ops.ops if isinstance(o, ops.DropColumnOp) and o.column_name == dropped_name), None)
        add = next((o for o in table_ops.ops if isinstance(o, ops.AddColumnOp) and o.column.name == added_name), None)
        if drop is None or add is None:
            continue
        rename = _rename_op(table, drop.to_column(), add.column, dialect)
        position = min(table_ops.ops.index(drop), table_ops.ops.index(add))
        table_ops.ops = [o for o in table_ops.ops if o is not drop and o is not add]
        table_ops.ops.insert(position, rename)
        return


def apply(script: ops.MigrationScript, chosen: list[Candidate], dialect: sa.Dialect) -> None:
    """Rewrite the script's upgrade and downgrade: each chosen column pair becomes a rename, forward and back."""
    for candidate in chosen:
        if not isinstance(candidate, RenameCandidate):
            continue
        _replace(script.upgrade_ops, candidate.table, candidate.old, candidate.new, dialect)
        _replace(script.downgrade_ops, candidate.table, candidate.new, candidate.old, dialect)
