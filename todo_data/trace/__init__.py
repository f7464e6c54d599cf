"""Migration safety report: what each pending statement locks, rewrites, scans and blocks, measured before it runs for real.

Each pending revision runs on a database built or named for the purpose, in a transaction that is always rolled
back, every statement watched by its backend's recorder (``todo_data/backends/*/trace.py``); squawk's findings for
the same statements sit beside them. The modules: ``locks`` (PostgreSQL's lock table), ``records`` (what a statement
did, the recorder base), ``tracing`` (a backend's part), ``danger`` (the rules), ``runner`` (``trace()``),
``report`` (:class:`TraceReport` and its tables), ``lint`` (squawk beside the trace).
"""

from __future__ import annotations

from todo_data.backends.postgresql import SCRATCH_PREFIX
from todo_data.trace.locks import CONFLICTS, EVERYDAY, LOCK_MODES, blocked_operations, describe_blocks, lock_mode_name
from todo_data.trace.report import LOCK_COLUMNS, STATEMENT_COLUMNS, TABLE_COLUMNS, TracedRevision, TraceReport
from todo_data.trace.runner import EXACT_COUNT_BELOW, trace

__all__ = [
    "CONFLICTS",
    "EVERYDAY",
    "EXACT_COUNT_BELOW",
    "LOCK_COLUMNS",
    "LOCK_MODES",
    "SCRATCH_PREFIX",
    "STATEMENT_COLUMNS",
    "TABLE_COLUMNS",
    "TraceReport",
    "TracedRevision",
    "blocked_operations",
    "describe_blocks",
    "lock_mode_name",
    "trace",
]
