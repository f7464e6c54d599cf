"""``python -m benchmarks.run --scale``: how each piece of work grows from 100k to 10M tasks, on both backends.

At each size (tasks; users = tasks / 100, as the default run's 1M / 10k) and on each backend, once each:
the load (``load_sample``), ``read_frame`` of every task, the canonical queries, ``todo-data report 04-task-report``
and ``03-index-usage``, ``todo-data db plan`` of a revision-001 database (PostgreSQL: ``--sample-tasks N`` fills the
scratch database; SQLite traces on a copy of the file with its N rows) and ``db upgrade`` of that database 001 -> head.
Time and peak memory of every step: peers report their own ``ru_maxrss`` and their largest child's; command-line
steps are watched as a process tree (``todo-data`` and its Jupyter kernel), sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.run import Workspace, _counts, _recorded, _watch, log, stop_tree

DEFAULT_SIZES = (100_000, 1_000_000, 10_000_000)
TASKS_PER_USER = 100
STEPS = ("load", "read_frame", "queries", "04-task-report", "03-index-usage", "db plan", "001 -> head")


def parse_sizes(text: str) -> list[int]:
    """``100000,1000000`` (or ``100k,1M``) -> sorted task counts; one clear error for anything else."""
    sizes = []
    for part in (item.strip().lower() for item in text.split(",") if item.strip()):
        factor = {"k": 1_000, "m": 1_000_000}.get(part[-1], 1)
        number = part[:-1] if factor > 1 else part
        try:
            value = int(float(number) * factor)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--scale-sizes: {part!r} is not a task count (e.g. 100000,1000000 or 100k,1M)") from None
        if value < 1_000:
            raise argparse.ArgumentTypeError(f"--scale-sizes: {part!r} is below 1,000 tasks")
        sizes.append(value)
    if not sizes:
        raise argparse.ArgumentTypeError("--scale-sizes: give at least one task count")
    return sorted(set(sizes))


def run_command(ws: Workspace, label: str, arguments: list[str], timeout: float | None = None) -> dict[str, Any]:
    """``todo-data ARGUMENTS`` as a user runs it: wall time, exit code, resident memory of its process tree (sum and by role).

    ``timeout``: seconds after which it is interrupted like Ctrl-C (so it drops its scratch database), then killed.
    """
    import psutil

    executable = Path(sys.executable).with_name("todo-data")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "todo_data.cli"]
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DATABASE_ECHO")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]))
    ws.peer_runs += 1
    log_file = ws.dir / f"command-{ws.peer_runs}.log"
    started = time.perf_counter()
    with open(log_file, "wb") as output:
        process = subprocess.Popen([*command, *arguments], cwd=ws.dir, env=env, stdout=output, stderr=subprocess.STDOUT)
    watched = psutil.Process(process.pid)
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        stop_tree(process.pid)

    timer = threading.Timer(timeout, interrupt) if timeout else None
    if timer:
        timer.start()
    try:
        status, usage, tree_peak, at_peak, role_peaks = _watch(process, watched)
    except BaseException:
        for child in [*watched.children(recursive=True), watched]:
            with contextlib.suppress(psutil.Error):
                child.kill()
        raise
    finally:
        if timer:
            timer.cancel()
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    result: dict[str, Any] = {
        "seconds": seconds,
        "tree_peak_rss": tree_peak,
        "at_tree_peak": at_peak,
        "process_peaks": role_peaks,
        "largest_process_rss": usage.ru_maxrss * 1024 if usage else None,
        "exit_code": code,
        "loadavg": list(os.getloadavg()),
    }
    if fired.is_set():
        result.update(error=f"not finished within {timeout:,.0f} s", timed_out=True)
    elif code != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()
        result["error"] = tail[-1] if tail else f"exit {code}"
    log(f"  {label}: {seconds:.1f} s, tree peak {tree_peak / 2**20:.0f} MiB" + (f" FAILED {result['error']}" if "error" in result else ""))
    return result


def peer_memory(result: dict[str, Any]) -> int | None:
    """A peer's peak: the larger of its own ``ru_maxrss`` and its largest child's (SQLite's load and reads may use a child)."""
    if "error" in result:
        return None
    return max(result.get("peak_rss") or 0, result.get("child_peak_rss") or 0)


def step(out: dict[str, Any], name: str, result: dict[str, Any], *, memory: int | None, seconds: float | None = None) -> None:
    """Record one step's figures at one size: time, peak memory, the load average, the raw result for the doc's notes."""
    out[name] = {
        "seconds": result.get("seconds") if seconds is None else seconds,
        "peak_rss": memory,
        "loadavg": result.get("loadavg", list(os.getloadavg())),
        "error": result.get("error"),
        "raw": {key: value for key, value in result.items() if key not in ("traceback",)},
    }


def query_summary(result: dict[str, Any]) -> dict[str, Any]:
    """Per canonical query: driver p50 (ms), rows, indexes, full scan; the slowest p50 is the step's time."""
    from todo_data.indexes import CANONICAL_QUERIES

    queries = {}
    for name in CANONICAL_QUERIES:
        found = result.get(name)
        if not found:
            continue
        queries[name] = {
            "p50_ms": statistics.median(found["driver_ns"]) / 1e6,
            "rows": found["rows"],
            "indexes": found.get("indexes", []),
            "full_scan": found.get("full_scan"),
            "execution_ms": found.get("execution_ms"),
        }
    return queries


def bench_size(ws: Workspace, backend: str, tasks: int, data_dir: str, options: argparse.Namespace, out: dict[str, Any]) -> None:
    """Every step at one size on one backend; each failure is recorded and the rest go on."""
    from todo_data import migrations
    from todo_data.db import dispose_engines

    users = max(1, tasks // TASKS_PER_USER)
    errors: dict[str, str] = out.setdefault("errors", {})
    timeout = options.scale_timeout
    template = ws.new_database(backend, f"head_{tasks}")
    migrations.upgrade(template)
    dispose_engines()
    main = ws.new_database(backend, f"main_{tasks}", template=template)
    ws.drop(template)
    ws.settle(main)
    log(f"{backend} {tasks:,}: load")
    result = ws.peer("load_sample", timeout, url=main, users=users, tasks=tasks, seed=options.seed)
    step(
        out,
        "load",
        result,
        memory=peer_memory(result),
        seconds=None if "error" in result else result["seconds"] - result["generate_seconds"],
    )
    if "error" in result:
        ws.drop(main)
        return
    if backend == "postgresql":
        ws.pg_execute("VACUUM (ANALYZE)", sa.make_url(main).database)
    out["rows"] = _counts(main)
    with _recorded(errors, "read_frame"):
        ws.peer("raw_adbc", url=main)  # warm: operating system cache and shared buffers
        result = ws.peer("read_frame", timeout, url=main)
        step(out, "read_frame", result, memory=peer_memory(result))
    with _recorded(errors, "queries"):
        result = ws.peer("queries", timeout, url=main)
        step(out, "queries", result, memory=peer_memory(result))
        if "error" not in result:
            out["queries"]["per_query"] = query_summary(result)
            out["queries"]["raw"] = {}
    for report in ("04-task-report", "03-index-usage"):
        with _recorded(errors, report):
            output_dir = ws.dir / f"{backend}-{tasks}-{report}"
            result = run_command(ws, report, ["report", report, "--database-url", main, "--output-dir", str(output_dir)], timeout)
            step(out, report, result, memory=result["tree_peak_rss"])
    ws.drop(main)
    seed = ws.new_database(backend, f"seed001_{tasks}")
    migrations.upgrade(seed, "001")
    dispose_engines()
    log(f"{backend} {tasks:,}: fill a revision-001 database (setup, not measured)")
    fill = ws.peer("fill_seed", url=seed, data_dir=data_dir)
    if "error" in fill:
        errors["001 database"] = fill["error"]
        ws.drop(seed)
        return
    if backend == "postgresql":
        ws.pg_execute("VACUUM (ANALYZE)", sa.make_url(seed).database)
    with _recorded(errors, "db plan"):
        arguments = ["db", "plan", "--database-url", seed] + (["--sample-tasks", str(tasks)] if backend == "postgresql" else [])
        result = run_command(ws, "db plan", arguments, timeout)
        step(out, "db plan", result, memory=result["tree_peak_rss"])
    with _recorded(errors, "001 -> head"):
        ws.settle(seed)
        result = ws.peer("upgrade", timeout, url=seed)
        step(out, "001 -> head", result, memory=peer_memory(result))
    ws.drop(seed)


def run_scale(ws: Workspace, options: argparse.Namespace, results: dict[str, Any], save: Callable[[], None]) -> None:
    """Every size, smallest first; the sample's Arrow files are made per size and removed after it.

    ``save`` is called after each backend at each size, so a run stopped part-way keeps what it measured.
    """
    for tasks in options.scale_sizes:
        data_dir = ws.dir / f"data-{tasks}"
        data_dir.mkdir()
        users = max(1, tasks // TASKS_PER_USER)
        log(f"{tasks:,} tasks, {users:,} users: generating the sample")
        data = ws.peer("prepare", data_dir=str(data_dir), users=users, tasks=tasks, seed=options.seed)
        if "error" in data:
            raise SystemExit(f"generating the sample failed: {data['error']}")
        size = results["sizes"].setdefault(str(tasks), {"users": users, "data": data, "backends": {}})
        for backend in options.backends:
            results["loadavg"].append({"at": f"{backend} {tasks:,}", "values": list(os.getloadavg())})
            out = size["backends"].setdefault(backend, {"errors": {}})
            with _recorded(out["errors"], "setup"):
                bench_size(ws, backend, tasks, str(data_dir), options, out)
            save()
        for path in data_dir.iterdir():
            path.unlink()
        data_dir.rmdir()
