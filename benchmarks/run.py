"""Run every benchmark of issue 5 on PostgreSQL and SQLite and write docs/benchmarks.md.

    python -m benchmarks.run                       # 1M tasks, 10k users, both backends (~7 min on 2 cores)
    python -m benchmarks.run --quick               # 50k tasks, 500 users: a try-out in a minute or two
    python -m benchmarks.run --render results.json # rewrite the doc from a saved run, measuring nothing

Each peer runs in a fresh process (benchmarks/peers.py) so peers share no memory, cache or connection.
PostgreSQL databases are made as ``todo_data_bench_<run>_<role>`` and dropped at the end, even on failure;
SQLite files live in a temporary folder that is removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PACKAGES = (
    "pandas",
    "numpy",
    "pyarrow",
    "sqlalchemy",
    "sqlmodel",
    "psycopg",
    "adbc-driver-manager",
    "adbc-driver-postgresql",
    "adbc-driver-sqlite",
    "connectorx",
    "alembic",
    "papermill",
    "nbclient",
    "ipykernel",
    "psutil",
)
PG_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "max_parallel_maintenance_workers",
    "max_parallel_workers_per_gather",
    "wal_level",
    "max_wal_size",
    "synchronous_commit",
    "fsync",
    "autovacuum",
    "jit",
)
ORM_SAMPLE_TASKS = 50_000


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- workspace: databases and files this run made, and nothing else ------------------------------------------


class Workspace(contextlib.AbstractContextManager["Workspace"]):
    """A temporary folder and the PostgreSQL databases made for one run; closing removes both."""

    def __init__(self, pg_url: str | None) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        self.dir = Path(tempfile.mkdtemp(prefix=f"todo_data_bench_{self.run_id}_"))
        self.pg_admin = sa.make_url(pg_url) if pg_url else None
        self.pg_databases: list[str] = []
        self.peer_runs = 0

    def __exit__(self, *_exc: object) -> None:
        for name in reversed(self.pg_databases):
            with contextlib.suppress(Exception):
                self.pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)

    # PostgreSQL through psycopg on the admin URL, autocommit (CREATE/DROP DATABASE, CHECKPOINT).
    def pg_execute(self, statement: str, database: str | None = None) -> list[tuple[Any, ...]]:
        import psycopg

        assert self.pg_admin is not None
        url = self.pg_admin.set(database=database) if database else self.pg_admin
        with psycopg.connect(_libpq(url), autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def new_database(self, backend: str, role: str, template: str | None = None) -> str:
        """A new database (from ``template``, a URL this run made, if given); its URL."""
        if backend == "postgresql":
            assert self.pg_admin is not None
            name = f"todo_data_bench_{self.run_id}_{role}"
            copy = f' TEMPLATE "{sa.make_url(template).database}" STRATEGY FILE_COPY' if template else ""
            self.pg_databases.append(name)
            self.pg_execute(f'CREATE DATABASE "{name}"{copy}')
            return self.pg_admin.set(database=name).render_as_string(hide_password=False)
        path = self.dir / f"{role}.db"
        if template:
            source = Path(str(sa.make_url(template).database))
            for suffix in ("", "-wal"):
                if Path(f"{source}{suffix}").exists():
                    shutil.copyfile(f"{source}{suffix}", f"{path}{suffix}")
        return f"sqlite+pysqlite:///{path}"

    def drop(self, url: str) -> None:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "postgresql":
            assert parsed.database and parsed.database.startswith(f"todo_data_bench_{self.run_id}_")
            self.pg_execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)

    def settle(self, url: str) -> None:
        """Before a timed write: PostgreSQL checkpoints, so no checkpoint of earlier work lands inside the measurement."""
        if url.startswith("postgresql"):
            self.pg_execute("CHECKPOINT")

    def peer(self, peer: str, timeout: float | None = None, **args: Any) -> dict[str, Any]:
        """Run one peer in a fresh process; its result, with the wall time of the whole process and the load average.

        ``timeout``: seconds after which the peer is interrupted (then killed with its children) and recorded as unfinished.
        """
        self.peer_runs += 1
        out = self.dir / f"peer-{self.peer_runs}.json"
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DATABASE_ECHO")}
        command = [sys.executable, "-m", "benchmarks.peers", json.dumps({"peer": peer, "args": args}), str(out)]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_tree(process.pid)
            stdout, stderr = process.communicate()
            out.unlink(missing_ok=True)
            stderr = f"not finished within {timeout:,.0f} s"
        wall = time.perf_counter() - started
        if stderr.startswith("not finished"):
            result = {"error": stderr, "timed_out": True}
        elif out.exists():
            result = json.loads(out.read_text())
        else:
            tail = (stderr or stdout).strip().splitlines()
            result = {"error": f"exit {process.returncode}: {tail[-1] if tail else 'no output'}"}
        result.update(peer=peer, process_seconds=wall, loadavg=list(os.getloadavg()))
        if "error" in result:
            log(f"  {peer}: FAILED {result['error']}")
        else:
            log(f"  {peer}: {result['seconds']:.2f} s")
        return result


def stop_tree(pid: int, grace: float = 120.0) -> None:
    """Interrupt a process (Ctrl-C: its context managers drop what it made), then kill whatever of its tree is left."""
    import psutil

    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
        root.send_signal(signal.SIGINT)
        _gone, alive = psutil.wait_procs([root], timeout=grace)
        for process in [*alive, *family]:
            with contextlib.suppress(psutil.Error):
                process.kill()


def _libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> str:
    return str(sa.make_url(url).database)


# --- the machine ---------------------------------------------------------------------------------------------


def machine(ws: Workspace, backends: list[str]) -> dict[str, Any]:
    import psutil

    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), ""
    )
    os_name = platform.platform()
    with contextlib.suppress(OSError):
        release = dict(
            line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line and not line.startswith("#")
        )
        os_name = f"{release.get('PRETTY_NAME', '').strip(chr(34))}, kernel {platform.release()}"
    info: dict[str, Any] = {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_bytes": psutil.virtual_memory().total,
        "os": os_name,
        "python": platform.python_version(),
        "sqlite_pysqlite": sqlite3.sqlite_version,
        "packages": {},
    }
    for package in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            info["packages"][package] = metadata.version(package)
    with contextlib.suppress(Exception):
        import adbc_driver_sqlite.dbapi

        with adbc_driver_sqlite.dbapi.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT sqlite_version()")
            info["sqlite_adbc"] = cursor.fetchone()[0]
    if "postgresql" in backends:
        info["postgresql"] = ws.pg_execute("SELECT version()")[0][0]
        info["pg_settings"] = {name: ws.pg_execute(f"SHOW {name}")[0][0] for name in PG_SETTINGS}
    return info


# --- the benchmarks ------------------------------------------------------------------------------------------


def bench_backend(ws: Workspace, backend: str, options: argparse.Namespace, data_dir: str, results: dict[str, Any]) -> None:
    """Every benchmark on one backend; each section records its own failure and the rest go on."""
    from todo_data import migrations
    from todo_data.db import dispose_engines

    out: dict[str, Any] = results["backends"].setdefault(backend, {"errors": {}})
    template = ws.new_database(backend, "head")
    migrations.upgrade(template)
    dispose_engines()
    main: str | None = None

    def section(name: str) -> contextlib.AbstractContextManager[None]:
        results["loadavg"].append({"at": f"{backend} {name}", "values": list(os.getloadavg())})
        log(f"{backend}: {name}")
        return _recorded(out["errors"], name)

    with section("load"):
        main = bench_load(ws, backend, options, data_dir, template, out.setdefault("load", {}))
    if main is None:
        return
    if backend == "postgresql":
        ws.pg_execute("VACUUM (ANALYZE)", sa.make_url(main).database)  # the steady state autovacuum would reach (it is off here)
    out["rows"] = _counts(main)
    with section("read"):
        bench_read(ws, main, options, out.setdefault("read", {}))
    with section("export"):
        bench_export(ws, main, options, out.setdefault("export", {}))
    with section("queries"):
        out["queries"] = ws.peer("queries", url=main)
    with section("report"):
        out["report"] = [run_report(ws, main, n) for n in range(options.report_repeats)]
    with section("impact"):
        from benchmarks.peers import impact_scripts

        scripts = impact_scripts(str(ws.dir / "impact-alembic"))
        out["impact"] = [ws.peer("impact", url=main, script_location=scripts) for _ in range(options.report_repeats)]
    ws.drop(main)
    with section("migration"):
        bench_migration(ws, backend, options, data_dir, out.setdefault("migration", {}))
    ws.drop(template)


@contextlib.contextmanager
def _recorded(errors: dict[str, str], name: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        errors[name] = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        log(f"  {name} failed: {errors[name]}")


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            present = set(sa.inspect(connection).get_table_names())
            return {
                table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("users", "task", "task_relationships")
                if table in present
            }
    finally:
        engine.dispose()


def bench_load(ws: Workspace, backend: str, options: argparse.Namespace, data_dir: str, template: str, out: dict[str, Any]) -> str | None:
    """Every loading peer into its own copy of an empty database at head; the first load_sample database is kept for reading."""
    keep: str | None = None
    repeated = ["floor", "load_sample"] + (["floor_adbc"] if backend == "sqlite" else [])
    plan = [(peer, n) for n in range(options.load_repeats) for peer in repeated]
    plan += [(peer, 0) for peer in ("copy_indexed", "to_sql", "orm_add_all")]
    for peer, n in plan:
        url = ws.new_database(backend, f"{peer}_{n}", template=template)
        ws.settle(url)
        if peer == "load_sample":
            result = ws.peer(peer, url=url, users=options.users, tasks=options.tasks, seed=options.seed)
        elif peer == "orm_add_all":
            result = ws.peer(peer, url=url, data_dir=data_dir, sample_tasks=min(ORM_SAMPLE_TASKS, options.tasks))
        else:
            result = ws.peer(peer, url=url, data_dir=data_dir)
        if peer != "orm_add_all" and "error" not in result:
            result["rows_loaded"] = _counts(url)
        out.setdefault(peer, []).append(result)
        if peer == "load_sample" and keep is None and "error" not in result:
            keep = url
        else:
            ws.drop(url)
    return keep


def bench_read(ws: Workspace, url: str, options: argparse.Namespace, out: dict[str, Any]) -> None:
    """Every reading peer, interleaved over the repeats, after one discarded warm-up read."""
    peers = ["read_frame", "raw_adbc", "read_sql", "connectorx"] + (
        ["raw_adbc_parsed", "read_frame_held_open"] if url.startswith("sqlite") else []
    )
    ws.peer("raw_adbc", url=url)  # warm: operating system cache and shared buffers
    for _ in range(options.read_repeats):
        for peer in peers:
            result = ws.peer(peer, url=url)
            out.setdefault(peer, []).append(result)
            if peer == "connectorx" and "error" in result:
                peers.remove("connectorx")  # it will not work the next time either


def bench_export(ws: Workspace, url: str, options: argparse.Namespace, out: dict[str, Any]) -> None:
    """Every task into a Parquet file: todo_data's streamed export against ``pd.read_sql(...).to_parquet``, interleaved."""
    folder = ws.dir / "export"
    folder.mkdir(exist_ok=True)
    for _ in range(options.read_repeats):
        for peer in ("export_parquet", "read_sql_parquet"):
            out.setdefault(peer, []).append(ws.peer(peer, url=url, out_dir=str(folder)))


def run_report(ws: Workspace, url: str, n: int) -> dict[str, Any]:
    """``todo-data report 04-task-report`` as a user runs it: wall time, and resident memory of its process tree."""
    import psutil

    executable = Path(sys.executable).with_name("todo-data")
    command = (
        [str(executable)] if executable.exists() else [sys.executable, "-c", "from todo_data.cli import main; raise SystemExit(main())"]
    )
    output_dir = ws.dir / f"report-{n}"
    command += ["report", "04-task-report", "--database-url", url, "--output-dir", str(output_dir)]
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DATABASE_ECHO")}
    started = time.perf_counter()
    log_file = ws.dir / f"report-{n}.log"
    with open(log_file, "wb") as output:  # a file, not a pipe: nothing blocks however much the command prints
        process = subprocess.Popen(command, cwd=ws.dir, env=env, stdout=output, stderr=subprocess.STDOUT)
    watched = psutil.Process(process.pid)
    try:
        status, usage, tree_peak, at_peak, role_peaks = _watch(process, watched)
    except BaseException:
        for child in [*watched.children(recursive=True), watched]:  # interrupted: leave no kernel behind
            with contextlib.suppress(psutil.Error):
                child.kill()
        raise
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    result: dict[str, Any] = {
        "seconds": seconds,
        "tree_peak_rss": tree_peak,
        "at_tree_peak": at_peak,
        "process_peaks": role_peaks,
        "largest_process_rss": usage.ru_maxrss * 1024 if usage else None,  # wait4: the largest of the process and its reaped children
        "exit_code": process.returncode,
        "html_bytes": (output_dir / "04-task-report.html").stat().st_size if (output_dir / "04-task-report.html").exists() else None,
        "loadavg": list(os.getloadavg()),
    }
    if process.returncode != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()
        result["error"] = tail[-1] if tail else f"exit {process.returncode}"
    log(f"  report: {seconds:.1f} s, tree peak {tree_peak / 2**20:.0f} MiB" + (f" FAILED {result['error']}" if "error" in result else ""))
    return result


def _watch(process: subprocess.Popen[bytes], watched: Any) -> tuple[int, Any, int, dict[str, int], dict[str, int]]:
    """Sample the resident memory of a process tree until the process exits: its wait status and rusage, the peak sum, by role."""
    import psutil

    tree_peak: int = 0
    at_peak: dict[str, int] = {}
    role_peaks: dict[str, int] = {}
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        sizes: dict[str, int] = {}
        with contextlib.suppress(psutil.Error):
            sizes["todo-data"] = watched.memory_info().rss
            for child in watched.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    role = "kernel" if any("ipykernel" in part for part in child.cmdline()) else child.name()
                    sizes[role] = sizes.get(role, 0) + child.memory_info().rss
        for role, size in sizes.items():
            role_peaks[role] = max(role_peaks.get(role, 0), size)
        if sum(sizes.values()) > tree_peak:
            tree_peak, at_peak = sum(sizes.values()), sizes
        time.sleep(0.02)
    return status, usage, tree_peak, at_peak, role_peaks


def bench_migration(ws: Workspace, backend: str, options: argparse.Namespace, data_dir: str, out: dict[str, Any]) -> None:
    """A revision-001 database with every task, upgraded to head by todo_data vs the offline DDL run alone, each on its own copy."""
    from todo_data import migrations
    from todo_data.db import dispose_engines

    seed = ws.new_database(backend, "seed001")
    migrations.upgrade(seed, "001")
    dispose_engines()
    fill = ws.peer("fill_seed", url=seed, data_dir=data_dir)
    if "error" in fill:
        raise RuntimeError(f"filling the 001 database failed: {fill['error']}")
    if backend == "postgresql":
        ws.pg_execute("VACUUM (ANALYZE)", sa.make_url(seed).database)
    out["seed_rows"] = _counts(seed)
    if backend == "sqlite":  # revision 002 checks foreign keys around each table rebuild online; the offline SQL cannot
        connection = sqlite3.connect(_sqlite_path(seed))
        started = time.perf_counter()
        connection.execute("PRAGMA foreign_key_check").fetchall()
        out["foreign_key_check_seconds"] = time.perf_counter() - started
        connection.close()
    script = migrations.sql("001:head", dialect=backend)
    out["script"] = script
    for n in range(options.migration_repeats):
        for peer in ("ddl_alone", "upgrade"):
            url = ws.new_database(backend, f"{peer}_{n}", template=seed)
            ws.settle(url)
            result = ws.peer(peer, url=url, script=script) if peer == "ddl_alone" else ws.peer(peer, url=url)
            if n == 0 and "error" not in result:
                result["revision"] = migrations.current(url)
                result["differences_from_models"] = migrations.check(url)
                dispose_engines()
            out.setdefault(peer, []).append(result)
            ws.drop(url)
    ws.drop(seed)


# --- command line --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from benchmarks.scale import DEFAULT_SIZES, parse_sizes

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=None, help="tasks to load (default 1000000; --quick: 50000)")
    parser.add_argument("--users", type=int, default=None, help="users to load (default 10000; --quick: 500)")
    parser.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    parser.add_argument("--backends", default="postgresql,sqlite", help="comma-separated: postgresql, sqlite (default both)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("TODO_DATA_TEST_PG_URL") or DEFAULT_PG_URL,
        help="PostgreSQL server URL with a user that may create databases (default $TODO_DATA_TEST_PG_URL, else the local server)",
    )
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"), help="the Markdown to write (default docs/benchmarks.md)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also save the raw results here (re-render with --render)")
    parser.add_argument("--render", default=None, metavar="FILE", help="write the doc from saved raw results; measure nothing")
    parser.add_argument("--quick", action="store_true", help="small sizes and one repeat: a try-out, not figures to publish")
    parser.add_argument("--load-repeats", type=int, default=None, help="runs of the floor and load_sample (default 2; --quick: 1)")
    parser.add_argument("--read-repeats", type=int, default=None, help="runs of each reading peer (default 5; --quick: 1)")
    parser.add_argument("--report-repeats", type=int, default=None, help="runs of 04-task-report (default 2; --quick: 1)")
    parser.add_argument("--migration-repeats", type=int, default=None, help="runs of each 001 -> head peer (default 2; --quick: 1)")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="measure how each step grows with the tasks (100k, 1M, 10M; both backends) and write the doc's growth section and figure",
    )
    parser.add_argument(
        "--scale-sizes",
        type=parse_sizes,
        default=None,
        metavar="N,N,...",
        help="task counts for --scale (default 100000,1000000,10000000; 100k,1M also read)",
    )
    parser.add_argument(
        "--scale-timeout", type=float, default=None, metavar="SECONDS", help="--scale: stop a step after this long and record it unmeasured"
    )
    options = parser.parse_args(argv)
    if (options.scale_sizes or options.scale_timeout) and not options.scale:
        parser.error("--scale-sizes and --scale-timeout go with --scale")
    options.scale_sizes = options.scale_sizes or list(DEFAULT_SIZES)
    options.tasks = options.tasks if options.tasks is not None else (50_000 if options.quick else 1_000_000)
    options.users = options.users if options.users is not None else (500 if options.quick else 10_000)
    for name, full in (("load_repeats", 2), ("read_repeats", 5), ("report_repeats", 2), ("migration_repeats", 2)):
        if getattr(options, name) is None:
            setattr(options, name, 1 if options.quick else full)
    options.backends = [name.strip() for name in options.backends.split(",") if name.strip()]
    unknown = sorted(set(options.backends) - {"postgresql", "sqlite"})
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(unknown)}: use postgresql and/or sqlite")
    return options


def command_line(argv: list[str]) -> str:
    from todo_data.settings import mask_text

    return mask_text(shlex.join(["python", "-m", "benchmarks.run", *argv]))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options = parse_args(argv)
    from benchmarks.scale import run_scale

    if options.render:
        results = json.loads(Path(options.render).read_text())
        write_doc(options.output, results)
        log(f"wrote {options.output} from {options.render}")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the databases are dropped on kill too
    started = datetime.now(UTC)
    pg_url = options.pg_url if "postgresql" in options.backends else None
    results: dict[str, Any] = {
        "command": command_line(argv),
        "started_at": started.isoformat(timespec="seconds"),
        "options": {key: getattr(options, key) for key in ("tasks", "users", "seed", "backends", "quick")}
        | {key: getattr(options, key) for key in ("load_repeats", "read_repeats", "report_repeats", "migration_repeats")},
        "loadavg": [{"at": "start", "values": list(os.getloadavg())}],
        "backends": {},
    }
    if options.scale:
        results.update(scale=True, sizes={})
        results["options"]["scale_sizes"] = options.scale_sizes
    with Workspace(pg_url) as ws:
        if options.scale:
            log(
                f"workspace {ws.dir} (run {ws.run_id}); scale {', '.join(f'{n:,}' for n in options.scale_sizes)} tasks on {', '.join(options.backends)}"
            )
            results["machine"] = machine(ws, options.backends)
            run_scale(ws, options, results, lambda: save_json(options.json, results))
        else:
            run_default(ws, options, results)
    finished = datetime.now(UTC)
    results["loadavg"].append({"at": "end", "values": list(os.getloadavg())})
    results["finished_at"] = finished.isoformat(timespec="seconds")
    results["duration_seconds"] = (finished - started).total_seconds()
    save_json(options.json, results)
    write_doc(options.output, results)
    log(f"wrote {options.output} in {results['duration_seconds'] / 60:.1f} min")
    return 0


def save_json(path: str | None, results: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(results, indent=1, default=str))


def write_doc(output: str, results: dict[str, Any]) -> None:
    """The doc: a default run rewrites it keeping its growth section; a scale run replaces that section and its figure only."""
    from benchmarks.doc import render
    from benchmarks.scale_doc import FIGURE, figure, keep_block, merge, render_scale

    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text() if path.exists() else ""
    if results.get("scale"):
        figure(results, path.parent / FIGURE)
        path.write_text(merge(existing, render_scale(results)) if existing else render_scale(results))
    else:
        path.write_text(keep_block(existing, render(results)))


def run_default(ws: Workspace, options: argparse.Namespace, results: dict[str, Any]) -> None:
    """The default run (and --quick): every peer at one size on each backend."""
    log(f"workspace {ws.dir} (run {ws.run_id}); {options.tasks:,} tasks, {options.users:,} users on {', '.join(options.backends)}")
    results["machine"] = machine(ws, options.backends)
    data_dir = str(ws.dir)
    results["data"] = ws.peer("prepare", data_dir=data_dir, users=options.users, tasks=options.tasks, seed=options.seed)
    if "error" in results["data"]:
        raise SystemExit(f"generating the sample failed: {results['data']['error']}")
    for backend in options.backends:
        bench_backend(ws, backend, options, data_dir, results)


if __name__ == "__main__":
    sys.exit(main())
