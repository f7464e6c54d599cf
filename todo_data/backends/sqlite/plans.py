"""SQLite's ``EXPLAIN QUERY PLAN`` rows in the index report's shape. Its own module, importing nothing of the
``indexes`` package, so ``todo_data.indexes`` can re-export it while this backend's ``indexes`` imports that package."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


def sqlite_plan_shape(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """``EXPLAIN QUERY PLAN`` rows as indented text, the indexes used, and whether the table is scanned or rows sorted."""
    depth: dict[int, int] = {}
    lines, used, full_scan, temp_sort = [], [], False, False
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
        match = re.search(r"USING (?:COVERING )?INDEX (\S+)", detail)
        if match and "AUTOMATIC" not in detail and match.group(1) not in used:
            used.append(match.group(1))
        if re.fullmatch(r"SCAN (?:TABLE )?\S+(?: AS \S+)?", detail) or "AUTOMATIC" in detail:
            full_scan = True
        temp_sort = temp_sort or detail.startswith("USE TEMP B-TREE")
    return {"plan": "\n".join(lines), "indexes_used": used, "full_scan": full_scan, "temp_sort": temp_sort, "cost": None}
