"""``python -m benchmarks.run --scale``'s command line and doc writing, as a user runs them (nothing is measured here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks.run", *arguments], cwd=ROOT, capture_output=True, text=True, check=False)


def test_scale_sizes_need_scale_and_bad_sizes_get_one_line() -> None:
    alone = run("--scale-sizes", "100k")
    assert alone.returncode == 2
    assert "--scale-sizes and --scale-timeout go with --scale" in alone.stderr.strip().splitlines()[-1]
    bad = run("--scale", "--scale-sizes", "100k,lots")
    assert bad.returncode == 2
    assert "'lots' is not a task count" in bad.stderr.strip().splitlines()[-1]
    tiny = run("--scale", "--scale-sizes", "10")
    assert tiny.returncode == 2
    assert "below 1,000 tasks" in tiny.stderr


def _figure(seconds: float, rss: int) -> dict[str, object]:
    return {"seconds": seconds, "peak_rss": rss, "loadavg": [1.0, 1.0, 1.0], "error": None, "raw": {}}


def test_render_writes_the_growth_section_and_figure_and_keeps_the_rest_of_the_doc(tmp_path: Path) -> None:
    """A scale run's section goes between markers, a later rewrite keeps it; growth beyond the goals is named."""
    mb = 1_000_000
    sizes = {
        str(tasks): {
            "users": tasks // 100,
            "backends": {
                "sqlite": {
                    "errors": {},
                    "load": _figure(tasks / 1e5, 200 * mb),
                    "read_frame": _figure(tasks / 1e6, 100 * mb + tasks * 100_000),
                    "04-task-report": _figure((tasks / 1_000) ** 2, 300 * mb),
                }
            },
        }
        for tasks in (1_000, 10_000)
    }
    results = {
        "scale": True,
        "command": "python -m benchmarks.run --scale --scale-sizes 1k,10k",
        "started_at": "2026-12-03T06:00:00+00:00",
        "finished_at": "2026-12-03T06:01:00+00:00",
        "duration_seconds": 60,
        "options": {"backends": ["sqlite"], "seed": 0},
        "loadavg": [{"at": "start", "values": [1.0, 1.0, 1.0]}],
        "machine": {"cpu": "test", "cores": 2, "usable_cores": 2, "ram_bytes": 2**30},
        "sizes": sizes,
    }
    saved = tmp_path / "scale.json"
    saved.write_text(json.dumps(results))
    doc = tmp_path / "docs" / "benchmarks.md"
    doc.parent.mkdir()
    doc.write_text("# Benchmarks\n\nThe default run's figures.\n")

    assert run("--render", str(saved), "--output", str(doc)).returncode == 0
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nThe default run's figures.\n")
    assert "## Growth: 1,000 → 10,000 tasks (`--scale`)" in text
    assert "SQLite, `todo-data report 04-task-report`: time grows faster than the rows" in text
    assert "SQLite, `read_frame` of every task: peak memory not flat" in text
    assert "SQLite `db upgrade` 001 → head at 1,000 tasks: not reached" in text
    png = doc.parent / "img" / "benchmarks-scale.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size < 200_000

    # run again: the section is replaced, not appended a second time
    assert run("--render", str(saved), "--output", str(doc)).returncode == 0
    assert doc.read_text().count("## Growth:") == 1


def test_a_default_rewrite_keeps_the_growth_block_and_the_sections_after_it() -> None:
    """A default run rewrites its own sections; the growth block and what follows it (other commands' measurements,
    written with their command) stay as they were."""
    from benchmarks.scale_doc import END, START, keep_block

    kept = f"{START}\n## Growth: 1,000 → 10,000 tasks\n\nfigures\n{END}\n\n## Reports' peak memory\n\nmeasured by hand\n"
    existing = "# Benchmarks\n\nold figures\n\n" + kept
    rewritten = keep_block(existing, "# Benchmarks\n\nnew figures\n")
    assert rewritten.startswith("# Benchmarks\n\nnew figures\n") and "old figures" not in rewritten
    assert rewritten.endswith(kept)
    assert keep_block(rewritten, "# Benchmarks\n\nnewer figures\n").count("## Reports' peak memory") == 1
