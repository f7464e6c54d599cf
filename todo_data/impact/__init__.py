"""Data impact: what the pending revisions would do to the data a database holds, measured on it before anything runs.

Each revision's ``upgrade()`` (and ``downgrade()``) runs against Alembic operations that record instead of executing
(``changes``); plain rules (``rules``) turn each recorded change into questions for the target, read in one read-only
transaction with a statement timeout (``reader``, the backend's ``measuring``); ``measure`` ties them together. The
modules: ``changes`` (recording), ``reader`` (the reads), ``rules`` (:data:`RULES`), ``finding`` (:class:`Finding`,
severities, text and table), ``measure`` (:func:`impact`), ``guard`` (:func:`refusal`: what db upgrade and downgrade refuse).
"""

from __future__ import annotations

from todo_data.impact.changes import ACKNOWLEDGE_MARKER, Change, acknowledged, record
from todo_data.impact.finding import FAILING, FINDING_COLUMNS, SEVERITIES, Finding, findings_frame, findings_text
from todo_data.impact.guard import refusal
from todo_data.impact.measure import DEFAULT_TIMEOUT_SECONDS, impact
from todo_data.impact.rules import DESCRIPTIONS, RULES

__all__ = [
    "ACKNOWLEDGE_MARKER",
    "DEFAULT_TIMEOUT_SECONDS",
    "DESCRIPTIONS",
    "FAILING",
    "FINDING_COLUMNS",
    "RULES",
    "SEVERITIES",
    "Change",
    "Finding",
    "acknowledged",
    "findings_frame",
    "findings_text",
    "impact",
    "record",
    "refusal",
]
