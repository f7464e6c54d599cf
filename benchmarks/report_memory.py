"""Peak memory of `todo-data report NAME` as a process tree (`todo-data` and its Jupyter kernel, sampled every 20 ms),
for one or more checkouts of the project on the same database in the same run: the peers of a change to what the
report's processes load.

    python -m benchmarks.report_memory --database-url URL --checkout before=/tmp/before --checkout after=.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.run import _watch

MIB = 2**20


def measure(checkout: Path, notebook: str, url: str, output_dir: Path) -> dict[str, float]:
    """One report run from ``checkout`` (its todo_data first on PYTHONPATH): seconds, tree peak and each role's peak (MiB)."""
    environment = dict(os.environ, PYTHONPATH=str(checkout), DATABASE_URL=url)
    output_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "todo_data.cli", "report", notebook, "--output-dir", str(output_dir)],
        env=environment,
        cwd=output_dir,  # not a checkout: `python -m` puts the working directory first on sys.path
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    status, _, tree_peak, _, role_peaks = _watch(process, psutil.Process(process.pid))
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{notebook} from {checkout} failed (exit {os.waitstatus_to_exitcode(status)})")
    return {"seconds": time.perf_counter() - started, "tree": tree_peak / MIB, **{role: size / MIB for role, size in role_peaks.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="the database the reports read (filled beforehand)")
    parser.add_argument("--checkout", action="append", required=True, metavar="LABEL=PATH", help="a project checkout to measure")
    parser.add_argument("--reports", default="04-task-report,03-index-usage", help="comma-separated report names")
    options = parser.parse_args(argv)
    checkouts = [(label, Path(path).resolve()) for label, path in (item.split("=", 1) for item in options.checkout)]
    print(f"nproc {os.cpu_count()}, RAM {psutil.virtual_memory().total / 2**30:.1f} GiB, load at start {os.getloadavg()[0]:.2f}")
    print("| report | checkout | time | tree peak | `todo-data` peak | kernel peak |\n| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for notebook in options.reports.split(","):
            for label, checkout in checkouts:
                found = measure(checkout, notebook, options.database_url, Path(folder) / label)
                print(
                    f"| {notebook} | {label} | {found['seconds']:.1f} s | {found['tree']:.0f} MiB | "
                    f"{found.get('todo-data', 0):.0f} MiB | {found.get('kernel', 0):.0f} MiB |",
                    flush=True,
                )
    print(f"load at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
