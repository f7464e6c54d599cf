"""Danger rules: when a traced statement is dangerous to run on a live database, and when ``--strict`` fails on it.

:func:`lock_danger` reads the relation locks a statement took (PostgreSQL); :func:`whole_database_danger` is for a
backend whose writer locks the whole database (SQLite). A backend's :class:`~todo_data.trace.tracing.Tracing` picks one.
"""

from __future__ import annotations

from todo_data.trace.locks import describe_blocks, is_zero_timeout
from todo_data.trace.records import Statement


def whole_database_danger(record: Statement, rows: dict[str, int]) -> tuple[str, bool]:
    """Dangerous when it rebuilds or scans a table with rows while the database's write lock is held; never strict."""
    work = [(name, "rebuilds") for name in record.rewrites] + [(name, "scans") for name in record.scans]
    for name, verb in work:
        if rows.get(name, 0):
            blocked = describe_blocks(record.held_blocks.get("database", set()))
            return f"blocks {blocked} on the whole database while it {verb} {name} ({rows[name]:,} rows)", False
    return "", False


def lock_danger(record: Statement, rows: dict[str, int]) -> tuple[str, bool]:
    """Why a statement is dangerous (empty when it is not), and whether ``--strict`` fails on it."""
    no_timeout = is_zero_timeout(record.lock_timeout)
    reasons: list[str] = []
    for name, verb in [(name, "rewrites") for name in record.rewrites] + [(name, "scans") for name in record.scans]:
        blocked = describe_blocks(record.held_blocks.get(name, set()))
        if blocked and rows.get(name, 0):
            reasons.append(f"blocks {blocked} on {name} ({rows[name]:,} rows) while it {verb} it")
    strict = False
    for lock in record.locks:
        if lock.new_relation or lock.held_since is not None or not lock.blocks or not rows.get(lock.table, 0):
            continue
        if "reads" in lock.blocks and no_timeout:
            strict = True
        if no_timeout and not reasons:
            where = (
                f"{lock.table} ({rows[lock.table]:,} rows)"
                if lock.relation == lock.table
                else f"{lock.relation} (of {lock.table}, {rows[lock.table]:,} rows)"
            )
            reasons.append(
                f"takes {lock.mode} on {where} with no lock_timeout: {describe_blocks(lock.blocks)} queue behind it while it waits"
            )
    if record.error and "CONCURRENTLY inside" in record.error:
        reasons.append(record.error)
    return "; ".join(dict.fromkeys(reasons)), strict
