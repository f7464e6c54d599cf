"""squawk's findings beside the trace: each revision's offline PostgreSQL SQL is linted, and each finding is matched
to the traced statement it is about."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
from alembic import command
from alembic.config import Config

from todo_data import migrations
from todo_data.errors import ConfigurationError, MigrationError
from todo_data.trace.records import BOOKKEEPING, Statement


def _offline_sql(config: Config, down: str | None, revision: str) -> str:
    buffer = io.StringIO()
    config.output_buffer = buffer
    config.attributes["dialect"] = "postgresql"
    command.upgrade(config, f"{down or 'base'}:{revision}", sql=True)
    return buffer.getvalue()


def _normal(statement: str) -> str:
    return " ".join(statement.split()).rstrip(";").strip().lower()


def _offline_statements(sql: str) -> list[tuple[int, int, str]]:
    """(first line, last line, text) of each statement in Alembic's offline SQL (1-based lines; each ends with ``;``)."""
    found: list[tuple[int, int, str]] = []
    start, buffer = None, []
    for number, line in enumerate(sql.splitlines(), 1):
        if start is None:
            if not line.strip() or line.strip().startswith("--"):
                continue
            start = number
        buffer.append(line)
        if line.rstrip().endswith(";"):
            found.append((start, number, "\n".join(buffer)))
            start, buffer = None, []
    return found


def lint_frame(
    config_for: Callable[[], Config], pending: list[tuple[str, str | None, str]], statements: list[Statement], notes: list[str]
) -> pd.DataFrame:
    """squawk's findings for the pending revisions (``migrations.lint``'s columns and the traced ``step`` each is about)."""
    columns = [*migrations.LINT_COLUMNS, "step"]
    items = [migrations.PendingRevision(rev, down, message, _offline_sql(config_for(), down, rev)) for rev, down, message in pending]
    try:
        findings = migrations.lint(items)
    except (ConfigurationError, MigrationError) as exc:
        notes.append(f"No lint: {exc}")
        return pd.DataFrame(columns=columns)
    steps: list[Any] = []
    for finding in findings.itertuples(index=False):
        item = next(item for item in items if item.revision == finding.revision)
        offline = _offline_statements(item.sql)
        ours = [s for s in statements if s.revision == finding.revision]
        text = next((t for first, last, t in offline if first <= finding.line <= last), finding.statement)
        match = next((s.step for s in ours if _normal(s.statement) == _normal(text)), None)
        if match is None:  # bound parameters online, literals offline: fall back to the statement's position
            migration_only = [
                t for _f, _l, t in offline if not BOOKKEEPING.search(t) and not re.match(r"^\s*(BEGIN|COMMIT|SET)\b", t, re.I)
            ]
            position = next((i for i, t in enumerate(migration_only) if _normal(t) == _normal(text)), None)
            if position is not None and position < len(ours):
                match = ours[position].step
        steps.append(match)
    frame = findings.copy()
    frame["step"] = pd.array(steps, dtype="Int64")
    return frame[columns]
