"""The data impact (todo_data.impact): each rule's count and examples measured on real databases before anything runs,
with test-only revisions written in a temporary copy of the project; db plan --strict and db downgrade on top."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import run_sql
from project_copy import ProjectCopy
from sqlalchemy.engine import URL

from todo_data import dispose_engines, migrations
from todo_data.impact import impact
from todo_data.sample import load_sample

CHANGES_UP = """
with op.batch_alter_table("task") as batch_op:
    batch_op.drop_column("description")
    batch_op.alter_column("title", existing_type=sa.String(200), type_=sa.String(20))
    batch_op.create_unique_constraint("uq_task_title", ["title"])
    batch_op.create_check_constraint("priority_known", "priority IN ('low', 'medium', 'high')")
    batch_op.create_foreign_key("fk_task_user_again", "users", ["user_id"], ["id"])
with op.batch_alter_table("users") as batch_op:
    batch_op.alter_column("name", existing_type=sa.String(255), nullable=False)
"""
CHANGES_DOWN = """
with op.batch_alter_table("users") as batch_op:
    batch_op.alter_column("name", existing_type=sa.String(255), nullable=True)
with op.batch_alter_table("task") as batch_op:
    batch_op.drop_constraint("fk_task_user_again", type_="foreignkey")
    batch_op.drop_constraint("ck_task_priority_known", type_="check")
    batch_op.drop_constraint("uq_task_title", type_="unique")
    batch_op.alter_column("title", existing_type=sa.String(20), type_=sa.String(200))
    batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
"""
DROP_DESCRIPTION = """
with op.batch_alter_table("task") as batch_op:
    batch_op.drop_column("description")
"""
ADD_DESCRIPTION = """
with op.batch_alter_table("task") as batch_op:
    batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
"""
MEASURE = """
import dataclasses, json, sys
from todo_data.impact import impact
found = impact(sys.argv[1] if len(sys.argv) > 1 else {url!r})
print(json.dumps([{{**{{k: v for k, v in dataclasses.asdict(f).items() if k != "detail"}}, "examples": list(f.examples)}} for f in found], default=str))
"""


def fingerprint(url: URL) -> str:
    """Every table's schema and rows, hashed: what a read-only measurement must leave as it was."""
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database or "") as connection:
            return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            run = connection.exec_driver_sql
            tables = [name for (name,) in run("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
            parts = [
                str(
                    run(
                        "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns "
                        "WHERE table_schema = 'public' ORDER BY 1, 2"
                    ).all()
                ),
                str(
                    run(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1"
                    ).all()
                ),
            ]
            parts += [
                str(run(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{t}\" t").one())
                for t in tables
            ]
            return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    finally:
        engine.dispose()


def scalar(url: URL, sql: str) -> object:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql(sql).scalar()
    finally:
        engine.dispose()


def ids(url: URL, sql: str) -> list[object]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()


def planted(make_database: Callable[[str], URL], backend: str) -> URL:
    """A database at head with sample rows and the problems each rule looks for planted in them."""
    url = make_database(backend)
    migrations.upgrade(url)
    load_sample(url, users=12, tasks=150, seed=3, progress=False)
    dispose_engines()
    if backend == "postgresql":
        run_sql(url, "ALTER TABLE task DROP CONSTRAINT fk_task_user_id_users")  # so orphans can exist for the new key to meet
    orphaned = ids(url, "SELECT user_id FROM task GROUP BY user_id ORDER BY count(*), user_id LIMIT 1")[0]
    run_sql(
        url,
        "UPDATE task SET priority = 'urgent' WHERE id IN (3, 7, 11, 19)",
        "UPDATE task SET title = 'Same title' WHERE id IN (20, 21, 22)",
        "UPDATE task SET description = NULL WHERE id % 4 = 0",
        "UPDATE users SET name = NULL WHERE id IN (SELECT id FROM users ORDER BY id LIMIT 2)",
        f"DELETE FROM users WHERE id = '{orphaned}'",  # SQLite: plain connections do not enforce foreign keys
    )
    return url


def by_rule(found: list[dict]) -> dict[str, dict]:
    return {item["rule"]: item for item in found if item["severity"] != "info"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_each_rule_counts_what_the_revision_meets_and_nothing_changes(backend: str, make_database, tmp_path: Path) -> None:
    if backend == "postgresql":
        from conftest import require_pg

        require_pg()
    url = planted(make_database, backend)
    project = ProjectCopy.make(tmp_path)
    project.add_revision(CHANGES_UP, CHANGES_DOWN)
    before = fingerprint(url)

    found = by_rule(project.python(MEASURE.format(url=url.render_as_string(hide_password=False))))

    assert fingerprint(url) == before, "the measurement is read-only"
    assert set(found) == {"dropped-column", "narrower-type", "unique", "check", "foreign-key", "not-null", "downgrade-cannot-restore"}
    assert all(item["revision"] == "005" for item in found.values())

    described = ids(url, "SELECT id FROM task WHERE description IS NOT NULL ORDER BY id")
    dropped = found["dropped-column"]
    assert (dropped["severity"], dropped["table"], dropped["column"]) == ("data-loss", "task", "description")
    assert dropped["count"] == len(described) and dropped["examples"] == described[:5]
    assert not dropped["acknowledged"] and "acknowledge_data_loss" in dropped["fix"]

    restore = found["downgrade-cannot-restore"]
    assert restore["count"] == len(described) and restore["column"] == "description"

    long_titles = ids(url, "SELECT id FROM task WHERE length(title) > 20 ORDER BY id")
    narrower = found["narrower-type"]
    assert narrower["count"] == len(long_titles) > 0 and narrower["examples"] == long_titles[:5]
    assert narrower["severity"] == "fails", "SQLite keeps values longer than VARCHAR(n): the schema would lie, so it is refused too"
    assert ("would keep them as they are" in narrower["message"]) == (backend == "sqlite")

    duplicated = ids(url, "SELECT id FROM task WHERE title IN (SELECT title FROM task GROUP BY title HAVING count(*) > 1) ORDER BY id")
    assert found["unique"]["count"] == len(duplicated) >= 3 and found["unique"]["examples"] == duplicated[:5]

    violating = ids(url, "SELECT id FROM task WHERE priority NOT IN ('low', 'medium', 'high') ORDER BY id")
    assert found["check"]["count"] == len(violating) >= 4 and found["check"]["examples"] == violating[:5]

    orphans = ids(url, "SELECT id FROM task WHERE user_id NOT IN (SELECT id FROM users) ORDER BY id")
    assert found["foreign-key"]["count"] == len(orphans) > 0 and found["foreign-key"]["examples"] == orphans[:5]

    nameless = ids(url, "SELECT id FROM users WHERE name IS NULL ORDER BY id")
    assert found["not-null"]["count"] == len(nameless) >= 2 and found["not-null"]["examples"] == nameless[:5]


def test_a_database_at_head_has_nothing_to_measure(head_url: URL) -> None:
    assert impact(head_url) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_plan_strict_fails_on_data_loss_unless_the_revision_acknowledges_it(backend: str, make_database, tmp_path: Path) -> None:
    if backend == "postgresql":
        from conftest import require_pg

        require_pg()
    url = make_database(backend)
    migrations.upgrade(url)
    load_sample(url, users=5, tasks=40, seed=1, progress=False)
    dispose_engines()
    text = url.render_as_string(hide_password=False)
    described = int(scalar(url, "SELECT count(*) FROM task WHERE description IS NOT NULL"))
    project = ProjectCopy.make(tmp_path)
    project.add_revision(DROP_DESCRIPTION, ADD_DESCRIPTION)
    before = fingerprint(url)

    strict = project.cli("db", "plan", "--strict", "--database-url", text)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert f"drops task.description, which holds {described:,} non-null values" in strict.stdout
    assert "Data impact" in strict.stdout.split("Migration safety report")[0], "the impact comes above the lock trace"
    assert project.cli("db", "plan", "--database-url", text).returncode == 0, "without --strict the plan only reports"

    project.add_revision(DROP_DESCRIPTION, ADD_DESCRIPTION, header='acknowledge_data_loss = ["task.description"]')
    acknowledged = project.cli("db", "plan", "--strict", "--database-url", text)
    assert acknowledged.returncode == 0, acknowledged.stdout + acknowledged.stderr
    assert "[acknowledged by the revision]" in acknowledged.stdout
    assert fingerprint(url) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_downgrade_refuses_to_destroy_stored_data_without_the_flag(backend: str, make_database, tmp_path: Path) -> None:
    if backend == "postgresql":
        from conftest import require_pg

        require_pg()
    url = make_database(backend)
    migrations.upgrade(url)
    load_sample(url, users=5, tasks=40, seed=1, progress=False)
    dispose_engines()
    text = url.render_as_string(hide_password=False)
    dependencies = int(scalar(url, "SELECT count(*) FROM task_relationships"))
    assert dependencies > 0
    project = ProjectCopy.make(tmp_path)
    before = fingerprint(url)

    refused = project.cli("db", "downgrade", "002", "--database-url", text)
    assert refused.returncode == 1
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("todo-data: error: ")
    assert f"drops table task_relationships, which holds {dependencies} rows" in lines[0] and "--accept-data-loss" in lines[0]
    assert fingerprint(url) == before

    assert project.cli("db", "downgrade", "003", "--database-url", text).returncode == 0, "a downgrade that keeps the data runs"
    accepted = project.cli("db", "downgrade", "002", "--accept-data-loss", "--database-url", text)
    assert accepted.returncode == 0, accepted.stderr
    assert "revision: 003 -> 002" in accepted.stdout


def refused_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("todo-data: error: "), result.stdout + result.stderr
    return lines[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_refuses_steps_the_stored_data_does_not_fit_and_changes_nothing(backend: str, make_database, tmp_path: Path) -> None:
    if backend == "postgresql":
        from conftest import require_pg

        require_pg()
    url = planted(make_database, backend)
    text = url.render_as_string(hide_password=False)
    project = ProjectCopy.make(tmp_path)
    project.add_revision(CHANGES_UP, CHANGES_DOWN, header='acknowledge_data_loss = ["task.description"]')
    before = fingerprint(url)

    line = refused_line(project.cli("db", "upgrade", "--database-url", text))

    assert fingerprint(url) == before and migrations.current(url) == ("004",), "nothing ran"
    long_titles = len(ids(url, "SELECT id FROM task WHERE length(title) > 20"))
    nameless = len(ids(url, "SELECT id FROM users WHERE name IS NULL"))
    violating = len(ids(url, "SELECT id FROM task WHERE priority NOT IN ('low', 'medium', 'high')"))
    orphans = len(ids(url, "SELECT id FROM task WHERE user_id NOT IN (SELECT id FROM users)"))
    assert "The upgrade to head was refused and nothing was changed: the stored data does not fit it" in line
    assert f"{long_titles} stored values do not fit (longer than 20 characters)" in line
    assert f"{nameless} rows hold NULL there" in line and f"but {violating} rows violate it" in line
    assert (f"{orphans} rows reference" if orphans != 1 else "1 row references") + " no users row" in line
    assert "rows share their values" in line and "fix the data first" in line
    assert "destroy" not in line, "the revision acknowledges the dropped description"
    assert refused_line(project.cli("db", "upgrade", "--accept-data-loss", "--database-url", text)) == line, (
        "no flag runs a step that fails"
    )
    assert fingerprint(url) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_refuses_unacknowledged_data_loss_unless_told(backend: str, make_database, tmp_path: Path) -> None:
    if backend == "postgresql":
        from conftest import require_pg

        require_pg()
    url = make_database(backend)
    migrations.upgrade(url)
    load_sample(url, users=5, tasks=40, seed=1, progress=False)
    dispose_engines()
    text = url.render_as_string(hide_password=False)
    described = int(scalar(url, "SELECT count(*) FROM task WHERE description IS NOT NULL"))
    project = ProjectCopy.make(tmp_path)
    project.add_revision(DROP_DESCRIPTION, ADD_DESCRIPTION)
    before = fingerprint(url)

    line = refused_line(project.cli("db", "upgrade", "--database-url", text))
    assert f"it would destroy stored data (005 data-loss dropped-column: drops task.description, which holds {described} non-null" in line
    assert 'acknowledge_data_loss = ["task.description"]' in line and "--accept-data-loss" in line
    assert fingerprint(url) == before and migrations.current(url) == ("004",)

    accepted = project.cli("db", "upgrade", "--accept-data-loss", "--database-url", text)
    assert accepted.returncode == 0 and "revision: 004 -> 005" in accepted.stdout, accepted.stderr
    assert project.cli("db", "downgrade", "004", "--database-url", text).returncode == 0, "the downgrade adds the column back"
    run_sql(url, "UPDATE task SET description = 'again' WHERE id % 2 = 0")
    project.add_revision(DROP_DESCRIPTION, ADD_DESCRIPTION, header='acknowledge_data_loss = ["task.description"]')
    acknowledged = project.cli("db", "upgrade", "--database-url", text)
    assert acknowledged.returncode == 0 and "revision: 004 -> 005" in acknowledged.stdout, acknowledged.stderr


STEPS = """
from todo_data.revision.steps import backfill, set_not_null
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_db_revisions_backfill_and_set_not_null_are_measured(backend: str, make_database, tmp_path: Path) -> None:
    """The steps ``db revision`` writes for a NOT NULL column: a backfill with a value leaves no NULL for set_not_null;
    set_not_null with no backfill counts the NULLs (every row of a new column); a backfill with no value stops the upgrade."""
    if backend == "postgresql":
        from conftest import require_pg

        require_pg()
    url = planted(make_database, backend)
    project = ProjectCopy.make(tmp_path)
    measure = MEASURE.format(url=url.render_as_string(hide_password=False))
    add_size = """
    with op.batch_alter_table("task") as batch_op:
        batch_op.add_column(sa.Column("size", sa.Integer(), nullable=True))
    """
    drop_size = """
    with op.batch_alter_table("task") as batch_op:
        batch_op.drop_column("size")
    """
    tasks = int(scalar(url, "SELECT count(*) FROM task"))
    nameless = ids(url, "SELECT id FROM users WHERE name IS NULL ORDER BY id")

    project.add_revision(add_size + '\nbackfill("task", "size", 3)\nset_not_null("task", "size")', drop_size, header=STEPS)
    found = [item for item in project.python(measure) if item["rule"] != "downgrade-cannot-restore"]
    assert found == [], "a backfilled column meets no NULL, and the steps are not unmeasured SQL"

    project.add_revision(add_size + '\nset_not_null("task", "size")\nset_not_null("users", "name")', drop_size, header=STEPS)
    found = [item for item in project.python(measure) if item["rule"] != "downgrade-cannot-restore"]
    assert [(item["rule"], item["severity"], item["table"], item["column"], item["count"]) for item in found] == [
        ("not-null", "fails", "task", "size", tasks),
        ("not-null", "fails", "users", "name", len(nameless)),
    ]
    assert found[1]["examples"] == nameless[:5] and 'backfill("users", "name", VALUE)' in found[1]["fix"]

    project.add_revision(add_size + '\nbackfill("task", "size", None)\nset_not_null("task", "size")', drop_size, header=STEPS)
    found = [item for item in project.python(measure) if item["rule"] != "downgrade-cannot-restore"]
    assert [(item["rule"], item["severity"], item["count"]) for item in found] == [("not-null", "fails", tasks)]
    assert "with no value" in found[0]["message"] and 'backfill("task", "size", None)' in found[0]["fix"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_step_after_unmeasured_sql_is_a_warning_and_the_upgrade_runs(backend: str, make_database, tmp_path: Path) -> None:
    """The fix says "shorten those values first in the revision": a revision that does so is not refused for what its
    own SQL corrects before the step."""
    if backend == "postgresql":
        from conftest import require_pg

        require_pg()
    url = planted(make_database, backend)
    text = url.render_as_string(hide_password=False)
    project = ProjectCopy.make(tmp_path)
    narrow = """
    op.execute("UPDATE task SET title = substr(title, 1, 20) WHERE length(title) > 20")
    with op.batch_alter_table("task") as batch_op:
        batch_op.alter_column("title", existing_type=sa.String(200), type_=sa.String(20))
    """
    widen = """
    with op.batch_alter_table("task") as batch_op:
        batch_op.alter_column("title", existing_type=sa.String(20), type_=sa.String(200))
    """
    project.add_revision(narrow, widen)
    found = {item["rule"]: item for item in project.python(MEASURE.format(url=text))}
    assert found["narrower-type"]["severity"] == "warning" and "not measured" in found["narrower-type"]["message"]

    upgraded = project.cli("db", "upgrade", "--database-url", text)
    assert upgraded.returncode == 0, upgraded.stderr
    assert scalar(url, "SELECT max(length(title)) FROM task") == 20


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_cast_to_an_integer_counts_the_values_that_are_not_integers(backend: str, make_database, tmp_path: Path) -> None:
    if backend == "postgresql":
        from conftest import require_pg

        require_pg()
    url = planted(make_database, backend)
    text = url.render_as_string(hide_password=False)
    run_sql(url, "UPDATE task SET priority = '12' WHERE id % 3 = 0", "UPDATE task SET priority = ' -4 ' WHERE id % 7 = 0")
    project = ProjectCopy.make(tmp_path)
    to_integer = """
    with op.batch_alter_table("task") as batch_op:
        batch_op.alter_column("priority", existing_type=sa.String(20), type_=sa.Integer(), postgresql_using="priority::integer")
    """
    back = """
    with op.batch_alter_table("task") as batch_op:
        batch_op.alter_column("priority", existing_type=sa.Integer(), type_=sa.String(20))
    """
    project.add_revision(to_integer, back)
    before = fingerprint(url)
    words = ids(url, "SELECT id FROM task WHERE priority IS NOT NULL AND priority NOT IN ('12', ' -4 ') ORDER BY id")

    found = by_rule(project.python(MEASURE.format(url=text)))

    cast = found["narrower-type"]
    assert (cast["severity"], cast["column"], cast["count"]) == ("fails", "priority", len(words)) and len(words) > 10
    assert cast["examples"] == words[:5] and "(not an integer)" in cast["message"]
    assert ("would keep them as they are, text under the type says" in cast["message"]) == (backend == "sqlite")
    line = refused_line(project.cli("db", "upgrade", "--database-url", text))
    assert f"{len(words)} stored values do not fit (not an integer)" in line
    assert fingerprint(url) == before


def test_the_migrations_notebook_refuses_to_apply_what_db_upgrade_refuses(make_database, tmp_path: Path) -> None:
    """02-migrations with apply=True asks the same question as db upgrade before it upgrades (on PostgreSQL: the
    notebook prints each pending revision's offline SQL, which a SQLite batch rebuild cannot give, docs/authoring.md)."""
    import shutil
    import subprocess
    import sys

    from conftest import require_pg

    require_pg()
    url = planted(make_database, "postgresql")
    text = url.render_as_string(hide_password=False)
    project = ProjectCopy.make(tmp_path)
    shutil.copytree(Path(__file__).resolve().parent.parent / "notebooks", project.root / "notebooks")
    project.add_revision(
        'with op.batch_alter_table("task") as batch_op:\n    batch_op.alter_column("title", existing_type=sa.String(200), type_=sa.String(20))',
        'with op.batch_alter_table("task") as batch_op:\n    batch_op.alter_column("title", existing_type=sa.String(20), type_=sa.String(200))',
    )
    long_titles = len(ids(url, "SELECT id FROM task WHERE length(title) > 20"))
    before = fingerprint(url)
    out = tmp_path / "out.ipynb"
    papermill = Path(sys.executable).parent / "papermill"
    notebook = project.root / "notebooks" / "02-migrations.ipynb"
    parameters = ["-p", "database_url", text, "-p", "apply", "True", "-p", "trace", "False"]
    result = subprocess.run(
        [str(papermill), str(notebook), str(out), *parameters, "--cwd", str(project.root / "notebooks"), "--no-progress-bar"],
        capture_output=True,
        text=True,
        env=project.environment(),
        check=False,
        timeout=300,
    )
    assert result.returncode != 0
    assert "The upgrade to head was refused and nothing was changed" in out.read_text()
    assert f"{long_titles} stored values do not fit (longer than 20 characters)" in out.read_text()
    assert fingerprint(url) == before and migrations.current(url) == ("004",)
