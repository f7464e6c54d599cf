"""todo_data.explorer: the controls drive the page, the count and the chart, with bound parameters only."""

from __future__ import annotations

import os
import stat
from datetime import date

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from todo_data import Explorer, display, read_frame
from todo_data.errors import ConfigurationError
from todo_data.sample import load_sample


@pytest.fixture
def sampled_url(head_url: URL) -> URL:
    load_sample(head_url, users=8, tasks=400, seed=3, anomalies=True)  # legacy priorities: urgent, HIGH, Low, empty
    return head_url


def _execute(url: URL, statement: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


def all_tasks(url: URL):
    return read_frame("SELECT * FROM task", database_url=url)


def test_changing_a_filter_changes_the_table_and_the_chart(sampled_url: URL) -> None:
    explorer = Explorer(sampled_url, page_size=20)
    tasks = all_tasks(sampled_url)
    assert explorer.total == len(tasks) and len(explorer.page_frame()) == 20
    assert explorer.caption() == f"Tasks 1 to 20 of {len(tasks):,}, newest first."
    chart_before = explorer.figure().axes[0].lines[0].get_ydata().sum()
    plt.close("all")

    explorer.status.value = "open"
    explorer.priority.value = "high"
    expected = tasks[(~tasks["completed"]) & (tasks["priority"] == "high")]
    assert explorer.total == len(expected)
    page = explorer.page_frame()
    assert set(page["id"]) <= set(expected["id"]) and (~page["completed"]).all() and (page["priority"] == "high").all()
    chart_after = explorer.figure().axes[0].lines[0].get_ydata().sum()
    plt.close("all")
    future = int((tasks["created_at"] > pd.Timestamp.now(tz="UTC")).sum())  # --anomalies' future timestamp is not drawn
    assert chart_before == len(tasks) - future and chart_after == len(expected)


def test_the_chart_ends_this_week_and_counts_what_is_dated_later(sampled_url: URL) -> None:
    """The planted task ten years ahead would stretch the weekly chart over a decade of zeros; the title counts it instead."""
    tasks = all_tasks(sampled_url)
    now = pd.Timestamp.now(tz="UTC")
    future = int((tasks["created_at"] > now).sum())
    assert future == 1
    figure = Explorer(sampled_url).figure()
    axes = figure.axes[0]
    assert axes.get_title() == "matching tasks created per week (1 dated after this week not drawn)"
    weeks = pd.to_datetime(axes.lines[0].get_xdata(), utc=True)
    assert weeks.max() <= now and axes.lines[0].get_ydata().sum() == len(tasks) - 1
    plt.close("all")
    assert (
        Explorer(sampled_url, completed=True, created_to=date(2020, 1, 1)).figure().axes[0].get_title() == "matching tasks created per week"
    )
    plt.close("all")


def test_paging_walks_every_match_once(sampled_url: URL) -> None:
    explorer = Explorer(sampled_url, completed=False, page_size=30)
    seen: list[int] = []
    while True:
        seen += explorer.page_frame()["id"].tolist()
        if explorer.next.disabled:
            break
        explorer.turn(1)
    assert len(seen) == len(set(seen)) == explorer.total
    explorer.turn(99)
    assert explorer.next.disabled and not explorer.previous.disabled


def test_user_by_email_and_dates(sampled_url: URL) -> None:
    tasks = all_tasks(sampled_url)
    user = read_frame("SELECT id, email FROM users ORDER BY email LIMIT 1", database_url=sampled_url).iloc[0]
    explorer = Explorer(sampled_url, created_from=date(2025, 1, 1), created_to=date(2025, 6, 30))
    explorer.user.value = user["email"]
    in_range = tasks[
        (tasks["user_id"] == user["id"]) & (tasks["created_at"] >= "2025-01-01T00:00:00Z") & (tasks["created_at"] < "2025-07-01T00:00:00Z")
    ]
    assert explorer.filters()["user_id"] == user["id"]
    assert explorer.total == len(in_range)


def test_text_full_of_sql_metacharacters_is_searched_literally(sampled_url: URL) -> None:
    explorer = Explorer(sampled_url, text="'; DROP TABLE task; --")
    assert explorer.total == 0 and explorer.caption() == "No task matches these filters."
    explorer.text.value = "%"
    assert explorer.total == 0, "% is a character here, not a wildcard"
    engine = sa.create_engine(sampled_url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM task")).scalar_one() == 400
    engine.dispose()


def test_every_priority_the_database_holds_can_be_chosen(sampled_url: URL) -> None:
    """Legacy values the task report counts ('urgent', NULL, '') are choices too, and filter (issue 15, item 10)."""
    _execute(sampled_url, "UPDATE task SET priority = NULL WHERE id IN (SELECT id FROM task ORDER BY id LIMIT 3)")
    tasks = all_tasks(sampled_url)
    explorer = Explorer(sampled_url)
    options = list(explorer.priority.options)
    assert options[:4] == ["all", "low", "medium", "high"] and options[-1] == "(none)"
    assert {"urgent", "(empty)"} <= set(options) and len(options) == len(set(options))
    held = {"(none)" if pd.isna(p) else "(empty)" if p == "" else p for p in tasks["priority"]}
    assert held <= set(options[1:])
    for label, mask in (
        ("urgent", tasks["priority"] == "urgent"),
        ("(none)", tasks["priority"].isna()),
        ("(empty)", tasks["priority"] == ""),
    ):
        explorer.priority.value = label
        assert explorer.total == mask.sum() > 0, label
        assert sorted(explorer.page_frame()["id"]) == sorted(tasks[mask]["id"])[: explorer.page_size]
    assert Explorer(sampled_url, priority="urgent").total == (tasks["priority"] == "urgent").sum()
    assert Explorer(sampled_url, priority="(none)").priority.value == "(none)"
    assert Explorer(sampled_url, priority="").priority.value == "(empty)"


def test_bad_starting_values_are_one_line_errors(sampled_url: URL) -> None:
    _execute(sampled_url, "UPDATE task SET priority = NULL WHERE id = 1")
    with pytest.raises(ConfigurationError, match=r"priority must be one of low, medium, high, .*urgent, \(none\) \(what this database"):
        Explorer(sampled_url, priority="critical")
    with pytest.raises(ConfigurationError, match="page_size"):
        Explorer(sampled_url, page_size=0)
    explorer = Explorer(sampled_url)
    explorer.created_from.value = date(2025, 6, 1)
    explorer.created_to.value = date(2025, 1, 1)
    assert explorer.message.value.startswith("<b>") and "\n" not in explorer.message.value


def test_the_page_shows_the_owners_email_minutes_in_utc_empty_text_and_no_row_numbers(sampled_url: URL) -> None:
    """What the explorer's grid shows (issue 19, item 2): the frame from the explorer, the text from display."""
    page = Explorer(sampled_url, page_size=30).page_frame()
    assert list(page.columns) == ["id", "user_id", "email", "title", "description", "completed", "priority", "created_at", "updated_at"]
    users = read_frame("SELECT id, email FROM users", database_url=sampled_url).set_index("id")["email"]
    assert page["email"].tolist() == users.loc[page["user_id"]].tolist()
    assert str(page["created_at"].dt.tz) == "UTC" and isinstance(page.index, pd.RangeIndex)

    shown, sorts = display.grid_frame(page)
    visible = shown.drop(columns=list(sorts.values()))
    assert list(visible.columns) == list(page.columns), "no row-number column"
    assert visible["created_at"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()
    first = page.iloc[0]
    assert visible["created_at"].iloc[0] == first["created_at"].tz_convert("UTC").strftime("%Y-%m-%d %H:%M")
    missing = page["description"].isna()
    assert missing.any() and (visible.loc[missing, "description"] == "").all()
    assert visible["id"].iloc[0] == str(first["id"]), "ids without thousands separators"
    for text in visible.to_numpy().ravel():
        assert text not in ("None", "nan", "NaN", "NaT", "<NA>"), text


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_save_writes_every_match_not_only_the_page(sampled_url: URL, tmp_path, suffix: str) -> None:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    explorer = Explorer(sampled_url, completed=False, page_size=5)
    explorer.priority.value = "high"
    tasks = all_tasks(sampled_url)
    expected = tasks[~tasks["completed"] & (tasks["priority"] == "high")]
    saved = explorer.save(tmp_path / "out" / f"open-high{suffix}")
    assert saved.rows == explorer.total == len(expected) > explorer.page_size
    table = pq.read_table(saved.path) if suffix == ".parquet" else pa_csv.read_csv(saved.path)
    assert sorted(table["id"].to_pylist()) == sorted(expected["id"]) and set(table["priority"].to_pylist()) == {"high"}
    assert [path.name for path in saved.path.parent.iterdir()] == [saved.path.name], "no scratch files left beside it"
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(saved.path.stat().st_mode) == 0o666 & ~umask, "readable as any file the user writes, not 0600"

    explorer.save_path.value = str(tmp_path / "clicked.csv")
    explorer.save_button.click()
    assert (tmp_path / "clicked.csv").is_file() and f"Saved {len(expected):,} tasks" in explorer.saved.value


def test_save_refuses_a_file_it_cannot_write_in_one_line(sampled_url: URL, tmp_path) -> None:
    explorer = Explorer(sampled_url)
    with pytest.raises(ConfigurationError, match=r"ending in \.parquet or \.csv, not 'tasks\.xlsx'"):
        explorer.save("tasks.xlsx")
    folder = tmp_path / "saves"
    folder.mkdir()
    explorer.save_path.value = str(folder / "tasks")
    explorer.save_button.click()
    assert explorer.saved.value.startswith("<b>Save to a file ending in .parquet or .csv") and "\n" not in explorer.saved.value
    assert list(folder.iterdir()) == []
