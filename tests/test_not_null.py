"""New NOT NULL columns on populated tables (todo_data/revision/defaults.py, backends/postgresql/not_null.py,
todo_data/undo.py): the steps come last in a written revision, and a revision that fails after its PostgreSQL steps
committed part of it is undone by its own downgrade, so the database stays at its previous revision with its data.

Model changes and revisions are made in a temporary copy of the project: the committed chain is never touched.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from conftest import require_pg, run_sql, table_snapshot
from project_copy import ProjectCopy
from sqlalchemy.engine import URL

from todo_data.migrations import upgrade
from todo_data.sample import load_sample

TICKET = (
    '    completed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})\n',
    '    completed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})\n'
    "    ticket: int = Field(default_factory=lambda: 7)\n",
)
USER_LEVEL = (
    "    name: str | None = Field(default=None, max_length=NAME_MAX)\n",
    "    name: str | None = Field(default=None, max_length=NAME_MAX)\n"
    "    level: int = Field(default_factory=lambda: 3)\n"
    "    nickname: str | None = Field(default=None, max_length=40)\n",
)
TABLES = ("users", "task", "task_relationships")
# A row the old application writes without the new column between the backfill and the NOT NULL: the NOT NULL fails
# after the backfill committed (on PostgreSQL). Deterministic, and it touches only the new column.
T = TypeVar("T")
LATE_NULL = '    op.execute("UPDATE task SET ticket = NULL WHERE id = (SELECT min(id) FROM task)")\n'


def _written(project: ProjectCopy, *edits: tuple[str, str]) -> Path:
    for old, new in edits:
        project.edit_models(old, new)
    written = project.cli("db", "revision", "-m", "new not null columns", "--no-test")
    assert written.returncode == 0, written.stdout + written.stderr
    (path,) = (project.root / "alembic" / "versions").glob("005_*.py")
    return path


def _upgrade_body(path: Path) -> list[str]:
    text = path.read_text()
    body = text[text.index("def upgrade()") : text.index("def downgrade()")]
    return [line.strip() for line in body.splitlines()[1:] if line.strip() and not line.strip().startswith("#")]


def _snapshot(url: URL) -> dict[str, list[tuple]]:
    return {table: table_snapshot(url, table) for table in TABLES}


def _read(url: URL, reading: Callable[[sa.Connection], T]) -> T:
    """``reading`` of one fresh connection to ``url`` (no pool left behind)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return reading(connection)
    finally:
        engine.dispose()


def _columns(url: URL, table: str) -> dict[str, dict]:
    return _read(url, lambda connection: {column["name"]: column for column in sa.inspect(connection).get_columns(table)})


def _version(url: URL) -> list[str]:
    return _read(url, lambda connection: [row[0] for row in connection.execute(sa.text("SELECT version_num FROM alembic_version"))])


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Running upgrade ")]
    assert len(lines) == 1 and lines[0].startswith("todo-data: error: "), result.stderr  # after Alembic's progress lines
    return lines[0]


def test_the_steps_come_after_every_other_operation_of_a_revision_over_two_tables(tmp_path: Path) -> None:
    path = _written(ProjectCopy.make(tmp_path), TICKET, USER_LEVEL)
    body = _upgrade_body(path)
    steps = [index for index, line in enumerate(body) if line.startswith(("backfill(", "set_not_null("))]
    others = [index for index, line in enumerate(body) if line.startswith(("op.", "batch_op.", "with op."))]
    assert len(steps) == 4 and others, body
    assert max(others) < min(steps), body
    assert [body[index] for index in steps] == [
        'backfill("task", "ticket", 7)',
        'set_not_null("task", "ticket")',
        'backfill("users", "level", 3)',
        'set_not_null("users", "level")',
    ]


def _populate(url: URL) -> URL:
    """``url`` at 004 (the committed chain's head) holding sample rows."""
    upgrade(url)
    load_sample(url, users=4, tasks=60, seed=3)
    return url


@pytest.fixture
def populated(make_database, backend: str) -> URL:
    return _populate(make_database(backend))


@pytest.fixture
def populated_pg(make_database) -> URL:
    require_pg()
    return _populate(make_database("postgresql"))


def _with_late_null(revision: str) -> str:
    """The written revision with :data:`LATE_NULL` right after its backfill."""
    return revision.replace('    backfill("task", "ticket", 7)\n', '    backfill("task", "ticket", 7)\n' + LATE_NULL)


def test_a_not_null_that_fails_after_the_backfill_leaves_the_previous_revision_and_its_data(tmp_path: Path, populated: URL) -> None:
    project = ProjectCopy.make(tmp_path)
    path = _written(project, TICKET)
    clean = path.read_text()
    assert 'backfill("task", "ticket", 7)\n' in clean
    path.write_text(_with_late_null(clean))
    before = _snapshot(populated)
    columns = list(_columns(populated, "task"))
    assert len(before["task"]) == 60
    text = populated.render_as_string(hide_password=False)

    line = _one_line(project.cli("db", "upgrade", "--database-url", text))
    if populated.get_backend_name() == "sqlite":  # its steps are part of the revision's transaction
        assert "rolled back; the database is still at 004" in line, line
    else:
        assert "failed in revision 005 after part of it had committed" in line, line
        assert "undone by 005's downgrade, so the database is at 004 with its data unchanged" in line, line
        assert "ck_task_ticket_not_null" in line and "run `todo-data db upgrade` again" in line, line
    assert _version(populated) == ["004"]
    assert "ticket" not in _columns(populated, "task")
    assert _snapshot(populated) == before

    path.write_text(clean)  # the cause removed
    again = project.cli("db", "upgrade", "--database-url", text)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _version(populated) == ["005"]
    assert _columns(populated, "task")["ticket"]["nullable"] is False
    assert {row[1] for row in table_snapshot(populated, "task", ["id", "ticket"])} == {7}
    assert table_snapshot(populated, "task", columns) == before["task"]


def test_plain_alembic_upgrade_undoes_a_revision_that_failed_after_committing_part_of_it(tmp_path: Path, populated_pg: URL) -> None:
    """``alembic upgrade head`` from the project root (its own engine, not todo-data's connection) undoes the same way,
    and Alembic prints the one line (FAILED: ...) as it prints its own errors."""
    url = populated_pg
    project = ProjectCopy.make(tmp_path)
    path = _written(project, TICKET)
    clean = path.read_text()
    path.write_text(_with_late_null(clean))
    before = _snapshot(url)

    environment = {**project.environment(), "DATABASE_URL": url.render_as_string(hide_password=False)}
    plain = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], capture_output=True, text=True, cwd=project.root, env=environment, timeout=300
    )

    assert plain.returncode == 255, plain.stdout + plain.stderr  # Alembic's own exit code for a CommandError
    failed = [line for line in plain.stdout.splitlines() if line.startswith("FAILED: ")]
    assert len(failed) == 1, plain.stderr
    assert "undone by 005's downgrade, so the database is at 004 with its data unchanged" in failed[0], failed[0]
    assert _version(url) == ["004"]
    assert "ticket" not in _columns(url, "task")
    assert _snapshot(url) == before


def test_an_undone_revision_that_dropped_a_column_names_it_as_back_but_empty(tmp_path: Path, populated_pg: URL) -> None:
    """The undo is the revision's downgrade: a column the revision dropped (with --accept-data-loss) comes back empty,
    and the line says so instead of "data unchanged"."""
    url = populated_pg
    project = ProjectCopy.make(tmp_path)
    project.edit_models("    description: str | None = None\n", "")
    project.edit_models("    description: str | None = Field(default=None, sa_type=sa.Text)\n", "")
    path = _written(project, TICKET)
    clean = path.read_text()
    assert 'drop_column("description")' in clean, clean
    path.write_text(_with_late_null(clean))
    text = url.render_as_string(hide_password=False)

    line = _one_line(project.cli("db", "upgrade", "--database-url", text, "--accept-data-loss"))
    assert (
        "undone by 005's downgrade, so the database is at 004 and what the revision dropped (task.description) is back, but empty" in line
    )
    assert "data unchanged" not in line, line
    assert _version(url) == ["004"]
    assert "ticket" not in _columns(url, "task") and "description" in _columns(url, "task")


def test_when_the_undo_fails_too_the_line_says_what_to_run_and_that_works(tmp_path: Path, populated_pg: URL) -> None:
    url = populated_pg
    project = ProjectCopy.make(tmp_path)
    path = _written(project, TICKET)
    clean = path.read_text()
    broken = _with_late_null(clean)
    broken = re.sub(r"(def downgrade\(\) -> None:\n)", r'\1    op.execute("SELECT 1 / 0")\n', broken)
    path.write_text(broken)
    before = _snapshot(url)
    text = url.render_as_string(hide_password=False)

    line = _one_line(project.cli("db", "upgrade", "--database-url", text))
    assert "undoing that part with 005's downgrade failed too (division by zero)" in line, line
    assert "holds part of 005 while it records 004" in line, line
    commands = re.findall(r"`(todo-data [^`]+)`", line)
    assert commands == ["todo-data db stamp 005", "todo-data db downgrade 004 --accept-data-loss", "todo-data db upgrade"], line
    assert _version(url) == ["004"] and "ticket" in _columns(url, "task")

    path.write_text(clean)  # both causes fixed; then what the line says
    for command in commands:
        done = project.cli(*command.split()[1:], "--database-url", text)
        assert done.returncode == 0, done.stdout + done.stderr
        if command.startswith("todo-data db downgrade"):
            assert _snapshot(url) == before and "ticket" not in _columns(url, "task")
    assert _version(url) == ["005"] and {row[1] for row in table_snapshot(url, "task", ["id", "ticket"])} == {7}


def _lock_when_the_column_appears(url: URL, hold: float, locked: threading.Event) -> None:
    """A reader that takes ACCESS SHARE on task once the revision's first commit shows the new column, and holds it."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            found = sa.text("SELECT count(*) FROM information_schema.columns WHERE table_name = 'task' AND column_name = 'ticket'")
            deadline = time.monotonic() + 120
            while not connection.execute(found).scalar_one() and time.monotonic() < deadline:
                connection.rollback()
                time.sleep(0.02)
            connection.rollback()
            time.sleep(0.3)  # the backfill of 60 rows is done; the revision sleeps before its NOT NULL
            connection.exec_driver_sql("LOCK TABLE task IN ACCESS SHARE MODE")
            locked.set()
            time.sleep(hold)
            connection.rollback()
    finally:
        engine.dispose()


def test_a_lock_timeout_in_the_not_null_is_undone_once_the_lock_is_gone(
    tmp_path: Path, populated_pg: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long read holds the table when set_not_null needs it: the NOT NULL times out after the backfill committed,
    the undo tries again until the read ends, and the same revision then applies."""
    url = populated_pg
    project = ProjectCopy.make(tmp_path)
    path = _written(project, TICKET)
    clean = path.read_text()
    path.write_text(
        clean.replace('    backfill("task", "ticket", 7)\n', '    backfill("task", "ticket", 7)\n    op.execute("SELECT pg_sleep(2)")\n')
    )
    before = _snapshot(url)
    text = url.render_as_string(hide_password=False)
    monkeypatch.setenv("LOCK_TIMEOUT", "300ms")

    locked = threading.Event()
    reader = threading.Thread(target=_lock_when_the_column_appears, args=(url, 4.0, locked))
    reader.start()
    try:
        line = _one_line(project.cli("db", "upgrade", "--database-url", text))
    finally:
        reader.join()
    assert locked.is_set()
    assert "failed in revision 005 after part of it had committed (cause: canceling statement due to lock timeout)" in line, line
    assert "undone by 005's downgrade, so the database is at 004 with its data unchanged" in line, line
    assert _version(url) == ["004"] and "ticket" not in _columns(url, "task")
    assert _snapshot(url) == before

    again = project.cli("db", "upgrade", "--database-url", text)  # the read is over: the same revision applies
    assert again.returncode == 0, again.stdout + again.stderr
    assert _version(url) == ["005"] and _columns(url, "task")["ticket"]["nullable"] is False


def _set_not_null(url: URL) -> None:
    """The PostgreSQL step alone, as a revision runs it, on ``t.c``."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from todo_data.revision.steps import set_not_null

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"transactional_ddl": True, "transaction_per_migration": True})
            with context.begin_transaction(_per_migration=True), Operations.context(context):
                set_not_null("t", "c")
    finally:
        engine.dispose()


def _checks(url: URL) -> list[str]:
    return _read(url, lambda connection: [check["name"] for check in sa.inspect(connection).get_check_constraints("t")])


def test_set_not_null_runs_again_over_a_check_a_failed_run_left_and_a_failure_leaves_none(make_database) -> None:
    require_pg()
    url = make_database("postgresql")
    run_sql(url, "CREATE TABLE t (id int PRIMARY KEY, c int)", "INSERT INTO t VALUES (1, NULL), (2, 5)")
    with pytest.raises(sa.exc.IntegrityError, match="ck_t_c_not_null"):
        _set_not_null(url)
    assert _checks(url) == []  # the failure dropped its check

    run_sql(url, "UPDATE t SET c = 5", "ALTER TABLE t ADD CONSTRAINT ck_t_c_not_null CHECK (c IS NOT NULL) NOT VALID")
    _set_not_null(url)  # as if a run had stopped between its ADD CONSTRAINT and its DROP
    assert _checks(url) == []
    assert _columns(url, "t")["c"]["nullable"] is False
