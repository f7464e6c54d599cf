"""What to do about a rename nobody answered, and about an answer that answers nothing.

A revision written without the answer to "did you rename?" drops and adds; run again with ``--rename`` while that file
is still there, and the models already match it (head), so the answer has no question left. The warning says to delete
the file first, and a ``--rename`` that answers nothing is refused, naming the head file that was written without it
(read from head's own upgrade, recorded by :func:`todo_data.impact.changes.record`, never run).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Dialect

from todo_data.chain import down_revision


def rerun(source: str, target: str, written: Path | None, given: dict[str, str] | None = None) -> str:
    """The end of an unanswered pair's warning: delete the file this run writes, then run again with the answer and
    those ``given`` already (``--rename task=todo`` still needed beside ``--rename todo.description=todo.notes``)."""
    delete = f"delete {written} (written now without it) and " if written is not None else ""
    pairs = [f"{old}={new}" for old, new in {**(given or {}), source: target}.items()]
    return (
        f"if it is a rename, {delete}run again with {' '.join(f'--rename {pair}' for pair in pairs)} "
        f"(plain Alembic: alembic -x rename={','.join(pairs)} revision --autogenerate)"
    )


def _without(head: Script, source: str, target: str, dialect: Dialect) -> str | None:
    """What head's upgrade does instead of renaming ``source`` to ``target`` ("drops task.description and adds
    task.notes"), or None when it does not (or cannot be read without a database)."""
    from todo_data.impact.changes import record  # pandas, only when there is something to say

    logger = logging.getLogger("alembic.runtime.migration")  # its offline context's "Generating static SQL" is not news
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        changes = record(head.module.upgrade, dialect)
    except Exception:  # a revision that reads the database cannot be recorded: say less, not fail
        return None
    finally:
        logger.setLevel(level)
    done = {(change.kind, change.table, change.column) for change in changes}
    if "." in source:
        (table, old), new = source.split(".", 1), target.split(".", 1)[1]
        if ("drop_column", table, old) in done and ("add_column", table, new) in done:
            return f"drops {source} and adds {target}"
        return None
    if ("create_table", target, None) in done and not any(change.kind == "rename_table" for change in changes):
        dropped = " and drops" if ("drop_table", source, None) in done else ", leaving"
        return f"creates {target} empty{dropped} {source}"
    return None


def answers_nothing(answers: dict[str, str], scripts: ScriptDirectory, dialect: Dialect) -> str:
    """One line for rename answers given when the models already match head, so no revision is written."""
    pairs = " ".join(f"--rename {source}={target}" for source, target in answers.items())
    head = scripts.get_revision(scripts.get_current_head())
    if head is None:
        return f"{pairs} matches no dropped and added column or table of the models: they match the chain, so there is nothing to write."
    line = f"{pairs} matches no dropped and added column or table of the models: they already match head ({head.revision}), so there is nothing to write"
    renamed: dict[str, Any] = getattr(head.module, "renames", None) or {}
    without = [found for source, target in answers.items() if (found := _without(head, source, target, dialect))]
    if without:
        below = down_revision(head) or "base"
        return (
            f"{line}; {head.path} was written without the rename (its upgrade {' and '.join(without)}): "
            f"delete it (if no database has applied it yet; one that has goes back to {below} first, with "
            f"`todo-data db downgrade {below}`) and run again with {pairs}."
        )
    done = [f"{source} to {target}" for source, target in answers.items() if renamed.get(source) == target]
    if done:
        return f"{line}: {head.revision} already renames {', '.join(done)}."
    return f"{line}."
