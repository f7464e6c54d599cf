"""The seed's index strategy made right, and constraint names from the naming convention.

Revision ID: 004
Revises: 003
Create Date: 2026-11-25

Added: (user_id, created_at) serves a user's newest tasks and (user_id, completed, created_at) a
user's open tasks, both without a sort; either also serves the user_id foreign key.
Dropped: ix_task_user_id (the prefix of both) and ix_users_email (duplicates the unique constraint).
Kept: ix_task_completed (counts by status) and ix_task_created_at (newest overall, scanned backward).
docs/indexes.md gives the reasoning and the plans.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "004"
down_revision: str | Sequence[str] | None = "003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL's default names from the seed -> the naming convention's (SQLite got them in 002).
RENAMES = (("task", "task_pkey", "pk_task"), ("users", "users_pkey", "pk_users"), ("users", "users_email_key", "uq_users_email"))


def upgrade() -> None:
    op.create_index("ix_task_user_id_created_at", "task", ["user_id", "created_at"])
    op.create_index("ix_task_user_id_completed_created_at", "task", ["user_id", "completed", "created_at"])
    op.drop_index("ix_task_user_id", table_name="task")
    op.drop_index("ix_users_email", table_name="users")
    if op.get_context().dialect.name == "postgresql":
        for table, old, new in RENAMES:
            op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {old} TO {new}")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table, old, new in RENAMES:
            op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {new} TO {old}")
    op.create_index("ix_users_email", "users", ["email"])
    op.create_index("ix_task_user_id", "task", ["user_id"])
    op.drop_index("ix_task_user_id_completed_created_at", table_name="task")
    op.drop_index("ix_task_user_id_created_at", table_name="task")
