"""API schemas: strict for new input, lenient for rows already stored (legacy values included)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import URL
from sqlmodel import Session, select

from todo_data.db import dispose_engines, get_engine
from todo_data.migrations import upgrade
from todo_data.models import DESCRIPTION_MAX, TITLE_MAX, Task, User
from todo_data.schemas import TaskCreate, TaskPublic, TasksPublic, TaskUpdate, UserCreate, UserPublic

USER_ID = "550e8400-e29b-41d4-a716-446655440000"
NOW = datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _dispose() -> Iterator[None]:
    yield
    dispose_engines()


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[tuple[Any, ...], str]]:
    return [(error["loc"], error["type"]) for error in exc.value.errors()]


# --- TaskCreate ---------------------------------------------------------------------------------


def test_task_create_defaults() -> None:
    task = TaskCreate(user_id=USER_ID, title="Buy groceries")
    assert task.model_dump() == {
        "user_id": USER_ID,
        "title": "Buy groceries",
        "description": None,
        "completed": False,
        "priority": "medium",
    }


@pytest.mark.parametrize("title", ["x", "x" * TITLE_MAX, "Zoë Ünïcödé 🚀"])
def test_task_create_accepts_titles_of_1_to_200_characters(title: str) -> None:
    assert TaskCreate(user_id=USER_ID, title=title).title == title


@pytest.mark.parametrize(("title", "error"), [("", "string_too_short"), ("x" * (TITLE_MAX + 1), "string_too_long")])
def test_task_create_rejects_empty_and_too_long_titles(title: str, error: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        TaskCreate(user_id=USER_ID, title=title)
    assert _errors(excinfo) == [(("title",), error)]


def test_task_create_limits_the_description_to_1000_characters() -> None:
    assert TaskCreate(user_id=USER_ID, title="t", description="d" * DESCRIPTION_MAX).description == "d" * DESCRIPTION_MAX
    assert TaskCreate(user_id=USER_ID, title="t", description=None).description is None
    with pytest.raises(ValidationError) as excinfo:
        TaskCreate(user_id=USER_ID, title="t", description="d" * (DESCRIPTION_MAX + 1))
    assert _errors(excinfo) == [(("description",), "string_too_long")]


@pytest.mark.parametrize("priority", ["low", "medium", "high"])
def test_task_create_accepts_the_three_priorities(priority: str) -> None:
    assert TaskCreate(user_id=USER_ID, title="t", priority=priority).priority == priority


@pytest.mark.parametrize("priority", ["urgent", "HIGH", "", None, 1])
def test_task_create_rejects_other_priorities(priority: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        TaskCreate(user_id=USER_ID, title="t", priority=priority)
    assert [loc for loc, _ in _errors(excinfo)] == [("priority",)]


def test_task_create_needs_a_user_and_a_title() -> None:
    with pytest.raises(ValidationError) as excinfo:
        TaskCreate()  # type: ignore[call-arg]
    assert sorted(_errors(excinfo)) == [(("title",), "missing"), (("user_id",), "missing")]
    with pytest.raises(ValidationError):
        TaskCreate(user_id="", title="t")


def test_task_create_validates_json_input() -> None:
    task = TaskCreate.model_validate_json(json.dumps({"user_id": USER_ID, "title": "t", "priority": "low", "completed": True}))
    assert (task.priority, task.completed) == ("low", True)
    with pytest.raises(ValidationError):
        TaskCreate.model_validate_json(json.dumps({"user_id": USER_ID, "title": "t", "priority": "urgent"}))


def test_task_create_schema_carries_its_example() -> None:
    """Errata 3: the pydantic v1 ``schema_extra`` lost the example."""
    schema = TaskCreate.model_json_schema()
    (example,) = schema["examples"]
    assert TaskCreate.model_validate(example).title == "Buy groceries"
    assert schema["properties"]["priority"]["enum"] == ["low", "medium", "high"]
    assert schema["properties"]["title"]["maxLength"] == TITLE_MAX


# --- TaskUpdate ---------------------------------------------------------------------------------


def test_task_update_fields_are_all_optional() -> None:
    update = TaskUpdate()
    assert update.model_dump() == {"title": None, "description": None, "completed": None, "priority": None}
    assert update.model_dump(exclude_unset=True) == {}
    assert TaskUpdate(completed=True).model_dump(exclude_unset=True) == {"completed": True}


@pytest.mark.parametrize(
    "fields",
    [{"title": ""}, {"title": "x" * (TITLE_MAX + 1)}, {"description": "d" * (DESCRIPTION_MAX + 1)}, {"priority": "urgent"}],
)
def test_task_update_validates_what_is_given_like_new_input(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        TaskUpdate(**fields)
    assert [loc for loc, _ in _errors(excinfo)] == [(next(iter(fields)),)]


def test_task_update_applies_to_a_task() -> None:
    task = Task(user_id=USER_ID, title="old", priority="low")
    task.sqlmodel_update(TaskUpdate(title="new", priority="high").model_dump(exclude_unset=True))
    assert (task.title, task.priority, task.completed) == ("new", "high", False)


# --- TaskPublic / TasksPublic read what is stored -----------------------------------------------


@pytest.fixture
def legacy_rows(database_url: URL) -> URL:
    """A database at head holding rows new input would reject, written with plain SQL as the seed's app did."""
    upgrade(database_url)
    with get_engine(database_url).begin() as connection:
        connection.execute(sa.text("INSERT INTO users (id, email, name) VALUES ('legacy', 'not-an-email', NULL)"))
        connection.execute(
            sa.text("INSERT INTO task (user_id, title, description, priority) VALUES ('legacy', :title, :description, :priority)"),
            [
                {"title": "urgent", "description": "x" * 1500, "priority": "urgent"},
                {"title": "no priority", "description": "", "priority": None},
                {"title": "T" * TITLE_MAX, "description": None, "priority": "HIGH"},
            ],
        )
    return database_url


def test_task_public_accepts_legacy_rows(legacy_rows: URL) -> None:
    with Session(get_engine(legacy_rows)) as session:
        tasks = session.exec(select(Task).order_by(Task.id)).all()
        public = [TaskPublic.model_validate(task) for task in tasks]
    assert [(p.title, p.priority, p.description) for p in public] == [
        ("urgent", "urgent", "x" * 1500),
        ("no priority", None, ""),
        ("T" * TITLE_MAX, "HIGH", None),
    ]
    for p, task in zip(public, tasks, strict=True):
        assert (p.id, p.user_id, p.completed) == (task.id, "legacy", False)
        assert p.created_at.tzinfo is not None and p.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_tasks_public_is_a_page_with_the_count(legacy_rows: URL) -> None:
    with Session(get_engine(legacy_rows)) as session:
        tasks = session.exec(select(Task).order_by(Task.id).limit(2)).all()
        total = len(session.exec(select(Task)).all())
        page = TasksPublic(data=[TaskPublic.model_validate(task) for task in tasks], count=total)
    assert page.count == 3
    assert [task.title for task in page.data] == ["urgent", "no priority"]
    dumped = json.loads(page.model_dump_json())
    assert set(dumped) == {"data", "count"}
    assert TasksPublic.model_validate_json(page.model_dump_json()) == page


def test_tasks_public_needs_both_fields() -> None:
    with pytest.raises(ValidationError) as excinfo:
        TasksPublic(data=[])  # type: ignore[call-arg]
    assert _errors(excinfo) == [(("count",), "missing")]
    assert TasksPublic(data=[], count=0).data == []


def test_task_public_priority_and_description_are_optional() -> None:
    """Errata 10: ``Optional[X]`` without a default would be required in pydantic v2."""
    public = TaskPublic(id=1, user_id=USER_ID, title="t", created_at=NOW, updated_at=NOW)
    assert (public.priority, public.description, public.completed) == ("medium", None, False)
    assert TaskPublic(id=1, user_id=USER_ID, title="t", priority=None, created_at=NOW, updated_at=NOW).priority is None


# --- users --------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["ada@example.com", "Grace.Hopper@example.com", "zoë@exämple.de"])
def test_user_create_accepts_email_addresses(email: str) -> None:
    """Errata 9: EmailStr works (email-validator is installed)."""
    assert UserCreate(email=email).email == email


def test_user_create_lowercases_the_domain() -> None:
    assert UserCreate(email="Grace.Hopper@Example.COM").email == "Grace.Hopper@example.com"


@pytest.mark.parametrize("email", ["not-an-email", "", "a@", "@example.com", "two@@example.com", "a" * 250 + "@example.com"])
def test_user_create_rejects_what_is_not_an_email_address(email: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        UserCreate(email=email)
    assert [loc for loc, _ in _errors(excinfo)] == [("email",)]


def test_user_create_name_is_optional_and_bounded() -> None:
    assert UserCreate(email="ada@example.com").name is None
    assert UserCreate(email="ada@example.com", name="n" * 255).name == "n" * 255
    with pytest.raises(ValidationError):
        UserCreate(email="ada@example.com", name="n" * 256)


def test_user_public_name_is_optional_with_a_default() -> None:
    """Errata 10."""
    user = UserPublic(id="u1", email="ada@example.com", created_at=NOW, updated_at=NOW)
    assert user.name is None
    assert UserPublic.model_fields["name"].is_required() is False


def test_user_public_accepts_stored_users(legacy_rows: URL) -> None:
    with Session(get_engine(legacy_rows)) as session:
        session.add(User(id="new", email="ada@example.com", name="Ada"))
        session.commit()
        users = {user.id: UserPublic.model_validate(user) for user in session.exec(select(User)).all()}
    assert (users["legacy"].email, users["legacy"].name) == ("not-an-email", None)  # stored before validation existed
    assert (users["new"].email, users["new"].name) == ("ada@example.com", "Ada")
    assert users["new"].created_at.tzinfo is not None
