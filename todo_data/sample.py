"""Deterministic sample data: generated with NumPy and Arrow (no per-row Python), bulk-loaded in one transaction.

Users own a Zipf-like number of tasks; timestamps span the two years up to an as-of day in UTC;
priorities and completion depend on a task's age; dependencies form a DAG (a task waits on an older task of its owner),
and some open tasks wait on older open tasks. Each backend's load
target (``todo_data/backends/*/load.py``) takes the rows: PostgreSQL through ADBC (COPY BINARY); SQLite through
ADBC's bulk ingest, in a child process; into empty tables both drop the secondary indexes and constraints first and
restore them exactly afterwards, inside the same transaction.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.schema import ColumnDefault, DefaultClause

from todo_data import chain, migrations
from todo_data.backends import backend_for
from todo_data.backends.load import LoadTarget
from todo_data.db import build_engine, resolve_url, translate_errors
from todo_data.errors import ConfigurationError, MigrationError
from todo_data.impact.changes import record
from todo_data.models import DESCRIPTION_MAX, PRIORITIES, metadata
from todo_data.settings import mask_url
from todo_data.standby import require_primary

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

DEFAULT_NOW = datetime(2026, 1, 1, tzinfo=UTC)  # where generated time ends unless told (the CLI passes the start of today)
SPAN_DAYS = 730
OPEN_WAITS = 0.2  # the share of dependencies drawn among open tasks only, so the report's "blocked" has something
DAY_US = 86_400_000_000
LEGACY_PRIORITIES = ("urgent", "HIGH", "Low", "")  # what the seed's app let through; priority is VARCHAR(20) with no check
LONG_DESCRIPTION = ("Copied from the old tracker. " * (DESCRIPTION_MAX // 20)).strip()  # over the API's limit; the column is TEXT
FUTURE_DAYS = 3650  # the planted future timestamp: ten years after ``now``, so it stays in the future for a while
# Rows per kind that ``anomalies=True`` plants; with fewer tasks the kinds take turns until the tasks run out.
ANOMALIES = {"legacy_priority": len(LEGACY_PRIORITIES), "future_timestamp": 1, "updated_before_created": 2, "long_description": 2}
CYCLE = "dependency_cycle"  # the anomalies' key for the task ids of the planted cycle (each waits on the next, the last on the first)
CYCLE_LENGTH = 3
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
GENERATED = {"users": USERS_SCHEMA, "task": TASKS_SCHEMA, "task_relationships": DEPENDENCIES_SCHEMA}  # table -> generated columns


@dataclass(frozen=True)
class SampleData:
    """Generated rows as Arrow tables whose columns are the tables'; ``anomalies``: planted kind -> task ids (:data:`CYCLE`: the cycle's)."""

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

    Timestamps fall in the two years before ``now`` (default :data:`DEFAULT_NOW`, so a seed means the same data any day;
    ``todo-data sample`` passes the start of today). Owners are Zipf-like; task ids follow creation time; older tasks are more often done and
    less often high priority; a task waits only on an older task of its owner, and a share (:data:`OPEN_WAITS`) of the
    waits join two open tasks. ``anomalies`` rewrites a few tasks as legacy data holds them (see :data:`ANOMALIES`) and
    appends dependencies that close a cycle (:data:`CYCLE`), leaving every other row as it was.
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

    # Dependencies: a task waits on an older task of the same owner, so parent id > child id; some join two open tasks.
    wanted = tasks // 10
    some_open = int(wanted * OPEN_WAITS)
    waits = [_waits(rng, owner, np.arange(tasks), wanted - some_open), _waits(rng, owner, np.flatnonzero(~completed), some_open)]
    pair = np.unique(np.concatenate([ids[parent_at].astype(np.int64) * (tasks + 1) + ids[child_at] for parent_at, child_at in waits]))
    parent, child = pair // (tasks + 1), pair % (tasks + 1)
    linked = np.minimum(created[parent - 1] + rng.exponential(DAY_US, len(pair)).astype(np.int64), end)

    planted: dict[str, list[int]] = {}
    if anomalies and tasks:
        planted = _plant_anomalies(np.random.default_rng([seed, 1]), priority, note, created, updated, end, len(notes) - 1)
        cycle = _cycle(np.random.default_rng([seed, 2]), owner)
        if cycle:
            planted[CYCLE] = cycle
            parent, child, linked = _close_cycle(cycle, parent, child, linked, created, end)
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
                pa.array(np.arange(1, len(parent) + 1, dtype=np.int32)),
                pa.array(parent.astype(np.int32)),
                pa.array(child.astype(np.int32)),
                _timestamps(linked),
            ],
            schema=DEPENDENCIES_SCHEMA,
        ),
        anomalies=planted,
    )


def start_of_day(day: date | str | None = None) -> datetime:
    """The start (00:00 UTC) of ``day`` (a date or ISO text like 2026-12-02; None: today in UTC): ``now`` for ``todo-data sample --as-of``.

    Data generated up to it stays in the past all day, and a seed gives the same rows all day.
    """
    if day is None:
        day = datetime.now(UTC).date()
    elif isinstance(day, str):
        try:
            day = date.fromisoformat(day.strip())
        except ValueError:
            raise ConfigurationError(f"--as-of wants a date such as 2026-12-02 (got {day!r}).") from None
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ConfigurationError(f"as_of must be a date such as date(2026, 12, 2) (got {day!r}).")
    return datetime.combine(day, time.min, UTC)


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


def _waits(rng: np.random.Generator, owner: np.ndarray, among: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``wanted`` (waiting, waited-on) row pairs within ``among`` (ascending rows): each waits on an older row of its owner."""
    by_owner = among[np.argsort(owner[among], kind="stable")]  # rows ascend within each owner's run
    grouped = owner[by_owner]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if len(by_owner) else np.empty(0, dtype=np.int64)
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(by_owner)]))
    rank = np.arange(len(by_owner)) - group_start
    candidates = np.flatnonzero(rank > 0)
    wanted = min(wanted, len(candidates))
    picked = rng.choice(candidates, size=wanted) if wanted else np.empty(0, dtype=np.int64)
    waited_on = group_start[picked] + (rng.random(wanted) * rank[picked]).astype(np.int64)
    return by_owner[picked], by_owner[waited_on]


def _cycle(rng: np.random.Generator, owner: np.ndarray) -> list[int]:
    """Task ids for a planted cycle: :data:`CYCLE_LENGTH` tasks of the busiest owner (or any, or two), smallest first; [] under two tasks."""
    busiest = np.flatnonzero(owner == np.bincount(owner).argmax()) if len(owner) else owner
    pool = busiest if len(busiest) >= CYCLE_LENGTH else np.arange(len(owner))
    if len(pool) < 2:
        return []
    return sorted(int(row) + 1 for row in rng.choice(pool, size=min(CYCLE_LENGTH, len(pool)), replace=False))


def _close_cycle(
    cycle: list[int], parent: np.ndarray, child: np.ndarray, linked: np.ndarray, created: np.ndarray, end: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Append the waits ``cycle[i]`` -> ``cycle[i + 1]`` and last -> first not there yet (a wait on a younger task never is)."""
    have = set(zip(parent.tolist(), child.tolist(), strict=True))
    edges = [(a, b) for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True) if (a, b) not in have]
    new_parent, new_child = np.array([a for a, _ in edges], dtype=np.int64), np.array([b for _, b in edges], dtype=np.int64)
    new_linked = np.minimum(np.maximum(created[new_parent - 1], created[new_child - 1]) + DAY_US, end)
    return np.r_[parent, new_parent], np.r_[child, new_child], np.r_[linked, new_linked]


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
    any_revision: bool = False,
) -> SampleResult:
    """Generate sample data and bulk-load it in one transaction: a failure leaves the database as it was.

    Refuses tables that hold rows unless ``append`` (fresh user ids and e-mails, task ids after the
    largest); ``if_empty`` skips them quietly instead. Into empty tables the secondary indexes and
    constraints are dropped for the load and restored exactly, by name. ``progress``: a bar on stderr
    (None: when stderr is a terminal). ``now``: see :func:`generate`. ``any_revision``: load a database at any revision
    (a scratch database a migration trace fills): the rows are written in the columns each table has there
    (:func:`conform`), and a table it does not have yet is left out.
    """
    if append and if_empty:
        raise ConfigurationError("append and if_empty exclude each other: pass at most one of them.")
    _check_arguments(users, tasks, seed)
    url = resolve_url(database_url)
    state = migrations.status(url)
    if not state.at_head and not any_revision:
        raise MigrationError(
            f"{mask_url(url)} is not at head ({', '.join(state.current) or 'no revision'}): run `todo-data db upgrade` first."
        )
    require_primary(url, "sample")
    show = sys.stderr.isatty() if progress is None else progress
    shapes = table_columns(url)
    renamed = column_renames(url, state.current)
    target = backend_for(url).load_target(url, tuple(table for table in TABLES.values() if table in shapes))
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
            if table in shapes:
                rows = conform(getattr(data, name), shapes[table], metadata.tables.get(table), renamed.get(table))
                _load_rows(target, table, rows, bar)
        bar.set_description("indexes")
        for done, statement in enumerate(restore, 1):
            target.execute(statement)
            bar.set_postfix_str(f"{done}/{len(restore)}")
        target.finish()
        target.commit()
    return SampleResult(mask_url(url), data.users.num_rows, data.tasks.num_rows, data.dependencies.num_rows)


def table_columns(url: URL) -> dict[str, list[dict[str, Any]]]:
    """The columns (as reflection gives them) of each sample table the database has (reflection only: nothing is written)."""
    engine = build_engine(url)
    try:
        with translate_errors(url), engine.connect() as connection:
            inspector = sa.inspect(connection)
            present = set(inspector.get_table_names())
            return {table: inspector.get_columns(table) for table in TABLES.values() if table in present}
    finally:
        engine.dispose()


def conform(
    rows: pa.Table, columns: list[dict[str, Any]], model: sa.Table | None = None, renamed: dict[str, str] | None = None
) -> pa.Table:
    """The generated rows in the columns a table has at its revision (models may be ahead of, or behind, the database).

    A column the table lacks is left out; ``renamed`` (a column's name here -> the generator's, from
    :func:`column_renames`) gives a renamed column its values, and nothing else is guessed (a column of the same
    position or type is not taken for it). A column the sample lacks is left to its default, or, where it is NOT NULL
    with no server default, filled with the scalar default the ``model`` table (the models' own) gives it (``Field(default=30)``,
    or a literal ``server_default`` the revision dropped) and otherwise with a plain value of its type (0, '', false,
    :data:`DEFAULT_NOW`); a timestamp column without a time zone gets the UTC wall-clock time, as the seed's revision
    stored it.
    """
    names, arrays = [], []
    for column in columns:
        name = column["name"]
        source = name if name in rows.column_names else (renamed or {}).get(name)
        if source is not None and source in rows.column_names:
            array = rows[source]
            if pa.types.is_timestamp(array.type) and array.type.tz is not None and getattr(column["type"], "timezone", True) is False:
                array = array.cast(pa.timestamp(array.type.unit))
        elif not column.get("nullable", True) and column.get("default") is None and column.get("autoincrement") is not True:
            known = model.columns.get(name) if model is not None else None
            value = model_default(known, column["type"]) if known is not None else None
            array = _repeated(_filler(column["type"]) if value is None else value, column["type"], rows.num_rows)
        else:
            continue
        names.append(name)
        arrays.append(array)
    return pa.table(arrays, names=names)


def column_renames(url: URL, current: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """table -> {a column's name at ``current`` (the database's revision): the generator's column it was}, from the
    renames (``alter_column(new_column_name=...)``) the chain's revisions up to there make, followed in order.

    Only what the chain itself says is taken: a revision that cannot be recorded offline (one that reads the
    database through ``op.get_bind()``) adds nothing, and a revision the chain does not know gives no renames.
    """
    revisions = chain.revisions()
    if not current or current[0] not in {revision.revision for revision in revisions}:
        return {}
    dialect = url.get_dialect()()
    names = {table: {column: column for column in GENERATED[table].names} for table in GENERATED}  # generator -> now
    for revision in revisions:
        for table, old, new in _renames_in(revision.module, dialect):
            for generated, now in names.get(table, {}).items():
                if now == old:
                    names[table][generated] = new
        if revision.revision == current[0]:
            break
    return {table: {now: generated for generated, now in pairs.items() if now != generated} for table, pairs in names.items()}


def _renames_in(module: Any, dialect: sa.Dialect) -> list[tuple[str, str, str]]:
    """(table, old, new) for each column a revision's upgrade renames; [] where it cannot be recorded offline."""
    try:
        changes = record(module.upgrade, dialect)
    except Exception:  # a revision that needs a live database cannot be recorded: it is taken to rename nothing
        return []
    return [
        (change.table, change.column, str(change.detail["name"]))
        for change in changes
        if change.kind == "alter_column" and change.table and change.column and change.detail.get("name")
    ]


def model_default(column: sa.Column[Any], kind: Any) -> Any:
    """The scalar value a model column gives a row that names no value for it, as a value of ``kind`` (the column's type
    in the database); None where it has none: a callable default, an SQL expression, or a value ``kind`` cannot take."""
    default = column.default
    if isinstance(default, ColumnDefault) and default.is_scalar:
        return _as_type(default.arg, kind)
    server = column.server_default
    if isinstance(server, DefaultClause):
        text = server.arg if isinstance(server.arg, str) else getattr(server.arg, "text", None)
        return _literal(text, kind) if isinstance(text, str) else None
    return None


def _literal(text: str, kind: Any) -> Any:
    """An SQL literal (``30``, ``(30)``, ``'medium'``, ``false``) as a value of ``kind``; None for anything else."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return _as_type(text[1:-1].replace("''", "'"), kind)
    booleans = {"true": True, "false": False}
    return _as_type(booleans.get(text.lower(), text), kind)


def _as_type(value: Any, kind: Any) -> Any:
    """``value`` as the Python type of a column type (numbers from text too); None where it is not one."""
    try:
        python_type = kind.python_type
    except NotImplementedError:
        return value if isinstance(value, str) else None
    if isinstance(value, bool) or python_type is bool:
        return value if isinstance(value, bool) and python_type is bool else None
    if isinstance(value, python_type):
        return value
    if python_type in (int, float, Decimal) and isinstance(value, str | int | float):
        try:
            return python_type(value)
        except (ValueError, ArithmeticError):
            return None
    return None


def _repeated(value: Any, kind: Any, count: int) -> pa.Array:
    """``value`` ``count`` times, as the Arrow type of the column type ``kind`` where it has an exact one: PostgreSQL's
    binary COPY takes an INTEGER column only as 32-bit integers, a SMALLINT only as 16-bit ones."""
    return pa.array([value] * count, type=_arrow_type(kind))


def _arrow_type(kind: Any) -> pa.DataType | None:
    """The Arrow type of a reflected column type, or None (Arrow infers it from the value) where there is no exact one."""
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.Integer):
        sizes = ((sa.SmallInteger, pa.int16()), (sa.BigInteger, pa.int64()))
        return next((arrow for base, arrow in sizes if isinstance(kind, base)), pa.int32())
    if isinstance(kind, sa.Float):
        return pa.float32() if isinstance(kind, sa.REAL) else pa.float64()
    if isinstance(kind, sa.String):
        return pa.string()
    return None


def _filler(kind: Any) -> Any:
    """A plain value of a column type, for a required column the sample and the models know no value of."""
    try:
        python_type = kind.python_type
    except NotImplementedError:
        return ""
    if issubclass(python_type, datetime):
        return DEFAULT_NOW if getattr(kind, "timezone", False) else DEFAULT_NOW.replace(tzinfo=None)
    return {bool: False, int: 0, float: 0.0, Decimal: Decimal(0), date: DEFAULT_NOW.date()}.get(python_type, "")


def _load_rows(target: LoadTarget, table: str, rows: pa.Table, bar: Any) -> None:
    """Copy one table's rows in chunks, moving the progress bar as each chunk goes."""

    def chunks() -> Iterator[pa.RecordBatch]:
        for batch in rows.to_batches(max_chunksize=CHUNK_ROWS):
            yield batch
            bar.update(batch.num_rows)

    target.copy(table, pa.RecordBatchReader.from_batches(rows.schema, chunks()))


def _renumbered(data: SampleData, target: LoadTarget, seed: int) -> SampleData:
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
