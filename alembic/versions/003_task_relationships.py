"""Task dependencies: ``task_relationships``.

Revision ID: 003
Revises: 002
Create Date: 2026-11-25

One row per (parent, child) pair: the parent task waits on the child. No task depends on itself,
and deleting either task deletes the dependency. The unique pair leads with the parent, which
serves "a task's dependencies"; the child gets its own index for its foreign key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "003"
down_revision: str | Sequence[str] | None = "002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_relationships",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("parent_task_id", sa.Integer(), nullable=False),
        sa.Column("child_task_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_relationships"),
        sa.UniqueConstraint("parent_task_id", "child_task_id", name="uq_task_relationships_parent_task_id_child_task_id"),
        sa.CheckConstraint("parent_task_id <> child_task_id", name=op.f("ck_task_relationships_not_self")),
        sa.ForeignKeyConstraint(["parent_task_id"], ["task.id"], name="fk_task_relationships_parent_task_id_task", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["child_task_id"], ["task.id"], name="fk_task_relationships_child_task_id_task", ondelete="CASCADE"),
    )
    op.create_index("ix_task_relationships_child_task_id", "task_relationships", ["child_task_id"])


def downgrade() -> None:
    op.drop_index("ix_task_relationships_child_task_id", table_name="task_relationships")
    op.drop_table("task_relationships")
