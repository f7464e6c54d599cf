"""SQL cells (``%load_ext todo_data``, JupySQL) on SQLite and PostgreSQL: the resolved database, read-only, no password shown."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import _admin_execute, require_pg
from IPython.testing import globalipapp
from IPython.utils.capture import capture_output
from sqlalchemy.engine import URL, make_url

from todo_data import dispose_engines, reports, sql_magic
from todo_data.sample import load_sample

PASSWORD = "Cell-S3cret_pw"


@pytest.fixture
def shell() -> Iterator[Any]:
    """IPython's test shell, without todo_data's or JupySQL's connection left from an earlier test."""
    ip = globalipapp.start_ipython() or globalipapp.get_ipython()
    yield ip
    from sql.connection import ConnectionManager

    ConnectionManager.close_all()
    ip.extension_manager.loaded.discard("todo_data")
    ip.user_ns.pop("result", None)
    dispose_engines()


@pytest.fixture
def sampled(head_url: URL) -> URL:
    load_sample(head_url, users=4, tasks=60, seed=7)
    dispose_engines()
    return head_url


def _count(url: URL, table: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def _everything(captured: Any) -> str:
    """All a cell showed: stdout, stderr and every rich output in every format."""
    shown = [captured.stdout, captured.stderr]
    shown += [json.dumps(output.data, default=str) for output in captured.outputs]
    return "\n".join(shown)


def test_load_ext_connects_to_the_resolved_database_read_only(sampled: URL, shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sampled.render_as_string(hide_password=False))
    users = _count(sampled, "users")

    with capture_output() as captured:
        shell.run_line_magic("load_ext", "todo_data")
        shell.run_cell("result = %sql SELECT count(*) AS n FROM users")
    assert "read-only" in captured.stdout and sql_magic.ALIAS in captured.stdout
    result = shell.user_ns["result"]
    assert isinstance(result, pd.DataFrame) and int(result["n"].iloc[0]) == users

    with capture_output() as captured:
        shell.run_cell("%sql INSERT INTO users (id, email) VALUES ('cell-user', 'cell@example.com')")
    assert "read-only" in captured.stderr or "readonly" in captured.stderr, captured.stderr
    assert _count(sampled, "users") == users, "nothing was written"


def test_load_ext_in_a_notebook_of_ones_own_in_make_labs_folder_reads_the_demo_database(
    tmp_path: Path, shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make lab` starts kernels in notebooks/ with no DATABASE_URL: `%load_ext todo_data` reads the project's ./data/todo.db."""
    from todo_data.migrations import upgrade

    project = tmp_path / "project"
    demo = make_url(f"sqlite+pysqlite:///{project / 'data' / 'todo.db'}")
    (project / "data").mkdir(parents=True)
    upgrade(demo)
    load_sample(demo, users=3, tasks=25, seed=1)
    dispose_engines()
    monkeypatch.setattr(reports, "PROJECT_ROOT", project)
    monkeypatch.setenv("TODO_DATA_NOTEBOOKS", str(project / "notebooks"))
    (project / "notebooks").mkdir()
    monkeypatch.chdir(project / "notebooks")

    with capture_output() as captured:
        shell.run_line_magic("load_ext", "todo_data")
        shell.run_cell("result = %sql SELECT count(*) AS n FROM task")
    assert not captured.stderr, captured.stderr
    assert str(project / "data" / "todo.db") in captured.stdout
    assert int(shell.user_ns["result"]["n"].iloc[0]) == 25
    assert not (project / "notebooks" / "data").exists()


def test_writing_needs_the_explicit_opt_in(sampled: URL, shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sampled.render_as_string(hide_password=False))
    users = _count(sampled, "users")
    with capture_output() as captured:
        shell.run_line_magic("load_ext", "todo_data")
        shell.run_line_magic("todo_data_sql", "--write")
        shell.run_cell("%sql INSERT INTO users (id, email) VALUES ('cell-user', 'cell@example.com')")
    assert "read-write" in captured.stdout and not captured.stderr, captured.stderr
    assert "1 rows affected." in _everything(captured), "a write says what it changed"
    assert _count(sampled, "users") == users + 1, "committed at the end of the cell"

    with capture_output() as captured:
        shell.run_line_magic("todo_data_sql", "")
        shell.run_cell("%sql DELETE FROM users WHERE id = 'cell-user'")
    assert "read-only" in captured.stdout
    assert _count(sampled, "users") == users + 1


def test_each_cell_sees_what_others_committed_since(sampled: URL, shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """JupySQL keeps one connection: its transaction must end with each cell, or SQLite would show one old snapshot."""
    monkeypatch.setenv("DATABASE_URL", sampled.render_as_string(hide_password=False))
    with capture_output():
        shell.run_line_magic("load_ext", "todo_data")
        shell.run_cell("result = %sql SELECT count(*) AS n FROM users")
    before = int(shell.user_ns["result"]["n"].iloc[0])
    engine = sa.create_engine(sampled, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO users (id, email) VALUES ('later', 'later@example.com')"))
    engine.dispose()
    with capture_output():
        shell.run_cell("result = %sql SELECT count(*) AS n FROM users")
    assert int(shell.user_ns["result"]["n"].iloc[0]) == before + 1


def test_week_start_is_the_monday_in_either_dialect(sampled: URL, shell: Any) -> None:
    with capture_output():
        sql_magic.connect(sampled, shell=shell)
        shell.user_ns["week"] = sql_magic.week_start("created_at")
        shell.run_cell("result = %sql SELECT {{week}} AS week, created_at FROM task")
    result = shell.user_ns["result"]
    weeks = pd.to_datetime(result["week"], utc=True)
    created = pd.to_datetime(result["created_at"], utc=True, format="ISO8601")
    assert (weeks.dt.day_of_week == 0).all() and (weeks <= created).all() and (created - weeks < pd.Timedelta(days=7)).all()


def test_the_password_is_never_shown(make_database: Any, shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    require_pg()
    url = make_database("postgresql")
    from todo_data.migrations import upgrade

    upgrade(url)
    role = f"todo_data_test_cells_{uuid.uuid4().hex[:8]}"
    _admin_execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    try:
        admin = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        admin.dispose()
        monkeypatch.setenv("DATABASE_URL", url.set(username=role, password=PASSWORD).render_as_string(hide_password=False))
        with capture_output() as captured:
            shell.run_line_magic("load_ext", "todo_data")
            shell.run_cell("%sql --connections")
            shell.run_cell("%sql SELECT current_user AS who")
            shell.run_cell("%sql INSERT INTO users (id, email) VALUES ('x', 'x@example.com')")
            shell.run_cell("%sql SELEC nothing")
            shell.run_cell("%todo_data_sql --write")
            shell.run_cell("%sql --connections")
        shown = _everything(captured)
        assert role in shown and "read-only transaction" in shown, shown  # the connection and the errors are shown ...
        assert PASSWORD not in shown  # ... without the password
    finally:
        from sql.connection import ConnectionManager

        ConnectionManager.close_all()
        dispose_engines()
        _admin_execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        _admin_execute(f"DROP ROLE IF EXISTS {role}")


def test_a_missing_database_is_one_usage_line(tmp_path: Path, shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing.db'}")
    with capture_output() as captured:
        shell.run_cell("%load_ext todo_data")
    text = captured.stdout + captured.stderr
    assert "UsageError" in text and "does not exist" in text and "Traceback" not in text, text


def test_results_come_without_jupysqls_chatter_and_held_notices_show_only_on_failure(sampled: URL, shell: Any) -> None:
    """No "Running query in 'todo_data'" above a result; %sqlplot's "Removing NULLs" notice is held by notices_held,
    shown with the error when the plot fails; outside the block JupySQL's notices show as before."""
    shell.user_ns["sql_magic"] = sql_magic
    with capture_output() as captured:
        sql_magic.connect(sampled, shell=shell)
        shell.run_cell("%sql SELECT count(*) AS n FROM task")
        shell.run_cell("with sql_magic.notices_held():\n    axes = %sqlplot bar --table task --column priority")
    shown = _everything(captured)
    assert "Running query in" not in shown and "rows affected" not in shown and "60" in shown, shown
    assert "Removing NULLs" not in shown and type(shell.user_ns["axes"]).__name__ == "Axes", shown

    with capture_output() as captured:
        shell.run_cell("with sql_magic.notices_held():\n    axes = %sqlplot bar --table task --column no_such_column")
    shown = _everything(captured)
    assert "Removing NULLs, if there exists any from no_such_column" in shown and "Error" in shown, shown

    with capture_output() as captured:
        shell.run_cell("%%sql --save open_tasks --no-execute\nSELECT * FROM task WHERE NOT completed")
    assert "Skipping execution" in _everything(captured), "notices outside the block are JupySQL's as ever"


def test_06_sql_runs_under_papermill(sampled: URL, tmp_path: Path) -> None:
    engine = sa.create_engine(sampled, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:  # an open task whose priority is the empty string: a blank row would read as missing
        connection.execute(sa.text("UPDATE task SET priority = '' WHERE id = (SELECT min(id) FROM task WHERE NOT completed)"))
    engine.dispose()
    result = reports.run_report("06-sql", output_dir=tmp_path, database_url=sampled)

    assert result.ok, result.error
    executed = nbformat.read(result.notebook, as_version=4)
    tables = [output for cell in executed.cells if cell.cell_type == "code" and cell.source.startswith("%%sql") for output in cell.outputs]
    assert [output for output in tables if output.output_type == "error"] == []
    frames = [output for output in tables if output.output_type == "execute_result" and "text/html" in output.data]
    assert len(frames) == 3, "three questions, three DataFrames"
    assert "(empty)" in frames[1].data["text/html"], "open tasks by age and priority name the empty-string priority"
    assert any(output.get("data", {}).get("image/png") for cell in executed.cells for output in cell.get("outputs", [])), "%sqlplot drew"
    html = result.html.read_text()
    for chatter in ("Running query in", "Connecting to", "Skipping execution", "Removing NULLs", "rows affected"):
        assert chatter not in html, f"06-sql.html shows JupySQL's {chatter!r}"
