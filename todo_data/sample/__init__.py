"""Deterministic sample data: generated with NumPy and Arrow (no per-row Python), bulk-loaded in one transaction.

Modules: ``generate`` (the rows, :func:`generate`), ``columns`` (the rows in the columns a table has at its revision,
:func:`conform`), ``load`` (:func:`load_sample`, through each backend's load target).
"""

from todo_data.sample.columns import column_renames, conform, model_default, table_columns
from todo_data.sample.generate import (
    ANOMALIES,
    CYCLE,
    CYCLE_LENGTH,
    DAY_US,
    DEFAULT_NOW,
    DEPENDENCIES_SCHEMA,
    GENERATED,
    OPEN_WAITS,
    TABLES,
    TASKS_SCHEMA,
    USERS_SCHEMA,
    SampleData,
    generate,
    start_of_day,
)
from todo_data.sample.load import SampleResult, load_sample

__all__ = [
    "ANOMALIES",
    "CYCLE",
    "CYCLE_LENGTH",
    "DAY_US",
    "DEFAULT_NOW",
    "DEPENDENCIES_SCHEMA",
    "GENERATED",
    "OPEN_WAITS",
    "TABLES",
    "TASKS_SCHEMA",
    "USERS_SCHEMA",
    "SampleData",
    "SampleResult",
    "column_renames",
    "conform",
    "generate",
    "load_sample",
    "model_default",
    "start_of_day",
    "table_columns",
]
