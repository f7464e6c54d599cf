"""The trace's results and how they read: :class:`TraceReport` (tables for notebooks, text for the CLI) and the
tables made from the recorded statements."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from todo_data.backends import backend_for
from todo_data.errors import ConfigurationError
from todo_data.trace.locks import describe_blocks, is_zero_timeout, strongest
from todo_data.trace.records import Lock, Statement
from todo_data.trace.tracing import Tracing

STATEMENT_COLUMNS = [
    "revision", "step", "statement", "traced", "locks", "blocks", "blocks_while_running", "rewrites", "scans", "ms",
    "tables", "rows", "traced_rows", "lock_timeout", "lint", "danger", "strict", "note", "error",
]  # fmt: skip
LOCK_COLUMNS = ["revision", "step", "relation", "kind", "table", "mode", "blocks", "new_relation", "traced", "held_since"]
TABLE_COLUMNS = ["step", "statement", "locks", "blocks", "rewrite", "time", "lint", "danger"]


@dataclass(frozen=True)
class TracedRevision:
    """One pending revision as traced: how many statements, how long they took, and why tracing stopped if it did."""

    revision: str
    down_revision: str | None
    message: str
    statements: int
    ms: float
    error: str | None = None


@dataclass(frozen=True, eq=False)
class TraceReport:
    """What the pending revisions do while they run, statement by statement, and where that was measured.

    ``statements``: one row per statement (:data:`STATEMENT_COLUMNS`); ``locks``: one row per relation lock a
    statement took, and one per stronger lock an earlier statement of the transaction took and still holds on a
    relation it works on (``held_since``: that statement's step; empty for the locks it took) (:data:`LOCK_COLUMNS`);
    ``lint``: squawk's findings (``migrations.lint``'s columns plus the ``step`` they belong to).
    """

    database: str
    traced: str
    scratch: bool
    backend: str
    current: tuple[str, ...]
    target: str
    lock_timeout: str
    revisions: list[TracedRevision]
    statements: pd.DataFrame
    locks: pd.DataFrame
    lint: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    sample_tasks: int = 0

    def dangerous(self) -> pd.DataFrame:
        """The statements that block reads or writes on tables with rows for longer than a lock wait."""
        return self.statements[self.statements["danger"] != ""]

    def strict_failures(self) -> pd.DataFrame:
        """Statements that take a lock blocking reads on a table with rows while no lock_timeout is set (``--strict``)."""
        return self.statements[self.statements["strict"]]

    def table(self, revision: str) -> pd.DataFrame:
        """One revision as the notebook shows it: statement, locks, blocks, rewrite, time, lint and the danger."""
        rows = self.statements[self.statements["revision"] == revision]
        if revision not in {traced.revision for traced in self.revisions}:
            raise ConfigurationError(
                f"Revision {revision!r} is not pending here: the report covers {', '.join(r.revision for r in self.revisions) or 'none'}."
            )
        view = pd.DataFrame(
            {
                "step": rows["step"],
                "statement": rows["statement"],
                "locks": rows["locks"],
                "blocks": rows["blocks_while_running"],
                "rewrite": rows["rewrites"],
                "time": [_duration(ms, traced) for ms, traced in zip(rows["ms"], rows["traced"], strict=True)],
                "lint": rows["lint"],
                "danger": rows["danger"],
            },
            columns=TABLE_COLUMNS,
        )
        return view.reset_index(drop=True)

    def to_text(self) -> str:
        """The report as plain text, one block per revision, dangerous statements marked with ``!``."""
        lines = [
            f"Migration safety report for {self.database}",
            f"Traced on {self.traced}{' (made for the trace, removed)' if self.scratch else ''}",
        ]
        if backend_for(self.backend).session_timeouts:
            lines.append(f"lock_timeout for the real run: {self.lock_timeout if not is_zero_timeout(self.lock_timeout) else 'none (0)'}")
        if not self.revisions:
            lines.append(f"Nothing pending: the database is at {', '.join(self.current) or 'no revision'}.")
        for revision in self.revisions:
            lines.append("")
            header = f"{revision.revision}  {revision.message}  ({revision.statements} statement(s), {revision.ms:.1f} ms)"
            if revision.error is None:
                lines.append(header)
            elif revision.error.startswith("not traced"):
                lines.append(f"{revision.revision}  {revision.message}  ({revision.error})")
            else:
                lines.append(f"{header}  FAILED: {revision.error}")
            for row in self.statements[self.statements["revision"] == revision.revision].itertuples(index=False):
                mark = "!" if row.danger else " "
                lines.append(f"  {mark} {row.step:>2}  {_one_line(row.statement)}")
                facts = [f"locks: {row.locks or 'none new'}", f"blocks: {row.blocks_while_running or 'neither reads nor writes'}"]
                if row.rewrites:
                    facts.append(f"rewrites: {row.rewrites}")
                if row.scans:
                    facts.append(f"scans: {row.scans}")
                facts.append(_duration(row.ms, row.traced))
                if row.tables:
                    facts.append(f"rows: {row.tables}")
                lines.append("        " + "; ".join(facts))
                for label, value in (("lint", row.lint), ("danger", row.danger), ("note", row.note), ("error", row.error)):
                    if value:
                        lines.append(f"        {label}: {value}")
        if self.notes:
            lines.append("")
            lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)


def _duration(ms: float | None, traced: bool) -> str:
    if ms is None or pd.isna(ms):
        return "not run"
    return f"{ms:.1f} ms" if traced else f"{ms:.1f} ms (without CONCURRENTLY)"


def _one_line(statement: str, width: int = 110) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _locks_text(locks: list[Lock]) -> str:
    groups: dict[tuple[str, bool], list[Lock]] = {}
    for lock in sorted(locks, key=lambda lock: lock.new_relation):  # relations others can see first
        groups.setdefault((lock.table or lock.relation, lock.new_relation), []).append(lock)
    parts = []
    for (table, new), entries in groups.items():
        if entries[0].kind == "database":
            parts.append("write lock on the whole database")
            continue
        own = [lock for lock in entries if lock.relation == table]
        others = [lock for lock in entries if lock.relation != table]
        prefix = "new " if new else ""
        if own:
            mode, since = _strongest(own)
            text = f"{mode} on {prefix}{entries[0].kind if table == entries[0].relation else 'table'} {table}{_held(since, ' ')}"
            if others:
                names = sorted({lock.relation for lock in others})
                mode, since = _strongest(others)
                text += f" (+{mode} on {len(names)} {'index' if len(names) == 1 else 'indexes'}{_held(since, ', ')})"
        else:
            names = sorted({lock.relation for lock in others})
            mode, since = _strongest(others)
            text = f"{mode} on {prefix}{others[0].kind} {', '.join(names)}{_held(since, ' ')}"
        parts.append(text)
    return "; ".join(parts)


def _strongest(locks: list[Lock]) -> tuple[str, int | None]:
    """The strongest mode among ``locks``, and the earlier statement it is held since when this one did not take it."""
    mode = strongest({lock.mode for lock in locks})
    steps = [lock.held_since for lock in locks if lock.mode == mode]
    return mode, None if None in steps else min(step for step in steps if step is not None)


def _held(since: int | None, separator: str) -> str:
    if since is None:
        return ""
    text = f"held since statement {since}"
    return f" ({text})" if separator == " " else f"{separator}{text}"


def _table_rows(name: str, rows: int, traced: int | None) -> str:
    return f"{name} {rows:,}" if traced is None or traced == rows else f"{name} {rows:,} (traced with {traced:,})"


def _rewrites_text(record: Statement) -> str:
    if record.rewrites:
        extra = f" (+{len(record.rebuilt_indexes)} indexes rebuilt)" if record.rebuilt_indexes else ""
        return ", ".join(record.rewrites) + extra
    return ", ".join(f"index {name} rebuilt" for name in record.rebuilt_indexes)


def statement_frames(statements: list[Statement], target_rows: dict[str, int], tracing: Tracing) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The report's ``statements`` and ``locks`` tables, each statement judged by the backend's danger rule."""
    rows_out, locks_out = [], []
    for record in statements:
        rows = {name: target_rows.get(name, record.traced_rows.get(name, 0)) for name in record.tables}
        # A table "has rows" when the target's or the traced copy's does: sample rows stand in for production's.
        danger, strict = tracing.danger(record, {name: max(rows[name], record.traced_rows.get(name, 0)) for name in rows})
        new_blocks = tracing.blocks(record)
        while_running = "; ".join(
            f"{describe_blocks(ops)} on {table}" for table, ops in sorted(record.held_blocks.items()) if describe_blocks(ops)
        )
        rows_out.append(
            {
                "revision": record.revision,
                "step": record.step,
                "statement": record.statement,
                "traced": record.traced,
                "locks": _locks_text(record.locks),
                "blocks": describe_blocks(new_blocks),
                "blocks_while_running": while_running,
                "rewrites": _rewrites_text(record),
                "scans": ", ".join(record.scans),
                "ms": record.ms,
                "tables": "; ".join(_table_rows(name, rows[name], record.traced_rows.get(name)) for name in record.tables),
                "rows": sum(rows.values()) if rows else 0,
                "traced_rows": sum(record.traced_rows.values()) if record.traced_rows else 0,
                "lock_timeout": record.lock_timeout,
                "lint": "",
                "danger": danger,
                "strict": strict,
                "note": record.note,
                "error": record.error,
            }
        )
        for lock in record.locks:
            locks_out.append(
                {
                    "revision": record.revision,
                    "step": record.step,
                    "relation": lock.relation,
                    "kind": lock.kind,
                    "table": lock.table,
                    "mode": lock.mode,
                    "blocks": describe_blocks(lock.blocks),
                    "new_relation": lock.new_relation,
                    "traced": lock.traced,
                    "held_since": lock.held_since,
                }
            )
    frame = pd.DataFrame(rows_out, columns=STATEMENT_COLUMNS)
    frame["ms"] = frame["ms"].astype("float64")
    frame["strict"] = frame["strict"].astype(bool)
    frame["traced"] = frame["traced"].astype(bool)
    locks = pd.DataFrame(locks_out, columns=LOCK_COLUMNS)
    locks["held_since"] = locks["held_since"].astype("Int64")
    return frame, locks
