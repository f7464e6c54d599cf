"""``todo-data export`` and ``todo_data.export``: files read back in pandas, pyarrow and DuckDB equal the database's rows."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from conftest import BACKENDS, create_pg_database, drop_pg_database, other_process_writes, require_pg
from sqlalchemy.engine import URL, make_url

from todo_data import dispose_engines, export, frames
from todo_data.backends.sqlite import stream as sqlite_stream
from todo_data.errors import ConfigurationError
from todo_data.migrations import upgrade
from todo_data.models import Task
from todo_data.sample import load_sample

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TASK = Task.__table__
CSV_TEXT_COLUMNS = {"title", "description", "priority", "user_id", "email", "name"}


@pytest.fixture(scope="module", params=BACKENDS)
def sample(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """One database per backend at head: sample rows with legacy priorities ('urgent', '', NULL) and NULL descriptions."""
    if request.param == "postgresql":
        require_pg()
        url = create_pg_database()
    else:
        url = make_url(f"sqlite+pysqlite:///{tmp_path_factory.mktemp('export') / 'sample.db'}")
    try:
        upgrade(url)
        load_sample(url, users=6, tasks=400, seed=11, anomalies=True)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:  # the seed's rows had no priority at all: NULL
            connection.execute(sa.update(TASK).where(TASK.c.id % 37 == 0).values(priority=None))
        engine.dispose()
        yield url
    finally:
        frames.close_connections()
        dispose_engines()
        if request.param == "postgresql":
            drop_pg_database(url)


def _plain(value: Any) -> Any:
    """A value as both sides can state it: timestamps as UTC microseconds, booleans as 0/1, missing as None."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return (aware - EPOCH) // timedelta(microseconds=1)
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return int(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _checksums(columns: list[str], rows: list[tuple[Any, ...]], *, empty_is_null: frozenset[str] = frozenset()) -> dict[str, str]:
    """Per column: a SHA-256 over its values in primary-key order (rows sorted by their first column, the key)."""
    ordered = sorted(rows, key=lambda row: _plain(row[0]))
    sums = {}
    for index, name in enumerate(columns):
        digest = hashlib.sha256()
        for row in ordered:
            value = _plain(row[index])
            if name in empty_is_null and value == "":
                value = None
            digest.update(repr(value).encode())
        sums[name] = digest.hexdigest()
    return sums


def _database_rows(url: URL, table: sa.Table, where: Any = None) -> list[tuple[Any, ...]]:
    """The reference: the table read through SQLAlchemy and the models' types (aware UTC timestamps, bools)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            statement = sa.select(*table.columns)
            if where is not None:
                statement = statement.where(where)
            return [tuple(row) for row in connection.execute(statement)]
    finally:
        engine.dispose()


def _pandas_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame.astype(object).itertuples(index=False, name=None)]


def _read_back(path: Path, fmt: str, schema: pa.Schema) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """The file as pyarrow, pandas and DuckDB each read it, with their own defaults except where CSV needs telling."""
    timestamps = [field.name for field in schema if pa.types.is_timestamp(field.type)]
    if fmt == "parquet":
        arrow = pq.read_table(path)
        frame = pd.read_parquet(path)
        relation = f"read_parquet('{path}')"
    else:
        arrow = pa_csv.read_csv(
            path, convert_options=pa_csv.ConvertOptions(column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False)
        )
        frame = pd.read_csv(path, parse_dates=timestamps)
        relation = f"read_csv('{path}', allow_quoted_nulls = false)"
    assert arrow.schema.names == schema.names
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        result = connection.execute(f"SELECT * FROM {relation}")
        duck = ([column[0] for column in result.description], result.fetchall())
    finally:
        connection.close()
    return {
        "pyarrow": (arrow.column_names, list(zip(*(arrow.column(name).to_pylist() for name in arrow.column_names), strict=True))),
        "pandas": (list(frame.columns), _pandas_rows(frame)),
        "duckdb": duck,
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_every_table_reads_back_with_the_databases_rows(sample: URL, tmp_path: Path, fmt: str) -> None:
    result = export.export("all", tmp_path, format=fmt, database_url=sample)

    assert [file.name for file in result.files] == ["tasks", "users", "dependencies"]
    assert sample.password is None or sample.password not in result.database
    for file in result.files:
        table = export.TABLES[file.name]
        expected = _database_rows(sample, table)
        assert file.path == tmp_path / f"{file.name}.{fmt}" and file.rows == len(expected) > 0
        schema = export.arrow_schema(table)
        if fmt == "parquet":
            assert pq.read_schema(file.path).equals(schema), "the model's types, timestamps UTC"
        columns = [column.name for column in table.columns]
        for reader, (names, rows) in _read_back(file.path, fmt, schema).items():
            assert names == columns, reader
            assert len(rows) == len(expected), reader
            # pandas' CSV reader cannot tell "" from a missing value; every other reader keeps them apart.
            blurred = frozenset(CSV_TEXT_COLUMNS) if (reader, fmt) == ("pandas", "csv") else frozenset()
            assert _checksums(names, rows, empty_is_null=blurred) == _checksums(columns, expected, empty_is_null=blurred), (
                f"{file.name} read by {reader}"
            )
    assert list(tmp_path.iterdir()) and not [path for path in tmp_path.iterdir() if path.name.startswith(".")], "no partial files left"


def test_legacy_values_survive_the_round_trip(sample: URL, tmp_path: Path) -> None:
    """The sample plants '', NULL and 'urgent' priorities and NULL descriptions: each stays what it was."""
    (file,) = export.export("tasks", tmp_path, database_url=sample).files
    frame = pd.read_parquet(file.path)
    priorities = set(frame["priority"].dropna())
    assert {"", "urgent"} <= priorities
    assert frame["priority"].isna().any() and frame["description"].isna().any()
    assert str(frame["created_at"].dtype) == "datetime64[us, UTC]" and frame["completed"].dtype == bool


FILTERS: dict[str, dict[str, Any]] = {
    "user": {"user_id": None},  # filled in with the busiest user
    "open": {"completed": False},
    "priority-none-and-empty": {"priority": [None, ""]},
    "legacy-priority": {"priority": "urgent"},
    "window": {"created_from": date(2024, 3, 1), "created_to": date(2024, 9, 30)},
    "text": {"text": "E"},
    "combined": {"completed": True, "priority": ["high", "medium"], "created_from": "2024-02-01"},
}


@pytest.mark.parametrize("name", FILTERS)
def test_filters_give_the_same_tasks_as_tasks_frame(sample: URL, tmp_path: Path, name: str) -> None:
    kwargs = dict(FILTERS[name])
    everything = frames.tasks_frame(sample)
    if "user_id" in kwargs:
        kwargs["user_id"] = everything["user_id"].mode().iloc[0]
    expected = frames.tasks_frame(sample, **kwargs).sort_values("id").reset_index(drop=True)
    assert 0 < len(expected) < len(everything), "the filter must select some tasks and leave some out"

    result = export.export("all", tmp_path, database_url=sample, **kwargs)
    files = {file.name: file for file in result.files}
    tasks = pd.read_parquet(files["tasks"].path)
    pd.testing.assert_frame_equal(tasks[expected.columns], expected, check_dtype=False)
    assert files["tasks"].rows == len(expected)

    users = pd.read_parquet(files["users"].path)
    assert sorted(users["id"]) == sorted(expected["user_id"].unique()), "users: the owners of the exported tasks"
    dependencies = pd.read_parquet(files["dependencies"].path)
    every_dependency = _database_rows(sample, export.TABLES["dependencies"])
    wanted = sorted(row[0] for row in every_dependency if row[1] in set(expected["id"]))
    assert dependencies["id"].tolist() == wanted, "dependencies: those of the exported tasks, in id order"


def test_sqlite_pages_starting_with_nulls_keep_the_models_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's driver infers a column's type from its first batch: a page of NULL descriptions must still be text."""
    url = make_url(f"sqlite+pysqlite:///{tmp_path / 'nulls.db'}")
    upgrade(url)
    load_sample(url, users=2, tasks=30, seed=3)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.update(TASK).where(TASK.c.id <= 10).values(description=None, priority=None))
    engine.dispose()
    monkeypatch.setattr(sqlite_stream, "PAGE_ROWS", 4)

    (file,) = export.export("tasks", tmp_path / "out", database_url=url).files

    written = pq.read_table(file.path)
    assert written.schema.equals(export.arrow_schema(TASK))
    assert written.num_rows == 30 and pq.ParquetFile(file.path).num_row_groups == 8, "streamed page by page"
    columns = [column.name for column in TASK.columns]
    rows = list(zip(*(written.column(name).to_pylist() for name in columns), strict=True))
    assert _checksums(columns, rows) == _checksums(columns, _database_rows(url, TASK))


def test_sqlite_held_open_here_exports_through_a_child_and_keeps_the_lock(tmp_path: Path) -> None:
    """While this process holds a write transaction, the export runs in a child: same rows, and the lock stays."""
    url = make_url(f"sqlite+pysqlite:///{tmp_path / 'held.db'}")
    upgrade(url)
    load_sample(url, users=3, tasks=50, seed=5)
    expected = export.export("all", tmp_path / "free", database_url=url)
    writer = sqlite3.connect(url.database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM task_relationships")  # not committed: the export must not see it

        held = export.export("all", tmp_path / "held", database_url=url)

        assert other_process_writes(Path(url.database or "")) == "database is locked", "the export dropped this process's lock"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    for free, kept in zip(expected.files, held.files, strict=True):
        assert kept.rows == free.rows > 0
        assert pq.read_table(kept.path).equals(pq.read_table(free.path))


def test_an_empty_database_gives_files_with_the_models_columns(head_url: URL, tmp_path: Path) -> None:
    result = export.export("all", tmp_path, format="parquet", database_url=head_url)
    for file in result.files:
        assert file.rows == 0
        assert pq.read_schema(file.path).equals(export.arrow_schema(export.TABLES[file.name]))


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"tables": "todos"}, "export takes tasks, users, dependencies or all"),
        ({"tables": ["all", "tasks"]}, "'all' alone"),
        ({"format": "xlsx"}, "format must be one of parquet, csv"),
        ({"priority": []}, "priority is an empty list"),
        ({"created_from": "yesterday"}, "not a date or time"),
    ],
)
def test_bad_arguments_are_one_line_before_anything_is_read(tmp_path: Path, kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle) as caught:
        export.export(**{"tables": "all", **kwargs}, output_dir=tmp_path / "out", database_url=f"sqlite:///{tmp_path}/none.db")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def _todo_data(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "todo_data.cli", *args], capture_output=True, text=True, timeout=120, check=False, env=_environment()
    )


def _environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}


def test_the_command_prints_each_file_and_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    url = make_url(f"sqlite+pysqlite:///{tmp_path / 'cli.db'}")
    upgrade(url)
    load_sample(url, users=3, tasks=40, seed=2)
    url_text = url.render_as_string(hide_password=False)
    out = tmp_path / "exports"

    done = _todo_data(
        "export", "tasks", "users", "--format", "csv", "--status", "open", "--output-dir", str(out), "--database-url", url_text
    )

    assert done.returncode == 0, done.stderr
    open_tasks = len(frames.tasks_frame(url, completed=False))
    assert f"tasks: {open_tasks} rows -> {out / 'tasks.csv'}" in done.stdout.splitlines()
    assert sorted(path.name for path in out.iterdir()) == ["tasks.csv", "users.csv"]

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    failed = _todo_data("export", "all", "--output-dir", str(blocker / "exports"), "--database-url", url_text)

    assert failed.returncode == 1
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("todo-data: error: Cannot write to "), failed.stderr
    assert "--output-dir" in lines[0] and "Traceback" not in failed.stderr and not failed.stdout


def test_what_make_demo_and_export_write_by_default_stays_out_of_git() -> None:
    """A new user's ./exports (todo-data export's default), ./data and ./reports never show as changes to commit."""
    root = Path(__file__).resolve().parent.parent
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=root, capture_output=True, check=False).returncode:
        pytest.skip("not a git checkout")
    written = ["exports/tasks.parquet", "exports/users.csv", "data/todo.db", "reports/04-task-report.html"]
    result = subprocess.run(["git", "check-ignore", *written], cwd=root, capture_output=True, text=True, check=False)
    assert result.stdout.split() == written, result.stderr
    assert "exports" in (root / "Makefile").read_text().split("\nclean:", 1)[1], "make clean removes ./exports too"
