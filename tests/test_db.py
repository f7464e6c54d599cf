"""Engines and sessions against real SQLite files and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated

import httpx2
import nbformat
import psutil
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from nbclient import NotebookClient
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_data import db
from todo_data.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    describe_connection_error,
    dispose_engines,
    get_async_engine,
    get_async_session,
    get_engine,
    get_session,
    loop_async_engine,
    run_async,
    session_scope,
    translate_errors,
)
from todo_data.errors import ConnectionFailed
from todo_data.migrations import upgrade
from todo_data.models import User

PASSWORD = "s3cr%t-P@ss"


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _count_users(url: URL) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM users")).scalar_one())
    finally:
        engine.dispose()


def _table_names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


@pytest.fixture
def sqlite_head_url(make_database: Callable[[str], URL]) -> URL:
    url = make_database("sqlite")
    upgrade(url)
    return url


@pytest.fixture
async def close_async_engines(make_database: Callable[[str], URL]) -> AsyncIterator[None]:
    """Close async engines inside the test's own event loop, before the databases are dropped."""
    yield
    for engine in list(db._ASYNC_ENGINES.values()):
        await engine.dispose()


# --- engines: lazy and cached -------------------------------------------------------------------


def test_importing_todo_data_creates_no_engine(tmp_path: Path) -> None:
    code = (
        "import todo_data, todo_data.db as db\n"
        "print(len(db._ENGINES), len(db._ASYNC_ENGINES))\n"
        "db.get_engine()\n"
        "print(len(db._ENGINES), len(db._ASYNC_ENGINES))\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "database_url")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["0 0", "1 0"]  # none at import; the first use makes one


def test_importing_todo_data_touches_no_file(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "database_url")}
    subprocess.run([sys.executable, "-c", "import todo_data"], cwd=tmp_path, env=env, check=True)
    assert list(tmp_path.iterdir()) == []


def test_engines_are_cached_per_url(make_database: Callable[[str], URL]) -> None:
    first, second = make_database("sqlite"), make_database("sqlite")
    engine = get_engine(first)
    assert get_engine(first) is engine
    assert get_engine(_render(first)) is engine
    assert get_engine(f"sqlite:///{first.database}") is engine  # the same database spelled differently
    assert get_engine(second) is not engine
    with engine.connect():  # the file exists now, so it can be opened read-only
        pass
    read_only = get_engine(first, read_only=True)
    assert read_only is not engine
    assert get_engine(first, read_only=True) is read_only


def test_async_engines_are_cached_per_url(make_database: Callable[[str], URL]) -> None:
    url = make_database("sqlite")
    engine = get_async_engine(url)
    assert get_async_engine(_render(url)) is engine
    assert engine.url.drivername == "sqlite+aiosqlite"
    assert get_engine(url).url.database == engine.url.database  # sync and async share the one URL


def test_dispose_engines_empties_the_cache(make_database: Callable[[str], URL]) -> None:
    url = make_database("sqlite")
    engine = get_engine(url)
    get_async_engine(url)
    dispose_engines()
    assert db._ENGINES == {} and db._ASYNC_ENGINES == {}
    assert get_engine(url) is not engine


def test_the_default_engine_is_the_embedded_file_under_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = get_engine()
    assert engine.url.database == str(tmp_path / "data" / "todo.db")
    assert (tmp_path / "data").is_dir()  # the folder is made for it
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    assert (tmp_path / "data" / "todo.db").is_file()


def test_a_user_given_sqlite_url_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    """Issue 15.8: only the default embedded file's folder is made; elsewhere a missing folder is more likely a typo."""
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'todo.db'}"
    expected = f"Folder {tmp_path / 'no' / 'such'} does not exist: create the folder or fix the SQLite URL."
    with pytest.raises(ConnectionFailed) as sync_error:
        get_engine(url)
    with pytest.raises(ConnectionFailed) as async_error:
        get_async_engine(url)
    assert str(sync_error.value) == str(async_error.value) == expected
    assert list(tmp_path.iterdir()) == []


def test_database_url_from_the_environment_is_used(make_database: Callable[[str], URL], monkeypatch: pytest.MonkeyPatch) -> None:
    url = make_database("sqlite")
    monkeypatch.setenv("DATABASE_URL", _render(url))
    assert get_engine() is get_engine(url)


# --- SQLite connections -------------------------------------------------------------------------


def test_sqlite_connections_enforce_foreign_keys_use_wal_and_wait_when_busy(make_database: Callable[[str], URL]) -> None:
    with get_engine(make_database("sqlite")).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == SQLITE_BUSY_TIMEOUT_MS


async def test_async_sqlite_connections_have_the_same_pragmas(make_database: Callable[[str], URL], close_async_engines: None) -> None:
    async with get_async_engine(make_database("sqlite")).connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1
        assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
        assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar_one() == SQLITE_BUSY_TIMEOUT_MS


def test_ddl_is_transactional(database_url: URL) -> None:
    engine = get_engine(database_url)
    with pytest.raises(RuntimeError, match="abort"), engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        assert "scratch" in set(sa.inspect(connection).get_table_names())
        raise RuntimeError("abort")
    assert "scratch" not in _table_names(engine)
    with engine.begin() as connection:  # and a committed CREATE stays
        connection.exec_driver_sql("CREATE TABLE kept (x INTEGER)")
    assert "kept" in _table_names(engine)


# --- read-only engines --------------------------------------------------------------------------


def test_read_only_engines_refuse_writes(head_url: URL, backend: str) -> None:
    engine = get_engine(head_url, read_only=True)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 0  # reading works
        if backend == "postgresql":
            assert connection.exec_driver_sql("SHOW default_transaction_read_only").scalar_one() == "on"
    with pytest.raises(DBAPIError, match=r"read-only|readonly"), engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO users (id, email) VALUES ('u1', 'a@example.com')"))
    with pytest.raises(DBAPIError, match=r"read-only|readonly"), session_scope(head_url, read_only=True) as session:
        session.add(User(email="b@example.com"))
        session.flush()
    assert _count_users(head_url) == 0


def test_read_only_sqlite_opens_the_file_with_mode_ro(sqlite_head_url: URL) -> None:
    engine = get_engine(sqlite_head_url, read_only=True)
    assert engine.url.database == f"file:{Path(sqlite_head_url.database or '').resolve()}?mode=ro"
    assert engine.url.query["uri"] == "true"


def test_read_only_sqlite_refuses_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(ConnectionFailed, match="does not exist"):
        get_engine(f"sqlite:///{missing}", read_only=True)
    assert not missing.exists()


# --- sessions -----------------------------------------------------------------------------------


def test_session_scope_commits_on_success(head_url: URL) -> None:
    with session_scope(head_url) as session:
        assert isinstance(session, Session)
        session.add(User(email="ada@example.com", name="Ada"))
    assert _count_users(head_url) == 1
    with session_scope(head_url) as session:
        assert [user.email for user in session.exec(select(User)).all()] == ["ada@example.com"]


def test_session_scope_rolls_back_on_error(head_url: URL) -> None:
    with pytest.raises(RuntimeError, match="boom"), session_scope(head_url) as session:
        session.add(User(email="ada@example.com"))
        session.flush()  # the row reached the database ...
        raise RuntimeError("boom")
    assert _count_users(head_url) == 0  # ... and was rolled back


def test_session_scope_rolls_back_a_failed_commit(head_url: URL) -> None:
    with session_scope(head_url) as session:
        session.add(User(email="ada@example.com"))
    with pytest.raises(IntegrityError), session_scope(head_url) as session:
        session.add(User(email="grace@example.com"))
        session.add(User(email="ada@example.com"))  # duplicate: the commit fails
    assert _count_users(head_url) == 1


def test_get_session_is_a_generator_of_sqlmodel_sessions(head_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    dependency = get_session()
    session = next(dependency)
    assert isinstance(session, Session)
    assert session.exec(select(User)).all() == []  # sqlmodel's .exec
    dependency.close()


def test_get_session_keeps_what_the_route_commits(head_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    dependency = get_session()
    session = next(dependency)
    session.add(User(email="ada@example.com"))
    session.commit()
    with pytest.raises(StopIteration):
        next(dependency)  # what FastAPI does after the response
    assert _count_users(head_url) == 1


def test_get_session_does_not_commit_after_the_route(head_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    """Errata 15: a commit after ``yield`` would run after the response was sent."""
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    dependency = get_session()
    session = next(dependency)
    session.add(User(email="ada@example.com"))
    session.flush()
    with pytest.raises(StopIteration):
        next(dependency)
    assert _count_users(head_url) == 0


def test_get_session_rolls_back_when_the_route_fails(head_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    dependency = get_session()
    session = next(dependency)
    session.add(User(email="ada@example.com"))
    session.flush()
    with pytest.raises(ValueError, match="route failed"):
        dependency.throw(ValueError("route failed"))
    assert _count_users(head_url) == 0


async def test_get_async_session_yields_a_sqlmodel_async_session(
    head_url: URL, monkeypatch: pytest.MonkeyPatch, close_async_engines: None
) -> None:
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    dependency = get_async_session()
    session = await anext(dependency)
    assert isinstance(session, AsyncSession)
    session.add(User(email="ada@example.com", name="Ada"))
    await session.commit()
    users = (await session.exec(select(User))).all()
    assert [(user.email, user.name) for user in users] == [("ada@example.com", "Ada")]
    await dependency.aclose()
    assert _count_users(head_url) == 1


async def test_get_async_session_does_not_commit_after_the_route(
    head_url: URL, monkeypatch: pytest.MonkeyPatch, close_async_engines: None
) -> None:
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    dependency = get_async_session()
    session = await anext(dependency)
    session.add(User(email="ada@example.com"))
    await session.flush()
    with pytest.raises(StopAsyncIteration):
        await anext(dependency)
    assert _count_users(head_url) == 0


async def test_get_async_session_uses_the_async_driver(head_url: URL, monkeypatch: pytest.MonkeyPatch, close_async_engines: None) -> None:
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    dependency = get_async_session()
    session = await anext(dependency)
    assert session.bind is not None
    assert session.bind.url.drivername in ("sqlite+aiosqlite", "postgresql+asyncpg")
    await dependency.aclose()


# --- run_async ----------------------------------------------------------------------------------


async def _double(value: int) -> int:
    await asyncio.sleep(0)
    return value * 2


async def _fail() -> None:
    await asyncio.sleep(0)
    raise ValueError("inner failure")


def test_run_async_without_a_running_loop() -> None:
    assert run_async(_double(21)) == 42
    with pytest.raises(ValueError, match="inner failure"):
        run_async(_fail())


def test_run_async_from_inside_a_running_loop() -> None:
    """Jupyter's case: sync code called while the kernel's loop runs."""

    async def cell() -> tuple[int, bool]:
        caller = threading.get_ident()
        result = run_async(_double(21))  # a plain call, not awaited
        with pytest.raises(ValueError, match="inner failure"):
            run_async(_fail())
        return result, threading.get_ident() == caller

    assert asyncio.run(cell()) == (42, True)


async def test_run_async_inside_pytest_asyncio_loop() -> None:
    assert run_async(_double(5)) == 10


def test_run_async_runs_a_real_query(make_database: Callable[[str], URL]) -> None:
    url = make_database("sqlite")

    async def query() -> int:
        engine = sa.ext.asyncio.create_async_engine(f"sqlite+aiosqlite:///{url.database}")
        try:
            async with engine.connect() as connection:
                return int((await connection.execute(sa.text("SELECT 41 + 1"))).scalar_one())
        finally:
            await engine.dispose()

    assert run_async(query()) == 42

    async def cell() -> int:
        return run_async(query())

    assert asyncio.run(cell()) == 42


# --- async work across event loops ---------------------------------------------------------------


def _connections_left(url: URL, *, wait: float = 5) -> int:
    """Connections still open to the database: its PostgreSQL sessions but this one, or this process's open SQLite files.

    A closed asyncpg connection's server process may take a moment to go, so this waits up to ``wait`` seconds for none.
    """
    deadline = time.monotonic() + wait
    while True:
        if url.get_backend_name() == "postgresql":
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            try:
                with engine.connect() as connection:
                    others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    count = int(connection.exec_driver_sql(others).scalar_one())
            finally:
                engine.dispose()
        else:
            count = sum(1 for file in psutil.Process().open_files() if file.path.startswith(str(url.database)))
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


async def _add_user(email: str, engine: sa.ext.asyncio.AsyncEngine | None = None, url: URL | None = None) -> int:
    """Add a user through an async session and return how many there are."""
    async with AsyncSession(engine or get_async_engine(url)) as session:
        session.add(User(email=email))
        await session.commit()
        return len((await session.exec(select(User))).all())


async def _route(email: str) -> int:
    """What FastAPI does with ``get_async_session`` for one request; returns the connection's server process id (0 on SQLite)."""
    dependency = get_async_session()
    session = await anext(dependency)
    session.add(User(email=email))
    await session.commit()
    connection = await session.connection()
    pid = int((await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()) if connection.dialect.name == "postgresql" else 0
    with pytest.raises(StopAsyncIteration):
        await anext(dependency)
    return pid


def _email() -> str:
    return f"{uuid.uuid4().hex[:8]}@example.com"


def test_the_async_engine_works_in_one_event_loop_after_another(head_url: URL) -> None:
    """Issue 15.1: each ``asyncio.run`` is a new loop; a connection pooled in the last one cannot serve this one."""
    assert [asyncio.run(_add_user(_email(), url=head_url)) for _ in range(3)] == [1, 2, 3]
    engine = get_async_engine(head_url)  # taken outside any loop, used in several
    assert [asyncio.run(_add_user(_email(), engine)) for _ in range(3)] == [4, 5, 6]
    assert _connections_left(head_url) == 0


def test_get_async_session_in_one_event_loop_after_another(head_url: URL, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", _render(head_url))

    async def two_requests() -> list[int]:
        return [await _route(_email()), await _route(_email())]

    for _ in range(3):
        first, second = asyncio.run(two_requests())
        assert first == second  # within a loop the pooled connection is reused
    assert _count_users(head_url) == 6
    assert _connections_left(head_url) == 0  # and closed when its loop shut down


def test_loop_async_engine_is_one_per_running_loop(head_url: URL, backend: str) -> None:
    async def engines() -> tuple[sa.ext.asyncio.AsyncEngine, sa.ext.asyncio.AsyncEngine]:
        return await loop_async_engine(head_url), await loop_async_engine(head_url)

    first, same = asyncio.run(engines())
    second, _ = asyncio.run(engines())
    assert first is same
    assert (first is not second) if backend == "postgresql" else (first is second is get_async_engine(head_url))
    assert all(key[2] is None for key in db._ASYNC_ENGINES)  # a finished loop's engine is forgotten


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # asyncpg's "unclosed connection", the case itself
def test_a_loop_closed_without_shutdown_leaves_no_engine_behind(head_url: URL, backend: str) -> None:
    """``loop.close()`` without ``shutdown_asyncgens()``: the engine cannot say goodbye, but is dropped and its connection closed."""
    loop = asyncio.new_event_loop()
    engine = loop.run_until_complete(loop_async_engine(head_url))
    loop.run_until_complete(_add_user(_email(), engine))
    loop.close()

    async def add_in_this_loop() -> int:
        return await _add_user(_email(), await loop_async_engine(head_url))

    assert asyncio.run(add_in_this_loop()) == 2
    if backend == "postgresql":
        assert all(cached is not engine for cached in db._ASYNC_ENGINES.values())
    del engine, loop
    gc.collect()
    assert _connections_left(head_url) == 0


def test_run_async_in_cell_after_cell(head_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15.1: in Jupyter, code in a cell runs while the kernel's loop runs; each cell's ``run_async`` is a new loop."""
    monkeypatch.setenv("DATABASE_URL", _render(head_url))

    async def kernel() -> list[int]:
        engine = get_async_engine()  # a cell's top level: the kernel's loop is running
        counts = []
        for _ in range(3):  # three cells
            counts.append(run_async(_add_user(_email())))
            counts.append(run_async(_add_user(_email(), engine)))
            run_async(_route(_email()))
        return counts

    assert asyncio.run(kernel()) == [1, 2, 4, 5, 7, 8]
    assert _count_users(head_url) == 9
    assert _connections_left(head_url) == 0


def test_run_async_in_notebook_cells(head_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same in a real kernel, with a top-level ``await`` on the kernel's own loop between the cells."""
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")]))
    )
    cells = [
        "import todo_data as td\n"
        "from sqlmodel import select\n"
        "from sqlmodel.ext.asyncio.session import AsyncSession\n"
        "engine = td.get_async_engine()\n"
        "async def add(email):\n"
        "    async with AsyncSession(engine) as session:\n"
        "        session.add(td.User(email=email))\n"
        "        await session.commit()\n"
        "        return len((await session.exec(select(td.User))).all())\n"
        "print(td.run_async(add('a@example.com')))",
        "print(td.run_async(add('b@example.com')))",
        "print(await add('c@example.com'))",
        "async def route():\n"
        "    dependency = td.get_async_session()\n"
        "    session = await anext(dependency)\n"
        "    count = len((await session.exec(select(td.User))).all())\n"
        "    await dependency.aclose()\n"
        "    return count\n"
        "print(td.run_async(route()))",
        "print(td.run_async(route()), td.run_async(add('d@example.com')))",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    printed = ["".join(output.get("text", "") for output in cell.outputs).strip() for cell in notebook.cells]
    assert printed == ["1", "2", "3", "3", "3 4"]


def _fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.post("/users")
    async def add_user(email: str, session: Annotated[AsyncSession, Depends(get_async_session)]) -> dict[str, int]:
        session.add(User(email=email))
        await session.commit()
        return {"users": len((await session.exec(select(User))).all())}

    return app


def test_a_fastapi_app_serves_requests_through_successive_test_clients(head_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15.1: a second ``TestClient`` made the first ``get_async_session`` request fail with 500."""
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    app = _fastapi_app()
    responses = []
    for _ in range(2):
        client = TestClient(app, raise_server_exceptions=False)  # each request in a loop of its own
        responses += [client.post("/users", params={"email": _email()}) for _ in range(2)]
        with TestClient(app, raise_server_exceptions=False) as client:  # one loop for the block
            responses += [client.post("/users", params={"email": _email()}) for _ in range(2)]
    assert [(response.status_code, response.json()) for response in responses] == [(200, {"users": n}) for n in range(1, 9)]
    assert _connections_left(head_url) == 0


def test_uvicorn_pools_a_connection_while_it_serves_and_closes_it_on_shutdown(
    head_url: URL, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", _render(head_url))
    app = _fastapi_app()
    counts, open_while_serving = [], []
    for _ in range(2):  # a server after a server: each runs its own loop
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
            thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
            thread.start()
            try:
                deadline = time.monotonic() + 15
                while not server.started and thread.is_alive() and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert server.started, "uvicorn did not start"
                with httpx2.Client(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=15) as http:
                    counts += [http.post("/users", params={"email": _email()}).json()["users"] for _ in range(5)]
                open_while_serving.append(_connections_left(head_url, wait=0) if backend == "postgresql" else None)
            finally:
                server.should_exit = True
                thread.join(timeout=15)
        assert not thread.is_alive()
    assert counts == list(range(1, 11))
    if backend == "postgresql":  # pooled: fewer connections than requests (the next may come before the last's session closes)
        assert all(1 <= count <= 2 for count in open_while_serving), open_while_serving
    assert _connections_left(head_url) == 0


# --- connection errors --------------------------------------------------------------------------


def _connection_failure(url: URL) -> ConnectionFailed:
    engine = get_engine(url)
    with pytest.raises(ConnectionFailed) as excinfo, translate_errors(url), engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    error = excinfo.value
    message = str(error)
    assert "\n" not in message
    assert PASSWORD not in message and "P@ss" not in message and "P%40ss" not in message
    assert error.__cause__ is None and error.__suppress_context__  # no driver traceback chained to it
    return error


def test_an_unreachable_port_becomes_connection_failed() -> None:
    url = URL.create(
        "postgresql+psycopg", username="app", password=PASSWORD, host="127.0.0.1", port=1, database="todo", query={"connect_timeout": "5"}
    )
    message = str(_connection_failure(url))
    assert message == "Cannot reach the database server at 127.0.0.1:1: is it running, and are the URL's host and port right?"


def test_a_missing_database_becomes_connection_failed(make_database: Callable[[str], URL]) -> None:
    server = make_database("postgresql")  # skips (or fails under CI) when there is no server
    url = server.set(database="todo_data_test_no_such_database", password=PASSWORD)
    message = str(_connection_failure(url))
    assert message.startswith(f"Database 'todo_data_test_no_such_database' does not exist on {server.host}:{server.port or 5432}")
    assert "createdb todo_data_test_no_such_database" in message


def test_an_unknown_host_becomes_connection_failed() -> None:
    url = URL.create(
        "postgresql+psycopg",
        username="app",
        password=PASSWORD,
        host="no-such-host.invalid",
        database="todo",
        query={"connect_timeout": "5"},
    )
    assert str(_connection_failure(url)) == "Unknown host 'no-such-host.invalid': fix the host name in the database URL."


def test_a_file_that_is_not_sqlite_becomes_connection_failed(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are notes, not a database\n" * 200)
    url = URL.create("sqlite+pysqlite", database=str(path))
    assert str(_connection_failure(url)) == f"{path} is not a SQLite database: point the URL at a SQLite file."


def test_describe_connection_error_masks_a_password_echoed_by_the_driver() -> None:
    url = URL.create("postgresql+psycopg", username="app", password=PASSWORD, host="db.example.com", database="todo")
    driver_text = f"connection to postgresql://app:{PASSWORD}@db.example.com/todo broke (password {PASSWORD})\nDETAIL: more"
    message = describe_connection_error(RuntimeError(driver_text), url)
    assert message == "Database error at db.example.com:5432: connection to postgresql://app:***@db.example.com/todo broke (password ***)"


def test_errors_that_are_not_about_the_connection_pass_through(head_url: URL) -> None:
    engine = get_engine(head_url)
    insert = sa.text("INSERT INTO users (id, email) VALUES (:id, 'same@example.com')")
    with pytest.raises(IntegrityError), translate_errors(head_url), engine.begin() as connection:
        connection.execute(insert, {"id": "u1"})
        connection.execute(insert, {"id": "u2"})
