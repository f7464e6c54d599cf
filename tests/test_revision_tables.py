"""Renamed tables in ``todo-data db revision`` (:mod:`todo_data.revision.tables`): a table renamed together with column
changes is found, asked about, and renamed with its rows; two unrelated tables are not offered as a rename.

Model changes are made in a temporary copy of the project (see ``test_revision.project_copy``); the committed chain is
never touched.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.operations import ops
from conftest import table_snapshot
from sqlalchemy.engine import URL
from test_revision import _names, assert_one_line_error, project_copy, run, versions, yes_on_a_terminal

from todo_data.revision import tables
from todo_data.sample import load_sample

# ``task`` renamed ``todo``, its ``description`` renamed ``notes``, a new nullable ``effort`` and a new unique ``code``,
# in one model edit.
RENAMED_WITH_COLUMNS = {
    '    __tablename__ = "task"\n': '    __tablename__ = "todo"\n',
    'foreign_key="task.id"': 'foreign_key="todo.id"',
    "    description: str | None = None\n": "    notes: str | None = None\n",
    "    description: str | None = Field(default=None, sa_type=sa.Text)\n": (
        "    notes: str | None = Field(default=None, sa_type=sa.Text)\n"
        "    effort: int | None = None\n"
        "    code: str | None = Field(default=None, max_length=20, unique=True)\n"
    ),
}
KEPT = ["id", "user_id", "title", "completed", "priority", "created_at", "updated_at"]


def test_a_table_renamed_with_column_changes_keeps_every_value_both_ways(tmp_path: Path, head_url: URL) -> None:
    load_sample(head_url, users=6, tasks=80, seed=11)
    stored = table_snapshot(head_url, "task", [*KEPT, "description"])
    assert len(stored) >= 50 and sum(1 for row in stored if row[-1] is not None) > 10
    names, dependencies = _names(head_url, "task"), _names(head_url, "task_relationships")
    copy = project_copy(tmp_path, RENAMED_WITH_COLUMNS)
    path = copy / "alembic" / "versions" / "005_todo.py"

    unanswered = run(copy, "db", "revision", "-m", "todo", "--no-test")
    assert unanswered.returncode == 0, unanswered.stderr
    assert "task, which has 7 of its 8 columns" in unanswered.stderr and "--rename task=todo" in unanswered.stderr
    assert "op.create_table(" in path.read_text()
    path.unlink()

    # the table alone: the column inside it is then found and offered, and unanswered stays a drop and an add
    table_only = run(copy, "db", "revision", "-m", "todo", "--no-test", "--rename", "task=todo")
    assert table_only.returncode == 0, table_only.stderr
    # the advice names the file to delete and every answer the next run needs, the table's included
    advice = f"delete {path.parent / '005_*.py'} (written now without it) and run again with --rename task=todo --rename todo.description=todo.notes "
    assert advice in table_only.stderr and "alembic -x rename=task=todo,todo.description=todo.notes revision" in table_only.stderr
    assert 'op.rename_table("task", "todo")' in path.read_text()
    path.unlink()

    written = run(copy, "db", "revision", "-m", "todo", "--rename", "task=todo", "--rename", "todo.description=todo.notes")
    assert written.returncode == 0, written.stdout + written.stderr
    assert "rename table task to todo" in written.stdout and "todo: alter column description: rename to notes" in written.stdout
    assert "todo: add column effort INTEGER NULL" in written.stdout and "result: ok" in written.stdout
    text = path.read_text()
    assert 'renames = {"task": "todo", "todo.description": "todo.notes"}' in text
    assert 'batch_op.create_unique_constraint(batch_op.f("uq_todo_code"), ["code"])' in text
    assert "create_table" not in text and "drop_table" not in text and 'drop_column("description")' not in text
    upgrade, downgrade = text.split("def downgrade")
    # up: the table renamed, then its columns changed; back: the columns first, then the table
    assert upgrade.index('op.rename_table("task", "todo")') < upgrade.index('new_column_name="notes"')
    assert (
        downgrade.index('new_column_name="description"')
        < downgrade.index('drop_column("effort")')
        < downgrade.index('op.rename_table("todo", "task")')
    )

    url = head_url.render_as_string(hide_password=False)
    for step in ("upgrade", "downgrade", "upgrade"):
        target = ["004"] if step == "downgrade" else []
        done = run(copy, "db", step, *target, "--database-url", url)
        assert done.returncode == 0, done.stdout + done.stderr
        if step == "upgrade":
            assert table_snapshot(head_url, "todo", [*KEPT, "notes"]) == stored
            assert {row[1:] for row in table_snapshot(head_url, "todo", ["id", "effort", "code"])} == {(None, None)}
            checked = run(copy, "db", "check", "--database-url", url)
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert {"pk_todo", "fk_todo_user_id_users", "uq_todo_code"} <= _names(head_url, "todo")
        else:
            assert table_snapshot(head_url, "task", [*KEPT, "description"]) == stored
            assert _names(head_url, "task") == names and _names(head_url, "task_relationships") == dependencies


def test_on_a_terminal_the_table_and_then_its_column_are_asked(tmp_path: Path) -> None:
    copy = project_copy(tmp_path, RENAMED_WITH_COLUMNS)
    code, seen = yes_on_a_terminal(copy, "db", "revision", "-m", "todo", "--no-test")
    assert code == 0, seen
    first, second = b"Did you rename task to todo? [y/N]", b"Did you rename todo.description to todo.notes? [y/N]"
    assert first in seen and second in seen and seen.index(first) < seen.index(second), seen
    text = (copy / "alembic" / "versions" / "005_todo.py").read_text()
    assert 'renames = {"task": "todo", "todo.description": "todo.notes"}' in text


UNRELATED_TABLE = """
class Tag(SQLModel, table=True):
    \"\"\"Test only: a new table, unrelated to the dropped legacy_note.\"\"\"

    __tablename__ = "tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    created_at: datetime = _timestamp()
"""

LEGACY_NOTE = '''"""Test only: a table the models do not have."""

import sqlalchemy as sa
from alembic import op

revision = "005"
down_revision = "004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legacy_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("legacy_note")
'''


def test_an_unrelated_new_table_and_a_dropped_table_are_not_offered_as_a_rename(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MANAGED_TABLES", "legacy_note")  # so autogenerate drops it: a dropped table beside a new one
    copy = project_copy(tmp_path)
    (copy / "alembic" / "versions" / "005_legacy_note.py").write_text(LEGACY_NOTE)
    models = copy / "todo_data" / "models.py"
    models.write_text(models.read_text() + "\n" + UNRELATED_TABLE)

    refused = run(copy, "db", "revision", "-m", "tag", "--no-test", "--rename", "legacy_note=tag")
    assert_one_line_error(refused, "--rename legacy_note=tag matches no", "the pairs are: none")
    written = run(copy, "db", "revision", "-m", "tag", "--no-test")
    assert written.returncode == 0, written.stderr
    assert "rename" not in written.stderr and "create table tag" in written.stdout and "drop table legacy_note" in written.stdout
    assert "006_tag.py" in versions(copy)


def _candidates(url: URL, existing: list[sa.Table], models: list[sa.Table]) -> list[tuple[str, str]]:
    """The table rename pairs offered when the database holds ``existing`` and the models add ``models``."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            for table in existing:
                table.create(connection)
            upgrade_ops = ops.UpgradeOps([ops.CreateTableOp.from_table(table) for table in models])
            found = tables.candidates(upgrade_ops, sa.inspect(connection), {table.name for table in models})
    finally:
        engine.dispose()
    return [(candidate.old, candidate.new) for candidate in found]


def _table(name: str, *columns: tuple[str, sa.types.TypeEngine]) -> sa.Table:
    return sa.Table(name, sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), *(sa.Column(n, t) for n, t in columns))


NOTE = [("body", sa.Text()), ("author", sa.String(50)), ("created_at", sa.DateTime())]


@pytest.mark.parametrize(
    ("existing", "models", "offered"),
    [
        # the same columns: offered, as Django asks
        ([_table("note", *NOTE)], [_table("memo", *NOTE)], [("note", "memo")]),
        # the same primary key and most other columns: a column renamed, or one added, is offered
        ([_table("note", *NOTE)], [_table("memo", ("text", sa.Text()), *NOTE[1:])], [("note", "memo")]),
        ([_table("note", *NOTE)], [_table("memo", *NOTE, ("pinned", sa.Boolean()))], [("note", "memo")]),
        # both, on a table this narrow, leave half of the wider one's columns in common: not a majority
        ([_table("note", *NOTE)], [_table("memo", ("text", sa.Text()), *NOTE[1:], ("pinned", sa.Boolean()))], []),
        # only the key and a timestamp in common: two unrelated tables
        ([_table("note", *NOTE)], [_table("tag", ("name", sa.String(50)), ("created_at", sa.DateTime()))], []),
        # most columns, but of other types
        ([_table("note", *NOTE)], [_table("memo", ("body", sa.Integer()), ("author", sa.Integer()), ("created_at", sa.DateTime()))], []),
        # another primary key
        (
            [_table("note", *NOTE)],
            [sa.Table("memo", sa.MetaData(), sa.Column("key", sa.String(20), primary_key=True), *(sa.Column(n, t) for n, t in NOTE))],
            [],
        ),
        # two new tables each like the old one: ambiguous, neither offered
        (
            [_table("note", *NOTE)],
            [_table("memo", *NOTE[:2], ("pinned", sa.Boolean())), _table("jotting", *NOTE[:2], ("color", sa.String(10)))],
            [],
        ),
    ],
)
def test_which_table_pairs_are_offered(make_database, existing: list[sa.Table], models: list[sa.Table], offered: list) -> None:
    assert _candidates(make_database("sqlite"), existing, models) == offered
