"""A hot standby of a real primary: every read works there, every write refuses with one line that names it (issue 18).

The servers are the tests' own (the session's ``replica`` fixture in conftest: ``initdb`` and ``pg_basebackup -R``);
the database is made at head and sampled on the primary, and read on the standby once it has replayed the WAL.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import Replica, run_sql
from sqlalchemy.engine import URL

from todo_data import migrations, read_frame
from todo_data.backends import backend_for
from todo_data.cli import main
from todo_data.db import dispose_engines
from todo_data.indexes import index_report
from todo_data.reports import report_names
from todo_data.sample import load_sample
from todo_data.settings import mask_url
from todo_data.standby import standby_reason
from todo_data.tasks import summary


@dataclass(frozen=True)
class Databases:
    """One database at head with sample rows, one at 003 with none: on the primary, and the same two on the standby."""

    primary: URL
    standby: URL
    behind_primary: URL
    behind_standby: URL


@pytest.fixture(scope="module")
def databases(replica: Replica) -> Iterator[Databases]:
    names = [f"todo_data_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    for name in names:
        run_sql(replica.primary, f'CREATE DATABASE "{name}"', autocommit=True)
    made = Databases(*(server.set(database=name) for name in names for server in (replica.primary, replica.standby)))
    try:
        migrations.upgrade(made.primary)
        with sa.create_engine(made.primary, poolclass=sa.pool.NullPool).connect() as connection:
            available = {row[0] for row in connection.execute(sa.text("SELECT name FROM pg_available_extensions"))}
            preloaded = connection.execute(sa.text("SHOW shared_preload_libraries")).scalar_one()
        extensions = [
            name for name in ("pg_stat_statements", "hypopg") if name in available and (name != "pg_stat_statements" or name in preloaded)
        ]
        run_sql(made.primary, *(f"CREATE EXTENSION {name}" for name in extensions))
        load_sample(made.primary, users=8, tasks=300, seed=3)
        migrations.upgrade(made.behind_primary, "003")
        replica.wait_for_replay()
        yield made
    finally:
        dispose_engines()
        for name in names:
            run_sql(replica.primary, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', autocommit=True)


def _state(url: URL) -> tuple[tuple[str, ...], dict[str, int]]:
    """What a refused write must leave alone: the revision and the rows of every table."""
    with sa.create_engine(url, poolclass=sa.pool.NullPool).connect() as connection:
        return migrations.current(url), migrations.row_counts(connection)


def test_the_backend_tells_a_standby_from_a_primary(databases: Databases, tmp_path: Path) -> None:
    for url, expected in ((databases.standby, True), (databases.primary, False)):
        with sa.create_engine(url, poolclass=sa.pool.NullPool).connect() as connection:
            reason = backend_for(url).standby_reason(connection)
        assert (reason is not None) is expected, url
    assert "hot standby" in (standby_reason(databases.standby) or "")
    sqlite = sa.make_url(f"sqlite:///{tmp_path / 'todo.db'}")
    migrations.upgrade(sqlite)
    assert standby_reason(sqlite) is None


@pytest.mark.parametrize(
    ("command", "which", "advice"),
    [
        (["db", "upgrade"], "standby", "run it on the primary"),
        (["db", "upgrade"], "behind_standby", "run it on the primary"),
        (["db", "downgrade", "001"], "standby", "run it on the primary"),
        (["db", "stamp", "001"], "standby", "run it on the primary"),
        (["sample", "--append"], "standby", "run it on the primary"),
        (["db", "plan"], "standby", "pass --trace-url"),
        (["db", "plan"], "behind_standby", "pass --trace-url"),
    ],
)
def test_every_write_refuses_on_the_standby_with_one_line(
    databases: Databases, command: list[str], which: str, advice: str, capsys: pytest.CaptureFixture[str]
) -> None:
    standby: URL = getattr(databases, which)
    primary = standby.set(port=databases.primary.port)
    before = _state(primary)
    code = main([*command, "--database-url", standby.render_as_string(hide_password=False)])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 1, (out, err)
    assert len(lines) == 1 and lines[-1].startswith("todo-data: error: "), err
    assert f"{mask_url(standby)} is a hot standby" in lines[-1]
    assert advice in lines[-1] and "read-only transaction" not in lines[-1]
    assert f"`todo-data {' '.join(command[:2] if command[0] == 'db' else command[:1])}`" in lines[-1]
    assert _state(primary) == before


def test_plan_on_a_standby_traces_on_the_trace_url_it_was_told_to_pass(
    databases: Databases, make_database, capsys: pytest.CaptureFixture[str]
) -> None:
    staging = make_database("postgresql")  # a copy at the standby's revision, on a primary
    migrations.upgrade(staging, "003")
    code = main(["db", "plan", "--database-url", str(databases.behind_standby), "--trace-url", str(staging)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"Traced on {mask_url(staging)}" in out
    assert "004" in out
    assert migrations.current(databases.behind_primary) == ("003",)


def test_summary_and_read_frame_read_the_standby(databases: Databases, capsys: pytest.CaptureFixture[str]) -> None:
    on_standby = summary(databases.standby)
    assert on_standby.database == mask_url(databases.standby)
    assert dataclasses.replace(on_standby, database="") == dataclasses.replace(summary(databases.primary), database="")
    assert on_standby.tasks == 300
    query = "SELECT completed, count(*) AS n FROM task GROUP BY completed ORDER BY completed"
    assert read_frame(query, database_url=databases.standby).equals(read_frame(query, database_url=databases.primary))
    assert main(["summary", "--database-url", str(databases.standby)]) == 0
    assert "tasks: 300" in capsys.readouterr().out


def test_the_index_report_says_a_standbys_counters_are_its_own(databases: Databases) -> None:
    note = "usage counters (scans, cache hits, top queries) are the standby's own"
    assert any(note in line for line in index_report(databases.standby).notes)
    assert not any(note in line for line in index_report(databases.primary).notes)


def test_tables_the_primary_analyzed_are_not_called_never_analyzed_on_the_standby(databases: Databases, replica: Replica) -> None:
    """A standby's pg_stat_user_tables counts its own activity only (no last_analyze): the primary's ANALYZE shows in
    pg_class there, so the report does not tell the user to run ANALYZE where it cannot run."""
    run_sql(databases.primary, "ANALYZE")
    replica.wait_for_replay()
    notes = index_report(databases.standby).notes
    assert not [note for note in notes if note.startswith("Never analyzed")], notes
    assert any("Each server counts only the queries run on it" in note for note in notes)


def test_report_all_reads_the_replica_named_by_reports_database_url(
    databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", str(databases.primary))
    monkeypatch.setenv("REPORTS_DATABASE_URL", str(databases.standby))
    before = _state(databases.primary)
    code = main(["report", "all", "--output-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines()] == report_names()
    for html in tmp_path.glob("*.html"):
        text = html.read_text()
        assert f"127.0.0.1:{databases.standby.port}/{databases.standby.database}" in text, html.name
        assert f"127.0.0.1:{databases.primary.port}/" not in text, html.name
    index_html = (tmp_path / "03-index-usage.html").read_text().replace("&#x27;", "'").replace("&#39;", "'")
    assert "are the standby's own" in index_html
    assert _state(databases.primary) == before
