"""Deterministic sample rows, generated with NumPy and Arrow (no per-row Python).

Users own a Zipf-like number of tasks; timestamps span the two years up to an as-of day in UTC; priorities and
completion depend on a task's age; dependencies form a DAG (a task waits on an older task of its owner), and some open
tasks wait on older open tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from todo_data.errors import ConfigurationError
from todo_data.models import DESCRIPTION_MAX, PRIORITIES

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


# --- generation ---------------------------------------------------------------------------------


def generate(users: int, tasks: int, seed: int = 0, now: datetime | None = None, anomalies: bool = False) -> SampleData:
    """Users, tasks and dependencies as Arrow tables from one seeded generator: the same arguments give the same tables.

    Timestamps fall in the two years before ``now`` (default :data:`DEFAULT_NOW`, so a seed means the same data any day;
    ``todo-data sample`` passes the start of today). Owners are Zipf-like; task ids follow creation time; older tasks are more often done and
    less often high priority; a task waits only on an older task of its owner, and a share (:data:`OPEN_WAITS`) of the
    waits join two open tasks. ``anomalies`` rewrites a few tasks as legacy data holds them (see :data:`ANOMALIES`) and
    appends dependencies that close a cycle (:data:`CYCLE`), leaving every other row as it was.
    """
    check_arguments(users, tasks, seed)
    rng = np.random.default_rng(seed)
    end = _epoch_micros(now or DEFAULT_NOW)
    start = end - SPAN_DAYS * DAY_US

    # Users sign up during the first eighteen months, or earlier if their first task is; a few have no name.
    first = _pick(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), users))
    last = _pick(LAST_NAMES, rng.integers(0, len(LAST_NAMES), users))
    user_ids = uuid4_strings(rng, users)
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


def check_arguments(users: int, tasks: int, seed: int) -> None:
    """One line for counts and a seed no sample can have."""
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


def uuid4_strings(rng: np.random.Generator, count: int) -> pa.StringArray:
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
