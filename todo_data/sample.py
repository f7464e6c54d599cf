"""Deterministic sample data: generated with NumPy and Arrow (no per-row Python), bulk-loaded in one transaction.

Users own a Zipf-like number of tasks; timestamps span two years in UTC; priorities and completion depend
on a task's age; dependencies form a DAG (a task waits on an older task of its owner). PostgreSQL loads
through ADBC (COPY BINARY); SQLite through ADBC's bulk ingest, in a child process; into empty tables both drop
the secondary indexes and constraints first and restore them exactly afterwards, inside the same transaction.
"""

from __future__ import annotations

import abc
import contextlib
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine import URL

from todo_data import migrations
from todo_data.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    describe_connection_error,
    resolve_url,
    sqlite_child_ended,
    start_sqlite_child,
    translate_errors,
)
from todo_data.errors import ConfigurationError, ConnectionFailed, MigrationError
from todo_data.models import DESCRIPTION_MAX, PRIORITIES
from todo_data.settings import backend_of, mask_url

FIRST_NAMES = (
    "Ada", "Alan", "Amira", "Ana", "Aoife", "Ben", "Bruno", "Carla", "Chen", "Chloe", "Daniel", "Dara", "Elena", "Emeka", "Farah",
    "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal", "Jana", "Kai", "Kenji", "Lara", "Leo", "Lina", "Mara", "Mateo", "Mei",
    "Nadia", "Noah", "Olga", "Omar", "Priya", "Quinn", "Rafael", "Rosa", "Sami", "Sara", "Tariq", "Tess", "Uma", "Victor", "Wen",
    "Xavier", "Yara", "Yusuf", "Zoe", "Zeynep",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Ahmed", "Bauer", "Becker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Hopper", "Ivanova", "Jensen",
    "Kim", "Kowalski", "Lovelace", "Lopez", "Martin", "Meyer", "Moreau", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel",
    "Perez", "Quinn", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Tanaka", "Turing", "Usman", "Varga", "Wagner", "Wang", "Weber",
    "Wong", "Yilmaz", "Zhang", "Zimmermann",
)  # fmt: skip
VERBS = (
    "Buy", "Call", "Fix", "Write", "Review", "Plan", "Clean", "Book", "Send", "Read", "Pay", "Update", "Prepare", "Schedule",
    "Cancel", "Renew", "Order", "Check", "Organise", "Draft", "Sign", "Return", "Pick up", "Email", "Finish", "Test", "Back up",
)  # fmt: skip
QUALIFIERS = (
    "the", "the new", "the old", "next week's", "the monthly", "the quarterly", "the annual", "the shared", "the team's", "my",
    "our", "the overdue", "the draft", "the final",
)  # fmt: skip
OBJECTS = (
    "groceries", "report", "dentist appointment", "invoice", "garden", "slides", "train tickets", "newsletter", "budget", "car service",
    "meeting notes", "tax return", "insurance", "passport", "library books", "birthday gift", "flat viewing", "gym membership",
    "project plan", "code review", "release notes", "database backup", "laptop", "phone contract", "electricity bill", "rent",
    "flight", "hotel", "visa form", "doctor", "vet", "bike repair", "kitchen tap", "photos", "wedding RSVP", "cover letter",
)  # fmt: skip
NOTES = (
    "Needs doing before the end of the week.", "Ask for a second opinion first.", "Remember the receipt.",
    "Blocked until the reply arrives.", "Low effort, do it on the way home.", "Check the shared folder for the details.",
    "Takes about an hour.", "Split into smaller steps if it drags on.", "Agreed in the last meeting.", "Keep the confirmation e-mail.",
    "Compare at least three offers.", "Do it together with the other errands.",
)  # fmt: skip
DETAILS = (
    "", " The deadline is firm.", " Costs are shared.", " See the linked notes.", " Call if anything is unclear.",
    " Priority may change.", " Waiting on a colleague.", " Reminder set for Monday.",
)  # fmt: skip

DEFAULT_NOW = datetime(2026, 1, 1, tzinfo=UTC)  # where generated time ends unless told
SPAN_DAYS = 730
DAY_US = 86_400_000_000
LEGACY_PRIORITIES = ("urgent", "HIGH", "Low", "")  # what the seed's app let through; priority is VARCHAR(20) with no check
LONG_DESCRIPTION = ("Copied from the old tracker. " * (DESCRIPTION_MAX // 20)).strip()  # over the API's limit; the column is TEXT
FUTURE_DAYS = 3650  # the planted future timestamp: ten years after ``now``, so it stays in the future for a while
# Rows per kind that ``anomalies=True`` plants; with fewer tasks the kinds take turns until the tasks run out.
ANOMALIES = {"legacy_priority": len(LEGACY_PRIORITIES), "future_timestamp": 1, "updated_before_created": 2, "long_description": 2}
CHUNK_ROWS = 100_000

UTC_MICROS = pa.timestamp("us", tz="UTC")
USERS_SCHEMA = pa.schema(
    [("id", pa.string()), ("email", pa.string()), ("name", pa.string()), ("created_at", UTC_MICROS), ("updated_at", UTC_MICROS)]
)
TASKS_SCHEMA = pa.schema(
    [
        ("id", pa.int32()),
        ("user_id", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("completed", pa.bool_()),
        ("priority", pa.string()),
        ("created_at", UTC_MICROS),
        ("updated_at", UTC_MICROS),
    ]
)
DEPENDENCIES_SCHEMA = pa.schema(
    [("id", pa.int32()), ("parent_task_id", pa.int32()), ("child_task_id", pa.int32()), ("created_at", UTC_MICROS)]
)
TABLES = {"users": "users", "tasks": "task", "dependencies": "task_relationships"}  # SampleData field -> table, in load order


@dataclass(frozen=True)
class SampleData:
    """Generated rows as Arrow tables whose columns are the tables'; ``anomalies``: planted kind -> task ids."""

    users: pa.Table
    tasks: pa.Table
    dependencies: pa.Table
    anomalies: dict[str, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleResult:
    """What a sample load did."""

    database: str
    users: int
    tasks: int
    dependencies: int
    skipped: bool = False

    def describe(self) -> str:
        if self.skipped:
            return f"{self.database}: already holds data; sample load skipped"
        return f"{self.database}: loaded {self.users} users, {self.tasks} tasks, {self.dependencies} dependencies"


# --- generation ---------------------------------------------------------------------------------


def generate(users: int, tasks: int, seed: int = 0, now: datetime | None = None, anomalies: bool = False) -> SampleData:
    """Users, tasks and dependencies as Arrow tables from one seeded generator: the same arguments give the same tables.

    Timestamps fall in the two years before ``now`` (default :data:`DEFAULT_NOW`, so a seed means the same data any day). Owners are Zipf-like;
    task ids follow creation time; older tasks are more often done and less often high priority; a task
    waits only on an older task of its owner. ``anomalies`` rewrites a few tasks as legacy data holds
    them (see :data:`ANOMALIES`) and leaves every other row as it was.
    """
    _check_arguments(users, tasks, seed)
    rng = np.random.default_rng(seed)
    end = _epoch_micros(now or DEFAULT_NOW)
    start = end - SPAN_DAYS * DAY_US

    # Users sign up during the first eighteen months, or earlier if their first task is; a few have no name.
    first = _pick(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), users))
    last = _pick(LAST_NAMES, rng.integers(0, len(LAST_NAMES), users))
    user_ids = _uuid4_strings(rng, users)
    full_name = pc.binary_join_element_wise(first, last, " ")
    names = pc.if_else(pa.array(rng.random(users) < 0.05), pa.scalar(None, pa.string()), full_name)
    serial = pc.cast(pa.array(np.arange(1, users + 1)), pa.string())
    emails = pc.binary_join_element_wise(pc.utf8_lower(first), ".", pc.utf8_lower(last), serial, "@example.com", "")
    user_created = start + (rng.random(users) ** 1.5 * (SPAN_DAYS * 0.75 * DAY_US)).astype(np.int64)

    # Tasks over the whole two years; the user of rank r (ranks shuffled over users) owns a share proportional to 1/r.
    weights = 1.0 / np.arange(1, users + 1)
    owner = rng.permutation(users)[rng.choice(users, size=tasks, p=weights / weights.sum())]
    created = start + (rng.random(tasks) * (SPAN_DAYS * DAY_US)).astype(np.int64)
    order = np.argsort(created, kind="stable")
    owner, created = owner[order], created[order]
    np.minimum.at(user_created, owner, created)
    user_updated = user_created + (rng.random(users) * (end - user_created) * (rng.random(users) < 0.3)).astype(np.int64)
    ids = np.arange(1, tasks + 1, dtype=np.int32)
    age_days = (end - created) / DAY_US
    completed = rng.random(tasks) < 0.1 + 0.85 * (1 - np.exp(-age_days / 90))
    draw, recent = rng.random(tasks), age_days < 90
    priority = (draw >= np.where(recent, 0.2, 0.35)).astype(np.int8) + (draw >= np.where(recent, 0.6, 0.8))
    touched = np.where(completed, 1.0, rng.random(tasks) < 0.3)
    updated = np.minimum(created + (rng.exponential(3 * DAY_US, tasks) * touched).astype(np.int64), end)
    titles = _combinations(VERBS, QUALIFIERS, OBJECTS, separator=" ")
    title = titles.take(pa.array(rng.integers(0, len(titles), tasks)))
    notes = pa.concat_arrays([_combinations(NOTES, DETAILS, separator=""), pa.array([LONG_DESCRIPTION])])
    note = np.where(rng.random(tasks) < 0.4, -1, rng.integers(0, len(notes) - 1, tasks))  # -1: no description

    # Dependencies: a task waits on an older task of the same owner, so parent id > child id.
    by_owner = np.argsort(owner, kind="stable")  # ids ascend within each owner's run
    grouped = owner[by_owner]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, tasks]))
    rank = np.arange(tasks) - group_start
    candidates = np.flatnonzero(rank > 0)
    wanted = min(tasks // 10, len(candidates))
    picked = rng.choice(candidates, size=wanted) if wanted else np.empty(0, dtype=np.int64)
    child_at = group_start[picked] + (rng.random(wanted) * rank[picked]).astype(np.int64)
    pair = np.unique(ids[by_owner[picked]].astype(np.int64) * (tasks + 1) + ids[by_owner[child_at]])
    parent, child = pair // (tasks + 1), pair % (tasks + 1)
    linked = np.minimum(created[parent - 1] + rng.exponential(DAY_US, len(pair)).astype(np.int64), end)

    planted: dict[str, list[int]] = {}
    if anomalies and tasks:
        planted = _plant_anomalies(np.random.default_rng([seed, 1]), priority, note, created, updated, end, len(notes) - 1)
    return SampleData(
        users=pa.Table.from_arrays([user_ids, emails, names, _timestamps(user_created), _timestamps(user_updated)], schema=USERS_SCHEMA),
        tasks=pa.Table.from_arrays(
            [
                pa.array(ids),
                user_ids.take(pa.array(owner)),
                title,
                notes.take(pa.array(note, mask=note < 0)),
                pa.array(completed),
                _pick(PRIORITIES + LEGACY_PRIORITIES, priority),
                _timestamps(created),
                _timestamps(updated),
            ],
            schema=TASKS_SCHEMA,
        ),
        dependencies=pa.Table.from_arrays(
            [
                pa.array(np.arange(1, len(pair) + 1, dtype=np.int32)),
                pa.array(parent.astype(np.int32)),
                pa.array(child.astype(np.int32)),
                _timestamps(linked),
            ],
            schema=DEPENDENCIES_SCHEMA,
        ),
        anomalies=planted,
    )


def _check_arguments(users: int, tasks: int, seed: int) -> None:
    if users < 1 or tasks < 0 or seed < 0:
        raise ConfigurationError(
            f"Need at least one user, no negative task count and a non-negative seed (got users={users}, tasks={tasks}, seed={seed})."
        )


def _plant_anomalies(
    rng: np.random.Generator, priority: np.ndarray, note: np.ndarray, created: np.ndarray, updated: np.ndarray, end: int, long_note: int
) -> dict[str, list[int]]:
    """Rewrite a few tasks in place (from their own generator, so other rows stay as they were); the task ids per kind."""
    left = dict(ANOMALIES)
    turns: list[str] = []
    while any(left.values()):
        for kind in ANOMALIES:
            if left[kind]:
                turns.append(kind)
                left[kind] -= 1
    rows = rng.permutation(len(priority))[: len(turns)]
    at = {kind: rows[[i for i, turn in enumerate(turns[: len(rows)]) if turn == kind]] for kind in ANOMALIES}
    priority[at["legacy_priority"]] = len(PRIORITIES) + np.arange(len(at["legacy_priority"]))
    created[at["future_timestamp"]] = end + FUTURE_DAYS * DAY_US
    updated[at["future_timestamp"]] = end + (FUTURE_DAYS + 1) * DAY_US
    updated[at["updated_before_created"]] = created[at["updated_before_created"]] - DAY_US
    note[at["long_description"]] = long_note
    return {kind: sorted(int(row) + 1 for row in found) for kind, found in at.items()}


def _uuid4_strings(rng: np.random.Generator, count: int) -> pa.StringArray:
    """Version-4 UUIDs in canonical text from the generator's bytes: reproducible, and no per-row Python."""
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype=np.uint8).reshape(count, 32)
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    text[:, np.r_[0:8, 9:13, 14:18, 19:23, 24:36]] = hexed
    offsets = np.arange(0, 36 * (count + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(text.tobytes()))


def _pick(words: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pa.array(words, type=pa.string()).take(pa.array(index))


def _combinations(*parts: tuple[str, ...], separator: str) -> pa.Array:
    """Every combination of one word from each list, joined: a vocabulary that rows index into."""
    grids = np.meshgrid(*(np.arange(len(part)) for part in parts), indexing="ij")
    return pc.binary_join_element_wise(*(_pick(part, grid.ravel()) for part, grid in zip(parts, grids, strict=True)), separator)


def _timestamps(micros: np.ndarray) -> pa.Array:
    return pa.array(micros.astype("datetime64[us]")).cast(UTC_MICROS)


def _epoch_micros(moment: datetime) -> int:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


# --- loading --------------------------------------------------------------------------------------


def load_sample(
    database_url: str | URL | None = None,
    *,
    users: int = 20,
    tasks: int = 200,
    seed: int = 0,
    append: bool = False,
    if_empty: bool = False,
    anomalies: bool = False,
    progress: bool | None = None,
    now: datetime | None = None,
) -> SampleResult:
    """Generate sample data and bulk-load it in one transaction: a failure leaves the database as it was.

    Refuses tables that hold rows unless ``append`` (fresh user ids and e-mails, task ids after the
    largest); ``if_empty`` skips them quietly instead. Into empty tables the secondary indexes and
    constraints are dropped for the load and restored exactly, by name. ``progress``: a bar on stderr
    (None: when stderr is a terminal). ``now``: see :func:`generate`.
    """
    if append and if_empty:
        raise ConfigurationError("append and if_empty exclude each other: pass at most one of them.")
    _check_arguments(users, tasks, seed)
    url = resolve_url(database_url)
    state = migrations.status(url)
    if not state.at_head:
        raise MigrationError(
            f"{mask_url(url)} is not at head ({', '.join(state.current) or 'no revision'}): run `todo-data db upgrade` first."
        )
    show = sys.stderr.isatty() if progress is None else progress
    target = _PostgresTarget(url) if backend_of(url) == "postgresql" else _SqliteTarget(url)
    with translate_errors(url), _progress_bar(show) as bar, target:
        holding = target.tables_holding_rows()
        if holding and if_empty:
            return SampleResult(mask_url(url), 0, 0, 0, skipped=True)
        if holding and not append:
            raise ConfigurationError(
                f"{mask_url(url)} already holds rows ({', '.join(holding)}): pass --append to add to them, or use an empty database."
            )
        data = generate(users, tasks, seed, now=now, anomalies=anomalies)
        bar.reset(total=data.users.num_rows + data.tasks.num_rows + data.dependencies.num_rows)
        restore: list[str] = []
        if holding:
            data = _renumbered(data, target, seed)
        else:
            restore = target.drop_secondary()
        for name, table in TABLES.items():
            bar.set_description(name)
            _load_rows(target, table, getattr(data, name), bar)
        bar.set_description("indexes")
        for done, statement in enumerate(restore, 1):
            target.execute(statement)
            bar.set_postfix_str(f"{done}/{len(restore)}")
        target.finish()
        target.commit()
    return SampleResult(mask_url(url), data.users.num_rows, data.tasks.num_rows, data.dependencies.num_rows)


def _load_rows(target: _Target, table: str, rows: pa.Table, bar: Any) -> None:
    """Copy one table's rows in chunks, moving the progress bar as each chunk goes."""

    def chunks() -> Iterator[pa.RecordBatch]:
        for batch in rows.to_batches(max_chunksize=CHUNK_ROWS):
            yield batch
            bar.update(batch.num_rows)

    target.copy(table, pa.RecordBatchReader.from_batches(rows.schema, chunks()))


def _renumbered(data: SampleData, target: _Target, seed: int) -> SampleData:
    """The rows moved past what the tables hold: ids after the largest, new user ids, e-mails tagged ``+b<batch>``."""
    batch = 2
    while target.email_tag_used(f"+b{batch}@"):
        batch += 1
    task_offset, dependency_offset = target.max_ids()
    new_ids = _uuid4_strings(np.random.default_rng([seed, batch]), data.users.num_rows)
    users = data.users.set_column(0, "id", new_ids)
    users = users.set_column(1, "email", pc.replace_substring(users["email"], "@", f"+b{batch}@"))
    tasks = data.tasks.set_column(0, "id", pc.add_checked(data.tasks["id"], np.int32(task_offset)))
    tasks = tasks.set_column(1, "user_id", new_ids.take(pc.index_in(data.tasks["user_id"], value_set=data.users["id"])))
    dependencies = data.dependencies
    for position, name, offset in ((0, "id", dependency_offset), (1, "parent_task_id", task_offset), (2, "child_task_id", task_offset)):
        dependencies = dependencies.set_column(position, name, pc.add_checked(dependencies[name], np.int32(offset)))
    anomalies = {kind: [task_id + task_offset for task_id in task_ids] for kind, task_ids in data.anomalies.items()}
    return SampleData(users, tasks, dependencies, anomalies)


@contextlib.contextmanager
def _progress_bar(show: bool) -> Iterator[Any]:
    from tqdm.auto import tqdm

    with tqdm(unit="row", disable=not show, file=sys.stderr, leave=False, desc="sample") as bar:
        yield bar


class _Target(abc.ABC):
    """One database through one connection and one transaction: what a sample load does to it."""

    tables = tuple(TABLES.values())

    def __init__(self, url: URL) -> None:
        self.url = url

    def __enter__(self) -> Self:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.rollback()  # nothing left to undo after a commit
        finally:
            self.close()

    @abc.abstractmethod
    def open(self) -> None:
        """Connect, begin, and take the locks that keep a second loader out."""

    @abc.abstractmethod
    def close(self) -> None:
        """Give the connection back as it was found (safe on a half-open target)."""

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def execute(self, statement: str) -> list[tuple[Any, ...]]:
        """Run one statement; its rows, if it returns any."""

    @abc.abstractmethod
    def copy(self, table: str, rows: pa.RecordBatchReader) -> None:
        """Append Arrow batches to a table."""

    @abc.abstractmethod
    def drop_secondary(self) -> list[str]:
        """Drop what a bulk load is faster without; returns the statements that restore it, in order."""

    @abc.abstractmethod
    def finish(self) -> None:
        """Work after the rows are in and the indexes back (sequences, planner statistics)."""

    def tables_holding_rows(self) -> list[str]:
        return [table for table in self.tables if self.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")[0][0]]

    def email_tag_used(self, tag: str) -> bool:
        return bool(self.execute(f"SELECT EXISTS (SELECT 1 FROM users WHERE email LIKE '%{tag}%')")[0][0])

    def max_ids(self) -> tuple[int, int]:
        row = self.execute("SELECT (SELECT coalesce(max(id), 0) FROM task), (SELECT coalesce(max(id), 0) FROM task_relationships)")[0]
        return int(row[0]), int(row[1])


# Index builds sort in memory up to this much (session-local, and only ever raised).
PG_MAINTENANCE_WORK_MEM = "256MB"
# Every constraint of the tables (and foreign key pointing at them) and every index not backing a constraint,
# except what something else leans on (CLUSTER ON, replica identity, an invalid index): with the statements to
# drop and restore each. Drops run foreign keys first; restores run in the reverse order.
PG_SECONDARY_OBJECTS = """
WITH targets AS (SELECT to_regclass(name) AS oid FROM unnest(ARRAY[{tables}]) AS name),
kept_index AS (SELECT indexrelid FROM pg_index WHERE indisclustered OR indisreplident OR NOT indisvalid),
items AS (
    SELECT CASE c.contype WHEN 'f' THEN 3 ELSE 1 END AS step, c.conname AS name,
           format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_sql,
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) AS create_sql,
           CASE WHEN d.description IS NOT NULL
                THEN format('COMMENT ON CONSTRAINT %I ON %s IS %L', c.conname, c.conrelid::regclass, d.description) END AS comment_sql
    FROM pg_constraint c
    LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_constraint'::regclass
    WHERE c.conislocal AND c.contype IN ('p', 'u', 'x', 'c', 'f')
      AND (c.conrelid IN (SELECT oid FROM targets) OR (c.contype = 'f' AND c.confrelid IN (SELECT oid FROM targets)))
      AND (c.contype = 'f' OR c.conindid = 0 OR c.conindid NOT IN (SELECT indexrelid FROM kept_index))
    UNION ALL
    SELECT 2, ic.relname,
           format('DROP INDEX %s', i.indexrelid::regclass),
           pg_get_indexdef(i.indexrelid),
           CASE WHEN d.description IS NOT NULL THEN format('COMMENT ON INDEX %s IS %L', i.indexrelid::regclass, d.description) END
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    LEFT JOIN pg_description d ON d.objoid = i.indexrelid AND d.classoid = 'pg_class'::regclass
    WHERE i.indrelid IN (SELECT oid FROM targets) AND i.indexrelid NOT IN (SELECT indexrelid FROM kept_index)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
)
SELECT drop_sql, create_sql, comment_sql FROM items ORDER BY step DESC, name DESC
"""


class _PostgresTarget(_Target):
    """PostgreSQL through ADBC: Arrow batches go in by COPY BINARY; the DDL runs on the same connection and transaction."""

    connection: Any = None

    def open(self) -> None:
        import adbc_driver_postgresql.dbapi

        uri = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self.connection = adbc_driver_postgresql.dbapi.connect(uri)  # autocommit off: one transaction until commit
        except adbc_driver_postgresql.dbapi.Error as exc:
            raise ConnectionFailed(describe_connection_error(exc, self.url)) from None
        self.cursor = self.connection.cursor()
        self.execute(f"LOCK TABLE {', '.join(self.tables)} IN SHARE ROW EXCLUSIVE MODE")  # one loader at a time; readers go on

    def close(self) -> None:
        if self.connection is not None:
            self.cursor.close()
            self.connection.close()
            self.connection = None

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        if self.connection is not None:
            self.connection.rollback()

    def execute(self, statement: str) -> list[tuple[Any, ...]]:
        self.cursor.execute(statement)
        return self.cursor.fetchall() if self.cursor.description else []

    def copy(self, table: str, rows: pa.RecordBatchReader) -> None:
        self.cursor.adbc_ingest(table, rows, mode="append")

    def drop_secondary(self) -> list[str]:
        self.execute(f"LOCK TABLE {', '.join(self.tables)} IN ACCESS EXCLUSIVE MODE")
        self.execute(
            f"SELECT set_config('maintenance_work_mem', '{PG_MAINTENANCE_WORK_MEM}', true) "
            f"WHERE pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes('{PG_MAINTENANCE_WORK_MEM}')"
        )
        restore: list[str] = []
        for drop, create, comment in self.execute(PG_SECONDARY_OBJECTS.format(tables=", ".join(f"'{t}'" for t in self.tables))):
            self.execute(drop)
            restore[:0] = [create, comment] if comment else [create]
        return restore

    def finish(self) -> None:
        for table in ("task", "task_relationships"):
            self.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} HAVING max(id) IS NOT NULL")
        self.execute(f"ANALYZE {', '.join(self.tables)}")


class _SqliteTarget(_Target):
    """SQLite through ADBC's bulk ingest (Arrow columns bound in C), run by a child process that alone touches the file.

    A child, not this process: the ADBC driver carries its own copy of SQLite, and two copies in one process can drop
    each other's POSIX locks on the same file (https://sqlite.org/howtocorrupt.html#multiple_copies_of_sqlite_linked_into_the_same_application).
    Every statement of the load runs in the child's one ``BEGIN IMMEDIATE`` transaction; this process opens no connection
    of its own for the load and holds no transaction meanwhile. The child commits only when told to: if this process dies, the child reads end of input and
    rolls back; if the child dies, SQLite discards the uncommitted transaction. Constraints live in SQLite's table
    definitions, so only ``CREATE INDEX`` indexes are dropped and rebuilt.
    """

    process: subprocess.Popen[bytes] | None = None

    def open(self) -> None:
        uri = _sqlite_write_uri(self.url)
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self.process = start_sqlite_child(self.stderr, _sqlite_child)
        try:
            self._call({"op": "connect", "uri": uri})
        except sqlite3.Error as exc:
            raise ConnectionFailed(describe_connection_error(exc, self.url)) from None
        self.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        self.execute("PRAGMA foreign_keys = ON")  # as every engine connection: the rows are checked on the way in
        if self.execute("PRAGMA synchronous")[0][0] > 1:
            # NORMAL skips the fsync per commit (WAL: at checkpoints only); a failed load still rolls back. The cost:
            # a power cut right after the load may lose it (never corrupts a WAL database). Only the child's connection has it.
            self.execute("PRAGMA synchronous = NORMAL")
        self.execute("BEGIN IMMEDIATE")  # the write lock now: one loader at a time, no lock upgrade later

    def close(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        try:
            with contextlib.suppress(OSError):
                process.stdin.close()  # type: ignore[union-attr]  # end of input: the child rolls back what is not committed
            try:
                process.wait(timeout=SQLITE_CHILD_EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()  # an uncommitted transaction dies with it
                process.wait()
        finally:
            process.stdout.close()  # type: ignore[union-attr]
            self.stderr.close()

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        """Nothing to send: :meth:`close` ends the child's input, and the child rolls back what it did not commit."""

    def execute(self, statement: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._call({"op": "execute", "sql": statement})]

    def copy(self, table: str, rows: pa.RecordBatchReader) -> None:
        schema = pa.schema([field.with_type(pa.string()) if pa.types.is_timestamp(field.type) else field for field in rows.schema])
        self._send({"op": "copy", "table": table})
        try:
            with pa.ipc.new_stream(self.process.stdin, schema) as writer:  # type: ignore[union-attr]
                for batch in rows:
                    columns = [_sqlite_datetime_text(column) if pa.types.is_timestamp(column.type) else column for column in batch.columns]
                    writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            self.process.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            raise self._gone() from None
        self._reply()

    def drop_secondary(self) -> list[str]:
        names = ", ".join(f"'{table}'" for table in self.tables)
        rows = self.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({names})")
        for name, _sql in rows:
            self.execute(f'DROP INDEX "{name}"')
        return [sql for _name, sql in rows]

    def finish(self) -> None:
        # New rowids follow the largest id by themselves. Statistics: refresh them where someone keeps them;
        # where no ANALYZE ever ran, the planner goes on without, as before.
        if self.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"):
            for table in self.tables:
                self.execute(f"ANALYZE {table}")

    def _call(self, request: dict[str, Any]) -> Any:
        self._send(request)
        return self._reply()

    def _send(self, request: dict[str, Any]) -> None:
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")  # type: ignore[union-attr]
            self.process.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            raise self._gone() from None

    def _reply(self) -> Any:
        """The child's answer to the last request; its error raised as the ``sqlite3`` error of the same name."""
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise self._gone()
        reply = json.loads(line)
        if "error" in reply:
            error = getattr(sqlite3, reply["kind"], None)
            raise (error if isinstance(error, type) and issubclass(error, sqlite3.Error) else sqlite3.DatabaseError)(reply["error"])
        return reply["result"]

    def _gone(self) -> sqlite3.Error:
        return sqlite3.OperationalError(sqlite_child_ended(self.process, self.stderr, "loader"))  # type: ignore[arg-type]


SQLITE_CHILD_EXIT_SECONDS = 10  # what the child gets to roll back and close after its input ends, before it is killed


def _sqlite_write_uri(url: URL) -> str:
    """A ``file:`` URI for the child's connection: read-write and never creating the file, unless a ``file:`` URL says otherwise."""
    database = url.database or ""
    if database in ("", ":memory:"):
        raise ConfigurationError(
            "Sample data goes into a SQLite file, but the URL names an in-memory database: use sqlite:///path/to/file.db."
        )
    if database.startswith("file:"):  # the URI's own mode (say ro) stands
        return database if re.search(r"[?&]mode=", database) else f"{database}{'&' if '?' in database else '?'}mode=rw"
    return f"{Path(database).resolve().as_uri()}?mode=rw"


def _sqlite_child() -> None:
    """The loader process's side of :class:`_SqliteTarget`, run by ``python -c`` (it imports nothing of todo_data).

    One JSON request per line on stdin (an Arrow IPC stream follows each ``copy``), one JSON reply per line on stdout.
    At end of input it rolls back whatever was not committed and exits.
    """
    import contextlib
    import json
    import re
    import sys

    import adbc_driver_manager
    import adbc_driver_sqlite
    import pyarrow as pa

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    database = connection = None

    def run(sql: str) -> list[list[object]]:
        statement = adbc_driver_manager.AdbcStatement(connection)
        try:
            statement.set_sql_query(sql)
            handle, _ = statement.execute_query()
            table = pa.RecordBatchReader._import_from_c(handle.address).read_all()
        finally:
            statement.close()
        return [list(row) for row in zip(*(column.to_pylist() for column in table.columns), strict=True)]

    def ingest(table: str) -> int:
        stream = pa.ipc.open_stream(requests)
        statement = adbc_driver_manager.AdbcStatement(connection)
        try:
            statement.set_options(**{"adbc.ingest.target_table": table, "adbc.ingest.mode": "adbc.ingest.mode.append"})
            statement.bind_stream(pa.RecordBatchReader.from_batches(stream.schema, (batch for batch in stream)))
            return statement.execute_update()
        finally:
            statement.close()
            with contextlib.suppress(Exception):
                for _batch in stream:  # what a failed ingest left unread: the parent is still writing it
                    pass

    while line := requests.readline():
        request = json.loads(line)
        try:
            if request["op"] == "connect":
                database = adbc_driver_sqlite.connect(request["uri"])
                connection = adbc_driver_manager.AdbcConnection(database)
                result = None
            elif request["op"] == "execute":
                result = run(request["sql"])
            else:
                result = ingest(request["table"])
            reply = {"result": result}
        except Exception as exc:
            message = re.sub(r"^[A-Z_]+: (\[SQLite\] )?", "", (str(exc).strip().splitlines() or [""])[0])  # ADBC's status prefix
            kind = "IntegrityError" if "constraint failed" in message else type(exc).__name__  # ADBC's ingest says InternalError
            reply = {"error": message, "kind": kind}
        replies.write(json.dumps(reply).encode() + b"\n")
        replies.flush()
    if connection is not None:
        with contextlib.suppress(Exception):
            run("ROLLBACK")  # fails harmlessly after a COMMIT
        connection.close()
    if database is not None:
        database.close()


def _sqlite_datetime_text(column: pa.Array) -> pa.Array:
    """UTC timestamps as UTCDateTime stores them on SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff`` (six digits always), no offset."""
    return pc.cast(column.cast(pa.timestamp("us")), pa.string())
