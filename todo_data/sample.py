"""Deterministic sample data: users with a skewed number of tasks, two years of UTC timestamps, a DAG of dependencies."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import URL

from todo_data import migrations
from todo_data.db import get_engine, resolve_url, translate_errors
from todo_data.errors import ConfigurationError, MigrationError
from todo_data.models import PRIORITIES, Task, TaskRelationship, User
from todo_data.settings import mask_url

WORDS = ("buy", "call", "fix", "write", "review", "plan", "clean", "book", "send", "read", "pay", "update")
THINGS = ("groceries", "report", "dentist", "invoice", "garden", "slides", "tickets", "email", "budget", "car", "notes")


@dataclass(frozen=True)
class SampleResult:
    """What a sample load did."""

    database: str
    users: int
    tasks: int
    dependencies: int
    skipped: bool = False

    def describe(self) -> str:
        if self.skipped:
            return f"{self.database}: already holds data; sample load skipped"
        return f"{self.database}: loaded {self.users} users, {self.tasks} tasks, {self.dependencies} dependencies"


def generate(users: int, tasks: int, seed: int = 0, now: datetime | None = None) -> tuple[list[dict], list[dict], list[dict]]:
    """Rows for users, tasks and dependencies; the same seed gives the same rows."""
    if users < 1 or tasks < 0:
        raise ConfigurationError(f"Need at least one user and no negative task count (got users={users}, tasks={tasks}).")
    rng = random.Random(seed)
    end = (now or datetime(2026, 1, 1, tzinfo=UTC)).astimezone(UTC)
    start = end - timedelta(days=730)
    user_rows = []
    for i in range(users):
        created = start + timedelta(seconds=rng.randrange(0, 60 * 60 * 24 * 365))
        user_rows.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "email": f"user{i:05d}@example.com",
                "name": f"User {i}",
                "created_at": created,
                "updated_at": created,
            }
        )
    weights = [1.0 / (rank + 1) for rank in range(users)]  # Zipf-like: a few users own most tasks
    owners = rng.choices(range(users), weights=weights, k=tasks)
    task_rows = []
    for i, owner in enumerate(owners):
        created = start + timedelta(seconds=rng.randrange(0, int((end - start).total_seconds())))
        age_days = (end - created).days
        completed = rng.random() < min(0.95, 0.2 + age_days / 500)  # older tasks are more often done
        priority = rng.choices(PRIORITIES, weights=(3, 5, 2) if age_days > 90 else (2, 5, 3))[0]
        updated = created + timedelta(hours=rng.randrange(0, 24 * 30)) if completed else created
        task_rows.append(
            {
                "id": i + 1,
                "user_id": user_rows[owner]["id"],
                "title": f"{rng.choice(WORDS).capitalize()} {rng.choice(THINGS)}",
                "description": None if rng.random() < 0.4 else f"Sample task {i}",
                "completed": completed,
                "priority": priority,
                "created_at": created,
                "updated_at": min(updated, end),
            }
        )
    dependency_rows = []
    seen: set[tuple[int, int]] = set()
    for _ in range(tasks // 10):
        a, b = rng.randrange(1, tasks + 1), rng.randrange(1, tasks + 1)
        parent, child = max(a, b), min(a, b)  # a parent waits on an older task: always a DAG
        if parent != child and (parent, child) not in seen:
            seen.add((parent, child))
            dependency_rows.append({"parent_task_id": parent, "child_task_id": child})
    return user_rows, task_rows, dependency_rows


def load_sample(
    database_url: str | URL | None = None,
    *,
    users: int = 20,
    tasks: int = 200,
    seed: int = 0,
    append: bool = False,
    if_empty: bool = False,
) -> SampleResult:
    """Load generated rows in one transaction; refuses tables that hold rows unless ``append``."""
    url = resolve_url(database_url)
    state = migrations.status(url)
    if not state.at_head:
        raise MigrationError(
            f"{mask_url(url)} is not at head ({', '.join(state.current) or 'no revision'}): run `todo-data db upgrade` first."
        )
    engine = get_engine(url)
    with translate_errors(url), engine.begin() as connection:
        existing = connection.execute(sa.select(sa.func.count()).select_from(Task)).scalar_one()
        existing += connection.execute(sa.select(sa.func.count()).select_from(User)).scalar_one()
        if existing and if_empty:
            return SampleResult(mask_url(url), 0, 0, 0, skipped=True)
        if existing and not append:
            raise ConfigurationError(f"{mask_url(url)} already holds rows: pass --append to add to them, or use an empty database.")
        user_rows, task_rows, dependency_rows = generate(users, tasks, seed)
        offset = connection.execute(sa.select(sa.func.coalesce(sa.func.max(Task.id), 0))).scalar_one()
        if existing:  # appending: fresh user ids and e-mails, so nothing collides with what is there
            tag = uuid.uuid4().hex[:8]
            new_ids = {row["id"]: str(uuid.uuid4()) for row in user_rows}
            for row in user_rows:
                row["id"] = new_ids[row["id"]]
                row["email"] = row["email"].replace("@", f"+{tag}@")
            for row in task_rows:
                row["user_id"] = new_ids[row["user_id"]]
        for row in task_rows:
            row["id"] += offset
        for row in dependency_rows:
            row["parent_task_id"] += offset
            row["child_task_id"] += offset
        connection.execute(sa.insert(User), user_rows)
        connection.execute(sa.insert(Task), task_rows)
        if dependency_rows:
            connection.execute(sa.insert(TaskRelationship), dependency_rows)
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT setval(pg_get_serial_sequence('task', 'id'), (SELECT max(id) FROM task))")
    return SampleResult(mask_url(url), len(user_rows), len(task_rows), len(dependency_rows))
