"""Reliability and security promises (issue 6), each proved on real SQLite files and PostgreSQL servers.

docs/reliability.md states every promise in a sentence and names the test that proves it, here or in the
older test files (one migration at a time: test_migration_lock.py; failing revisions: test_migrations.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from conftest import REQUIRE_SERVERS, _admin_execute, _pg_admin_url, fill_seed_database, require_pg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError

from todo_data import (
    Explorer,
    dispose_engines,
    drift,
    frames,
    get_engine,
    index_report,
    migrations,
    read_frame,
    read_schema,
    summary,
    task_report,
)
from todo_data.db import translate_errors
from todo_data.errors import ConnectionFailed
from todo_data.frames import QueryError
from todo_data.models import DESCRIPTION_MAX
from todo_data.reports import report_names
from todo_data.sample import load_sample

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "Rel1ab1lity-S3cret_pw"


# --- helpers ----------------------------------------------------------------------------------------


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without anything that would steer todo_data, plus ``extra``."""
    steering = {"DATABASE_URL", "DATABASE_ECHO", "LOCK_TIMEOUT", "STATEMENT_TIMEOUT", "PGTZ", "PGPASSWORD", "TODO_DATA_DEBUG"}
    return {k: v for k, v in os.environ.items() if k not in steering and not k.startswith("PYTEST")} | extra


def todo_data(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The installed ``todo-data`` console script, as an operator runs it."""
    return subprocess.run(
        [str(BIN / "todo-data"), *args], capture_output=True, text=True, cwd=cwd, env=env or clean_env(), timeout=timeout, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str, secret: str = SECRET) -> str:
    """Exit code 1, one ``todo-data: error:`` line on stderr (after Alembic's ``Running ...`` progress lines, if a
    revision started), no traceback, no password; returns the line."""
    shown = result.stdout + result.stderr
    assert result.returncode == 1, shown
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Running ")]
    assert len(lines) == 1 and lines[0].startswith("todo-data: error: "), result.stderr
    assert "Traceback" not in shown and secret not in shown
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@contextlib.contextmanager
def plain(url: URL) -> Iterator[Connection]:
    """A connection without todo_data's settings, in UTC on PostgreSQL, for looking at a database from outside."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TIME ZONE 'UTC'")
            yield connection
    finally:
        engine.dispose()


def fingerprint(url: URL) -> dict[str, str]:
    """A digest of every table's columns and rows (alembic_version included): equal means nothing changed."""
    with plain(url) as connection:
        digests = {}
        for table in sorted(sa.inspect(connection).get_table_names()):
            result = connection.exec_driver_sql(f'SELECT * FROM "{table}"')
            rows = sorted((tuple(row) for row in result), key=repr)
            digests[table] = hashlib.sha256(repr((list(result.keys()), rows)).encode("utf-8", "surrogatepass")).hexdigest()
    return digests


def revision_rows(url: URL) -> list[str]:
    with plain(url) as connection:
        return [row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")]


def wait_until(check: Callable[[], object], what: str, *, seconds: float = 60) -> object:
    """Poll ``check`` until it returns something truthy (a bound on waiting, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def admin_rows(sql: str, **params: object) -> list[tuple]:
    engine = sa.create_engine(_pg_admin_url(), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def terminate_backends(url: URL) -> int:
    """What a server restart does to a database's sessions, done to this test database only."""
    rows = admin_rows(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()", db=url.database
    )
    return len(rows)


@contextlib.contextmanager
def table_lock(url: URL, table: str) -> Iterator[None]:
    """Another session holds a lock on ``table`` (as a long report query would) until the block ends."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS SHARE MODE")
            yield
            connection.rollback()
    finally:
        engine.dispose()


def seeded_001(url: URL, *, bulk: int = 0) -> None:
    """A database as the seed's app left it: revision 001, realistic rows, and ``bulk`` more tasks (PostgreSQL)."""
    migrations.upgrade(url, "001")
    fill_seed_database(url)
    if bulk:
        with plain(url) as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO task (user_id, title, description, completed, priority, created_at, updated_at) "
                    "SELECT 'u4', 'bulk ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('d', g % 50) END, g % 2 = 0, 'low', "
                    "timestamp '2024-01-01' + g * interval '1 minute', timestamp '2024-01-02' + g * interval '1 minute' "
                    "FROM generate_series(1, :n) AS g"
                ),
                {"n": bulk},
            )
            connection.commit()


# --- 2. atomic revisions ----------------------------------------------------------------------------

# A test-only revision after head: real work on every task row, then it keeps its transaction open until
# the test creates the release file, so the test can kill the process in the middle of the revision.
HOLD_REVISION = '''"""Test only: rewrite every task, then wait inside the revision's transaction.

Revision ID: 005
Revises: 004
"""

import json
import os
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "005"
down_revision = "004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("task", sa.Column("probe", sa.Integer(), nullable=True))
    op.execute("UPDATE task SET completed = NOT completed, probe = id")
    bind = op.get_bind()
    seen = {"pid": os.getpid(), "rows": bind.exec_driver_sql("SELECT count(*) FROM task WHERE probe = id").scalar()}
    if bind.dialect.name == "postgresql":
        seen.update({name: bind.exec_driver_sql(f"SHOW {name}").scalar() for name in ("lock_timeout", "statement_timeout")})
    folder = Path(os.environ["TODO_DATA_TEST_HOLD_DIR"])
    (folder / "inside.tmp").write_text(json.dumps(seen))
    (folder / "inside.tmp").rename(folder / "inside.json")
    deadline = time.monotonic() + 300
    while not (folder / "release").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the test never released revision 005")
        time.sleep(0.02)


def downgrade() -> None:
    op.execute("UPDATE task SET completed = NOT completed")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("probe")
'''


def project_with_hold_revision(folder: Path) -> Path:
    """A copy of the project's alembic.ini and alembic/ with revision 005 added; returns the ini."""
    folder.mkdir()
    shutil.copy(ROOT / "alembic.ini", folder / "alembic.ini")
    shutil.copytree(ROOT / "alembic", folder / "alembic", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "alembic" / "versions" / "005_test_only_hold.py").write_text(HOLD_REVISION)
    return folder / "alembic.ini"


@pytest.mark.timeout(180)
def test_a_migration_killed_inside_a_revision_leaves_the_revision_before_and_its_data(head_url: URL, backend: str, tmp_path: Path) -> None:
    load_sample(head_url, users=100, tasks=20_000, seed=5)
    dispose_engines()
    before = fingerprint(head_url)
    with plain(head_url) as connection:
        completed = dict(connection.exec_driver_sql("SELECT id, completed FROM task").all())
    ini = project_with_hold_revision(tmp_path / "project")
    hold = tmp_path / "hold"
    hold.mkdir()
    env = clean_env(DATABASE_URL=url_text(head_url), TODO_DATA_TEST_HOLD_DIR=str(hold), LOCK_TIMEOUT="7s", STATEMENT_TIMEOUT="1h")
    alembic = [str(BIN / "alembic"), "-c", str(ini), "upgrade", "head"]

    run = subprocess.Popen(alembic, cwd=ini.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: (hold / "inside.json").exists() or run.poll() is not None, "revision 005 to start", seconds=120)
        assert run.poll() is None, run.communicate()
        inside = json.loads((hold / "inside.json").read_text())
    finally:
        run.send_signal(signal.SIGKILL)  # kill -9, in the middle of revision 005's transaction
        run.communicate(timeout=60)
    assert run.returncode == -signal.SIGKILL
    assert inside["pid"] == run.pid and inside["rows"] == 20_000, "the revision had rewritten every task when it was killed"
    if backend == "postgresql":  # the migration session's timeouts come from LOCK_TIMEOUT and STATEMENT_TIMEOUT
        assert (inside["lock_timeout"], inside["statement_timeout"]) == ("7s", "1h")

    assert revision_rows(head_url) == ["004"]
    assert fingerprint(head_url) == before  # no probe column, no flipped row
    if backend == "sqlite":
        with plain(head_url) as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"

    (hold / "release").touch()
    rerun = subprocess.run(alembic, cwd=ini.parent, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert revision_rows(head_url) == ["005"]
    with plain(head_url) as connection:
        after = {row[0]: (row[1], row[2]) for row in connection.exec_driver_sql("SELECT id, completed, probe FROM task")}
    assert after == {task_id: (not done, task_id) for task_id, done in completed.items()}, "the rerun applied 005 once, whole"


@pytest.mark.timeout(180)
def test_todo_data_upgrade_killed_inside_002_leaves_001_and_its_data(make_database, tmp_path: Path) -> None:
    """002 has rewritten users and waits for task (another session holds a lock): kill -9 there, the real CLI, the real revision."""
    url = make_database("postgresql")
    seeded_001(url, bulk=50_000)
    before = fingerprint(url)
    env = clean_env(DATABASE_URL=url_text(url), LOCK_TIMEOUT="0")  # 0: wait for the lock as long as it takes

    with table_lock(url, "task"):
        run = subprocess.Popen(
            [str(BIN / "todo-data"), "db", "upgrade"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            waiting = wait_until(
                lambda: admin_rows(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock' AND query ILIKE 'ALTER TABLE task%'",
                    db=url.database,
                ),
                "002 to wait for the lock on task",
            )
            backend_pid = waiting[0][0]  # type: ignore[index]
            with plain(url) as connection:  # pg_locks names relations by the OIDs of this database
                held = connection.execute(
                    sa.text("SELECT mode FROM pg_locks WHERE pid = :pid AND relation = 'users'::regclass AND granted"), {"pid": backend_pid}
                ).all()
            assert ("AccessExclusiveLock",) in [tuple(row) for row in held], "002 had already rewritten users in its transaction"
        finally:
            run.send_signal(signal.SIGKILL)
            run.communicate(timeout=60)
    # The server notices the client is gone once the lock is free; then it rolls the transaction back.
    wait_until(lambda: not admin_rows("SELECT 1 FROM pg_stat_activity WHERE pid = :pid", pid=backend_pid), "the killed session to end")

    assert run.returncode == -signal.SIGKILL
    assert migrations.current(url) == ("001",)
    assert fingerprint(url) == before
    with plain(url) as connection:
        assert migrations.seed_schema_differences(connection) == []  # users' timestamps are naive again

    rerun = todo_data("db", "upgrade", env=env, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "revision: 001 -> 004" in rerun.stdout and "task 50061 -> 50061" in rerun.stdout
    assert migrations.check(url) == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("setting", "cause"), [("LOCK_TIMEOUT", "lock timeout"), ("STATEMENT_TIMEOUT", "statement timeout")])
def test_a_blocked_migration_gives_up_after_its_timeout_in_one_line(make_database, tmp_path: Path, setting: str, cause: str) -> None:
    url = make_database("postgresql")
    seeded_001(url)
    before = fingerprint(url)
    timeouts = {"LOCK_TIMEOUT": "0", "STATEMENT_TIMEOUT": "0", setting: "1s"}
    with table_lock(url, "task"):
        result = todo_data("db", "upgrade", "--database-url", url_text(url.set(password=SECRET)), env=clean_env(**timeouts), cwd=tmp_path)
    assert_one_line_error(result, f"due to {cause}", "still at 001")
    assert migrations.current(url) == ("001",)
    assert fingerprint(url) == before


# --- 3. round trips lose nothing --------------------------------------------------------------------

USER_COLUMNS = ("id", "email", "name", "created_at", "updated_at")
TASK_COLUMNS = ("user_id", "title", "description", "completed", "priority", "created_at", "updated_at")
TIMESTAMPS = ("created_at", "updated_at")
# DST changes in Europe and the USA, year ends, a leap day: naive UTC, as the seed's app stored them.
EDGES = [
    datetime(2024, 12, 31, 23, 59, 59, 999999),
    datetime(2025, 1, 1),
    datetime(2025, 3, 30, 1, 0),
    datetime(2025, 10, 26, 1, 0),
    datetime(2025, 3, 9, 7, 0),
    datetime(2025, 11, 2, 6, 0),
    datetime(1999, 12, 31, 23, 59, 59),
    datetime(2024, 2, 29, 12, 0),
]
# Characters that break naive quoting, trimming or encoding, made likely (any character can appear).
SPECIAL_CHARACTERS = "\x00'\"\\%_;\n\r\t \u00a0\u200b\ufeffé\u0301🚀\U0010ffff"
LEGACY_PRIORITIES = ["low", "medium", "high", "urgent", "HIGH", "", " medium ", "0"]


def _texts(limit: int | None, *, over: bool, nul: bool) -> st.SearchStrategy[str]:
    """Short unicode text, plus text of exactly the column's limit (and over it, where the column allows)."""
    special = [c for c in SPECIAL_CHARACTERS if nul or c != "\x00"]
    alphabet = st.one_of(st.characters(blacklist_categories=("Cs",), blacklist_characters="" if nul else "\x00"), st.sampled_from(special))
    short = st.text(alphabet, max_size=12)
    if limit is None:
        return short
    lengths = [limit - 1, limit, *([limit + 1, limit * 4] if over else [])]
    sized = st.tuples(st.text(alphabet, min_size=1, max_size=6), st.sampled_from(lengths)).map(lambda pair: (pair[0] * pair[1])[: pair[1]])
    return st.one_of(short, sized)


def _timestamps() -> st.SearchStrategy[datetime]:
    near_edges = st.tuples(st.sampled_from(EDGES), st.timedeltas(min_value=timedelta(hours=-3), max_value=timedelta(hours=3)))
    return st.one_of(
        near_edges.map(lambda pair: pair[0] + pair[1]), st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
    )


def _rows(backend: str) -> st.SearchStrategy[tuple[list[dict], list[dict]]]:
    """Users and their tasks at revision 001; VARCHAR limits hold on PostgreSQL only, SQLite stores what it is given."""
    over = backend == "sqlite"
    nul = backend == "sqlite"  # PostgreSQL text cannot hold NUL at all
    user = st.fixed_dictionaries(
        {
            "id": _texts(255, over=over, nul=nul).filter(bool),
            "email": _texts(255, over=over, nul=nul),
            "name": st.none() | _texts(255, over=over, nul=nul),
            "created_at": _timestamps(),
            "updated_at": _timestamps(),
        }
    )
    users = st.lists(user, min_size=1, max_size=5, unique_by=(lambda u: u["id"], lambda u: u["email"]))

    def tasks(users: list[dict]) -> st.SearchStrategy[list[dict]]:
        task = st.fixed_dictionaries(
            {
                "user_id": st.sampled_from([u["id"] for u in users]),
                "title": _texts(200, over=over, nul=nul),
                "description": st.none() | _texts(DESCRIPTION_MAX, over=True, nul=nul),
                "completed": st.booleans(),
                "priority": st.none() | st.sampled_from(LEGACY_PRIORITIES) | _texts(20, over=over, nul=nul),
                "created_at": _timestamps(),
                "updated_at": _timestamps(),
            }
        )
        return st.lists(task, max_size=10)

    return users.flatmap(lambda us: st.tuples(st.just(us), tasks(us)))


def _normal(column: str, value: object) -> object:
    """Values as both schemas hold them: timestamps as naive UTC ISO text, booleans as bool."""
    if column in TIMESTAMPS:
        if isinstance(value, str):  # SQLite keeps its timestamps as text
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime), value
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if column == "completed":
        return bool(value)
    return value


def _digest(values: list[object]) -> str:
    return hashlib.sha256(repr(values).encode("utf-8", "surrogatepass")).hexdigest()


def _checksums(users: list[dict], tasks: list[dict]) -> dict[str, str]:
    """One digest per column: users in id order, tasks in the order they were inserted (their id order)."""
    users = sorted(users, key=lambda u: u["id"])
    digests = {f"users.{c}": _digest([_normal(c, u[c]) for u in users]) for c in USER_COLUMNS}
    digests |= {f"task.{c}": _digest([_normal(c, t[c]) for t in tasks]) for c in TASK_COLUMNS}
    return digests


def _database_checksums(url: URL) -> dict[str, str]:
    with plain(url) as connection:
        users = [dict(row._mapping) for row in connection.execute(sa.text(f"SELECT {', '.join(USER_COLUMNS)} FROM users"))]
        tasks = [dict(row._mapping) for row in connection.execute(sa.text(f"SELECT {', '.join(TASK_COLUMNS)} FROM task ORDER BY id"))]
    return _checksums(users, tasks)


def _insert_at_001(url: URL, users: list[dict], tasks: list[dict]) -> None:
    """Plain SQL, as the seed's app wrote: typed timestamps, so SQLite holds SQLAlchemy's text format."""
    stamps = [sa.bindparam(name, type_=sa.DateTime()) for name in TIMESTAMPS]
    with plain(url) as connection:
        connection.exec_driver_sql("DELETE FROM task")
        connection.exec_driver_sql("DELETE FROM users")
        connection.execute(
            sa.text(f"INSERT INTO users ({', '.join(USER_COLUMNS)}) VALUES ({', '.join(':' + c for c in USER_COLUMNS)})").bindparams(
                *stamps
            ),
            users,
        )
        if tasks:
            connection.execute(
                sa.text(f"INSERT INTO task ({', '.join(TASK_COLUMNS)}) VALUES ({', '.join(':' + c for c in TASK_COLUMNS)})").bindparams(
                    *stamps
                ),
                tasks,
            )
        connection.commit()


@pytest.mark.timeout(300)
def test_round_trips_lose_nothing(backend: str, make_database) -> None:
    """001 -> head -> 001 -> head -> 001 keeps every value of every column, whatever the seed's app stored."""
    url = make_database(backend)  # one database for every example: each starts by emptying it at 001
    migrations.upgrade(url, "001")

    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(rows=_rows(backend))
    def round_trip(rows: tuple[list[dict], list[dict]]) -> None:
        users, tasks = rows
        _insert_at_001(url, users, tasks)
        stored = _database_checksums(url)
        assert stored == _checksums(users, tasks), "revision 001 holds exactly what was inserted"
        for step in ("head", "001", "head", "001"):
            if step == "head":
                migrations.upgrade(url)
            else:
                migrations.downgrade("001", url)
            assert migrations.current(url) == ((migrations.head(),) if step == "head" else ("001",))
            assert _database_checksums(url) == stored, f"a column changed on the way to {step}"

    round_trip()


# --- 4. reports cannot write ------------------------------------------------------------------------


def _sqlite_files(url: URL) -> dict[str, bytes]:
    path = Path(url.database or "")
    return {p.name: p.read_bytes() for p in sorted(path.parent.glob(path.name + "*"))}


def test_report_sessions_cannot_write(head_url: URL, backend: str) -> None:
    load_sample(head_url, users=8, tasks=150, seed=4)
    dispose_engines()
    before = fingerprint(head_url)
    files = _sqlite_files(head_url) if backend == "sqlite" else {}
    if backend == "sqlite":
        assert list(files) == [Path(head_url.database or "").name], "every write is checkpointed into the file"

    engine = get_engine(head_url, read_only=True)  # the engine read_schema, index_report, drift and the task report use
    for statement in ("DELETE FROM task", "INSERT INTO users (id, email) VALUES ('intruder', 'intruder@example.com')"):
        with pytest.raises(DBAPIError, match=r"read-only|readonly"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
        with pytest.raises(QueryError, match="refused a write"):
            read_frame(statement, database_url=head_url)
    read_schema(head_url)
    drift(head_url)
    index_report(head_url)
    task_report(head_url)
    summary(head_url)
    dispose_engines()
    frames.close_connections()

    assert fingerprint(head_url) == before
    if backend == "sqlite":
        after = _sqlite_files(head_url)
        name = Path(head_url.database or "").name
        assert after[name] == files[name], "the database file is byte for byte what it was"
        assert after.get(f"{name}-wal", b"") == b"", "no write is waiting in the WAL either"


def test_a_read_only_sqlite_session_cannot_attach_its_file_writable(make_database) -> None:
    url = make_database("sqlite")
    migrations.upgrade(url)
    load_sample(url, users=3, tasks=20, seed=1)
    dispose_engines()
    before = fingerprint(url)
    with contextlib.suppress(DBAPIError), get_engine(url, read_only=True).begin() as connection:
        connection.exec_driver_sql(f"ATTACH DATABASE 'file:{Path(url.database or '').resolve()}?mode=rw' AS writable")
        connection.exec_driver_sql("DELETE FROM writable.task_relationships")
    dispose_engines()
    assert fingerprint(url) == before


# --- 5. no credential is ever shown -----------------------------------------------------------------

SUCCESSFUL = [
    ("db", "upgrade"),
    ("db", "current"),
    ("db", "check"),
    ("db", "history"),
    ("db", "sql", "001:head"),
    ("db", "stamp", "head"),
    ("sample", "--users", "4", "--tasks", "40", "--seed", "1"),
    ("summary",),
    ("db", "downgrade", "003"),
]
FAILING = [
    ("db", "upgrade"),
    ("db", "downgrade", "001"),
    ("db", "current"),
    ("db", "check"),
    ("db", "stamp", "head"),
    ("sample",),
    ("summary",),
]
OFFLINE = [("db", "history"), ("db", "sql", "001:head")]  # no database needed: they succeed even with a missing one


@pytest.mark.timeout(400)
def test_no_command_shows_the_password(make_database, tmp_path: Path) -> None:
    """Every command, on success and on failure, with the password in --database-url and in DATABASE_URL: no byte shows it."""
    require_pg()
    databases = {"flag": make_database("postgresql"), "env": make_database("postgresql")}
    missing = databases["flag"].set(database=f"todo_data_test_missing_{uuid.uuid4().hex[:8]}")
    cwd = tmp_path / "cwd"  # where every run starts: anything a command writes by default lands here and is searched
    cwd.mkdir()

    def run(mode: str, url: URL, *args: str) -> subprocess.CompletedProcess[str]:
        text = url_text(url.set(password=SECRET))
        if mode == "flag":
            return todo_data(*args, "--database-url", text, env=clean_env(), cwd=cwd)
        return todo_data(*args, env=clean_env(DATABASE_URL=text, DATABASE_ECHO="1"), cwd=cwd)  # echo: every SQL logged too

    def successes(mode: str) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
        done = []
        for args in SUCCESSFUL:
            if args == ("db", "downgrade", "003") and mode == "flag":  # every report, once, at head
                before = fingerprint(databases[mode])
                done.append(("report all", run(mode, databases[mode], "report", "all", "--output-dir", str(tmp_path / "reports"))))
                assert fingerprint(databases[mode]) == before, "running the reports changed no data"
            done.append((" ".join(args), run(mode, databases[mode], *args)))
        return done

    with ThreadPoolExecutor(max_workers=4) as pool:
        ok = {mode: pool.submit(successes, mode) for mode in databases}
        failed = {(mode, args): pool.submit(run, mode, missing, *args) for mode in databases for args in FAILING + OFFLINE}
        failed_report = pool.submit(run, "env", missing, "report", "04-task-report", "--output-dir", str(tmp_path / "failed-report"))
        results = [(f"{mode}: {label}", result) for mode, future in ok.items() for label, result in future.result()]
        results += [(f"{mode}: {' '.join(args)} (missing database)", future.result()) for (mode, args), future in failed.items()]
        results.append(("env: report 04-task-report (missing database)", failed_report.result()))

    for label, result in results:
        if "missing" not in label or any(label.endswith(f"{' '.join(args)} (missing database)") for args in OFFLINE):
            assert result.returncode == 0, f"{label}: {result.stdout}{result.stderr}"
        elif "report" in label:
            assert result.returncode == 1 and "Traceback" not in result.stderr, f"{label}: {result.stderr}"
        else:
            assert_one_line_error(result, "does not exist")
    forms = {SECRET, quote(SECRET, safe="")}
    for label, result in results:
        for form in forms:
            assert form not in result.stdout + result.stderr, label
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {path.name for path in (tmp_path / "reports").iterdir()} >= {
        f"{name}.{ext}" for name in report_names() for ext in ("ipynb", "html")
    }
    assert (tmp_path / "failed-report" / "04-task-report.ipynb").exists(), "the failing report's executed notebook is kept, and searched"
    for path in written:
        content = path.read_bytes()
        for form in forms:
            assert form.encode() not in content, path


# --- 6. bad input -----------------------------------------------------------------------------------


PW_ROLE = "todo_data_pw_test"


def _pg_bindir() -> Path | None:
    config = shutil.which("pg_config")
    if config:
        found = subprocess.run([config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if found and (Path(found) / "initdb").exists():
            return Path(found)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _private_password_server() -> Iterator[URL]:
    """A throwaway PostgreSQL cluster whose only user, PW_ROLE, must give its password (scram-sha-256)."""
    bindir = _pg_bindir()
    if bindir is None:
        raise LookupError("no initdb here (pg_config --bindir, /usr/lib/postgresql/*/bin) to start a server that checks passwords")
    as_root = os.geteuid() == 0
    if as_root and not (shutil.which("runuser") and _user_exists("postgres")):
        raise LookupError("running as root without runuser or a postgres user, so initdb cannot run")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    password = f"right-{uuid.uuid4().hex[:10]}"
    folder = Path(tempfile.mkdtemp(prefix="todo-data-pw-"))
    try:
        (folder / "pw").write_text(password)
        if as_root:
            for path in (folder, folder / "pw"):
                shutil.chown(path, "postgres")
        data = folder / "data"
        initdb = [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", PW_ROLE, "--auth=scram-sha-256", f"--pwfile={folder / 'pw'}"]
        subprocess.run([*initdb, "--no-sync", "-E", "UTF8", "--locale=C"], capture_output=True, check=True, timeout=120)
        port = _free_port()
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60"]
        subprocess.run([*pg_ctl, "-l", str(folder / "log"), "-o", options, "start"], capture_output=True, check=True, timeout=90)
        try:
            yield URL.create("postgresql+psycopg", username=PW_ROLE, password=password, host="127.0.0.1", port=port, database="postgres")
        finally:
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, check=False, timeout=90)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _refuses_a_wrong_password(url: URL) -> bool:
    engine = sa.create_engine(url.set(password="wrong"), poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            return False
    except DBAPIError as exc:
        return "password authentication failed" in str(exc)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def password_url() -> Iterator[URL]:
    """PW_ROLE's URL, with its right password, on a server that checks it.

    The shared server is used where its pg_hba.conf asks PW_ROLE for a password (see docs/reliability.md
    for the lines); where it trusts every local connection, a throwaway cluster is started instead.
    """
    require_pg()
    password = f"right-{uuid.uuid4().hex[:10]}"
    _admin_execute(f"DROP ROLE IF EXISTS {PW_ROLE}")
    _admin_execute(f"CREATE ROLE {PW_ROLE} LOGIN PASSWORD '{password}'")
    try:
        shared = _pg_admin_url().set(username=PW_ROLE, password=password, database="postgres")
        if _refuses_a_wrong_password(shared):
            yield shared
            return
    finally:
        _admin_execute(f"DROP ROLE IF EXISTS {PW_ROLE}")
    try:
        with _private_password_server() as url:
            yield url
    except LookupError as exc:
        reason = f"no server checks passwords: the shared server's pg_hba.conf trusts {PW_ROLE} on 127.0.0.1, and {exc}"
        if REQUIRE_SERVERS:
            pytest.fail(reason)
        pytest.skip(reason)


def test_a_wrong_password_is_one_line_without_the_password(password_url: URL, tmp_path: Path) -> None:
    assert read_frame("SELECT current_user AS who", database_url=password_url)["who"].tolist() == [PW_ROLE], "the right password works"
    wrong = password_url.set(password=SECRET)
    for args, env in (
        (("db", "current", "--database-url", url_text(wrong)), clean_env()),
        (("db", "upgrade"), clean_env(DATABASE_URL=url_text(wrong))),
        (("summary", "--database-url", url_text(wrong)), clean_env()),
    ):
        assert_one_line_error(todo_data(*args, env=env, cwd=tmp_path), f"refused user '{PW_ROLE}'", "check the user name and password")
    with pytest.raises(ConnectionFailed) as refused:
        read_frame("SELECT 1", database_url=wrong)
    shown = "".join(traceback.format_exception(refused.value))
    assert "\n" not in str(refused.value) and f"refused user '{PW_ROLE}'" in str(refused.value)
    assert SECRET not in shown
    frames.close_connections()
    assert not any(tmp_path.iterdir()), "nothing was written"


def _drop_alembic_version(url: URL) -> None:
    with plain(url) as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
        connection.commit()


# name: (the revision the database is at, a set-up step, the command, what its one line says)
BAD_DATABASE_INPUT: dict[str, tuple[str, Callable[[URL], None] | None, tuple[str, ...], tuple[str, ...]]] = {
    "stamp-unknown-revision": ("002", None, ("db", "stamp", "zzz"), ("Unknown revision 'zzz'",)),
    "downgrade-unknown-revision": ("003", None, ("db", "downgrade", "zzz"), ("Unknown revision 'zzz'",)),
    "downgrade-without-alembic-version": ("003", _drop_alembic_version, ("db", "downgrade", "001"), ("nothing to downgrade", "db stamp")),
}


@pytest.mark.parametrize("case", BAD_DATABASE_INPUT)
def test_bad_input_is_one_line_and_changes_nothing(case: str, backend: str, make_database, tmp_path: Path) -> None:
    """More of the table test_cli.py starts (malformed, unreachable and unknown-host URLs, missing databases, unknown revisions)."""
    revision, setup, args, expected = BAD_DATABASE_INPUT[case]
    url = make_database(backend)
    migrations.upgrade(url, revision)
    if setup is not None:
        setup(url)
    dispose_engines()
    before = fingerprint(url)

    result = todo_data(*args, "--database-url", url_text(url.set(password=SECRET) if backend == "postgresql" else url), cwd=tmp_path)

    assert_one_line_error(result, *expected)
    assert fingerprint(url) == before


# name: (the command, given a SQLite file that is not there, what its one line says)
BAD_INPUT_WITHOUT_A_DATABASE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "report-parameter-of-the-wrong-type": (("report", "04-task-report", "-p", "top", "many"), ("parameter top must be int",)),
    "report-unknown-parameter": (("report", "04-task-report", "-p", "colour", "red"), ("unknown parameter colour", "top")),
    "stamp-a-missing-sqlite-file": (("db", "stamp", "001"), ("does not exist", "todo-data db upgrade")),
    "downgrade-a-missing-sqlite-file": (("db", "downgrade", "001"), ("does not exist", "todo-data db upgrade")),
    "summary-of-a-missing-sqlite-file": (("summary",), ("does not exist", "todo-data db upgrade")),
}


@pytest.mark.parametrize("case", BAD_INPUT_WITHOUT_A_DATABASE)
def test_bad_input_before_any_database_is_one_line_and_creates_nothing(case: str, tmp_path: Path) -> None:
    """Report parameters are checked before anything runs; a mistyped SQLite path is not created (PostgreSQL's missing
    database, for every command, is in test_no_command_shows_the_password)."""
    args, expected = BAD_INPUT_WITHOUT_A_DATABASE[case]
    missing = tmp_path / "typo" / "todo.db"
    output = tmp_path / "output"
    extra = ("--output-dir", str(output)) if args[0] == "report" else ()
    assert_one_line_error(todo_data(*args, *extra, "--database-url", f"sqlite:///{missing}", cwd=tmp_path), *expected)
    assert not (tmp_path / "typo").exists(), "no database file (or folder) was created"
    assert not output.exists() or not any(output.iterdir()), "no report ran"


@pytest.mark.parametrize("command", [("db", "current"), ("db", "check")])
def test_reading_the_revision_of_a_missing_sqlite_file_creates_nothing(command: tuple[str, ...], tmp_path: Path) -> None:
    """A typo in the path is said to be one, and leaves no new file or folder behind."""
    missing = tmp_path / "typo" / "todo.db"
    result = todo_data(*command, "--database-url", f"sqlite:///{missing}", cwd=tmp_path)
    assert_one_line_error(result, "does not exist")
    assert not (tmp_path / "typo").exists()


SQL_TEXT = "'; DROP TABLE task; --"


def test_the_explorer_searches_sql_metacharacters_literally(head_url: URL) -> None:
    """tasks_frame's own cases are in test_frames.py; the Explorer builds its queries from the same filters."""
    load_sample(head_url, users=3, tasks=30, seed=2)
    with plain(head_url) as connection:
        user = connection.exec_driver_sql("SELECT id FROM users ORDER BY id LIMIT 1").scalar_one()
        connection.execute(
            sa.text("INSERT INTO task (user_id, title, description) VALUES (:u, :t, 'x'), (:u, 'plain', :t)"), {"u": user, "t": SQL_TEXT}
        )
        connection.commit()
    before = fingerprint(head_url)

    explorer = Explorer(head_url, text=SQL_TEXT)
    assert explorer.total == 2 and explorer.message.value == ""
    page = explorer.page_frame()
    assert sorted(page["title"]) == sorted([SQL_TEXT, "plain"])
    explorer.text.value = "%_\\"  # LIKE's wildcards and escape, as plain characters: nothing matches
    assert explorer.total == 0 and explorer.page_frame().empty
    frames.close_connections()
    assert fingerprint(head_url) == before


# --- 7. lost connections ----------------------------------------------------------------------------
# A SQLite file has no server to lose: these run on PostgreSQL, where the test's own database's sessions are
# terminated from an admin connection (the shared server itself is never restarted).


@pytest.fixture
def pg_head_url(make_database) -> URL:
    url = make_database("postgresql")
    migrations.upgrade(url)
    return url


@pytest.mark.timeout(60)
def test_a_cached_engine_recovers_after_its_sessions_are_cut(pg_head_url: URL) -> None:
    """Between two report cells the server drops every session: pre-ping notices, the next call reconnects."""
    head_url = pg_head_url
    load_sample(head_url, users=5, tasks=60, seed=3)
    engine = get_engine(head_url, read_only=True)
    first = summary(head_url)
    with engine.connect() as connection:  # a pooled, idle session the next cell will reuse
        old_pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    assert terminate_backends(head_url) >= 1

    assert summary(head_url) == first
    assert get_engine(head_url, read_only=True) is engine
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != old_pid
    assert read_schema(head_url).tables is not None


@pytest.mark.timeout(60)
@pytest.mark.parametrize("reader", ["engine", "read_frame"])
def test_a_query_cut_off_mid_way_is_one_line_and_the_next_call_works(pg_head_url: URL, reader: str) -> None:
    """The server drops the session under a running query: one ConnectionFailed line, no hang, and the next call works."""
    url = pg_head_url.set(password=SECRET)
    load_sample(pg_head_url, users=5, tasks=60, seed=3)

    def slow() -> object:
        if reader == "read_frame":
            return read_frame("SELECT pg_sleep(30) AS slept", database_url=url)
        with translate_errors(url), get_engine(url, read_only=True).connect() as connection:
            return connection.exec_driver_sql("SELECT pg_sleep(30)").scalar()

    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            slow()
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    wait_until(
        lambda: admin_rows("SELECT 1 FROM pg_stat_activity WHERE datname = :db AND query LIKE '%pg_sleep(30)%'", db=url.database),
        "the query",
    )
    terminate_backends(url)
    worker.join(timeout=30)
    assert not worker.is_alive(), "the cut-off query hangs"

    error = outcome.get("error")
    assert isinstance(error, ConnectionFailed), repr(error)
    assert "\n" not in str(error) and SECRET not in "".join(traceback.format_exception(error))
    if reader == "read_frame":
        assert read_frame("SELECT count(*) AS n FROM task", database_url=url)["n"].tolist() == [60]
    else:
        assert summary(url).tasks == 60
