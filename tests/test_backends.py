"""The backend registry: every spelling of a supported URL finds its backend, anything else fails once with one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from todo_data import migrations
from todo_data.backends import PostgresqlBackend, SqliteBackend, backend_for, backend_names, find_backend
from todo_data.db import build_engine
from todo_data.errors import ConfigurationError
from todo_data.sample import load_sample

SECRET = "s3cr3t-registry"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", PostgresqlBackend),
        ("postgres://u@h/db", PostgresqlBackend),
        ("postgresql+asyncpg://u@h/db", PostgresqlBackend),
        (sa.make_url("postgresql+psycopg2://u@h/db"), PostgresqlBackend),
        ("postgresql", PostgresqlBackend),
        ("sqlite:///data/todo.db", SqliteBackend),
        ("sqlite+aiosqlite:////tmp/x.db", SqliteBackend),
        ("sqlite", SqliteBackend),
    ],
)
def test_every_accepted_spelling_finds_its_backend(given: str | URL, expected: type) -> None:
    assert type(backend_for(given)) is expected
    assert backend_for(given) is backend_for(expected.name)  # one instance per backend


@pytest.mark.parametrize("given", [f"mysql://app:{SECRET}@db.example.com/todo", "mssql+pyodbc://h/db", "oracle", "not a url"])
def test_an_unknown_backend_fails_at_lookup_with_one_line_and_no_password(given: str) -> None:
    assert find_backend(given) is None
    with pytest.raises(ConfigurationError) as caught:
        backend_for(given)
    message = str(caught.value)
    assert message.startswith("todo-data supports PostgreSQL and SQLite; got ")
    assert message.endswith("use a postgresql:// or sqlite:/// URL.")
    assert "\n" not in message and SECRET not in message


def test_the_registry_holds_the_two_backends() -> None:
    assert backend_names() == ("postgresql", "sqlite")


# A backend name compared with a literal, either way round (the grep of issue 16's "done when").
NAME_COMPARED = re.compile(r"""(==|!=)\s*["'](sqlite|postgresql)["']|["'](sqlite|postgresql)["']\s*(==|!=)""")


def test_no_module_outside_the_backends_compares_a_backend_name() -> None:
    package = Path(migrations.__file__).parent
    found = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        if "backends" not in path.relative_to(package).parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAME_COMPARED.search(line)
    ]
    assert found == []


def test_same_database(tmp_path) -> None:
    pg, lite = backend_for("postgresql"), backend_for("sqlite")
    assert pg.same_database(sa.make_url("postgresql://a@localhost/db"), sa.make_url("postgresql://b@localhost:5432/db"))
    assert not pg.same_database(sa.make_url("postgresql://a@localhost/db"), sa.make_url("postgresql://a@localhost:5433/db"))
    assert not pg.same_database(sa.make_url("postgresql://a@localhost/db"), sa.make_url("postgresql://a@localhost/other"))
    file = tmp_path / "x.db"
    assert lite.same_database(sa.make_url(f"sqlite:///{file}"), sa.make_url(f"sqlite:///{tmp_path}/./x.db"))
    assert not lite.same_database(sa.make_url(f"sqlite:///{file}"), sa.make_url(f"sqlite:///{tmp_path}/y.db"))


def test_row_counts_are_exact_below_the_threshold_and_skip_missing_tables(head_url: URL) -> None:
    load_sample(head_url, users=3, tasks=40, seed=1)
    backend = backend_for(head_url)
    engine = build_engine(head_url, read_only=True)
    try:
        with engine.connect() as connection:
            counts = backend.row_counts(connection, {"task", "users", "no_such_table"}, exact_below=1_000_000)
    finally:
        engine.dispose()
    assert counts == {"task": 40, "users": 3}
    assert migrations.check(head_url) == []


@pytest.mark.parametrize(
    ("stamp", "monday"),
    [
        # SQLite 3.40 (Python's) computes date() with modifiers in milliseconds: .9996 would round into Monday.
        ("2025-12-28 23:59:59.999600", "2025-12-22"),
        ("2025-12-29 00:00:00", "2025-12-29"),
        ("2025-12-31 12:00:00", "2025-12-29"),
    ],
)
def test_week_start_is_the_monday_of_the_utc_week_on_each_backend(backend: str, make_database, stamp: str, monday: str) -> None:
    from datetime import date

    from todo_data.backends.expressions import week_start

    url = make_database(backend)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    value = sa.literal(stamp) if backend == "sqlite" else sa.cast(sa.literal(f"{stamp}+00"), sa.DateTime(timezone=True))
    try:
        with engine.connect() as connection:
            if backend == "postgresql":
                connection.exec_driver_sql("SET TIME ZONE 'Pacific/Auckland'")  # the week is UTC's, whatever the session's zone
            found = connection.execute(sa.select(week_start(value))).scalar_one()
    finally:
        engine.dispose()
    assert str(found)[:10] == monday and date.fromisoformat(monday).weekday() == 0


@pytest.mark.parametrize(
    ("backend", "url", "driver_says", "line"),
    [
        (
            "postgresql",
            "postgresql://app@db.example.com/todo",
            'FATAL:  database "todo" does not exist',
            "Database 'todo' does not exist on db.example.com:5432",
        ),
        (
            "postgresql",
            "postgresql://app@db.example.com/todo",
            "connection refused",
            "Cannot reach the database server at db.example.com:5432",
        ),
        ("sqlite", "sqlite:////srv/todo.db", "file is not a database", "/srv/todo.db is not a SQLite database"),
        ("sqlite", "sqlite:////srv/todo.db", "unable to open database file", "Cannot open SQLite file /srv/todo.db"),
    ],
)
def test_each_backend_words_its_own_driver_errors_and_no_other(backend: str, url: str, driver_says: str, line: str) -> None:
    own, other = backend_for(backend), next(found for name in backend_names() if (found := backend_for(name)).name != backend)
    assert (own.describe_error(driver_says, sa.make_url(url)) or "").startswith(line)
    assert other.describe_error(driver_says, sa.make_url(url)) is None
