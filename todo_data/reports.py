"""Notebook reports: parameters checked before any database work, papermill runs, self-contained HTML.

The notebooks under ``notebooks/`` stay thin; this module is what they and ``todo-data report`` share:
the run header, parameter validation, and turning an executed notebook into one HTML file that opens
offline (no CDN script or font: the Mermaid drawing code and the figures are inside the file).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import tarfile
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.engine import URL

from todo_data import chain, migrations
from todo_data.backends import backend_for
from todo_data.db import get_engine, resolve_url
from todo_data.errors import ConfigurationError, TodoDataError
from todo_data.resources import shipped_path
from todo_data.settings import DEFAULT_SQLITE_PATH, backend_of, get_settings, mask_text, mask_url

if TYPE_CHECKING:
    import nbformat

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"

MERMAID_VERSION = "11.12.0"
MERMAID_TARBALL = f"https://registry.npmjs.org/mermaid/-/mermaid-{MERMAID_VERSION}.tgz"
MERMAID_INTEGRITY = "sha512-ZudVx73BwrMJfCFmSSJT84y6u5brEoV8DOItdHomNLz32uBjNrelm7mg95X7g+C6UoQH/W6mBLGDEDv73JdxBg=="


class ReportFailed(TodoDataError):
    """A notebook stopped with an error; the message names the cell and the error in one line."""


def notebooks_dir() -> Path:
    """Where the numbered notebooks live: ``TODO_DATA_NOTEBOOKS``, else the installed package's or the checkout's ``notebooks/``."""
    return Path(os.environ.get("TODO_DATA_NOTEBOOKS") or shipped_path("notebooks"))


def report_names() -> list[str]:
    """The numbered notebooks, in order (``01-schema`` …)."""
    return sorted(path.stem for path in notebooks_dir().glob("[0-9][0-9]-*.ipynb"))


def notebook_path(name: str) -> Path:
    """The notebook for a report name; accepts ``04-task-report``, ``04`` or ``task-report``."""
    names = report_names()
    matches = [n for n in names if name in (n, n[:2], n[3:], f"{n}.ipynb")]
    if len(matches) != 1:
        raise ConfigurationError(f"Unknown report {name!r}: choose one of {', '.join(names)} or 'all'.")
    return notebooks_dir() / f"{matches[0]}.ipynb"


# --- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One entry of a notebook's cell tagged ``parameters``."""

    name: str
    type_name: str
    default: str
    help: str


_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "Optional[str]": str | None,
    "Optional[int]": int | None,
    "Optional[bool]": bool | None,
    "Optional[date]": date | None,
}


# papermill's PythonTranslator.PARAMETER_PATTERN: a notebook's kernel checks its parameters (check_parameters) without
# importing papermill and nbformat, about 35 MiB of its peak memory (docs/benchmarks.md); a test holds this reading to
# papermill.inspect_notebook's for every notebook.
_PARAMETER = re.compile(
    r"^(?P<target>\w[\w_]*)\s*(:\s*[\"']?(?P<annotation>\w[\w_\[\],\s]*)[\"']?\s*)?=\s*(?P<value>.*?)"
    r"(\s*#\s*(type:\s*(?P<type_comment>[^\s]*)\s*)?(?P<help>.*))?$"
)


def parameters(name: str) -> dict[str, Parameter]:
    """The parameters a notebook declares, as papermill reads them (``name = default  # type: T  # help``).

    Read from the notebook's first cell tagged ``parameters`` line by line, one assignment a line, as
    ``papermill.inspect_notebook`` reads a Python notebook (a value spread over lines is not supported here).
    """
    cells = json.loads(notebook_path(name).read_text(encoding="utf-8")).get("cells", [])
    tagged = next((cell for cell in cells if "parameters" in cell.get("metadata", {}).get("tags", [])), None)
    if tagged is None:
        return {}
    source = tagged["source"] if isinstance(tagged["source"], str) else "".join(tagged["source"])
    found: dict[str, Parameter] = {}
    for line in source.splitlines():
        if not line.strip() or line.strip().startswith("#") or line.count("=") != 1:
            continue
        match = _PARAMETER.match(line.strip())
        if match is None:
            continue
        type_name = str(match["annotation"] or match["type_comment"] or None).strip()
        target = match["target"].strip()
        found[target] = Parameter(target, type_name, str(match["value"]).strip(), str(match["help"] or "").strip())
    return found


@dataclass(frozen=True)
class Constraint:
    """What a parameter accepts beyond its type; ``says`` completes "parameter X must be …" in its error line.

    ``None`` always passes here: whether a parameter may be None is its type's business (``Optional[...]``).
    """

    says: str
    minimum: int | None = None
    maximum: int | None = None
    choices: Callable[[], Collection[str]] | None = None
    test: Callable[[Any], bool] | None = None

    def allows(self, value: Any) -> bool:
        if value is None:
            return True
        if self.minimum is not None and value < self.minimum:
            return False
        if self.maximum is not None and value > self.maximum:
            return False
        if self.choices is not None and value not in self.choices():
            return False
        return self.test is None or self.test(value)


def _revisions() -> list[str]:
    return ["head", *(info.revision for info in migrations.history())]


ANY_TEXT = Constraint("any text, or None")
# Every parameter of every notebook, by name (a name means the same in each notebook that has it); a test checks
# that each notebook parameter is here, so a new one cannot go unchecked.
CONSTRAINTS: dict[str, Constraint] = {
    "database_url": Constraint("a SQLAlchemy URL, or None"),  # parsed, and an SQLite file looked for, by _report_database
    "apply": Constraint("True or False"),
    "target": Constraint("head or a revision of this project (see `todo-data db history`)", choices=_revisions),
    "trace": Constraint("True or False"),
    "sample_tasks": Constraint("from 0 to 1,000,000", minimum=0, maximum=1_000_000),
    "user_id": Constraint("a user's id, or None", test=lambda value: bool(value.strip())),
    "top": Constraint("from 1 to 1,000", minimum=1, maximum=1_000),
    "weeks": Constraint("from 1 to 1,000", minimum=1, maximum=1_000),
    "completed": Constraint("True, False or None"),
    # Any text: databases hold legacy priorities ('urgent', '', 'HIGH') beside low/medium/high, and the explorer
    # filters on what a database holds; a value no task has matches nothing, which the report says.
    "priority": ANY_TEXT,
    "created_from": Constraint("a date (YYYY-MM-DD), or None"),
    "created_to": Constraint("a date (YYYY-MM-DD), or None"),
    "text": ANY_TEXT,
    "page_size": Constraint("from 1 to 1,000", minimum=1, maximum=1_000),
    "save_as": Constraint(
        "a file name ending in .parquet or .csv (e.g. open-tasks.parquet), or None",
        test=lambda value: Path(value).suffix.lower() in (".parquet", ".csv") and bool(Path(value).stem),
    ),
}


def check_parameters(name: str, **values: Any) -> dict[str, Any]:
    """Validate a notebook's parameters before it touches a database; a bad value is a one-line ConfigurationError.

    Types come from the notebook's own parameters cell, so the notebook stays the one place they are declared;
    ranges and choices come from :data:`CONSTRAINTS`.
    """
    declared = parameters(name)
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ConfigurationError(f"{name}: unknown parameter {', '.join(unknown)}; it takes {', '.join(declared)}.")
    checked: dict[str, Any] = {}
    for key, value in values.items():
        kind = _TYPES.get(declared[key].type_name)
        if kind is None:
            checked[key] = value
            continue
        try:
            checked[key] = TypeAdapter(kind).validate_python(value, strict=isinstance(value, bool) or kind in (bool, bool | None))
        except ValidationError:
            shown = mask_text(repr(value), *_url_secrets(value))
            raise ConfigurationError(
                f"{name}: parameter {key} must be {declared[key].type_name}, not {shown} ({type(value).__name__})."
            ) from None
        constraint = CONSTRAINTS.get(key)
        if constraint is not None and not constraint.allows(checked[key]):
            raise ConfigurationError(f"{name}: parameter {key} must be {constraint.says}, not {checked[key]!r}.")
    first, last = checked.get("created_from"), checked.get("created_to")
    if first is not None and last is not None and first > last:
        raise ConfigurationError(f"{name}: created_from ({first}) is after created_to ({last}); swap them.")
    if "database_url" in values:
        checked["database_url"] = _report_database(name, checked.get("database_url"), apply=bool(checked.get("apply")))
    return checked


def parameters_for(names: list[str], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each report's share of ``values`` (the parameters it declares), checked; a value no report declares is refused.

    So ``report all -p top 5`` gives ``top`` to the task report alone, and every value is checked before any report runs.
    """
    declared = {name: parameters(name) for name in names}
    known = list(dict.fromkeys(key for keys in declared.values() for key in keys))
    unknown = sorted(set(values) - set(known))
    if unknown and len(names) == 1:
        raise ConfigurationError(f"{names[0]}: unknown parameter {', '.join(unknown)}; it takes {', '.join(known)}.")
    if unknown:
        takes = ", ".join(sorted(known))
        raise ConfigurationError(f"unknown parameter {', '.join(unknown)}: none of {', '.join(names)} takes it; they take {takes}.")
    shares = {name: {key: value for key, value in values.items() if key in keys} for name, keys in declared.items()}
    for name, share in shares.items():
        check_parameters(name, **{key: value for key, value in share.items() if key != "database_url"})
    return shares


def reports_database_url(database_url: str | None, *, apply: bool) -> str | None:
    """The URL a report run was given, else REPORTS_DATABASE_URL (a replica for reads), else None (DATABASE_URL).

    A run that applies migrations (``02-migrations`` with ``apply=True``) writes, so it never takes the reports' URL.
    """
    configured = get_settings().reports_database_url
    if database_url is not None or apply or configured is None or not configured.get_secret_value().strip():
        return database_url
    return configured.get_secret_value()


def notebook_database(database_url: str | None) -> str | None:
    """The URL a notebook means: the given one, else DATABASE_URL's; in ``notebooks/`` the project's embedded file.

    JupyterLab (``make lab``) starts a notebook's kernel in ``notebooks/``; with no URL and no DATABASE_URL it reads
    the project's ``./data/todo.db`` (where ``make demo`` puts it), not ``notebooks/data/todo.db``.
    """
    if database_url is None and not get_settings().database_url and Path.cwd().resolve() == notebooks_dir().resolve():
        return f"sqlite:///{PROJECT_ROOT / DEFAULT_SQLITE_PATH}"
    return database_url


def _report_database(name: str, database_url: str | None, *, apply: bool) -> str | None:
    """The database a report reads (see :func:`notebook_database`), checked before any work: a malformed URL or a missing SQLite file stops it."""
    database_url = notebook_database(database_url)
    url = resolve_url(database_url)  # a malformed URL fails here
    if backend_for(url).missing_file(url) and not apply:
        raise ConfigurationError(
            f"{name}: SQLite database {url.database} does not exist: run `todo-data db upgrade` (or `make demo`), "
            "or name another database (--database-url, REPORTS_DATABASE_URL or DATABASE_URL)."
        )
    return database_url


def _url_secrets(value: Any) -> list[str]:
    if isinstance(value, URL):
        return [str(value.password)] if value.password else []
    with contextlib.suppress(Exception):
        password = resolve_url(str(value)).password
        return [password] if password else []
    return []


TEXT_TYPES = ("str", "Optional[str]")


def cli_values(names: list[str], pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``-p KEY VALUE`` pairs for the named reports, each read by the type its notebooks declare.

    A text parameter keeps its text (``-p text 2024`` searches for "2024", ``-p user_id 007`` keeps its zeros);
    the rest are read as papermill's command line reads them.
    """
    stems = report_names() if names == ["all"] else [notebook_path(name).stem for name in names]
    declared = {key: parameter.type_name for name in stems for key, parameter in parameters(name).items()}
    values: dict[str, Any] = {}
    for key, text in pairs:
        if key in values:
            raise ConfigurationError(f"parameter {key} is given twice")
        values[key] = coerce_cli_value(text, declared.get(key))
    return values


def coerce_cli_value(text: str, type_name: str | None = None) -> Any:
    """A ``-p KEY VALUE`` string as papermill's command line reads it: None, True/False, int, float or text.

    Given the parameter's declared type, a text parameter stays text (None still spells None for ``Optional[str]``).
    """
    if text in ("None", "none", "null"):
        return None
    if type_name in TEXT_TYPES:
        return text
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(text)
    return text


# --- what every report shows first -----------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    """Which database a report read (password masked), its revision, and when."""

    title: str
    database: str
    backend: str
    revision: str
    head: str
    generated_at: datetime
    note: str | None = None  # why the revision is unknown (the role may not read alembic_version)

    def markdown(self) -> str:
        at_head = "at head" if self.revision == self.head else f"head is {self.head}"
        text = (
            f"**Database** `{self.database}` ({self.backend}) · **revision** {self.revision} ({at_head}) · "
            f"**generated** {self.generated_at:%Y-%m-%d %H:%M:%S} UTC"
        )
        return f"{text}\n\n> {self.note}" if self.note else text


def run_info(title: str, database_url: str | URL | None = None) -> RunInfo:
    """The run header of a report; reads only the revision table (a role that may not: revision unknown, with a note)."""
    url = resolve_url(database_url)
    with get_engine(url, read_only=True).connect() as connection:
        note = backend_for(url).missing_select(connection, chain.VERSION_TABLE, "the revision this database is at is unknown")
    state = None if note else migrations.status(url)
    return RunInfo(
        title=title,
        database=mask_url(url),
        backend=backend_of(url),
        revision="unknown" if state is None else ", ".join(state.current) or "none",
        head=chain.head() if state is None else state.head,
        generated_at=datetime.now(UTC),
        note=note,
    )


def setup_notebook(*, grid: bool = True) -> None:
    """Short errors (one line, no traceback) and readable tables (:mod:`todo_data.display`) in a notebook; a no-op outside IPython.

    ``grid``: put the grid's code into this cell's output (offline, about 1 MB), so long tables sort and search.
    """
    import pandas as pd

    from todo_data import display

    pd.set_option("display.max_rows", 60)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.max_colwidth", 120)
    display.use_for_dataframes()
    if grid:
        display.use_grid()
    with contextlib.suppress(ImportError):
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.InteractiveTB.set_mode("Minimal")
            shell.run_line_magic("matplotlib", "inline")


# --- running notebooks -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportResult:
    """One report run: where its executed notebook and HTML went, and the one-line error if it failed."""

    name: str
    notebook: Path
    html: Path | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ReportRun:
    """Every report of one ``todo-data report`` call."""

    results: list[ReportResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)


def _ipc_kernel_manager() -> type:
    """A kernel manager on local IPC sockets in a private temporary folder: no TCP port, nothing to eavesdrop."""
    import shutil
    import tempfile

    from jupyter_client.manager import KernelManager

    class IPCKernelManager(KernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._socket_dir = tempfile.mkdtemp(prefix="todo-data-kernel-")
            self.transport = "ipc"
            self.ip = str(Path(self._socket_dir) / "kernel")

        def cleanup_resources(self, restart: bool = False) -> None:
            super().cleanup_resources(restart=restart)
            if not restart:
                shutil.rmtree(self._socket_dir, ignore_errors=True)

    return IPCKernelManager


@contextlib.contextmanager
def _kernel_database_url(database_url: str | URL | None) -> Iterator[None]:
    """Hand the URL to the kernel through DATABASE_URL, so no password is written into the executed notebook."""
    if database_url is None:
        yield
        return
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url if isinstance(database_url, str) else database_url.render_as_string(hide_password=False)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous


def run_report(
    name: str,
    *,
    output_dir: str | Path = "reports",
    parameters: Mapping[str, Any] | None = None,
    database_url: str | URL | None = None,
    show_code: bool = False,
) -> ReportResult:
    """Execute one notebook with papermill into ``DIR/NAME.ipynb`` and write ``DIR/NAME.html``.

    A ``database_url`` (argument or parameter) reaches the kernel through the environment, never as an
    injected parameter, so the executed notebook and the HTML hold no password.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = notebook_path(name)
    values = dict(parameters or {})
    database_url = values.pop("database_url", None) or database_url
    check_parameters(source.stem, **values)
    if values.get("save_as"):  # a file the caller names is in the caller's directory, not the kernel's (notebooks/)
        values["save_as"] = str(Path(values["save_as"]).resolve())
    # resolved here, in the caller's directory: the kernel runs in notebooks/, where ./data/todo.db is another file
    given = database_url if database_url is None or isinstance(database_url, str) else database_url.render_as_string(hide_password=False)
    given = reports_database_url(given, apply=bool(values.get("apply")))
    database_url = resolve_url(_report_database(source.stem, given, apply=bool(values.get("apply"))))
    secrets = [str(database_url.password)] if database_url.password else []
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    executed = out / f"{source.stem}.ipynb"
    html = out / f"{source.stem}.html"
    error: str | None = None
    with _kernel_database_url(database_url):
        try:
            papermill.execute_notebook(
                str(source),
                str(executed),
                parameters=values,
                cwd=str(source.parent),
                progress_bar=False,
                log_output=False,
                report_mode=False,
                kernel_manager_class=_ipc_kernel_manager(),
            )
        except PapermillExecutionError as exc:
            evalue = str(exc.evalue).strip().splitlines()[0] if str(exc.evalue).strip() else ""
            error = f"{source.stem} failed in cell {exc.exec_count}: {exc.ename}: {evalue}"
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            error = f"{source.stem} could not run: {type(exc).__name__}: {first}"
    if executed.exists():
        scrub_notebook(executed, secrets)
        write_html(executed, html, show_code=show_code)
    return ReportResult(
        name=source.stem,
        notebook=executed,
        html=html if html.exists() else None,
        error=mask_text(error, *secrets) if error else None,
    )


def run_reports(
    names: list[str],
    *,
    output_dir: str | Path = "reports",
    parameters: Mapping[str, Any] | None = None,
    database_url: str | URL | None = None,
    show_code: bool = False,
) -> ReportRun:
    """Run several reports (``all`` expands to every numbered notebook); each is attempted even when one fails.

    Each report gets the parameters it declares; all of them are checked before the first report starts.
    """
    stems = report_names() if names == ["all"] else [notebook_path(name).stem for name in names]
    shares = parameters_for(stems, parameters or {})
    run = ReportRun()
    for name in stems:
        run.results.append(run_report(name, output_dir=output_dir, parameters=shares[name], database_url=database_url, show_code=show_code))
    return run


def scrub_notebook(path: Path, secrets: list[str]) -> None:
    """Mask any password that reached an executed notebook (an error text, say), in outputs and metadata alike."""
    if not secrets:
        return
    text = path.read_text()
    cleaned = mask_text(text, *secrets)
    if cleaned != text:
        path.write_text(cleaned)


# --- HTML ------------------------------------------------------------------------------------


def mermaid_js() -> str | None:
    """Mermaid's browser bundle, fetched once from the npm registry (integrity checked) and cached; None offline.

    ``TODO_DATA_MERMAID_JS`` points at a local copy instead (for machines without the registry).
    """
    override = os.environ.get("TODO_DATA_MERMAID_JS")
    if override:
        return Path(override).read_text()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "todo-data" / f"mermaid-{MERMAID_VERSION}.min.js"
    if cache.exists():
        return cache.read_text()
    try:
        with urllib.request.urlopen(MERMAID_TARBALL, timeout=60) as response:
            payload = response.read()
    except OSError:
        return None
    algorithm, _, expected = MERMAID_INTEGRITY.partition("-")
    if base64.b64encode(hashlib.new(algorithm, payload).digest()).decode() != expected:
        raise ConfigurationError(f"mermaid {MERMAID_VERSION} from the npm registry failed its integrity check; not using it.")
    with tarfile.open(fileobj=io.BytesIO(payload)) as archive:
        member = archive.extractfile("package/dist/mermaid.min.js")
        assert member is not None
        script = member.read().decode()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(script)
    return script


def _has_mermaid(notebook: nbformat.NotebookNode) -> bool:
    return any("text/vnd.mermaid" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", []))


def _drop_widget_views(notebook: nbformat.NotebookNode) -> None:
    """Interactive widgets need a live kernel; the HTML keeps the static outputs beside them."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                continue
            kept.append(output)
        if "outputs" in cell:
            cell.outputs = kept


def write_html(notebook_file: Path, html_file: Path, *, show_code: bool = False) -> Path:
    """One self-contained HTML file: code hidden unless asked, figures inline, Mermaid drawn by an inline script."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(notebook_file, as_version=4)
    _drop_widget_views(notebook)
    notebook.metadata["title"] = _title(notebook) or html_file.stem
    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    exporter.log.setLevel(logging.ERROR)  # its alt-text notice is about matplotlib figures, which carry a heading instead
    resources: dict[str, Any] = {"todo_mermaid_js": None}
    if _has_mermaid(notebook):
        script = mermaid_js()
        resources["todo_mermaid_js"] = script.replace("</script", "<\\/script") if script else None
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    html_file.write_text(_with_contents(body))
    return html_file


_HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)<a class="anchor-link" href="#[^"]*">', re.S)


def _title(notebook: nbformat.NotebookNode) -> str | None:
    """The notebook's first Markdown heading, for the page's title."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def _with_contents(body: str) -> str:
    """A table of contents before the first section: sections numbered 1, 2, 3 …, each one's sub-headings nested
    under it (2.1, 2.2 …). A heading whose anchor repeats an earlier one's (a revision named under two sections)
    gets an anchor of its own, so every entry leads to its own heading.
    """
    if len(_HEADING.findall(body)) < 2:
        return body
    sections: list[tuple[str, str, list[tuple[str, str]]]] = []
    seen: dict[str, int] = {}

    def entry(match: re.Match[str]) -> str:
        level, anchor, text = match.groups()
        seen[anchor] = seen.get(anchor, 0) + 1
        if seen[anchor] > 1:
            anchor = f"{anchor}-{seen[anchor]}"
        label = re.sub(r"<[^>]+>", "", text).strip()
        if level == "2" or not sections:
            sections.append((anchor, label, []))
        else:
            sections[-1][2].append((anchor, label))
        return f'<h{level} id="{anchor}">{text}<a class="anchor-link" href="#{anchor}">'

    body = _HEADING.sub(entry, body)

    def link(number: str, anchor: str, label: str) -> str:
        return f'<a href="#{anchor}"><span class="todo-toc-number">{number}</span> {label}</a>'

    items = []
    for number, (anchor, label, subsections) in enumerate(sections, start=1):
        nested = "".join(f"<li>{link(f'{number}.{sub}', a, t)}</li>" for sub, (a, t) in enumerate(subsections, start=1))
        items.append(f"<li>{link(str(number), anchor, label)}{f'<ol>{nested}</ol>' if nested else ''}</li>")
    nav = f'<nav class="todo-toc" aria-label="Contents"><p class="todo-toc-title">Contents</p><ol>{"".join(items)}</ol></nav>\n'
    first = _HEADING.search(body)
    assert first is not None
    cell_start = body.rfind('<div class="jp-Cell ', 0, first.start())
    at = cell_start if cell_start >= 0 else first.start()
    return body[:at] + nav + body[at:]
