"""DataFrames through ADBC on real SQLite and PostgreSQL databases, checked against SQLAlchemy and pandas."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import BACKENDS, _admin_execute, create_pg_database, drop_pg_database, other_process_writes, require_pg
from sqlalchemy.engine import URL, make_url

from todo_data import dispose_engines, frames, session_scope
from todo_data.backends.sqlite import reads as sqlite_reads
from todo_data.db import IN_PROCESS_SQLITE_READS
from todo_data.errors import ConfigurationError, ConnectionFailed, MigrationError, TodoDataError
from todo_data.frames import QueryError, count_tasks, read_frame, task_priorities, tasks_frame, weekly_tasks
from todo_data.migrations import upgrade
from todo_data.models import Task, User, UTCDateTime
from todo_data.sample import load_sample

TASK = Task.__table__
COLUMNS = ["id", "user_id", "title", "description", "completed", "priority", "created_at", "updated_at"]
# Titles and descriptions whose characters mean something to SQL or to LIKE; searches must treat them as text.
SPECIAL = [
    ("'; DROP TABLE task; --", "an injection attempt"),
    ("100% done", "percent"),
    ("snake_case name", None),
    ("back\\slash path", "C:\\temp"),
    ("slash/and/more", "50%_off"),
    ("Mixed CASE Report", "UPPER lower"),
]
METACHARACTER_SEARCHES = ["'; DROP TABLE task; --", "%", "_", "\\", "/", "100%", "snake_case", "%_", "'"]


def _engine(url: URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _sqlalchemy_frame(url: URL, statement: sa.Executable) -> pd.DataFrame:
    """The reference: the same statement through a plain SQLAlchemy engine and pandas."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return pd.read_sql(statement, connection)
    finally:
        engine.dispose()


def _add_special_tasks(url: URL) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            user_id = connection.execute(sa.select(sa.text("id")).select_from(sa.table("users")).limit(1)).scalar_one()
            base = datetime(2025, 3, 30, 0, 59, 59, 999999, tzinfo=UTC)
            connection.execute(
                sa.insert(TASK),
                [
                    {
                        "user_id": user_id,
                        "title": title,
                        "description": description,
                        "completed": i % 2 == 0,
                        "priority": None if i == 0 else "high",
                        "created_at": base + timedelta(hours=i),
                        "updated_at": base + timedelta(hours=i),
                    }
                    for i, (title, description) in enumerate(SPECIAL)
                ],
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def sample(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """One database per backend at head with sample rows and the special tasks, shared by the reading tests."""
    if request.param == "postgresql":
        require_pg()
        url = create_pg_database()
    else:
        url = make_url(f"sqlite+pysqlite:///{tmp_path_factory.mktemp('frames') / 'sample.db'}")
    try:
        upgrade(url)
        load_sample(url, users=6, tasks=400, seed=11, anomalies=True)  # legacy priorities too
        _add_special_tasks(url)
        yield url
    finally:
        frames.close_connections()
        dispose_engines()
        if request.param == "postgresql":
            drop_pg_database(url)


@pytest.fixture(scope="module")
def everything(sample: URL) -> pd.DataFrame:
    """Every task, read through SQLAlchemy (the models' types: bool, aware UTC timestamps)."""
    return _sqlalchemy_frame(sample, sa.select(TASK).order_by(TASK.c.id))


def _newest_first(frame: pd.DataFrame) -> list[int]:
    return frame.sort_values(["created_at", "id"], ascending=False)["id"].tolist()


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


# --- read_frame -----------------------------------------------------------------------------------


def test_a_select_reads_exactly_what_sqlalchemy_reads(sample: URL, everything: pd.DataFrame) -> None:
    frame = read_frame(sa.select(TASK).order_by(TASK.c.id), database_url=sample)

    pd.testing.assert_frame_equal(frame, everything)
    assert str(frame["created_at"].dtype) == "datetime64[us, UTC]"
    assert frame["completed"].dtype == bool and frame["id"].dtype == "int64"
    assert frame["description"].isna().any()  # NULLs survive as missing values


def test_sql_text_reads_the_same_rows_with_utc_timestamps(sample: URL, everything: pd.DataFrame) -> None:
    frame = read_frame("SELECT * FROM task ORDER BY id", database_url=sample)

    assert list(frame.columns) == COLUMNS
    for column in ("id", "user_id", "title", "description", "priority"):
        pd.testing.assert_series_equal(frame[column], everything[column], check_dtype=column != "id")
    assert frame["id"].dtype == "int64"
    # SQLite keeps timestamps as text: read_frame parses the models' timestamp columns as UTC instants.
    for column in ("created_at", "updated_at"):
        assert str(frame[column].dtype) == "datetime64[us, UTC]"
        assert (frame[column] == everything[column]).all()
    # Untyped SQL text: SQLite's 0/1 stays a number (as SQLAlchemy gives it); the values agree.
    assert frame["completed"].astype(bool).tolist() == everything["completed"].tolist()


def test_text_columns_typed_by_the_caller_come_back_typed(sample: URL, everything: pd.DataFrame) -> None:
    statement = sa.text("SELECT id, completed, created_at AS made FROM task ORDER BY id").columns(
        sa.column("id", sa.Integer), sa.column("completed", sa.Boolean), sa.column("made", UTCDateTime)
    )
    frame = read_frame(statement, database_url=sample)

    assert frame["completed"].dtype == bool
    assert frame["completed"].tolist() == everything["completed"].tolist()
    assert str(frame["made"].dtype) == "datetime64[us, UTC]"
    assert (frame["made"] == everything["created_at"]).all()


def test_named_parameters_are_bound_including_lists_and_aware_datetimes(sample: URL, everything: pd.DataFrame) -> None:
    user_id = everything["user_id"].mode().iloc[0]
    since = everything["created_at"].median().to_pydatetime().astimezone(timezone(timedelta(hours=5)))  # not UTC on purpose
    frame = read_frame(
        "SELECT id FROM task WHERE user_id = :user AND priority IN :priorities AND created_at >= :since ORDER BY id",
        database_url=sample,
        params={"user": user_id, "priorities": ["low", "high"], "since": since},
    )
    expected = everything[
        (everything["user_id"] == user_id) & everything["priority"].isin(["low", "high"]) & (everything["created_at"] >= since)
    ]
    assert frame["id"].tolist() == expected["id"].tolist()
    assert 0 < len(frame) < len(everything)

    injected = read_frame("SELECT id FROM task WHERE user_id = :user", database_url=sample, params={"user": "x' OR '1'='1"})
    assert injected.empty and list(injected.columns) == ["id"]


def test_positional_parameters_use_the_drivers_placeholders(sample: URL, everything: pd.DataFrame) -> None:
    placeholder = "?" if sample.get_backend_name() == "sqlite" else "$1"
    user_id = everything["user_id"].iloc[0]
    frame = read_frame(f"SELECT count(*) AS n FROM task WHERE user_id = {placeholder}", database_url=sample, params=[user_id])
    assert frame["n"].tolist() == [int((everything["user_id"] == user_id).sum())]


def test_a_select_with_bindparams_takes_its_values_from_params(sample: URL, everything: pd.DataFrame) -> None:
    statement = sa.select(TASK.c.id).where(TASK.c.completed == sa.bindparam("done")).order_by(TASK.c.id)
    frame = read_frame(statement, database_url=sample, params={"done": True})
    assert frame["id"].tolist() == everything.loc[everything["completed"], "id"].tolist()


def test_zero_rows_keep_the_columns_and_their_types(sample: URL, everything: pd.DataFrame) -> None:
    typed = read_frame(sa.select(TASK).where(TASK.c.id < 0), database_url=sample)
    assert list(typed.columns) == COLUMNS and typed.empty
    assert typed.dtypes.astype(str).to_dict() == everything.dtypes.astype(str).to_dict()

    text = read_frame("SELECT id, title, created_at FROM task WHERE 1 = 0", database_url=sample)
    assert list(text.columns) == ["id", "title", "created_at"] and text.empty
    assert str(text["created_at"].dtype) == "datetime64[us, UTC]"


def test_timestamps_names_the_columns_to_parse(sample: URL, everything: pd.DataFrame) -> None:
    frame = read_frame("SELECT id, created_at AS made, updated_at FROM task ORDER BY id", database_url=sample, timestamps=["made"])
    assert str(frame["made"].dtype) == "datetime64[us, UTC]"
    assert (frame["made"] == everything["created_at"]).all()
    if sample.get_backend_name() == "sqlite":  # not named, so left as SQLite stored it
        assert not pd.api.types.is_datetime64_any_dtype(frame["updated_at"])

    with pytest.raises(ConfigurationError) as missing:
        read_frame("SELECT id FROM task", database_url=sample, timestamps=["created_at"])
    assert "created_at" in _one_line(missing)
    with pytest.raises(ConfigurationError) as not_time:
        read_frame("SELECT title FROM task", database_url=sample, timestamps=["title"])
    assert "title" in _one_line(not_time)


def test_postgres_numeric_and_sqlite_real_both_read_as_floats(sample: URL, everything: pd.DataFrame) -> None:
    frame = read_frame("SELECT avg(id) AS mean_id FROM task", database_url=sample)
    assert frame["mean_id"].dtype == "float64"
    assert frame["mean_id"].iloc[0] == pytest.approx(everything["id"].mean())


def test_writes_are_refused_and_change_nothing(sample: URL, everything: pd.DataFrame) -> None:
    writes = [
        "DELETE FROM task",
        "UPDATE task SET title = 'changed'",
        "INSERT INTO users (id, email) VALUES ('intruder', 'intruder@example.com')",
        "DROP TABLE task_relationships",
    ]
    if sample.get_backend_name() == "postgresql":
        writes.append("WITH gone AS (DELETE FROM task RETURNING id) SELECT id FROM gone")
    for statement in writes:
        with pytest.raises(QueryError) as refused:
            read_frame(statement, database_url=sample)
        assert "refused a write" in _one_line(refused), statement
    for sneaky in ("SELECT 1 AS one; DELETE FROM task", "SELECT set_config('transaction_read_only', 'off', false) AS s"):
        with contextlib.suppress(TodoDataError):  # SQLite runs only the first statement, PostgreSQL refuses; nothing may change
            read_frame(sneaky, database_url=sample)

    pd.testing.assert_frame_equal(_sqlalchemy_frame(sample, sa.select(TASK).order_by(TASK.c.id)), everything)
    assert _sqlalchemy_frame(sample, sa.text("SELECT count(*) AS n FROM task_relationships"))["n"].iloc[0] > 0


def test_bad_sql_gives_one_line_errors(sample: URL) -> None:
    with pytest.raises(QueryError) as syntax:
        read_frame("SELEC id FROM task", database_url=sample)
    assert "SELEC" in _one_line(syntax)
    with pytest.raises(QueryError) as column:
        read_frame("SELECT no_such_column FROM task", database_url=sample)
    assert "no_such_column" in _one_line(column)
    with pytest.raises(QueryError) as table:
        read_frame("SELECT * FROM tasks", database_url=sample)
    assert "'tasks'" in _one_line(table)


@pytest.mark.parametrize(
    ("query", "params", "needle"),
    [
        ("SELECT id FROM task WHERE id = :wanted", {"other": 1}, "'other'"),
        (sa.select(TASK.c.id).where(TASK.c.id == sa.bindparam("wanted")), {}, "wanted"),
        (sa.select(TASK.c.id).where(TASK.c.id == sa.bindparam("wanted")), {"wanted": 1, "typo": 2}, "'typo'"),
        (sa.select(TASK.c.id), [1], "mapping"),
        ("SELECT 1", "not params", "mapping"),
        (sa.delete(TASK), None, "select"),
        ("   ", None, "empty"),
    ],
    ids=["unknown-name", "missing-value", "unused-name", "sequence-for-select", "string-params", "delete-construct", "blank"],
)
def test_misused_read_frame_says_what_to_fix(sample: URL, query: object, params: object, needle: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        read_frame(query, database_url=sample, params=params)  # type: ignore[arg-type]
    assert needle in _one_line(raised)


def test_database_url_defaults_to_the_environment(sample: URL, everything: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sample.render_as_string(hide_password=False))
    assert count_tasks() == len(everything)


def test_the_sqlalchemy_path_for_other_dialects_reads_the_same_frames(
    sample: URL, everything: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = [
        (sa.select(TASK).order_by(TASK.c.id), None),
        ("SELECT * FROM task WHERE priority IN :p ORDER BY id", {"p": ["low", "high"]}),
        ("SELECT avg(id) AS mean_id, count(*) AS n FROM task", None),
    ]
    through_adbc = [read_frame(query, database_url=sample, params=params) for query, params in queries]
    monkeypatch.setattr(frames, "ADBC_BACKENDS", ())
    for (query, params), expected in zip(queries, through_adbc, strict=True):
        pd.testing.assert_frame_equal(read_frame(query, database_url=sample, params=params), expected)
    with pytest.raises(QueryError):
        read_frame("DELETE FROM task", database_url=sample)


def test_sqlite_columns_that_start_with_nulls_still_read(sample: URL, everything: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    if sample.get_backend_name() != "sqlite":
        pytest.skip("type inference from the first rows is the SQLite driver's")
    # Small batches make the driver guess a type from NULLs alone; read_frame must retry and read every row.
    monkeypatch.setattr(sqlite_reads, "BATCH_ROWS_TRIED", (16, 1 << 30))
    frame = read_frame("SELECT id, CASE WHEN id <= 100 THEN NULL ELSE title END AS late FROM task ORDER BY id", database_url=sample)
    expected = everything["title"].where(everything["id"] > 100)
    assert frame["late"].isna().sum() == expected.isna().sum()
    assert frame["late"].dropna().tolist() == expected.dropna().tolist()


# --- SQLite: ADBC's own copy of SQLite never drops this process's locks ------------------------------
# POSIX locks belong to the process: if ADBC's copy of SQLite closed the file here, the locks this process's
# sqlite3 connections hold would go too (https://sqlite.org/howtocorrupt.html, 2.2.1).


def _another_process_may_write(path: Path) -> bool:
    """Whether a second process gets SQLite's write lock on the file right now (it never waits)."""
    answer = other_process_writes(path)
    assert answer in ("wrote", "database is locked"), answer
    return answer == "wrote"


@pytest.fixture
def small_sqlite(tmp_path: Path) -> tuple[URL, Path]:
    path = tmp_path / "todo.db"
    url = make_url(f"sqlite+pysqlite:///{path}")
    upgrade(url)
    load_sample(url, users=3, tasks=40)
    return url, path


@contextlib.contextmanager
def _write_in_progress(how: str, url: URL, path: Path) -> Iterator[None]:
    """A write transaction held open by this process, through todo_data's session or a plain sqlite3 connection."""
    if how == "session_scope":
        with session_scope(url) as session:
            user_id = session.exec(sa.select(User.id).limit(1)).one()[0]
            session.add(Task(user_id=user_id, title="not yet committed"))
            session.flush()
            yield
    else:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE task SET title = 'not yet committed' WHERE id = (SELECT min(id) FROM task)")
            yield
            connection.execute("COMMIT")


@pytest.mark.parametrize("how", ["session_scope", "sqlite3"])
def test_read_frame_inside_a_write_transaction_leaves_its_lock_in_place(small_sqlite: tuple[URL, Path], how: str) -> None:
    url, path = small_sqlite
    with _write_in_progress(how, url, path):
        assert not _another_process_may_write(path)
        during = read_frame("SELECT id, title FROM task ORDER BY id", database_url=url)
        assert not _another_process_may_write(path), "read_frame dropped this process's write lock"
        assert "not yet committed" not in set(during["title"])  # what any other connection sees: the committed rows
        assert count_tasks(url) == 40
    assert _another_process_may_write(path)
    after = read_frame("SELECT id, title FROM task ORDER BY id", database_url=url)
    assert (after["title"] == "not yet committed").sum() == 1
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_the_file_is_open_here_exactly_while_a_connection_is(small_sqlite: tuple[URL, Path], tmp_path: Path) -> None:
    url, path = small_sqlite
    assert not frames.held_open_here(path)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert frames.held_open_here(path)
        assert not frames.held_open_here(tmp_path / "elsewhere.db")
        connection.execute("SELECT count(*) FROM task").fetchall()
    assert not frames.held_open_here(path)
    with session_scope(url, read_only=True) as session:
        session.exec(sa.select(sa.func.count()).select_from(TASK)).one()
        assert frames.held_open_here(path)
    with session_scope(url) as session:
        session.exec(sa.select(sa.func.count()).select_from(TASK)).one()
    assert not frames.held_open_here(path)  # no pooled connection keeps it open: the next read_frame runs here


def test_a_connection_opening_during_an_in_process_read_waits_until_it_ends(small_sqlite: tuple[URL, Path]) -> None:
    url, _path = small_sqlite
    counted: list[int] = []

    def count() -> None:
        with session_scope(url, read_only=True) as session:
            counted.append(session.exec(sa.select(sa.func.count()).select_from(TASK)).one()[0])

    with IN_PROCESS_SQLITE_READS.reading():
        thread = threading.Thread(target=count)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive() and not counted  # opened its file, then waited before its first statement
    thread.join(30)
    assert counted == [40]


def test_reads_while_the_file_is_open_here_give_the_same_frames_and_errors(
    sample: URL, everything: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sample.get_backend_name() != "sqlite":
        pytest.skip("ADBC's separate copy of the database engine is SQLite's")
    monkeypatch.setattr(sqlite_reads, "BATCH_ROWS_TRIED", (16, 1 << 30))  # the retry after a type mismatch, in the child too
    middle = everything["created_at"].iloc[len(everything) // 2].to_pydatetime()
    reads: list[Callable[[], pd.DataFrame]] = [
        lambda: read_frame(sa.select(TASK).order_by(TASK.c.id), database_url=sample),
        lambda: read_frame("SELECT * FROM task WHERE created_at >= :since ORDER BY id", database_url=sample, params={"since": middle}),
        lambda: read_frame("SELECT id FROM task WHERE priority IN :p ORDER BY id", database_url=sample, params={"p": ["high", "low"]}),
        lambda: read_frame("SELECT id, title FROM task WHERE id < ? ORDER BY id", database_url=sample, params=[5]),
        lambda: read_frame("SELECT id, CASE WHEN id <= 100 THEN NULL ELSE title END AS late FROM task ORDER BY id", database_url=sample),
        lambda: read_frame("SELECT * FROM task WHERE 0", database_url=sample),
        lambda: tasks_frame(sample, text="a", limit=7),
        lambda: weekly_tasks(sample, completed=False),
    ]
    failing = ["SELEC id FROM task", "SELECT * FROM tasks", "DELETE FROM task", "SELECT * FROM task_relationship"]

    def errors() -> list[tuple[type, str]]:
        found = []
        for statement in failing:
            with pytest.raises(TodoDataError) as raised:
                read_frame(statement, database_url=sample)
            found.append((type(raised.value), _one_line(raised)))
        return found

    path = Path(make_url(str(sample)).database or "")
    alone, alone_errors = [read() for read in reads], errors()
    with contextlib.closing(sqlite3.connect(path)) as held:
        held.execute("SELECT count(*) FROM task").fetchall()
        assert frames.held_open_here(path)
        beside, beside_errors = [read() for read in reads], errors()
    for one, other in zip(alone, beside, strict=True):
        pd.testing.assert_frame_equal(one, other)
    pd.testing.assert_frame_equal(beside[0], everything)
    assert beside_errors == alone_errors


# --- connections and errors -----------------------------------------------------------------------


def test_missing_sqlite_file_says_to_upgrade(tmp_path) -> None:
    url = make_url(f"sqlite+pysqlite:///{tmp_path / 'nowhere.db'}")
    with pytest.raises(ConnectionFailed) as raised:
        read_frame("SELECT 1", database_url=url)
    assert "todo-data db upgrade" in _one_line(raised)
    assert not (tmp_path / "nowhere.db").exists()  # a read never creates the file


def test_a_database_without_the_schema_says_to_upgrade(database_url: URL) -> None:
    if database_url.get_backend_name() == "sqlite":
        _engine(database_url).connect().close()  # the file exists, empty
    with pytest.raises(MigrationError) as raised:
        tasks_frame(database_url)
    assert "todo-data db upgrade" in _one_line(raised)


def test_sqlite_paths_with_spaces_and_uri_characters_work(tmp_path) -> None:
    folder = tmp_path / "odd dir #1 ?x=%20"
    folder.mkdir()
    url = URL.create("sqlite+pysqlite", database=str(folder / "my todo.db"))
    upgrade(url)
    assert (folder / "my todo.db").is_file()
    load_sample(url, users=2, tasks=15)
    assert count_tasks(url) == 15
    with pytest.raises(QueryError):
        read_frame("DELETE FROM task", database_url=url)


def test_passwords_never_appear_in_errors() -> None:
    require_pg()
    password = "S3cr3t p@ss:w/rd?#%"
    url = create_pg_database().set(password=password)  # the test server trusts local users: any password connects
    try:
        upgrade(url.set(password=None))
        # The password is escaped into the libpq URI: the connection works, so the URI was read as meant.
        assert read_frame("SELECT current_user AS who", database_url=url)["who"].tolist() == ["postgres"]
        failures = [
            (url, "SELEC 1", QueryError),
            (url, "DELETE FROM task", QueryError),
            (url.set(port=1), "SELECT 1", ConnectionFailed),
            (url.set(database=f"todo_data_test_missing_{uuid.uuid4().hex[:8]}"), "SELECT 1", ConnectionFailed),
        ]
        for target, query, error in failures:
            with pytest.raises(error) as raised:
                read_frame(query, database_url=target)
            _one_line(raised)
            shown = "".join(traceback.format_exception(raised.value))
            assert password not in shown and "S3cr3t" not in shown
    finally:
        frames.close_connections()
        drop_pg_database(url)


def test_an_unreachable_server_is_one_connection_failed_line() -> None:
    url = make_url("postgresql+psycopg://postgres:hunter2@127.0.0.1:1/todo")
    with pytest.raises(ConnectionFailed) as raised:
        read_frame("SELECT 1", database_url=url)
    message = _one_line(raised)
    assert "127.0.0.1:1" in message and "hunter2" not in message


def test_reads_survive_the_server_dropping_idle_connections(sample: URL, everything: pd.DataFrame) -> None:
    if sample.get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL keeps one idle connection per database; SQLite has none")
    assert count_tasks(sample) == len(everything)
    _admin_execute(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{sample.database}' AND pid <> pg_backend_pid()"
    )
    assert count_tasks(sample) == len(everything)
    frames.close_connections()
    assert count_tasks(sample) == len(everything)


# --- tasks_frame, count_tasks, weekly_tasks ---------------------------------------------------------

Filter = Callable[[pd.DataFrame], tuple[dict, pd.Series]]


def _middle(everything: pd.DataFrame) -> pd.Timestamp:
    return everything["created_at"].sort_values().iloc[len(everything) // 2]


def _contains(everything: pd.DataFrame, text: str) -> pd.Series:
    def has(column: str) -> pd.Series:
        return everything[column].fillna("").str.lower().str.contains(text.lower(), regex=False)

    return has("title") | has("description")


FILTERS: dict[str, Filter] = {
    "user": lambda t: ({"user_id": t["user_id"].mode().iloc[0]}, t["user_id"] == t["user_id"].mode().iloc[0]),
    "completed": lambda t: ({"completed": True}, t["completed"]),
    "open": lambda t: ({"completed": False}, ~t["completed"]),
    "one-priority": lambda t: ({"priority": "high"}, t["priority"] == "high"),
    "priorities": lambda t: ({"priority": ["low", "medium"]}, t["priority"].isin(["low", "medium"])),
    "legacy-priority": lambda t: ({"priority": "urgent"}, t["priority"] == "urgent"),
    "no-priority": lambda t: ({"priority": [None]}, t["priority"].isna()),
    "empty-priority": lambda t: ({"priority": [""]}, t["priority"] == ""),
    "priority-or-none": lambda t: ({"priority": ["high", None]}, (t["priority"] == "high") | t["priority"].isna()),
    "from-datetime": lambda t: ({"created_from": _middle(t).to_pydatetime()}, t["created_at"] >= _middle(t)),
    "to-date-inclusive": lambda t: (
        {"created_to": _middle(t).date()},
        t["created_at"] < pd.Timestamp(_middle(t).date() + timedelta(days=1), tz="UTC"),
    ),
    "window-naive-is-utc": lambda t: (
        {"created_from": datetime(2025, 1, 1), "created_to": datetime(2025, 7, 1)},
        (t["created_at"] >= pd.Timestamp("2025-01-01", tz="UTC")) & (t["created_at"] < pd.Timestamp("2025-07-01", tz="UTC")),
    ),
    "text-any-case": lambda t: ({"text": "REPORT"}, _contains(t, "report")),
    "combined": lambda t: (
        {"completed": False, "priority": ("high",), "text": "e", "created_from": date(2024, 6, 1)},
        ~t["completed"] & (t["priority"] == "high") & _contains(t, "e") & (t["created_at"] >= pd.Timestamp("2024-06-01", tz="UTC")),
    ),
}


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_matches_pandas_filtering_of_every_task(sample: URL, everything: pd.DataFrame, name: str) -> None:
    kwargs, mask = FILTERS[name](everything)
    expected = everything[mask]
    assert 0 < len(expected) < len(everything), "the filter must select some rows and leave some out"

    frame = tasks_frame(sample, **kwargs)
    assert list(frame.columns) == COLUMNS
    assert frame["id"].tolist() == _newest_first(expected)
    assert count_tasks(sample, **kwargs) == len(expected)
    assert int(weekly_tasks(sample, **kwargs)["created"].sum()) == len(expected)


def test_task_priorities_are_every_stored_value_known_ones_first(sample: URL, everything: pd.DataFrame) -> None:
    """The explorer offers these, so legacy values the task report counts can be chosen (issue 15, item 10)."""
    stored = {None if pd.isna(value) else value for value in everything["priority"]}
    assert {None, "", "urgent"} <= stored, "the sample plants legacy priorities and NULLs"
    values = task_priorities(sample)
    assert set(values) == stored and len(values) == len(stored)
    assert values[:3] == ["low", "medium", "high"] and values[-1] is None
    assert values[3:-1] == sorted(stored - {None, "low", "medium", "high"})


def test_tasks_frame_reads_every_task_newest_first_or_oldest_first(sample: URL, everything: pd.DataFrame) -> None:
    newest = tasks_frame(sample)
    pd.testing.assert_frame_equal(newest, everything.set_index("id").loc[_newest_first(everything)].reset_index())
    oldest = tasks_frame(sample, newest_first=False)
    assert oldest["id"].tolist() == _newest_first(everything)[::-1]


@pytest.mark.parametrize("text", METACHARACTER_SEARCHES)
def test_sql_metacharacters_in_text_are_searched_literally(sample: URL, everything: pd.DataFrame, text: str) -> None:
    expected = everything[_contains(everything, text)]
    assert 0 < len(expected) < len(everything)
    assert tasks_frame(sample, text=text)["id"].tolist() == _newest_first(expected)
    assert count_tasks(sample, text=text) == len(expected)
    assert count_tasks(sample) == len(everything)  # the table is still there, whole


def test_pages_put_together_are_the_whole_result_and_count_agrees(sample: URL) -> None:
    filters = {"completed": False}
    whole = tasks_frame(sample, **filters)
    total = count_tasks(sample, **filters)
    assert total == len(whole) > 40
    size = 37
    pages = [tasks_frame(sample, **filters, limit=size, offset=offset) for offset in range(0, total, size)]
    assert all(len(page) == size for page in pages[:-1]) and 0 < len(pages[-1]) <= size
    pd.testing.assert_frame_equal(pd.concat(pages, ignore_index=True), whole)

    beyond = tasks_frame(sample, **filters, limit=size, offset=total)
    assert beyond.empty and list(beyond.columns) == COLUMNS
    assert tasks_frame(sample, limit=0).empty


def test_weekly_tasks_counts_each_utc_week_from_monday(sample: URL, everything: pd.DataFrame) -> None:
    weekly = weekly_tasks(sample)
    assert list(weekly.columns) == ["week", "created"]
    assert str(weekly["week"].dtype) == "datetime64[us, UTC]" and weekly["created"].dtype == "int64"
    assert (weekly["week"].dt.day_of_week == 0).all() and (weekly["week"] == weekly["week"].dt.floor("D")).all()
    assert (weekly["week"].diff().dropna() == pd.Timedelta(days=7)).all()  # no missing weeks
    assert (weekly["created"] == 0).any()  # the sample leaves some weeks empty; they are listed
    assert int(weekly["created"].sum()) == count_tasks(sample) == len(everything)

    created = everything["created_at"]
    monday = (created.dt.floor("D") - pd.to_timedelta(created.dt.day_of_week, unit="D")).rename("week")
    expected = everything.groupby(monday).size()
    actual = weekly.set_index("week")["created"]
    assert actual[actual > 0].to_dict() == expected.to_dict()


def test_the_explorer_queries_on_an_empty_database(head_url: URL) -> None:
    assert count_tasks(head_url) == 0
    assert list(tasks_frame(head_url).columns) == COLUMNS
    weekly = weekly_tasks(head_url)
    assert weekly.empty and list(weekly.columns) == ["week", "created"]
    assert str(weekly["week"].dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"limit": -1}, "limit"),
        ({"limit": True}, "limit"),
        ({"offset": -5}, "offset"),
        ({"created_from": date(2025, 2, 1), "created_to": date(2025, 1, 1)}, "created_from"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"created_to": 20250101}, "created_to"),
        ({"priority": 3}, "priority"),
        ({"priority": []}, "priority"),
        ({"priority": ["high", 3]}, "priority"),
        ({"completed": "yes"}, "completed"),
        ({"user_id": 5}, "user_id"),
        ({"text": 5}, "text"),
        ({"newest_first": "no"}, "newest_first"),
    ],
    ids=lambda value: str(value),
)
def test_bad_filters_are_one_line_configuration_errors(tmp_path, kwargs: dict, needle: str) -> None:
    url = make_url(f"sqlite+pysqlite:///{tmp_path / 'never-opened.db'}")  # checked before any connection
    with pytest.raises(ConfigurationError) as raised:
        tasks_frame(url, **kwargs)
    assert needle in _one_line(raised)
    if "limit" not in kwargs and "offset" not in kwargs and "newest_first" not in kwargs:
        with pytest.raises(ConfigurationError):
            count_tasks(url, **kwargs)


def test_weekly_tasks_and_tasks_weekly_agree_on_the_last_instant_of_a_sunday(head_url: URL) -> None:
    """One week_start construct serves both: a task at Sunday 23:59:59.9996 UTC is in the week that Sunday ends.

    SQLite computes date() with modifiers in milliseconds, so without an inner date() that instant rounds into Monday.
    """
    sunday_late = datetime(2025, 12, 28, 23, 59, 59, 999600, tzinfo=UTC)
    engine = _engine(head_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(User.__table__), {"id": "u", "email": "u@example.com", "created_at": sunday_late, "updated_at": sunday_late}
            )
            connection.execute(
                sa.insert(TASK), {"user_id": "u", "title": "late", "completed": False, "created_at": sunday_late, "updated_at": sunday_late}
            )
    finally:
        engine.dispose()
    monday = pd.Timestamp("2025-12-22", tz="UTC")
    assert weekly_tasks(head_url).to_dict("list") == {"week": [monday], "created": [1]}
    from todo_data import tasks

    weekly = tasks.weekly(head_url, now=datetime(2025, 12, 30, tzinfo=UTC), weeks=2).set_index("week")["created"]
    assert weekly.to_dict() == {monday: 1, monday + pd.Timedelta(days=7): 0}
