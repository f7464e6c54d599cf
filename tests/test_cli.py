"""``todo-data`` as a user runs it: real commands, real databases, one clear line on bad input."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import fill_seed_database, require_pg, run_sql, table_snapshot
from project_copy import ProjectCopy
from sqlalchemy.engine import URL

from todo_data import migrations

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Sup3r-S3cret_pw"


def todo_data(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``todo-data`` console script."""
    script = shutil.which("todo-data") or str(Path(sys.executable).parent / "todo-data")
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env or {})
    return subprocess.run([script, *args], capture_output=True, text=True, cwd=cwd or ROOT, env=environment, timeout=120, check=False)


def with_password(url: URL) -> str:
    """The URL as a user would paste it, with a password (trust auth ignores it)."""
    return url.set(password=PASSWORD).render_as_string(hide_password=False)


def assert_one_clean_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("todo-data: error: ")
    assert "Traceback" not in result.stderr + result.stdout
    assert PASSWORD not in result.stderr + result.stdout
    for text in expected:
        assert text in lines[0], lines[0]


def advised(line: str, revision: str | None = None) -> list[list[str]]:
    """The commands a message advises, in its order, as argument lists; REVISION stands for ``revision``."""
    return [[revision if word == "REVISION" else word for word in shlex.split(command)] for command in re.findall(r"`([^`]+)`", line)]


def follow(line: str, url: URL, revision: str | None = None) -> None:
    """Run each `todo-data ...` command ``line`` advises, on ``url``, as a user would: each must succeed."""
    commands = advised(line, revision)
    assert commands and all(command[0] == "todo-data" for command in commands), line
    for command in commands:
        result = todo_data(*command[1:], "--database-url", with_password(url))
        assert result.returncode == 0, f"advice {command} from {line!r} failed: {result.stderr}"


def set_revision(url: URL, revision: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision})
    engine.dispose()


def tables(url: URL) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()


# --- the happy path -----------------------------------------------------------------------------


def test_seed_database_reaches_head_with_the_cli(database_url: URL) -> None:
    migrations.upgrade(database_url, "001")
    fill_seed_database(database_url)
    before = {table: table_snapshot(database_url, table) for table in ("users", "task")}
    url = with_password(database_url)

    result = todo_data("db", "upgrade", "--database-url", url)
    assert result.returncode == 0, result.stderr
    assert "revision: 001 -> 004" in result.stdout
    assert "task 61 -> 61" in result.stdout and "users 4 -> 4" in result.stdout
    assert "Running upgrade 003 -> 004" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr

    assert todo_data("db", "check", "--database-url", url).returncode == 0
    current = todo_data("db", "current", "--database-url", url)
    assert "current: 004" in current.stdout and "pending: none" in current.stdout
    assert {table: table_snapshot(database_url, table) for table in ("users", "task")} == before

    down = todo_data("db", "downgrade", "001", "--database-url", url)
    assert down.returncode == 0 and "revision: 004 -> 001" in down.stdout
    assert {table: table_snapshot(database_url, table) for table in ("users", "task")} == before

    check = todo_data("db", "check", "--database-url", url)
    assert check.returncode == 1 and "difference(s)" in check.stdout
    advice = check.stdout.splitlines()[-1]
    assert advice == "Run `todo-data db upgrade` to bring the database to head."
    follow(advice, database_url)
    assert todo_data("db", "check", "--database-url", url).returncode == 0


def test_database_url_from_the_environment(database_url: URL) -> None:
    result = todo_data("db", "upgrade", env={"DATABASE_URL": with_password(database_url)})
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert migrations.current(database_url) == (migrations.head(),)


def test_demo_commands_are_idempotent_on_the_embedded_default(tmp_path: Path) -> None:
    for _ in range(2):
        assert todo_data("db", "upgrade", cwd=tmp_path).returncode == 0
        loaded = todo_data("sample", "--users", "5", "--tasks", "40", "--if-empty", cwd=tmp_path)
        assert loaded.returncode == 0, loaded.stderr
        summary = todo_data("summary", cwd=tmp_path)
        assert summary.returncode == 0 and "tasks: 40 (" in summary.stdout
    assert (tmp_path / "data" / "todo.db").exists()
    refused = todo_data("sample", cwd=tmp_path)
    assert_one_clean_error(refused, "already holds rows", "--append")


def test_history_and_offline_sql_need_no_database(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"postgresql://nobody:{PASSWORD}@127.0.0.1:1/none"}
    history = todo_data("db", "history", cwd=tmp_path, env=env)
    assert history.returncode == 0 and "003 -> 004 (head)" in history.stdout
    up = todo_data("db", "sql", "001:head", env=env)
    assert up.returncode == 0 and "TIMESTAMP WITH TIME ZONE" in up.stdout and "SET lock_timeout" in up.stdout
    down = todo_data("db", "sql", "head:001", "--dialect", "sqlite")
    assert down.returncode == 0 and "UPDATE alembic_version SET version_num='001'" in down.stdout
    assert PASSWORD not in up.stdout + up.stderr


# --- bad input: one line, exit 1, no traceback, no password, nothing changed --------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"postgresql://user:{PASSWORD}@localhost:notaport/db", "is not a URL"),
        ("not a url at all", "is not a URL"),
        (f"postgresql://user:{PASSWORD}@127.0.0.1:1/db", "Cannot reach the database server at 127.0.0.1:1"),
        (f"postgresql://user:{PASSWORD}@no-such-host.invalid/db", "no-such-host.invalid"),
        (f"mysql://user:{PASSWORD}@127.0.0.1/db", "migrations support postgresql and sqlite only"),
        (f"postgresql://user:{PASSWORD}@127.0.0.1:5432/db?sslmode=bogus", "sslmode='bogus' in the database URL is not one of"),
        (f"postgresql://user:{PASSWORD}@127.0.0.1:99999/db", "Port 99999 in the database URL is not a port: use 1 to 65535"),
        (
            f"postgresql://user:{PASSWORD}@127.0.0.1:5432/db?connect_timeout=soon",
            "connect_timeout='soon' in the database URL is not a whole",
        ),
        (
            f"postgresql://user:{PASSWORD}@127.0.0.1:5432/db?foo=bar",
            'the driver refuses (invalid connection option "foo"): fix or remove it',
        ),
        (
            f"postgresql://user:{PASSWORD}@127.0.0.1:5432/db?target_session_attrs=bogus",
            'the driver refuses (invalid target_session_attrs value: "bogus")',
        ),
    ],
)
def test_bad_urls(url: str, expected: str) -> None:
    for command in (("db", "upgrade"), ("db", "current"), ("db", "check")):
        assert_one_clean_error(todo_data(*command, "--database-url", url), expected)


@pytest.mark.parametrize("password", ["S3cr3t-p@ss%word", "Zq#Xv", "Zq/Xv@Yw", "100%Zure"])
def test_a_password_pasted_without_percent_encoding_is_never_shown(password: str) -> None:
    url = f"postgresql://u:{password}@127.0.0.1:5499/x"
    for args in (("--database-url", url), ()):
        result = todo_data("db", "current", *args, env={"DATABASE_URL": url})
        assert_one_clean_error(
            result, "'postgresql://u:***@127.0.0.1:5499/x' is not percent-encoded", "urllib.parse.quote(password, safe='')"
        )
        assert not {part for part in re.split(r"[@/#%]", password) if len(part) > 2 and part in result.stderr.replace("password", "")}, (
            result.stderr
        )


def test_missing_postgresql_database() -> None:
    require_pg()
    from conftest import _pg_admin_url

    url = _pg_admin_url().set(database="todo_data_test_does_not_exist", password=PASSWORD)
    result = todo_data("db", "upgrade", "--database-url", url.render_as_string(hide_password=False))
    assert_one_clean_error(result, "does not exist", "createdb")


def test_unknown_target_revision_changes_nothing(database_url: URL) -> None:
    migrations.upgrade(database_url, "002")
    result = todo_data("db", "upgrade", "zzz", "--database-url", with_password(database_url))
    assert_one_clean_error(result, "Unknown revision 'zzz'")
    assert migrations.current(database_url) == ("002",)


def test_database_at_a_revision_this_project_does_not_know(database_url: URL) -> None:
    migrations.upgrade(database_url, "003")
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'deadbeef'"))
    engine.dispose()
    for command in (("db", "upgrade"), ("db", "current"), ("db", "downgrade", "001")):
        assert_one_clean_error(todo_data(*command, "--database-url", with_password(database_url)), "'deadbeef'", "does not know")
    assert "task_relationships" in tables(database_url)


@pytest.mark.parametrize(
    ("schema", "commands"),
    [
        ("004", [("db", "current"), ("db", "upgrade"), ("db", "check"), ("db", "downgrade", "001"), ("db", "stamp", "004")]),
        ("003", [("db", "check"), ("db", "stamp", "003")]),
        ("001", [("db", "upgrade")]),
    ],
)
def test_advice_for_a_revision_this_project_does_not_know_works_when_followed(
    database_url: URL, schema: str, commands: list[tuple[str, ...]]
) -> None:
    """Every refusal names a command that works on that database (it used to send users round in circles)."""
    migrations.upgrade(database_url, "001")
    fill_seed_database(database_url)
    migrations.upgrade(database_url, schema)
    before = table_snapshot(database_url, "task", ["id", "user_id", "title", "completed"])
    for command in commands:
        if migrations.current(database_url) != (schema,):
            migrations.downgrade(schema, database_url)  # the previous round's advice brought it to head
        set_revision(database_url, "deadbeef")
        refused = todo_data(*command, "--database-url", with_password(database_url))
        assert_one_clean_error(refused, "'deadbeef'", "does not know", "--purge")
        follow(refused.stderr, database_url, revision=schema)
        assert migrations.current(database_url) != ("deadbeef",)
        migrations.upgrade(database_url)
        assert migrations.check(database_url) == [], (command, refused.stderr)
        assert table_snapshot(database_url, "task", ["id", "user_id", "title", "completed"]) == before


def test_db_check_after_a_model_change_says_to_write_a_revision(database_url: URL, tmp_path: Path) -> None:
    """At head, differences need a new revision, not `db upgrade`; the advised `db revision` writes one that works."""
    migrations.upgrade(database_url)
    url = with_password(database_url)
    copy = ProjectCopy.make(tmp_path)  # the model change is made in a copy: the committed chain is never touched
    copy.edit_models("    completed: bool = False\n", "    completed: bool = False\n    effort: int | None = None\n")
    check = copy.cli("db", "check", "--database-url", url)
    assert check.returncode == 1 and "effort" in check.stdout, check.stdout + check.stderr
    advice = check.stdout.splitlines()[-1]
    assert "is at head (004)" in advice and "nothing to apply" in advice and "Run `todo-data db upgrade`" not in advice
    upgrade = copy.cli("db", "upgrade", "--database-url", url)
    assert upgrade.returncode == 0 and "nothing to do" in upgrade.stdout  # as the advice says
    commands = advised(advice)
    revision = next(command for command in commands if command[:3] == ["todo-data", "db", "revision"])
    written = copy.cli(*revision[1:])
    assert written.returncode == 0, written.stderr
    new = sorted((copy.root / "alembic" / "versions").glob("005_*.py"))
    assert len(new) == 1 and "effort" in new[0].read_text()
    assert ["todo-data", "db", "upgrade"] in commands
    applied = copy.cli("db", "upgrade", "--database-url", url)
    assert applied.returncode == 0 and "revision: 004 -> 005" in applied.stdout, applied.stdout + applied.stderr
    assert copy.cli("db", "check", "--database-url", url).returncode == 0


def test_seed_tables_without_alembic_version_are_adopted(database_url: URL) -> None:
    migrations.upgrade(database_url, "001")
    fill_seed_database(database_url)
    before = table_snapshot(database_url, "task")
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))
    engine.dispose()
    result = todo_data("db", "upgrade", "--database-url", with_password(database_url))
    assert result.returncode == 0, result.stderr
    assert "adopted" in result.stdout and "revision: 001 -> 004" in result.stdout
    assert table_snapshot(database_url, "task") == before


def test_foreign_tables_without_alembic_version_are_refused(database_url: URL) -> None:
    migrations.upgrade(database_url, "001")
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))
        connection.execute(sa.text("DROP INDEX ix_task_completed"))
    engine.dispose()
    result = todo_data("db", "upgrade", "--database-url", with_password(database_url))
    assert_one_clean_error(result, "no alembic_version", "todo-data db stamp 001")
    assert tables(database_url) == {"users", "task"}
    check = todo_data("db", "check", "--database-url", with_password(database_url))
    assert check.returncode == 1 and check.stdout.splitlines()[-1] == result.stderr.strip().removeprefix("todo-data: error: ")
    # the advice, followed: the schema brought to 001 by hand, then the stamp it names
    run_sql(database_url, "CREATE INDEX ix_task_completed ON task (completed)")
    follow(result.stderr, database_url)
    assert todo_data("db", "upgrade", "--database-url", with_password(database_url)).returncode == 0
    assert migrations.check(database_url) == []


def test_offline_sql_needs_a_range() -> None:
    assert_one_clean_error(todo_data("db", "sql", "+1", "--dialect", "postgresql"), "explicit range", "001:head")


def test_reports_on_a_database_without_the_schema(tmp_path: Path) -> None:
    missing = todo_data("summary", cwd=tmp_path)
    assert_one_clean_error(missing, "does not exist", "todo-data db upgrade")
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").close()
    empty = todo_data("summary", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}")
    assert_one_clean_error(empty, "has no table", "todo-data db upgrade")


def test_a_mistyped_sqlite_folder_is_refused_and_nothing_is_made(tmp_path: Path) -> None:
    """Issue 15.8: ``db upgrade`` made the folders and a new database; reading a missing file read as an empty one."""
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'todo.db'}"
    assert_one_clean_error(
        todo_data("db", "upgrade", "--database-url", url),
        f"Folder {tmp_path / 'no' / 'such' / 'dir'} does not exist",
        "create the folder or fix",
    )
    for command in (("db", "current"), ("db", "check"), ("summary",)):
        assert_one_clean_error(todo_data(*command, "--database-url", url), "does not exist, nor does its folder", "create the folder")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "no" / "such" / "dir").mkdir(parents=True)  # the advice, followed
    assert todo_data("db", "upgrade", "--database-url", url).returncode == 0
    assert "current: 004" in todo_data("db", "current", "--database-url", url).stdout


def test_reading_a_missing_sqlite_file_says_so_and_upgrade_creates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    for command in (("db", "current"), ("db", "check")):
        assert_one_clean_error(
            todo_data(*command, "--database-url", url),
            f"SQLite database {tmp_path / 'typo.db'} does not exist",
            "`todo-data db upgrade` given this same database URL",  # a bare upgrade would make ./data/todo.db instead
        )
    assert list(tmp_path.iterdir()) == []
    assert todo_data("db", "upgrade", "--database-url", url).returncode == 0  # the advice, followed: the folder exists
    assert "No differences" in todo_data("db", "check", "--database-url", url).stdout


def test_the_default_database_folder_is_made_on_a_fresh_checkout(tmp_path: Path) -> None:
    """``make demo``'s first step: the embedded ./data/todo.db, whose folder is not there yet."""
    assert_one_clean_error(todo_data("db", "current", cwd=tmp_path), "does not exist", "todo-data db upgrade")
    assert not (tmp_path / "data").exists()
    assert todo_data("db", "upgrade", cwd=tmp_path).returncode == 0
    assert (tmp_path / "data" / "todo.db").is_file()


def test_sample_with_anomalies_plants_what_the_task_report_finds(tmp_path: Path) -> None:
    from todo_data import task_report

    url = f"sqlite:///{tmp_path / 'anomalies.db'}"
    assert todo_data("db", "upgrade", "--database-url", url).returncode == 0
    result = todo_data("sample", "--database-url", url, "--users", "30", "--tasks", "1500", "--anomalies")
    assert result.returncode == 0, result.stderr
    found = task_report(url).quality.set_index("check")["count"]
    assert found["priority-outside-set"] > 0 and found["future-timestamp"] > 0 and found["updated-before-created"] > 0


def test_db_plan_traces_without_touching_the_database_and_strict_fails_without_lock_timeout(make_database) -> None:
    url = make_database("postgresql")
    migrations.upgrade(url, "001")
    fill_seed_database(url)
    before = table_snapshot(url, "task")
    plan = todo_data("db", "plan", "--database-url", with_password(url), "--sample-tasks", "2000")
    assert plan.returncode == 0, plan.stderr
    assert "002" in plan.stdout and "ACCESS EXCLUSIVE" in plan.stdout and "rewrites: task" in plan.stdout
    assert PASSWORD not in plan.stdout + plan.stderr and "Running upgrade" not in plan.stderr
    strict = todo_data("db", "plan", "--database-url", with_password(url), "--strict", env={"LOCK_TIMEOUT": "0"})
    assert strict.returncode == 1, strict.stdout[-2000:]
    why = strict.stderr.strip().splitlines()[-1]
    assert why.startswith("todo-data: db plan --strict fails on ") and "no lock_timeout is set (002 step" in why, strict.stderr
    assert "set LOCK_TIMEOUT" in why
    assert todo_data("db", "plan", "--database-url", with_password(url), "--strict").returncode == 0, "a lock_timeout is set"
    assert migrations.current(url) == ("001",) and table_snapshot(url, "task") == before


def test_db_ini_prints_the_ini_that_plain_alembic_takes(tmp_path: Path) -> None:
    """`alembic -c "$(todo-data db ini)"` works from any directory (here: the checkout's ini; installed: test_packaging)."""
    printed = todo_data("db", "ini", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    ini = Path(printed.stdout.strip())
    assert ini == ROOT / "alembic.ini"
    database = tmp_path / "new.db"
    alembic = shutil.which("alembic") or str(Path(sys.executable).parent / "alembic")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    upgraded = subprocess.run(
        [alembic, "-c", str(ini), "upgrade", "head"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert migrations.status(f"sqlite:///{database}").current == (migrations.head(),)


@pytest.mark.parametrize(
    ("output_dir", "expected"),
    [("/proc/nope", "--output-dir /proc/nope cannot be made (No such file or directory)"), ("README.md", "is a file, not a folder")],
)
def test_an_output_dir_that_cannot_be_made_is_refused_before_any_report_runs(output_dir: str, expected: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'todo.db'}"
    assert todo_data("db", "upgrade", "--database-url", url).returncode == 0
    result = todo_data("report", "01-schema", "--output-dir", output_dir, "--database-url", url)
    assert_one_clean_error(result, expected, "choose a folder you can write to")


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    """`todo-data summary | head -3`: the command stops quietly, with the status of a unix tool stopped by SIGPIPE."""
    url = f"sqlite:///{tmp_path / 'todo.db'}"
    assert todo_data("db", "upgrade", "--database-url", url).returncode == 0
    script = shutil.which("todo-data") or str(Path(sys.executable).parent / "todo-data")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first line is written: every write fails
    try:
        result = subprocess.run(
            [script, "summary", "--database-url", url], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120, check=False
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 141  # 128 + SIGPIPE, as `seq 1000000 | head -1` gives for seq
    # a pipe that breaks elsewhere (not standard output) is still an error
    read_end, write_end = os.pipe()
    try:
        whole = subprocess.run([script, "summary", "--database-url", url], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
        with os.fdopen(read_end) as reader:
            assert "tasks: 0" in reader.read()
    assert whole.returncode == 0 and whole.stderr == ""
