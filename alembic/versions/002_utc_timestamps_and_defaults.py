"""Timezone-aware UTC timestamps and server defaults.

Revision ID: 002
Revises: 001
Create Date: 2026-11-25

The seed stored naive ``utcnow`` values. On PostgreSQL they become ``timestamptz`` read AT TIME
ZONE 'UTC', so the result never depends on the session's TimeZone; each table is rewritten once.
The database now fills ``created_at``/``updated_at`` (CURRENT_TIMESTAMP), ``completed`` (false) and
``priority`` ('medium') by itself. SQLite keeps its text values as they are; its tables are rebuilt
(SQLite cannot change a default in place) with the constraint names of the naming convention.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "002"
down_revision: str | Sequence[str] | None = "001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMPS = ("created_at", "updated_at")


def _pg_timestamps(table: str, to_aware: bool) -> list[str]:
    target = "TIMESTAMP WITH TIME ZONE" if to_aware else "TIMESTAMP WITHOUT TIME ZONE"
    return [f"ALTER COLUMN {column} TYPE {target} USING {column} AT TIME ZONE 'UTC'" for column in TIMESTAMPS]


def _sqlite_rebuild(table: str, columns: list[sa.Column], constraints: list[sa.Constraint], indexes: dict[str, list[str]]) -> None:
    """SQLite's documented table rebuild: new table, copy every row, drop, rename, re-index.

    Runs inside the revision's transaction with foreign keys off (the migration engine's setting),
    so dropping the old table cascades nothing. foreign_key_check must find no more broken references
    than before: rows the seed's SQLite already held without a parent (it never enforced foreign
    keys) are kept as they are, for the data-quality report to show.
    """
    checking = not op.get_context().as_sql
    broken_before = len(op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()) if checking else 0
    temporary = f"_{table}_rebuild"
    op.create_table(temporary, *columns, *constraints)
    names = ", ".join(column.name for column in columns)
    op.execute(f'INSERT INTO "{temporary}" ({names}) SELECT {names} FROM "{table}"')
    op.drop_table(table)
    op.rename_table(temporary, table)
    for name, index_columns in indexes.items():
        op.create_index(name, table, index_columns)
    if checking:
        broken = len(op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall())
        if broken > broken_before:
            raise RuntimeError(f"rebuilding {table} broke {broken - broken_before} foreign key reference(s)")


def _users_columns(aware: bool) -> list[sa.Column]:
    default = sa.text("CURRENT_TIMESTAMP") if aware else None
    return [
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=aware), server_default=default, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=aware), server_default=default, nullable=False),
    ]


def _task_columns(aware: bool) -> list[sa.Column]:
    default = sa.text("CURRENT_TIMESTAMP") if aware else None
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("completed", sa.Boolean(), server_default=sa.false() if aware else None, nullable=False),
        sa.Column("priority", sa.String(length=20), server_default="medium" if aware else None, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=aware), server_default=default, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=aware), server_default=default, nullable=False),
    ]


def _sqlite_to(aware: bool) -> None:
    names = (
        {"users_pk": "pk_users", "email_uq": "uq_users_email", "task_pk": "pk_task"}
        if aware
        else {"users_pk": "users_pkey", "email_uq": "users_email_key", "task_pk": "task_pkey"}
    )
    _sqlite_rebuild(
        "users",
        _users_columns(aware),
        [sa.PrimaryKeyConstraint("id", name=names["users_pk"]), sa.UniqueConstraint("email", name=names["email_uq"])],
        {"ix_users_email": ["email"]},
    )
    _sqlite_rebuild(
        "task",
        _task_columns(aware),
        [
            sa.PrimaryKeyConstraint("id", name=names["task_pk"]),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_task_user_id_users", ondelete="CASCADE"),
        ],
        {"ix_task_user_id": ["user_id"], "ix_task_completed": ["completed"], "ix_task_created_at": ["created_at"]},
    )


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _sqlite_to(aware=True)
        return
    defaults = [f"ALTER COLUMN {column} SET DEFAULT CURRENT_TIMESTAMP" for column in TIMESTAMPS]
    op.execute("ALTER TABLE users " + ", ".join(_pg_timestamps("users", True) + defaults))
    op.execute(
        "ALTER TABLE task "
        + ", ".join(
            _pg_timestamps("task", True)
            + defaults
            + ["ALTER COLUMN completed SET DEFAULT false", "ALTER COLUMN priority SET DEFAULT 'medium'"]
        )
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _sqlite_to(aware=False)
        return
    drops = [f"ALTER COLUMN {column} DROP DEFAULT" for column in TIMESTAMPS]
    op.execute("ALTER TABLE users " + ", ".join(drops + _pg_timestamps("users", False)))
    op.execute(
        "ALTER TABLE task "
        + ", ".join([*drops, "ALTER COLUMN completed DROP DEFAULT", "ALTER COLUMN priority DROP DEFAULT", *_pg_timestamps("task", False)])
    )
