"""``make demo``'s data, loaded as the Makefile loads it: every section of the demo's reports has something in it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import table_snapshot

from todo_data import Explorer, sample, task_report

ROOT = Path(__file__).resolve().parent.parent


def _demo_sample_arguments() -> list[str]:
    """The arguments of the `todo-data sample` line in the Makefile's demo recipe."""
    lines = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0].splitlines()
    (line,) = [line for line in lines if "todo-data sample" in line]
    return shlex.split(line.split("todo-data sample", 1)[1])


def _todo_data(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "todo_data.cli", *args], capture_output=True, text=True, env=environment, timeout=300, check=False
    )


def _demo(tmp_path: Path, *as_of: str) -> str:
    url = f"sqlite:///{tmp_path / 'todo.db'}"
    assert _todo_data("db", "upgrade", "--database-url", url).returncode == 0
    loaded = _todo_data("sample", *_demo_sample_arguments(), *as_of, "--database-url", url)
    assert loaded.returncode == 0 and "loaded 200 users, 5000 tasks" in loaded.stdout, loaded.stderr
    return url


def _assert_every_section_has_data(url: str, now: datetime | None, youngest: int) -> None:
    """What 04-task-report, 05-explorer and 06-sql show, as the library functions they call return it."""
    report = task_report(url, now=now)
    assert report.summary.open_tasks > 0 and report.summary.completed_tasks > 0
    assert (report.by_status["tasks"] > 0).all() and not report.by_priority.empty and not report.by_user.empty
    recent = report.weekly.iloc[-5:-1]  # the four weeks before the current one, which may have just begun
    assert (recent["created"] > 0).all() and (recent["completed"] > 0).all(), recent
    ages = report.open_age.set_index("age")["tasks"]
    assert (ages.iloc[youngest:] > 0).all(), ages  # every bucket, "< 1 day" (youngest=0) when the clock allows it
    assert len(report.most_active) == 20 and (report.most_active["tasks"] > 0).all()
    assert (report.quality["count"] > 0).sum() >= 3  # the planted problems (--anomalies)
    graph = report.graph
    assert graph.edges > 0 and (graph.depth["depth"] > 1).any()
    assert graph.blocked_total > 0 and not graph.blocked.empty
    assert len(graph.cycles) == 1 and graph.cycles["length"].tolist() == [sample.CYCLE_LENGTH]
    explorer = Explorer(database_url=url, completed=False)
    assert not explorer.page_frame().empty


def test_the_demo_reports_have_no_empty_section_as_of_a_given_day(tmp_path: Path) -> None:
    url = _demo(tmp_path, "--as-of", "2026-11-30")
    _assert_every_section_has_data(url, datetime(2026, 11, 30, 9, tzinfo=UTC), youngest=0)


def test_the_demo_reports_have_no_empty_section_today(tmp_path: Path) -> None:
    """The Makefile's own line, with no --as-of: activity up to the start of today, read now."""
    url = _demo(tmp_path)
    _assert_every_section_has_data(url, None, youngest=1)


def test_the_same_seed_and_day_load_the_same_rows(tmp_path: Path) -> None:
    urls = []
    for name, day in (("a", "2026-11-30"), ("b", "2026-11-30"), ("c", "2026-12-01")):
        url = f"sqlite:///{tmp_path / name}.db"
        assert _todo_data("db", "upgrade", "--database-url", url).returncode == 0
        loaded = _todo_data("sample", "--users", "20", "--tasks", "300", "--seed", "4", "--as-of", day, "--database-url", url)
        assert loaded.returncode == 0, loaded.stderr
        urls.append(url)
    for table in ("users", "task", "task_relationships"):
        assert table_snapshot(urls[0], table) == table_snapshot(urls[1], table), table
    assert table_snapshot(urls[0], "task") != table_snapshot(urls[2], "task")
    newest = max(str(created) for _, created in table_snapshot(urls[0], "task", ["id", "created_at"]))
    assert newest < "2026-11-30"  # everything before the day starts


@pytest.mark.parametrize("day", ["30/11/2026", "yesterday"])
def test_a_bad_as_of_date_is_one_line_with_the_shape_to_use(tmp_path: Path, day: str) -> None:
    url = f"sqlite:///{tmp_path / 'todo.db'}"
    assert _todo_data("db", "upgrade", "--database-url", url).returncode == 0
    result = _todo_data("sample", "--as-of", day, "--database-url", url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"todo-data: error: --as-of wants a date such as 2026-12-02 (got {day!r})."]
    assert table_snapshot(url, "task") == []
