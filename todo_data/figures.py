"""The reports' figures (matplotlib), each drawn from data a library function returned.

Each function returns its Figure; in a notebook the inline backend shows it. Nothing here queries a database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from todo_data.inspect import Schema
    from todo_data.tasks import TaskReport

COLORS = {"open": "#e07a5f", "completed": "#3d8b6d", "created": "#3f6fb5"}


def _empty(ax, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def _mebibytes(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").fillna(0) / 2**20


def table_sizes(schema: Schema) -> Figure:
    """Rows and on-disk size per table, side by side."""
    fig, (rows_ax, size_ax) = plt.subplots(1, 2, figsize=(10, 2.8), layout="constrained")
    tables = schema.tables.sort_values("table")
    rows_ax.barh(tables["table"], pd.to_numeric(tables["rows_estimate"], errors="coerce").fillna(0), color=COLORS["created"])
    rows_ax.set_title("rows (estimate)")
    size = tables["total_bytes"].where(tables["total_bytes"].notna(), tables["table_bytes"])
    size_ax.barh(tables["table"], _mebibytes(size), color="#81b29a")
    size_ax.set_title("size (MiB)")
    size_ax.set_yticklabels([])
    return fig


def index_sizes(indexes: pd.DataFrame) -> Figure:
    """Size per index, largest first; scans since the statistics reset beside it where the backend counts them."""
    fig, ax = plt.subplots(figsize=(10, 0.35 * max(len(indexes), 3) + 0.8), layout="constrained")
    if indexes.empty or "size_bytes" not in indexes:
        _empty(ax)
        return fig
    data = indexes.assign(mib=_mebibytes(indexes["size_bytes"])).sort_values("mib")
    ax.barh(data["index"], data["mib"], color=COLORS["created"])
    ax.set_xlabel("MiB")
    ax.set_title("index sizes")
    if "scans" in data and data["scans"].notna().any():
        for y, (mib, scans) in enumerate(zip(data["mib"], data["scans"], strict=True)):
            if pd.notna(scans):
                ax.annotate(f"{int(scans):,} scans", (mib, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    return fig


def status_and_priority(report: TaskReport) -> Figure:
    """Open and completed tasks overall and by priority."""
    fig, (status_ax, priority_ax) = plt.subplots(1, 2, figsize=(10, 3), layout="constrained", width_ratios=(1, 2))
    status = report.by_status
    status_ax.bar(status["status"], status["tasks"], color=[COLORS.get(s, "grey") for s in status["status"]])
    status_ax.set_title("tasks by status")
    priority = report.by_priority
    if priority.empty:
        _empty(priority_ax)
    else:
        priority_ax.bar(priority["priority"].astype(str), priority["open"], label="open", color=COLORS["open"])
        priority_ax.bar(
            priority["priority"].astype(str), priority["completed"], bottom=priority["open"], label="completed", color=COLORS["completed"]
        )
        priority_ax.legend(frameon=False)
    priority_ax.set_title("tasks by priority")
    return fig


def weekly(frame: pd.DataFrame) -> Figure:
    """Tasks created and completed per week."""
    fig, ax = plt.subplots(figsize=(10, 3), layout="constrained")
    if frame.empty:
        _empty(ax)
        return fig
    ax.plot(frame["week"], frame["created"], label="created", color=COLORS["created"])
    if "completed" in frame:
        ax.plot(frame["week"], frame["completed"], label="completed", color=COLORS["completed"])
    ax.set_ylabel("tasks per week")
    ax.legend(frameon=False)
    return fig


def open_age(frame: pd.DataFrame) -> Figure:
    """How long open tasks have been waiting."""
    fig, ax = plt.subplots(figsize=(10, 2.8), layout="constrained")
    if frame.empty:
        _empty(ax)
        return fig
    ax.bar(frame.iloc[:, 0].astype(str), frame["tasks"], color=COLORS["open"])
    ax.set_ylabel("open tasks")
    return fig


def mark_dangerous(frame: pd.DataFrame) -> Any:
    """A statement table, formatted as every report table is, with the rows that have a ``danger`` reason shaded red."""
    from todo_data.display import style

    shade = "background-color: #fbd5d5"
    return style(frame).apply(lambda row: [shade if row.get("danger") else ""] * len(row), axis=1)
