"""Browser tests: the notebooks in a real JupyterLab and the HTML reports, in Debian's Chromium via Playwright.

Chromium is the system's (``/usr/bin/chromium``, or ``TODO_DATA_CHROMIUM``); Playwright never downloads a
browser. Where Chromium or Playwright is missing these tests skip with the reason, unless
``TODO_DATA_REQUIRE_SERVERS=1`` (CI), where they fail. Every test saves screenshots into a temporary
folder and a failure names the file; with ``TODO_DATA_SCREENSHOTS=DIR`` (``make screenshots``) the
README's screenshots are written there as well.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import REQUIRE_SERVERS, create_pg_database, drop_pg_database  # tests/conftest.py
from sqlalchemy.engine import URL, make_url

from todo_data import dispose_engines

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
CHROMIUM = Path(os.environ.get("TODO_DATA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 900}
LAB_SETTINGS = {
    # every cell in the DOM, so a test sees each output; the notebook's own kernel starts without a question
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TODO_DATA_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, with no background traffic; Playwright drives it and downloads nothing.

    Per module: Playwright's synchronous API keeps an event loop running until it stops, and the async tests
    elsewhere in the suite need the main thread without one.
    """
    problem = _unavailable()
    if problem:
        if REQUIRE_SERVERS:
            pytest.fail(f"TODO_DATA_REQUIRE_SERVERS=1 but {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every screenshot goes (a temporary folder; failures name the file)."""
    return tmp_path_factory.mktemp("screenshots")


@dataclass
class Watched:
    """A page and what it did: console errors, uncaught exceptions, and requests that left this machine."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"page error: {text}" for text in self.page_errors]
            + [f"network request: {url}" for url in self.external_requests]
        )


LOCAL = ("file:", "data:", "blob:", "about:", "chrome-error:", "http://127.0.0.1:", "ws://127.0.0.1:")
# matched inside Playwright's driver, so local requests never wait for this (synchronous) Python thread
EXTERNAL = re.compile("^(?!" + "|".join(re.escape(prefix) for prefix in LOCAL) + ")")


def _local(url: str) -> bool:
    return url.startswith(LOCAL)


@pytest.fixture
def watched(browser: Any, request: pytest.FixtureRequest, shots: Path) -> Iterator[Watched]:
    """A fresh page (its own context) whose console, errors and requests are recorded; no request leaves the machine."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    watch = Watched(page)
    page.on("console", lambda message: message.type == "error" and watch.console_errors.append(message.text))
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    page.on("request", lambda req: None if _local(req.url) else watch.external_requests.append(req.url))
    context.route(EXTERNAL, lambda route: route.abort())
    request.node.todo_page = (page, shots)
    yield watch
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and hasattr(item, "todo_page"):
        page, folder = item.todo_page
        path = folder / f"{item.name.replace('/', '_')}-failure.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=str(path))
            report.sections.append(("screenshot", f"the page at the failure: {path}"))


@pytest.fixture
def screenshot(shots: Path) -> Any:
    """``screenshot(page, name)``: into the temporary folder, and a small copy (128 colours) into ``TODO_DATA_SCREENSHOTS`` when set."""

    def take(page: Any, name: str) -> Path:
        path = shots / f"{name}.png"
        page.screenshot(path=str(path))
        readme_dir = os.environ.get("TODO_DATA_SCREENSHOTS")
        if readme_dir:
            from PIL import Image

            Path(readme_dir).mkdir(parents=True, exist_ok=True)
            with Image.open(path) as image:
                image.convert("RGB").quantize(128).save(Path(readme_dir) / path.name, optimize=True)
        return path

    return take


# --- a sampled database, and JupyterLab serving a copy of the notebooks against it ---------------


@pytest.fixture(scope="session")
def sampled_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """An SQLite database at head with a few thousand sampled tasks (the embedded default, as in ``make demo``)."""
    from todo_data import load_sample
    from todo_data.migrations import upgrade

    url = make_url(f"sqlite+pysqlite:///{tmp_path_factory.mktemp('db') / 'todo.db'}")
    upgrade(url)
    load_sample(url, users=40, tasks=1500, seed=0)
    dispose_engines()
    yield url
    dispose_engines()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lab_database(request: pytest.FixtureRequest, sampled_url: URL) -> Iterator[URL]:
    """The database the notebooks in JupyterLab read: the sampled SQLite file, then a sampled PostgreSQL database."""
    if request.param == "sqlite":
        yield sampled_url
        return
    from todo_data import load_sample
    from todo_data.migrations import upgrade

    url = create_pg_database()
    try:
        upgrade(url)
        load_sample(url, users=40, tasks=1500, seed=0)
        dispose_engines()
        yield url
    finally:
        drop_pg_database(url)


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: its base URL, token and the folder it serves."""

    url: str
    token: str
    root: Path

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}?token={self.token}", timeout=10) as response:
            return json.load(response)

    def end_sessions(self) -> None:
        """Shut down every notebook session and its kernel, so the next notebook opened starts a kernel of its own."""
        for session in self.api("/api/sessions"):
            request = urllib.request.Request(f"{self.url}/api/sessions/{session['id']}?token={self.token}", method="DELETE")
            with urllib.request.urlopen(request, timeout=30):
                pass

    def notebook_url(self, name: str) -> str:
        # a workspace of its own, reset: no tab from an earlier test is restored beside it
        return f"{self.url}/lab/workspaces/{uuid.uuid4().hex[:8]}/tree/{name}.ipynb?reset&token={self.token}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_command(port: int, token: str, root: Path, settings: Path, workspaces: Path) -> list[str]:
    """JupyterLab from this environment on a local port with a token, quiet about news and updates."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


@pytest.fixture(scope="module")
def lab(browser: Any, lab_database: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab serving a copy of ``notebooks/`` (so autosave never writes outputs into the repository), kernels reading ``lab_database``."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = base / "settings"
    for name, value in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = _free_port(), uuid.uuid4().hex
    env = {**os.environ, "DATABASE_URL": lab_database.render_as_string(hide_password=False), "JUPYTER_CONFIG_DIR": str(base / "config")}
    env.pop("TODO_DATA_NOTEBOOKS", None)
    log = (base / "lab.log").open("w")
    process = subprocess.Popen(
        lab_command(port, token, root, settings, base / "workspaces"),
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Lab(f"http://127.0.0.1:{port}", token, root)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}; its log: {base / 'lab.log'}")
        with contextlib.suppress(OSError):
            server.api("/api/status")
            break
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"JupyterLab did not answer within 90 s; its log: {base / 'lab.log'}")
        time.sleep(0.5)
    yield server
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()
