"""The table models on both backends at head: relationships, cascades, UTC timestamps, names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_data import db
from todo_data.db import get_async_engine, get_engine
from todo_data.migrations import upgrade
from todo_data.models import Task, TaskRelationship, User, metadata

APP_TABLES = {"users", "task", "task_relationships"}
PLUS_TWO = timezone(timedelta(hours=2))


@pytest.fixture
def engine(head_url: URL) -> Engine:
    return get_engine(head_url)


@pytest.fixture
async def close_async_engines(make_database: Callable[[str], URL]) -> AsyncIterator[None]:
    yield
    for async_engine in list(db._ASYNC_ENGINES.values()):
        await async_engine.dispose()


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one())


def _assert_utc(value: datetime) -> None:
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


def _add_user_with_tasks(engine: Engine, email: str = "ada@example.com", titles: tuple[str, ...] = ("one", "two")) -> str:
    with Session(engine) as session:
        user = User(email=email, name="Ada", tasks=[Task(title=title) for title in titles])
        session.add(user)
        session.commit()
        return user.id


# --- users and tasks through the ORM ------------------------------------------------------------


def test_a_user_with_tasks_round_trips(engine: Engine) -> None:
    user_id = _add_user_with_tasks(engine, titles=("buy milk", "write tests"))
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        assert (user.email, user.name) == ("ada@example.com", "Ada")
        assert len(user.id) == 36  # a uuid4 made by the model
        tasks = sorted(user.tasks, key=lambda task: task.title)
        assert [task.title for task in tasks] == ["buy milk", "write tests"]
        for task in tasks:
            assert task.id is not None
            assert (task.user_id, task.completed, task.priority, task.description) == (user_id, False, "medium", None)
            assert task.user is user


def test_timestamps_come_back_timezone_aware_utc(engine: Engine) -> None:
    user_id = _add_user_with_tasks(engine)
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        for value in [user.created_at, user.updated_at, *(t.created_at for t in user.tasks), *(t.updated_at for t in user.tasks)]:
            _assert_utc(value)


def test_server_default_timestamps_come_back_utc(engine: Engine) -> None:
    """Rows written by plain SQL (as the seed's application did) get CURRENT_TIMESTAMP, read back as aware UTC."""
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO users (id, email) VALUES ('u1', 'plain@example.com')"))
        connection.execute(sa.text("INSERT INTO task (user_id, title) VALUES ('u1', 'plain')"))
    with Session(engine) as session:
        task = session.exec(select(Task)).one()
        assert (task.completed, task.priority) == (False, "medium")
        _assert_utc(task.created_at)
        _assert_utc(task.updated_at)


def test_a_non_utc_value_is_stored_as_the_same_instant(engine: Engine, backend: str) -> None:
    written = datetime(2025, 3, 30, 3, 30, 15, 123456, tzinfo=PLUS_TWO)  # the night Europe moves its clocks
    instant = datetime(2025, 3, 30, 1, 30, 15, 123456, tzinfo=UTC)
    user_id = _add_user_with_tasks(engine, titles=())
    with Session(engine) as session:
        session.add(Task(user_id=user_id, title="offset", created_at=written, updated_at=datetime(2025, 3, 30, 1, 30, 15, 123456)))
        session.commit()
    with Session(engine) as session:
        if backend == "postgresql":  # the session's time zone does not matter
            session.connection().exec_driver_sql("SET TIME ZONE 'Asia/Kathmandu'")
        task = session.exec(select(Task)).one()
        assert task.created_at == instant
        assert task.created_at.tzinfo == UTC
        assert task.updated_at == instant  # a naive value is taken as UTC
        assert task.updated_at.tzinfo == UTC
    with engine.connect() as connection:
        if backend == "postgresql":
            stored = connection.execute(sa.text("SELECT created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC' FROM task")).one()
            assert tuple(stored) == (instant.replace(tzinfo=None), instant.replace(tzinfo=None))
        else:  # SQLite keeps UTC text
            stored = connection.execute(sa.text("SELECT created_at, updated_at FROM task")).one()
            assert tuple(stored) == ("2025-03-30 01:30:15.123456", "2025-03-30 01:30:15.123456")


def test_a_non_utc_value_in_a_query_compares_as_the_same_instant(engine: Engine) -> None:
    user_id = _add_user_with_tasks(engine, titles=())
    with Session(engine) as session:
        session.add(Task(user_id=user_id, title="at noon UTC", created_at=datetime(2025, 1, 1, 12, 0, tzinfo=UTC)))
        session.commit()
    with Session(engine) as session:
        same_instant = datetime(2025, 1, 1, 14, 0, tzinfo=PLUS_TWO)
        assert session.exec(select(Task).where(Task.created_at == same_instant)).one().title == "at noon UTC"
        assert session.exec(select(Task).where(Task.created_at > same_instant)).all() == []


def test_updated_at_moves_on_update(engine: Engine) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    with Session(engine) as session:
        user = User(email="ada@example.com", created_at=long_ago, updated_at=long_ago)
        session.add(user)
        session.commit()
        user.name = "Ada"
        session.commit()
        session.refresh(user)
        assert user.created_at == long_ago
        assert user.updated_at > long_ago
        _assert_utc(user.updated_at)


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Task(user_id="nobody", title="orphan"))
        with pytest.raises(IntegrityError):
            session.commit()


# --- cascades (errata 6) ------------------------------------------------------------------------


@pytest.mark.parametrize("loaded", [False, True], ids=["tasks-not-loaded", "tasks-loaded"])
def test_deleting_a_user_deletes_their_tasks_and_dependencies(engine: Engine, loaded: bool) -> None:
    user_id = _add_user_with_tasks(engine, titles=("a", "b"))
    other_id = _add_user_with_tasks(engine, email="grace@example.com", titles=("keep",))
    with Session(engine) as session:
        a, b = sorted(session.exec(select(Task).where(Task.user_id == user_id)).all(), key=lambda t: t.title)
        session.add(TaskRelationship(parent=a, child=b))
        session.commit()
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        if loaded:
            assert len(user.tasks) == 2
        session.delete(user)
        session.commit()
    with Session(engine) as session:
        assert [task.title for task in session.exec(select(Task)).all()] == ["keep"]
        assert session.exec(select(TaskRelationship)).all() == []
        assert session.get(User, other_id) is not None


def test_deleting_a_user_with_plain_sql_cascades_in_the_database(engine: Engine) -> None:
    user_id = _add_user_with_tasks(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user_id})
    assert _count(engine, "task") == 0


# --- dependencies between tasks -----------------------------------------------------------------


def test_task_relationships_link_both_ways(engine: Engine) -> None:
    user_id = _add_user_with_tasks(engine, titles=())
    with Session(engine) as session:
        parent, child = Task(user_id=user_id, title="ship"), Task(user_id=user_id, title="test")
        session.add(TaskRelationship(parent=parent, child=child))
        session.commit()
        parent_id, child_id = parent.id, child.id
    with Session(engine) as session:
        parent, child = session.get(Task, parent_id), session.get(Task, child_id)
        assert parent is not None and child is not None
        assert [rel.child for rel in parent.dependencies] == [child]
        assert [rel.parent for rel in child.dependents] == [parent]
        assert parent.dependents == [] and child.dependencies == []
        rel = parent.dependencies[0]
        assert rel is child.dependents[0]
        assert (rel.parent_task_id, rel.child_task_id) == (parent_id, child_id)
        assert rel.parent is parent and rel.child is child
        _assert_utc(rel.created_at)


def test_deleting_a_task_deletes_its_dependency_rows(engine: Engine) -> None:
    user_id = _add_user_with_tasks(engine, titles=())
    with Session(engine) as session:
        a, b, c = (Task(user_id=user_id, title=title) for title in "abc")
        session.add_all([TaskRelationship(parent=a, child=b), TaskRelationship(parent=c, child=a)])
        session.commit()
        session.delete(a)
        session.commit()
    assert _count(engine, "task") == 2
    assert _count(engine, "task_relationships") == 0


def test_a_task_cannot_depend_on_itself(engine: Engine) -> None:
    user_id = _add_user_with_tasks(engine, titles=("solo",))
    with Session(engine) as session:
        task = session.exec(select(Task).where(Task.user_id == user_id)).one()
        session.add(TaskRelationship(parent_task_id=task.id, child_task_id=task.id))
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_dependency_is_recorded_once(engine: Engine) -> None:
    user_id = _add_user_with_tasks(engine, titles=("a", "b"))
    with Session(engine) as session:
        a, b = sorted(session.exec(select(Task).where(Task.user_id == user_id)).all(), key=lambda t: t.title)
        session.add(TaskRelationship(parent_task_id=a.id, child_task_id=b.id))
        session.commit()
        session.add(TaskRelationship(parent_task_id=a.id, child_task_id=b.id))
        with pytest.raises(IntegrityError):
            session.commit()


# --- asyncio (errata 7) -------------------------------------------------------------------------


async def test_lazy_loading_works_in_an_async_session_through_awaitable_attrs(head_url: URL, close_async_engines: None) -> None:
    engine = get_engine(head_url)
    user_id = _add_user_with_tasks(engine, titles=("first", "second"))
    with Session(engine) as session:
        first, second = sorted(session.exec(select(Task)).all(), key=lambda t: t.title)
        session.add(TaskRelationship(parent_task_id=first.id, child_task_id=second.id))
        session.commit()
    async with AsyncSession(get_async_engine(head_url)) as session:
        user = (await session.exec(select(User).where(User.id == user_id))).one()
        tasks = await user.awaitable_attrs.tasks
        assert sorted(task.title for task in tasks) == ["first", "second"]
        first = next(task for task in tasks if task.title == "first")
        assert await first.awaitable_attrs.user is user
        (rel,) = await first.awaitable_attrs.dependencies
        child = await rel.awaitable_attrs.child
        assert child.title == "second"
        assert [await r.awaitable_attrs.parent for r in await child.awaitable_attrs.dependents] == [first]
        _assert_utc(user.created_at)


async def test_an_async_session_writes_users_with_tasks(head_url: URL, close_async_engines: None) -> None:
    async with AsyncSession(get_async_engine(head_url)) as session:
        session.add(
            User(email="async@example.com", tasks=[Task(title="async task", created_at=datetime(2025, 6, 1, 8, 0, tzinfo=PLUS_TWO))])
        )
        await session.commit()
    with Session(get_engine(head_url)) as session:
        task = session.exec(select(Task)).one()
        assert task.created_at == datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
        assert task.user is not None and task.user.email == "async@example.com"


# --- the schema: names (errata 1, 3, 8) ---------------------------------------------------------


def test_tables_are_named_users_task_and_task_relationships(engine: Engine) -> None:
    assert (User.__tablename__, Task.__tablename__, TaskRelationship.__tablename__) == ("users", "task", "task_relationships")
    assert set(metadata.tables) >= APP_TABLES
    assert {fk.column.table.name for fk in Task.__table__.foreign_keys} == {"users"}
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) == APP_TABLES | {"alembic_version"}


def test_task_id_has_no_index_besides_the_primary_key(engine: Engine, backend: str) -> None:
    assert not Task.__table__.c.id.index
    assert all([column.name for column in index.columns] != ["id"] for index in Task.__table__.indexes)
    with engine.connect() as connection:
        assert all(index["column_names"] != ["id"] for index in sa.inspect(connection).get_indexes("task"))
        if backend == "postgresql":  # the primary key's own index is the only one on (id)
            definitions = connection.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = 'task'")).scalars().all()
            assert [d for d in definitions if d.endswith("(id)")] == ["CREATE UNIQUE INDEX pk_task ON public.task USING btree (id)"]


def test_every_constraint_and_index_has_a_name() -> None:
    tables = list(metadata.tables.values())
    assert {table.name for table in tables} >= APP_TABLES
    for table in tables:
        for item in [*table.constraints, *table.indexes]:
            assert item.name is not None, f"{table.name}: unnamed {type(item).__name__}"
            assert isinstance(item.name, str) and item.name


def test_postgresql_timestamps_are_timestamptz(make_database: Callable[[str], URL]) -> None:
    """Errata 4: the columns keep the offset (``timestamp with time zone``), so nothing shifts with the session time zone."""
    url = make_database("postgresql")
    upgrade(url)
    with get_engine(url).connect() as connection:
        types = connection.execute(
            sa.text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name IN ('created_at', 'updated_at')"
            )
        ).all()
    assert {(table, column) for table, column, _ in types} == {
        ("users", "created_at"),
        ("users", "updated_at"),
        ("task", "created_at"),
        ("task", "updated_at"),
        ("task_relationships", "created_at"),
    }
    assert {data_type for _, _, data_type in types} == {"timestamp with time zone"}
