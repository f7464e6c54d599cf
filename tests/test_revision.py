"""``todo-data db revision``: ids, forks, --check, rendering, renames and NOT NULL columns on populated tables.

Every model change here is made in a temporary copy of the project (todo_data/, alembic/, alembic.ini,
pyproject.toml), run in a subprocess with that copy first on the path: the committed chain is never touched.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import require_pg, table_snapshot
from sqlalchemy.engine import URL

from todo_data.sample import load_sample

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# The rename, a NOT NULL column with a scalar default and one with a callable default, as a developer writes them.
RENAME_AND_NOT_NULL = {
    "    description: str | None = None\n": "    notes: str | None = None\n",
    "    description: str | None = Field(default=None, sa_type=sa.Text)\n": (
        "    notes: str | None = Field(default=None, sa_type=sa.Text)\n"
        "    estimate_minutes: int = Field(default=30)\n"
        "    ticket: int = Field(default_factory=lambda: 7)\n"
    ),
}
TABLE_RENAME = {'    __tablename__ = "task_relationships"\n': '    __tablename__ = "task_dependencies"\n'}
ADD_COLUMN = {"    completed: bool = False\n": "    completed: bool = False\n    effort: int | None = None\n"}


def project_copy(tmp_path: Path, edits: dict[str, str] | None = None) -> Path:
    """A copy of the project with ``edits`` (old text -> new text) made to its models.py."""
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("todo_data", "alembic"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    for name in ("alembic.ini", "pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    models = copy / "todo_data" / "models.py"
    text = models.read_text()
    for old, new in (edits or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    models.write_text(text)
    return copy


def _environment(copy: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    environment["PYTHONPATH"] = str(copy)
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
    return environment


def run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``todo-data ARGS`` of the copy, from its root, with no terminal."""
    return subprocess.run(
        [sys.executable, "-m", "todo_data.cli", *args],
        capture_output=True,
        text=True,
        cwd=copy,
        env=_environment(copy),
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def versions(copy: Path) -> list[str]:
    return sorted(path.name for path in (copy / "alembic" / "versions").glob("*.py"))


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("todo-data: error: ")
    for text in expected:
        assert text in lines[0], lines[0]


# --- ids, forks, nothing to write ---------------------------------------------------------------------------------


def test_no_model_change_writes_nothing_and_ids_are_sequential(tmp_path: Path) -> None:
    copy = project_copy(tmp_path)
    before = versions(copy)
    nothing = run(copy, "db", "revision", "-m", "nothing", "--autogenerate")
    assert nothing.returncode == 0, nothing.stderr
    assert "No changes in models; nothing written." in nothing.stdout
    assert versions(copy) == before

    first = run(copy, "db", "revision", "-m", "Backfill owners", "--empty")
    second = run(copy, "db", "revision", "-m", "second step", "--empty")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert versions(copy) == [*before, "005_backfill_owners.py", "006_second_step.py"]
    text = (copy / "alembic" / "versions" / "006_second_step.py").read_text()
    assert 'revision: str = "006"' in text and 'down_revision: str | Sequence[str] | None = "005"' in text


def test_two_branches_numbering_005_give_one_line(tmp_path: Path) -> None:
    copy = project_copy(tmp_path)
    assert run(copy, "db", "revision", "-m", "mine", "--empty").returncode == 0
    folder = copy / "alembic" / "versions"
    shutil.copy(folder / "005_mine.py", folder / "005_theirs.py")
    for args in (("db", "revision", "-m", "next", "--empty"), ("db", "revision", "--check")):
        assert_one_line_error(run(copy, *args), "Two revisions are numbered 005", "005_mine.py and 005_theirs.py", "006", "alembic merge")


def test_two_heads_give_one_line(tmp_path: Path) -> None:
    copy = project_copy(tmp_path)
    assert run(copy, "db", "revision", "-m", "mine", "--empty").returncode == 0
    folder = copy / "alembic" / "versions"
    theirs = (folder / "005_mine.py").read_text().replace('revision: str = "005"', 'revision: str = "006"')
    (folder / "006_theirs.py").write_text(theirs)
    assert_one_line_error(run(copy, "db", "revision", "-m", "next", "--empty"), "2 heads (005, 006)", "alembic merge")


# --- --check ------------------------------------------------------------------------------------------------------


def test_check_is_0_at_head_and_1_on_a_changed_model_without_writing(tmp_path: Path) -> None:
    assert run(project_copy(tmp_path / "same"), "db", "revision", "--check").returncode == 0
    copy = project_copy(tmp_path / "changed", ADD_COLUMN)
    before = versions(copy)
    result = run(copy, "db", "revision", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "effort" in result.stdout and "todo-data db revision" in result.stdout
    assert "  task: add column effort INTEGER NULL\n" in result.stdout, result.stdout  # as db revision lists it
    assert versions(copy) == before
    written = run(copy, "db", "revision", "-m", "task effort")
    assert written.returncode == 0, written.stderr
    assert run(copy, "db", "revision", "--check").returncode == 0


def test_check_names_a_dropped_and_added_pair_as_a_possible_rename(tmp_path: Path) -> None:
    result = run(project_copy(tmp_path, RENAME_AND_NOT_NULL), "db", "revision", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("4 difference(s) between the models and head (004)"), result.stdout
    assert "  task: drop column description\n" in result.stdout
    assert (
        "a rename? task.description is dropped and task.notes added: `db revision` asks, or answer --rename task.description=task.notes"
        in result.stdout
    )


def test_check_needs_no_database_of_the_users(tmp_path: Path) -> None:
    copy = project_copy(tmp_path)
    environment = _environment(copy) | {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "todo_data.cli", "db", "revision", "--check"],
        capture_output=True,
        text=True,
        cwd=copy,
        env=environment,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- rendering ----------------------------------------------------------------------------------------------------


def test_a_revision_looks_like_the_chains_and_plain_alembic_writes_the_same(tmp_path: Path) -> None:
    copy = project_copy(tmp_path, RENAME_AND_NOT_NULL)
    result = run(copy, "db", "revision", "-m", "task notes", "--rename", "task.description=task.notes")
    assert result.returncode == 0, result.stderr
    assert "005_task_notes.py" in result.stdout and "rename to notes" in result.stdout
    # the written revision's round trip, on a scratch SQLite database with sample rows
    assert "Round trip of revision 005 (down to 004) on a scratch SQLite database" in result.stdout
    assert "data: task 300, task_relationships 30, users 30 at 004" in result.stdout
    assert "check: no differences from the models" in result.stdout
    assert re.search(r"columns the revision does not touch: (\d+) of \1 keep their checksums", result.stdout), result.stdout
    assert "the downgrade loses nothing" in result.stdout and "result: ok" in result.stdout
    path = copy / "alembic" / "versions" / "005_task_notes.py"
    text = path.read_text()
    assert "sqlmodel" not in text and "AutoString" not in text
    assert 'renames = {"task.description": "task.notes"}' in text
    assert 'op.batch_alter_table("task"' in text
    assert 'new_column_name="notes"' in text and 'new_column_name="description"' in text
    assert 'drop_column("description")' not in text
    for check in (["check", str(path)], ["format", "--check", str(path)]):
        linted = subprocess.run([str(BIN / "ruff"), *check], capture_output=True, text=True, cwd=copy, check=False)
        assert linted.returncode == 0, linted.stdout + linted.stderr

    # plain Alembic from the root, against a database at head, writes the same file
    written = path.read_text()
    path.unlink()
    database = f"sqlite:///{tmp_path / 'head.db'}"
    assert run(copy, "db", "upgrade", "--database-url", database).returncode == 0
    plain = plain_alembic(copy, database, "-x", "rename=task.description=task.notes", "revision", "--autogenerate", "-m", "task notes")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert undated(path.read_text()) == undated(written)


def plain_alembic(copy: Path, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Plain ``alembic ARGS`` from the copy's root, with ``DATABASE_URL`` set to ``database`` and no terminal."""
    return subprocess.run(
        [str(BIN / "alembic"), *args],
        capture_output=True,
        text=True,
        cwd=copy,
        env=_environment(copy) | {"DATABASE_URL": database},
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def undated(source: str) -> str:
    return re.sub(r"Create Date: .*", "", source)


def test_plain_alembic_against_postgresql_writes_the_same_file(tmp_path: Path, make_database) -> None:
    """A scalar default's server default is the same text whichever database the models were compared with (Alembic's
    SQLite impl alone wrote ``sa.text("(30)")``, and plain Alembic compares with DATABASE_URL)."""
    require_pg()
    copy = project_copy(tmp_path, RENAME_AND_NOT_NULL)
    written = run(copy, "db", "revision", "-m", "task notes", "--rename", "task.description=task.notes", "--no-test")
    assert written.returncode == 0, written.stdout + written.stderr
    path = copy / "alembic" / "versions" / "005_task_notes.py"
    text = path.read_text()
    assert 'server_default=sa.text("30")' in text, text
    path.unlink()
    database = make_database("postgresql").render_as_string(hide_password=False)
    assert run(copy, "db", "upgrade", "--database-url", database).returncode == 0
    plain = plain_alembic(copy, database, "-x", "rename=task.description=task.notes", "revision", "--autogenerate", "-m", "task notes")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert undated(path.read_text()) == undated(text)


def test_without_a_terminal_or_an_answer_a_rename_stays_a_drop_and_the_round_trip_fails_on_it(tmp_path: Path) -> None:
    copy = project_copy(tmp_path, RENAME_AND_NOT_NULL)
    result = run(copy, "db", "revision", "-m", "task notes")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "--rename task.description=task.notes" in result.stderr
    assert "values stored in task.description are lost" in result.stderr
    path = copy / "alembic" / "versions" / "005_task_notes.py"
    assert 'drop_column("description")' in path.read_text(), "the file stays written, for the user to fix"
    assert re.search(r"task.description after the downgrade: \d+ -> 0 non-null values", result.stdout), result.stdout
    assert "result: FAILED" in result.stdout
    error = result.stderr.splitlines()[-1]
    assert error.startswith("todo-data: error: The round trip of revision 005 failed: the downgrade loses data (task.description")
    assert 'acknowledge_data_loss = ["task.description"]' in error
    # the rename comes first: acknowledging would give up every description
    renamed = (
        f"If what it drops was renamed instead (the warning above), delete {path} and run again with --rename task.description=task.notes;"
    )
    assert renamed in error and "todo-data db test 005" in error

    # acknowledged in the revision, the same loss passes: the round trip reads the marker
    path.unlink()
    assert run(copy, "db", "revision", "-m", "task notes", "--no-test").returncode == 0
    text = path.read_text().replace("\n\n\ndef upgrade", '\nacknowledge_data_loss = ["task.description"]\n\n\ndef upgrade', 1)
    path.write_text(text)
    (tmp_path / "empty.db").touch()
    tested = run(copy, "db", "test", "005", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_no_test_skips_the_round_trip_and_empty_has_none(tmp_path: Path) -> None:
    copy = project_copy(tmp_path, RENAME_AND_NOT_NULL)
    skipped = run(copy, "db", "revision", "-m", "task notes", "--no-test")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "Round trip" not in skipped.stdout and "wrote " in skipped.stdout
    empty = run(copy, "db", "revision", "-m", "by hand", "--empty")
    assert empty.returncode == 0 and "Round trip" not in empty.stdout


def test_a_rename_answer_that_matches_nothing_is_one_line(tmp_path: Path) -> None:
    copy = project_copy(tmp_path, RENAME_AND_NOT_NULL)
    assert_one_line_error(run(copy, "db", "revision", "-m", "x", "--rename", "task.title=task.name"), "task.description=task.notes")
    assert_one_line_error(run(copy, "db", "revision", "-m", "x", "--rename", "task.description=notes"), "TABLE.OLD=TABLE.NEW", "OLD=NEW")
    assert_one_line_error(run(copy, "db", "revision", "-m", "x", "--rename", "task=todo"), "the pairs are: task.description=task.notes")
    empty = run(copy, "db", "revision", "-m", "x", "--empty", "--rename", "task.description=task.notes")
    assert_one_line_error(empty, "--rename task.description=task.notes answers no question", "--empty")
    assert versions(copy) == versions(project_copy(tmp_path / "clean"))


@pytest.mark.parametrize(
    ("edits", "pair", "head_does", "answered"),
    [
        (RENAME_AND_NOT_NULL, "task.description=task.notes", "drops task.description and adds task.notes", 'new_column_name="notes"'),
        (
            {'    __tablename__ = "users"\n': '    __tablename__ = "people"\n', 'foreign_key="users.id"': 'foreign_key="people.id"'},
            "users=people",
            "creates people empty, leaving users",
            'op.rename_table("users", "people")',
        ),
    ],
)
def test_the_warnings_advice_works_and_an_answer_to_no_question_is_refused(
    tmp_path: Path, edits: dict[str, str], pair: str, head_does: str, answered: str
) -> None:
    copy = project_copy(tmp_path, edits)
    path = copy / "alembic" / "versions" / "005_task_notes.py"
    unanswered = run(copy, "db", "revision", "-m", "task notes", "--no-test")
    assert unanswered.returncode == 0, unanswered.stdout + unanswered.stderr
    pattern = path.parent / "005_*.py"  # named before Alembic writes it: the file `wrote` names just below
    assert f"if it is a rename, delete {pattern} (written now without it) and run again with --rename {pair}" in unanswered.stderr
    assert f"wrote {path}" in unanswered.stdout
    destructive = path.read_text()

    # run again with the answer but the file kept: the models match it, so the answer is refused, naming the file
    expected = (
        f"--rename {pair} matches no dropped and added column or table of the models: they already match head (005)",
        f"{path} was written without the rename (its upgrade {head_does}): delete it",
    )
    assert_one_line_error(run(copy, "db", "revision", "-m", "task notes", "--rename", pair, "--no-test"), *expected)
    assert path.read_text() == destructive and versions(copy)[-1] == path.name
    # plain Alembic, against a database at that head, says the same in its one FAILED: line
    database = f"sqlite:///{tmp_path / 'head.db'}"
    assert run(copy, "db", "upgrade", "--database-url", database).returncode == 0
    plain = plain_alembic(copy, database, "-x", f"rename={pair}", "revision", "--autogenerate", "-m", "task notes")
    assert plain.returncode == 255, plain.stdout + plain.stderr  # Alembic's exit code for a CommandError
    failed = [line for line in plain.stdout.splitlines() if line.startswith("FAILED: ")]
    assert len(failed) == 1 and all(text in failed[0] for text in expected), plain.stdout + plain.stderr
    assert "nothing written" not in plain.stdout + plain.stderr and versions(copy)[-1] == path.name

    # the advice followed: deleted, then the same command writes the rename
    path.unlink()
    followed = run(copy, "db", "revision", "-m", "task notes", "--rename", pair, "--no-test")
    assert followed.returncode == 0, followed.stdout + followed.stderr
    assert answered in path.read_text()
    # and once more: head already makes that rename
    assert_one_line_error(
        run(copy, "db", "revision", "-m", "task notes", "--rename", pair),
        "already match head (005)",
        f"005 already renames {pair.replace('=', ' to ')}.",
    )


def yes_on_a_terminal(copy: Path, *args: str, timeout: float = 180) -> tuple[int, bytes]:
    """``todo-data ARGS`` in ``copy`` on a pseudo-terminal, answering y to each [y/N] question: its exit code and output."""
    parent, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "todo_data.cli", *args], stdin=child, stdout=child, stderr=child, cwd=copy, env=_environment(copy)
    )
    os.close(child)
    seen, answered = b"", 0
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([parent], [], [], 1)
        if ready:
            try:
                seen += os.read(parent, 1024)
            except OSError:
                break
        if seen.count(b"[y/N]") > answered:
            answered += 1
            os.write(parent, b"y\n")
    code = process.wait(timeout=60)
    os.close(parent)
    return code, seen


@pytest.mark.parametrize(
    ("edits", "question", "written"),
    [
        (RENAME_AND_NOT_NULL, b"Did you rename task.description to task.notes? [y/N]", 'new_column_name="notes"'),
        (
            TABLE_RENAME,
            b"Did you rename task_relationships to task_dependencies? [y/N]",
            'op.rename_table("task_relationships", "task_dependencies")',
        ),
    ],
)
def test_on_a_terminal_the_rename_is_asked(tmp_path: Path, edits: dict[str, str], question: bytes, written: str) -> None:
    copy = project_copy(tmp_path, edits)
    code, seen = yes_on_a_terminal(copy, "db", "revision", "-m", "task notes", "--no-test")
    assert question in seen, seen
    assert code == 0, seen
    assert written in (copy / "alembic" / "versions" / "005_task_notes.py").read_text()


# --- the revision applied to a populated database, both ways ------------------------------------------------------


def test_rename_and_not_null_columns_apply_to_a_populated_database_and_come_back(tmp_path: Path, head_url: URL) -> None:
    load_sample(head_url, users=4, tasks=60, seed=3)
    stored = table_snapshot(head_url, "task", ["id", "description"])
    assert sum(1 for _, text in stored if text is not None) > 10
    others = table_snapshot(head_url, "task", ["id", "title", "priority", "completed", "user_id"])

    copy = project_copy(tmp_path, RENAME_AND_NOT_NULL)
    assert run(copy, "db", "revision", "-m", "task notes", "--rename", "task.description=task.notes").returncode == 0
    url = head_url.render_as_string(hide_password=False)

    upgraded = run(copy, "db", "upgrade", "--database-url", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert table_snapshot(head_url, "task", ["id", "notes"]) == stored
    assert {row[1:] for row in table_snapshot(head_url, "task", ["id", "estimate_minutes", "ticket"])} == {(30, 7)}
    assert table_snapshot(head_url, "task", ["id", "title", "priority", "completed", "user_id"]) == others
    engine = sa.create_engine(head_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            columns = {column["name"]: column for column in sa.inspect(connection).get_columns("task")}
    finally:
        engine.dispose()
    assert columns["estimate_minutes"]["nullable"] is False and columns["ticket"]["nullable"] is False
    assert columns["estimate_minutes"]["default"] is None  # the server default only filled the existing rows
    checked = run(copy, "db", "check", "--database-url", url)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # the downgrade drops the two new columns, which hold values now: it is refused unless that loss is accepted
    assert run(copy, "db", "downgrade", "004", "--database-url", url).returncode == 1
    downgraded = run(copy, "db", "downgrade", "004", "--accept-data-loss", "--database-url", url)
    assert downgraded.returncode == 0, downgraded.stderr
    assert table_snapshot(head_url, "task", ["id", "description"]) == stored
    assert table_snapshot(head_url, "task", ["id", "title", "priority", "completed", "user_id"]) == others


def _names(url: URL, table: str) -> set[str]:
    """The names of ``table``'s primary key, unique constraints, foreign keys and indexes, as the database has them."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            names = {inspector.get_pk_constraint(table).get("name")}
            names.update(item["name"] for item in inspector.get_unique_constraints(table))
            names.update(item["name"] for item in inspector.get_foreign_keys(table))
            names.update(item["name"] for item in inspector.get_indexes(table) if not item.get("duplicates_constraint"))
    finally:
        engine.dispose()
    return names - {None}


@pytest.mark.parametrize(
    ("edits", "old", "new"),
    [
        (TABLE_RENAME, "task_relationships", "task_dependencies"),
        # a table other tables refer to: their foreign keys are made again to the new name, and back
        (
            {'    __tablename__ = "task"\n': '    __tablename__ = "todo"\n', 'foreign_key="task.id"': 'foreign_key="todo.id"'},
            "task",
            "todo",
        ),
    ],
)
def test_a_renamed_table_keeps_its_rows_both_ways(tmp_path: Path, head_url: URL, edits: dict[str, str], old: str, new: str) -> None:
    load_sample(head_url, users=6, tasks=80, seed=5)
    stored = table_snapshot(head_url, old)
    assert len(stored) >= 5
    names, dependencies = _names(head_url, old), _names(head_url, "task_relationships")
    assert f"pk_{old}" in names
    copy = project_copy(tmp_path, edits)
    path = copy / "alembic" / "versions" / "005_renamed.py"

    unanswered = run(copy, "db", "revision", "-m", "renamed", "--no-test")
    assert unanswered.returncode == 0, unanswered.stderr
    assert f"--rename {old}={new}" in unanswered.stderr and "op.create_table(" in path.read_text()
    path.unlink()

    written = run(copy, "db", "revision", "-m", "renamed", "--rename", f"{old}={new}")
    assert written.returncode == 0, written.stdout + written.stderr
    assert f"rename table {old} to {new}" in written.stdout and "result: ok" in written.stdout
    text = path.read_text()
    assert f'op.rename_table("{old}", "{new}")' in text and f'op.rename_table("{new}", "{old}")' in text
    assert f'renames = {{"{old}": "{new}"}}' in text and "create_table" not in text
    assert f'"pk_{old}": "pk_{new}"' in text

    url = head_url.render_as_string(hide_password=False)
    planned = run(copy, "db", "plan", "--database-url", url)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "not-measured" not in planned.stdout and "not measured" not in planned.stdout, planned.stdout  # renames touch no value
    upgraded = run(copy, "db", "upgrade", "--database-url", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"{old} {len(stored)} -> -" in upgraded.stdout and f"{new} - -> {len(stored)}" in upgraded.stdout, upgraded.stdout
    assert table_snapshot(head_url, new) == stored
    checked = run(copy, "db", "check", "--database-url", url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    now = _names(head_url, new)
    assert f"pk_{new}" in now and not any(name.startswith((f"pk_{old}", f"uq_{old}_", f"fk_{old}_")) for name in now), now

    downgraded = run(copy, "db", "downgrade", "004", "--database-url", url)
    assert downgraded.returncode == 0, downgraded.stderr
    assert table_snapshot(head_url, old) == stored
    assert _names(head_url, old) == names and _names(head_url, "task_relationships") == dependencies


def test_plain_alembic_check_still_reports_what_it_compared(tmp_path: Path) -> None:
    """``alembic check`` is an autogenerate run too: the hook leaves its operations as compared."""
    database = f"sqlite:///{tmp_path / 'head.db'}"
    for name, edits, code, text in (
        ("same", None, 0, "No new upgrade operations detected"),
        ("changed", RENAME_AND_NOT_NULL, 255, "ticket"),
    ):
        copy = project_copy(tmp_path / name, edits)
        assert run(copy, "db", "upgrade", "--database-url", database).returncode == 0
        checked = subprocess.run(
            [str(BIN / "alembic"), "check"],
            capture_output=True,
            text=True,
            cwd=copy,
            env=_environment(copy) | {"DATABASE_URL": database},
            timeout=300,
            check=False,
        )
        assert checked.returncode == code, checked.stdout + checked.stderr  # 255: Alembic's exit code for differences
        assert text in checked.stdout + checked.stderr
        assert "Traceback" not in checked.stderr


def test_the_pre_commit_hooks_run_commands_the_cli_takes() -> None:
    import yaml

    from todo_data.cli import build_parser

    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"todo-data-revision-check", "todo-data-plan-strict"}
    for hook in hooks.values():
        program, *args = hook["entry"].split()
        assert program == "todo-data" and hook["pass_filenames"] is False
        build_parser().parse_args(args)  # exits on an option the CLI does not take
    assert hooks["todo-data-revision-check"]["entry"] == "todo-data db revision --check"
    assert hooks["todo-data-plan-strict"]["entry"] == "todo-data db plan --strict"


def test_the_projects_own_ci_runs_the_check_before_the_suite() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert recipe.index("todo-data db revision --check") < recipe.index("pytest")


def test_a_callable_datetime_default_renders_in_offline_postgresql_sql(tmp_path: Path) -> None:
    """The backfill value is a typed literal: ``db sql`` (and so ``db plan``'s impact) renders it with no database."""
    copy = project_copy(
        tmp_path,
        {
            "    completed: bool = False\n": "    completed: bool = False\n    due_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)\n"
        },
    )
    assert run(copy, "db", "revision", "-m", "due dates").returncode == 0
    text = (copy / "alembic" / "versions" / "005_due_dates.py").read_text()
    assert "import datetime" in text and 'backfill("task", "due_at", datetime.datetime(' in text
    offline = run(copy, "db", "sql", "004:005", "--dialect", "postgresql")
    assert offline.returncode == 0, offline.stderr
    assert "UPDATE task SET due_at='" in offline.stdout
    assert offline.stdout.index("CHECK (due_at IS NOT NULL) NOT VALID") < offline.stdout.index(
        "VALIDATE CONSTRAINT ck_task_due_at_not_null"
    )
    assert offline.stdout.index("VALIDATE CONSTRAINT") < offline.stdout.index("ALTER COLUMN due_at SET NOT NULL")


def test_a_not_null_column_without_a_default_is_refused_until_given_a_value(tmp_path: Path) -> None:
    copy = project_copy(tmp_path, {"    completed: bool = False\n": "    completed: bool = False\n    size: int\n"})
    database = f"sqlite:///{tmp_path / 'todo.db'}"
    assert run(copy, "db", "upgrade", "--database-url", database).returncode == 0
    load_sample(sa.make_url(database), users=2, tasks=10, seed=1)
    written = run(copy, "db", "revision", "-m", "task size")
    assert written.returncode == 1, written.stdout + written.stderr  # its round trip fails until the value is given
    assert "task.size: NOT NULL with no default" in written.stderr and "TODO" in written.stderr
    assert written.stderr.splitlines()[-1].startswith("todo-data: error: The round trip of revision 005 failed: ")
    assert 'backfill("task", "size", None)' in written.stderr.splitlines()[-1]
    refused = run(copy, "db", "upgrade", "--database-url", database)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines()[-1].startswith("todo-data: error: ") and 'backfill("task", "size", None)' in refused.stderr
    assert "current: 004" in run(copy, "db", "current", "--database-url", database).stdout


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_rename_steps_rename_constraints_and_indexes_and_keep_the_rows(backend: str, make_database) -> None:
    """``rename_constraints`` / ``rename_indexes`` as a revision runs them, on a table with an expression index too."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from todo_data.db import build_engine
    from todo_data.revision.steps import rename_constraints, rename_indexes

    if backend == "postgresql":
        require_pg()
    url = make_database(backend)
    engine = build_engine(url, for_migrations=True)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "CREATE TABLE todo (id INTEGER NOT NULL, title VARCHAR(20), CONSTRAINT pk_task PRIMARY KEY (id), "
                    "CONSTRAINT uq_task_title UNIQUE (title), CONSTRAINT ck_task_short CHECK (length(title) < 10))"
                )
            )
            connection.execute(sa.text("CREATE INDEX ix_task_lower_title ON todo (lower(title))"))
            connection.execute(sa.text("CREATE INDEX ix_task_title_id ON todo (title, id)"))
            connection.execute(sa.text("INSERT INTO todo (id, title) VALUES (1, 'a'), (2, 'b'), (3, NULL)"))
        with engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
            rename_constraints("todo", {"pk_task": "pk_todo", "uq_task_title": "uq_todo_title", "ck_task_short": "ck_todo_short"})
            rename_indexes("todo", {"ix_task_title_id": "ix_todo_title_id"})
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            assert inspector.get_pk_constraint("todo")["name"] == "pk_todo"
            assert {item["name"] for item in inspector.get_unique_constraints("todo")} == {"uq_todo_title"}
            assert {item["name"] for item in inspector.get_check_constraints("todo")} == {"ck_todo_short"}
            listed = (
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'todo' AND sql IS NOT NULL"
                if backend == "sqlite"
                else "SELECT indexname FROM pg_indexes WHERE tablename = 'todo' AND indexname NOT IN ('pk_todo', 'uq_todo_title')"
            )
            assert set(connection.execute(sa.text(listed)).scalars()) == {"ix_task_lower_title", "ix_todo_title_id"}
            rows = connection.execute(sa.text("SELECT id, title FROM todo ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b"), (3, None)]
