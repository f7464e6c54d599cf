"""Sample data: the generator's shape and determinism, and bulk loads on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlalchemy as sa
from project_copy import ProjectCopy
from sqlalchemy.engine import URL
from sqlmodel import Session

from todo_data import inspect, migrations, sample
from todo_data.backends.postgresql.load import PostgresLoadTarget
from todo_data.backends.sqlite.files import write_uri
from todo_data.backends.sqlite.load import SqliteLoadTarget
from todo_data.db import get_engine
from todo_data.errors import ConfigurationError, MigrationError
from todo_data.models import DESCRIPTION_MAX, PRIORITIES, TITLE_MAX, Task, TaskRelationship, User
from todo_data.sample import generate, load_sample
from todo_data.sample import load as sample_load

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table[name].to_numpy(zero_copy_only=False)


def _micros(table: pa.Table, name: str) -> np.ndarray:
    return table[name].cast(pa.int64()).to_numpy()


def _now_micros(moment: datetime = NOW) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


# --- generation -------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_tables_and_another_seed_other_tables() -> None:
    first, again, other = generate(40, 800, seed=7, now=NOW), generate(40, 800, seed=7, now=NOW), generate(40, 800, seed=8, now=NOW)
    for name in ("users", "tasks", "dependencies"):
        assert getattr(first, name).equals(getattr(again, name)), name
        assert not getattr(first, name).equals(getattr(other, name)), name
    assert first.users.schema == sample.USERS_SCHEMA and first.tasks.schema == sample.TASKS_SCHEMA
    assert first.dependencies.schema == sample.DEPENDENCIES_SCHEMA


def test_users_have_unique_uuid4_ids_and_emails() -> None:
    users = generate(500, 0, seed=1, now=NOW).users
    ids, emails = _column(users, "id"), _column(users, "email")
    assert len(set(ids)) == len(ids) == 500 and len(set(emails)) == 500
    assert all(uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value for value in ids)
    assert all(email.count("@") == 1 and email.endswith("@example.com") for email in emails)
    assert users["name"].null_count < 100  # a few users have no name


def test_a_few_users_own_most_tasks() -> None:
    tasks = generate(200, 6000, seed=3, now=NOW).tasks
    per_user = np.sort(pc.value_counts(tasks["user_id"]).field("counts").to_numpy())[::-1]
    assert per_user[:20].sum() > 0.3 * len(tasks)  # top 10% of users
    assert per_user[-1] < per_user[0] / 10


def test_older_tasks_are_done_more_often_and_titles_and_priorities_are_valid() -> None:
    tasks = generate(50, 8000, seed=4, now=NOW).tasks
    age_days = (_now_micros() - _micros(tasks, "created_at")) / 86_400e6
    done = _column(tasks, "completed")
    assert done[age_days > 365].mean() > done[age_days < 60].mean() + 0.3
    assert set(_column(tasks, "priority")) == set(PRIORITIES)
    high = _column(tasks, "priority") == "high"
    assert high[age_days < 90].mean() > high[age_days > 365].mean()  # fresh work is more often urgent
    assert pc.max(pc.utf8_length(tasks["title"])).as_py() <= TITLE_MAX
    assert pc.max(pc.utf8_length(tasks["description"])).as_py() <= DESCRIPTION_MAX
    assert 0 < tasks["description"].null_count < len(tasks)


def test_timestamps_are_utc_within_two_years_and_in_order() -> None:
    data = generate(60, 3000, seed=5, now=NOW)
    start, end = _now_micros(NOW - timedelta(days=730)), _now_micros()
    for table in (data.users, data.tasks, data.dependencies):
        for name in ("created_at", "updated_at"):
            if name in table.column_names:
                assert table.schema.field(name).type == pa.timestamp("us", tz="UTC")
                values = _micros(table, name)
                assert values.min() >= start and values.max() <= end
    for table in (data.users, data.tasks):
        assert (_micros(table, "updated_at") >= _micros(table, "created_at")).all()
    owner_created = _micros(data.users, "created_at")[pc.index_in(data.tasks["user_id"], value_set=data.users["id"]).to_numpy()]
    assert (_micros(data.tasks, "created_at") >= owner_created).all()
    created = _micros(data.tasks, "created_at")
    assert (np.diff(created) >= 0).all() and (_column(data.tasks, "id") == np.arange(1, len(created) + 1)).all()  # ids follow time


def test_dependencies_form_a_dag_of_unique_pairs_within_one_owner() -> None:
    data = generate(30, 5000, seed=6, now=NOW)
    parent, child = _column(data.dependencies, "parent_task_id"), _column(data.dependencies, "child_task_id")
    assert 0.05 * len(data.tasks) < len(parent) <= 0.1 * len(data.tasks)
    assert (parent > child).all() and child.min() >= 1 and parent.max() <= len(data.tasks)
    assert len(set(zip(parent.tolist(), child.tolist(), strict=True))) == len(parent)
    owner = _column(data.tasks, "user_id")
    assert (owner[parent - 1] == owner[child - 1]).all()
    assert (_micros(data.dependencies, "created_at") >= _micros(data.tasks, "created_at")[parent - 1]).all()


def test_anomalies_plant_what_they_say_and_leave_every_other_row_alone() -> None:
    clean = generate(40, 2000, seed=9, now=NOW)
    dirty = generate(40, 2000, seed=9, now=NOW, anomalies=True)
    planted = dirty.anomalies
    assert not clean.anomalies
    rows = {kind: [task_id - 1 for task_id in ids] for kind, ids in planted.items()}
    tasks = dirty.tasks
    assert not set(_column(tasks, "priority")[rows["legacy_priority"]]) & set(PRIORITIES)
    assert "urgent" in set(_column(tasks, "priority")[rows["legacy_priority"]])
    assert (_micros(tasks, "created_at")[rows["future_timestamp"]] > _now_micros()).all()
    assert (
        _micros(tasks, "updated_at")[rows["updated_before_created"]] < _micros(tasks, "created_at")[rows["updated_before_created"]]
    ).all()
    assert all(len(text) > DESCRIPTION_MAX for text in _column(tasks, "description")[rows["long_description"]])
    assert pc.max(pc.utf8_length(tasks["title"])).as_py() <= TITLE_MAX  # nothing the head schema refuses

    cycle = planted.pop(sample.CYCLE)
    assert {kind: len(ids) for kind, ids in planted.items()} == sample.ANOMALIES
    untouched = pa.array(~np.isin(_column(tasks, "id"), [i for ids in planted.values() for i in ids]))
    assert dirty.tasks.filter(untouched).equals(clean.tasks.filter(untouched))
    assert dirty.users.equals(clean.users)
    kept = clean.dependencies.num_rows
    assert dirty.dependencies.slice(0, kept).equals(clean.dependencies)  # the cycle's waits come after every other
    added = dirty.dependencies.slice(kept)
    assert len(cycle) == sample.CYCLE_LENGTH and cycle == sorted(cycle) and added.num_rows >= 2
    waits = set(
        zip(_column(dirty.dependencies, "parent_task_id").tolist(), _column(dirty.dependencies, "child_task_id").tolist(), strict=True)
    )
    assert {(a, b) for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True)} <= waits
    assert len(waits) == dirty.dependencies.num_rows and (_column(added, "id") == np.arange(kept + 1, kept + added.num_rows + 1)).all()
    few = generate(2, 3, seed=9, now=NOW, anomalies=True).anomalies  # kinds take turns when tasks are scarce
    assert [len(few[kind]) for kind in sample.ANOMALIES] == [1, 1, 1, 0] and few[sample.CYCLE] == [1, 2, 3]
    assert generate(2, 2, seed=9, now=NOW, anomalies=True).anomalies[sample.CYCLE] == [1, 2]  # two tasks wait on each other
    assert sample.CYCLE not in generate(2, 1, seed=9, now=NOW, anomalies=True).anomalies


def test_activity_runs_up_to_the_as_of_day_and_some_open_tasks_wait_on_open_tasks() -> None:
    as_of = sample.start_of_day("2026-11-30")
    assert as_of == datetime(2026, 11, 30, tzinfo=UTC)
    data = generate(200, 5000, seed=0, now=as_of)
    created, end = _micros(data.tasks, "created_at"), _now_micros(as_of)
    assert created.max() <= end and (_micros(data.tasks, "updated_at") <= end).all()
    ages = (end - created) / sample.DAY_US
    assert (ages < 1).sum() >= 3 and (ages < 30).sum() > 100  # the last day and month before the as-of day are busy
    completed = _column(data.tasks, "completed")
    parent, child = _column(data.dependencies, "parent_task_id"), _column(data.dependencies, "child_task_id")
    both_open = ~completed[parent - 1] & ~completed[child - 1]
    assert both_open.sum() >= sample.OPEN_WAITS * len(parent) * 0.9 and (parent > child).all()
    assert (~completed[ages < 7]).mean() > 0.8  # the recent work is mostly still open


def test_the_same_seed_and_as_of_day_give_the_same_rows_and_another_day_other_rows() -> None:
    day, again, later = (generate(30, 600, seed=2, now=sample.start_of_day(text)) for text in ("2026-11-30", " 2026-11-30 ", "2026-12-01"))
    for name in ("users", "tasks", "dependencies"):
        assert getattr(day, name).equals(getattr(again, name)), name
    assert not day.tasks.equals(later.tasks)
    assert sample.start_of_day(None) == datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
    for bad in ("30/11/2026", "2026-11-31", "today"):
        with pytest.raises(ConfigurationError, match="--as-of wants a date such as 2026-12-02"):
            sample.start_of_day(bad)
    with pytest.raises(ConfigurationError, match="as_of must be a date"):
        sample.start_of_day(datetime(2026, 11, 30, tzinfo=UTC))  # type: ignore[arg-type]


def test_bad_sizes_are_refused_with_one_line() -> None:
    for users, tasks, seed in ((0, 10, 0), (5, -1, 0), (5, 10, -3)):
        with pytest.raises(ConfigurationError, match="at least one user"):
            generate(users, tasks, seed)
    with pytest.raises(ConfigurationError, match="exclude each other"):
        load_sample("sqlite:///unused.db", append=True, if_empty=True)


# --- loading --------------------------------------------------------------------------------------


def _execute(url: URL, statement: str) -> list[tuple[Any, ...]]:
    with get_engine(url).connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(statement)).all()]


def _counts(url: URL) -> dict[str, int]:
    return {table: _execute(url, f"SELECT count(*) FROM {table}")[0][0] for table in ("users", "task", "task_relationships")}


def _schema_objects(url: URL) -> tuple[Any, ...]:
    """Indexes and constraints as read_schema reports them, and their definitions as the catalog has them."""
    schema = inspect.read_schema(url)
    indexes = schema.indexes.drop(columns="bytes").sort_values(["table", "index"]).reset_index(drop=True)
    constraints = schema.constraints.sort_values(["table", "constraint"]).reset_index(drop=True)
    if schema.dialect == "postgresql":
        catalog = _execute(
            url,
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
            "UNION ALL SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2, 3",
        )
    else:
        catalog = _execute(url, "SELECT tbl_name, name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY 1, 2, 3")
    return indexes.to_dict("records"), constraints.to_dict("records"), catalog


def _row(table: pa.Table, key: Any) -> dict[str, Any]:
    return table.filter(pc.equal(table["id"], key)).to_pylist()[0]


def test_a_load_reads_back_through_the_orm_with_the_schema_as_it_was(head_url: URL, backend: str) -> None:
    before = _schema_objects(head_url)
    result = load_sample(head_url, users=25, tasks=1200, seed=11, anomalies=True, now=NOW)
    data = generate(25, 1200, seed=11, now=NOW, anomalies=True)

    assert (result.users, result.tasks, result.dependencies, result.skipped) == (25, 1200, data.dependencies.num_rows, False)
    assert _counts(head_url) == {"users": 25, "task": 1200, "task_relationships": data.dependencies.num_rows}
    assert "loaded 25 users, 1200 tasks" in result.describe()
    assert _schema_objects(head_url) == before
    assert migrations.check(head_url) == []

    anomalous = [task_ids[0] for task_ids in data.anomalies.values()]
    with Session(get_engine(head_url)) as session:
        for task_id in [1, 600, 1200, *anomalous]:
            expected, task = _row(data.tasks, task_id), session.get(Task, task_id)
            assert {name: getattr(task, name) for name in expected} == expected
            assert task.created_at.utcoffset() == timedelta(0) and task.updated_at.utcoffset() == timedelta(0)
        user_id = data.users["id"][3].as_py()
        assert {name: getattr(session.get(User, user_id), name) for name in data.users.column_names} == _row(data.users, user_id)
        relationship = session.get(TaskRelationship, data.dependencies.num_rows)
        assert {name: getattr(relationship, name) for name in data.dependencies.column_names} == data.dependencies.to_pylist()[-1]
        assert relationship.parent.user_id == relationship.child.user_id

        if backend == "postgresql":  # analyzed: the planner has statistics for every loaded table
            analyzed = "SELECT count(DISTINCT tablename) FROM pg_stats WHERE tablename IN ('users', 'task', 'task_relationships')"
            assert _execute(head_url, analyzed)[0][0] == 3
        written = _row(data.tasks, 600)
        task = Task(user_id=user_id, title="written by the ORM", created_at=written["created_at"], updated_at=written["updated_at"])
        session.add(task)
        session.commit()
        assert task.id == 1201  # ids continue after the loaded ones (PostgreSQL: the sequence was moved)
    # Stored exactly as the ORM stores the same values (SQLite: the same text).
    stored = "SELECT created_at, updated_at, CAST(created_at AS TEXT), CAST(updated_at AS TEXT) FROM task WHERE id = {}"
    assert _execute(head_url, stored.format(600)) == _execute(head_url, stored.format(1201))


def test_rows_are_refused_without_append_skipped_with_if_empty_and_added_with_append(head_url: URL) -> None:
    load_sample(head_url, users=10, tasks=300, seed=1)
    before, counts = _schema_objects(head_url), _counts(head_url)

    with pytest.raises(ConfigurationError, match=r"already holds rows .*--append"):
        load_sample(head_url, users=10, tasks=300, seed=1)
    assert load_sample(head_url, if_empty=True).skipped
    assert _counts(head_url) == counts

    for _ in range(2):  # the same seed twice more: fresh user ids and e-mails each time
        load_sample(head_url, users=10, tasks=300, seed=1, append=True)
    assert _counts(head_url) == {table: 3 * count for table, count in counts.items()}
    assert _execute(head_url, "SELECT count(DISTINCT id), count(DISTINCT email) FROM users")[0] == (30, 30)
    assert _execute(head_url, "SELECT min(id), max(id), count(DISTINCT id) FROM task")[0] == (1, 900, 900)
    foreign = "SELECT count(*) FROM task_relationships r JOIN task p ON p.id = r.parent_task_id JOIN task c ON c.id = r.child_task_id"
    assert (
        _execute(head_url, foreign + " WHERE p.user_id = c.user_id AND r.parent_task_id > r.child_task_id")[0][0]
        == 3 * counts["task_relationships"]
    )
    appended_owners = _execute(
        head_url, "SELECT count(*) FROM task t JOIN users u ON u.id = t.user_id WHERE t.id > 600 AND u.email LIKE '%+b3@%'"
    )
    assert appended_owners[0][0] == 300
    assert _schema_objects(head_url) == before
    assert migrations.check(head_url) == []


@pytest.mark.parametrize("step", ["rows", "finish"])
def test_a_failure_mid_load_leaves_the_database_as_it_was(head_url: URL, backend: str, step: str, monkeypatch) -> None:
    before = _schema_objects(head_url)
    loaded: list[str] = []
    load_rows = sample_load._load_rows

    def failing_rows(target: Any, table: str, rows: pa.Table, bar: Any) -> None:
        if table == "task":
            raise RuntimeError("disk full (simulated)")
        load_rows(target, table, rows, bar)
        loaded.append(table)

    def failing_finish(_target: Any) -> None:
        raise RuntimeError("disk full (simulated)")

    if step == "rows":  # after the users went in, before the tasks
        monkeypatch.setattr(sample_load, "_load_rows", failing_rows)
    else:  # after every row went in and every index and constraint was restored
        monkeypatch.setattr(PostgresLoadTarget if backend == "postgresql" else SqliteLoadTarget, "finish", failing_finish)
    with pytest.raises(RuntimeError, match="simulated"):
        load_sample(head_url, users=10, tasks=400, seed=2)
    assert loaded == (["users"] if step == "rows" else [])

    assert _counts(head_url) == {"users": 0, "task": 0, "task_relationships": 0}
    assert _schema_objects(head_url) == before
    assert migrations.check(head_url) == []
    monkeypatch.undo()
    assert load_sample(head_url, users=10, tasks=400, seed=2).tasks == 400  # no lock or connection left behind


def test_a_database_below_head_is_refused(database_url: URL) -> None:
    migrations.upgrade(database_url, "003")
    with pytest.raises(MigrationError, match=rf"is at 003, not at head \({migrations.head()}\): run `todo-data db upgrade` first"):
        load_sample(database_url)


def test_the_progress_bar_shows_when_asked_and_stays_off_stderr_that_is_no_terminal(make_database, capsys) -> None:
    url = make_database("sqlite")
    migrations.upgrade(url)
    capsys.readouterr()
    load_sample(url, users=5, tasks=50)
    assert capsys.readouterr().err == ""
    load_sample(url, users=5, tasks=50, append=True, progress=True)
    err = capsys.readouterr().err
    assert "users" in err and "tasks" in err and "dependencies" in err and "row" in err


# --- SQLite: the load runs in a child process (ADBC's copy of SQLite never opens the file in this one) --------------


def _sqlite_head(make_database) -> URL:
    url = make_database("sqlite")
    migrations.upgrade(url)
    return url


def _sqlite_state(url: URL) -> tuple[Any, ...]:
    """Row counts and every schema object with its SQL, read by a plain sqlite3 connection of its own."""
    with contextlib.closing(sqlite3.connect(url.database)) as connection:
        counts = [connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("users", "task", "task_relationships")]
        objects = connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
    return counts, objects


def _dangling(data: sample.SampleData) -> sample.SampleData:
    """The same rows, but the last dependency points at a task that does not exist."""
    parents = data.dependencies["parent_task_id"].to_pylist()
    parents[-1] = data.tasks.num_rows + 1_000
    return dataclasses.replace(data, dependencies=data.dependencies.set_column(1, "parent_task_id", pa.array(parents, pa.int32())))


@pytest.mark.parametrize("append", [False, True])
def test_a_constraint_failing_inside_the_loader_process_leaves_the_database_as_it_was(make_database, monkeypatch, append: bool) -> None:
    url = _sqlite_head(make_database)
    if append:
        load_sample(url, users=10, tasks=300, seed=1)
    before = _sqlite_state(url)
    generate_rows = sample.generate
    monkeypatch.setattr(sample_load, "generate", lambda *args, **kwargs: _dangling(generate_rows(*args, **kwargs)))

    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):  # SQLite's own check, in the child
        load_sample(url, users=10, tasks=400, seed=2, append=append)
    assert _sqlite_state(url) == before  # rows, dropped and rebuilt indexes: all as they were
    monkeypatch.undo()
    assert load_sample(url, users=10, tasks=400, seed=2, append=append).tasks == 400  # no lock left behind


def test_a_killed_loader_process_leaves_the_database_as_it_was_and_a_reader_never_sees_half_a_load(make_database, monkeypatch) -> None:
    url = _sqlite_head(make_database)
    before = _sqlite_state(url)
    seen: list[tuple[Any, ...]] = []
    load_rows = sample_load._load_rows

    def kill_before_tasks(target: Any, table: str, rows: pa.Table, bar: Any) -> None:
        if table == "task":  # the users are in and the indexes dropped, inside the child's open transaction
            seen.append(_sqlite_state(url))
            assert target.process.pid != os.getpid()
            os.kill(target.process.pid, signal.SIGKILL)
            target.process.wait()
        load_rows(target, table, rows, bar)

    monkeypatch.setattr(sample_load, "_load_rows", kill_before_tasks)
    with pytest.raises(sqlite3.OperationalError, match="loader process ended with exit code -9"):
        load_sample(url, users=10, tasks=400, seed=2)
    assert seen == [before]  # this process held no transaction: its reader saw the committed state, nothing of the load
    assert _sqlite_state(url) == before
    monkeypatch.undo()
    assert load_sample(url, users=10, tasks=400, seed=2).tasks == 400


CRASH_AT_COMMIT = """
import os, signal, sys
from todo_data import sample
from todo_data.backends.sqlite.load import SqliteLoadTarget

def crash(target):  # every row is in and every index rebuilt; the parent dies instead of saying COMMIT
    print(target.process.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

SqliteLoadTarget.commit = crash
sample.load_sample(sys.argv[1], users=10, tasks=400, seed=2)
"""


def test_a_parent_killed_before_commit_leaves_the_database_as_it_was(make_database) -> None:
    url = _sqlite_head(make_database)
    before = _sqlite_state(url)
    parent = subprocess.run([sys.executable, "-c", CRASH_AT_COMMIT, str(url)], capture_output=True, text=True, timeout=120, check=False)
    assert parent.returncode == -signal.SIGKILL, parent.stderr
    child = int(parent.stdout.split()[0])
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(child).wait(timeout=30)  # it reads end of input, rolls back and exits

    with contextlib.closing(sqlite3.connect(url.database, timeout=10, isolation_level=None)) as connection:
        connection.execute("BEGIN IMMEDIATE")  # the write lock is free again
        connection.execute("ROLLBACK")
    assert _sqlite_state(url) == before


def test_a_sqlite_file_uri_loads_and_an_in_memory_database_is_refused(make_database) -> None:
    url = _sqlite_head(make_database)
    assert write_uri(url) == f"{Path(url.database).as_uri()}?mode=rw"  # never creates a missing file
    file_uri = url.set(database=f"file:{url.database}", query={"uri": "true"})
    assert load_sample(file_uri, users=3, tasks=30).tasks == 30
    assert _counts(url)["task"] == 30
    read_only = url.set(database=f"file:{url.database}?mode=ro", query={"uri": "true"})
    assert write_uri(read_only) == f"file:{url.database}?mode=ro"  # a mode the URL asks for stands
    with pytest.raises(ConfigurationError, match="in-memory database"):
        write_uri(url.set(database=":memory:"))


# --- after a model change (made in a temporary copy of the project: the committed chain is never touched) -------------

TEXT_DESCRIPTION = "    description: str | None = Field(default=None, sa_type=sa.Text)\n"
ESTIMATE_MODEL = TEXT_DESCRIPTION + "    estimate_minutes: int = Field(default=30)\n"
ESTIMATE_REVISION = """
with op.batch_alter_table("task") as batch_op:
    batch_op.add_column(sa.Column("estimate_minutes", sa.Integer(), server_default=sa.text("(30)"), nullable=False))
with op.batch_alter_table("task") as batch_op:
    batch_op.alter_column("estimate_minutes", existing_type=sa.Integer(), server_default=None, existing_nullable=False)
"""  # what `todo-data db revision --autogenerate` writes for it: the server default only fills the rows already there
ESTIMATE_DOWNGRADE = 'with op.batch_alter_table("task") as batch_op:\n    batch_op.drop_column("estimate_minutes")'


def _in_copy(project: ProjectCopy, url: URL, *commands: tuple[str, ...]) -> None:
    text = url.render_as_string(hide_password=False)
    for command in commands:
        done = project.cli(*command, "--database-url", text)
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_new_not_null_column_gets_the_models_default_on_a_load_and_an_append(backend: str, make_database, tmp_path: Path) -> None:
    url = make_database(backend)
    project = ProjectCopy.make(tmp_path)
    project.edit_models(TEXT_DESCRIPTION, ESTIMATE_MODEL)
    project.add_revision(ESTIMATE_REVISION, ESTIMATE_DOWNGRADE)

    _in_copy(project, url, ("db", "upgrade"), ("sample", "--tasks", "20"), ("sample", "--tasks", "10", "--append"))

    assert _execute(url, "SELECT estimate_minutes, count(*) FROM task GROUP BY estimate_minutes") == [(30, 30)]
    engine = get_engine(url)
    with engine.connect() as connection:
        column = next(item for item in sa.inspect(connection).get_columns("task") if item["name"] == "estimate_minutes")
    assert column["nullable"] is False and column["default"] is None, "the database itself does not fill it: the load did"


def test_a_column_the_chain_renames_gets_the_generated_values(backend: str, make_database, tmp_path: Path) -> None:
    url = make_database(backend)
    project = ProjectCopy.make(tmp_path)
    project.edit_models("    description: str | None = None\n", "    notes: str | None = None\n")
    project.edit_models(TEXT_DESCRIPTION, "    notes: str | None = Field(default=None, sa_type=sa.Text)\n")
    project.add_revision('op.alter_column("task", "description", new_column_name="notes", existing_type=sa.Text())')

    _in_copy(project, url, ("db", "upgrade"), ("sample", "--tasks", "20"), ("sample", "--tasks", "10", "--append"))

    # the chain's own revision 005 says description became notes: the generated descriptions go there
    described = [generate(20, tasks).tasks["description"].to_pylist() for tasks in (20, 10)]
    assert _execute(url, "SELECT notes FROM task ORDER BY id") == [(text,) for text in described[0] + described[1]]
    assert sum(text is not None for text in described[0] + described[1]) > 5


def test_a_column_only_the_models_rename_is_not_guessed_and_the_load_still_works(backend: str, make_database, tmp_path: Path) -> None:
    url = make_database(backend)
    project = ProjectCopy.make(tmp_path)
    # a revision that drops description and adds notes: no rename the chain states, so nothing maps to notes
    project.add_revision(
        'with op.batch_alter_table("task") as batch_op:\n'
        '    batch_op.drop_column("description")\n'
        '    batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))'
    )

    _in_copy(project, url, ("db", "upgrade"), ("sample", "--tasks", "20"), ("sample", "--tasks", "10", "--append"))

    assert _execute(url, "SELECT count(*), count(title), count(notes) FROM task") == [(30, 30, 0)]


def test_a_required_column_the_sample_lacks_gets_the_models_scalar_default_else_a_plain_value() -> None:
    model = sa.Table(
        "thing",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("minutes", sa.Integer, default=30),
        sa.Column("level", sa.String(10), server_default="medium"),
        sa.Column("quoted", sa.String(10), server_default=sa.text("('it''s')")),
        sa.Column("flag", sa.Boolean, server_default=sa.text("true")),
        sa.Column("ratio", sa.Float, server_default=sa.text("(2.5)")),
        sa.Column("called", sa.Integer, default=lambda: 7),
        sa.Column("wrong_type", sa.Integer, default="thirty"),
        sa.Column("expression", sa.Integer, server_default=sa.text("1 + 1")),
    )
    database_types = {"minutes": sa.Integer(), "level": sa.String(10), "quoted": sa.String(10), "flag": sa.Boolean(), "ratio": sa.Float()}
    database_types |= {"called": sa.Integer(), "wrong_type": sa.Integer(), "expression": sa.Integer(), "unmodelled": sa.Integer()}
    columns = [{"name": "id", "type": sa.Integer(), "nullable": False, "default": None, "autoincrement": True}]
    columns += [{"name": name, "type": kind, "nullable": False, "default": None} for name, kind in database_types.items()]

    rows = sample.conform(pa.table({"id": [1, 2]}), columns, model).to_pydict()

    assert rows == {
        "id": [1, 2],
        **{name: [value] * 2 for name, value in (("minutes", 30), ("level", "medium"), ("quoted", "it's"), ("flag", True))},
        **{name: [value] * 2 for name, value in (("ratio", 2.5), ("called", 0), ("wrong_type", 0), ("expression", 0))},
        "unmodelled": [0, 0],
    }
    assert sample.conform(pa.table({"id": [1]}), columns).to_pydict()["minutes"] == [0]  # no models given: a plain value
    renamed = sample.conform(
        pa.table({"id": [1], "description": ["kept"]}), [*columns, {"name": "notes", "type": sa.Text()}], None, {"notes": "description"}
    )
    assert renamed.column_names[-1] == "notes" and renamed["notes"].to_pylist() == ["kept"] and "description" not in renamed.column_names
