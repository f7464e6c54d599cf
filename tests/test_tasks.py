"""Task analytics on real databases: every SQL aggregate checked against pandas over all rows, planted problems found."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from todo_data import tasks
from todo_data.errors import ConfigurationError
from todo_data.models import DESCRIPTION_MAX, PRIORITIES, TITLE_MAX
from todo_data.sample import load_sample

NOW = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)  # the sample's timestamps run up to 2026-01-01 00:00 UTC
AGE_LABELS = ["< 1 day", "1-7 days", "7-30 days", "30-90 days", "90-365 days", "> 1 year"]


# --- helpers: plain SQL and pandas, independent of todo_data.tasks --------------------------------


@contextmanager
def _connect(url: URL, *, foreign_keys: bool = True) -> Iterator[Connection]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
                connection.commit()  # pysqlite runs the PRAGMA outside a transaction; end SQLAlchemy's autobegun one
            with connection.begin():
                yield connection
    finally:
        engine.dispose()


def execute(url: URL, statement: str, params: dict | list[dict] | None = None, *, foreign_keys: bool = True) -> list[tuple]:
    with _connect(url, foreign_keys=foreign_keys) as connection:
        result = connection.execute(sa.text(statement), params or {})
        return [tuple(row) for row in result.all()] if result.returns_rows else []


def stamp(url: URL, moment: datetime) -> datetime | str:
    """A timestamp parameter as the models store it: UTC text on SQLite, timestamptz on PostgreSQL."""
    if url.get_backend_name() == "sqlite":
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def read_all(url: URL) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every task, user and dependency row (small test databases only)."""
    frames = []
    with _connect(url) as connection:
        for query in (
            "SELECT id, user_id, title, description, completed, priority, created_at, updated_at FROM task",
            "SELECT id, email, name FROM users",
            "SELECT parent_task_id, child_task_id FROM task_relationships",
        ):
            result = connection.execute(sa.text(query))
            frames.append(pd.DataFrame([tuple(row) for row in result.all()], columns=list(result.keys())))
    task_rows, users, edges = frames
    task_rows["completed"] = task_rows["completed"].astype(bool)
    for column in ("created_at", "updated_at"):
        task_rows[column] = pd.to_datetime(task_rows[column], utc=True, format="ISO8601")
    return task_rows, users, edges


def monday(moments: pd.Series) -> pd.Series:
    return moments.dt.floor("D") - pd.to_timedelta(moments.dt.day_of_week, unit="D")


def longest_chains(task_ids: list[int], edges: pd.DataFrame) -> dict[int, int]:
    """Edges of the longest chain of waits each task heads, by memoised depth-first search (an acyclic graph)."""
    children: dict[int, list[int]] = {}
    for parent, child in zip(edges["parent_task_id"], edges["child_task_id"], strict=True):
        children.setdefault(int(parent), []).append(int(child))

    @cache
    def depth(task: int) -> int:
        return max((1 + depth(child) for child in children.get(task, [])), default=0)

    return {int(task): depth(int(task)) for task in task_ids}


def simple_cycles(edges: pd.DataFrame) -> set[tuple[int, ...]]:
    """Every elementary cycle, each starting at its smallest id."""
    children: dict[int, list[int]] = {}
    for parent, child in zip(edges["parent_task_id"], edges["child_task_id"], strict=True):
        children.setdefault(int(parent), []).append(int(child))
    found: set[tuple[int, ...]] = set()

    def walk(start: int, path: list[int]) -> None:
        for child in children.get(path[-1], []):
            if child == start:
                found.add(tuple(path))
            elif child > start and child not in path:
                walk(start, [*path, child])

    for start in children:
        walk(start, [start])
    return found


def quality_row(report_quality: pd.DataFrame, check: str) -> pd.Series:
    rows = report_quality[report_quality["check"] == check]
    assert len(rows) == 1, f"{check} appears {len(rows)} times"
    return rows.iloc[0]


@pytest.fixture
def sample_url(head_url: URL) -> URL:
    load_sample(head_url, users=12, tasks=400, seed=7)
    return head_url


# --- aggregates against pandas ---------------------------------------------------------------------


def test_report_matches_pandas_over_every_row(sample_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGTZ", "Pacific/Auckland")  # weeks and ages must not follow the session's time zone
    top, weeks = 5, 104
    report = tasks.task_report(sample_url, now=NOW, top=top, weeks=weeks)
    task_rows, users, edges = read_all(sample_url)
    open_rows = task_rows[~task_rows["completed"]]

    assert report.generated_at == NOW and "***" not in report.database and sample_url.database in report.database
    assert report.summary.tasks == len(task_rows) and report.summary.open_tasks == len(open_rows)
    assert report.summary.users == len(users) and report.summary.dependencies == len(edges) == report.graph.edges

    status = report.by_status.set_index("status")
    assert list(status.index) == ["open", "completed"]
    assert status["tasks"].tolist() == [len(open_rows), len(task_rows) - len(open_rows)]
    assert status["share"].sum() == pytest.approx(1.0)

    priorities = task_rows.assign(priority=task_rows["priority"].fillna("(none)")).groupby("priority")
    expected = pd.DataFrame({"tasks": priorities.size(), "open": priorities["completed"].apply(lambda c: int((~c).sum()))})
    by_priority = report.by_priority.set_index("priority")
    assert by_priority["tasks"].to_dict() == expected["tasks"].to_dict() == report.summary.by_priority
    assert by_priority["open"].to_dict() == expected["open"].to_dict()
    assert (by_priority["open"] + by_priority["completed"]).equals(by_priority["tasks"])
    assert list(by_priority.index) == [p for p in PRIORITIES if p in expected.index]

    per_user = task_rows.groupby("user_id").agg(tasks=("id", "size"), completed=("completed", "sum"))
    by_user = report.by_user.set_index("user_id")
    assert len(by_user) == min(top, len(per_user)) and by_user["tasks"].is_monotonic_decreasing
    cutoff = by_user["tasks"].min()
    assert set(per_user.index[per_user["tasks"] > cutoff]) <= set(by_user.index) <= set(per_user.index[per_user["tasks"] >= cutoff])
    for user_id, row in by_user.iterrows():
        assert (row["tasks"], row["completed"], row["open"]) == (
            per_user.loc[user_id, "tasks"],
            per_user.loc[user_id, "completed"],
            per_user.loc[user_id, "tasks"] - per_user.loc[user_id, "completed"],
        )
        assert row["completion_rate"] == pytest.approx(row["completed"] / row["tasks"])
        assert row["email"] == users.set_index("id").loc[user_id, "email"]

    age = NOW - open_rows["created_at"]
    bounds = [timedelta(days=d) for d in (1, 7, 30, 90, 365)]
    buckets = pd.Series(np.select([age < b for b in bounds], AGE_LABELS[:5], AGE_LABELS[5]))
    assert report.open_age["age"].tolist() == AGE_LABELS
    assert report.open_age["tasks"].tolist() == [int((buckets == label).sum()) for label in AGE_LABELS]
    assert tasks.open_age(sample_url, now=NOW.replace(tzinfo=None)).equals(report.open_age)  # naive means UTC

    week_starts = report.weekly["week"]
    assert len(week_starts) == weeks and str(week_starts.dt.tz) == "UTC"
    assert (week_starts.dt.day_of_week == 0).all() and (week_starts.diff().dropna() == pd.Timedelta(days=7)).all()
    assert week_starts.iloc[-1] <= NOW < week_starts.iloc[-1] + pd.Timedelta(days=7)
    created = monday(task_rows["created_at"]).value_counts()
    completed = monday(task_rows.loc[task_rows["completed"], "updated_at"]).value_counts()
    assert report.weekly["created"].tolist() == [int(created.get(week, 0)) for week in week_starts]
    assert report.weekly["completed"].tolist() == [int(completed.get(week, 0)) for week in week_starts]
    assert report.weekly["created"].sum() < len(task_rows)  # the sample starts before the window: the window is honoured

    recent = task_rows[(task_rows["created_at"] > NOW - timedelta(days=30)) & (task_rows["created_at"] <= NOW)]
    recent_counts = recent.groupby("user_id").agg(tasks=("id", "size"), last_created=("created_at", "max"))
    active = report.most_active.set_index("user_id")
    assert len(active) == min(top, len(recent_counts)) > 0
    for user_id, row in active.iterrows():
        assert (row["tasks"], row["last_created"]) == (recent_counts.loc[user_id, "tasks"], recent_counts.loc[user_id, "last_created"])
    others = recent_counts["tasks"].drop(active.index)
    assert others.empty or active["tasks"].min() >= others.max()

    chains = longest_chains(task_rows["id"].tolist(), edges)
    depth = pd.Series(chains).value_counts().sort_index()
    assert dict(zip(report.graph.depth["depth"], report.graph.depth["tasks"], strict=True)) == depth.to_dict()
    assert report.graph.max_depth == max(chains.values()) >= 2
    open_ids = set(open_rows["id"])
    blocked = edges[edges["parent_task_id"].isin(open_ids) & edges["child_task_id"].isin(open_ids)]
    assert report.graph.blocked_total == blocked["parent_task_id"].nunique() > top  # the sample's open tasks wait on open tasks
    most_blocked = blocked.groupby("parent_task_id").size().reset_index(name="open_blockers")
    most_blocked = most_blocked.sort_values(["open_blockers", "parent_task_id"], ascending=[False, True]).head(top)
    assert report.graph.blocked["task_id"].tolist() == most_blocked["parent_task_id"].tolist()
    assert report.graph.blocked["open_blockers"].tolist() == most_blocked["open_blockers"].tolist()

    # A clean sample: every check ran and found nothing, and the sample's graph has no cycle.
    assert report.quality["check"].tolist() == [
        "missing-user",
        "title-too-long",
        "description-too-long",
        "empty-title",
        "priority-outside-set",
        "future-timestamp",
        "updated-before-created",
        "invalid-email",
    ]
    assert report.quality["count"].tolist() == [0] * 8 and all(examples == [] for examples in report.quality["examples"])
    assert report.graph.cycles.empty and list(report.graph.cycles.columns) == ["path", "length"]

    # Each part alone gives what the report holds.
    assert tasks.by_status(sample_url).equals(report.by_status)
    assert tasks.by_priority(sample_url).equals(report.by_priority)
    assert tasks.by_user(sample_url, top=top).equals(report.by_user)
    assert tasks.weekly(sample_url, now=NOW, weeks=weeks).equals(report.weekly)
    assert tasks.most_active(sample_url, now=NOW, top=top).equals(report.most_active)
    assert tasks.data_quality(sample_url, now=NOW)["count"].equals(report.quality["count"])
    assert tasks.dependency_graph(sample_url, top=top).depth.equals(report.graph.depth)
    assert tasks.summary(sample_url) == report.summary


def test_weeks_start_on_monday_utc_whatever_the_session_zone(head_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGTZ", "America/Los_Angeles")
    execute(
        head_url,
        "INSERT INTO users (id, email, name, created_at, updated_at) VALUES ('u', 'u@example.com', 'U', :t, :t)",
        {"t": stamp(head_url, NOW)},
    )
    sunday_late = datetime(2025, 12, 28, 23, 59, 59, 999999, tzinfo=UTC)
    monday_start = datetime(2025, 12, 29, tzinfo=UTC)
    rows = [
        {"title": "sunday", "completed": True, "created_at": sunday_late, "updated_at": monday_start},
        {"title": "monday", "completed": False, "created_at": monday_start, "updated_at": monday_start},
        {"title": "window start", "completed": False, "created_at": datetime(2025, 12, 15, tzinfo=UTC), "updated_at": NOW},
        {"title": "before window", "completed": True, "created_at": datetime(2025, 12, 14, 23, 59, tzinfo=UTC), "updated_at": sunday_late},
    ]
    execute(
        head_url,
        "INSERT INTO task (user_id, title, completed, priority, created_at, updated_at) VALUES ('u', :title, :completed, 'low', :created_at, :updated_at)",
        [{**row, "created_at": stamp(head_url, row["created_at"]), "updated_at": stamp(head_url, row["updated_at"])} for row in rows],
    )
    frame = tasks.weekly(head_url, now=NOW, weeks=3).set_index("week")
    weeks = [pd.Timestamp(day, tz="UTC") for day in ("2025-12-15", "2025-12-22", "2025-12-29")]
    assert list(frame.index) == weeks
    assert frame["created"].tolist() == [1, 1, 1]
    assert frame["completed"].tolist() == [0, 1, 1]  # completed by updated_at: one in each of the last two weeks


# --- planted problems ------------------------------------------------------------------------------


def test_planted_problems_are_found_with_their_ids(sample_url: URL, backend: str) -> None:
    planted: dict[str, list] = {}
    update = "UPDATE task SET {} WHERE id = :id"

    if backend == "sqlite":
        execute(sample_url, update.format("title = :t"), {"t": "x" * (TITLE_MAX + 1), "id": 11})
        planted["title-too-long"] = [11]
    else:  # VARCHAR(TITLE_MAX) on PostgreSQL: an over-long title cannot be stored, so none can be found
        with pytest.raises(sa.exc.DataError, match="too long"):
            execute(sample_url, update.format("title = :t"), {"t": "x" * (TITLE_MAX + 1), "id": 11})
        planted["title-too-long"] = []
    execute(sample_url, update.format("title = :t"), {"t": "y" * TITLE_MAX, "id": 12})  # at the limit: fine
    execute(
        sample_url,
        update.format("description = :d"),
        [{"d": "d" * (DESCRIPTION_MAX + 1), "id": 13}, {"d": "d" * DESCRIPTION_MAX, "id": 14}],
    )
    planted["description-too-long"] = [13]
    execute(sample_url, update.format("title = :t"), [{"t": "", "id": 15}, {"t": "   ", "id": 16}])
    planted["empty-title"] = [15, 16]
    legacy = [21, 22, 23, 24, 25, 26, 27]
    execute(sample_url, update.format("priority = :p"), [{"p": "urgent" if i != 27 else "HIGH", "id": i} for i in legacy])
    execute(sample_url, update.format("priority = NULL"), {"id": 28})  # allowed: reported as "(none)", not as a problem
    execute(sample_url, update.format("priority = ''"), {"id": 29})  # reported as "(empty)": a blank would read as missing
    legacy.append(29)
    planted["priority-outside-set"] = legacy
    future = [
        {"c": NOW + timedelta(days=2), "u": NOW + timedelta(days=2), "id": 31},
        {"c": NOW - timedelta(days=1), "u": NOW + timedelta(hours=1), "id": 32},
        {"c": NOW - timedelta(days=1), "u": NOW + timedelta(minutes=1), "id": 33},  # within the clock-skew tolerance
        {"c": NOW - timedelta(days=10), "u": NOW - timedelta(days=11), "id": 34},
    ]
    execute(
        sample_url,
        update.format("created_at = :c, updated_at = :u"),
        [{**r, "c": stamp(sample_url, r["c"]), "u": stamp(sample_url, r["u"])} for r in future],
    )
    planted["future-timestamp"] = [31, 32]
    planted["updated-before-created"] = [34]
    user_id = execute(sample_url, "SELECT min(id) FROM users")[0][0]
    execute(sample_url, "UPDATE users SET email = 'not-an-email' WHERE id = :id", {"id": user_id})
    planted["invalid-email"] = [user_id]

    orphan = {"c": stamp(sample_url, NOW - timedelta(days=3)), "done": False}
    insert_orphan = "INSERT INTO task (user_id, title, completed, priority, created_at, updated_at) VALUES ('ghost', 'Orphan', :done, 'low', :c, :c) RETURNING id"
    if backend == "sqlite":  # what a writer without PRAGMA foreign_keys=ON could always do
        planted["missing-user"] = [execute(sample_url, insert_orphan, orphan, foreign_keys=False)[0][0]]
    else:
        with pytest.raises(sa.exc.IntegrityError):
            execute(sample_url, insert_orphan, orphan)
        planted["missing-user"] = []

    quality = tasks.data_quality(sample_url, now=NOW)
    assert len(quality) == len(planted) == 8
    for check, ids in planted.items():
        row = quality_row(quality, check)
        assert (row["count"], row["examples"]) == (len(ids), sorted(ids)[:5]), check
        assert row["severity"] in ("error", "warning")
    assert quality_row(quality, "invalid-email")["table"] == "users"
    assert str(TITLE_MAX) in quality_row(quality, "title-too-long")["description"]
    guard = quality_row(quality, "missing-user")["description"]
    assert ("PRAGMA foreign_keys" in guard) if backend == "sqlite" else ("foreign key fk_task_user_id_users guards" in guard)

    task_rows, _, _ = read_all(sample_url)
    expected = task_rows["priority"].fillna("(none)").replace("", "(empty)").value_counts().to_dict()
    by_priority = tasks.by_priority(sample_url)
    assert dict(zip(by_priority["priority"], by_priority["tasks"], strict=True)) == expected
    assert by_priority["priority"].tolist()[:4] == [*PRIORITIES, "(none)"] and {"urgent", "HIGH", "(empty)"} <= set(by_priority["priority"])
    if backend == "sqlite":
        ghost = tasks.by_user(sample_url, top=100).set_index("user_id").loc["ghost"]
        assert ghost["tasks"] == 1 and pd.isna(ghost["email"])


# --- the dependency graph ----------------------------------------------------------------------------


def test_cycles_are_found_once_each_and_capped(sample_url: URL) -> None:
    cycle_edges = [(10, 20), (20, 30), (30, 10), (40, 50), (50, 40)]  # a 3-cycle and a 2-cycle: the uq/ck constraints allow both
    execute(
        sample_url,
        "DELETE FROM task_relationships WHERE parent_task_id = :p AND child_task_id = :c",
        [{"p": p, "c": c} for p, c in cycle_edges],
    )
    execute(
        sample_url,
        "INSERT INTO task_relationships (parent_task_id, child_task_id) VALUES (:p, :c)",
        [{"p": p, "c": c} for p, c in cycle_edges],
    )
    _, _, edges = read_all(sample_url)

    graph = tasks.dependency_graph(sample_url, depth_cap=8)
    found = {tuple(path) for path in graph.cycles["path"]}
    assert found == simple_cycles(edges) >= {(10, 20, 30), (40, 50)}
    assert len(found) == len(graph.cycles)  # no cycle listed twice
    assert all(length == len(path) for path, length in zip(graph.cycles["path"], graph.cycles["length"], strict=True))
    assert graph.max_depth == graph.depth_cap == 8  # tasks on a cycle wait forever: they reach the cap
    assert graph.depth["tasks"].sum() == len(read_all(sample_url)[0])
    # a reader sees why: no chain of 8 waits, but tasks on or waiting on a cycle
    on_cycles = int(graph.depth.loc[graph.depth["depth"] == 8, "tasks"].iloc[0])
    assert graph.at_cap == on_cycles >= 5 and graph.longest_chain < 8
    assert graph.depth_shown()["depth"].tolist()[-1] == "on or waiting on a cycle"
    assert graph.depth_shown()["tasks"].tolist() == graph.depth["tasks"].tolist()
    assert f"longest chain {graph.longest_chain}; {on_cycles} task(s) on or waiting on a cycle; {len(found)} cycle(s);" in graph.describe()

    short = tasks.dependency_graph(sample_url, depth_cap=2)
    assert {tuple(path) for path in short.cycles["path"]} == {c for c in simple_cycles(edges) if len(c) <= 2}


def test_depth_and_blocked_on_a_hand_built_chain(head_url: URL) -> None:
    execute(
        head_url,
        "INSERT INTO users (id, email, name, created_at, updated_at) VALUES ('u', 'u@example.com', 'U', :t, :t)",
        {"t": stamp(head_url, NOW)},
    )
    names = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    execute(
        head_url,
        "INSERT INTO task (id, user_id, title, completed, priority, created_at, updated_at) VALUES (:id, 'u', :title, :done, 'low', :t, :t)",
        [{"id": i, "title": title, "done": False, "t": stamp(head_url, NOW)} for i, title in names.items()],
    )
    # a waits on b and d; b and d wait on c; e stands alone.
    execute(
        head_url,
        "INSERT INTO task_relationships (parent_task_id, child_task_id) VALUES (:p, :c)",
        [{"p": p, "c": c} for p, c in ((1, 2), (2, 3), (4, 3), (1, 4))],
    )

    graph = tasks.dependency_graph(head_url, top=1)
    assert graph.edges == 4 and graph.cycles.empty
    assert dict(zip(graph.depth["depth"], graph.depth["tasks"], strict=True)) == {0: 2, 1: 2, 2: 1}
    assert graph.max_depth == graph.longest_chain == 2 and graph.at_cap == 0
    assert graph.describe() == "4 dependencies; longest chain 2; 0 cycle(s); 3 open task(s) blocked by open tasks."
    assert graph.depth_shown()["depth"].tolist() == [0, 1, 2]
    assert tasks.dependency_graph(head_url, depth_cap=2).depth_shown()["depth"].tolist() == [0, 1, "2 or more"]
    assert graph.blocked_total == 3
    assert graph.blocked.to_dict("records") == [{"task_id": 1, "title": "a", "open_blockers": 2}]

    execute(head_url, "UPDATE task SET completed = :done WHERE id = 3", {"done": True})
    graph = tasks.dependency_graph(head_url)
    assert graph.blocked_total == 1 and graph.blocked.to_dict("records") == [{"task_id": 1, "title": "a", "open_blockers": 2}]
    execute(head_url, "UPDATE task SET completed = :done WHERE id = 2", {"done": True})
    assert tasks.dependency_graph(head_url).blocked.to_dict("records") == [{"task_id": 1, "title": "a", "open_blockers": 1}]


# --- edges of the API ----------------------------------------------------------------------------------


def test_every_user_is_listed_with_zeros_for_one_without_tasks(head_url: URL, backend: str) -> None:
    """The header counts every user, so the user table lists every user too (issue 15, item 10)."""
    execute(
        head_url,
        "INSERT INTO users (id, email, name) VALUES (:id, :email, :name)",
        [{"id": f"u{i}", "email": f"u{i}@example.com", "name": f"User {i}"} for i in range(4)],
    )
    execute(
        head_url,
        "INSERT INTO task (user_id, title, completed) VALUES (:user, :title, :done)",
        [{"user": f"u{i}", "title": f"t{i}.{n}", "done": n == 0} for i in range(3) for n in range(i + 1)],
    )
    if backend == "sqlite":  # without PRAGMA foreign_keys a task can name a user that does not exist
        execute(head_url, "INSERT INTO task (user_id, title, completed) VALUES ('ghost', 'orphan', false)", foreign_keys=False)
    report = tasks.task_report(head_url, now=NOW)
    by_user = report.by_user.set_index("user_id")
    expected = ["u2", "u1", "ghost", "u0", "u3"] if backend == "sqlite" else ["u2", "u1", "u0", "u3"]
    assert list(by_user.index) == expected and report.summary.users == 4
    assert by_user.loc["u3", ["tasks", "open", "completed"]].tolist() == [0, 0, 0] and by_user.loc["u3", "email"] == "u3@example.com"
    assert np.isnan(by_user.loc["u3", "completion_rate"]) and by_user.loc["u2", "completion_rate"] == pytest.approx(1 / 3)
    assert by_user["tasks"].dtype == "int64" and by_user["tasks"].is_monotonic_decreasing
    assert list(tasks.by_user(head_url, top=2)["user_id"]) == ["u2", "u1"]


def test_empty_database_reports_zeros(head_url: URL) -> None:
    report = tasks.task_report(head_url, now=NOW, weeks=4)
    assert report.by_status["tasks"].tolist() == [0, 0] and report.by_status["share"].tolist() == [0.0, 0.0]
    assert report.by_priority.empty and report.by_user.empty and report.most_active.empty
    assert report.open_age["tasks"].tolist() == [0] * 6
    assert len(report.weekly) == 4 and report.weekly[["created", "completed"]].to_numpy().sum() == 0
    assert report.quality["count"].tolist() == [0] * 8
    assert report.graph.edges == 0 and report.graph.max_depth == 0 and report.graph.blocked_total == 0


def test_reports_read_through_a_connection_that_cannot_write(head_url: URL) -> None:
    with pytest.raises(sa.exc.DBAPIError) as refused:
        tasks._read(head_url, lambda connection: connection.exec_driver_sql("CREATE TABLE planted (x integer)"))
    assert "readonly" in str(refused.value.orig).replace("-", "").lower()
    assert execute(head_url, "SELECT count(*) FROM task")[0][0] == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tasks.task_report("sqlite:///nowhere.db", top=0), "top"),
        (lambda: tasks.weekly("sqlite:///nowhere.db", weeks=0), "weeks"),
        (lambda: tasks.by_user("sqlite:///nowhere.db", top=-1), "top"),
        (lambda: tasks.dependency_graph("sqlite:///nowhere.db", depth_cap=0), "depth_cap"),
        (lambda: tasks.data_quality("sqlite:///nowhere.db", tolerance=timedelta(minutes=-1)), "tolerance"),
        (lambda: tasks.open_age("sqlite:///nowhere.db", now="2026-01-01"), "datetime"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_are_refused_before_connecting(call, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        call()
