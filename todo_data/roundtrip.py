"""A revision's round trip on a copy with data (``todo-data db test``): upgrade to it, ``check``, downgrade one step,
upgrade again, with a checksum of every column at each step.

On PostgreSQL the copy is a scratch database beside the target, filled with sample rows at the revision below; on SQLite
a copy of the file (sample rows added where its tables are empty). A column the revision does not touch must keep its
checksum through every step; a column it touches that does not come back is named, with its counts, as what the
downgrade loses. The target itself is only read (SQLite: copied).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic.script import Script
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL

from todo_data import chain, migrations
from todo_data.backends import backend_for
from todo_data.backends.base import registered
from todo_data.db import DatabaseHandle, get_engine, open_database, require_sqlite_file, resolve_url
from todo_data.errors import ConfigurationError, MigrationError, TodoDataError
from todo_data.impact.changes import ACKNOWLEDGE_MARKER, Change, acknowledged, record
from todo_data.settings import mask_url

DEFAULT_SAMPLE_TASKS = 200
WHOLE_TABLE = "*"

Snapshot = dict[str, dict[str, tuple[int, str]]]
"""table -> column -> (non-null values, digest of the values in primary-key order); ``*`` -> (rows, digest of nothing)."""


@dataclass(frozen=True)
class ColumnChange:
    """A column whose values differ between two points of the round trip that should hold the same data."""

    table: str
    column: str
    step: str  # "after the downgrade" (compared with before the upgrade) or "after upgrading again" (with the first upgrade)
    before: int | None  # non-null values (rows, for the whole table), None where the column is missing
    after: int | None
    touched: bool  # whether the revision touches it (a loss to name), or not (a break: it must keep its values)
    acknowledged: bool = False

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column != WHOLE_TABLE else f"table {self.table}"
        what = "rows" if self.column == WHOLE_TABLE else "non-null values"

        def count(value: int | None) -> str:
            return "missing" if value is None else f"{value:,}"

        if self.before == self.after:
            change = f"{count(self.before)} {what}, but different values"
        else:
            change = f"{count(self.before)} -> {count(self.after)} {what}"
        return f"{where} {self.step}: {change}"


@dataclass
class RoundTrip:
    """What ``todo-data db test`` found: the steps run, ``check`` after the upgrade, and the columns that did not come back."""

    database: str
    copy: str
    revision: str
    down_revision: str
    sample_tasks: int
    rows: dict[str, int] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    check: list[str] | None = None  # None: not run (the revision is not the models' head)
    columns: int = 0  # the columns the revision does not touch, at the revision
    touched: list[str] = field(default_factory=list)
    losses: list[ColumnChange] = field(default_factory=list)
    breaks: list[ColumnChange] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No failing step, ``check`` clean, untouched columns intact, and every loss acknowledged by the revision."""
        return self.failure is None

    @property
    def failure(self) -> str | None:
        """What failed, in one line (the first thing of each kind), or None when the round trip passed."""
        if self.error is not None:
            return self.error.splitlines()[0] if self.error.strip() else "a step failed"
        reasons = []
        if self.check:
            reasons.append(f"after the upgrade check finds {len(self.check)} difference(s) from the models ({self.check[0]})")
        if self.breaks:
            reasons.append(f"{len(self.breaks)} change(s) to columns the revision does not touch ({self.breaks[0].describe()})")
        lost = [item for item in self.losses if not item.acknowledged]
        if lost:
            more = f" and {len(lost) - 1} more" if len(lost) > 1 else ""
            where = {item.table if item.column == WHOLE_TABLE else f"{item.table}.{item.column}" for item in lost}
            names = ", ".join(f'"{name}"' for name in sorted(where))
            reasons.append(
                f"the downgrade loses data ({lost[0].describe()}{more}) that the revision does not acknowledge "
                f"(if that is meant, say so in it: {ACKNOWLEDGE_MARKER} = [{names}])"
            )
        return "; ".join(reasons) or None

    def to_text(self) -> str:
        lines = [f"Round trip of revision {self.revision} (down to {self.down_revision}) on {self.copy}"]
        if self.rows:
            lines.append(f"  data: {', '.join(f'{table} {count:,}' for table, count in sorted(self.rows.items()))} at {self.down_revision}")
        lines += [f"  {step}" for step in self.steps]
        if self.error:
            lines.append(f"  failed: {self.error}")
        else:
            kept = self.columns - len({(item.table, item.column) for item in self.breaks})
            lines.append(f"  columns the revision does not touch: {kept} of {self.columns} keep their checksums at every step")
            lines += [f"    changed: {item.describe()}" for item in self.breaks]
            if self.losses:
                lines.append("  the downgrade loses:")
                lines += [f"    {item.describe()}{' [acknowledged by the revision]' if item.acknowledged else ''}" for item in self.losses]
            else:
                lines.append("  the downgrade loses nothing: every column it touches comes back")
        lines += [f"Note: {note}" for note in self.notes]
        lines.append("result: " + ("ok" if self.ok else "FAILED"))
        return "\n".join(lines)


def round_trip(database_url: str | URL | None = None, revision: str = "head", *, sample_tasks: int = DEFAULT_SAMPLE_TASKS) -> RoundTrip:
    """Upgrade a copy to ``revision``, ``check`` it, downgrade one step, upgrade again; checksums of every column at each step.

    The copy: on PostgreSQL a scratch database beside ``database_url`` holding ``sample_tasks`` sample tasks; on SQLite
    a copy of the file (``sample_tasks`` added where its tables are empty). It is removed afterwards.
    """
    if sample_tasks < 1:
        raise ConfigurationError("--sample-tasks must be 1 or more: a round trip without rows proves nothing.")
    url = resolve_url(database_url)
    backend = backend_for(url)
    require_sqlite_file(url)
    script = chain.script_directory()
    try:
        found = script.get_revision(revision)
    except CommandError as exc:
        raise MigrationError(f"{str(exc).splitlines()[0]}: use head or a revision id (todo-data db history lists them).") from None
    if found is None:
        raise ConfigurationError(f"{revision!r} is no revision: use head or a revision id (todo-data db history lists them).")
    down = chain.down_revision(found)
    if down is None:
        raise ConfigurationError(f"Revision {found.revision} is the first: there is nothing below it to downgrade to.")
    tracing = backend.tracing(url)
    result = RoundTrip(mask_url(url), "", found.revision, down, 0)
    with tracing.database(url) as copy, open_database(copy, read_only=True) as reads:
        result.copy = f"a copy of {mask_url(url)}" if tracing.on_copy else f"a scratch database ({mask_url(copy)})"
        try:
            _run(reads, found, down, sample_tasks, result)
        except TodoDataError as exc:
            result.error = str(exc)
        finally:
            get_engine(copy).dispose()
    return result


def _run(reads: DatabaseHandle, revision: Script, down: str, sample_tasks: int, result: RoundTrip) -> None:
    """The steps on the copy: its migrations through ``migrations`` (their own engine), every read through ``reads``."""
    copy = reads.url
    now = migrations.current(copy)
    if now != (down,):
        if now and _above(revision, now[0]):
            migrations.downgrade(down, copy)
        else:
            migrations.upgrade(copy, down)
        result.notes.append(f"The copy was at {', '.join(now) or 'no revision'}: it was brought to {down} first.")
    result.rows = _fill(reads, sample_tasks, result)
    changes = _changes(revision, reads)
    touched = _touched(changes)
    result.touched = sorted(f"{table}.{column}" for table, column in touched)
    excused = acknowledged(revision.module)

    before = checksums(reads)
    _step(result, f"upgrade {down} -> {revision.revision}", lambda: migrations.upgrade(copy, revision.revision))
    upgraded = checksums(reads)
    result.notes += unenforced_lengths(reads, changes)
    if revision.revision == chain.head():
        result.check = migrations.check(copy)
        result.steps.append("check: no differences from the models" if not result.check else f"check: {len(result.check)} difference(s)")
        result.steps += [f"  {difference}" for difference in result.check]
    else:
        result.notes.append(f"check skipped: {revision.revision} is not the head, so the models describe a later schema.")
    _step(result, f"downgrade {revision.revision} -> {down}", lambda: migrations.downgrade(down, copy))
    downgraded = checksums(reads)
    _step(result, f"upgrade {down} -> {revision.revision} again", lambda: migrations.upgrade(copy, revision.revision))
    again = checksums(reads)

    result.columns = sum(
        1
        for table, columns in upgraded.items()
        for column in columns
        if column != WHOLE_TABLE and (table, column) not in touched and (table, WHOLE_TABLE) not in touched
    )
    for step, first, second in (("after the downgrade", before, downgraded), ("after upgrading again", upgraded, again)):
        for change in _compare(first, second, step, touched):
            if change.touched:
                where = f"{change.table}.{change.column}"
                known = where in excused or change.table in excused
                result.losses.append(ColumnChange(**{**change.__dict__, "acknowledged": known}))
            else:
                result.breaks.append(change)


def unenforced_lengths(reads: DatabaseHandle, changes: list[Change]) -> list[str]:
    """On a backend that does not enforce ``VARCHAR(n)``: a note per column the upgrade gives a length, with the stored
    values that exceed it (counted on the upgraded copy), which a backend that enforces lengths would refuse."""
    backend = backend_for(reads.url)
    if backend.enforces_string_length:
        return []
    strict = " or ".join(cls.label for cls in registered().values() if cls.enforces_string_length) or "A backend that enforces lengths"
    notes = []
    for table, column, length in _new_lengths(changes):
        count = _longer_than(reads, table, column, length)
        if count:
            notes.append(
                f"{backend.label} does not enforce VARCHAR(n): after the upgrade {table}.{column} holds {count:,} "
                f"value{'s' if count != 1 else ''} longer than its new VARCHAR({length}); {strict} would refuse the upgrade "
                "on them (`todo-data db plan` counts them)."
            )
        else:
            notes.append(
                f"{backend.label} does not enforce VARCHAR(n): this round trip would pass with values longer than "
                f"{table}.{column}'s new VARCHAR({length}) (this copy holds none); {strict} refuses the upgrade on them: "
                "`todo-data db plan` counts them on the database you upgrade."
            )
    return notes


def _new_lengths(changes: list[Change]) -> list[tuple[str, str, int]]:
    """(table, column as named after the upgrade, length) for each column the upgrade gives a ``String(n)`` type."""
    found = []
    for change in changes:
        new = change.detail.get("type_")
        if change.role == "run" and change.kind == "alter_column" and isinstance(new, sa.String) and new.length is not None:
            assert change.table is not None and change.column is not None
            found.append((change.table, str(change.detail.get("name") or change.column), new.length))
    return found


def _longer_than(reads: DatabaseHandle, table: str, column: str, length: int) -> int:
    """How many stored values of ``table.column`` are longer than ``length`` characters (0 where it is not there)."""
    with reads.connect() as connection:
        inspector = sa.inspect(connection)
        if table not in inspector.get_table_names() or column not in {item["name"] for item in inspector.get_columns(table)}:
            return 0
        value = sa.column(column)
        counted = sa.select(sa.func.count()).select_from(sa.table(table, value)).where(sa.func.length(value) > length)
        return int(connection.execute(counted).scalar_one())


def _above(revision: Script, current: str) -> bool:
    """Whether ``current`` is the revision itself or above it (the copy must come down to the revision below)."""
    order = [item.revision for item in chain.revisions()]
    return current in order and order.index(current) >= order.index(revision.revision)


def _step(result: RoundTrip, label: str, run: Any) -> None:
    try:
        run()
    except TodoDataError as exc:
        result.steps.append(f"{label}: FAILED")
        raise MigrationError(f"{label} failed: {exc}") from None
    result.steps.append(f"{label}: ok")


def _fill(reads: DatabaseHandle, sample_tasks: int, result: RoundTrip) -> dict[str, int]:
    """Sample rows where the copy's tables are empty; the rows each table then holds."""
    from todo_data import sample  # Arrow and the loader only here

    loaded = sample.load_sample(
        reads.url, users=max(1, sample_tasks // 10), tasks=sample_tasks, if_empty=True, progress=False, any_revision=True
    )
    get_engine(reads.url).dispose()
    if not loaded.skipped:
        result.sample_tasks = sample_tasks
        result.notes.append(f"The copy's tables were empty: {sample_tasks:,} sample tasks were loaded at {result.down_revision}.")
    with reads.connect() as connection:
        return migrations.row_counts(connection)


def _changes(revision: Script, reads: DatabaseHandle) -> list[Change]:
    dialect = reads.engine.dialect
    return record(revision.module.upgrade, dialect) + record(revision.module.downgrade, dialect, role="undo")


def _touched(changes: list[Change]) -> set[tuple[str, str]]:
    """(table, column) the revision's upgrade or downgrade changes; (table, ``*``) for a table made, dropped or renamed."""
    found: set[tuple[str, str]] = set()
    for change in changes:
        if change.table is None:
            continue
        if change.kind in ("add_column", "drop_column", "alter_column") and change.column:
            found.add((change.table, change.column))
            renamed = change.detail.get("name")
            if renamed:
                found.add((change.table, str(renamed)))
        elif change.kind in ("create_table", "drop_table", "rename_table") and not change.detail.get("rebuilt"):
            found.add((change.table, WHOLE_TABLE))
            if change.detail.get("new_name"):
                found.add((str(change.detail["new_name"]), WHOLE_TABLE))
    return found


def _compare(first: Snapshot, second: Snapshot, step: str, touched: set[tuple[str, str]]) -> list[ColumnChange]:
    changes = []
    for table in sorted(set(first) | set(second)):
        whole = (table, WHOLE_TABLE) in touched
        left, right = first.get(table, {}), second.get(table, {})
        for column in sorted(set(left) | set(right)):
            if left.get(column) == right.get(column):
                continue
            before, after = left.get(column), right.get(column)
            changes.append(
                ColumnChange(
                    table,
                    column,
                    step,
                    before[0] if before else None,
                    after[0] if after else None,
                    whole or (table, column) in touched,
                )
            )
    return changes


def checksums(database: URL | DatabaseHandle) -> Snapshot:
    """Every column of every table (not ``alembic_version``): its non-null values and a digest of them in key order."""
    if not isinstance(database, DatabaseHandle):
        with open_database(database, read_only=True) as reads:
            return checksums(reads)
    with database.connect() as connection:
        inspector = sa.inspect(connection)
        snapshot: Snapshot = {}
        for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
            columns = [column["name"] for column in inspector.get_columns(table)]
            key = inspector.get_pk_constraint(table).get("constrained_columns") or columns
            source = sa.table(table, *(sa.column(name) for name in columns))
            rows = connection.execute(sa.select(source).order_by(*(source.c[name] for name in key))).all()
            digests = {name: hashlib.sha256() for name in columns}
            counts = dict.fromkeys(columns, 0)
            for row in rows:
                for name, value in zip(columns, row, strict=True):
                    digests[name].update(_canonical(value))
                    counts[name] += value is not None
            snapshot[table] = {name: (counts[name], digests[name].hexdigest()) for name in columns}
            snapshot[table][WHOLE_TABLE] = (len(rows), "")
        return snapshot


def _canonical(value: Any) -> bytes:
    """One spelling per value, whatever the driver hands back (aware or naive UTC timestamps, Decimal, bool as 0/1)."""
    if value is None:
        return b"\x00"
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        return value.isoformat(sep=" ").encode() + b"\x1f"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, Decimal):
        value = value.normalize()
    return str(value).encode() + b"\x1f"
