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


@pytest.fixture
def sampled(make_database) -> Callable[..., URL]:
    """Factory: ``sampled(backend, users=5, tasks=40, seed=1)``, a new database at head holding that sample (PostgreSQL
    skipped when no server answers)."""

    def make(backend: str, users: int = 5, tasks: int = 40, seed: int = 1) -> URL:
        if backend == "postgresql":
            from conftest import require_pg

            require_pg()
        url = make_database(backend)
        migrations.upgrade(url)
        load_sample(url, users=users, tasks=tasks, seed=seed, progress=False)
        dispose_engines()
        return url

    return make


def planted(sampled: Callable[..., URL], backend: str) -> URL:
    """A database at head with sample rows and the problems each rule looks for planted in them."""
    url = sampled(backend, users=12, tasks=150, seed=3)
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
def test_each_rule_counts_what_the_revision_meets_and_nothing_changes(backend: str, sampled, tmp_path: Path) -> None:
    url = planted(sampled, backend)
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
def test_plan_strict_fails_on_data_loss_unless_the_revision_acknowledges_it(backend: str, sampled, tmp_path: Path) -> None:
    url = sampled(backend)
    text = url.render_as_string(hide_password=False)
    described = int(scalar(url, "SELECT count(*) FROM task WHERE description IS NOT NULL"))
    project = ProjectCopy.make(tmp_path)
    project.add_revision(DROP_DESCRIPTION, ADD_DESCRIPTION)
    before = fingerprint(url)

    strict = project.cli("db", "plan", "--strict", "--database-url", text)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert f"drops task.description, which holds {described:,} non-null values" in strict.stdout
    assert "Data impact" in strict.stdout.split("Migration safety report")[0], "the impact comes above the lock trace"
    why = [line for line in strict.stderr.splitlines() if line.startswith("todo-data: db plan --strict fails on ")]
    assert len(why) == 1 and "(005 dropped-column task.description)" in why[0], strict.stderr
    assert project.cli("db", "plan", "--database-url", text).returncode == 0, "without --strict the plan only reports"

    project.add_revision(DROP_DESCRIPTION, ADD_DESCRIPTION, header='acknowledge_data_loss = ["task.description"]')
    acknowledged = project.cli("db", "plan", "--strict", "--database-url", text)
    assert acknowledged.returncode == 0, acknowledged.stdout + acknowledged.stderr
    assert "[acknowledged by the revision]" in acknowledged.stdout
    assert fingerprint(url) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_downgrade_refuses_to_destroy_stored_data_without_the_flag(backend: str, sampled, tmp_path: Path) -> None:
    url = sampled(backend)
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
def test_upgrade_refuses_steps_the_stored_data_does_not_fit_and_changes_nothing(backend: str, sampled, tmp_path: Path) -> None:
    url = planted(sampled, backend)
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
    assert "rows share their values" in line and "fix the data (" in line
    assert "destroy" not in line, "the revision acknowledges the dropped description"
    assert refused_line(project.cli("db", "upgrade", "--accept-data-loss", "--database-url", text)) == line, (
        "no flag runs a step that fails"
    )
    assert fingerprint(url) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_refuses_unacknowledged_data_loss_unless_told(backend: str, sampled, tmp_path: Path) -> None:
    url = sampled(backend)
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
def test_db_revisions_backfill_and_set_not_null_are_measured(backend: str, sampled, tmp_path: Path) -> None:
    """The steps ``db revision`` writes for a NOT NULL column: a backfill with a value leaves no NULL for set_not_null;
    set_not_null with no backfill counts the NULLs (every row of a new column); a backfill with no value stops the upgrade."""
    url = planted(sampled, backend)
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
def test_a_step_after_unmeasured_sql_is_a_warning_and_the_upgrade_runs(backend: str, sampled, tmp_path: Path) -> None:
    """The fix says "shorten those values first in the revision": a revision that does so is not refused for what its
    own SQL corrects before the step."""
    url = planted(sampled, backend)
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
def test_a_cast_to_an_integer_counts_the_values_that_are_not_integers(backend: str, sampled, tmp_path: Path) -> None:
    url = planted(sampled, backend)
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
    severity = "data-loss" if backend == "sqlite" else "fails"
    assert (cast["severity"], cast["column"], cast["count"]) == (severity, "priority", len(words)) and len(words) > 10
    assert cast["examples"] == words[:5]
    words_said = "(changed by CAST(priority AS INTEGER))" if backend == "sqlite" else "(not an integer the type holds)"
    assert words_said in cast["message"]
    assert ("SQLite would not refuse them: the batch copy stores what CAST(priority AS INTEGER) gives" in cast["message"]) == (
        backend == "sqlite"
    )
    line = refused_line(project.cli("db", "upgrade", "--database-url", text))
    assert f"{len(words)} stored values do not fit {words_said}" in line
    if backend == "sqlite":
        assert "it would destroy stored data" in line and 'acknowledge_data_loss = ["task.priority"]' in line
    assert fingerprint(url) == before


def test_the_migrations_notebook_refuses_to_apply_what_db_upgrade_refuses(sampled, tmp_path: Path) -> None:
    """02-migrations with apply=True asks the same question as db upgrade before it upgrades (on PostgreSQL: the
    notebook prints each pending revision's offline SQL, which a SQLite batch rebuild cannot give, docs/authoring.md)."""
    import shutil
    import subprocess
    import sys

    url = planted(sampled, "postgresql")
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


# --- casts: text (or a number) to another kind of type -----------------------------------------------------------------

# kind: the new type as a revision writes it, PostgreSQL's name for it (USING), values its cast accepts, values it refuses
CASTS = {
    "date": ("sa.Date()", "date", ["2020-01-05", " 2021-12-31 ", "2024-02-29", "January 5, 2020"], ["2021-02-29", "soon", "2020-13-01"]),
    "timestamp": (
        "sa.DateTime()",
        "timestamp",
        ["2020-01-05 10:30:00", "2020-01-05T23:59:59.5", "2020-01-05"],
        ["2020-01-05 25:00", "later"],
    ),
    "timestamptz": (
        "sa.DateTime(timezone=True)",
        "timestamptz",
        ["2020-01-05 10:30:00+02", "2020-01-05T10:30Z", "2020-01-05 24:00:00"],
        ["2020-01-05 10:30 +99:99", "tomorrow-ish"],
    ),
    "time": ("sa.Time()", "time", ["10:30", " 23:59:59.123 ", "24:00"], ["24:01", "10h30"]),
    "boolean": ("sa.Boolean()", "boolean", ["true", "  YES ", "f", "Off", "1", "0", "tr"], ["maybe", "2", "", "o"]),
    "numeric": ("sa.Numeric(6, 2)", "numeric(6,2)", ["12.5", " -3 ", "1e2", ".5", "1234.560", "NaN"], ["12,5", "123456", "abc"]),
    "float": ("sa.Float()", "float", ["1e3", " -Infinity ", "NaN", "3.25", "1e308"], ["1e400", "one", "1.2.3"]),
    "integer": ("sa.Integer()", "integer", ["12", " -4 ", "+7", "2147483647"], ["2147483648", "1.5", "1e3", "x"]),
    "uuid": (
        "sa.Uuid()",
        "uuid",
        ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "A0EEBC999C0B4EF8BB6D6BB9BD380A11"],
        ["a0eebc99-9c0b", " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
    ),
}


def cast_revision(project: ProjectCopy, new_type: str, using: str) -> None:
    """A revision that changes task.description (TEXT) to ``new_type`` (on PostgreSQL through the expression ``using``)."""
    project.add_revision(
        f"""
        with op.batch_alter_table("task") as batch_op:
            batch_op.alter_column("description", existing_type=sa.Text(), type_={new_type}, postgresql_using="{using}")
        """,
        """
        with op.batch_alter_table("task") as batch_op:
            batch_op.alter_column("description", existing_type=sa.Text(), type_=sa.Text(), postgresql_using="description::text")
        """,
    )


def stored(url: URL, values: list[str]) -> dict[str, list[int]]:
    """Write ``values`` into task.description of the first tasks (each value in two rows, the rest NULL): task ids per value."""
    tasks = [int(value) for value in ids(url, "SELECT id FROM task ORDER BY id")]
    where: dict[str, list[int]] = {}
    statements = ["UPDATE task SET description = NULL"]
    for position, value in enumerate(values * 2):
        statements.append(f"UPDATE task SET description = '{value}' WHERE id = {tasks[position * 2]}")
        where.setdefault(value, []).append(tasks[position * 2])
    run_sql(url, *statements)
    return where


def narrowing(url: URL, project: ProjectCopy, monkeypatch: pytest.MonkeyPatch) -> list:
    monkeypatch.setattr("sys.dont_write_bytecode", True)  # each case rewrites 005 in the same second: no stale .pyc
    return [item for item in impact(url, script_location=project.root / "alembic") if item.rule == "narrower-type"]


@pytest.mark.parametrize("kind", sorted(CASTS))
def test_postgresql_counts_the_values_its_cast_refuses_as_a_real_alter_does(kind: str, sampled, tmp_path: Path, monkeypatch) -> None:
    url = sampled("postgresql", tasks=60)
    new_type, using, fitting, refused = CASTS[kind]
    project = ProjectCopy.make(tmp_path)
    cast_revision(project, new_type, f"description::{using}")
    where = stored(url, fitting + refused)
    before = fingerprint(url)

    found = narrowing(url, project, monkeypatch)

    assert fingerprint(url) == before
    failing = sorted(task for value in refused for task in where[value])
    assert [(item.severity, item.column, item.count, list(item.examples)) for item in found] == [
        ("fails", "description", len(failing), failing[:5])
    ]
    alter = f"ALTER TABLE task ALTER COLUMN description TYPE {using} USING description::{using}"
    with pytest.raises(sa.exc.DataError):
        run_sql(url, alter)  # a real ALTER fails on them (one transaction, rolled back)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            connection.exec_driver_sql(f"UPDATE task SET description = NULL WHERE id IN ({', '.join(map(str, failing))})")
            connection.exec_driver_sql(alter)  # and runs without them
            transaction.rollback()
    finally:
        engine.dispose()

    stored(url, fitting)
    assert narrowing(url, project, monkeypatch) == [], "values the cast accepts give no finding"


def test_postgresql_patterns_vouch_only_for_text_its_casts_accept(sampled) -> None:
    """The patterns pick the values not tried by a real cast: every value a pattern accepts must cast (fuzzed)."""
    import random

    from todo_data.backends.postgresql.measure import accepted_pattern

    url = sampled("postgresql")
    rng = random.Random(17)
    alphabet = "0123456789-+.:eE TZtrufalsyonTRUEFALSYON{}abcdef\t"
    seeds = [value for _type, _using, fitting, refused in CASTS.values() for value in fitting + refused]
    values = seeds + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(20000)]
    values += ["".join(rng.choice(seed + alphabet[:12]) for _ in seed) for seed in seeds * 200]  # near-misses of real forms
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    types = [sa.Date(), sa.DateTime(), sa.DateTime(timezone=True), sa.Time(), sa.Boolean(), sa.Float(), sa.Uuid()]
    types += [sa.Integer(), sa.SmallInteger(), sa.BigInteger(), sa.Numeric(), sa.Numeric(6, 2), sa.Numeric(2, 2), sa.Numeric(5, 0)]
    try:
        with engine.connect() as connection:
            for kind in types:
                pattern, _words = accepted_pattern(kind)
                operator = "~*" if kind.__class__ is sa.Boolean else "~"
                name = kind.compile(dialect=connection.dialect)
                vouched = (
                    connection.execute(
                        sa.text(f"SELECT v FROM unnest(CAST(:values AS text[])) AS v WHERE v {operator} :pattern"),
                        {"values": values, "pattern": pattern},
                    )
                    .scalars()
                    .all()
                )
                assert vouched, name
                connection.execute(
                    sa.text(f"SELECT count(CAST(v AS {name})) FROM unnest(CAST(:values AS text[])) AS v"), {"values": vouched}
                )
    finally:
        engine.dispose()


def kept(kind: str, text: str, raw: object, read: object) -> bool:
    """Whether the value a real migration left (``raw`` as stored, ``read`` through SQLAlchemy's new type) is ``text``'s."""
    import datetime
    import decimal
    import uuid

    try:
        if kind in ("date", "timestamp", "timestamptz", "time"):
            return isinstance(read, datetime.date | datetime.time)
        if kind == "boolean":
            return text.strip() in ("0", "1") and read is (text.strip() == "1")
        if kind == "integer":
            return int(text) == raw
        if kind == "float":
            return float(text) == raw
        if kind == "uuid":
            return isinstance(read, uuid.UUID)
        return decimal.Decimal(text.strip()) == decimal.Decimal(repr(raw))
    except (ValueError, decimal.InvalidOperation):
        return False


@pytest.mark.parametrize("kind", sorted(CASTS))
def test_sqlite_counts_the_values_its_batch_copy_does_not_keep(kind: str, sampled, tmp_path: Path, monkeypatch) -> None:
    """SQLite refuses no value: Alembic's batch copy stores CAST(description AS NEW) in the new table. What that does is
    read back after a real migration of a copy of the file: the finding counts exactly the values it does not keep."""
    import shutil

    url = sampled("sqlite", tasks=60)
    new_type, using, fitting, refused = CASTS[kind]
    project = ProjectCopy.make(tmp_path)
    cast_revision(project, new_type, f"description::{using}")
    where = stored(url, fitting + refused)
    before = fingerprint(url)

    found = narrowing(url, project, monkeypatch)

    assert fingerprint(url) == before
    copy = url.set(database=str(tmp_path / "migrated.db"))
    shutil.copy(url.database or "", copy.database or "")
    migrated = project.cli("db", "upgrade", "--accept-data-loss", "--database-url", copy.render_as_string(hide_password=False))
    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(copy.database or "") as connection:
        raw = dict(connection.execute("SELECT id, description FROM task").fetchall())
    column = sa.Column("description", eval(new_type, {"sa": sa}))
    table = sa.Table("task", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), column)
    engine = sa.create_engine(copy, poolclass=sa.pool.NullPool)
    read: dict[int, object] = {}
    with engine.connect() as connection:
        for task in raw:
            try:
                read[task] = connection.execute(sa.select(table.c.description).where(table.c.id == task)).scalar()
            except (TypeError, ValueError) as exc:
                read[task] = exc
    engine.dispose()
    lost = sorted(task for value, tasks in where.items() for task in tasks if not kept(kind, value, raw[task], read[task]))
    assert lost, "each case has values the batch copy does not keep"
    assert [(item.severity, item.count, list(item.examples)) for item in found] == [("data-loss", len(lost), lost[:5])]
    assert "SQLite would not refuse them: the batch copy" in found[0].message
    assert "acknowledge_data_loss" in found[0].fix

    keeping = [value for value in fitting + refused if all(task not in lost for task in where[value])]
    if keeping:
        stored(url, keeping)
        assert narrowing(url, project, monkeypatch) == [], f"values the batch copy keeps give no finding: {keeping}"


@pytest.mark.parametrize("source", ["NUMERIC(12, 2)", "FLOAT"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_number_cast_to_an_integer_counts_the_fractions_it_loses(backend: str, source: str, sampled, tmp_path: Path, monkeypatch) -> None:
    """PostgreSQL rounds a fraction away silently (data-loss) and fails on what an integer cannot hold; SQLite's batch
    copy cuts the fraction off and keeps what a 64-bit integer holds. Checked against a real migration of a copy."""
    import shutil

    url = sampled(backend)
    tasks = [int(value) for value in ids(url, "SELECT id FROM task ORDER BY id")]
    values = ["3", "2.5", "-1.25", "7", "9999999999", "0.5"] + (
        ["'NaN'", "'Infinity'"] if backend == "postgresql" and source == "FLOAT" else []
    )
    run_sql(
        url,
        f"ALTER TABLE task ADD COLUMN estimate {source}",
        *(f"UPDATE task SET estimate = {value} WHERE id IN ({tasks[n]}, {tasks[n + 20]})" for n, value in enumerate(values)),
    )
    where = {value: sorted([tasks[n], tasks[n + 20]]) for n, value in enumerate(values)}
    project = ProjectCopy.make(tmp_path)
    project.add_revision(
        f"""
        with op.batch_alter_table("task") as batch_op:
            batch_op.alter_column("estimate", existing_type=sa.{"Numeric(12, 2)" if source != "FLOAT" else "Float()"}, type_=sa.Integer())
        """
    )
    before = fingerprint(url)

    found = {item.severity: item for item in narrowing(url, project, monkeypatch)}

    assert fingerprint(url) == before
    fractions = sorted(task for value in ("2.5", "-1.25", "0.5") for task in where[value])
    if backend == "sqlite":
        assert set(found) == {"data-loss"}
        assert (found["data-loss"].count, list(found["data-loss"].examples)) == (len(fractions), fractions[:5])
        copy = url.set(database=str(tmp_path / "migrated.db"))
        shutil.copy(url.database or "", copy.database or "")
        migrated = project.cli("db", "upgrade", "--accept-data-loss", "--database-url", copy.render_as_string(hide_password=False))
        assert migrated.returncode == 0, migrated.stderr
        with sqlite3.connect(url.database or "") as old, sqlite3.connect(copy.database or "") as new:
            read = "SELECT id, estimate FROM task WHERE estimate IS NOT NULL"
            changed = sorted(set(old.execute(read).fetchall()) - set(new.execute(read).fetchall()))
        assert [task for task, _value in changed] == fractions, "the finding counts exactly what the migration changed"
        return
    outside = sorted(task for value in ("9999999999", "'NaN'", "'Infinity'") if value in where for task in where[value])
    assert (found["fails"].count, list(found["fails"].examples)) == (len(outside), outside[:5])
    assert (found["data-loss"].count, list(found["data-loss"].examples)) == (len(fractions), fractions[:5])
    assert "round away" in found["data-loss"].message and "acknowledge_data_loss" in found["data-loss"].fix
    alter = "ALTER TABLE task ALTER COLUMN estimate TYPE integer"
    with pytest.raises(sa.exc.DataError):
        run_sql(url, alter)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            read = "SELECT id, estimate::numeric FROM task WHERE estimate IS NOT NULL"
            connection.exec_driver_sql(f"UPDATE task SET estimate = NULL WHERE id IN ({', '.join(map(str, outside))})")
            kept = set(connection.exec_driver_sql(read).all())
            connection.exec_driver_sql(alter)
            changed = sorted(kept - set(connection.exec_driver_sql(read).all()))
            transaction.rollback()
    finally:
        engine.dispose()
    assert [task for task, _value in changed] == fractions, "the ALTER rounds exactly the values counted as lost"


@pytest.mark.parametrize("source", ["TEXT", "NUMERIC(12, 4)", "FLOAT", "NUMERIC"])
def test_postgresql_counts_the_decimals_a_smaller_scale_rounds_away(source: str, sampled, tmp_path: Path, monkeypatch) -> None:
    """NUMERIC(6, 2) keeps two decimals: PostgreSQL rounds the rest away silently (data-loss), from text, a larger or
    unbounded scale, or a float. Checked against a real ALTER: it changes exactly the counted values."""
    url = sampled("postgresql")
    tasks = [int(value) for value in ids(url, "SELECT id FROM task ORDER BY id")]
    values = ["2.5", "3.14159", "1.005", "12.50", "-0.125", "7", "12.3000", "0.001"]
    run_sql(
        url,
        f"ALTER TABLE task ADD COLUMN estimate {source}",
        *(f"UPDATE task SET estimate = '{value}' WHERE id IN ({tasks[n]}, {tasks[n + 20]})" for n, value in enumerate(values)),
    )
    existing = {"TEXT": "sa.Text()", "NUMERIC(12, 4)": "sa.Numeric(12, 4)", "FLOAT": "sa.Float()", "NUMERIC": "sa.Numeric()"}[source]
    project = ProjectCopy.make(tmp_path)
    project.add_revision(
        f"""
        with op.batch_alter_table("task") as batch_op:
            batch_op.alter_column("estimate", existing_type={existing}, type_=sa.Numeric(6, 2), postgresql_using="estimate::numeric(6,2)")
        """
    )
    before = fingerprint(url)

    found = narrowing(url, project, monkeypatch)

    assert fingerprint(url) == before
    rounded = sorted(
        task for value in ("3.14159", "1.005", "-0.125", "0.001") for task in (tasks[values.index(value)], tasks[values.index(value) + 20])
    )
    assert [(item.severity, item.count, list(item.examples)) for item in found] == [("data-loss", len(rounded), rounded[:5])]
    assert "more than 2 decimals: PostgreSQL would round them" in found[0].message and "acknowledge_data_loss" in found[0].fix
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            read = "SELECT id, estimate::numeric FROM task WHERE estimate IS NOT NULL"
            kept = set(connection.exec_driver_sql(read).all())
            connection.exec_driver_sql("ALTER TABLE task ALTER COLUMN estimate TYPE numeric(6,2) USING estimate::numeric(6,2)")
            changed = sorted(kept - set(connection.exec_driver_sql(read).all()))
            transaction.rollback()
    finally:
        engine.dispose()
    assert [task for task, _value in changed] == rounded, "the ALTER rounds exactly the values counted as lost"


def test_postgresql_without_using_or_with_its_own_using(sampled, tmp_path: Path, monkeypatch) -> None:
    """Text to another type without postgresql_using fails whatever the values (even on an empty table); a USING that is
    not a plain cast converts in its own way, which the measurement does not guess."""
    url = sampled("postgresql")
    project = ProjectCopy.make(tmp_path)
    project.add_revision(
        'with op.batch_alter_table("task") as batch_op:\n    batch_op.alter_column("description", existing_type=sa.Text(), type_=sa.Date())'
    )
    found = narrowing(url, project, monkeypatch)
    assert [(item.severity, item.count) for item in found] == [("fails", None)]
    assert "PostgreSQL refuses the change itself whatever the values" in found[0].message
    assert 'postgresql_using="description::date"' in found[0].fix
    with pytest.raises(sa.exc.ProgrammingError, match="cannot be cast automatically"):
        run_sql(url, "DELETE FROM task", "ALTER TABLE task ALTER COLUMN description TYPE date")

    cast_revision(project, "sa.Date()", "to_date(description, 'YYYY-MM-DD')")
    found = narrowing(url, project, monkeypatch)
    assert [(item.severity, item.count) for item in found] == [("info", None)] and "not a plain cast" in found[0].message


def test_postgresql_tries_at_most_so_many_distinct_values_and_says_the_count_is_an_upper_bound(sampled, tmp_path, monkeypatch) -> None:
    url = sampled("postgresql", tasks=60)
    new_type, using, fitting, refused = CASTS["date"]
    project = ProjectCopy.make(tmp_path)
    cast_revision(project, new_type, f"description::{using}")
    where = stored(url, fitting + refused)
    candidates = sorted(value for value in fitting + refused if value not in ("2020-01-05", " 2021-12-31 "))  # the pattern's
    monkeypatch.setattr("todo_data.impact.reader.TRIALS", 2)

    found = narrowing(url, project, monkeypatch)

    tried_refused = [value for value in candidates[:2] if value in refused]
    counted = sorted(task for value in tried_refused + candidates[2:] for task in where[value])
    assert [(item.severity, item.count, list(item.examples)) for item in found] == [("fails", len(counted), counted[:5])]
    assert f"at most {len(counted)} stored values do not fit (not a date)" in found[0].message
