"""Initial migration: the schema the seed's revision 001 made, as databases in the field have it.

Revision ID: 001
Revises:
Create Date: 2024-01-15

Kept as the seed wrote it (naive timestamps, no server defaults, its index set, PostgreSQL's default
constraint names). The one change: on SQLite the foreign key is created with the table, because
SQLite has no ALTER TABLE ... ADD CONSTRAINT (errata 22). Later revisions bring it to the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK_NAME = "fk_task_user_id_users"


def upgrade() -> None:
    inline_fk = op.get_context().dialect.name == "sqlite"
    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="task_pkey"),
        *([sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=FK_NAME, ondelete="CASCADE")] if inline_fk else []),
        sa.Index("ix_task_user_id", "user_id"),
        sa.Index("ix_task_completed", "completed"),
        sa.Index("ix_task_created_at", "created_at"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
        sa.UniqueConstraint("email", name="users_email_key"),
        sa.Index("ix_users_email", "email"),
    )
    if not inline_fk:
        op.create_foreign_key(FK_NAME, "task", "users", ["user_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    op.drop_table("task")
    op.drop_table("users")
