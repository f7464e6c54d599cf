"""``impact()``: which revisions would run on a database, what each changes (recorded, not run), and what those changes
meet in the stored data, read in one read-only transaction with a statement timeout."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from alembic.script import Script, ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL

from todo_data import chain
from todo_data.backends import backend_for
from todo_data.db import build_engine, require_sqlite_file, resolve_url, translate_errors
from todo_data.errors import MigrationError
from todo_data.impact.changes import Change, acknowledged, record
from todo_data.impact.finding import Finding
from todo_data.impact.reader import NotMeasured, Reader
from todo_data.impact.rules import RULES
from todo_data.settings import mask_url

DEFAULT_TIMEOUT_SECONDS = 30.0


def impact(
    database_url: str | URL | None = None,
    target: str = "head",
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    script_location: str | Path | None = None,
) -> list[Finding]:
    """What the revisions between the database's revision and ``target`` would do to its stored data, measured now.

    Upwards (``target`` ahead, default head): each pending revision's ``upgrade()`` and, for what it could not give back,
    its ``downgrade()``. Downwards (``target`` behind, as ``db downgrade``): each ``downgrade()`` that would run. The
    revisions' operations are recorded offline (nothing runs); the data is read in one read-only transaction whose
    statements each stop after ``timeout`` seconds. Nothing in the database changes.
    """
    url = resolve_url(database_url)
    backend = backend_for(url)
    require_sqlite_file(url)
    script = chain.script_directory(script_location)
    engine = build_engine(url, read_only=True)
    try:
        with translate_errors(url), engine.connect() as connection:
            current = chain.current_revisions(connection)
            steps = _steps(script, current, target, url)
            findings: list[Finding] = []
            if not steps:
                return findings
            with backend.measuring(connection, timeout):
                reader = Reader(connection, backend)
                for revision, direction in steps:
                    findings.extend(_measure_revision(revision, direction, reader))
            return findings
    finally:
        engine.dispose()


def _steps(script: ScriptDirectory, current: tuple[str, ...], target: str, url: URL) -> list[tuple[Script, str]]:
    """The revisions that would run from ``current`` to ``target``, in run order, each with ``upgrade`` or ``downgrade``."""
    try:
        if not (target.startswith("-") and current):
            try:
                return [(revision, "upgrade") for revision in chain.pending(current, target, script)]
            except chain.PastTarget:
                pass
        lower = _resolve_relative(script, current[0], target)
        found = script.iterate_revisions(current[0], lower, select_for_downgrade=True)
        return [(revision, "downgrade") for revision in found if isinstance(revision, Script)]
    except chain.SeveralHeads:
        raise MigrationError(f"{mask_url(url)} has several heads ({', '.join(current)}): merge them first.") from None
    except CommandError as exc:
        raise MigrationError(f"{mask_url(url)}: {str(exc).splitlines()[0]}: use head, base, -1 or a revision id.") from None


def _resolve_relative(script: ScriptDirectory, current: str, target: str) -> str:
    """``-N`` as the revision N steps below ``current`` (``base`` past the first)."""
    if not (target.startswith("-") and target[1:].isdigit()):
        return target
    revision: str | None = current
    for _ in range(int(target[1:])):
        found = script.get_revision(revision) if revision else None
        down = found.down_revision if found is not None else None
        revision = down if isinstance(down, str) or down is None else down[0]
    return revision or "base"


def _measure_revision(revision: Script, direction: str, reader: Reader) -> list[Finding]:
    module = revision.module
    dialect = reader.connection.dialect
    changes: list[Change] = []
    findings: list[Finding] = []
    try:
        changes = record(getattr(module, direction), dialect)
        if direction == "upgrade":
            changes += record(module.downgrade, dialect, role="undo")
    except Exception as exc:  # a revision that needs a live database (op.get_bind() reads) cannot be recorded offline
        findings.append(
            Finding(
                "not-measured",
                "info",
                None,
                None,
                None,
                (),
                f"its {direction}() could not be read offline ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                "",
            )
        )
    _mark_rebuilds(changes)
    _mark_steps(changes)
    for change in changes:
        for rule in RULES:
            try:
                findings.extend(_after_sql(change, item) for item in rule(change, reader))
            except NotMeasured as exc:
                findings.append(
                    Finding(
                        "not-measured", "info", change.table, change.column, None, (), f"{change.describe()} was not measured: {exc}", ""
                    )
                )
    excused = acknowledged(module) if direction == "upgrade" else frozenset()
    return [
        dataclasses.replace(
            item, revision=revision.revision, acknowledged=item.severity == "data-loss" and (item.where in excused or item.table in excused)
        )
        for item in findings
    ]


def _mark_rebuilds(changes: list[Change]) -> None:
    """A table dropped and then replaced by a rename in the same step is rebuilt (SQLite's copy-and-swap), not lost; the
    SQL run between the new table's creation and the swap is the copy."""
    for position, change in enumerate(changes):
        if change.kind != "drop_table":
            continue
        for later in changes[position + 1 :]:
            if later.kind == "rename_table" and later.detail.get("new_name") == change.table and later.role == change.role:
                change.detail["rebuilt"] = True
                created = next(
                    (
                        i
                        for i, made in enumerate(changes)
                        if made.kind == "create_table" and made.table == later.table and made.role == change.role
                    ),
                    position,
                )
                for copy in changes[created:position]:
                    if copy.kind == "execute":
                        copy.detail["rebuild_copy"] = True
                break


def _mark_steps(changes: list[Change]) -> None:
    """What each change follows in its revision: a ``set_not_null`` after a backfill of its column (or after the column was
    added with a server default) meets no NULL, and one on a column the revision adds meets a NULL in every row; a change
    after SQL the measurement cannot read (``after_sql``) meets data that SQL may have changed first."""
    filled: set[tuple[str | None, str | None, str]] = set()
    added: set[tuple[str | None, str | None, str]] = set()
    unread = {"run": False, "undo": False}
    for change in changes:
        key = (change.table, change.column, change.role)
        if change.kind == "backfill":
            filled.add(key)
        elif change.kind == "add_column":
            added.add(key)
            if change.detail["definition"].server_default is not None:
                filled.add(key)
        elif change.kind == "set_not_null":
            change.detail.update(backfilled=key in filled, added=key in added)
        if unread[change.role]:
            change.detail["after_sql"] = True
        if change.kind == "execute" and not change.detail.get("rebuild_copy"):
            unread[change.role] = True


def _after_sql(change: Change, item: Finding) -> Finding:
    """A step that fails on the stored data, but comes after SQL the measurement cannot read: that SQL may correct the
    rows first (as the fixes advise), so it is a warning; the upgrade itself finds out, and rolls back if not."""
    if item.severity != "fails" or not change.detail.get("after_sql"):
        return item
    return dataclasses.replace(
        item, severity="warning", message=f"{item.message} (unless the SQL the revision runs before this step corrects them: not measured)"
    )
