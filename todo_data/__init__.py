"""todo_data: the data tooling kit for the todo application's database (SQLite and PostgreSQL)."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from todo_data import figures, migrations
    from todo_data.db import (
        dispose_engines,
        get_async_engine,
        get_async_session,
        get_engine,
        get_session,
        loop_async_engine,
        resolve_url,
        run_async,
        session_scope,
    )
    from todo_data.display import table
    from todo_data.errors import ConfigurationError, ConnectionFailed, MigrationError, QueryError, TodoDataError
    from todo_data.explorer import Explorer
    from todo_data.frames import count_tasks, read_frame, tasks_frame, weekly_tasks
    from todo_data.impact import findings_frame as impact_frame
    from todo_data.impact import impact as data_impact
    from todo_data.indexes import IndexReport, index_report
    from todo_data.inspect import Schema, drift, er_diagram, read_schema
    from todo_data.models import Task, TaskRelationship, User, metadata
    from todo_data.reports import ReportResult, check_parameters, run_info, run_report, run_reports, setup_notebook
    from todo_data.roundtrip import round_trip
    from todo_data.sample import load_sample
    from todo_data.schemas import TaskCreate, TaskPublic, TasksPublic, TaskUpdate, UserCreate, UserPublic
    from todo_data.settings import Settings, get_settings, mask_url
    from todo_data.tasks import DependencyGraph, Summary, TaskReport, summary, task_report
    from todo_data.trace import TraceReport
    from todo_data.trace import trace as trace_migrations

# Everything is loaded on first use: pandas, SQLModel, matplotlib and nbconvert would slow, and weigh on, every `todo-data`
# command (the process that waits for a report's kernel among them).
_LAZY = {
    "migrations": ("todo_data.migrations", None),
    **{
        name: ("todo_data.db", name)
        for name in (
            "dispose_engines",
            "get_async_engine",
            "get_async_session",
            "get_engine",
            "get_session",
            "loop_async_engine",
            "resolve_url",
            "run_async",
            "session_scope",
        )
    },
    **{
        name: ("todo_data.errors", name)
        for name in ("ConfigurationError", "ConnectionFailed", "MigrationError", "QueryError", "TodoDataError")
    },
    **{name: ("todo_data.indexes", name) for name in ("IndexReport", "index_report")},
    **{name: ("todo_data.inspect", name) for name in ("Schema", "drift", "er_diagram", "read_schema")},
    **{name: ("todo_data.models", name) for name in ("Task", "TaskRelationship", "User", "metadata")},
    **{name: ("todo_data.schemas", name) for name in ("TaskCreate", "TaskPublic", "TasksPublic", "TaskUpdate", "UserCreate", "UserPublic")},
    **{name: ("todo_data.settings", name) for name in ("Settings", "get_settings", "mask_url")},
    **{name: ("todo_data.tasks", name) for name in ("DependencyGraph", "Summary", "TaskReport", "summary", "task_report")},
    "figures": ("todo_data.figures", None),
    "table": ("todo_data.display", "table"),
    "Explorer": ("todo_data.explorer", "Explorer"),
    "load_sample": ("todo_data.sample", "load_sample"),
    "trace_migrations": ("todo_data.trace", "trace"),
    "data_impact": ("todo_data.impact", "impact"),
    "impact_frame": ("todo_data.impact", "findings_frame"),
    "round_trip": ("todo_data.roundtrip", "round_trip"),
    "TraceReport": ("todo_data.trace", "TraceReport"),
    **{name: ("todo_data.frames", name) for name in ("count_tasks", "read_frame", "tasks_frame", "weekly_tasks")},
    **{
        name: ("todo_data.reports", name)
        for name in ("ReportResult", "check_parameters", "run_info", "run_report", "run_reports", "setup_notebook")
    },
}


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext todo_data``: JupySQL's SQL cells on the kit's database, read-only (see :mod:`todo_data.sql_magic`)."""
    from todo_data import sql_magic

    sql_magic.load(shell)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'todo_data' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


__all__ = [
    "ConfigurationError",
    "ConnectionFailed",
    "DependencyGraph",
    "Explorer",
    "IndexReport",
    "MigrationError",
    "QueryError",
    "ReportResult",
    "Schema",
    "Settings",
    "Summary",
    "Task",
    "TaskCreate",
    "TaskPublic",
    "TaskRelationship",
    "TaskReport",
    "TaskUpdate",
    "TasksPublic",
    "TodoDataError",
    "TraceReport",
    "User",
    "UserCreate",
    "UserPublic",
    "check_parameters",
    "count_tasks",
    "data_impact",
    "dispose_engines",
    "drift",
    "er_diagram",
    "figures",
    "get_async_engine",
    "get_async_session",
    "get_engine",
    "get_session",
    "get_settings",
    "impact_frame",
    "index_report",
    "load_sample",
    "loop_async_engine",
    "mask_url",
    "metadata",
    "migrations",
    "read_frame",
    "read_schema",
    "resolve_url",
    "round_trip",
    "run_async",
    "run_info",
    "run_report",
    "run_reports",
    "session_scope",
    "setup_notebook",
    "summary",
    "table",
    "task_report",
    "tasks_frame",
    "trace_migrations",
    "weekly_tasks",
]
