"""Schema inspection on real databases: the live schema as DataFrames, drift, and the ER diagram."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from conftest import FOREIGN_TABLES, foreign_objects_of
from sqlalchemy.engine import URL

from todo_data import inspect, migrations
from todo_data.sample import load_sample


def _execute(url: URL, *statements: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_schema_at_head_describes_every_object(database_url: URL) -> None:
    migrations.upgrade(database_url)
    load_sample(database_url, users=5, tasks=50)
    schema = inspect.read_schema(database_url)

    assert list(schema.tables["table"]) == ["task", "task_relationships", "users"]
    if schema.dialect == "sqlite":  # PostgreSQL's reltuples is an estimate until ANALYZE
        assert dict(zip(schema.tables["table"], schema.tables["rows_estimate"], strict=True))["task"] == 50

    task_columns = schema.columns[schema.columns["table"] == "task"].set_index("column")
    assert list(task_columns.index) == ["id", "user_id", "title", "description", "completed", "priority", "created_at", "updated_at"]
    assert not task_columns.loc["title", "nullable"] and task_columns.loc["description", "nullable"]
    assert "medium" in str(task_columns.loc["priority", "default"])
    assert "CURRENT_TIMESTAMP" in str(task_columns.loc["created_at", "default"]).upper()

    constraints = schema.constraints.set_index("constraint")
    assert constraints.loc["fk_task_user_id_users", "kind"] == "FOREIGN KEY"
    assert constraints.loc["fk_task_user_id_users", "references"] == "users(id)"
    assert constraints.loc["fk_task_user_id_users", "on_delete"].upper() == "CASCADE"
    assert constraints.loc["uq_task_relationships_parent_task_id_child_task_id", "columns"] == "parent_task_id, child_task_id"
    assert "parent_task_id <> child_task_id" in constraints.loc["ck_task_relationships_not_self", "definition"]
    assert constraints.loc["pk_users", "kind"] == "PRIMARY KEY"

    indexes = schema.indexes.set_index("index")
    assert indexes.loc["ix_task_user_id_completed_created_at", "columns"] == "user_id, completed, created_at"
    assert "ix_task_user_id" not in indexes.index and "ix_users_email" not in indexes.index
    if schema.dialect == "postgresql":
        assert indexes.loc["ix_task_created_at", "bytes"] > 0


def test_column_types_are_shown_as_the_database_has_them(database_url: URL) -> None:
    """Revision 002 turns naive timestamps into timestamptz; the schema must show the difference (issue 15, item 5)."""
    migrations.upgrade(database_url, "001")
    seed = inspect.read_schema(database_url).columns.set_index(["table", "column"])["type"]
    migrations.upgrade(database_url)
    head = inspect.read_schema(database_url).columns.set_index(["table", "column"])["type"]
    assert inspect.drift(database_url).empty, "drift compares the models with the database, not these strings"
    if database_url.get_backend_name() == "postgresql":
        assert seed[("task", "created_at")] == "timestamp without time zone"
        assert head[("task", "created_at")] == head[("users", "updated_at")] == "timestamp with time zone"
        assert head[("task", "title")] == "character varying(200)"
        assert head[("task", "completed")] == "boolean"
    else:  # SQLite keeps the declared type text: show it, not SQLAlchemy's reading of it
        _execute(database_url, "CREATE TABLE legacy (at timestamp with time zone, note character varying(20), n int, anything)")
        legacy = inspect.read_schema(database_url).columns.set_index(["table", "column"])["type"]
        assert legacy[("legacy", "at")] == "timestamp with time zone"
        assert legacy[("legacy", "note")] == "character varying(20)"
        assert legacy[("legacy", "n")] == "INT"  # as PRAGMA table_xinfo states it
        assert legacy[("legacy", "anything")] == ""
        assert seed[("task", "created_at")] == head[("task", "created_at")] == "DATETIME"
        assert head[("task", "title")] == "VARCHAR(200)"


def test_partial_and_descending_indexes_are_described(database_url: URL) -> None:
    migrations.upgrade(database_url)
    _execute(database_url, "CREATE INDEX ix_open_recent ON task (created_at DESC) WHERE completed = false")
    row = inspect.read_schema(database_url).indexes.set_index("index").loc["ix_open_recent"]
    assert row["order"].startswith("desc")
    assert "completed" in str(row["partial"])


def test_drift_is_empty_at_head_and_names_each_difference_below_it(database_url: URL) -> None:
    migrations.upgrade(database_url)
    assert inspect.drift(database_url).empty

    migrations.downgrade("003", database_url)
    drift = inspect.drift(database_url)
    found = set(zip(drift["kind"], drift["name"], strict=True))
    assert ("add_index", "ix_task_user_id_created_at") in found
    assert ("remove_index", "ix_users_email") in found


def test_drift_at_001_names_the_types_and_defaults_as_the_database_spells_them(database_url: URL) -> None:
    """Not ``TIMESTAMP -> DATETIME`` and ``DefaultClause(<... object at 0x...>)``: what 002 changes, readable."""
    migrations.upgrade(database_url, "001")
    drift = inspect.drift(database_url)
    details = {(r.kind, r.table, r.name): r.detail for r in drift.itertuples(index=False)}
    assert not [d for d in drift["detail"] if "object at 0x" in d or "DefaultClause" in d], drift["detail"].tolist()
    assert details[("modify_default", "task", "created_at")] == "none -> CURRENT_TIMESTAMP"
    assert details[("modify_default", "task", "priority")] == "none -> 'medium'"
    if database_url.get_backend_name() == "postgresql":
        assert details[("modify_type", "task", "created_at")] == "TIMESTAMP WITHOUT TIME ZONE -> TIMESTAMP WITH TIME ZONE"


def test_check_constraints_are_reported_honestly(database_url: URL) -> None:
    migrations.upgrade(database_url)
    if database_url.get_backend_name() == "postgresql":
        _execute(database_url, "ALTER TABLE task_relationships DROP CONSTRAINT ck_task_relationships_not_self")
    else:
        migrations.downgrade("002", database_url)  # no task_relationships: nothing to compare, nothing reported
    drift = inspect.drift(database_url)
    notes = drift[drift["kind"] == "missing_check"]
    if database_url.get_backend_name() == "postgresql":
        assert list(notes["name"]) == ["ck_task_relationships_not_self"]
        assert not notes["comparable"].iloc[0]
    else:
        assert notes.empty


def test_er_diagram_is_mermaid_with_every_table_and_foreign_key(database_url: URL) -> None:
    migrations.upgrade(database_url)
    diagram = inspect.er_diagram(inspect.read_schema(database_url))
    assert diagram.startswith("erDiagram\n")
    for table in ("users", "task", "task_relationships"):
        assert f"    {table} {{" in diagram
    assert 'users ||--o{ task : "user_id cascade"' in diagram
    assert 'task ||--o{ task_relationships : "child_task_id cascade"' in diagram
    email = "character_varying" if database_url.get_backend_name() == "postgresql" else "varchar"  # the type before its length
    assert f"{email} email UK" in diagram
    assert ("timestamp_with_time_zone created_at" if email == "character_varying" else "datetime created_at") in diagram


def test_er_diagram_gives_an_untyped_sqlite_column_a_type_mermaid_accepts(make_database) -> None:
    url = make_database("sqlite")
    _execute(url, "CREATE TABLE legacy (id integer primary key, anything, at timestamp with time zone)")
    diagram = inspect.er_diagram(inspect.read_schema(url))
    assert "        integer id PK" in diagram and "        untyped anything" in diagram
    assert "        timestamp_with_time_zone at" in diagram


# --- other applications' objects: shown, marked apart, never drift (issue 18) -------------------


def test_schema_shows_other_applications_objects_apart(shared_head_url: URL) -> None:
    added = foreign_objects_of(shared_head_url)
    schema = inspect.read_schema(shared_head_url)

    managed = dict(zip(schema.tables["table"], schema.tables["managed"], strict=True))
    assert managed == {"task": True, "task_relationships": True, "users": True} | dict.fromkeys(FOREIGN_TABLES, False)
    assert set(schema.unmanaged.itertuples(index=False, name=None)) == added
    assert schema.unmanaged_count == len(added)
    assert "emailVerified" in set(schema.columns[schema.columns["table"] == "user"]["column"])
    session_fk = schema.constraints[(schema.constraints["table"] == "session") & (schema.constraints["kind"] == "FOREIGN KEY")]
    assert list(session_fk["references"]) == ["user(id)"] and session_fk["on_delete"].isna().all()
    assert inspect.drift(shared_head_url).empty


def test_er_diagram_draws_other_applications_tables_grey_and_labelled(shared_head_url: URL) -> None:
    diagram = inspect.er_diagram(inspect.read_schema(shared_head_url))

    assert '    user["user (not managed by todo_data)"] {' in diagram
    assert "        boolean emailVerified" in diagram
    assert 'user ||--o{ session : "userId"' in diagram  # no ON DELETE: no "cascade", no crash
    assert 'users ||--o{ task : "user_id cascade"' in diagram
    assert "    users {" in diagram and "    task {" in diagram  # the kit's own tables keep their plain names
    assert "    class account,session,user,verification unmanaged" in diagram


def test_schema_report_runs_on_a_database_shared_with_other_applications(shared_head_url: URL, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("todo-data")), "report", "01-schema", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        | {"DATABASE_URL": shared_head_url.render_as_string(hide_password=False)},
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    html = (tmp_path / "01-schema.html").read_text()
    count = len(foreign_objects_of(shared_head_url))
    assert f"<strong>{count}</strong> object(s) not managed by todo_data" in html
    for name in (*FOREIGN_TABLES, "emailVerified", "activeSessions"):
        assert name in html
    assert "No drift: the database matches the models." in html
