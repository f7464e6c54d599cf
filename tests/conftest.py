"""Shared fixtures: a fresh database per test on SQLite and PostgreSQL, made and dropped by the test.

PostgreSQL comes from ``TODO_DATA_TEST_PG_URL`` (default: the local server, user postgres). Where no
server answers, PostgreSQL tests skip with the reason, unless ``TODO_DATA_REQUIRE_SERVERS=1`` (CI),
where they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from todo_data import dispose_engines
from todo_data.settings import normalize_url

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REQUIRE_SERVERS = os.environ.get("TODO_DATA_REQUIRE_SERVERS") == "1"
BACKENDS = ("sqlite", "postgresql")


def _pg_admin_url() -> URL:
    return normalize_url(os.environ.get("TODO_DATA_TEST_PG_URL") or DEFAULT_PG_ADMIN_URL)


_pg_problem: str | bool | None = False  # False: not probed yet


def pg_unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when a server answers."""
    global _pg_problem
    if _pg_problem is False:
        engine = sa.create_engine(_pg_admin_url(), poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            _pg_problem = None
        except Exception as exc:
            _pg_problem = f"no PostgreSQL server at {_pg_admin_url().render_as_string(hide_password=True)}: {str(exc).splitlines()[0]}"
        finally:
            engine.dispose()
    return _pg_problem  # type: ignore[return-value]


def require_pg() -> None:
    problem = pg_unavailable()
    if problem:
        if REQUIRE_SERVERS:
            pytest.fail(f"TODO_DATA_REQUIRE_SERVERS=1 but {problem}")
        pytest.skip(problem)


def _admin_execute(statement: str) -> None:
    engine = sa.create_engine(_pg_admin_url(), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def create_pg_database() -> URL:
    """A new, empty PostgreSQL database with a unique name; the caller drops it."""
    require_pg()
    name = f"todo_data_test_{uuid.uuid4().hex[:12]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    return _pg_admin_url().set(database=name)


def drop_pg_database(url: URL) -> None:
    assert url.database and url.database.startswith("todo_data_test_"), "tests drop only databases they made"
    dispose_engines()
    _admin_execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No DATABASE_URL (or REPORTS_DATABASE_URL) from the caller's shell; no engine outlives its test."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REPORTS_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_ECHO", raising=False)
    yield
    dispose_engines()


@pytest.fixture
def make_database(tmp_path) -> Iterator[Callable[[str], URL]]:
    """Factory: ``make_database("sqlite" | "postgresql")`` gives the URL of a new empty database."""
    made: list[URL] = []

    def factory(backend: str) -> URL:
        if backend == "sqlite":
            url = make_url(f"sqlite+pysqlite:///{tmp_path / f'todo-{uuid.uuid4().hex[:8]}.db'}")
        elif backend == "postgresql":
            url = create_pg_database()
        else:
            raise ValueError(backend)
        made.append(url)
        return url

    yield factory
    dispose_engines()
    for url in made:
        if url.get_backend_name() == "postgresql":
            drop_pg_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """Each test that takes it runs once on SQLite and once on PostgreSQL."""
    if request.param == "postgresql":
        require_pg()
    return request.param


@pytest.fixture
def database_url(backend: str, make_database) -> URL:
    """A new, empty database on the parametrised backend."""
    return make_database(backend)


@pytest.fixture
def head_url(database_url: URL) -> URL:
    """A new database on the parametrised backend, at the head revision."""
    from todo_data.migrations import upgrade

    upgrade(database_url)
    return database_url


# --- a database made by the seed's revision 001, holding realistic rows -------------------------

SEED_USERS = [
    ("550e8400-e29b-41d4-a716-446655440000", "ada@example.com", "Ada Lovelace"),
    ("0b6f1a52-58c5-4a8a-9d5e-2f1c7f3d9e10", "Grace.Hopper@Example.COM", None),
    ("legacy-user-3", "not-an-email", "Zoë Ünïcödé 🚀"),
    ("u4", "dup-name@example.com", ""),
]


def seed_rows(now: datetime | None = None) -> tuple[list[dict], list[dict]]:
    """Users and tasks as the seed's application stored them: naive UTC timestamps, legacy values included."""
    base = now or datetime(2025, 3, 30, 0, 59, 59, 999999)  # the night Europe moves its clocks
    users = [
        {"id": uid, "email": email, "name": name, "created_at": base - timedelta(days=400 + i), "updated_at": base - timedelta(days=i)}
        for i, (uid, email, name) in enumerate(SEED_USERS)
    ]
    priorities = ["low", "medium", "high", None, "urgent", "HIGH", ""]
    tasks = []
    for i in range(60):
        user = SEED_USERS[i % len(SEED_USERS)][0]
        created = base - timedelta(days=i * 7, hours=i, microseconds=i)
        tasks.append(
            {
                "user_id": user,
                "title": ("T" * 200) if i == 3 else f"Task {i}: buy milk & eggs 'quoted' \"double\" ✓",
                "description": None if i % 5 == 0 else ("x" * 1500 if i == 7 else ("" if i == 8 else f"Line one\nLine two {i}")),
                "completed": i % 3 == 0,
                "priority": priorities[i % len(priorities)],
                "created_at": created,
                "updated_at": created + timedelta(hours=1) if i % 4 else created,
            }
        )
    tasks.append(  # year end and DST edges
        {
            "user_id": SEED_USERS[0][0],
            "title": "New year",
            "description": None,
            "completed": False,
            "priority": "medium",
            "created_at": datetime(2024, 12, 31, 23, 59, 59, 999999),
            "updated_at": datetime(2025, 1, 1, 0, 0, 0),
        }
    )
    return users, tasks


def fill_seed_database(url: URL) -> None:
    """Insert :func:`seed_rows` into a database at revision 001, with plain SQL as the seed's app would."""
    users, tasks = seed_rows()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO users (id, email, name, created_at, updated_at) VALUES (:id, :email, :name, :created_at, :updated_at)"
                ),
                users,
            )
            connection.execute(
                sa.text(
                    "INSERT INTO task (user_id, title, description, completed, priority, created_at, updated_at) "
                    "VALUES (:user_id, :title, :description, :completed, :priority, :created_at, :updated_at)"
                ),
                tasks,
            )
    finally:
        engine.dispose()


def table_snapshot(url: URL, table: str, columns: list[str] | None = None) -> list[tuple]:
    """Every row of ``table`` as plain values ordered by id; timestamps as UTC ISO text, so 001 and head compare."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TIME ZONE 'UTC'")
            cols = columns or [c["name"] for c in sa.inspect(connection).get_columns(table)]
            rows = connection.execute(sa.text(f'SELECT {", ".join(cols)} FROM "{table}" ORDER BY id')).all()
    finally:
        engine.dispose()
    return [tuple(_plain(value) for value in row) for row in rows]


def _plain(value):
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == " " and value[13] == ":":
        return datetime.fromisoformat(value).isoformat(sep=" ")  # SQLite keeps timestamps as text
    return value


# --- SQLite: another process asks for the write lock (read_frame's and export's transports keep this one's) ---------

OTHER_WRITER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
try:
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("ROLLBACK")
    print("wrote")
except sqlite3.OperationalError as exc:
    print(exc)
"""


def other_process_writes(path: Path) -> str:
    """What a second process gets when it asks for SQLite's write lock on the file without waiting: ``wrote``, or
    ``database is locked``."""
    return subprocess.run([sys.executable, "-c", OTHER_WRITER, str(path)], capture_output=True, text=True, check=True).stdout.strip()


# --- PostgreSQL statements and workloads, for the index report's tests ------------------------------------


def run_sql(url: URL, *statements: str, autocommit: bool = False) -> None:
    """Run statements in one transaction (or autocommit), on a connection of their own."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT" if autocommit else None)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def run_workload(url: URL, *statements: str, repeat: int = 1, **settings: str) -> None:
    """Run statements in one session, then make PostgreSQL publish its usage counters before returning."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for name, value in settings.items():
                connection.exec_driver_sql(f"SET {name} = {value}")
            for _ in range(repeat):
                for statement in statements:
                    connection.execute(sa.text(statement)).all()
            # Counters are flushed asynchronously; this asks for a flush when the backend goes idle, which has
            # happened once the next statement returns.
            connection.exec_driver_sql("SELECT pg_stat_force_next_flush()")
            connection.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()


def canonical_workload(url: URL) -> list[str]:
    """The index report's canonical queries with their busiest-case parameters written in, ready for run_workload."""
    from todo_data.indexes import CANONICAL_QUERIES, canonical_parameters

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            params = canonical_parameters(connection)
    finally:
        engine.dispose()
    return [
        statement.text.replace(":user_id", f"'{params['user_id']}'").replace(":task_id", str(params["task_id"]))
        for statement in CANONICAL_QUERIES.values()
    ]


# --- another application's objects in the todo app's database (issue 18) ----------------------------

FOREIGN_TABLES = ("account", "session", "user", "verification")  # Better Auth's, as its PostgreSQL schema makes them

_BETTER_AUTH = (
    'CREATE TABLE "user" ("id" text NOT NULL PRIMARY KEY, "name" text NOT NULL, "email" text NOT NULL UNIQUE, '
    '"emailVerified" boolean NOT NULL, "image" text, "createdAt" timestamp NOT NULL, "updatedAt" timestamp NOT NULL)',
    'CREATE TABLE "session" ("id" text NOT NULL PRIMARY KEY, "expiresAt" timestamp NOT NULL, "token" text NOT NULL UNIQUE, '
    '"createdAt" timestamp NOT NULL, "updatedAt" timestamp NOT NULL, "ipAddress" text, "userAgent" text, '
    '"userId" text NOT NULL REFERENCES "user" ("id"))',
    'CREATE TABLE "account" ("id" text NOT NULL PRIMARY KEY, "accountId" text NOT NULL, "providerId" text NOT NULL, '
    '"userId" text NOT NULL REFERENCES "user" ("id"), "accessToken" text, "password" text, '
    '"createdAt" timestamp NOT NULL, "updatedAt" timestamp NOT NULL)',
    'CREATE TABLE "verification" ("id" text NOT NULL PRIMARY KEY, "identifier" text NOT NULL, "value" text NOT NULL, '
    '"expiresAt" timestamp NOT NULL, "createdAt" timestamp, "updatedAt" timestamp)',
    "INSERT INTO \"user\" VALUES ('ba-1', 'Ada', 'ada@example.com', true, NULL, '2025-01-01 00:00:00', '2025-01-01 00:00:00')",
    "INSERT INTO \"session\" VALUES ('s-1', '2030-01-01 00:00:00', 'tok', '2025-01-01 00:00:00', '2025-01-01 00:00:00', NULL, NULL, 'ba-1')",
)
_PG_EXTRAS = (
    """CREATE TYPE "userRole" AS ENUM ('admin', 'member')""",
    'ALTER TABLE "user" ADD COLUMN "role" "userRole"',
    "CREATE SCHEMA auth",
    "CREATE TABLE auth.users (id uuid PRIMARY KEY, email text)",
    'CREATE VIEW auth."activeSessions" AS SELECT "userId", "expiresAt" FROM public."session"',
    'CREATE MATERIALIZED VIEW "sessionCounts" AS SELECT "userId", count(*) AS n FROM "session" GROUP BY "userId"',
)
_SQLITE_EXTRAS = ('CREATE VIEW "activeSessions" AS SELECT "userId", "expiresAt" FROM "session"',)


def foreign_objects_of(url: URL) -> set[tuple[str, str, str]]:
    """The objects :func:`add_foreign_objects` adds on this URL's backend, as (schema, name, kind)."""
    if url.get_backend_name() != "postgresql":
        return {("main", name, "table") for name in FOREIGN_TABLES} | {("main", "activeSessions", "view")}
    return {("public", name, "table") for name in FOREIGN_TABLES} | {
        ("public", "userRole", "enum type"),
        ("auth", "users", "table"),
        ("auth", "activeSessions", "view"),
        ("public", "sessionCounts", "materialized view"),
    }


def add_foreign_objects(url: URL) -> None:
    """Add what an auth library and an analyst leave beside the kit's tables: Better Auth's quoted camelCase
    tables (foreign keys without ON DELETE, one row each in user and session); on PostgreSQL also an enum
    type, a schema with a table and a view, and a materialized view; on SQLite a view."""
    run_sql(url, *_BETTER_AUTH, *(_PG_EXTRAS if url.get_backend_name() == "postgresql" else _SQLITE_EXTRAS))


@pytest.fixture
def shared_head_url(head_url: URL) -> URL:
    """A database at head that also holds another application's objects (:func:`add_foreign_objects`)."""
    add_foreign_objects(head_url)
    return head_url


# --- a primary and its hot standby, servers of the tests' own (issue 18) -------------------------------------

PG_BIN = Path(os.environ.get("TODO_DATA_PG_BIN", "/usr/lib/postgresql/15/bin"))
_PRIMARY_SETTINGS = (  # cheap to start, and enough for a streaming replica that answers queries
    "listen_addresses = '127.0.0.1'",
    "shared_buffers = 16MB",
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "wal_level = replica",
    "max_wal_senders = 4",
    "hot_standby = on",
    "max_connections = 40",
)


@dataclass(frozen=True)
class Replica:
    """A primary and a hot standby streaming from it: URLs of their ``postgres`` databases (trust auth, user postgres)."""

    primary: URL
    standby: URL

    def wait_for_replay(self, timeout: float = 60.0) -> None:
        """Return once the standby has replayed everything the primary has written so far."""
        with _one_connection(self.primary) as connection:
            lsn = connection.execute(sa.text("SELECT pg_current_wal_lsn()::text")).scalar_one()
        deadline = time.monotonic() + timeout
        with _one_connection(self.standby) as connection:
            while not connection.execute(sa.text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": lsn}).scalar_one():
                if time.monotonic() > deadline:
                    pytest.fail(f"the standby did not replay the primary's WAL up to {lsn} within {timeout:.0f} s")
                time.sleep(0.05)


@contextlib.contextmanager
def _one_connection(url: URL) -> Iterator[sa.Connection]:
    """An autocommit connection of its own, disposed with its engine."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _replica_unavailable() -> str | None:
    """Why this machine cannot start servers of its own, or None."""
    missing = [name for name in ("initdb", "pg_ctl", "pg_basebackup") if not (PG_BIN / name).exists()]
    if missing:
        return f"no {', '.join(missing)} in {PG_BIN} (the PostgreSQL 15 server package; TODO_DATA_PG_BIN names another folder)"
    if os.geteuid() != 0 and _user() != "postgres":
        return "starting PostgreSQL servers needs the postgres user: run the tests as root (runuser) or as postgres"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing (util-linux): it runs the servers as the postgres user"
    return None


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _as_postgres(*command: str | Path) -> list[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return [*prefix, *(str(part) for part in command)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_run(*command: str | Path, logs: Path) -> None:
    """Run a server program as postgres; a failure fails the test with its output and the servers' log tails."""
    done = subprocess.run(_as_postgres(*command), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        tails = "".join(
            f"\n--- {log.name}:\n" + "".join(log.read_text().splitlines(keepends=True)[-15:]) for log in sorted(logs.glob("*.log"))
        )
        pytest.fail(f"{Path(str(command[0])).name} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}{tails}")


@pytest.fixture(scope="session")
def replica() -> Iterator[Replica]:
    """A primary (``initdb``) and a hot standby (``pg_basebackup -R``) in a temporary folder, on free ports.

    Started once per session as the postgres user and stopped (``pg_ctl stop -m fast``) at its end, whatever happened.
    Skipped with the reason where the server programs are missing, except under TODO_DATA_REQUIRE_SERVERS=1.
    """
    problem = _replica_unavailable()
    if problem:
        if REQUIRE_SERVERS:
            pytest.fail(f"TODO_DATA_REQUIRE_SERVERS=1 but {problem}")
        pytest.skip(problem)
    root = Path(tempfile.mkdtemp(prefix="todo-data-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary_dir, standby_dir = root / "primary", root / "standby"
    primary_port = standby_port = _free_port()
    while standby_port == primary_port:
        standby_port = _free_port()
    started: list[Path] = []
    try:
        _postgres_run(PG_BIN / "initdb", "-D", primary_dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", logs=root)
        settings = [*_PRIMARY_SETTINGS, f"unix_socket_directories = '{root}'"]
        if (Path(_pkglibdir()) / "pg_stat_statements.so").exists():
            settings.append("shared_preload_libraries = 'pg_stat_statements'")
        with (primary_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")
        _postgres_run(
            PG_BIN / "pg_ctl", "-D", primary_dir, "-l", root / "primary.log", "-o", f"-p {primary_port}", "-w", "start", logs=root
        )
        started.append(primary_dir)
        _postgres_run(
            PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
            "-D", standby_dir, "-R", "-X", "stream", "-c", "fast", "--no-sync", logs=root,
        )  # fmt: skip
        _postgres_run(
            PG_BIN / "pg_ctl", "-D", standby_dir, "-l", root / "standby.log", "-o", f"-p {standby_port}", "-w", "start", logs=root
        )
        started.append(standby_dir)
        admin = make_url("postgresql+psycopg://postgres@127.0.0.1/postgres")
        pair = Replica(primary=admin.set(port=primary_port), standby=admin.set(port=standby_port))
        with _one_connection(pair.standby) as connection:
            assert connection.execute(sa.text("SELECT pg_is_in_recovery()")).scalar_one(), "the standby is not in recovery"
        yield pair
    finally:
        dispose_engines()
        for data in reversed(started):
            subprocess.run(
                _as_postgres(PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"), capture_output=True, timeout=120, check=False
            )
        shutil.rmtree(root, ignore_errors=True)


def _pkglibdir() -> str:
    found = subprocess.run([PG_BIN / "pg_config", "--pkglibdir"], capture_output=True, text=True, check=False)
    return found.stdout.strip() or "/nonexistent"
