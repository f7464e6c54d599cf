"""todo_data.trace: test-only revisions traced on real databases report the locks, rewrites and scans PostgreSQL
really makes (and what SQLite's batch mode does), and leave every database they read or trace unchanged."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import fill_seed_database
from sqlalchemy.engine import URL, make_url

from todo_data import dispose_engines, migrations
from todo_data.errors import ConfigurationError
from todo_data.sample import load_sample
from todo_data.settings import mask_url
from todo_data.trace import (
    LOCK_MODES,
    SCRATCH_PREFIX,
    STATEMENT_COLUMNS,
    TABLE_COLUMNS,
    TraceReport,
    blocked_operations,
    trace,
)

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Sup3r-s3cret-pw"

# Test-only revisions after the project's head: (message, body of upgrade()).
VOLATILE_DEFAULT = (
    "volatile default",
    'op.add_column("task", sa.Column("token", sa.Text(), server_default=sa.text("md5(random()::text)")))',
)
CONSTANT_DEFAULT = ("constant default", 'op.add_column("task", sa.Column("rank", sa.Integer(), server_default="0", nullable=False))')
INDEX = ("index", 'op.create_index("ix_task_title", "task", ["title"])')
INDEX_CONCURRENTLY = (
    "index concurrently",
    """
    with op.get_context().autocommit_block():
        op.create_index("ix_task_updated_at", "task", ["updated_at"], postgresql_concurrently=True)
    """,
)
TYPE_CHANGE = ("type change", 'op.alter_column("task", "priority", type_=sa.String(10), existing_type=sa.String(20))')
NOT_NULL = ("not null", 'op.alter_column("task", "priority", nullable=False, existing_type=sa.String(10))')
NOT_VALID = ("check not valid", 'op.execute("ALTER TABLE users ADD CONSTRAINT ck_users_email_present CHECK (email IS NOT NULL) NOT VALID")')
VALIDATE = ("validate check", 'op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_email_present")')


def write_revisions(tmp_path: Path, *revisions: tuple[str, str]) -> Path:
    """A copy of the project's alembic/ folder with ``revisions`` chained after its head as 005, 006, ..."""
    folder = tmp_path / "alembic"
    shutil.copytree(ROOT / "alembic", folder, ignore=shutil.ignore_patterns("__pycache__"))
    down = migrations.head()
    for number, (message, body) in enumerate(revisions, start=int(down) + 1):
        rev = f"{number:03d}"
        source = textwrap.dedent(
            f'''\
            """{message}"""

            import sqlalchemy as sa
            from alembic import op

            revision = "{rev}"
            down_revision = "{down}"
            branch_labels = None
            depends_on = None


            def upgrade() -> None:
            '''
        )
        source += textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ") + "\n\ndef downgrade() -> None:\n    pass\n"
        (folder / "versions" / f"{rev}_test_only.py").write_text(source)
        down = rev
    return folder


def filled(make_database: Callable[[str], URL], backend: str, tasks: int = 300) -> URL:
    url = make_database(backend)
    migrations.upgrade(url)
    load_sample(url, users=30, tasks=tasks, progress=False)
    return url


def pg_fingerprint(url: URL) -> dict[str, object]:
    """Schema, constraints, indexes, file nodes (a committed rewrite changes them) and an md5 of every table's rows."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            run = connection.exec_driver_sql
            tables = [name for (name,) in run("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
            return {
                "columns": run(
                    "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default "
                    "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
                ).all(),
                "indexes": run("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1").all(),
                "constraints": run(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                    "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
                ).all(),
                "filenodes": run("SELECT relname, relfilenode FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1").all(),
                "rows": {
                    table: run(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t").one()
                    for table in tables
                },
            }
    finally:
        engine.dispose()


def sqlite_fingerprint(url: URL) -> str:
    with sqlite3.connect(url.database or "") as connection:
        return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()


def pg_databases() -> set[str]:
    from conftest import _pg_admin_url

    engine = sa.create_engine(_pg_admin_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return {name for (name,) in connection.exec_driver_sql("SELECT datname FROM pg_database")}
    finally:
        engine.dispose()


def row(report: TraceReport, revision: str, step: int = 1) -> dict[str, object]:
    rows = report.statements[(report.statements["revision"] == revision) & (report.statements["step"] == step)]
    assert len(rows) == 1, report.statements[["revision", "step", "statement"]]
    return rows.iloc[0].to_dict()


def modes(report: TraceReport, revision: str, relation: str, step: int = 1) -> set[str]:
    locks = report.locks
    chosen = locks[(locks["revision"] == revision) & (locks["step"] == step) & (locks["relation"] == relation)]
    return set(chosen[chosen["held_since"].isna()]["mode"])  # the locks the statement took itself


# --- the lock table itself ----------------------------------------------------------------------


def test_each_lock_mode_blocks_what_the_conflict_table_says(make_database) -> None:
    """Hold each mode in one session; a second session's SELECT, SELECT FOR UPDATE and UPDATE wait exactly when predicted."""
    url = make_database("postgresql")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    operations = {"reads": "SELECT count(*) FROM t", "row locks": "SELECT * FROM t FOR UPDATE", "writes": "UPDATE t SET x = x + 1"}
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x int)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect() as holder, engine.connect() as other:
            for mode in LOCK_MODES:
                holder.exec_driver_sql(f"LOCK TABLE t IN {mode} MODE")
                waited = set()
                for operation, statement in operations.items():
                    with other.begin():
                        other.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
                        try:
                            other.exec_driver_sql(statement)
                        except sa.exc.OperationalError as exc:
                            assert "lock timeout" in str(exc)
                            waited.add(operation)
                holder.rollback()
                assert waited == set(blocked_operations(mode)), mode
                assert blocked_operations(mode.title().replace(" ", "") + "Lock") == blocked_operations(mode)
    finally:
        engine.dispose()


# --- PostgreSQL: a scratch database ----------------------------------------------------------------


def test_trace_reports_each_revisions_locks_rewrites_and_scans(make_database, tmp_path: Path) -> None:
    target = filled(make_database, "postgresql")
    folder = write_revisions(
        tmp_path, VOLATILE_DEFAULT, CONSTANT_DEFAULT, INDEX, INDEX_CONCURRENTLY, TYPE_CHANGE, NOT_NULL, NOT_VALID, VALIDATE
    )
    before = pg_fingerprint(target)

    report = trace(target.set(password=SECRET), script_location=folder, sample_tasks=200, lock_timeout="5s")

    assert [r.revision for r in report.revisions] == ["005", "006", "007", "008", "009", "010", "011", "012"]
    assert all(r.error is None and r.statements == 1 for r in report.revisions)
    assert report.scratch and report.sample_tasks == 200 and report.current == ("004",)
    tasks = before["rows"]["task"][0]  # type: ignore[index]

    volatile = row(report, "005")
    assert modes(report, "005", "task") == {"ACCESS EXCLUSIVE", "SHARE"}  # a rewrite also builds the new heap under SHARE
    assert volatile["rewrites"].startswith("task") and volatile["blocks"] == "reads and writes"
    assert volatile["rows"] == tasks and volatile["traced_rows"] == 200
    assert "while it rewrites it" in volatile["danger"] and not volatile["strict"]

    constant = row(report, "006")  # PostgreSQL 11+ stores a constant default in the catalog: no rewrite, no scan
    assert modes(report, "006", "task") == {"ACCESS EXCLUSIVE"}
    assert (constant["rewrites"], constant["scans"], constant["danger"]) == ("", "", "")

    index = row(report, "007")
    assert modes(report, "007", "task") == {"SHARE"} and index["blocks"] == "writes"
    assert index["rewrites"] == "" and index["scans"] == "task" and "blocks writes on task" in index["danger"]
    new_index = report.locks[(report.locks["revision"] == "007") & (report.locks["relation"] == "ix_task_title")]
    assert new_index["new_relation"].all() and (new_index["blocks"] == "").all()

    concurrently = row(report, "008")
    assert not concurrently["traced"] and "not traced" in concurrently["note"]
    assert modes(report, "008", "task") == {"SHARE UPDATE EXCLUSIVE"}
    assert (concurrently["blocks"], concurrently["danger"], concurrently["error"]) == ("", "", "")

    changed = row(report, "009")
    assert modes(report, "009", "task") >= {"ACCESS EXCLUSIVE"} and changed["rewrites"].startswith("task")
    assert "while it rewrites it" in changed["danger"]

    not_null = row(report, "010")
    assert modes(report, "010", "task") == {"ACCESS EXCLUSIVE"}
    assert not_null["rewrites"] == "" and not_null["scans"] == "task" and "blocks reads and writes on task" in not_null["danger"]

    not_valid, validate = row(report, "011"), row(report, "012")
    assert modes(report, "011", "users") == {"ACCESS EXCLUSIVE"} and (not_valid["scans"], not_valid["danger"]) == ("", "")
    assert modes(report, "012", "users") == {"SHARE UPDATE EXCLUSIVE"}
    assert (validate["scans"], validate["blocks"], validate["danger"]) == ("users", "", "")
    assert report.strict_failures().empty
    assert list(report.dangerous()["revision"]) == ["005", "007", "009", "010"]

    lint = report.lint.dropna(subset=["step"])
    assert {"adding-field-with-default"} <= set(lint[lint["revision"] == "005"]["rule"])
    assert {"adding-not-nullable-field"} <= set(lint[lint["revision"] == "010"]["rule"])
    assert "require-concurrent-index-creation (excused)" in index["lint"]

    view = report.table("005")
    assert list(view.columns) == TABLE_COLUMNS and view.loc[0, "danger"] == volatile["danger"]
    text = report.to_text()
    assert "! " in text and "ALTER TABLE task ADD COLUMN token" in text
    assert SECRET not in text + report.database + report.traced

    assert pg_fingerprint(target) == before, "the target is only read"
    scratch = make_url(report.traced).database
    assert scratch and scratch.startswith(SCRATCH_PREFIX) and scratch not in pg_databases(), "the scratch database is dropped"


def test_strict_fails_only_where_no_lock_timeout_guards_a_blocking_lock(make_database, tmp_path: Path) -> None:
    target = filled(make_database, "postgresql", tasks=50)
    guarded = ("guarded by its own lock_timeout", "op.execute(\"SET lock_timeout = '2s'\")\n" + NOT_VALID[1])
    in_transaction = (
        "CONCURRENTLY without autocommit_block",
        'op.create_index("ix_task_title", "task", ["title"], postgresql_concurrently=True)',
    )
    folder = write_revisions(tmp_path, CONSTANT_DEFAULT, guarded, VALIDATE, in_transaction)

    report = trace(target, script_location=folder, lock_timeout="0")

    unguarded = row(report, "005")
    assert unguarded["strict"] and "no lock_timeout" in unguarded["danger"]
    assert row(report, "006", step=1)["statement"].startswith("SET lock_timeout")
    assert not row(report, "006", step=2)["strict"] and row(report, "006", step=2)["lock_timeout"] == "2s"
    assert not row(report, "007")["strict"], "SHARE UPDATE EXCLUSIVE blocks neither reads nor writes"
    assert list(report.strict_failures()["revision"]) == ["005"]
    refused = row(report, "008")
    assert "PostgreSQL refuses it" in refused["error"] and refused["error"] in refused["danger"]
    assert report.revisions[-1].error == refused["error"]
    assert "none (0)" in report.to_text()


ONE_TRANSACTION = (
    "rename, add, retype and drop a default in one transaction",
    """
    op.alter_column("task", "description", new_column_name="notes", existing_type=sa.Text())
    op.add_column("task", sa.Column("estimate_minutes", sa.Integer(), server_default=sa.text("(30)"), nullable=False))
    op.alter_column("task", "title", type_=sa.String(100), existing_type=sa.String(200))
    op.alter_column("task", "estimate_minutes", server_default=None, existing_type=sa.Integer())
    """,
)


def test_each_statement_shows_the_strongest_lock_held_on_what_it_works_on(make_database, tmp_path: Path) -> None:
    """pg_locks lists a lock once: after statement 1's ACCESS EXCLUSIVE on task, ALTER TYPE only adds SHARE (and the
    ADD COLUMN and DROP DEFAULT nothing), yet each of them holds ACCESS EXCLUSIVE while it runs: the line says so."""
    target = filled(make_database, "postgresql", tasks=50)
    folder = write_revisions(tmp_path, ONE_TRANSACTION)

    report = trace(target, script_location=folder, lint=False)

    assert report.revisions[0].error is None and report.revisions[0].statements == 4
    lines = [row(report, "005", step)["locks"] for step in (1, 2, 3, 4)]
    assert lines[0] == "ACCESS EXCLUSIVE on table task"
    assert lines[1] == lines[3] == "ACCESS EXCLUSIVE on table task (held since statement 1)"
    assert lines[2].startswith("ACCESS EXCLUSIVE on table task (held since statement 1) (+ACCESS EXCLUSIVE on 5 indexes")
    assert "SHARE on" not in " ".join(lines)
    assert modes(report, "005", "task", step=3) == {"SHARE"}, "what ALTER TYPE took itself is still in the locks table"
    held = report.locks[(report.locks["step"] == 3) & report.locks["held_since"].notna()]
    assert list(zip(held["relation"], held["mode"], held["held_since"], strict=True)) == [("task", "ACCESS EXCLUSIVE", 1)]
    for step in (2, 3, 4):
        statement = row(report, "005", step)
        assert statement["blocks_while_running"] == "reads and writes on task" and statement["tables"] == "task 50 (traced with 0)"
        assert "takes ACCESS EXCLUSIVE" not in statement["danger"], "a lock already held is not waited for"
    assert row(report, "005", 3)["blocks"] == "reads and writes", "its own locks on the indexes"
    assert list(report.dangerous()["step"]) == [3]
    text = report.to_text()
    assert "locks: ACCESS EXCLUSIVE on table task (held since statement 1) (+ACCESS EXCLUSIVE on 5 indexes)" in text
    assert "none new" not in text


# --- PostgreSQL: a staging copy the caller names ---------------------------------------------------


def test_trace_on_a_staging_copy_rolls_everything_back(make_database, tmp_path: Path) -> None:
    target, staging = filled(make_database, "postgresql"), filled(make_database, "postgresql")
    one_transaction = ("not valid and validate in one revision", NOT_VALID[1] + "\n" + VALIDATE[1])
    names_required = ("users.name NOT NULL", 'op.alter_column("users", "name", nullable=False, existing_type=sa.String(255))')
    folder = write_revisions(tmp_path, one_transaction, INDEX, names_required, CONSTANT_DEFAULT)
    before_target, before_staging = pg_fingerprint(target), pg_fingerprint(staging)

    report = trace(target, trace_url=staging, script_location=folder)

    assert not report.scratch and report.traced == mask_url(staging)
    validate = row(report, "005", step=2)
    assert modes(report, "005", "users", step=2) == {"SHARE UPDATE EXCLUSIVE"}
    # The NOT VALID step's ACCESS EXCLUSIVE is still held: reads wait for the whole validation.
    assert validate["blocks"] == "" and validate["blocks_while_running"] == "reads and writes on users"
    assert "blocks reads and writes on users" in validate["danger"]
    assert modes(report, "006", "task") == {"SHARE"}, "replayed revisions' locks on other tables do not hide this one's"
    failed = {r.revision: r.error for r in report.revisions}
    assert failed["007"] and "null" in failed["007"] and row(report, "007")["error"] == failed["007"]
    assert failed["008"] == "not traced: revision 007 failed first"
    assert any("replaying" in note for note in report.notes)

    assert pg_fingerprint(staging) == before_staging, "the staging copy is rolled back, even after a failure"
    assert pg_fingerprint(target) == before_target


def test_the_trace_gives_up_on_a_lock_it_cannot_get_within_its_lock_timeout(make_database, tmp_path: Path) -> None:
    target, staging = make_database("postgresql"), make_database("postgresql")
    migrations.upgrade(target)
    migrations.upgrade(staging)
    folder = write_revisions(tmp_path, CONSTANT_DEFAULT)
    before = pg_fingerprint(staging)
    engine = sa.create_engine(staging, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as reader:
            reader.exec_driver_sql("LOCK TABLE task IN ACCESS SHARE MODE")  # a long-running SELECT on the staging copy

            report = trace(target, trace_url=staging, script_location=folder, trace_lock_timeout="100ms", lint=False)

            reader.rollback()
    finally:
        engine.dispose()
    assert "lock timeout" in (report.revisions[0].error or "")
    assert "lock timeout" in row(report, "005")["error"]
    assert pg_fingerprint(staging) == before


def test_trace_refuses_what_it_must_not_trace(make_database, tmp_path: Path) -> None:
    target = make_database("postgresql")
    migrations.upgrade(target)
    older = make_database("postgresql")
    migrations.upgrade(older, "003")
    folder = write_revisions(tmp_path, CONSTANT_DEFAULT)
    with pytest.raises(ConfigurationError, match="target database itself"):
        trace(target, trace_url=target.set(password=SECRET), script_location=folder)
    with pytest.raises(ConfigurationError, match="bring the copy to the target's revision"):
        trace(target, trace_url=older, script_location=folder)
    with pytest.raises(ConfigurationError, match="scratch PostgreSQL database only"):
        trace(target, trace_url=older, sample_tasks=10)
    with pytest.raises(ConfigurationError, match="not a PostgreSQL duration"):
        trace(target, script_location=folder, lock_timeout="5s'; DROP TABLE task; --")


def test_a_revision_that_fails_is_reported_and_the_scratch_database_still_dropped(make_database, tmp_path: Path) -> None:
    target = make_database("postgresql")
    migrations.upgrade(target)
    failing = ("fails after a statement", INDEX[1] + '\nraise RuntimeError("the data is not what this revision expects")')
    folder = write_revisions(tmp_path, failing, CONSTANT_DEFAULT)

    report = trace(target, script_location=folder, lint=False)

    assert report.revisions[0].error == "the data is not what this revision expects"
    assert row(report, "005")["error"] == "" and modes(report, "005", "task") == {"SHARE"}, "the statement before the failure ran"
    assert report.revisions[1].error == "not traced: revision 005 failed first"
    scratch = make_url(report.traced).database
    assert scratch and scratch.startswith(SCRATCH_PREFIX) and scratch not in pg_databases(), "the scratch database is dropped"
    assert migrations.current(target) == ("004",)


# --- SQLite: a copy of the file -----------------------------------------------------------------------


def test_sqlite_trace_reports_batch_rebuilds_on_a_copy(make_database, tmp_path: Path) -> None:
    target = filled(make_database, "sqlite")
    rebuild = (
        "batch type change",
        """
        with op.batch_alter_table("task") as batch:
            batch.alter_column("priority", type_=sa.String(10), existing_type=sa.String(20))
        """,
    )
    folder = write_revisions(tmp_path, rebuild, CONSTANT_DEFAULT, INDEX)
    before = sqlite_fingerprint(target)

    report = trace(target, script_location=folder)

    assert [r.error for r in report.revisions] == [None, None, None]
    statements = report.statements
    rebuilt = statements[(statements["revision"] == "005") & (statements["rewrites"] == "task")]
    assert len(rebuilt) == 1 and rebuilt.iloc[0]["note"].startswith("rebuilds task: every row is copied")
    revision_005 = statements[statements["revision"] == "005"]
    assert (revision_005["note"] == "part of the rebuild of task").sum() == 2, "the DROP TABLE and the RENAME"
    assert "while it rebuilds task (300 rows)" in rebuilt.iloc[0]["danger"]
    writes = statements[statements["locks"] != ""]
    assert (writes["locks"] == "write lock on the whole database").all() and (writes["blocks"] == "writes").all()
    added = row(report, "006")
    assert (added["rewrites"], added["danger"]) == ("", "")
    assert row(report, "007")["scans"] == "task"
    assert not statements["strict"].any() and report.lint.empty
    assert sqlite_fingerprint(target) == before and migrations.current(target) == ("004",)
    with pytest.raises(ConfigurationError, match="scratch PostgreSQL database only"):
        trace(target, script_location=folder, sample_tasks=10)


def test_sqlite_statements_that_only_read_hold_the_revisions_write_lock_too(make_database, tmp_path: Path) -> None:
    """BEGIN IMMEDIATE takes the write lock before the first statement: a SELECT in the revision runs under it, and
    another connection's write waits (checked from inside the revision), so its line says so as a write's does."""
    target = filled(make_database, "sqlite", tasks=20)
    reads = (
        "reads then writes",
        """
        import sqlite3

        bind = op.get_bind()
        bind.exec_driver_sql("SELECT count(*) FROM task")
        other = sqlite3.connect(bind.engine.url.database, timeout=0)
        try:
            other.execute("CREATE TABLE probe (x INTEGER)")
            raise AssertionError("another connection could write during the revision")
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
        finally:
            other.close()
        """
        + CONSTANT_DEFAULT[1],
    )
    folder = write_revisions(tmp_path, reads)

    report = trace(target, script_location=folder)

    assert report.revisions[0].error is None
    read, write = row(report, "005", 1), row(report, "005", 2)
    assert read["statement"].startswith("SELECT count(*)") and write["statement"].startswith("ALTER TABLE task ADD")
    assert read["locks"] == write["locks"] == "write lock on the whole database"
    assert read["blocks_while_running"] == write["blocks_while_running"] != ""


# --- both backends -------------------------------------------------------------------------------------


def test_nothing_pending_traces_nothing(head_url: URL) -> None:
    report = trace(head_url)
    assert report.revisions == [] and report.statements.empty and not report.scratch
    assert list(report.statements.columns) == STATEMENT_COLUMNS
    assert "Nothing pending" in report.to_text()


def test_an_unversioned_seed_database_is_traced_as_its_upgrade_would_adopt_it(database_url: URL, backend: str) -> None:
    """The project's own revisions 002-004 on the seed's database (no alembic_version): 002 rewrites the timestamp tables."""
    migrations.upgrade(database_url, "001")
    fill_seed_database(database_url)
    with sa.create_engine(database_url, poolclass=sa.pool.NullPool).begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
    before = pg_fingerprint(database_url) if backend == "postgresql" else sqlite_fingerprint(database_url)

    report = trace(database_url)

    assert report.current == ("001",) and any("adopts it" in note for note in report.notes)
    assert [r.revision for r in report.revisions] == ["002", "003", "004"] and all(r.error is None for r in report.revisions)
    rewritten = report.statements[(report.statements["revision"] == "002") & (report.statements["rewrites"] != "")]
    assert {"task", "users"} <= {name.split(" ")[0] for name in rewritten["rewrites"]}
    assert (rewritten["danger"] != "").all(), "both tables hold the seed's rows"
    after = pg_fingerprint(database_url) if backend == "postgresql" else sqlite_fingerprint(database_url)
    assert after == before


RENAME_DESCRIPTION = (
    'op.alter_column("task", "description", new_column_name="notes", existing_type=sa.Text())',
    'op.alter_column("task", "notes", new_column_name="description", existing_type=sa.Text())',
)


def test_sample_tasks_work_when_the_models_are_ahead_of_the_database(make_database, tmp_path: Path) -> None:
    """Issue 17.5: the scratch's sample rows are written in the schema of the revision being traced, not the models'."""
    from project_copy import ProjectCopy

    target = make_database("postgresql")
    migrations.upgrade(target)
    load_sample(target, users=5, tasks=50, progress=False)
    dispose_engines()
    before = pg_fingerprint(target)
    project = ProjectCopy.make(tmp_path)
    project.edit_models("    description: str | None = None\n", "    notes: str | None = None\n")
    project.edit_models(
        "    description: str | None = Field(default=None, sa_type=sa.Text)", "    notes: str | None = Field(default=None, sa_type=sa.Text)"
    )
    project.add_revision(*RENAME_DESCRIPTION)

    plan = project.cli("db", "plan", "--sample-tasks", "300", "--database-url", target.render_as_string(hide_password=False))

    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr
    assert "description TO notes" in plan.stdout and "traced with 300" in plan.stdout
    assert pg_fingerprint(target) == before and migrations.current(target) == ("004",)
