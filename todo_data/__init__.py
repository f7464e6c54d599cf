"""todo_data: the data tooling kit for the todo application's database (SQLite and PostgreSQL)."""

from todo_data.db import (
    dispose_engines,
    get_async_engine,
    get_async_session,
    get_engine,
    get_session,
    resolve_url,
    run_async,
    session_scope,
)
from todo_data.errors import ConfigurationError, ConnectionFailed, MigrationError, TodoDataError
from todo_data.models import Task, TaskRelationship, User, metadata
from todo_data.schemas import TaskCreate, TaskPublic, TasksPublic, TaskUpdate, UserCreate, UserPublic
from todo_data.settings import Settings, get_settings, mask_url

__all__ = [
    "ConfigurationError",
    "ConnectionFailed",
    "MigrationError",
    "Settings",
    "Task",
    "TaskCreate",
    "TaskPublic",
    "TaskRelationship",
    "TaskUpdate",
    "TasksPublic",
    "TodoDataError",
    "User",
    "UserCreate",
    "UserPublic",
    "dispose_engines",
    "get_async_engine",
    "get_async_session",
    "get_engine",
    "get_session",
    "get_settings",
    "mask_url",
    "metadata",
    "resolve_url",
    "run_async",
    "session_scope",
]
