"""Least privilege (issue 18, item 2): every read path for a role that can only SELECT the kit's tables.

The scene is set as a superuser (a database at head with sample rows, another application's tables, the extensions
the server has); then everything runs as a role of the test's own: one with SELECT on users, task,
task_relationships and alembic_version only, and one that is also a member of pg_monitor. What such a role cannot
see becomes a note naming the privilege and its GRANT, never a failed cell. On SQLite the same read paths run on a
database opened read-only (``mode=ro``; the file itself chmod 444).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import add_foreign_objects, run_sql
from sqlalchemy.engine import URL

from todo_data import dispose_engines, read_frame
from todo_data.indexes import index_report
from todo_data.migrations import upgrade
from todo_data.reports import report_names
from todo_data.sample import load_sample

ROOT = Path(__file__).resolve().parent.parent
KIT_TABLES = "users, task, task_relationships, alembic_version"
UNREADABLE = 'account, session, "sessionCounts", "user", verification, auth.users'  # Better Auth's tables, a materialized view, another schema's table


def todo_data(*args: str, url: URL | str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own, with DATABASE_URL for the role (this checkout's package)."""
    url_text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REPORTS_DATABASE_URL")}
    environment |= {"DATABASE_URL": url_text, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "todo_data.cli", *args], capture_output=True, text=True, env=environment, cwd=cwd, check=False, timeout=900
    )


def notebook_text(path: Path) -> str:
    """What an executed notebook shows: its markdown, HTML (unescaped) and text outputs, one string."""
    document = json.loads(path.read_text())
    parts = []
    for cell in document["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for kind in ("text/markdown", "text/html", "text/plain"):
                if kind in data:
                    parts.append(html.unescape("".join(data[kind])))
            if "text" in output:
                parts.append("".join(output["text"]))
    return "\n".join(parts)


def report_all(url: URL | str, tmp_path: Path) -> dict[str, str]:
    """``todo-data report all`` as the URL's role: exit 0 and every report written; each notebook's outputs by name."""
    out = tmp_path / "reports"
    result = todo_data("report", "all", "--output-dir", str(out), url=url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == report_names()
    return {name: notebook_text(out / f"{name}.ipynb") for name in report_names()}


def other_read_paths(url: URL | str, tmp_path: Path) -> None:
    """summary, db check, db current, export and read_frame, each exit 0 (or a frame) as the URL's role."""
    for args in (("summary",), ("db", "check"), ("db", "current"), ("export", "all", "--output-dir", str(tmp_path / "export"))):
        result = todo_data(*args, url=url, cwd=tmp_path)
        assert result.returncode == 0, f"{' '.join(args)}: {result.stderr}"
    assert "No differences" in todo_data("db", "check", url=url, cwd=tmp_path).stdout
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["dependencies.parquet", "tasks.parquet", "users.parquet"]
    assert int(read_frame("SELECT count(*) AS n FROM task", database_url=url)["n"].iloc[0]) == 300


# --- PostgreSQL -------------------------------------------------------------------------------------------------


def _available(url: URL) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            preloaded = str(connection.execute(sa.text("SHOW shared_preload_libraries")).scalar())
            names = set(connection.execute(sa.text("SELECT name FROM pg_available_extensions")).scalars())
    finally:
        engine.dispose()
    return {n for n in ("pg_stat_statements", "hypopg") if n in names and (n != "pg_stat_statements" or n in preloaded)}


@pytest.fixture
def shared_pg(make_database) -> URL:
    """As a superuser: a sampled database at head, Better Auth's tables beside it, and the extensions the server has."""
    url = make_database("postgresql")
    upgrade(url)
    load_sample(url, users=12, tasks=300, seed=1)
    add_foreign_objects(url)
    run_sql(url, *(f"CREATE EXTENSION {name}" for name in sorted(_available(url))))
    run_sql(url, "ANALYZE")
    # The superuser's statements, called often enough that pg_stat_statements keeps them while other tests come and go
    run_sql(url, *["SELECT count(*) FROM task WHERE completed"] * 50)
    return url


@contextlib.contextmanager
def role(url: URL, *, monitor: bool = False, tables: str = KIT_TABLES) -> Iterator[tuple[str, URL]]:
    """A login role of the test's own that may SELECT ``tables`` (the kit's four; and is in pg_monitor); dropped after."""
    name = f"todo_data_test_{uuid.uuid4().hex[:10]}"
    run_sql(url, f'CREATE ROLE "{name}" LOGIN', f'GRANT SELECT ON {tables} TO "{name}"')
    if monitor:
        run_sql(url, f'GRANT pg_monitor TO "{name}"')
    try:
        yield name, url.set(username=name, password=None)
    finally:
        dispose_engines()
        run_sql(url, f'DROP OWNED BY "{name}"', f'DROP ROLE "{name}"')


def _fk_findings(report_text: str) -> None:
    """Findings on another application's tables still reach a role that cannot read them."""
    assert "Foreign key session_userId_fkey session(userId) -> user(id) has no index" in report_text
    assert "Foreign key account_userId_fkey account(userId) -> user(id) has no index" in report_text


def test_a_select_only_role_runs_every_report_with_notes_naming_the_grants(shared_pg: URL, tmp_path: Path) -> None:
    with role(shared_pg) as (name, url):
        outputs = report_all(url, tmp_path)
        other_read_paths(url, tmp_path)
    index = outputs["03-index-usage"]
    assert f"Role {name} lacks SELECT on {UNREADABLE}, so there are no bloat estimates for these tables" in index
    assert index.count("sessionCounts") == 2, "the note names each unreadable table in the privilege and the GRANT only"
    assert f"GRANT SELECT ON {UNREADABLE} TO {name};" in index
    if "pg_stat_statements" in _available(shared_pg):  # the scene's statements are the superuser's: hidden from this role
        assert f"Role {name} lacks pg_read_all_stats, so the top queries are its own statements only" in index
        assert f"GRANT pg_read_all_stats TO {name};" in index and f"GRANT pg_monitor TO {name};" in index
    _fk_findings(index)
    assert "not managed by todo_data" in outputs["01-schema"]


def test_a_role_that_may_select_only_the_three_tables_gets_the_revision_as_a_note(shared_pg: URL, tmp_path: Path) -> None:
    """No SELECT on alembic_version (what a DBA grants who knows only the application's tables): every report runs,
    its header says the revision is unknown and names the GRANT; db check compares anyway; db current says why not."""
    with role(shared_pg, tables="users, task, task_relationships") as (name, url):
        outputs = report_all(url, tmp_path)
        check = todo_data("db", "check", url=url, cwd=tmp_path)
        current = todo_data("db", "current", url=url, cwd=tmp_path)
    grant = f"GRANT SELECT ON alembic_version TO {name};"
    for report, text in outputs.items():
        assert "**revision** unknown" in text and f"Role {name} lacks SELECT on alembic_version" in text and grant in text, report
    assert "Nothing below can be planned without the revision" in outputs["02-migrations"]
    _fk_findings(outputs["03-index-usage"])
    assert check.returncode == 0 and "No differences" in check.stdout and grant in check.stderr
    assert current.returncode == 1 and current.stderr.strip().splitlines() == [
        f"todo-data: error: {current.stderr.split('error: ')[-1].strip()}"
    ]
    assert grant in current.stderr and "Traceback" not in current.stderr


def test_a_pg_monitor_role_runs_every_report_and_sees_every_statement(shared_pg: URL, tmp_path: Path) -> None:
    with role(shared_pg, monitor=True) as (name, url):
        outputs = report_all(url, tmp_path)
        report = index_report(url)
    index = outputs["03-index-usage"]
    assert f"GRANT SELECT ON {UNREADABLE} TO {name};" in index  # pg_monitor reads statistics, not other tables' rows
    assert "pg_read_all_stats" not in index and "pg_read_all_settings" not in index
    _fk_findings(index)
    if "pg_stat_statements" in _available(shared_pg):
        assert report.top_queries is not None
        assert len(report.top_queries) and "<insufficient privilege>" not in set(report.top_queries["query"])


def _finding_keys(url: URL) -> set[tuple[str, str, str]]:
    report = index_report(url)
    return {(f.rule, f.table, f.index) for f in report.findings.itertuples() if f.rule != "generic-plan-regression"}


def test_a_role_without_statements_hypopg_or_settings_still_gets_every_other_finding(shared_pg: URL) -> None:
    available = _available(shared_pg)
    if available != {"pg_stat_statements", "hypopg"}:
        pytest.skip(f"needs pg_stat_statements (preloaded) and hypopg on the server; it has {sorted(available) or 'neither'}")
    expected = _finding_keys(shared_pg)  # as the superuser
    assert ("fk-without-index", "session", "ix_session_userId") in expected
    run_sql(
        shared_pg,
        "REVOKE SELECT ON pg_stat_statements FROM PUBLIC",
        "REVOKE EXECUTE ON FUNCTION hypopg_create_index(text), hypopg_drop_index(oid) FROM PUBLIC",
    )
    with role(shared_pg) as (name, url):
        notes = index_report(url).notes
        assert any(
            f"Role {name} lacks SELECT on public.pg_stat_statements, so there are no top queries" in n
            and f"GRANT SELECT ON public.pg_stat_statements TO {name};" in n
            for n in notes
        ), notes
        assert any(
            "there are no what-if costs for suggested indexes (HypoPG)" in n
            and f"GRANT EXECUTE ON FUNCTION public.hypopg_create_index(text), public.hypopg_drop_index(oid) TO {name};" in n
            for n in notes
        ), notes
        assert _finding_keys(url) == expected
        run_sql(shared_pg, "DROP EXTENSION pg_stat_statements")
        notes = index_report(url).notes
        assert any(
            "pg_stat_statements is not installed" in n
            and "cannot read shared_preload_libraries without pg_read_all_settings" in n
            and f"GRANT pg_read_all_settings TO {name};" in n
            for n in notes
        ), notes
        assert _finding_keys(url) == expected


# --- SQLite -----------------------------------------------------------------------------------------------------


def test_every_read_path_works_on_a_read_only_sqlite_file(make_database, tmp_path: Path) -> None:
    """A file the user may only read, opened read-only (a ``file:`` URL with ``mode=ro``): every read path, nothing written.

    chmod 444 alone stops no one running as root (as CI does); ``mode=ro`` is SQLite's own refusal to write.
    """
    url = make_database("sqlite")
    upgrade(url)
    load_sample(url, users=12, tasks=300, seed=1)
    add_foreign_objects(url)
    dispose_engines()
    path = Path(url.database or "")
    with sa.create_engine(url, poolclass=sa.pool.NullPool).connect() as connection:  # fold the WAL into the file
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
        outputs = report_all(read_only, tmp_path)
        other_read_paths(read_only, tmp_path)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert "not managed by todo_data" in outputs["01-schema"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
