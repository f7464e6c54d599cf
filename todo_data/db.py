"""Engines and sessions: created lazily, cached per URL, sync and async from the one URL."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_data.backends import Backend, backend_for, find_backend
from todo_data.backends.sqlite.child import sqlite_child_ended, start_sqlite_child  # noqa: F401  (old names, still importable here)
from todo_data.backends.sqlite.engine import (  # noqa: F401  (old names, still importable here)
    IN_PROCESS_SQLITE_READS,
    SQLITE_BUSY_TIMEOUT_MS,
    InProcessSqliteReads,
    install_sqlite_pragmas,
)
from todo_data.errors import ConnectionFailed, MigrationError
from todo_data.settings import async_url, get_settings, mask_text

T = TypeVar("T")


def resolve_url(database_url: str | URL | None = None) -> URL:
    """The sync URL to use: the argument, else ``DATABASE_URL``, else the embedded SQLite file."""
    return get_settings().url(database_url)


def require_sqlite_file(url: URL) -> None:
    """Refuse to read a SQLite file that is not there: a typo in the path must not read as an empty database."""
    backend = find_backend(url)
    if backend is not None:
        backend.require_file(url)


def _engine_kwargs(echo: bool) -> dict[str, Any]:
    """What every engine gets: pre-ping, no bound values in logs or errors; its backend adds the rest."""
    return {"echo": echo, "pool_pre_ping": True, "hide_parameters": True}


def build_engine(url: URL, *, read_only: bool = False, for_migrations: bool = False, echo: bool = False) -> Engine:
    """A new sync engine for ``url``; callers normally want the cached :func:`get_engine`."""
    backend = backend_for(url)
    url, extra = backend.engine_arguments(url, read_only=read_only)
    kwargs = {**_engine_kwargs(echo), **extra}
    if for_migrations:
        kwargs["poolclass"] = NullPool
    engine = create_engine(url, **kwargs)
    backend.prepare_engine(engine, read_only=read_only, for_migrations=for_migrations)
    return engine


@dataclass(frozen=True)
class DatabaseHandle:
    """One database resolved once: its URL, its backend and one engine, passed along instead of the URL, so work that
    reads the same database several times builds one engine for it (see :func:`open_database`)."""

    url: URL
    backend: Backend
    engine: Engine

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection from the handle's engine; connection failures become one line (:func:`translate_errors`)."""
        with translate_errors(self.url), self.engine.connect() as connection:
            yield connection


@contextlib.contextmanager
def open_database(url: URL, *, read_only: bool = False, for_migrations: bool = False) -> Iterator[DatabaseHandle]:
    """A resolved URL (:func:`resolve_url`) as one :class:`DatabaseHandle`, its engine made as :func:`build_engine` makes
    it and disposed once, when the block ends. An unknown backend fails here."""
    backend = backend_for(url)
    engine = build_engine(url, read_only=read_only, for_migrations=for_migrations)
    try:
        yield DatabaseHandle(url, backend, engine)
    finally:
        engine.dispose()


_ENGINES: dict[tuple[str, bool, bool], Engine] = {}
# Keyed by URL, echo and the event loop an engine's pool belongs to (None: unpooled, for any loop).
_AsyncKey = tuple[str, bool, asyncio.AbstractEventLoop | None]
_ASYNC_ENGINES: dict[_AsyncKey, AsyncEngine] = {}
_LOOP_CLOSERS: dict[AsyncEngine, tuple[asyncio.AbstractEventLoop, AsyncGenerator[None]]] = {}
_LOCK = threading.Lock()


def get_engine(database_url: str | URL | None = None, *, read_only: bool = False) -> Engine:
    """The shared sync engine for a URL (made on first use, never at import)."""
    url = resolve_url(database_url)
    echo = get_settings().database_echo
    key = (url.render_as_string(hide_password=False), read_only, echo)
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = build_engine(url, read_only=read_only, echo=echo)
        return _ENGINES[key]


def _build_async_engine(url: URL, echo: bool, *, pooled: bool) -> AsyncEngine:
    backend = backend_for(url)
    url, extra = backend.engine_arguments(url, read_only=False)
    kwargs = {**_engine_kwargs(echo), **extra}
    if backend.async_pool_per_loop and not pooled:
        kwargs["poolclass"] = NullPool
    engine = create_async_engine(url, **kwargs)
    backend.prepare_engine(engine.sync_engine, read_only=False, for_migrations=False)
    return engine


def get_async_engine(database_url: str | URL | None = None) -> AsyncEngine:
    """The shared async engine (asyncpg or aiosqlite) for the same URL the sync engine uses; it works in any event loop.

    A pooled asyncpg connection belongs to the event loop that opened it, so on PostgreSQL this engine keeps none
    (SQLAlchemy's advice for an engine shared among loops): each connection opens and closes in the loop that uses it.
    """
    url = async_url(resolve_url(database_url))
    echo = get_settings().database_echo
    key = (url.render_as_string(hide_password=False), echo, None)
    with _LOCK:
        if key not in _ASYNC_ENGINES:
            _ASYNC_ENGINES[key] = _build_async_engine(url, echo, pooled=False)
        return _ASYNC_ENGINES[key]


async def loop_async_engine(database_url: str | URL | None = None) -> AsyncEngine:
    """A pooled async engine for the running event loop only; its connections close when the loop shuts down.

    For work that stays in one loop (a web app's requests): connections are reused instead of opened each time. SQLite
    files are not pooled, so there it is :func:`get_async_engine`.
    """
    url = async_url(resolve_url(database_url))
    if not backend_for(url).async_pool_per_loop:
        return get_async_engine(database_url)
    echo = get_settings().database_echo
    loop = asyncio.get_running_loop()
    key = (url.render_as_string(hide_password=False), echo, loop)
    closer = None
    with _LOCK:
        _forget_closed_loops()
        engine = _ASYNC_ENGINES.get(key)
        if engine is None:
            engine = _ASYNC_ENGINES[key] = _build_async_engine(url, echo, pooled=True)
            closer = _dispose_at_loop_shutdown(key, engine)
            _LOOP_CLOSERS[engine] = (loop, closer)
    if closer is not None:
        await anext(closer)  # parks it in this loop, which closes it when it shuts down
    return engine


async def _dispose_at_loop_shutdown(key: _AsyncKey, engine: AsyncEngine) -> AsyncGenerator[None]:
    """Waits at ``yield`` until its loop closes its async generators (``asyncio.run``, anyio and uvicorn do, before the
    loop closes), then closes the engine's pooled connections while the loop still runs."""
    try:
        yield
    finally:
        with _LOCK:
            if _ASYNC_ENGINES.get(key) is engine:
                del _ASYNC_ENGINES[key]
            _LOOP_CLOSERS.pop(engine, None)
        await engine.dispose()


def _forget_closed_loops() -> None:
    """Drop the engines of loops closed without shutting down their async generators; their connections cannot be
    closed politely any more, and are closed as they are collected. Call with ``_LOCK`` held."""
    for engine in [engine for engine, (loop, _closer) in _LOOP_CLOSERS.items() if loop.is_closed()]:
        del _LOOP_CLOSERS[engine]
        for key in [key for key, cached in _ASYNC_ENGINES.items() if cached is engine]:
            del _ASYNC_ENGINES[key]
        engine.sync_engine.dispose(close=False)


def dispose_engines() -> None:
    """Close every cached engine's connections (tests, notebooks that switch databases).

    A running loop's pooled engine is only forgotten here: it is disposed when its loop shuts down.
    """
    with _LOCK:
        _forget_closed_loops()
        engines, async_engines = list(_ENGINES.values()), [engine for key, engine in _ASYNC_ENGINES.items() if key[2] is None]
        _ENGINES.clear()
        _ASYNC_ENGINES.clear()
    for engine in engines:
        engine.dispose()
    for async_engine in async_engines:
        async_engine.sync_engine.dispose(close=False)  # unpooled: nothing is kept open


@contextlib.contextmanager
def session_scope(database_url: str | URL | None = None, *, read_only: bool = False) -> Iterator[Session]:
    """A SQLModel session that commits when the block ends without error and rolls back otherwise."""
    with Session(get_engine(database_url, read_only=read_only)) as session:
        try:
            yield session
            if not read_only:
                session.commit()
        except BaseException:
            session.rollback()
            raise


def get_session() -> Iterator[Session]:
    """FastAPI-style dependency: the route commits with ``session.commit()``; nothing is committed after it returns.

    Code after ``yield`` runs after the response is sent, so committing there could report a failed
    write as a success (errata 15). Uncommitted work is rolled back instead.
    """
    with Session(get_engine()) as session:
        try:
            yield session
        finally:
            session.rollback()


async def get_async_session() -> AsyncIterator[AsyncSession]:
    """The async twin of :func:`get_session`: commit in the route; leftovers are rolled back.

    Sessions come from the running loop's pooled engine (:func:`loop_async_engine`), so each request of a web app
    reuses a connection, and a new loop (a second test client, a notebook cell's ``run_async``) gets its own.
    """
    maker = async_sessionmaker(await loop_async_engine(), class_=AsyncSession, expire_on_commit=False)
    async with maker() as session:
        try:
            yield session
        finally:
            await session.rollback()


def run_async(awaitable: Awaitable[T]) -> T:
    """Run a coroutine to completion from sync code, even inside Jupyter's already-running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(awaitable))
    result: dict[str, Any] = {}

    def runner() -> None:
        try:
            result["value"] = asyncio.run(_await(awaitable))
        except BaseException as exc:  # handed back to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=runner, name="todo_data.run_async")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def describe_connection_error(exc: BaseException, url: URL) -> str:
    """One line, no password, saying why a connection failed and what to do."""
    text = str(getattr(exc, "orig", None) or exc)
    backend = find_backend(url)
    message = backend.describe_error(text, url) if backend is not None else None
    if message is None:  # not one the backend words: its first line, and where
        where = backend.location(url) if backend is not None else (url.database or "")
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        message = f"Database error at {where}: {first}"
    return mask_text(message, url.password if isinstance(url.password, str) else None)


_CONNECTION_SIGNS = (
    "does not exist",
    "password authentication failed",
    "no password supplied",
    "connection refused",
    "could not connect",
    "timeout",
    "timed out",
    "could not translate host name",
    "name or service not known",
    "nodename nor servname",
    "unable to open database file",
    "file is not a database",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
)


def _missing_table(text: str) -> str | None:
    """The table a "no such table" / "relation does not exist" error names, if that is what it is."""
    match = re.search(r'no such table: (\S+)|relation "([^"]+)" does not exist', text)
    return (match.group(1) or match.group(2)) if match else None


@contextlib.contextmanager
def translate_errors(url: URL) -> Iterator[None]:
    """Turn connection failures (and a schema that is not there yet) into one clean line; other errors pass."""
    try:
        yield
    except DBAPIError as exc:
        text = str(getattr(exc, "orig", None) or exc)
        table = _missing_table(text)
        if table is not None:
            raise MigrationError(f"The database has no table {table!r}: run `todo-data db upgrade` to create the schema.") from None
        lowered = text.lower()
        if getattr(exc, "connection_invalidated", False) or any(sign in lowered for sign in _CONNECTION_SIGNS):
            raise ConnectionFailed(describe_connection_error(exc, url)) from None
        raise
