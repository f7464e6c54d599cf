"""``todo_data.revision.describe``: the lines ``todo-data db revision`` prints for what it wrote."""

from __future__ import annotations

from alembic.operations import ops

from todo_data.revision.describe import describe_ops


def test_constraint_operations_are_named_in_words_with_their_names() -> None:
    container = ops.UpgradeOps(
        [
            ops.ModifyTableOps(
                "todo",
                [
                    ops.CreateUniqueConstraintOp("uq_todo_code", "todo", ["code"]),
                    ops.CreateForeignKeyOp("fk_todo_owner_id_users", "todo", "users", ["owner_id"], ["id"]),
                    ops.CreateCheckConstraintOp("ck_todo_short", "todo", "length(title) < 10"),
                    ops.DropConstraintOp("uq_todo_title", "todo", type_="unique"),
                ],
            )
        ]
    )
    assert describe_ops(container) == [
        "todo: add unique constraint uq_todo_code",
        "todo: add foreign key fk_todo_owner_id_users",
        "todo: add check constraint ck_todo_short",
        "todo: drop constraint uq_todo_title",
    ]
