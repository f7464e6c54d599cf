"""What ``todo-data db upgrade`` and ``db downgrade`` refuse before they run: the pending steps' data impact, measured
read-only, with a step that would fail on the stored data or destroy it named in one line (and nothing changed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL

from todo_data.db import resolve_url
from todo_data.errors import TodoDataError
from todo_data.impact.changes import ACKNOWLEDGE_MARKER
from todo_data.impact.finding import Finding
from todo_data.impact.measure import impact
from todo_data.standby import require_primary


def refusal(database_url: str | URL | None, target: str, action: str, *, accept_data_loss: bool = False, **options: Any) -> str | None:
    """Why moving the database to ``target`` (``action``: ``upgrade`` or ``downgrade``) is refused, in one line; None to run.

    Refused: a step that fails on the stored data (values that do not fit, NULLs under a new NOT NULL, duplicates, orphans,
    rows a CHECK rejects): fix the data first; and a step that destroys stored data, unless the revision acknowledges
    it (``acknowledge_data_loss``) or ``accept_data_loss``. A database the move itself refuses (missing, at an unknown
    revision, an unknown target) has nothing here: the migration words that refusal.
    """
    url = resolve_url(database_url)
    try:
        found = impact(url, target, **options)
    except TodoDataError:
        return None
    failing = [item for item in found if item.severity == "fails"]
    losing = [item for item in found if item.severity == "data-loss" and not item.acknowledged and not accept_data_loss]
    if not failing and not losing:
        return None
    require_primary(url, f"db {action}")
    parts = []
    if failing:
        fixes = "; ".join(dict.fromkeys(item.fix for item in failing if item.fix))
        parts.append(f"the stored data does not fit it ({_named(failing)}): fix the data ({fixes})")
    if losing:
        names = ", ".join(f'"{item.where}"' for item in losing)
        keep = f"acknowledge it in the revision ({ACKNOWLEDGE_MARKER} = [{names}]) or " if action == "upgrade" else ""
        parts.append(
            f"it would destroy stored data ({_named(losing)}): if that is meant, {keep}back the data up and pass --accept-data-loss"
        )
    return f"The {action} to {target} was refused and nothing was changed: " + "; ".join(parts) + "."


def _named(findings: list[Finding]) -> str:
    return "; ".join(item.describe() for item in findings)
