"""The trace's runner: which revisions are pending, where they run, and each one run in a rolled-back transaction
with every statement watched by the backend's recorder."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, MigrationStep
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection

from todo_data import chain, migrations
from todo_data.backends import backend_for, find_backend
from todo_data.db import DatabaseHandle, open_database, resolve_url
from todo_data.errors import ConfigurationError, MigrationError
from todo_data.settings import backend_of, get_settings, mask_url
from todo_data.standby import require_primary
from todo_data.trace.lint import lint_frame
from todo_data.trace.locks import interval
from todo_data.trace.records import SET_LOCK_TIMEOUT, Recorder, Statement, error_line
from todo_data.trace.report import TracedRevision, TraceReport, statement_frames
from todo_data.trace.tracing import Tracing

EXACT_COUNT_BELOW = 1_000_000  # target tables above this many rows (planner estimate) are not counted exactly


PLAN_ON_STANDBY = (
    "`todo-data db plan` builds its scratch database on the target's server, and a standby can make none: pass --trace-url URL, "
    "a staging copy at the same revision on a primary, to trace there"
)


def trace(
    database_url: str | URL | None = None,
    *,
    trace_url: str | URL | None = None,
    target: str = "head",
    sample_tasks: int = 0,
    sample_users: int | None = None,
    lock_timeout: str | None = None,
    trace_lock_timeout: str = "5s",
    lint: bool = True,
    script_location: str | Path | None = None,
) -> TraceReport:
    """Trace every statement the pending revisions would run on ``database_url``, without changing it.

    PostgreSQL: on a scratch database built to the target's revision (optionally ``sample_tasks`` sample rows;
    dropped afterwards), or on ``trace_url``, a staging copy the caller names; each revision runs in a transaction
    that is rolled back, with ``trace_lock_timeout``. SQLite: on a copy of the file. ``lock_timeout``: what the
    real run sets (default: the LOCK_TIMEOUT setting); ``script_location``: another folder of revision scripts.
    """
    url = resolve_url(database_url)
    backend = backend_for(url)  # an unknown backend fails here
    tracing = backend.tracing(url)
    staging = resolve_url(trace_url) if trace_url is not None else None
    if staging is not None and find_backend(staging) is not backend:
        raise ConfigurationError(
            f"--trace-url is {backend_of(staging)} but the target is {backend.name}: trace on a copy of the same kind of database."
        )
    if staging is not None and not tracing.on_copy and backend.same_database(url, staging):
        raise ConfigurationError(
            f"--trace-url {mask_url(staging)} is the target database itself: the trace takes its locks; point it at a staging copy."
        )
    if sample_tasks < 0 or (sample_users is not None and sample_users < 1):
        raise ConfigurationError("--sample-tasks must be 0 or more (and sample users 1 or more).")
    if sample_tasks and (staging is not None or tracing.on_copy):
        raise ConfigurationError(
            "--sample-tasks fills a scratch PostgreSQL database only: SQLite is traced on a copy of its file, --trace-url on the copy you named."
        )
    interval(trace_lock_timeout)
    real_lock_timeout = str(lock_timeout if lock_timeout is not None else get_settings().lock_timeout)
    interval(real_lock_timeout)

    script = chain.script_directory(script_location)
    notes: list[str] = []

    def config_for(connection: Connection | None = None) -> Config:
        return chain.alembic_config(connection=connection, script_location=script_location)

    statements: list[Statement] = []
    revisions: list[TracedRevision] = []
    traced_label, scratch = "nothing (no pending revisions)", False
    # Each database is resolved once into a handle (URL, backend, one engine), disposed once as the block ends: the
    # target and a staging copy read only, the database traced on with a migration engine (disposed before it is removed).
    with contextlib.ExitStack() as stack:
        target_database = stack.enter_context(open_database(url, read_only=True))
        current = _current(target_database)
        with target_database.connect() as connection:
            tracing.read_target(connection)
            if staging is None:
                require_primary(url, "db plan", connection=connection, instead=PLAN_ON_STANDBY)
        adopted = not current and _adoptable(target_database)
        if adopted:
            current = (chain.BASE_REVISION,)
            notes.append(
                f"{mask_url(url)} has no alembic_version but revision {current[0]}'s schema: the upgrade adopts it as {current[0]} first."
            )
        pending = _pending(script, current, target, url)
        staged_current: tuple[str, ...] = ()
        if staging is not None:
            staging_database = stack.enter_context(open_database(staging, read_only=True))
            staged_current = _current(staging_database)
            staged = staged_current or ((chain.BASE_REVISION,) if _adoptable(staging_database) else ())
            if staged != current:
                raise ConfigurationError(
                    f"The staging copy {mask_url(staging)} is at {', '.join(staged) or 'no revision'}, the target at "
                    f"{', '.join(current) or 'no revision'}: bring the copy to the target's revision first."
                )
        if pending:
            if tracing.on_copy:
                traced = stack.enter_context(open_database(stack.enter_context(tracing.database(staging or url)), for_migrations=True))
                traced_label, scratch = f"a copy of {mask_url(staging or url)}", True
                if adopted and not _current(traced):
                    _stamp(config_for, traced, current[0])
            elif staging is not None:
                traced = stack.enter_context(open_database(staging, for_migrations=True))
                traced_label = mask_url(staging)
            else:
                traced = stack.enter_context(open_database(stack.enter_context(tracing.database(url)), for_migrations=True))
                traced_label, scratch = mask_url(traced.url), True
                if current:
                    _apply(config_for, traced, current[0])
                sample_tasks = _fill_scratch(traced.url, current, sample_tasks, sample_users, notes)
            statements, revisions = _trace_pending(
                traced,
                pending,
                config_for,
                script,
                tracing,
                real_lock_timeout,
                trace_lock_timeout,
                owned=scratch,
                stamp=current[0] if adopted and staging is not None and not staged_current else None,
            )
        target_rows = _target_rows(target_database, {name for record in statements for name in record.tables})

    if scratch and not tracing.on_copy and not sample_tasks:
        notes.append(
            "The scratch database holds no rows (pass --sample-tasks N to fill it): times are for empty tables; rows are the target's."
        )
    if staging is not None and len(pending) > 1:
        notes.append(
            "Each revision after the first was traced after replaying the earlier ones in the same transaction (the copy must stay "
            "unchanged): locks those already took are not listed again."
        )
    notes.extend(tracing.notes())
    statements_frame, locks_frame = statement_frames(statements, target_rows, tracing)
    findings = pd.DataFrame(columns=[*migrations.LINT_COLUMNS, "step"])
    if lint and pending and tracing.lint:
        findings = lint_frame(config_for, pending, statements, notes)
        for (revision, step), group in findings.dropna(subset=["step"]).groupby(["revision", "step"]):
            text = ", ".join(
                dict.fromkeys(
                    f"{rule}{' (excused)' if excused else ''}" for rule, excused in zip(group["rule"], group["excused"], strict=True)
                )
            )
            statements_frame.loc[(statements_frame["revision"] == revision) & (statements_frame["step"] == step), "lint"] = text
    elif lint and pending:
        notes.append(f"No lint on {backend.label}: squawk reads PostgreSQL SQL (run the plan against PostgreSQL to see it).")
    return TraceReport(
        database=mask_url(url),
        traced=traced_label,
        scratch=scratch,
        backend=backend.name,
        current=current,
        target=pending[-1][0] if pending else (current[0] if current else target),
        lock_timeout=real_lock_timeout,
        revisions=revisions,
        statements=statements_frame,
        locks=locks_frame,
        lint=findings,
        notes=notes,
        sample_tasks=sample_tasks,
    )


def _pending(script: ScriptDirectory, current: tuple[str, ...], target: str, url: URL) -> list[tuple[str, str | None, str]]:
    """(revision, down revision, message) of each revision from ``current`` (exclusive) up to ``target``, oldest first."""
    try:
        revisions = chain.pending(current, target, script)
    except CommandError as exc:
        raise MigrationError(f"{mask_url(url)}: {str(exc).splitlines()[0]}: the trace needs revisions this project knows.") from None
    except chain.SeveralHeads:
        raise MigrationError(f"{mask_url(url)} has several heads ({', '.join(current)}): merge them before tracing.") from None
    except chain.PastTarget:
        raise ConfigurationError(f"{mask_url(url)} is at {current[0]}, past {target}: the trace shows upgrades only.") from None
    return [(rev.revision, chain.down_revision(rev), chain.message(rev)) for rev in revisions]


def _trace_pending(
    traced: DatabaseHandle,
    pending: list[tuple[str, str | None, str]],
    config_for: Callable[..., Config],
    script: ScriptDirectory,
    tracing: Tracing,
    lock_timeout: str,
    trace_lock_timeout: str,
    *,
    owned: bool,
    stamp: str | None,
) -> tuple[list[Statement], list[TracedRevision]]:
    """Trace each revision in its own rolled-back transaction. A database the trace ``owned`` (scratch, copy) is then
    upgraded for real, so the next revision starts without the locks of the one before; a staging copy is not, so
    the revisions before are replayed, unwatched, inside the next one's transaction."""
    statements: list[Statement] = []
    revisions: list[TracedRevision] = []
    failed_at: str | None = None
    for index, (revision, down, message) in enumerate(pending):
        if failed_at is not None:
            revisions.append(TracedRevision(revision, down, message, 0, 0.0, f"not traced: revision {failed_at} failed first"))
            continue
        replay = pending[index - 1][0] if index and not owned else None
        result = _trace_revision(
            traced, config_for(), script, revision, replay, tracing, lock_timeout, trace_lock_timeout, None if owned else stamp
        )
        statements.extend(result.statements)
        lock_timeout = _session_timeout_after(result.statements, lock_timeout)
        revisions.append(TracedRevision(revision, down, message, len(result.statements), result.ms, result.error))
        if result.error is not None:
            failed_at = revision
        elif owned and index + 1 < len(pending):
            _apply(config_for, traced, revision)
    return statements, revisions


def _session_timeout_after(statements: list[Statement], timeout: str) -> str:
    """A revision's ``SET lock_timeout`` (not LOCAL) lasts for the rest of the run's session."""
    for record in statements:
        match = SET_LOCK_TIMEOUT.match(record.statement)
        if match and (match.group(1) or "").strip().upper() != "LOCAL":
            timeout = match.group(2).strip()
    return timeout


def _run_alembic(connection: Connection, config: Config, script: ScriptDirectory, destination: str, recorder: Recorder | None) -> None:
    """Upgrade to ``destination`` inside the connection's open transaction: Alembic sees it as external and never commits."""

    def upgrade(heads: Any, _context: MigrationContext) -> list[MigrationStep]:
        # What `alembic upgrade` runs, from Alembic's public API: the scripts above the heads, oldest first.
        scripts = reversed(list(script.iterate_revisions(destination, heads, implicit_base=True)))
        return [MigrationStep.upgrade_from_script(script.revision_map, found) for found in scripts]

    with EnvironmentContext(config, script, fn=upgrade, destination_rev=destination, as_sql=False) as environment:
        # The options env.py gives every online run that shape the SQL (batch mode on SQLite, transactional DDL).
        environment.configure(connection=connection, **chain.run_options(connection.dialect.name))
        if recorder is not None:
            environment.get_context().autocommit_block = recorder.autocommit_block  # type: ignore[method-assign]
        environment.run_migrations()


def _apply(config_for: Callable[[Connection], Config], traced: DatabaseHandle, revision: str) -> None:
    """Upgrade a database the trace owns (scratch or copy) for real, through env.py like any upgrade."""
    try:
        with traced.connect() as connection:
            command.upgrade(config_for(connection), revision)
            if connection.in_transaction():
                connection.commit()
    except (CommandError, sa.exc.DBAPIError) as exc:
        raise MigrationError(f"Could not bring {mask_url(traced.url)} to revision {revision} for the trace: {error_line(exc)}") from None


def _stamp(config_for: Callable[[Connection], Config], traced: DatabaseHandle, revision: str) -> None:
    """Record ``revision`` in a copy the trace owns, as the real upgrade's adoption would."""
    with traced.engine.connect() as connection:
        command.stamp(config_for(connection), revision)
        if connection.in_transaction():
            connection.commit()


@dataclass
class _Traced:
    statements: list[Statement]
    ms: float
    error: str | None


def _trace_revision(
    traced: DatabaseHandle,
    config: Config,
    script: ScriptDirectory,
    revision: str,
    replay: str | None,
    tracing: Tracing,
    lock_timeout: str,
    trace_lock_timeout: str,
    stamp: str | None = None,
) -> _Traced:
    """Run one revision in a transaction that is rolled back, every statement watched; ``replay``: run up to it first, unwatched."""
    recorder = tracing.recorder(revision, lock_timeout)
    error: str | None = None
    started = time.perf_counter()
    with traced.connect() as connection:
        transaction = connection.begin()
        try:
            tracing.begin(connection, trace_lock_timeout)
            if stamp is not None:  # adopted, as the real upgrade would, inside the transaction that is rolled back
                MigrationContext.configure(connection).stamp(script, stamp)
            if replay is not None:
                _run_alembic(connection, config, script, replay, None)
            recorder.start(connection.connection.dbapi_connection)
            started = time.perf_counter()
            event.listen(connection, "before_cursor_execute", recorder.before, retval=True)
            event.listen(connection, "after_cursor_execute", recorder.after)
            try:
                _run_alembic(connection, config, script, revision, recorder)
            except (sa.exc.SQLAlchemyError, RuntimeError) as exc:  # what a failing revision raises in a real upgrade too
                recorder.failed(exc)
                error = error_line(exc)
            finally:
                event.remove(connection, "before_cursor_execute", recorder.before)
                event.remove(connection, "after_cursor_execute", recorder.after)
        finally:
            transaction.rollback()
    ms = sum(statement.ms or 0.0 for statement in recorder.statements) if recorder.statements else (time.perf_counter() - started) * 1000
    if any(statement.error and not error for statement in recorder.statements):
        error = next(statement.error for statement in recorder.statements if statement.error)
    return _Traced(recorder.statements, ms, error)


# --- the databases: target (read only), traced (scratch, copy, or staging) ---------------------------


def _current(database: DatabaseHandle) -> tuple[str, ...]:
    with database.connect() as connection:
        return chain.current_revisions(connection)


def _adoptable(database: DatabaseHandle) -> bool:
    """A database with the app's tables but no ``alembic_version``: an upgrade adopts it as 001 if its schema is exactly 001."""
    with database.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names()) & set(migrations.APP_TABLES)
        differences = migrations.seed_schema_differences(connection) if tables else []
    if differences:
        raise MigrationError(
            f"{mask_url(database.url)} has tables ({', '.join(sorted(tables))}) but no alembic_version, and its schema is not revision "
            f"{chain.BASE_REVISION}: an upgrade would refuse it, so there is nothing to trace (first difference: {differences[0]})."
        )
    return bool(tables)


def _target_rows(database: DatabaseHandle, names: set[str]) -> dict[str, int]:
    """Rows in the target's tables (read only): exact, or the catalogue's estimate for tables above :data:`EXACT_COUNT_BELOW`."""
    if not names:
        return {}
    with database.connect() as connection:
        return database.backend.row_counts(connection, names, EXACT_COUNT_BELOW)


def _fill_scratch(scratch: URL, current: tuple[str, ...], tasks: int, users: int | None, notes: list[str]) -> int:
    """Sample rows written at the scratch's revision, in the columns its tables have there (the models may be ahead)."""
    if not tasks:
        return 0
    known = [revision.revision for revision in chain.revisions()]
    if not current or current[0] not in known:
        notes.append(
            f"No sample data: the target is at {current[0] if current else 'no revision'}, where todo_data cannot load sample rows."
        )
        return 0
    from todo_data import sample  # the loader and its Arrow only when a scratch is filled
    from todo_data.db import get_engine

    sample.load_sample(scratch, users=users or max(1, tasks // 10), tasks=tasks, progress=False, any_revision=True)
    get_engine(scratch).dispose()  # the loader's pooled connections must not hold the scratch open
    return tasks
