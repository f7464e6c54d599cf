"""One migration at a time: concurrent runs serialise on the database's migration lock."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.engine import URL

from todo_data import migrations
from todo_data.db import build_engine

ROOT = Path(__file__).resolve().parent.parent


def _command(*args: str) -> list[str]:
    return [shutil.which("todo-data") or str(Path(sys.executable).parent / "todo-data"), *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


# Each run imports everything first, then waits for the go file: the six start within milliseconds.
STARTER = """
import os, sys, time
go, tool = sys.argv[1], sys.argv[2]
if tool == "alembic":
    from alembic.config import main
else:
    from todo_data.cli import main
while not os.path.exists(go):
    time.sleep(0.005)
sys.exit(main(sys.argv[3:]))
"""


def test_six_concurrent_upgrades_all_succeed(database_url: URL, tmp_path: Path) -> None:
    url = database_url.render_as_string(hide_password=False)
    go = tmp_path / "go"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, str(go), *(("todo-data", "db", "upgrade") if i % 2 else ("alembic", "upgrade", "head"))],
            cwd=ROOT,
            env={**_env(), "DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    time.sleep(3)  # let every process finish importing
    go.touch()
    outputs = [run.communicate(timeout=180) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stdout + stderr
    assert migrations.current(database_url) == (migrations.head(),)
    assert migrations.check(database_url) == []
    applied = sum(err.count("Running upgrade 003 -> 004") for _out, err in outputs)
    assert applied == 1, "exactly one run applied the chain; the others found nothing to do"


def test_a_second_run_waits_and_says_so(database_url: URL) -> None:
    migrations.upgrade(database_url, "001")
    engine = build_engine(database_url, for_migrations=True)
    lines: queue.Queue[str] = queue.Queue()
    with engine.connect() as connection, migrations.migration_lock(connection, database_url):
        run = subprocess.Popen(
            _command("db", "upgrade", "--database-url", database_url.render_as_string(hide_password=False)),
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert run.stderr is not None
        threading.Thread(target=lambda: [lines.put(line) for line in run.stderr], daemon=True).start()  # type: ignore[union-attr]
        first = lines.get(timeout=60)
        assert "Another migration is running" in first and "waiting" in first
        assert run.poll() is None
        assert migrations.current(database_url) == ("001",)  # nothing ran while the lock was held
    stdout, _ = run.communicate(timeout=120)
    engine.dispose()
    assert run.returncode == 0
    assert "revision: 001 -> 004" in stdout
