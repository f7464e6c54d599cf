"""todo_data.reports and the notebooks: parameters checked first, papermill runs, self-contained HTML, `todo-data report`.

Every notebook is executed against sampled SQLite and PostgreSQL databases, through the library and through
the real command line; nbval runs them too, in lax mode.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import nbformat
import pytest
from sqlalchemy.engine import URL

from todo_data import migrations, reports
from todo_data.errors import ConfigurationError
from todo_data.sample import load_sample

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NAMES = ["01-schema", "02-migrations", "03-index-usage", "04-task-report", "05-explorer", "06-sql"]
SECRET = "Rep0rt-s3cret-pw"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (env or {})
    return subprocess.run(
        [str(BIN / "todo-data"), *args], capture_output=True, text=True, env=environment, cwd=cwd, check=False, timeout=600
    )


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture
def sampled_url(head_url: URL) -> URL:
    """A database at head with a little sample data, on the parametrised backend."""
    load_sample(head_url, users=12, tasks=300, seed=1)
    return head_url


# --- the notebooks as files ----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_notebook_shape(name: str) -> None:
    """Markdown first, exactly one cell tagged parameters defining database_url = None, and no outputs committed."""
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is notebook.cells[1]
    assert re.search(r"^database_url = None\b", tagged[0].source, re.MULTILINE)
    for parameter in reports.parameters(name):
        assert f"`{parameter}`" in notebook.cells[0].source, f"the first cell explains {parameter}"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "commit notebooks without outputs"


def test_papermill_help_notebook_lists_every_parameter() -> None:
    result = subprocess.run(
        [str(BIN / "papermill"), "--help-notebook", str(ROOT / "notebooks" / "05-explorer.ipynb")],
        capture_output=True,
        text=True,
        check=True,
    )
    for name in ("database_url", "user_id", "completed", "priority", "created_from", "created_to", "text", "page_size"):
        assert name in result.stdout


# --- parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_parameters_read_as_papermill_reads_them(name: str) -> None:
    """reports.parameters reads a notebook's parameters cell without papermill (the kernel's memory); the same reading."""
    import papermill

    found = papermill.inspect_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"))
    expected = {key: (value["inferred_type_name"], value["default"], value["help"]) for key, value in found.items()}
    assert {key: (p.type_name, p.default, p.help) for key, p in reports.parameters(name).items()} == expected


def test_parameters_read_annotations_type_comments_and_help_as_papermill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    source = "\n".join(
        [
            "# a comment line, then a blank one",
            "",
            "plain = 3",
            "annotated: int = 4  # help after an annotation",
            'quoted: "Optional[str]" = None',
            "commented = 'x'  # type: str  the help, with # inside",
            "untyped = [1, 2]  # just help",
            "  indented = True  # type: bool",
            "a = b = 2",
        ]
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]})])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(notebook, tmp_path / "01-made.ipynb")
    monkeypatch.setenv("TODO_DATA_NOTEBOOKS", str(tmp_path))
    found = papermill.inspect_notebook(str(tmp_path / "01-made.ipynb"))
    expected = {key: (value["inferred_type_name"], value["default"], value["help"]) for key, value in found.items()}
    assert len(expected) == 6
    assert {key: (p.type_name, p.default, p.help) for key, p in reports.parameters("01-made").items()} == expected


def test_check_parameters_accepts_and_converts_good_values(tmp_path: Path) -> None:
    database = tmp_path / "todo.db"
    database.touch()
    url = f"sqlite:///{database}"
    checked = reports.check_parameters("05-explorer", database_url=url, created_from="2025-01-31", page_size=10, completed=None)
    assert checked == {"database_url": url, "created_from": date(2025, 1, 31), "page_size": 10, "completed": None}
    assert reports.check_parameters("02-migrations", apply=True, target="003") == {"apply": True, "target": "003"}


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("04-task-report", {"top": "many"}, "parameter top must be int"),
        ("02-migrations", {"apply": "yes"}, "parameter apply must be bool"),
        ("05-explorer", {"created_from": "31/01/2025"}, "parameter created_from must be Optional[date]"),
        ("05-explorer", {"colour": "red"}, "unknown parameter colour"),
        ("01-schema", {"database_url": "not a url"}, ""),
    ],
)
def test_check_parameters_refuses_bad_values_in_one_line(name: str, values: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        reports.check_parameters(name, **values)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("04-task-report", {"top": -5}, "parameter top must be from 1 to 1,000, not -5"),
        ("04-task-report", {"top": 0}, "parameter top must be from 1 to 1,000, not 0"),
        ("04-task-report", {"weeks": 0}, "parameter weeks must be from 1 to 1,000"),
        ("05-explorer", {"page_size": 0}, "parameter page_size must be from 1 to 1,000, not 0"),
        ("05-explorer", {"user_id": "  "}, "parameter user_id must be a user's id, or None"),
        ("05-explorer", {"created_from": "2025-02-01", "created_to": "2025-01-01"}, "created_from (2025-02-01) is after created_to"),
        ("02-migrations", {"target": "999"}, "parameter target must be head or a revision of this project"),
        ("02-migrations", {"sample_tasks": -1}, "parameter sample_tasks must be from 0 to 1,000,000"),
    ],
)
def test_check_parameters_refuses_values_out_of_range(name: str, values: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        reports.check_parameters(name, **values)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_every_notebook_parameter_has_a_declared_constraint() -> None:
    for name in NAMES:
        for parameter in reports.parameters(name):
            assert parameter in reports.CONSTRAINTS, f"{name}'s parameter {parameter} has no constraint in reports.CONSTRAINTS"


def test_priority_is_any_text_the_database_may_hold() -> None:
    """Legacy priorities ('urgent', 'HIGH', '') are real values to filter on, not errors."""
    for priority in ("urgent", "HIGH", "", "low", None):
        assert reports.check_parameters("05-explorer", priority=priority) == {"priority": priority}
    assert reports.check_parameters("02-migrations", target="003", sample_tasks=0) == {"target": "003", "sample_tasks": 0}


def test_each_report_gets_the_parameters_it_declares() -> None:
    shares = reports.parameters_for(NAMES, {"top": 5, "user_id": "u-1"})
    assert shares == {
        "01-schema": {},
        "02-migrations": {},
        "03-index-usage": {"user_id": "u-1"},
        "04-task-report": {"top": 5},
        "05-explorer": {"user_id": "u-1"},
        "06-sql": {},
    }
    with pytest.raises(ConfigurationError, match=r"unknown parameter colour: none of 01-schema, .* takes it"):
        reports.parameters_for(NAMES, {"colour": "red"})
    with pytest.raises(ConfigurationError, match="unknown parameter page_size; it takes database_url, top, weeks"):
        reports.parameters_for(["04-task-report"], {"page_size": 5})
    with pytest.raises(ConfigurationError, match="05-explorer: parameter page_size must be from 1 to 1,000"):
        reports.parameters_for(NAMES, {"top": 5, "page_size": 0})


def test_report_names_and_aliases() -> None:
    assert reports.report_names() == NAMES
    assert reports.notebook_path("04").stem == "04-task-report" == reports.notebook_path("task-report").stem
    with pytest.raises(ConfigurationError, match="Unknown report 'nope'"):
        reports.notebook_path("nope")


def test_coerce_cli_value() -> None:
    assert [reports.coerce_cli_value(v) for v in ("None", "True", "false", "12", "1.5", "head")] == [None, True, False, 12, 1.5, "head"]


# --- running them ---------------------------------------------------------------------------------


def _html_is_self_contained(html: str) -> None:
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(https?:)?//", html), "the report asks the network for nothing"
    assert "cdnjs" not in html and "unpkg.com" not in html and "fonts.googleapis" not in html


def test_every_report_runs_on_a_sampled_database(sampled_url: URL, tmp_path: Path) -> None:
    """All five notebooks through the library: executed notebooks and HTML written, nothing failed, nothing changed."""
    revision = migrations.current(sampled_url)
    run = reports.run_reports(["all"], output_dir=tmp_path, database_url=sampled_url)
    assert [r.error for r in run.results] == [None] * len(NAMES)
    for result in run.results:
        executed = nbformat.read(result.notebook, as_version=4)
        errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert errors == []
        html = result.html.read_text()
        _html_is_self_contained(html)
        assert "td.check_parameters" not in html, "code is hidden by default"
    schema_html = (tmp_path / "01-schema.html").read_text()
    assert 'class="mermaid"' in schema_html and "erDiagram" in schema_html
    assert "mermaid.initialize" in schema_html, "the diagram's drawing code is inside the file"
    assert "data:image/png;base64" in (tmp_path / "04-task-report.html").read_text(), "figures are embedded"
    explorer_html = (tmp_path / "05-explorer.html").read_text()
    assert "injectModule(" in explorer_html and "new ITable(" in explorer_html, "the grid's code is inside the file, beside the grid"
    assert migrations.current(sampled_url) == revision


def test_contents_are_numbered_in_order_with_sub_headings_nested(tmp_path: Path) -> None:
    """Sections 1, 2, 3; sub-headings 2.1, 2.2 under theirs; a heading repeated under two sections gets its own anchor."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_markdown_cell("## Pending"),
        nbformat.v4.new_markdown_cell("### 002: timestamps"),
        nbformat.v4.new_markdown_cell("### 003: dependencies"),
        nbformat.v4.new_markdown_cell("## Findings"),
        nbformat.v4.new_markdown_cell("## Trace"),
        nbformat.v4.new_markdown_cell("### 002: timestamps"),
    ]
    source = tmp_path / "toc.ipynb"
    nbformat.write(notebook, source)
    html = reports.write_html(source, tmp_path / "toc.html").read_text()
    nav = re.search(r'<nav class="todo-toc".*?</nav>', html, re.S).group(0)
    entries = re.findall(r'<a href="#([^"]+)"><span class="todo-toc-number">([\d.]+)</span> ([^<]+)</a>', nav)
    assert [(number, label) for _, number, label in entries] == [
        ("1", "Pending"),
        ("1.1", "002: timestamps"),
        ("1.2", "003: dependencies"),
        ("2", "Findings"),
        ("3", "Trace"),
        ("3.1", "002: timestamps"),
    ]
    assert nav.count("<ol>") == 3, "one list of sections, and one nested list under each section with sub-headings"
    anchors = [anchor for anchor, _, _ in entries]
    assert len(set(anchors)) == len(anchors), f"two entries lead to one heading: {anchors}"
    for anchor in anchors:
        assert html.count(f'id="{anchor}"') == 1, anchor


def test_migrations_report_is_a_dry_run_until_apply(make_database, tmp_path: Path) -> None:
    url = make_database("sqlite")
    migrations.upgrade(url, "002")
    result = reports.run_report("02-migrations", output_dir=tmp_path / "dry", database_url=url)
    assert result.ok, result.error
    assert migrations.current(url) == ("002",)
    html = result.html.read_text()
    assert "003" in html and "CREATE TABLE task_relationships" in html and "Dry run" in html
    applied = reports.run_report("02-migrations", output_dir=tmp_path / "apply", database_url=url, parameters={"apply": True})
    assert applied.ok, applied.error
    assert migrations.current(url) == (migrations.head(),)
    assert "Upgraded from 002 to 004" in applied.html.read_text()


# --- the command line -----------------------------------------------------------------------------


def test_report_command_writes_html_and_prints_paths(sampled_url: URL, tmp_path: Path) -> None:
    result = run_cli("report", "04-task-report", "--database-url", url_text(sampled_url), "--output-dir", str(tmp_path), "-p", "top", "5")
    assert result.returncode == 0, result.stderr
    html = tmp_path / "04-task-report.html"
    assert f"04-task-report: {html}" in result.stdout and html.exists() and (tmp_path / "04-task-report.ipynb").exists()
    executed = json.loads((tmp_path / "04-task-report.ipynb").read_text())
    assert executed["metadata"]["papermill"]["parameters"] == {"top": 5}


def test_report_command_bad_parameter_is_one_line(tmp_path: Path) -> None:
    result = run_cli("report", "04-task-report", "--output-dir", str(tmp_path), "-p", "top", "many")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "parameter top must be int" in result.stderr
    assert "Traceback" not in result.stderr and not any(tmp_path.iterdir()), "nothing ran"
    unknown = run_cli("report", "nope", "--output-dir", str(tmp_path))
    assert unknown.returncode == 1 and "Unknown report 'nope'" in unknown.stderr


@pytest.mark.parametrize(
    ("names", "parameter", "message"),
    [
        (["04-task-report"], ("top", "-5"), "parameter top must be from 1 to 1,000, not -5"),
        (["04-task-report"], ("top", "0"), "parameter top must be from 1 to 1,000, not 0"),
        (["05-explorer"], ("page_size", "0"), "parameter page_size must be from 1 to 1,000, not 0"),
        (["all"], ("top", "-5"), "04-task-report: parameter top must be from 1 to 1,000"),
        (["all"], ("colour", "red"), "unknown parameter colour: none of 01-schema"),
    ],
)
def test_report_command_refuses_a_bad_parameter_before_any_work(
    names: list[str], parameter: tuple[str, str], message: str, tmp_path: Path
) -> None:
    """No kernel starts, no database is read, nothing is written: one line at once."""
    database = tmp_path / "todo.db"
    migrations.upgrade(f"sqlite:///{database}")
    out = tmp_path / "out"
    result = run_cli("report", *names, "--database-url", f"sqlite:///{database}", "--output-dir", str(out), "-p", *parameter)
    assert result.returncode == 1
    assert result.stderr.startswith("todo-data: error: ") and result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir()), "nothing ran: no executed notebook, no HTML"


def test_report_command_gives_each_report_its_own_parameters(make_database, tmp_path: Path) -> None:
    """`-p top 3` with two reports: the task report gets it, the schema report (which has no top) runs without it."""
    url = make_database("sqlite")  # one backend: this is about parameters, not the database
    migrations.upgrade(url)
    load_sample(url, users=5, tasks=40, seed=3)
    result = run_cli(
        "report", "01-schema", "04-task-report", "--database-url", url_text(url), "--output-dir", str(tmp_path), "-p", "top", "3"
    )
    assert result.returncode == 0, result.stderr
    given = {
        name: json.loads((tmp_path / f"{name}.ipynb").read_text())["metadata"]["papermill"]["parameters"]
        for name in ("01-schema", "04-task-report")
    }
    assert given == {"01-schema": {}, "04-task-report": {"top": 3}}


def test_explorer_report_filters_on_a_legacy_priority(make_database, tmp_path: Path) -> None:
    """`-p priority urgent` on a database that holds 'urgent': the report runs and its page shows those tasks only."""
    url = make_database("sqlite")
    migrations.upgrade(url)
    load_sample(url, users=5, tasks=60, seed=4, anomalies=True)  # plants 'urgent', 'HIGH', 'Low' and ''
    result = run_cli("report", "05-explorer", "--database-url", url_text(url), "--output-dir", str(tmp_path), "-p", "priority", "urgent")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "05-explorer.html").read_text()
    assert "Tasks 1 to 1 of 1, newest first." in html and ">urgent</td>" in html


def test_text_parameters_keep_their_text_from_the_command_line() -> None:
    """`-p text 2024` searches for "2024" and `-p user_id 007` keeps its zeros; numbers stay numbers elsewhere."""
    pairs = [("text", "2024"), ("user_id", "007"), ("page_size", "5"), ("priority", "None")]
    assert reports.cli_values(["05-explorer"], pairs) == {"text": "2024", "user_id": "007", "page_size": 5, "priority": None}
    assert reports.cli_values(["all"], [("top", "5")]) == {"top": 5}


def test_explorer_report_searches_for_digits(make_database, tmp_path: Path) -> None:
    """`todo-data report 05-explorer -p text 2024` runs (it was refused: "parameter text must be Optional[str], not 2024")."""
    url = make_database("sqlite")
    migrations.upgrade(url)
    load_sample(url, users=3, tasks=20, seed=5)
    result = run_cli("report", "05-explorer", "--database-url", url_text(url), "--output-dir", str(tmp_path), "-p", "text", "2024")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "05-explorer.html").exists()


def test_report_command_names_the_failing_cell(make_database, tmp_path: Path) -> None:
    """A database without the tables: the notebook stops at its first query; one line says where and why."""
    url = make_database("sqlite")
    migrations.upgrade(url, "001")  # the tables exist, task_relationships does not: the task report fails
    result = run_cli("report", "04-task-report", "--database-url", url_text(url), "--output-dir", str(tmp_path))
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "\n" not in line and "04-task-report failed in cell" in line and "todo-data db upgrade" in line
    assert (tmp_path / "04-task-report.ipynb").exists(), "the executed notebook is kept to read the error"


def test_no_password_in_anything_a_report_writes(make_database, tmp_path: Path) -> None:
    """PostgreSQL here trusts local connections, so any password works; it must appear in no byte written."""
    url = make_database("postgresql").set(password=SECRET)
    migrations.upgrade(url)
    load_sample(url, users=5, tasks=50, seed=2)
    ok = run_cli("report", "01-schema", "03-index-usage", "--database-url", url_text(url), "--output-dir", str(tmp_path / "ok"))
    assert ok.returncode == 0, ok.stderr
    failing = run_cli(
        "report",
        "04-task-report",
        "-p",
        "database_url",
        url_text(url.set(database="todo_data_no_such_db")),
        "--output-dir",
        str(tmp_path / "bad"),
    )
    assert failing.returncode == 1
    for output in (ok.stdout, ok.stderr, failing.stdout, failing.stderr):
        assert SECRET not in output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 5
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path


def test_nbval_runs_every_notebook_in_lax_mode(sampled_url: URL) -> None:
    """nbval executes the committed notebooks top to bottom, as JupyterLab's Run All would, against DATABASE_URL."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "notebooks"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST")} | {"DATABASE_URL": url_text(sampled_url)},
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", result.stdout) and " failed" not in result.stdout


def test_a_missing_sqlite_file_stops_a_report_before_any_work(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "todo.db"
    with pytest.raises(ConfigurationError, match="does not exist: run `todo-data db upgrade`"):
        reports.check_parameters("04-task-report", database_url=f"sqlite:///{missing}")
    assert not missing.parent.exists(), "reading never creates the file or its folder"
    assert reports.check_parameters("02-migrations", database_url=f"sqlite:///{missing}", apply=True)["apply"] is True


def test_reports_database_url_is_read_between_the_given_url_and_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """--database-url (or -p database_url) wins; else REPORTS_DATABASE_URL; else DATABASE_URL, which apply=True always takes."""
    given, replica, primary = "sqlite:////given.db", "sqlite:////replica.db", "sqlite:////primary.db"
    monkeypatch.setenv("DATABASE_URL", primary)
    assert reports.reports_database_url(None, apply=False) is None  # unset: the report reads DATABASE_URL
    monkeypatch.setenv("REPORTS_DATABASE_URL", " ")
    assert reports.reports_database_url(None, apply=False) is None  # empty counts as unset
    monkeypatch.setenv("REPORTS_DATABASE_URL", replica)
    assert reports.reports_database_url(None, apply=False) == replica
    assert reports.reports_database_url(given, apply=False) == given
    assert reports.reports_database_url(None, apply=True) is None  # applying migrations writes: the primary
    assert reports.reports_database_url(given, apply=True) == given


def test_report_command_reads_reports_database_url(make_database, tmp_path: Path) -> None:
    """A report run with both settings reads REPORTS_DATABASE_URL: a missing replica file stops it, named, before any work."""
    primary = make_database("sqlite")
    migrations.upgrade(primary)
    replica = tmp_path / "replica.db"
    result = run_cli(
        "report", "04-task-report", "--output-dir", str(tmp_path / "out"),
        env={"DATABASE_URL": url_text(primary), "REPORTS_DATABASE_URL": f"sqlite:///{replica}"},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"todo-data: error: 04-task-report: SQLite database {replica} does not exist: "
        "run `todo-data db upgrade` (or `make demo`), or name another database (--database-url, REPORTS_DATABASE_URL or DATABASE_URL)."
    )
    assert not replica.exists() and not (tmp_path / "out" / "04-task-report.ipynb").exists()


def test_a_kernel_in_notebooks_reads_the_projects_embedded_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """JupyterLab starts kernels in notebooks/; the default is still the project's ./data/todo.db, not notebooks/data/."""
    monkeypatch.chdir(ROOT / "notebooks")
    embedded = ROOT / "data" / "todo.db"
    if embedded.exists():
        assert reports.check_parameters("01-schema", database_url=None)["database_url"] == f"sqlite:///{embedded}"
    else:
        with pytest.raises(ConfigurationError, match=re.escape(str(embedded))):
            reports.check_parameters("01-schema", database_url=None)


def test_plain_papermill_applies_migrations_with_parameters(make_database, tmp_path: Path) -> None:
    """`papermill notebooks/02-migrations.ipynb out.ipynb -p database_url URL -p apply True` works without todo-data."""
    url = make_database("sqlite")
    migrations.upgrade(url, "003")
    out = tmp_path / "out.ipynb"
    notebook = str(ROOT / "notebooks" / "02-migrations.ipynb")
    parameters = ["-p", "database_url", url_text(url), "-p", "apply", "True"]
    result = subprocess.run(
        [str(BIN / "papermill"), notebook, str(out), *parameters, "--cwd", str(ROOT / "notebooks"), "--no-progress-bar"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert migrations.current(url) == (migrations.head(),)
    assert "Upgraded from 003 to 004" in out.read_text()
