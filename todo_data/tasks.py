"""Task analytics computed in SQL: nothing here loads every row to count it."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import URL

from todo_data.db import get_engine, resolve_url, translate_errors
from todo_data.models import Task, TaskRelationship, User
from todo_data.settings import mask_url


@dataclass(frozen=True)
class Summary:
    """Row counts and the task status split of one database."""

    database: str
    users: int
    tasks: int
    open_tasks: int
    completed_tasks: int
    dependencies: int
    by_priority: dict[str, int] = field(default_factory=dict)

    @property
    def completion_rate(self) -> float:
        return self.completed_tasks / self.tasks if self.tasks else 0.0

    def describe(self) -> str:
        priorities = ", ".join(f"{name} {count}" for name, count in self.by_priority.items()) or "none"
        return (
            f"database: {self.database}\n"
            f"users: {self.users}\n"
            f"tasks: {self.tasks} ({self.open_tasks} open, {self.completed_tasks} completed, {self.completion_rate:.0%} done)\n"
            f"by priority: {priorities}\n"
            f"dependencies: {self.dependencies}"
        )


def summary(database_url: str | URL | None = None) -> Summary:
    """Counts by table, status and priority, each one aggregate query."""
    url = resolve_url(database_url)
    engine = get_engine(url, read_only=True)
    with translate_errors(url), engine.connect() as connection:
        count = sa.func.count()
        users = connection.execute(sa.select(count).select_from(User)).scalar_one()
        status = dict(connection.execute(sa.select(Task.completed, count).group_by(Task.completed)).tuples().all())
        priority_label = sa.func.coalesce(Task.priority, "(none)")
        by_priority = dict(
            connection.execute(sa.select(priority_label, count).group_by(priority_label).order_by(priority_label)).tuples().all()
        )
        dependencies = connection.execute(sa.select(count).select_from(TaskRelationship)).scalar_one()
    completed, open_ = int(status.get(True, 0)), int(status.get(False, 0))
    return Summary(
        database=mask_url(url),
        users=int(users),
        tasks=completed + open_,
        open_tasks=open_,
        completed_tasks=completed,
        dependencies=int(dependencies),
        by_priority={str(k): int(v) for k, v in by_priority.items()},
    )
