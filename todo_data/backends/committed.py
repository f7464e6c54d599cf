"""The mark a revision step leaves on its connection when it commits part of the revision (PostgreSQL's autocommit
blocks): the revision recorded below it, so a failure after that commit is undone by the revision's own downgrade
(:mod:`todo_data.undo`) instead of leaving half a revision under the previous one's number."""

from __future__ import annotations

from typing import Any

PART_COMMITTED = "todo_data.part_committed"
"""The ``Connection.info`` key: the revision(s) ``alembic_version`` held when the step committed."""


def mark_part_committed(context: Any) -> None:
    """Record, on the migration's connection, that the running revision has just committed part of itself;
    ``context`` is Alembic's ``MigrationContext`` (``op.get_context()``), inside its ``autocommit_block``."""
    if context.as_sql:
        return
    context.connection.info[PART_COMMITTED] = tuple(sorted(context.get_current_heads()))
