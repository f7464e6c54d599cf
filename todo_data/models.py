"""Table models: ``users``, ``task`` and ``task_relationships``, the schema Alembic's head describes."""

# No ``from __future__ import annotations`` here: SQLModel resolves relationship types at class creation.

import functools
import uuid
from datetime import UTC, datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Relationship, SQLModel

from todo_data.backends import find_backend

# Every constraint and index gets a stable name, so autogenerate compares like with like.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata

PRIORITIES = ("low", "medium", "high")
TITLE_MAX = 200
DESCRIPTION_MAX = 1000
NAME_MAX = 255
EMAIL_MAX = 255
ID_MAX = 255


class UTCDateTime(TypeDecorator[datetime]):
    """``timestamp with time zone`` that always hands back aware UTC values, on SQLite too.

    SQLite keeps no offset: values are stored as UTC text and read back as UTC. A naive value
    is taken to be UTC (what the seed's ``utcnow`` wrote).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if _naive_utc(dialect.name) else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@functools.cache
def _naive_utc(dialect_name: str) -> bool:
    """Whether the backend of a dialect stores timestamps as naive UTC (asked once per dialect: binding is per value)."""
    backend = find_backend(dialect_name)
    return backend is not None and backend.naive_utc_timestamps


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _timestamp(*, on_update: bool = False) -> Any:
    """A NOT NULL UTC timestamp the database fills in by itself (``CURRENT_TIMESTAMP``) too."""
    column_kwargs: dict[str, Any] = {"server_default": sa.text("CURRENT_TIMESTAMP")}
    if on_update:
        column_kwargs["onupdate"] = utc_now
    return Field(default_factory=utc_now, sa_type=UTCDateTime, sa_column_kwargs=column_kwargs, nullable=False)


class UserBase(SQLModel):
    """Fields a user has in every shape; lenient, so rows made before validation still load."""

    email: str
    name: str | None = None


class User(AsyncAttrs, UserBase, table=True):
    """A person who owns tasks; deleting one deletes their tasks (ORM and database alike)."""

    __tablename__ = "users"

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=ID_MAX)
    email: str = Field(max_length=EMAIL_MAX, unique=True)
    name: str | None = Field(default=None, max_length=NAME_MAX)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp(on_update=True)

    tasks: list["Task"] = Relationship(
        back_populates="user",
        cascade_delete=True,
        passive_deletes=True,
        sa_relationship_kwargs={"lazy": "select"},
    )


class TaskBase(SQLModel):
    """Fields a task has in every shape; lenient, so legacy rows (long text, odd priorities) still load."""

    title: str
    description: str | None = None
    completed: bool = False
    priority: str | None = "medium"


class Task(AsyncAttrs, TaskBase, table=True):
    """A todo item. Indexes serve a user's newest tasks and a user's open tasks without a sort."""

    __tablename__ = "task"
    __table_args__ = (
        sa.Index("ix_task_user_id_created_at", "user_id", "created_at"),
        sa.Index("ix_task_user_id_completed_created_at", "user_id", "completed", "created_at"),
        sa.Index("ix_task_completed", "completed"),
        sa.Index("ix_task_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=ID_MAX)
    title: str = Field(max_length=TITLE_MAX)
    # TEXT in the field's databases (migration 001); the 1000-character limit is the API's, not the column's.
    description: str | None = Field(default=None, sa_type=sa.Text)
    completed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    priority: str | None = Field(default="medium", max_length=20, sa_column_kwargs={"server_default": "medium"})
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp(on_update=True)

    user: Optional["User"] = Relationship(back_populates="tasks")
    dependencies: list["TaskRelationship"] = Relationship(
        back_populates="parent",
        cascade_delete=True,
        passive_deletes=True,
        sa_relationship_kwargs={"foreign_keys": "TaskRelationship.parent_task_id"},
    )
    dependents: list["TaskRelationship"] = Relationship(
        back_populates="child",
        cascade_delete=True,
        passive_deletes=True,
        sa_relationship_kwargs={"foreign_keys": "TaskRelationship.child_task_id"},
    )


class TaskRelationship(AsyncAttrs, SQLModel, table=True):
    """A dependency: the parent task waits on the child task. One row per pair; no task waits on itself."""

    __tablename__ = "task_relationships"
    __table_args__ = (
        sa.UniqueConstraint("parent_task_id", "child_task_id"),
        sa.CheckConstraint("parent_task_id <> child_task_id", name="not_self"),
        sa.Index("ix_task_relationships_child_task_id", "child_task_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    parent_task_id: int = Field(foreign_key="task.id", ondelete="CASCADE")
    child_task_id: int = Field(foreign_key="task.id", ondelete="CASCADE")
    created_at: datetime = _timestamp()

    parent: Optional["Task"] = Relationship(
        back_populates="dependencies", sa_relationship_kwargs={"foreign_keys": "TaskRelationship.parent_task_id"}
    )
    child: Optional["Task"] = Relationship(
        back_populates="dependents", sa_relationship_kwargs={"foreign_keys": "TaskRelationship.child_task_id"}
    )
