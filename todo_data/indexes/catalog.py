"""What the index rules read: one database's indexes, foreign keys, tables and usage counters, as plain data.

A backend's index support (``backends/<name>/indexes.py``) reads its catalogue into a :class:`Catalog`; the rules
(:mod:`todo_data.indexes.rules`) are functions of it and never query the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

TOP_QUERY_COLUMNS = ["query", "calls", "total_ms", "mean_ms", "rows"]  # Catalog.top_queries, where the database keeps them


@dataclass(frozen=True)
class Index:
    """One index, in the same shape on every backend."""

    table: str
    name: str
    keys: tuple[str, ...]  # column name, or expression text
    plain: tuple[bool, ...]  # True where the key is a plain column
    # Per key: PostgreSQL's indoption bits (1 DESC, 2 NULLS FIRST). SQLite's ASC is 0 and DESC 3, so on both
    # backends flipping both bits (XOR 3) is the order a backward scan gives.
    directions: tuple[int, ...]
    extras: tuple[Any, ...]  # per key: operator class and collation, compared as they are
    include: tuple[str, ...]
    method: str
    unique: bool
    primary: bool
    constraint: str | None  # the name of the PRIMARY KEY / UNIQUE / EXCLUDE constraint this index enforces
    constraint_kind: str | None  # "primary", "unique" or "exclude" when it enforces one (named or not)
    predicate: str | None
    valid: bool
    definition: str
    size_bytes: int | None = None
    scans: int | None = None  # None where the database keeps no usage counters
    bloat_bytes: int | None = None
    creating: bool = False
    blocks: int | None = None  # block reads and hits in the statistics window (scans and upkeep)
    table_writes: int | None = None  # rows its table inserted or updated other than HOT in the window: each touches the index
    schema: str | None = None  # None: the connection's own schema (``table`` is then the bare name; else schema.name)
    inherited: bool = False  # a partition's copy of its partitioned table's index: dropped with it, so judged there

    @property
    def signature(self) -> tuple[tuple[Any, ...], ...]:
        return tuple(zip(self.keys, self.directions, self.extras, strict=True))

    @property
    def keep_rank(self) -> int:
        """Which of two equal indexes to keep: the primary key, then a constraint's, then a unique one."""
        return 3 if self.primary else 2 if self.constraint_kind else 1 if self.unique else 0

    @property
    def keep_key(self) -> tuple[int, int]:
        """Rank, then scans: of two equal plain indexes keep the one the planner uses (ties: the first name)."""
        return (self.keep_rank, self.scans or 0)

    def display_columns(self) -> str:
        parts = []
        for key, plain, direction in zip(self.keys, self.plain, self.directions, strict=True):
            text = key if plain or key.startswith("(") else f"({key})"
            # PostgreSQL's defaults: ASC NULLS LAST (0) and DESC NULLS FIRST (3); only other combinations are spelled out.
            parts.append(text + {0: "", 1: " DESC NULLS LAST", 2: " NULLS FIRST", 3: " DESC"}[direction & 3])
        text = ", ".join(parts)
        return f"{text} INCLUDE ({', '.join(self.include)})" if self.include else text


@dataclass(frozen=True)
class ForeignKey:
    name: str | None
    table: str  # as :func:`qualified` names it
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    schema: str | None = None  # the table's schema, None for the connection's own


def qualified(schema: str | None, name: str) -> str:
    """How the index report names a table: bare in the connection's own schema, ``schema.name`` in any other."""
    return f"{schema}.{name}" if schema else name


def bare(schema: str | None, table: str) -> str:
    """The name of a table :func:`qualified` named, without its schema."""
    return table[len(schema) + 1 :] if schema else table


@dataclass(frozen=True)
class Policy:
    """A row-level security policy (PostgreSQL): its table (as :func:`qualified` names it), the roles it applies to
    (``PUBLIC`` for all) and the commands (SELECT, INSERT, UPDATE, DELETE)."""

    table: str
    name: str
    permissive: bool
    roles: tuple[str, ...]
    commands: tuple[str, ...]


@dataclass(frozen=True)
class StatsWindow:
    """When the usage counters began counting: ``since`` (a reset), or never reset and no later than ``floor``."""

    since: datetime | None
    now: datetime
    floor: datetime | None = None  # the oldest vacuum/analyze time the counters hold, so the window began before

    def describe(self) -> str:
        if self.since is None:
            return "since statistics began (never reset in this database)"
        return f"since {self.since.isoformat(timespec='seconds')} ({duration(self.now - self.since)})"

    def length(self) -> tuple[timedelta | None, bool]:
        """How long the counters have counted, and whether that is exact (False: at least that long; None: unknown)."""
        if self.since is not None:
            return self.now - self.since, True
        return (self.now - self.floor if self.floor is not None else None), False


@dataclass(frozen=True)
class Catalog:
    """One database's indexes and what the rules need around them, read in one transaction.

    Every table of the database is here, the kit's and other applications' (in every schema on PostgreSQL), each
    named by :func:`qualified`. ``tables``: one dict per table with TABLE_COLUMNS (and ``seq_tup_read`` where
    counted, ``schema`` outside the connection's own). ``rowid_keys``: tables
    whose single INTEGER PRIMARY KEY is the table's own B-tree key (SQLite), so a foreign key on it needs no index.
    ``cache``: block hits and reads per kind (``table``, ``index``) where the database counts them. ``stats``: the
    usage counters' window, None where there are no counters. ``notes``: what the reading found worth saying.
    """

    indexes: tuple[Index, ...]
    foreign_keys: tuple[ForeignKey, ...]
    tables: tuple[dict[str, Any], ...]
    rows: dict[str, int | None] = field(default_factory=dict)
    rowid_keys: dict[str, str] = field(default_factory=dict)
    stats: StatsWindow | None = None
    cache: dict[str, tuple[int, int]] = field(default_factory=dict)
    extensions: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (version, schema)
    top_queries: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    policies: tuple[Policy, ...] = ()  # row-level security policies, where the database has them

    def on(self, table: str) -> list[Index]:
        return [index for index in self.indexes if index.table == table]

    def window(self) -> str:
        """The usage counters' window in words, for evidence."""
        return self.stats.describe() if self.stats else "since statistics began (never reset in this database)"


def size(n: int | None) -> str:
    if n is None:
        return "unknown size"
    if n < 1024:
        return f"{n} bytes"
    value = n / 1024
    for unit in ("kB", "MB", "GB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def duration(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3_600:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 86_400:
        return f"{seconds // 3_600} h {seconds % 3_600 // 60} min"
    hours = seconds % 86_400 // 3_600
    return f"{seconds // 86_400} d {hours} h" if hours else f"{seconds // 86_400} d"
