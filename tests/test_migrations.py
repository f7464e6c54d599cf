"""todo_data.migrations against real databases: SQLite files and PostgreSQL databases made per test.

A database made by the seed's revision 001 and filled with realistic rows (legacy values included)
must reach head with every value intact and come back down to 001 unchanged; failures must leave
the database at the revision before; bad input must be refused with one clean line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import FOREIGN_TABLES, add_foreign_objects, fill_seed_database, seed_rows, table_snapshot
from sqlalchemy.engine import URL, Connection

from todo_data import Task, get_engine, metadata, migrations, session_scope
from todo_data.errors import ConfigurationError, MigrationError, TodoDataError

HEAD = "004"
CHAIN = ("001", "002", "003", "004")
DATA_TABLES = ("users", "task")
SECRET = "Sup3r-s3cret-pw"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC = str(Path(sys.executable).with_name("alembic"))


# --- helpers ------------------------------------------------------------------------------------


@contextmanager
def connect(url: URL) -> Iterator[Connection]:
    """A plain connection (no todo_data pragmas) for inspecting or poking at a database."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def execute(url: URL, *statements: str) -> None:
    """Run statements in one committed transaction."""
    with connect(url) as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
        connection.commit()


def snapshots(url: URL) -> dict[str, list[tuple]]:
    return {table: table_snapshot(url, table) for table in DATA_TABLES}


def seeded_001(url: URL) -> dict[str, list[tuple]]:
    """Bring an empty database to 001, fill it as the seed's application did, and snapshot it."""
    migrations.upgrade(url, "001")
    fill_seed_database(url)
    before = snapshots(url)
    users, tasks = seed_rows()
    assert len(before["users"]) == len(users) and len(before["task"]) == len(tasks)
    return before


def table_names(url: URL) -> set[str]:
    with connect(url) as connection:
        return set(sa.inspect(connection).get_table_names())


def index_names(url: URL, table: str) -> set[str]:
    with connect(url) as connection:
        return {index["name"] for index in sa.inspect(connection).get_indexes(table)}


def version_rows(url: URL) -> list[str]:
    with connect(url) as connection:
        return [row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")]


def schema_differences_from_001(url: URL) -> list[str]:
    with connect(url) as connection:
        return migrations.seed_schema_differences(connection)


def assert_clean_message(exc: BaseException) -> None:
    """A person-facing error: one non-empty line, no password."""
    text = str(exc)
    assert text.strip(), "empty error message"
    assert "\n" not in text, text
    assert SECRET not in text, text


@pytest.fixture
def secret_url(database_url: URL, backend: str) -> URL:
    """The test database's URL, with a password on PostgreSQL (trust auth ignores it) to catch leaks."""
    return database_url.set(password=SECRET) if backend == "postgresql" else database_url


def run_alembic(*args: str, database_url: URL | None = None, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    """The plain ``alembic`` CLI of this venv, with DATABASE_URL set to the test database (or unset)."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "PGTZ")}
    if database_url is not None:
        env["DATABASE_URL"] = database_url.render_as_string(hide_password=False)
    return subprocess.run([ALEMBIC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


# --- data survives the whole chain, both ways ---------------------------------------------------


def test_seed_database_reaches_head_and_comes_back_with_every_value(database_url: URL) -> None:
    before = seeded_001(database_url)

    result = migrations.upgrade(database_url)

    assert result.before == ("001",) and result.after == (HEAD,) and result.changed
    assert snapshots(database_url) == before
    assert migrations.check(database_url) == []
    assert table_names(database_url) >= {"users", "task", "task_relationships", "alembic_version"}

    down = migrations.downgrade("001", database_url)

    assert down.before == (HEAD,) and down.after == ("001",)
    assert snapshots(database_url) == before
    assert schema_differences_from_001(database_url) == []
    assert "task_relationships" not in table_names(database_url)

    again = migrations.upgrade(database_url)  # and up once more: the downgrade left a clean 001
    assert again.after == (HEAD,)
    assert snapshots(database_url) == before
    assert migrations.check(database_url) == []


def test_every_revision_downgrades_one_step_at_a_time(database_url: URL) -> None:
    before = seeded_001(database_url)
    migrations.upgrade(database_url)

    for expected in reversed(CHAIN[:-1]):
        result = migrations.downgrade("-1", database_url)
        assert result.after == (expected,)
        assert migrations.current(database_url) == (expected,)
        assert snapshots(database_url) == before
    assert schema_differences_from_001(database_url) == []

    result = migrations.downgrade("-1", database_url)

    assert result.after == ()
    assert migrations.current(database_url) == ()
    assert not table_names(database_url) & set(migrations.APP_TABLES)


def test_timestamp_conversion_ignores_session_time_zone(make_database: Callable[[str], URL], monkeypatch: pytest.MonkeyPatch) -> None:
    url = make_database("postgresql")
    seeded_001(url)
    users, tasks = seed_rows()
    monkeypatch.setenv("PGTZ", "America/New_York")
    with connect(url) as connection:  # the migration's sessions really run in New York time
        assert connection.exec_driver_sql("SHOW TimeZone").scalar_one() == "America/New_York"

    def stored(table: str) -> list[tuple[datetime, datetime]]:
        with connect(url) as connection:
            rows = connection.exec_driver_sql(
                f"SELECT created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC' FROM {table} ORDER BY id"
            ).all()
        return [(row[0], row[1]) for row in rows]

    def seeded(rows: list[dict]) -> list[tuple[datetime, datetime]]:
        return [(row["created_at"], row["updated_at"]) for row in rows]

    migrations.upgrade(url)

    with connect(url) as connection:
        types = connection.exec_driver_sql(
            "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_name IN ('users', 'task') AND column_name IN ('created_at', 'updated_at')"
        ).all()
    assert types == [("timestamp with time zone",)]
    assert sorted(stored("users")) == sorted(seeded(users))  # users are ordered by id text, the seed by index
    assert stored("task") == seeded(tasks)

    migrations.downgrade("001", url)  # and back to naive UTC, still independent of the session

    with connect(url) as connection:
        naive = connection.exec_driver_sql("SELECT created_at, updated_at FROM task ORDER BY id").all()
    assert [(row[0], row[1]) for row in naive] == seeded(tasks)


# --- the schema at head -------------------------------------------------------------------------


def test_server_defaults_fill_a_plain_sql_insert(database_url: URL) -> None:
    migrations.upgrade(database_url, "001")
    execute(
        database_url,
        "INSERT INTO users (id, email, name, created_at, updated_at) VALUES ('u1', 'u1@example.com', NULL, "
        "'2024-01-01 00:00:00', '2024-01-01 00:00:00')",
    )
    with pytest.raises(sa.exc.IntegrityError):  # errata 23: revision 001 has no server defaults
        execute(database_url, "INSERT INTO task (user_id, title) VALUES ('u1', 'no defaults yet')")

    migrations.upgrade(database_url)
    execute(
        database_url,
        "INSERT INTO users (id, email) VALUES ('u2', 'u2@example.com')",
        "INSERT INTO task (user_id, title) VALUES ('u2', 'plain insert')",
    )

    with connect(database_url) as connection:
        completed, priority, created_at, updated_at = connection.exec_driver_sql(
            "SELECT completed, priority, created_at, updated_at FROM task WHERE title = 'plain insert'"
        ).one()
        user_times = connection.exec_driver_sql("SELECT created_at, updated_at FROM users WHERE id = 'u2'").one()
    assert completed in (False, 0) and completed is not None
    assert priority == "medium"
    assert created_at is not None and updated_at is not None
    assert None not in user_times
    with session_scope(database_url, read_only=True) as session:  # the models read them as aware UTC values
        task = session.exec(sa.select(Task).where(Task.title == "plain insert")).scalars().one()
        assert task.completed is False
        assert task.created_at.tzinfo is not None and task.created_at.utcoffset() is not None
        assert task.created_at.year >= 2025


def test_constraints_and_cascades_at_head(database_url: URL) -> None:
    seeded_001(database_url)
    migrations.upgrade(database_url)
    engine = get_engine(database_url)  # todo_data's engine: foreign keys on for SQLite
    owner, other = seed_rows()[0][0]["id"], seed_rows()[0][1]["id"]

    def insert_relationship(parent: int, child: int) -> None:
        with engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO task_relationships (parent_task_id, child_task_id) VALUES (:parent, :child)"),
                {"parent": parent, "child": child},
            )

    def count(sql: str, **params: object) -> int:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(sql), params).scalar_one())

    with engine.connect() as connection:
        a, b, c = connection.execute(sa.text("SELECT id FROM task WHERE user_id = :u ORDER BY id LIMIT 3"), {"u": owner}).scalars()
        unrelated = connection.execute(sa.text("SELECT id FROM task WHERE user_id = :u ORDER BY id LIMIT 1"), {"u": other}).scalar_one()

    with pytest.raises(sa.exc.IntegrityError):
        insert_relationship(a, a)  # no task depends on itself
    insert_relationship(a, b)
    with pytest.raises(sa.exc.IntegrityError):
        insert_relationship(a, b)  # one row per pair
    with pytest.raises(sa.exc.IntegrityError):
        insert_relationship(a, 999_999)  # the child must exist
    insert_relationship(b, a)
    insert_relationship(b, c)
    insert_relationship(unrelated, c)
    assert count("SELECT count(*) FROM task_relationships") == 4

    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM task WHERE id = :id"), {"id": a})
    assert count("SELECT count(*) FROM task_relationships WHERE :id IN (parent_task_id, child_task_id)", id=a) == 0
    assert count("SELECT count(*) FROM task_relationships") == 2

    others_tasks = count("SELECT count(*) FROM task WHERE user_id <> :u", u=owner)
    assert count("SELECT count(*) FROM task WHERE user_id = :u", u=owner) > 0
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": owner})
    assert count("SELECT count(*) FROM task WHERE user_id = :u", u=owner) == 0
    assert count("SELECT count(*) FROM task WHERE user_id <> :u", u=owner) == others_tasks
    assert count("SELECT count(*) FROM task_relationships") == 0  # (b, c) and (unrelated, c) went with b and c


# --- status, current, history, head, results ----------------------------------------------------


def test_status_current_history_head_and_results(database_url: URL) -> None:
    assert migrations.head() == HEAD
    history = migrations.history()
    assert [info.revision for info in history] == list(CHAIN)
    assert [info.down_revision for info in history] == [None, *CHAIN[:-1]]
    assert [info.is_head for info in history] == [False, False, False, True]
    assert all(info.message for info in history)

    if database_url.get_backend_name() == "sqlite":  # an empty file: a missing one is refused (test_cli)
        sqlite3.connect(str(database_url.database)).close()
    empty = migrations.status(database_url)
    assert empty.current == () and empty.head == HEAD and empty.pending == CHAIN and not empty.at_head
    assert migrations.current(database_url) == ()

    seeded_001(database_url)
    state = migrations.status(database_url)
    assert state.current == ("001",) and state.pending == CHAIN[1:] and not state.at_head

    users, tasks = seed_rows()
    result = migrations.upgrade(database_url, "003")
    assert isinstance(result, migrations.MigrationResult)
    assert result.before == ("001",) and result.after == ("003",) and result.changed and not result.adopted
    assert result.rows_before == {"users": len(users), "task": len(tasks)}
    assert result.rows_after == {"users": len(users), "task": len(tasks), "task_relationships": 0}
    assert migrations.status(database_url).pending == ("004",)

    result = migrations.upgrade(database_url)
    assert result.before == ("003",) and result.after == (HEAD,)
    state = migrations.status(database_url)
    assert state.at_head and state.pending == () and migrations.current(database_url) == (HEAD,)
    assert SECRET not in state.database

    unchanged = migrations.upgrade(database_url)
    assert unchanged.before == unchanged.after == (HEAD,) and not unchanged.changed
    assert unchanged.rows_before == unchanged.rows_after


# --- bad input is refused, and the database is left as it was -----------------------------------


@pytest.mark.parametrize("call", ["upgrade", "downgrade"])
def test_unknown_target_revision_is_refused(secret_url: URL, call: str) -> None:
    before = seeded_001(secret_url)

    with pytest.raises(TodoDataError) as caught:
        if call == "upgrade":
            migrations.upgrade(secret_url, "zzz")
        else:
            migrations.downgrade("zzz", secret_url)

    assert isinstance(caught.value, MigrationError)
    assert "zzz" in str(caught.value)
    assert_clean_message(caught.value)
    assert migrations.current(secret_url) == ("001",)
    assert snapshots(secret_url) == before
    assert schema_differences_from_001(secret_url) == []


def test_database_at_an_unknown_revision_is_refused(secret_url: URL) -> None:
    before = seeded_001(secret_url)
    execute(secret_url, "DELETE FROM alembic_version", "INSERT INTO alembic_version (version_num) VALUES ('deadbeef')")

    for action in (
        lambda: migrations.upgrade(secret_url),
        lambda: migrations.downgrade("001", secret_url),
        lambda: migrations.status(secret_url),
        lambda: migrations.current(secret_url),
    ):
        with pytest.raises(MigrationError) as caught:
            action()
        assert "deadbeef" in str(caught.value)
        assert_clean_message(caught.value)

    assert version_rows(secret_url) == ["deadbeef"]
    assert snapshots(secret_url) == before
    assert schema_differences_from_001(secret_url) == []


def test_unversioned_database_exactly_at_001_is_adopted(secret_url: URL) -> None:
    before = seeded_001(secret_url)
    execute(secret_url, "DROP TABLE alembic_version")
    users, tasks = seed_rows()

    result = migrations.upgrade(secret_url)

    assert result.adopted
    assert result.before == ("001",) and result.after == (HEAD,)
    assert result.rows_before == {"users": len(users), "task": len(tasks)}
    assert migrations.current(secret_url) == (HEAD,)
    assert snapshots(secret_url) == before
    assert migrations.check(secret_url) == []


def test_unversioned_database_that_differs_from_001_is_refused(secret_url: URL) -> None:
    before = seeded_001(secret_url)
    execute(secret_url, "DROP INDEX ix_task_completed", "DROP TABLE alembic_version")
    tables = table_names(secret_url)
    task_indexes = index_names(secret_url, "task")

    with pytest.raises(MigrationError) as caught:
        migrations.upgrade(secret_url)

    assert "001" in str(caught.value) and "ix_task_completed" in str(caught.value)
    assert_clean_message(caught.value)
    assert table_names(secret_url) == tables and "alembic_version" not in tables
    assert index_names(secret_url, "task") == task_indexes and "ix_task_completed" not in task_indexes
    assert snapshots(secret_url) == before


def test_unsupported_backend_is_refused_without_the_password() -> None:
    with pytest.raises(MigrationError) as caught:
        migrations.upgrade(f"mysql://app:{SECRET}@db.example.com/todo")
    assert "mysql" in str(caught.value)
    assert_clean_message(caught.value)


# --- a failing revision leaves the database at the one before -----------------------------------


def test_failing_revision_004_leaves_database_at_003(database_url: URL) -> None:
    before = seeded_001(database_url)
    # Index names are per schema on both backends: 004's second CREATE INDEX collides with this one
    # (after its first CREATE INDEX has run, so the rollback has something to undo). It sits on a
    # table of its own, which 002's SQLite table rebuilds leave alone.
    execute(database_url, "CREATE TABLE blocker (id INTEGER)", "CREATE INDEX ix_task_user_id_completed_created_at ON blocker (id)")

    with pytest.raises(MigrationError) as caught:
        migrations.upgrade(database_url)

    assert "ix_task_user_id_completed_created_at" in str(caught.value)
    assert "still at 003" in str(caught.value)
    assert_clean_message(caught.value)
    assert migrations.current(database_url) == ("003",)  # 002 and 003 committed, each in its own transaction
    assert "task_relationships" in table_names(database_url)
    assert snapshots(database_url) == before
    assert index_names(database_url, "task") == {"ix_task_user_id", "ix_task_completed", "ix_task_created_at"}
    assert "ix_users_email" in index_names(database_url, "users")

    execute(database_url, "DROP TABLE blocker")
    assert migrations.upgrade(database_url).after == (HEAD,)
    assert snapshots(database_url) == before
    assert migrations.check(database_url) == []


def test_failure_inside_revision_002_rolls_back_its_earlier_steps(database_url: URL, backend: str) -> None:
    if backend == "sqlite":
        # A stray table with the name 002 uses for rebuilding task: 002 rebuilds users, then cannot
        # create it. The users rebuild must be undone.
        before = seeded_001(database_url)
        execute(database_url, "CREATE TABLE _task_rebuild (id INTEGER)")
    else:
        # A view on task.created_at: 002 alters users, then cannot alter task. The users change must be undone.
        before = seeded_001(database_url)
        execute(database_url, "CREATE VIEW task_times AS SELECT id, created_at FROM task")
    with pytest.raises(MigrationError) as caught:
        migrations.upgrade(database_url)
    assert "still at 001" in str(caught.value)
    assert_clean_message(caught.value)

    assert migrations.current(database_url) == ("001",)
    assert snapshots(database_url) == before
    blocker = {"_task_rebuild"} if backend == "sqlite" else set()
    assert table_names(database_url) == {"users", "task", "alembic_version"} | blocker  # no _users_rebuild left behind
    assert [d for d in schema_differences_from_001(database_url) if "_task_rebuild" not in d] == []  # users' timestamps naive again


def test_sqlite_orphans_the_seed_left_are_kept(make_database) -> None:
    """The seed's SQLite never enforced foreign keys: a task whose user is gone survives the upgrade as it was."""
    url = make_database("sqlite")
    before = seeded_001(url)
    execute(
        url,
        "INSERT INTO task (user_id, title, completed, created_at, updated_at) "
        "VALUES ('no-such-user', 'orphan', 0, '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
    )
    with_orphan = snapshots(url)
    assert len(with_orphan["task"]) == len(before["task"]) + 1
    assert migrations.upgrade(url).after == (HEAD,)
    assert snapshots(url) == with_orphan
    migrations.downgrade("001", url)
    assert snapshots(url) == with_orphan


# --- offline SQL --------------------------------------------------------------------------------

OFFLINE_EXPECTED = {
    ("postgresql", "001:head"): [
        "ALTER COLUMN created_at TYPE TIMESTAMP WITH TIME ZONE USING created_at AT TIME ZONE 'UTC'",
        "ALTER COLUMN completed SET DEFAULT false",
        "CREATE TABLE task_relationships",
        "CREATE INDEX ix_task_user_id_created_at ON task (user_id, created_at)",
        "ALTER TABLE task RENAME CONSTRAINT task_pkey TO pk_task",
        "UPDATE alembic_version SET version_num='004'",
    ],
    ("postgresql", "head:001"): [
        "ALTER TABLE task RENAME CONSTRAINT pk_task TO task_pkey",
        "DROP TABLE task_relationships",
        "TYPE TIMESTAMP WITHOUT TIME ZONE USING created_at AT TIME ZONE 'UTC'",
        "UPDATE alembic_version SET version_num='001'",
    ],
    ("sqlite", "001:head"): [
        "CREATE TABLE _users_rebuild",
        'INSERT INTO "_task_rebuild"',
        "DEFAULT 'medium'",
        "CREATE TABLE task_relationships",
        "CREATE INDEX ix_task_user_id_created_at ON task (user_id, created_at)",
        "UPDATE alembic_version SET version_num='004'",
    ],
    ("sqlite", "head:001"): [
        "DROP TABLE task_relationships",
        "CONSTRAINT task_pkey PRIMARY KEY (id)",
        "UPDATE alembic_version SET version_num='001'",
    ],
}


@pytest.mark.parametrize(("dialect", "revision_range"), list(OFFLINE_EXPECTED))
def test_offline_sql_needs_no_database(dialect: str, revision_range: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/nothing")  # never connected to

    script = migrations.sql(revision_range, dialect=dialect)

    for statement in OFFLINE_EXPECTED[(dialect, revision_range)]:
        assert statement in script, statement
    assert "CREATE TABLE task (" not in script and "CREATE TABLE users (" not in script  # 001 itself is not in range
    assert "PRAGMA foreign_key_check" not in script
    assert script.count("COMMIT;") == 3  # one transaction per revision


def test_offline_sql_without_a_range_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        migrations.sql("+1", dialect="postgresql")
    assert_clean_message(caught.value)
    with pytest.raises(ConfigurationError):
        migrations.sql("001:head", dialect="oracle")
    with pytest.raises(MigrationError):
        migrations.sql("001:zzz", dialect="sqlite")


@pytest.mark.parametrize(
    ("command", "revision_range", "expected"),
    [
        ("upgrade", "001:head", "UPDATE alembic_version SET version_num='004'"),
        ("downgrade", "head:001", "UPDATE alembic_version SET version_num='001'"),
    ],
)
def test_alembic_cli_offline_sql(command: str, revision_range: str, expected: str) -> None:
    completed = run_alembic("-x", "dialect=postgresql", command, revision_range, "--sql")  # -x is a global option

    assert completed.returncode == 0, completed.stderr
    assert expected in completed.stdout
    assert "TIMESTAMP WITH" in completed.stdout and "task_relationships" in completed.stdout


# --- the plain alembic CLI against a real database ----------------------------------------------


def test_alembic_cli_upgrade_and_check(database_url: URL, tmp_path: Path) -> None:
    before = seeded_001(database_url)

    behind = run_alembic("check", database_url=database_url)
    assert behind.returncode != 0 and "not up to date" in behind.stdout + behind.stderr

    upgraded = run_alembic("upgrade", "head", database_url=database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stderr.count("Running upgrade 003 -> 004") == 1  # errata 17: each log line once
    assert migrations.current(database_url) == (HEAD,)
    assert snapshots(database_url) == before

    checked = run_alembic("check", database_url=database_url)
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout

    elsewhere = run_alembic("-c", str(PROJECT_ROOT / "alembic.ini"), "current", database_url=database_url, cwd=tmp_path)
    assert elsewhere.returncode == 0, elsewhere.stderr  # errata 18: works outside the project root
    assert f"{HEAD} (head)" in elsewhere.stdout


# --- dry run: plan, lint, history ---------------------------------------------------------------


def test_plan_lists_pending_revisions_with_their_sql_and_runs_nothing(database_url: URL) -> None:
    migrations.upgrade(database_url, "002")
    before = migrations.current(database_url)
    pending = migrations.plan(database_url)
    assert [item.revision for item in pending] == ["003", "004"]
    assert "CREATE TABLE task_relationships" in pending[0].sql
    assert "ix_task_user_id_created_at" in pending[1].sql
    assert migrations.current(database_url) == before, "a dry run changes nothing"
    assert [item.revision for item in migrations.plan(database_url, "003")] == ["003"]
    migrations.upgrade(database_url)
    assert migrations.plan(database_url) == []


def test_plan_refuses_a_target_behind_the_database(head_url: URL) -> None:
    with pytest.raises(ConfigurationError, match="downgrade"):
        migrations.plan(head_url, "002")
    with pytest.raises(MigrationError):
        migrations.plan(head_url, "no-such-revision")


def test_lint_reports_squawk_findings_and_marks_what_the_project_excuses(make_database) -> None:
    url = make_database("postgresql")
    migrations.upgrade(url, "001")
    findings = migrations.lint(migrations.plan(url))
    excused = migrations.excused_rules()
    assert "changing-column-type" in excused and "timestamptz" in excused["changing-column-type"]
    type_changes = findings[findings["rule"] == "changing-column-type"]
    assert set(type_changes["revision"]) == {"002"} and type_changes["excused"].all()
    assert type_changes["statement"].str.contains("ALTER TABLE task").any()
    bad = migrations.PendingRevision("999", "004", "test", "ALTER TABLE task ADD COLUMN note text NOT NULL;\n")
    fresh = migrations.lint([bad])
    row = fresh[fresh["rule"] == "adding-required-field"].iloc[0]
    assert not row["excused"] and row["statement"].startswith("ALTER TABLE task ADD COLUMN note")


def test_history_frame_and_row_counts(database_url: URL) -> None:
    assert migrations.upgrade(database_url, "001").after == ("001",)
    frame = migrations.history_frame(database_url)
    assert list(frame["revision"]) == list(CHAIN)
    assert list(frame["applied"]) == [True, False, False, False]
    assert list(frame["current"]) == [True, False, False, False]
    fill_seed_database(database_url)
    result = migrations.upgrade(database_url)
    counts = result.row_counts().set_index("table")
    _, tasks = seed_rows()
    assert counts.loc["task", "before"] == counts.loc["task", "after"] == len(tasks)
    assert counts.loc["users", "change"] == 0


# --- other applications' objects are never drift (issue 18) -------------------------------------


def foreign_rows(url: URL) -> dict[str, list[tuple]]:
    with connect(url) as connection:
        return {
            table: [tuple(row) for row in connection.exec_driver_sql(f'SELECT "id" FROM "{table}" ORDER BY "id"')]
            for table in FOREIGN_TABLES
        }


def test_db_check_leaves_other_applications_objects_alone(shared_head_url: URL) -> None:
    assert migrations.check(shared_head_url) == []
    checked = subprocess.run(
        [
            str(Path(sys.executable).with_name("todo-data")),
            "db",
            "check",
            "--database-url",
            shared_head_url.render_as_string(hide_password=False),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No differences" in checked.stdout


def test_autogenerate_with_no_model_change_writes_no_operation(shared_head_url: URL, tmp_path: Path) -> None:
    """The user's way: `alembic revision --autogenerate` in a copy of the project's alembic folder."""
    shutil.copy(PROJECT_ROOT / "alembic.ini", tmp_path / "alembic.ini")
    shutil.copytree(PROJECT_ROOT / "alembic", tmp_path / "alembic", ignore=shutil.ignore_patterns("__pycache__"))

    made = run_alembic("revision", "--autogenerate", "-m", "probe", database_url=shared_head_url, cwd=tmp_path)

    assert made.returncode == 0, made.stderr
    assert "No changes in models; nothing written." in made.stderr  # no drop_table('user'), no file at all
    assert list((tmp_path / "alembic" / "versions").glob("*_probe.py")) == []


def test_a_later_model_change_touches_only_the_kits_tables(shared_head_url: URL) -> None:
    """What a later autogenerated revision would hold: the model change, nothing about other applications' tables."""
    changed = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["task"].append_column(sa.Column("note", sa.Text(), nullable=True))
    with connect(shared_head_url) as connection:
        context = MigrationContext.configure(connection, opts={**migrations.comparison_options(), "target_metadata": changed})
        diffs = compare_metadata(context, changed)
    assert [(kind, table, column.name) for kind, _schema, table, column in diffs] == [("add_column", "task", "note")]


def test_managed_tables_setting_brings_a_table_under_comparison(shared_head_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANAGED_TABLES", "verification, legacy_notes")
    assert migrations.check(shared_head_url) == ["remove_table: verification"]


def test_chain_runs_beside_other_applications_objects_and_keeps_them(make_database, backend: str) -> None:
    """A seed database without alembic_version that shares its server with auth tables is adopted and upgraded."""
    url = make_database(backend)
    before = seeded_001(url)
    execute(url, "DROP TABLE alembic_version")
    add_foreign_objects(url)
    kept = foreign_rows(url)

    result = migrations.upgrade(url)

    assert result.adopted and result.after == (HEAD,)
    assert snapshots(url) == before
    assert foreign_rows(url) == kept and kept["user"] == [("ba-1",)]
    assert migrations.check(url) == []
