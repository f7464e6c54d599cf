"""`load_sample` (generation included) into a fresh SQLite file at head, at each size, once: how the load grows on a
quiet machine, beside the growth run's figures (docs/benchmarks.md).

    python -m benchmarks.load_growth --sizes 1000000,10000000 --folder /tmp/load_growth
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from todo_data import migrations
from todo_data.db import dispose_engines
from todo_data.sample import load_sample


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated task counts (users = tasks / 100)")
    parser.add_argument("--folder", required=True, help="where the database files go (each is deleted after its load)")
    options = parser.parse_args(argv)
    folder = Path(options.folder)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"nproc {os.cpu_count()}, load at start {os.getloadavg()[0]:.2f}")
    for tasks in (int(size) for size in options.sizes.split(",")):
        path = folder / f"load_growth_{tasks}.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        migrations.upgrade(url)
        dispose_engines()
        started = time.perf_counter()
        load_sample(url, users=tasks // 100, tasks=tasks, seed=0)
        print(f"{tasks:,} tasks: {time.perf_counter() - started:.1f} s (load average {os.getloadavg()[0]:.2f})", flush=True)
        dispose_engines()
        for leftover in folder.glob(f"{path.name}*"):
            leftover.unlink()


if __name__ == "__main__":
    main()
