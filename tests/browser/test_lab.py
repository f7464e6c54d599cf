"""Each notebook opened in a real JupyterLab against a sampled database, Run All, as an analyst would."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy.engine import URL

from todo_data.reports import report_names

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 120_000
ALL_CODE_CELLS_RAN = """() => {
    const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')];
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def open_and_run_all(watched: Any, lab: Any, name: str) -> Any:
    """Open NAME.ipynb in its own workspace, wait for the kernel, Run All Cells, wait until every cell ran and the kernel is idle."""
    page = watched.page
    lab.end_sessions()  # an earlier test's kernel for the same notebook would be picked up mid-connection
    page.goto(lab.notebook_url(name))
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    deadline = time.monotonic() + 60
    while not any(
        session["path"].endswith(f"{name}.ipynb") and session["kernel"]["execution_state"] == "idle" for session in lab.api("/api/sessions")
    ):
        assert time.monotonic() < deadline, f"no idle kernel for {name} within a minute of opening it"
        page.wait_for_timeout(200)  # keeps Playwright's event loop turning
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("li[data-command='runmenu:run-all']").click()
    page.wait_for_function(ALL_CODE_CELLS_RAN, timeout=RUN_TIMEOUT_MS)
    deadline = time.monotonic() + 60
    while any(kernel["execution_state"] != "idle" for kernel in lab.api("/api/kernels")):
        assert time.monotonic() < deadline, "the kernel stayed busy for a minute after every cell had run"
        page.wait_for_timeout(200)  # keeps Playwright's event loop turning
    # the file browser folded away, as for a screenshot a person would take
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
    return panel


def error_outputs(panel: Any) -> list[str]:
    return panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()


def loaded_images(panel: Any) -> int:
    return panel.locator(".jp-OutputArea-output[data-mime-type='image/png'] img").evaluate_all(
        "images => images.filter(img => img.complete && img.naturalWidth > 100).length"
    )


@pytest.mark.parametrize("name", report_names())
def test_notebook_runs_all_in_jupyterlab(name: str, lab: Any, lab_database: URL, watched: Any, shots: Path) -> None:
    panel = open_and_run_all(watched, lab, name)
    shot = shots / f"lab-{name}-{lab_database.get_backend_name()}.png"
    watched.page.screenshot(path=str(shot))

    assert error_outputs(panel) == [], f"{name} shows error output in JupyterLab; screenshot: {shot}"
    assert panel.locator(".jp-RenderedHTMLCommon table").count() >= 1, f"no table rendered; screenshot: {shot}"
    run_header = panel.locator(".jp-OutputArea-output[data-mime-type='text/markdown']").first.inner_text()
    assert "revision" in run_header and "generated" in run_header, run_header
    assert f"({lab_database.get_backend_name()})" in run_header, f"the notebook read another database: {run_header}"
    assert watched.external_requests == [], watched.external_requests
    if name == "06-sql":
        assert sql_cells_answered(panel) == [True, True, True], f"each %%sql question shows its rows; screenshot: {shot}"


def sql_cells_answered(panel: Any) -> list[bool]:
    """For each executed ``%%sql`` cell: whether its output shows a table with rows."""
    return panel.locator(".jp-CodeCell").evaluate_all(
        """cells => cells
            .filter(cell => /^%%sql(?![^\\n]*--no-execute)/.test(cell.querySelector('.jp-InputArea-editor').innerText.trim()))
            .map(cell => [...cell.querySelectorAll('.jp-OutputArea-output table tbody tr')].length > 0)"""
    )


def test_schema_diagram_and_figure_render(lab: Any, watched: Any, screenshot: Any) -> None:
    panel = open_and_run_all(watched, lab, "01-schema")
    # JupyterLab draws text/vnd.mermaid into an SVG image; on a syntax error it shows the source and the error instead
    diagram = panel.locator(".jp-RenderedMermaid").first
    drawing = diagram.locator("img[src^='data:image/svg+xml']")
    drawing.wait_for(timeout=30_000)
    drawing.scroll_into_view_if_needed()
    size = drawing.evaluate("img => img.decode().then(() => [img.getBoundingClientRect().width, img.getBoundingClientRect().height])")
    assert min(size) > 100, f"the ER diagram's drawing did not load (shown at {size} px)"
    svg = unquote(drawing.get_attribute("src") or "")
    for table in ("users", "task", "task_relationships"):
        assert f">{table}<" in svg, f"the ER diagram does not draw {table}"
    assert diagram.locator("pre:visible").count() == 0, "the diagram shows as Mermaid source text (a syntax error?)"
    assert loaded_images(panel) >= 1, "the table-size figure is missing"
    diagram.evaluate("element => element.scrollIntoView({block: 'start'})")
    screenshot(watched.page, "lab-er-diagram")


def test_task_report_figures_render(lab: Any, watched: Any, shots: Path) -> None:
    panel = open_and_run_all(watched, lab, "04-task-report")
    assert loaded_images(panel) >= 3, "the task report should show its figures (status and priority, weekly, open age)"
    panel.locator(".jp-OutputArea-output[data-mime-type='image/png']").first.scroll_into_view_if_needed()
    watched.page.screenshot(path=str(shots / "lab-task-report.png"))


def column_values(table: Any, column: str) -> list[str]:
    """The text of one column of a rendered DataFrame (pandas' HTML: a header row, then one row per record)."""
    return table.evaluate(
        """(table, column) => {
            const headers = [...table.querySelectorAll('thead tr:first-child th')].map(th => th.textContent.trim());
            const index = headers.indexOf(column);
            if (index < 0) return null;
            return [...table.querySelectorAll('tbody tr')].map(tr => tr.children[index].textContent.trim());
        }""",
        column,
    )


def test_explorer_filters_change_table_and_chart(lab: Any, watched: Any, screenshot: Any) -> None:
    page = watched.page
    panel = open_and_run_all(watched, lab, "05-explorer")
    explorer = panel.locator(".widget-vbox").first
    explorer.wait_for()
    table = explorer.locator("table.dataframe.dataTable")  # a grid, drawn by the code setup_notebook's cell wrote
    chart = explorer.locator("img")
    table.wait_for()
    chart.wait_for()
    assert set(column_values(table, "completed")) == {"True", "False"}, "the sample's first page should mix open and completed tasks"
    caption = explorer.locator(".widget-html").filter(has_text=" of ")
    before = {"table": table.inner_html(), "chart": chart.get_attribute("src"), "caption": caption.inner_text()}

    explorer.locator(".widget-toggle-button", has_text="completed").click()
    page.wait_for_function(
        "([table, src]) => { const t = document.querySelector('.widget-vbox table.dataframe'); const i = document.querySelector('.widget-vbox img');"
        " return t && i && t.innerHTML !== table && i.getAttribute('src') !== src; }",
        arg=[before["table"], before["chart"]],
        timeout=30_000,
    )
    assert set(column_values(table, "completed")) == {"True"}, "the status filter should leave only completed tasks"
    assert caption.inner_text() != before["caption"], "the count of matching tasks should change"

    explorer.locator(".widget-dropdown select").select_option("high")
    page.wait_for_function(
        "() => { const t = document.querySelector('.widget-vbox table.dataframe'); if (!t) return false;"
        " const h = [...t.querySelectorAll('thead tr:first-child th')].map(th => th.textContent.trim()); const i = h.indexOf('priority');"
        " return [...t.querySelectorAll('tbody tr')].every(tr => tr.children[i].textContent.trim() === 'high'); }",
        timeout=30_000,
    )
    assert set(column_values(table, "priority")) == {"high"}
    assert error_outputs(panel) == []

    # the grid sorts by a clicked header and searches what it shows
    ids = [int(text) for text in column_values(table, "id")]
    table.locator("thead th", has_text="id").first.click()
    assert [int(text) for text in column_values(table, "id")] == sorted(ids)
    email = column_values(table, "email")[-1]
    explorer.locator(".dt-search input").fill(email)
    page.wait_for_function(
        "(email) => { const rows = [...document.querySelectorAll('.widget-vbox table.dataTable tbody tr')];"
        " return rows.length > 0 && rows.every(tr => tr.innerText.includes(email)); }",
        arg=email,
        timeout=10_000,
    )
    assert set(column_values(table, "email")) == {email}
    explorer.locator(".dt-search input").fill("")
    explorer.evaluate("element => element.scrollIntoView({block: 'start'})")
    screenshot(page, "lab-explorer")
