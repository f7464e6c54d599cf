"""The canonical queries' plans: each explained by the backend, and where it can, its generic plan too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from todo_data.indexes.queries import CANONICAL_INDEXES, CANONICAL_QUERIES, query_params
from todo_data.indexes.support import IndexSupport

PLAN_COLUMNS = [
    "query",
    "sql",
    "parameters",
    "plan",
    "indexes_used",
    "full_scan",
    "temp_sort",
    "cost",
    # PostgreSQL, queries with parameters: the generic plan a prepared statement may switch to (None elsewhere)
    "generic_plan",
    "generic_indexes_used",
    "generic_full_scan",
    "generic_temp_sort",
    "generic_cost",
]


GENERIC_NOTE = "Generic plans"  # how a backend's note on generic plans it could not explain begins


@dataclass(frozen=True)
class Plans:
    """The plans (PLAN_COLUMNS), notes on queries that could not be planned, and generic-plan regressions found on the way."""

    frame: pd.DataFrame
    notes: tuple[str, ...] = ()
    regressions: tuple[dict[str, Any], ...] = ()


def _generic_columns(generic: dict[str, Any] | None) -> dict[str, Any]:
    keys = ("plan", "indexes_used", "full_scan", "temp_sort", "cost")
    return {f"generic_{key}": generic[key] if generic else None for key in keys}


def plan_queries(connection: Connection, support: IndexSupport, params: dict[str, Any], tables: set[str]) -> Plans:
    """Explain each canonical query whose table exists, with ``params``; note the ones skipped."""
    rows, notes, regressions = [], [], []
    for name, statement in CANONICAL_QUERIES.items():
        serving = CANONICAL_INDEXES[name]
        if serving.table not in tables:
            notes.append(f"Canonical query {name} skipped: table {serving.table} does not exist (is the database at head?).")
            continue
        bound = query_params(name, params)
        plan = support.explain(connection, statement.text, bound)
        generic = None
        if bound:
            generic, regression, note = support.generic_plan(connection, name, serving.table, bound, plan)
            if regression is not None:
                regressions.append(regression)
            if note is not None and not any(n.startswith(GENERIC_NOTE) for n in notes):
                notes.append(note)  # the first reason only: the others are alike
        rows.append({"query": name, "sql": statement.text, "parameters": bound, **plan, **_generic_columns(generic)})
    return Plans(pd.DataFrame(rows, columns=PLAN_COLUMNS), tuple(notes), tuple(regressions))
