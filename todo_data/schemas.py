"""API schemas, apart from the tables: strict for new input, lenient for what is already stored."""

from datetime import datetime
from typing import Literal

from pydantic import EmailStr
from sqlmodel import Field, SQLModel

from todo_data.models import DESCRIPTION_MAX, NAME_MAX, TITLE_MAX, TaskBase, UserBase

Priority = Literal["low", "medium", "high"]


class TaskCreate(SQLModel):
    """A new task as a client sends it: title of 1 to 200 characters, priority low/medium/high."""

    user_id: str = Field(min_length=1, max_length=255)
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    completed: bool = False
    priority: Priority = "medium"

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "user_id": "550e8400-e29b-41d4-a716-446655440000",
                    "title": "Buy groceries",
                    "description": "Milk, eggs, bread",
                    "priority": "high",
                }
            ]
        }
    }


class TaskUpdate(SQLModel):
    """A partial update: every field optional; what is given is validated like new input."""

    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    completed: bool | None = None
    priority: Priority | None = None


class TaskPublic(TaskBase):
    """A task as the API returns it; accepts stored values new input would reject (legacy rows)."""

    id: int
    user_id: str
    created_at: datetime
    updated_at: datetime


class TasksPublic(SQLModel):
    """A page of tasks with the total count of matching tasks."""

    data: list[TaskPublic]
    count: int


class UserCreate(SQLModel):
    """A new user: a valid e-mail address and an optional name (passwords live with the auth service)."""

    email: EmailStr = Field(max_length=255)
    name: str | None = Field(default=None, max_length=NAME_MAX)


class UserPublic(UserBase):
    """A user as the API returns it."""

    id: str
    created_at: datetime
    updated_at: datetime
