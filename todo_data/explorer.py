"""The task explorer behind ``05-explorer``: ipywidgets filters over :func:`todo_data.frames.tasks_frame`.

Every query goes through ``frames`` with bound parameters; this module only holds the controls and their
state, so a test can drive it from Python (set a control's value, read the page) without a browser.
The page is a frame (the owner's e-mail beside the user id); :mod:`todo_data.display` formats it as a grid.
:meth:`Explorer.save` writes every matching task (not only the page) to Parquet or CSV through :mod:`todo_data.export`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
from IPython.display import display
from matplotlib.figure import Figure
from sqlalchemy.engine import URL

from todo_data import display as shown
from todo_data import frames
from todo_data.errors import ConfigurationError, TodoDataError
from todo_data.export import ExportedFile, save_tasks
from todo_data.models import PRIORITIES

ALL = "all"
STATUS = {ALL: None, "open": False, "completed": True}
MAX_USER_CHOICES = 1000
NO_PRIORITY = "(none)"  # the choice for tasks whose priority is NULL
EMPTY_PRIORITY = "(empty)"  # and for the empty string


def priority_label(value: str | None) -> str:
    """How the priority choice names a stored value: as it is, or NO_PRIORITY, EMPTY_PRIORITY, or quoted when blank-edged or ambiguous."""
    if value is None:
        return NO_PRIORITY
    if value == "":
        return EMPTY_PRIORITY
    return repr(value) if value != value.strip() or value in (ALL, NO_PRIORITY, EMPTY_PRIORITY) else value


class Explorer:
    """Filters, a paged table and a weekly chart of the matching tasks; starts from the notebook's parameters."""

    def __init__(
        self,
        database_url: str | URL | None = None,
        *,
        user_id: str | None = None,
        completed: bool | None = None,
        priority: str | None = None,
        created_from: date | None = None,
        created_to: date | None = None,
        text: str | None = None,
        page_size: int = 25,
    ) -> None:
        if page_size < 1:
            raise ConfigurationError(f"page_size must be at least 1, not {page_size}.")
        self.database_url = database_url
        self.page_size = page_size
        self.page = 0
        users = frames.read_frame(
            "SELECT id, email FROM users ORDER BY email LIMIT :n", database_url=database_url, params={"n": MAX_USER_CHOICES}
        )
        self._user_ids = dict(zip(users["email"], users["id"], strict=True))
        stored = frames.task_priorities(database_url)
        values = [*PRIORITIES, *(value for value in stored if value not in PRIORITIES)]
        self._priorities: dict[str, str | None] = {priority_label(value): value for value in values}
        if priority is not None and priority not in self._priorities:
            if priority not in values:
                raise ConfigurationError(
                    f"priority must be one of {', '.join(self._priorities)} (what this database holds) or None for all, not {priority!r}."
                )
            priority = priority_label(priority)
        self.user = widgets.Combobox(
            value=next((email for email, uid in self._user_ids.items() if uid == user_id), user_id or ""),
            options=list(self._user_ids),
            placeholder="any user (e-mail or id)",
            description="User",
            ensure_option=False,
        )
        self.status = widgets.ToggleButtons(
            options=list(STATUS),
            value=next(k for k, v in STATUS.items() if v == completed),
            description="Status",
            style={"button_width": "7.5em"},
            layout=widgets.Layout(width="auto"),  # as wide as its buttons, so they sit beside the label
        )
        self.priority = widgets.Dropdown(options=[ALL, *self._priorities], value=priority or ALL, description="Priority")
        self.created_from = widgets.DatePicker(value=created_from, description="From")
        self.created_to = widgets.DatePicker(value=created_to, description="To")
        self.text = widgets.Text(value=text or "", placeholder="text in title or description", description="Text")
        self.previous = widgets.Button(description="◀ previous")
        self.next = widgets.Button(description="next ▶")
        self.label = widgets.HTML()
        self.table = widgets.Output()
        self.chart = widgets.Output()
        self.message = widgets.HTML()
        self.save_path = widgets.Text(placeholder="matching-tasks.parquet or .csv", description="Save to")
        self.save_button = widgets.Button(description="save matches")
        self.saved = widgets.HTML()
        self.save_button.on_click(lambda _: self._save_clicked())
        for control in (self.user, self.status, self.priority, self.created_from, self.created_to, self.text):
            control.observe(self._filters_changed, names="value")
        self.previous.on_click(lambda _: self.turn(-1))
        self.next.on_click(lambda _: self.turn(1))
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.user, self.status]),
                widgets.HBox([self.priority, self.created_from, self.created_to]),
                self.text,
                self.message,
                widgets.HBox([self.previous, self.next, self.label]),
                self.table,
                widgets.HBox([self.save_path, self.save_button, self.saved]),
                self.chart,
            ]
        )
        self.total = frames.count_tasks(database_url, **self.filters())
        self.refresh()

    def filters(self) -> dict[str, Any]:
        """The controls' values as ``tasks_frame`` keyword arguments."""
        user = self.user.value.strip()
        return {
            "user_id": self._user_ids.get(user, user) or None,
            "completed": STATUS[self.status.value],
            "priority": None if self.priority.value == ALL else [self._priorities[self.priority.value]],
            "created_from": self.created_from.value,
            "created_to": self.created_to.value,
            "text": self.text.value or None,
        }

    def page_frame(self) -> pd.DataFrame:
        """The current page of matching tasks, newest first: id, user_id, email (the owner's), title, description,
        completed, priority, created_at, updated_at (UTC)."""
        return frames.tasks_frame(
            self.database_url, **self.filters(), limit=self.page_size, offset=self.page * self.page_size, with_email=True
        )

    def save(self, path: str | Path) -> ExportedFile:
        """Write every task matching the filters (not only this page) to ``path``: Parquet or CSV by its suffix."""
        return save_tasks(path, database_url=self.database_url, **self.filters())

    def caption(self) -> str:
        """Which rows the page shows, of how many."""
        if not self.total:
            return "No task matches these filters."
        first = self.page * self.page_size + 1
        last = min(self.total, first + self.page_size - 1)
        return f"Tasks {first:,} to {last:,} of {self.total:,}, newest first."

    def figure(self) -> Figure:
        """Matching tasks created per week, up to this week; the title counts tasks dated later, which are not drawn
        (one future timestamp would stretch the axis over empty years)."""
        from todo_data.figures import weekly

        frame = frames.weekly_tasks(self.database_url, **self.filters())
        today = pd.Timestamp.now(tz="UTC").normalize()
        later = frame["week"] > today - pd.Timedelta(days=today.weekday()) if len(frame) else pd.Series(False, index=frame.index)
        fig = weekly(frame.loc[~later])
        hidden = int(frame.loc[later, "created"].sum())
        note = f" ({hidden:,} dated after this week not drawn)" if hidden else ""
        fig.axes[0].set_title(f"matching tasks created per week{note}")
        return fig

    def turn(self, step: int) -> None:
        """Go ``step`` pages forward or back, staying within the matches."""
        last_page = max(0, (self.total - 1) // self.page_size)
        self.page = min(max(0, self.page + step), last_page)
        self.refresh(chart=False)

    def _save_clicked(self) -> None:
        try:
            written = self.save(self.save_path.value.strip())
        except TodoDataError as exc:
            self.saved.value = f"<b>{exc}</b>"
            return
        self.saved.value = f"Saved {written.rows:,} tasks to {written.path.resolve()}"

    def _filters_changed(self, _change: Any) -> None:
        self.page = 0
        try:
            self.total = frames.count_tasks(self.database_url, **self.filters())
        except ConfigurationError as exc:
            self.message.value = f"<b>{exc}</b>"
            return
        self.refresh()

    def refresh(self, *, chart: bool = True) -> None:
        """Redraw the page (and the chart) for the current filters; a bad filter shows its one-line message."""
        import matplotlib.pyplot as plt

        try:
            page = self.page_frame()
        except ConfigurationError as exc:
            self.message.value = f"<b>{exc}</b>"
            return
        self.message.value = ""
        self.label.value = self.caption()
        self.previous.disabled = self.page == 0
        self.next.disabled = (self.page + 1) * self.page_size >= self.total
        self.table.clear_output(wait=True)
        if not page.empty:  # the caption says when nothing matches
            with self.table:
                display(shown.table(page))
        if chart:
            fig = self.figure()
            self.chart.clear_output(wait=True)
            with self.chart:
                display(fig)
            plt.close(fig)
