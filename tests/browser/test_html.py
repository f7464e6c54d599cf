"""Each HTML report opened from disk in Chromium with no network: it renders, and reads well without Jupyter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

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


@pytest.fixture(scope="session")
def reports(sampled_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every report for the sampled database, as ``todo-data report all`` writes them."""
    folder = tmp_path_factory.mktemp("reports")
    run = run_reports(["all"], output_dir=folder, database_url=sampled_url)
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
    return page


@pytest.mark.parametrize("name", report_names())
def test_report_renders_offline_without_errors(name: str, reports: Path, watched: Any, screenshot: Any) -> None:
    page = open_report(watched, reports / f"{name}.html")
    assert watched.problems() == [], f"{name}.html: {watched.problems()}"

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


@pytest.mark.parametrize("width", [1280, 800])
@pytest.mark.parametrize("name", ["01-schema", "03-index-usage", "05-explorer"])
def test_tables_fit_the_page(name: str, width: int, reports: Path, watched: Any) -> None:
    """The widest reports: the page itself never scrolls sideways; a wide table scrolls inside its own box."""
    page = open_report(watched, reports / f"{name}.html", width=width)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}.html is {overflow} px wider than a {width} px window"
    spilling = page.locator(".jp-RenderedHTMLCommon table").evaluate_all(
        "tables => tables.filter(t => t.getBoundingClientRect().right > window.innerWidth + 1).length"
    )
    assert spilling == 0, f"{spilling} table(s) run off the right edge at {width} px"
