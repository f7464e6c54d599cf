"""Task analytics computed in SQL: nothing here loads every row to count it.

Every aggregate is one GROUP BY, CASE or recursive-CTE query that runs the same on SQLite and
PostgreSQL; week truncation is one construct each backend compiles (``backends.expressions.week_start``).
Reports read through a read-only engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from todo_data.backends import backend_for
from todo_data.backends.expressions import week_start
from todo_data.db import get_engine, resolve_url, translate_errors
from todo_data.errors import ConfigurationError
from todo_data.models import DESCRIPTION_MAX, PRIORITIES, TITLE_MAX, Task, TaskRelationship, User
from todo_data.settings import mask_url

T = TypeVar("T")

TASK: sa.Table = Task.__table__  # type: ignore[attr-defined]
USERS: sa.Table = User.__table__  # type: ignore[attr-defined]
RELATIONSHIPS: sa.Table = TaskRelationship.__table__  # type: ignore[attr-defined]

NO_PRIORITY = "(none)"
EMPTY_PRIORITY = "(empty)"  # the empty string as a priority: a blank cell or axis label would read as missing
STATUSES = ("open", "completed")
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("< 1 day", timedelta(days=1)),
    ("1-7 days", timedelta(days=7)),
    ("7-30 days", timedelta(days=30)),
    ("30-90 days", timedelta(days=90)),
    ("90-365 days", timedelta(days=365)),
    ("> 1 year", None),
)
FUTURE_TOLERANCE = timedelta(minutes=5)
DEPTH_CAP = 100
EXAMPLES = 5

# Constants written into the SQL text, not bound: PostgreSQL must see the same expression in a recursive
# CTE's two terms, and an untyped parameter there has no type to match.
_ONE = sa.literal_column("1", sa.Integer)
_ZERO = sa.literal_column("0", sa.Integer)
_COMMA = sa.literal_column("','", sa.Text)


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


@dataclass(frozen=True)
class DependencyGraph:
    """The ``task_relationships`` graph: a parent task waits on its child.

    ``cycles``: path (task ids; each waits on the next, the last on the first) and length, each cycle once,
    starting at its smallest id; cycles longer than ``depth_cap`` are not searched.
    ``depth``: depth (the longest chain of waits a task heads, 0 for none) and tasks, over every task;
    a task on a cycle, or waiting on one, counts as ``depth_cap``. ``blocked``: open tasks waiting on open tasks (task_id,
    title, open_blockers), the ``top`` most blocked; ``blocked_total`` counts them all.
    """

    edges: int
    cycles: pd.DataFrame
    depth: pd.DataFrame
    max_depth: int
    blocked: pd.DataFrame
    blocked_total: int
    depth_cap: int = DEPTH_CAP

    @property
    def at_cap(self) -> int:
        """Tasks counted at ``depth_cap``: on a cycle or waiting on one, or heading a chain that long."""
        return int(self.depth.loc[self.depth["depth"] >= self.depth_cap, "tasks"].sum())

    @property
    def longest_chain(self) -> int:
        """The longest chain of waits below the cap (a cycle's endless chain aside)."""
        below = self.depth.loc[self.depth["depth"] < self.depth_cap, "depth"]
        return int(below.max()) if len(below) else 0

    def cap_label(self) -> str:
        """How the depth at the cap reads: it is no length when tasks are there because of a cycle."""
        return "on or waiting on a cycle" if len(self.cycles) else f"{self.depth_cap} or more"

    def describe(self) -> str:
        """The graph in one sentence, for a report."""
        parts = [f"{self.edges:,} dependencies", f"longest chain {self.longest_chain}"]
        if self.at_cap:
            parts.append(f"{self.at_cap:,} task(s) {self.cap_label()}")
        parts += [f"{len(self.cycles):,} cycle(s)", f"{self.blocked_total:,} open task(s) blocked by open tasks"]
        return "; ".join(parts) + "."

    def depth_shown(self) -> pd.DataFrame:
        """``depth`` for a reader: the row at the cap says why (see :meth:`cap_label`) instead of a depth of 100."""
        shown = self.depth.astype({"depth": object})
        shown.loc[self.depth["depth"] >= self.depth_cap, "depth"] = self.cap_label()
        return shown


@dataclass(frozen=True)
class TaskReport:
    """Every task analytic of one database, read in one read-only transaction as of ``generated_at``.

    ``generated_at`` is the instant ages and windows are measured from (``now``). Each DataFrame is
    described by the function of the same name.
    """

    database: str
    generated_at: datetime
    summary: Summary
    by_status: pd.DataFrame
    by_priority: pd.DataFrame
    by_user: pd.DataFrame
    open_age: pd.DataFrame
    weekly: pd.DataFrame
    most_active: pd.DataFrame
    quality: pd.DataFrame
    graph: DependencyGraph


# --- plumbing -----------------------------------------------------------------------------------


def _read(database_url: str | URL | None, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on one read-only connection, in one transaction that reads one snapshot."""
    url = resolve_url(database_url)
    engine = get_engine(url, read_only=True)
    with translate_errors(url), engine.connect() as connection:
        return work(backend_for(url).snapshot(connection))


def _utc(now: datetime | None) -> datetime:
    """``now`` as an aware UTC datetime; naive values are taken to be UTC, as the models take them."""
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime):
        raise ConfigurationError(f"now must be a datetime, not {type(now).__name__}: pass e.g. datetime.now(UTC).")
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1 (got {value!r}).")
    return value


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((condition, _ONE), else_=_ZERO))


def _text_id(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    return sa.cast(column, sa.Text)


def _frame(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)


def _share(counts: pd.Series) -> pd.Series:
    total = int(counts.sum())
    return counts / total if total else counts * 0.0


# --- counts -------------------------------------------------------------------------------------


def _summary(connection: Connection, database: str) -> Summary:
    count = sa.func.count()
    users = connection.execute(sa.select(count).select_from(USERS)).scalar_one()
    status = dict(connection.execute(sa.select(TASK.c.completed, count).group_by(TASK.c.completed)).all())
    priorities = _by_priority(connection)
    dependencies = connection.execute(sa.select(count).select_from(RELATIONSHIPS)).scalar_one()
    completed, open_ = int(status.get(True, 0)), int(status.get(False, 0))
    return Summary(
        database=database,
        users=int(users),
        tasks=completed + open_,
        open_tasks=open_,
        completed_tasks=completed,
        dependencies=int(dependencies),
        by_priority={str(name): int(n) for name, n in zip(priorities["priority"], priorities["tasks"], strict=True)},
    )


def summary(database_url: str | URL | None = None) -> Summary:
    """Counts by table, status and priority, each one aggregate query."""
    url = resolve_url(database_url)
    return _read(url, lambda connection: _summary(connection, mask_url(url)))


def _by_status(connection: Connection) -> pd.DataFrame:
    rows = dict(connection.execute(sa.select(TASK.c.completed, sa.func.count()).group_by(TASK.c.completed)).all())
    frame = pd.DataFrame({"status": list(STATUSES), "tasks": [int(rows.get(False, 0)), int(rows.get(True, 0))]})
    frame["share"] = _share(frame["tasks"])
    return frame


def by_status(database_url: str | URL | None = None) -> pd.DataFrame:
    """Tasks by status: status ("open", "completed"; both always present), tasks, share of all tasks."""
    return _read(database_url, _by_status)


def _by_priority(connection: Connection) -> pd.DataFrame:
    named = sa.case((TASK.c.priority.is_(None), NO_PRIORITY), (TASK.c.priority == "", EMPTY_PRIORITY), else_=TASK.c.priority)
    labelled = sa.select(named.label("priority"), TASK.c.completed).subquery()
    query = sa.select(
        labelled.c.priority,
        sa.func.count().label("tasks"),
        _count_if(sa.not_(labelled.c.completed)).label("open"),
        _count_if(labelled.c.completed).label("completed"),
    ).group_by(labelled.c.priority)
    frame = _frame(connection.execute(query).all(), ["priority", "tasks", "open", "completed"])
    frame[["tasks", "open", "completed"]] = frame[["tasks", "open", "completed"]].astype("int64")
    rank = {name: i for i, name in enumerate((*PRIORITIES, NO_PRIORITY))}
    frame = frame.sort_values("priority", key=lambda names: names.map(lambda n: (rank.get(n, len(rank)), n))).reset_index(drop=True)
    frame["share"] = _share(frame["tasks"])
    return frame


def by_priority(database_url: str | URL | None = None) -> pd.DataFrame:
    """Tasks by priority: priority (low, medium, high, "(none)" for NULL, then legacy values as stored, "(empty)" for ''), tasks, open, completed, share."""
    return _read(database_url, _by_priority)


def _by_user(connection: Connection, top: int) -> pd.DataFrame:
    counts = (
        sa.select(
            TASK.c.user_id,
            sa.func.count().label("tasks"),
            _count_if(sa.not_(TASK.c.completed)).label("open"),
            _count_if(TASK.c.completed).label("completed"),
        )
        .group_by(TASK.c.user_id)
        .subquery()
    )
    zero = sa.literal_column("0", sa.Integer)
    known = sa.select(
        USERS.c.id.label("user_id"),
        USERS.c.email,
        USERS.c.name,
        sa.func.coalesce(counts.c.tasks, zero).label("tasks"),
        sa.func.coalesce(counts.c.open, zero).label("open"),
        sa.func.coalesce(counts.c.completed, zero).label("completed"),
    ).select_from(USERS.outerjoin(counts, counts.c.user_id == USERS.c.id))
    missing = sa.cast(sa.null(), USERS.c.email.type)
    orphans = sa.select(
        counts.c.user_id, missing.label("email"), missing.label("name"), counts.c.tasks, counts.c.open, counts.c.completed
    ).where(~sa.exists().where(USERS.c.id == counts.c.user_id))
    every = sa.union_all(known, orphans).subquery()
    query = sa.select(every).order_by(every.c.tasks.desc(), every.c.user_id).limit(top)
    frame = _frame(connection.execute(query).all(), ["user_id", "email", "name", "tasks", "open", "completed"])
    frame[["tasks", "open", "completed"]] = frame[["tasks", "open", "completed"]].astype("int64")
    frame["completion_rate"] = (frame["completed"] / frame["tasks"].where(frame["tasks"] > 0)).astype("float64")
    return frame


def by_user(database_url: str | URL | None = None, *, top: int = 20) -> pd.DataFrame:
    """The ``top`` users by task count, users without tasks included (0 tasks): user_id, email, name, tasks, open, completed, completion_rate.

    Tasks whose user row is missing count under their user_id with no email or name; completion_rate is NaN for 0 tasks.
    """
    _positive("top", top)
    return _read(database_url, lambda connection: _by_user(connection, top))


def _open_age(connection: Connection, now: datetime) -> pd.DataFrame:
    bucket = sa.case(
        *((TASK.c.created_at > now - limit, sa.literal_column(f"'{label}'")) for label, limit in AGE_BUCKETS if limit is not None),
        else_=sa.literal_column(f"'{AGE_BUCKETS[-1][0]}'"),
    )
    labelled = sa.select(bucket.label("age")).where(sa.not_(TASK.c.completed)).subquery()
    counts = dict(connection.execute(sa.select(labelled.c.age, sa.func.count()).group_by(labelled.c.age)).all())
    labels = [label for label, _ in AGE_BUCKETS]
    return pd.DataFrame({"age": labels, "tasks": [int(counts.get(label, 0)) for label in labels]})


def open_age(database_url: str | URL | None = None, *, now: datetime | None = None) -> pd.DataFrame:
    """Open tasks by age at ``now``: age (every bucket, youngest first; a task dated after ``now`` is "< 1 day"), tasks."""
    moment = _utc(now)
    return _read(database_url, lambda connection: _open_age(connection, moment))


def _weekly_counts(connection: Connection, column: sa.Column[Any], start: datetime, end: datetime, *where: Any) -> dict[pd.Timestamp, int]:
    weeks = sa.select(week_start(column).label("week")).where(column >= start, column < end, *where).subquery()
    rows = connection.execute(sa.select(weeks.c.week, sa.func.count()).group_by(weeks.c.week)).all()
    return {pd.Timestamp(pd.to_datetime(week, utc=True)): int(count) for week, count in rows}


def _weekly(connection: Connection, now: datetime, weeks: int) -> pd.DataFrame:
    this_week = datetime.combine((now - timedelta(days=now.weekday())).date(), datetime.min.time(), UTC)
    start = this_week - timedelta(weeks=weeks - 1)
    end = this_week + timedelta(weeks=1)
    created = _weekly_counts(connection, TASK.c.created_at, start, end)
    completed = _weekly_counts(connection, TASK.c.updated_at, start, end, TASK.c.completed)
    index = pd.date_range(start, periods=weeks, freq="7D", tz="UTC", unit="us")
    return pd.DataFrame(
        {
            "week": index,
            "created": [created.get(week, 0) for week in index],
            "completed": [completed.get(week, 0) for week in index],
        }
    ).astype({"created": "int64", "completed": "int64"})


def weekly(database_url: str | URL | None = None, *, now: datetime | None = None, weeks: int = 104) -> pd.DataFrame:
    """Tasks per Monday-based UTC week, the ``weeks`` weeks up to the one holding ``now``, every week listed.

    week (tz-aware UTC Timestamp of the Monday), created (by created_at), completed: tasks marked completed
    whose updated_at falls in that week. The schema keeps no completion time, so updated_at stands in for
    it; a completed task edited later moves to the week of that edit.
    """
    moment = _utc(now)
    _positive("weeks", weeks)
    return _read(database_url, lambda connection: _weekly(connection, moment, weeks))


def _most_active(connection: Connection, now: datetime, top: int, days: int) -> pd.DataFrame:
    tasks = sa.func.count().label("tasks")
    query = (
        sa.select(TASK.c.user_id, USERS.c.email, USERS.c.name, tasks, sa.func.max(TASK.c.created_at).label("last_created"))
        .select_from(TASK.outerjoin(USERS, USERS.c.id == TASK.c.user_id))
        .where(TASK.c.created_at > now - timedelta(days=days), TASK.c.created_at <= now)
        .group_by(TASK.c.user_id, USERS.c.email, USERS.c.name)
        .order_by(tasks.desc(), TASK.c.user_id)
        .limit(top)
    )
    frame = _frame(connection.execute(query).all(), ["user_id", "email", "name", "tasks", "last_created"])
    frame["tasks"] = frame["tasks"].astype("int64")
    frame["last_created"] = pd.to_datetime(frame["last_created"], utc=True)
    return frame


def most_active(database_url: str | URL | None = None, *, now: datetime | None = None, top: int = 20, days: int = 30) -> pd.DataFrame:
    """The ``top`` users by tasks created in the ``days`` before ``now``: user_id, email, name, tasks, last_created."""
    moment = _utc(now)
    _positive("top", top)
    _positive("days", days)
    return _read(database_url, lambda connection: _most_active(connection, moment, top, days))


# --- data quality ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    check: str
    table: str
    description: str
    severity: str
    query: sa.Select[Any]  # the offending ids


def _user_fk_note(connection: Connection) -> str:
    """Whether a foreign key keeps task.user_id pointing at a user, in this database."""
    keys = [key for key in sa.inspect(connection).get_foreign_keys("task") if key["constrained_columns"] == ["user_id"]]
    if not keys:
        return "no foreign key guards task.user_id, so any number can exist"
    backend = backend_for(connection.dialect.name)
    if backend.foreign_keys_per_connection:
        return (
            f"{backend.label} enforces the declared foreign key {keys[0]['name'] or ''} only on connections with "
            f"{backend.foreign_keys_switch}, so older writers may have left some"
        )
    return f"foreign key {keys[0]['name']} guards task.user_id, so this stays 0"


def _checks(connection: Connection, now: datetime, tolerance: timedelta) -> list[_Check]:
    title_column = TASK.c.title.type.length  # type: ignore[attr-defined]
    backend = backend_for(connection.dialect.name)
    enforced = "the column refuses them" if backend.enforces_string_length else f"{backend.label} does not enforce the column's length"
    latest = now + tolerance
    task_ids = sa.select(TASK.c.id)
    return [
        _Check(
            "missing-user",
            "task",
            f"tasks whose user_id has no users row; {_user_fk_note(connection)}",
            "error",
            sa.select(TASK.c.id).select_from(TASK.outerjoin(USERS, USERS.c.id == TASK.c.user_id)).where(USERS.c.id.is_(None)),
        ),
        _Check(
            "title-too-long",
            "task",
            f"title longer than the API's {TITLE_MAX} characters (a VARCHAR({title_column}) column: {enforced})",
            "warning",
            task_ids.where(sa.func.length(TASK.c.title) > TITLE_MAX),
        ),
        _Check(
            "description-too-long",
            "task",
            f"description longer than the API's {DESCRIPTION_MAX} characters (the TEXT column takes any length)",
            "warning",
            task_ids.where(sa.func.length(TASK.c.description) > DESCRIPTION_MAX),
        ),
        _Check(
            "empty-title",
            "task",
            "title empty or only spaces (the API needs at least one character)",
            "warning",
            task_ids.where(sa.func.length(sa.func.trim(TASK.c.title)) == 0),
        ),
        _Check(
            "priority-outside-set",
            "task",
            f"priority not NULL and not one of {', '.join(PRIORITIES)} (case-sensitive; NULL is allowed by the column and counted as {NO_PRIORITY})",
            "warning",
            task_ids.where(TASK.c.priority.is_not(None), TASK.c.priority.not_in(PRIORITIES)),
        ),
        _Check(
            "future-timestamp",
            "task",
            f"created_at or updated_at later than {latest.isoformat(timespec='seconds')} (now plus {tolerance} for clock skew)",
            "error",
            task_ids.where(sa.or_(TASK.c.created_at > latest, TASK.c.updated_at > latest)),
        ),
        _Check(
            "updated-before-created",
            "task",
            "updated_at earlier than created_at",
            "error",
            task_ids.where(TASK.c.updated_at < TASK.c.created_at),
        ),
        _Check(
            "invalid-email",
            "users",
            "e-mail not shaped like name@domain.tld (a LIKE pattern, not full validation); examples are user ids",
            "warning",
            sa.select(USERS.c.id).where(USERS.c.email.not_like("%_@_%._%")),
        ),
    ]


def _data_quality(connection: Connection, now: datetime, tolerance: timedelta) -> pd.DataFrame:
    rows = []
    for check in _checks(connection, now, tolerance):
        found = check.query.subquery()
        # count(*) OVER () sees every offending row before LIMIT keeps the first few: one query per check.
        examples = connection.execute(sa.select(found.c[0], sa.func.count().over()).order_by(found.c[0]).limit(EXAMPLES)).all()
        count = int(examples[0][1]) if examples else 0
        rows.append((check.check, check.table, check.description, count, [row[0] for row in examples], check.severity))
    return pd.DataFrame(rows, columns=["check", "table", "description", "count", "examples", "severity"]).astype({"count": "int64"})


def data_quality(
    database_url: str | URL | None = None, *, now: datetime | None = None, tolerance: timedelta = FUTURE_TOLERANCE
) -> pd.DataFrame:
    """One row per check, zero counts included: check, table, description, count, examples (up to 5 ids, smallest first), severity.

    Checks: missing-user, title-too-long, description-too-long, empty-title, priority-outside-set,
    future-timestamp (after ``now`` + ``tolerance``), updated-before-created (task ids) and invalid-email (user ids).
    """
    moment = _utc(now)
    if not isinstance(tolerance, timedelta) or tolerance < timedelta(0):
        raise ConfigurationError(f"tolerance must be a timedelta of zero or more (got {tolerance!r}).")
    return _read(database_url, lambda connection: _data_quality(connection, moment, tolerance))


# --- dependency graph -----------------------------------------------------------------------------


def _cycles(connection: Connection, depth_cap: int) -> pd.DataFrame:
    rel = RELATIONSHIPS
    # Pairs (start, node) where start waits on node through any chain; UNION drops repeats, so it ends on cycles too.
    reach = sa.select(rel.c.parent_task_id.label("start"), rel.c.child_task_id.label("node")).cte("reach", recursive=True)
    step = rel.alias("step")
    reach = reach.union(sa.select(reach.c.start, step.c.child_task_id).select_from(reach.join(step, step.c.parent_task_id == reach.c.node)))
    # An edge lies on a cycle exactly when its child reaches its parent: walking only those keeps DAG parts out.
    on_cycle = (
        sa.select(rel.c.parent_task_id.label("parent"), rel.c.child_task_id.label("child"))
        .where(sa.exists().where(reach.c.start == rel.c.child_task_id, reach.c.node == rel.c.parent_task_id))
        .cte("on_cycle")
    )
    first = on_cycle.alias("first_edge")
    walk = (
        sa.select(
            first.c.parent.label("start"),
            first.c.child.label("node"),
            sa.cast(_COMMA + _text_id(first.c.parent) + _COMMA + _text_id(first.c.child) + _COMMA, sa.Text).label("path"),
            _ONE.label("length"),
        )
        .where(first.c.child > first.c.parent)
        .cte("walk", recursive=True)
    )
    following = on_cycle.alias("next_edge")
    seen = sa.literal_column("'%,'", sa.Text) + _text_id(following.c.child) + sa.literal_column("',%'", sa.Text)
    walk = walk.union_all(
        sa.select(
            walk.c.start, following.c.child, sa.cast(walk.c.path + _text_id(following.c.child) + _COMMA, sa.Text), walk.c.length + _ONE
        )
        .select_from(walk.join(following, following.c.parent == walk.c.node))
        .where(
            walk.c.node != walk.c.start,
            walk.c.length < depth_cap,
            # Close the cycle at its start, or go on to a larger id not yet on the path: each cycle is found once.
            sa.or_(following.c.child == walk.c.start, sa.and_(following.c.child > walk.c.start, walk.c.path.not_like(seen))),
        )
    )
    query = sa.select(walk.c.path, walk.c.length).where(walk.c.node == walk.c.start).order_by(walk.c.length, walk.c.start, walk.c.path)
    cycles = [([int(part) for part in path.strip(",").split(",")][:-1], int(length)) for path, length in connection.execute(query).all()]
    return pd.DataFrame(cycles, columns=["path", "length"]).astype({"length": "int64"})


def _depth(connection: Connection, depth_cap: int) -> pd.DataFrame:
    rel = RELATIONSHIPS
    # (task, d): the task heads a chain of d waits. Rows are bounded by tasks x depth_cap, not by paths.
    chain = sa.select(rel.c.parent_task_id.label("task_id"), _ONE.label("depth")).cte("chain", recursive=True)
    up = rel.alias("up")
    chain = chain.union(
        sa.select(up.c.parent_task_id, chain.c.depth + _ONE)
        .select_from(chain.join(up, up.c.child_task_id == chain.c.task_id))
        .where(chain.c.depth < depth_cap)
    )
    longest = sa.select(chain.c.task_id, sa.func.max(chain.c.depth).label("depth")).group_by(chain.c.task_id).subquery("longest")
    per_task = (
        sa.select(sa.func.coalesce(longest.c.depth, _ZERO).label("depth"))
        .select_from(TASK.outerjoin(longest, longest.c.task_id == TASK.c.id))
        .subquery("per_task")
    )
    query = sa.select(per_task.c.depth, sa.func.count()).group_by(per_task.c.depth).order_by(per_task.c.depth)
    return _frame(connection.execute(query).all(), ["depth", "tasks"]).astype("int64")


def _blocked(connection: Connection, top: int) -> tuple[pd.DataFrame, int]:
    waiting, blocker = TASK.alias("waiting"), TASK.alias("blocker")
    joined = RELATIONSHIPS.join(waiting, waiting.c.id == RELATIONSHIPS.c.parent_task_id).join(
        blocker, blocker.c.id == RELATIONSHIPS.c.child_task_id
    )
    both_open = sa.and_(sa.not_(waiting.c.completed), sa.not_(blocker.c.completed))
    open_blockers = sa.func.count().label("open_blockers")
    query = (
        sa.select(waiting.c.id, waiting.c.title, open_blockers)
        .select_from(joined)
        .where(both_open)
        .group_by(waiting.c.id, waiting.c.title)
        .order_by(open_blockers.desc(), waiting.c.id)
        .limit(top)
    )
    frame = _frame(connection.execute(query).all(), ["task_id", "title", "open_blockers"]).astype(
        {"task_id": "int64", "open_blockers": "int64"}
    )
    total = connection.execute(sa.select(sa.func.count(sa.distinct(waiting.c.id))).select_from(joined).where(both_open)).scalar_one()
    return frame, int(total)


def _dependency_graph(connection: Connection, top: int, depth_cap: int) -> DependencyGraph:
    edges = connection.execute(sa.select(sa.func.count()).select_from(RELATIONSHIPS)).scalar_one()
    depth = _depth(connection, depth_cap)
    blocked, blocked_total = _blocked(connection, top)
    return DependencyGraph(
        edges=int(edges),
        cycles=_cycles(connection, depth_cap),
        depth=depth,
        max_depth=int(depth["depth"].max()) if len(depth) else 0,
        blocked=blocked,
        blocked_total=blocked_total,
        depth_cap=depth_cap,
    )


def dependency_graph(database_url: str | URL | None = None, *, top: int = 20, depth_cap: int = DEPTH_CAP) -> DependencyGraph:
    """Cycles, the depth of waiting chains and the open tasks blocked by open tasks; see :class:`DependencyGraph`."""
    _positive("top", top)
    _positive("depth_cap", depth_cap)
    return _read(database_url, lambda connection: _dependency_graph(connection, top, depth_cap))


# --- the whole report ---------------------------------------------------------------------------


def task_report(database_url: str | URL | None = None, *, now: datetime | None = None, top: int = 20, weeks: int = 104) -> TaskReport:
    """Every analytic above from one read-only connection and transaction, as of ``now`` (default: the current UTC time)."""
    url = resolve_url(database_url)
    moment = _utc(now)
    _positive("top", top)
    _positive("weeks", weeks)

    def build(connection: Connection) -> TaskReport:
        return TaskReport(
            database=mask_url(url),
            generated_at=moment,
            summary=_summary(connection, mask_url(url)),
            by_status=_by_status(connection),
            by_priority=_by_priority(connection),
            by_user=_by_user(connection, top),
            open_age=_open_age(connection, moment),
            weekly=_weekly(connection, moment, weeks),
            most_active=_most_active(connection, moment, top, 30),
            quality=_data_quality(connection, moment, FUTURE_TOLERANCE),
            graph=_dependency_graph(connection, top, DEPTH_CAP),
        )

    return _read(url, build)
