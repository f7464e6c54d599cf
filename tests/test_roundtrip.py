"""`todo-data db test` (todo_data.roundtrip): a revision's round trip on a copy with data, with test-only revisions and
model changes written in a temporary copy of the project."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_pg, run_sql
from project_copy import ProjectCopy
from sqlalchemy.engine import URL

from todo_data import db, dispose_engines, migrations, roundtrip
from todo_data.roundtrip import checksums, round_trip
from todo_data.sample import generate, load_sample

RENAME = 'op.alter_column("task", "description", new_column_name="notes", existing_type=sa.Text())'
RENAME_BACK = 'op.alter_column("task", "notes", new_column_name="description", existing_type=sa.Text())'
LOSING_DOWNGRADE = """
with op.batch_alter_table("task") as batch_op:
    batch_op.drop_column("notes")
    batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
"""
RESULT = """
import json, sys
from todo_data.roundtrip import round_trip
result = round_trip(sys.argv[1] if len(sys.argv) > 1 else {url!r})
print(json.dumps({{"ok": result.ok, "error": result.error, "check": result.check, "columns": result.columns,
    "losses": [item.describe() for item in result.losses], "breaks": [item.describe() for item in result.breaks]}}))
"""


def renamed_models(tmp_path: Path) -> ProjectCopy:
    project = ProjectCopy.make(tmp_path)
    project.edit_models("    description: str | None = None\n", "    notes: str | None = None\n")
    project.edit_models(
        "    description: str | None = Field(default=None, sa_type=sa.Text)", "    notes: str | None = Field(default=None, sa_type=sa.Text)"
    )
    return project


def filled(make_database, backend: str) -> URL:
    if backend == "postgresql":
        require_pg()
    url = make_database(backend)
    migrations.upgrade(url)
    load_sample(url, users=6, tasks=80, seed=2, progress=False)
    dispose_engines()
    return url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_round_trip_names_what_a_downgrade_loses(backend: str, make_database, tmp_path: Path) -> None:
    url = filled(make_database, backend)
    text = url.render_as_string(hide_password=False)
    before = checksums(url)
    project = renamed_models(tmp_path)
    project.add_revision(RENAME, LOSING_DOWNGRADE)

    found = project.python(RESULT.format(url=text))
    assert found["error"] is None and found["check"] == [] and not found["ok"]
    assert found["breaks"] == [], "the columns the revision does not touch keep their values"
    # SQLite: a copy of the file; PostgreSQL: a scratch database with the default 200 sample tasks (20 users, seed 0)
    if backend == "sqlite":
        described = before["task"]["description"][0]
    else:
        sampled = generate(20, 200).tasks
        described = sampled.num_rows - sampled["description"].null_count
    assert described > 0
    assert f"task.description after the downgrade: {described} -> 0 non-null values" in found["losses"]
    assert f"task.notes after upgrading again: {described} -> 0 non-null values" in found["losses"]

    cli = project.cli("db", "test", "--database-url", text)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "the downgrade loses:" in cli.stdout and "result: FAILED" in cli.stdout
    assert checksums(url) == before and migrations.current(url) == ("004",), "the database itself is only read"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_downgrade_that_gives_everything_back_passes(backend: str, make_database, tmp_path: Path) -> None:
    url = filled(make_database, backend)
    project = renamed_models(tmp_path)
    project.add_revision(RENAME, RENAME_BACK)

    cli = project.cli("db", "test", "005", "--database-url", url.render_as_string(hide_password=False))

    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "check: no differences from the models" in cli.stdout and "the downgrade loses nothing" in cli.stdout
    assert "result: ok" in cli.stdout


def test_an_untouched_column_that_changes_fails_the_round_trip(make_database, tmp_path: Path) -> None:
    url = filled(make_database, "sqlite")
    project = ProjectCopy.make(tmp_path)
    project.add_revision('op.execute("UPDATE task SET title = upper(title)")')

    found = project.python(RESULT.format(url=url.render_as_string(hide_password=False)))

    assert not found["ok"] and found["losses"] == []
    assert any(line.startswith("task.title after the downgrade") for line in found["breaks"])


def test_the_chain_s_own_head_round_trips(make_database) -> None:
    url = filled(make_database, "sqlite")
    result = round_trip(url)
    assert result.ok, result.to_text()
    assert result.revision == migrations.head() and result.check == [] and result.columns > 10


def test_the_copy_is_read_through_one_engine(make_database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read of the copy (rows, the revision's dialect, four checksums) goes through one DatabaseHandle."""
    url = filled(make_database, "sqlite")
    built: list[bool] = []
    original = db.build_engine

    def counting(*args: object, **kwargs: object) -> object:
        built.append(bool(kwargs.get("read_only")))
        return original(*args, **kwargs)

    monkeypatch.setattr(db, "build_engine", counting)
    monkeypatch.setattr(roundtrip, "build_engine", counting, raising=False)  # where it once built its own
    result = round_trip(url)
    assert result.ok, result.to_text()
    assert built.count(True) == 1, built


NARROW_TITLE = 'with op.batch_alter_table("task") as batch_op:\n    batch_op.alter_column("title", existing_type=sa.String(200), type_=sa.String(100), existing_nullable=False)'
WIDEN_TITLE = 'with op.batch_alter_table("task") as batch_op:\n    batch_op.alter_column("title", existing_type=sa.String(100), type_=sa.String(200), existing_nullable=False)'


@pytest.mark.parametrize("over_long", [3, 0])
def test_sqlite_names_the_values_longer_than_a_new_varchar_it_does_not_enforce(make_database, tmp_path: Path, over_long: int) -> None:
    url = filled(make_database, "sqlite")
    if over_long:
        run_sql(url, f"UPDATE task SET title = '{'x' * 150}' WHERE id IN (SELECT id FROM task ORDER BY id LIMIT {over_long})")
    before = checksums(url)
    project = ProjectCopy.make(tmp_path)
    project.edit_models("TITLE_MAX = 200\n", "TITLE_MAX = 100\n")
    project.add_revision(NARROW_TITLE, WIDEN_TITLE)

    cli = project.cli("db", "test", "005", "--database-url", url.render_as_string(hide_password=False))

    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "check: no differences from the models" in cli.stdout and cli.stdout.rstrip().endswith("result: ok")
    notes = [line for line in cli.stdout.splitlines() if line.startswith("Note:") and "VARCHAR" in line]
    if over_long:
        assert notes == [
            f"Note: SQLite does not enforce VARCHAR(n): after the upgrade task.title holds {over_long} values longer than its "
            "new VARCHAR(100); PostgreSQL would refuse the upgrade on them (`todo-data db plan` counts them)."
        ]
    else:  # none to count, but the difference from PostgreSQL is still said (a round trip on SQLite cannot show it)
        assert notes == [
            "Note: SQLite does not enforce VARCHAR(n): this round trip would pass with values longer than task.title's new "
            "VARCHAR(100) (this copy holds none); PostgreSQL refuses the upgrade on them: `todo-data db plan` counts them on "
            "the database you upgrade."
        ]
    assert checksums(url) == before and migrations.current(url) == ("004",), "the database itself is only read"
