"""Each HTML report opened from disk in Chromium with no network: it renders, and reads well without Jupyter.

The reports are made from a sampled database that holds what real ones do: legacy priorities, missing
descriptions, a long description and a title with a long web address in it (the newest task, so the explorer's
first page shows it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

from todo_data import Task, dispose_engines, load_sample, session_scope
from todo_data.migrations import upgrade
from todo_data.reports import report_names, run_reports

pytestmark = pytest.mark.browser

TITLES = {
    "01-schema": "Schema",
    "02-migrations": "Migrations",
    "03-index-usage": "Index usage",
    "04-task-report": "Task report",
    "05-explorer": "Task explorer",
    "06-sql": "SQL cells",
}


LONG_TITLE = (
    "Read https://wiki.example.com/teams/platform/runbooks/database-migrations/2025/timestamptz-rewrite-and-index-strategy-review"
    " before the meeting"
)


@pytest.fixture(scope="session")
def report_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """An SQLite database at head with sampled tasks, the sample's planted anomalies, and the long-titled newest task."""
    url = make_url(f"sqlite+pysqlite:///{tmp_path_factory.mktemp('report-db') / 'todo.db'}")
    upgrade(url)
    load_sample(url, users=40, tasks=1500, seed=0, anomalies=True)
    with session_scope(url) as session:
        owner = session.get(Task, 1)
        assert owner is not None
        moment = datetime(2099, 1, 1, tzinfo=UTC)
        session.add(Task(user_id=owner.user_id, title=LONG_TITLE, priority="urgent", created_at=moment, updated_at=moment))
    dispose_engines()
    yield url
    dispose_engines()


@pytest.fixture(scope="session")
def reports(report_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every report for that database, as ``todo-data report all`` writes them."""
    folder = tmp_path_factory.mktemp("reports")
    run = run_reports(["all"], output_dir=folder, database_url=report_url)
    assert run.ok, [result.error for result in run.results if result.error]
    yield folder


def test_every_report_has_a_title() -> None:
    assert set(TITLES) == set(report_names())


def open_report(watched: Any, html: Path, *, width: int | None = None) -> Any:
    page = watched.page
    if width:
        page.set_viewport_size({"width": width, "height": 900})
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    if page.locator(".jp-Mermaid").count():
        page.locator(".jp-Mermaid svg").first.wait_for(timeout=30_000)
    # every grid drawn (DataTables marks its table), not its "Loading ITables" placeholder: checks and screenshots see the grid
    page.wait_for_function(GRIDS_DRAWN, timeout=30_000)
    return page


GRIDS_DRAWN = """() => [...document.querySelectorAll('table[id^="itables_"]')].every(table => table.classList.contains('dataTable'))"""


@pytest.mark.parametrize("name", report_names())
def test_report_renders_offline_without_errors(name: str, reports: Path, watched: Any, screenshot: Any) -> None:
    page = open_report(watched, reports / f"{name}.html")
    assert watched.problems() == [], f"{name}.html: {watched.problems()}"
    assert page.get_by_text("Loading ITables").filter(visible=True).count() == 0, "a grid shows its placeholder, not its rows"

    assert page.title() == TITLES[name]
    header = page.locator(".jp-OutputArea-output[data-mime-type='text/markdown']").first.inner_text()
    for part in ("Database", "sqlite", "revision", "at head", "generated", "UTC"):
        assert part in header, f"run metadata lacks {part!r}: {header}"

    contents = page.locator("nav.todo-toc a")
    assert contents.count() >= 2, "no table of contents"
    nowhere = contents.evaluate_all(
        "links => links.map(a => a.getAttribute('href')).filter(href => !document.getElementById(decodeURIComponent(href.slice(1))))"
    )
    assert nowhere == [], f"contents links that lead nowhere: {nowhere}"

    assert page.locator(".jp-CodeCell .jp-InputArea").count() == 0, "code cells should be hidden by default"
    broken = page.locator("img").evaluate_all("images => images.filter(img => !(img.complete && img.naturalWidth > 0)).length")
    assert broken == 0, f"{broken} image(s) did not load"
    if name in ("01-schema", "04-task-report", "05-explorer"):
        assert page.locator("img[src^='data:image/png']").count() >= 1, "the report's figures are missing"
    if name == "01-schema":
        assert page.locator(".jp-Mermaid svg").count() == 1
        assert "task_relationships" in page.locator(".jp-Mermaid svg").text_content()
    screenshot(page, f"report-{name}")


# Every cell of every table on show, with its column's header: [{"headers": [...], "rows": [[...], ...]}, ...]
# (a grid's static preview, for a browser without JavaScript, is hidden once the grid is drawn)
TABLES_JS = """() => [...document.querySelectorAll('.jp-RenderedHTMLCommon table')].filter(table => table.getClientRects().length).map(table => ({
    headers: [...table.querySelectorAll('thead tr:last-child th')].map(th => th.innerText.trim()),
    rows: [...table.querySelectorAll('tbody tr')].map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText.trim())),
}))"""
IDENTIFIERS = {"id", "task_id", "user_id", "line", "step", "position", "revision"}  # shown without thousands separators
SHARES = {"share", "completion_rate", "cache_hit"}  # shown as percentages
MISSING_SPELLINGS = re.compile(r"\b(NaN|nan|NaT|None)\b|<NA>")


@pytest.mark.parametrize("name", report_names())
def test_tables_read_as_a_person_reads(name: str, reports: Path, watched: Any) -> None:
    """No NaN, <NA> or None for missing values, no 2009.0 counts, separators, percentages, no text cut with "…",
    and no table that is only its headers."""
    page = open_report(watched, reports / f"{name}.html")
    tables = page.evaluate(TABLES_JS)
    assert tables, f"{name}.html shows no table"
    for table in tables:
        headers = table["headers"]
        assert table["rows"], f"{name}.html: an empty table (headers {headers}) where a sentence should be"
        for row in table["rows"]:
            assert len(row) == len(headers), f"{name}.html: row numbers or a ragged row: {headers} / {row}"
            for header, text in zip(headers, row, strict=True):
                where = f"{name}.html, column {header!r}: {text[:80]!r}"
                assert not MISSING_SPELLINGS.search(text), f"{where} spells a missing value"
                assert not re.fullmatch(r"-?[\d,]+\.0+", text), f"{where} is a count shown as a float"
                if header not in IDENTIFIERS:
                    assert not re.fullmatch(r"-?\d{4,}", text), f"{where} lacks thousands separators"
                if header in SHARES:
                    assert re.fullmatch(r"\d{1,3}\.\d%|—", text), f"{where} is a share not shown as a percentage"
                assert not text.endswith(("…", "...")), f"{where} is cut"


@pytest.mark.parametrize("name", report_names())
def test_contents_are_numbered_in_order_and_nested(name: str, reports: Path, watched: Any) -> None:
    """1, 2, 3 … for the sections, 2.1, 2.2 … for the sub-headings under theirs: as the page's headings run."""
    page = open_report(watched, reports / f"{name}.html")
    contents = page.evaluate(
        """() => [...document.querySelectorAll('nav.todo-toc > ol > li')].map(li => ({
            number: li.querySelector(':scope > a .todo-toc-number').innerText.trim(),
            href: li.querySelector(':scope > a').getAttribute('href'),
            nested: [...li.querySelectorAll(':scope > ol > li > a')].map(a => ({
                number: a.querySelector('.todo-toc-number').innerText.trim(), href: a.getAttribute('href')})),
        }))"""
    )
    headings = page.evaluate(
        "() => [...document.querySelectorAll('.jp-RenderedHTMLCommon h2[id], .jp-RenderedHTMLCommon h3[id]')]"
        ".map(h => [h.tagName.toLowerCase(), '#' + h.id])"
    )
    expected, outline = [], []
    for level, href in headings:
        if level == "h2" or not outline:
            outline.append((href, []))
        else:
            outline[-1][1].append(href)
    for number, (href, subsections) in enumerate(outline, start=1):
        expected.append(
            {
                "number": str(number),
                "href": href,
                "nested": [{"number": f"{number}.{sub}", "href": h} for sub, h in enumerate(subsections, start=1)],
            }
        )
    assert contents == expected
    links = [entry["href"] for entry in contents] + [sub["href"] for entry in contents for sub in entry["nested"]]
    assert len(links) == len(set(links)), f"two contents entries lead to one heading: {links}"
    if name == "04-task-report":
        assert any(entry["nested"] for entry in contents), "the task report's sub-heading is nested under its section"


@pytest.mark.parametrize("width", [1280, 800])
@pytest.mark.parametrize("name", report_names())
def test_tables_fit_the_page(name: str, width: int, reports: Path, watched: Any) -> None:
    """The page itself never scrolls sideways; a table wider than the window scrolls inside its own box."""
    page = open_report(watched, reports / f"{name}.html", width=width)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}.html is {overflow} px wider than a {width} px window"
    boxes = page.locator(".jp-RenderedHTMLCommon table").evaluate_all(
        """tables => tables.map(t => ({right: t.getBoundingClientRect().right, scrolls: getComputedStyle(t).overflowX,
                                       hidden: t.scrollWidth - t.clientWidth}))"""
    )
    for box in boxes:
        assert box["right"] <= width + 1, f"a table runs off the right edge at {width} px: {box}"
        assert box["hidden"] <= 1 or box["scrolls"] in ("auto", "scroll"), f"a table is cut off at {width} px: {box}"


def test_a_long_title_leaves_the_explorers_columns_on_screen(reports: Path, watched: Any) -> None:
    """The newest task's title holds a long web address: it wraps, shown whole, and every column stays in view at 1280 px."""
    page = open_report(watched, reports / "05-explorer.html", width=1280)
    table = page.locator(".jp-RenderedHTMLCommon table").first
    headers = table.locator("thead th").all_inner_texts()
    assert [h.strip() for h in headers][-2:] == ["created_at", "updated_at"]
    title = table.locator("tbody tr").first.locator("td").nth([h.strip() for h in headers].index("title"))
    assert " ".join(title.inner_text().split()) == LONG_TITLE, "the title is shown whole"
    hidden = table.evaluate("t => t.scrollWidth - t.clientWidth")
    assert hidden <= 1, f"the explorer's table hides {hidden} px of columns at 1280 px"
    last = table.locator("thead th").last.evaluate("th => th.getBoundingClientRect().right")
    assert last <= 1280, f"the last column ends at {last} px, off a 1280 px window"


GRID_COLUMN_JS = """(table, column) => {
    const headers = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
    return [...table.querySelectorAll('tbody tr')].map(tr => tr.children[headers.indexOf(column)].innerText.trim());
}"""


def _grid_column(grid: Any, column: str) -> list[str]:
    return grid.evaluate(GRID_COLUMN_JS, column)


def _wait_for_column(grid: Any, column: str, holds: Callable[[list[str]], bool], what: str, timeout: float = 30) -> list[str]:
    """``column``'s cells once ``holds`` them, within ``timeout`` s: the grid redraws after a click or a keystroke,
    and reading it at once can catch what it showed before on a busy machine."""
    deadline = time.monotonic() + timeout
    while not holds(cells := _grid_column(grid, column)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert holds(cells), f"the grid's {column!r} column did not {what} within {timeout:g} s: {cells}"
    return cells


def _sort_by(grid: Any, column: str) -> list[str]:
    """Click ``column``'s header and return the column once the grid shows it in another order."""
    headers = [text.strip() for text in grid.locator("thead th").all_inner_texts()]
    before = _grid_column(grid, column)
    grid.locator("thead th").nth(headers.index(column)).click()
    return _wait_for_column(grid, column, lambda cells: cells != before, "change order after its header was clicked")


def test_the_explorers_grid_sorts_and_searches_offline(reports: Path, watched: Any) -> None:
    """05-explorer's page is a grid drawn by code inside the file: click a header to sort, type to search."""
    page = open_report(watched, reports / "05-explorer.html")
    grid = page.locator("table.dataTable").first
    grid.locator("tbody tr").first.wait_for(timeout=30_000)
    assert watched.problems() == []
    headers = [text.strip() for text in grid.locator("thead th").all_inner_texts()]
    assert headers == ["id", "user_id", "email", "title", "description", "completed", "priority", "created_at", "updated_at"]
    ids = [int(text) for text in _grid_column(grid, "id")]
    assert len(ids) == 25 and ids[0] == max(ids), "the newest task (the long title) first, as the query ordered them"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", text) for text in _grid_column(grid, "created_at"))

    assert [int(text) for text in _sort_by(grid, "id")] == sorted(ids)
    assert [int(text) for text in _sort_by(grid, "id")] == sorted(ids, reverse=True)
    emails = _sort_by(grid, "email")
    assert emails == sorted(emails, key=str.lower)

    wanted = emails[-1]
    page.locator(".dt-search input").first.fill(wanted)
    _wait_for_column(grid, "email", lambda cells: set(cells) == {wanted}, f"show only {wanted!r}")
    assert page.locator(".dt-info").first.inner_text().endswith("(filtered from 25 total entries)")
    assert page.locator("button.buttons-csv").count() == 1, "the grid saves what it shows as CSV"
    assert watched.problems() == []


def test_the_task_reports_user_grid_sorts_counts_by_value(reports: Path, watched: Any) -> None:
    """1,234 sorts after 987: the grid shows counts with separators and sorts them by number."""
    page = open_report(watched, reports / "04-task-report.html")
    grid = page.locator("table.dataTable").filter(has=page.locator("th", has_text="completion_rate")).first
    grid.locator("tbody tr").first.wait_for(timeout=30_000)
    counts = [int(text.replace(",", "")) for text in _sort_by(grid, "open")]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    rates = [float(text.rstrip("%")) for text in _sort_by(grid, "completion_rate") if text != "—"]
    assert rates == sorted(rates)
    assert watched.problems() == []
