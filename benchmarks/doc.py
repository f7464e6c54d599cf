"""docs/benchmarks.md from one run's raw results: every figure, its ratio to the reference peer, and each target met or missed."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BACKEND_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
X = "\N{MULTIPLICATION SIGN}"  # ruff flags the literal character as ambiguous
TABLES = {"users": "users", "tasks": "task", "dependencies": "task_relationships"}
ROW_NAMES = {table: stem for stem, table in TABLES.items()}
MB = 1_000_000
LOAD_TARGET = 1.3
READ_TIME_TARGET = 1.15
READ_MEMORY_TARGET = 1.5
READ_SPEEDUP_TARGET = 4.0
QUERY_P50_TARGET_MS = 1.0
REPORT_SECONDS_TARGET = 20.0
REPORT_RSS_TARGET = 500 * MB
MIGRATION_TARGET = 1.5
IMPACT_SECONDS_TARGET = 10.0

LOAD_PEERS = {
    "load_sample": "`load_sample` (`todo-data sample`): ADBC COPY, indexes dropped and rebuilt, ANALYZE",
    "floor": "floor: COPY into bare tables + index build",
    "floor_adbc": "floor: ADBC bulk ingest into tables without secondary indexes + index build",
    "copy_indexed": "COPY with every index present",
    "to_sql": "`pandas.DataFrame.to_sql` (defaults, plain engine)",
    "orm_add_all": "SQLModel `session.add_all`, extrapolated",
}
SQLITE_LOAD_PEERS = {
    "load_sample": "`load_sample` (`todo-data sample`): ADBC bulk ingest in a child process, foreign keys checked, indexes dropped and rebuilt, one transaction",
    "floor": "floor: `executemany` into tables without secondary indexes + index build + foreign-key check",
    "floor_adbc": "floor: ADBC bulk ingest (Arrow bound in C) into tables without secondary indexes + index build + foreign-key check",
    "copy_indexed": "`executemany` with every index present (SQLite's COPY; foreign keys off, unchecked)",
}
READ_PEERS = {
    "read_frame": "`todo_data.read_frame`",
    "raw_adbc": "raw ADBC → Arrow → pandas",
    "read_sql": "`pd.read_sql` over SQLAlchemy",
    "connectorx": "connectorx `read_sql(return_type='pandas')`",
    "raw_adbc_parsed": "raw ADBC + the two timestamp columns parsed in Arrow (read_frame's one extra step on SQLite)",
    "read_frame_held_open": "`todo_data.read_frame` while the process holds the file open through `sqlite3` (so it reads in a child process)",
}


# --- small formatting ----------------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f} s"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.001:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1000:.3f} ms"


def millis(value_ns: float) -> str:
    ms = value_ns / 1e6
    return f"{ms:.3f} ms" if ms < 10 else f"{ms:.1f} ms"


def megabytes(value: float | None) -> str:
    return "—" if value is None else f"{value / MB:,.0f} MB"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}{X}"


def verdict(met: bool | None, miss: str = "") -> str:
    if met is None:
        return "not measured"
    return "✅ met" if met else f"❌ missed{': ' + miss if miss else ''}"


def over(value: float, limit: float) -> str:
    """How far past a ceiling a value is, in percent of the ceiling."""
    return f"by {100 * (value / limit - 1):.0f}%"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ok_runs(runs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [run for run in runs or [] if "error" not in run]


def error_of(runs: list[dict[str, Any]] | None) -> str | None:
    failed = [run["error"] for run in runs or [] if "error" in run]
    return failed[0] if failed else None


# --- each benchmark's figures ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One target on one backend: met or not, the figure, and the reason when missed."""

    backend: str
    work: str
    figure: str
    met: bool | None
    why: str = ""


def load_time(run: dict[str, Any]) -> float:
    """A load's time like-for-like with the floor: load_sample without its own generation; the ORM scaled to every row."""
    if "extrapolated_seconds" in run:
        return float(run["extrapolated_seconds"])
    return float(run["seconds"]) - float(run.get("generate_seconds", 0.0))


def best(runs: list[dict[str, Any]] | None, key: Callable[[dict[str, Any]], float] = load_time) -> dict[str, Any] | None:
    good = ok_runs(runs)
    return min(good, key=key) if good else None


def read_figures(runs: list[dict[str, Any]] | None) -> dict[str, float] | None:
    """A reading peer over its runs: best and median time, median peak memory (whole process, and above the baseline)."""
    good = ok_runs(runs)
    if not good:
        return None
    return {
        "seconds": min(run["seconds"] for run in good),
        "median_seconds": statistics.median(run["seconds"] for run in good),
        "peak_rss": statistics.median(run["peak_rss"] for run in good),
        "used_rss": statistics.median(run["peak_rss"] - run["baseline_rss"] for run in good),
        "runs": len(good),
        "spread": max(run["seconds"] for run in good) - min(run["seconds"] for run in good),
    }


def floor_of(load: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    candidates = [(peer, best(load.get(peer))) for peer in ("floor", "floor_adbc")]
    candidates = [(peer, run) for peer, run in candidates if run is not None]
    return min(candidates, key=lambda item: load_time(item[1])) if candidates else None


def percentile(values: list[int], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = share * (len(ordered) - 1)
    low, high = int(position), min(int(position) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- sections ------------------------------------------------------------------------------------------------


def render_load(backend: str, data: dict[str, Any], results: dict[str, Any], outcomes: list[Outcome]) -> str:
    load = data.get("load") or {}
    names = {**LOAD_PEERS, **(SQLITE_LOAD_PEERS if backend == "sqlite" else {})}
    found = floor_of(load)
    floor_seconds = load_time(found[1]) if found else None
    rows = []
    for peer, label in names.items():
        runs = load.get(peer)
        if runs is None:
            continue
        run = best(runs)
        if run is None:
            rows.append([label, "failed", "—", "—", error_of(runs) or ""])
            continue
        value = load_time(run)
        notes = []
        if peer == "load_sample":
            notes.append(f"{seconds(run['seconds'])} with its own data generation ({seconds(run['generate_seconds'])})")
        if "copy_seconds" in run:
            rebuilt = f", indexes and constraints {seconds(run['rebuild_seconds'])}" if run.get("rebuilt") else ""
            if "fk_check_seconds" in run:
                rebuilt += f" (of which the foreign-key check {seconds(run['fk_check_seconds'])})"
            notes.append(f"rows {seconds(run['copy_seconds'])}{rebuilt}, commit {seconds(run['commit_seconds'])}")
        expected = results.get("data", {}).get("rows", {})
        loaded = run.get("rows_loaded")
        if loaded and expected and [loaded.get(TABLES[stem]) for stem in TABLES] != [expected.get(stem) for stem in TABLES]:
            notes.append(f"**loaded {loaded}, not the {expected} generated**")
        if peer == "orm_add_all":
            measured, parts = run["measured_rows"], run["parts"]
            notes.append(
                f"measured {seconds(run['seconds'])} for {measured['users']:,} users, {measured['tasks']:,} tasks, "
                f"{measured['dependencies']:,} dependencies (tasks {seconds(parts['tasks'])}); scaled per table to every row"
            )
        if found and peer == found[0]:
            notes.append("**the floor** (fastest way in)")
        if run.get("child_peak_rss"):
            notes.append(f"its largest child process peaked at {megabytes(run['child_peak_rss'])}")
        all_runs = ok_runs(runs)
        if len(all_runs) > 1:
            notes.append("runs: " + ", ".join(seconds(load_time(r)) for r in all_runs))
        rows.append(
            [
                label,
                seconds(value),
                ratio(value / floor_seconds) if floor_seconds else "—",
                megabytes(run.get("peak_rss")),
                "; ".join(notes),
            ]
        )
    text = table(["peer", "time", f"{X} floor", "client peak RSS", "notes"], rows)
    sample = best(load.get("load_sample"))
    if sample and floor_seconds:
        value = load_time(sample) / floor_seconds
        end_to_end = sample["seconds"] / floor_seconds
        met = value <= LOAD_TARGET
        outcome = Outcome(backend, "load", f"{ratio(value)} the floor ({ratio(end_to_end)} with generation)", met)
        if not met:
            outcome.why = load_why(backend, load, sample, found, value)
        outcomes.append(outcome)
        text += f"\n\nTarget ≤ {LOAD_TARGET}{X} the floor: {verdict(met, over(value, LOAD_TARGET))} — {ratio(value)}"
        text += f" ({ratio(end_to_end)} counting `load_sample`'s own generation of the rows, which the other peers were handed)."
        if outcome.why:
            text += f" {outcome.why}"
    else:
        outcomes.append(Outcome(backend, "load", "not measured", None, error_of(load.get("load_sample")) or ""))
    return text


def load_why(backend: str, load: dict[str, Any], sample: dict[str, Any], found: Any, value: float) -> str:
    if backend == "sqlite" and found and found[0] == "floor_adbc":
        return (
            "The floor is ADBC's bulk ingest with foreign keys off, checked afterwards in one pass (`PRAGMA foreign_key_check`); "
            "`load_sample` uses the same ingest with foreign keys on, so each row is checked on the way in (as on every todo_data "
            "connection), and runs it in a child process: the ADBC driver carries its own copy of SQLite, and two copies in one "
            "process can drop each other's POSIX locks on the same file."
        )
    return f"`load_sample` took {ratio(value)} the floor's time on the same rows."


def render_read(backend: str, data: dict[str, Any], results: dict[str, Any], outcomes: list[Outcome]) -> str:
    read = data.get("read") or {}
    figures = {peer: read_figures(read.get(peer)) for peer in READ_PEERS}
    raw = figures.get("raw_adbc")
    rows = []
    for peer, label in READ_PEERS.items():
        runs = read.get(peer)
        figure = figures[peer]
        if runs is None:
            if peer == "connectorx":
                rows.append([label, "not installed", "—", "—", "—", "—", "`pip install connectorx` to include it"])
            continue
        if figure is None:
            rows.append([label, "failed", "—", "—", "—", "—", error_of(runs) or ""])
            continue
        first = ok_runs(runs)[0]
        dtypes = ", ".join(
            f"{name} {dtype}" for name, dtype in first.get("dtypes", {}).items() if name in ("created_at", "completed", "title")
        )
        rows.append(
            [
                label,
                seconds(figure["seconds"]),
                ratio(figure["seconds"] / raw["seconds"]) if raw else "—",
                megabytes(figure["used_rss"]),
                ratio(figure["used_rss"] / raw["used_rss"]) if raw else "—",
                megabytes(figure["peak_rss"]),
                f"median of {figure['runs']} runs {seconds(figure['median_seconds'])}; {first.get('rows', 0):,} rows; {dtypes}"
                + (f"; the child process peaked at {megabytes(first['child_peak_rss'])}" if peer == "read_frame_held_open" else ""),
            ]
        )
    text = table(["peer", "best time", f"{X} raw ADBC", "peak memory used", f"{X} raw ADBC", "process peak RSS", "notes"], rows)
    frame, sql = figures.get("read_frame"), figures.get("read_sql")
    if frame and raw:
        time_ratio = frame["seconds"] / raw["seconds"]
        memory_ratio = frame["used_rss"] / raw["used_rss"]
        time_ok, memory_ok = time_ratio <= READ_TIME_TARGET, memory_ratio <= READ_MEMORY_TARGET
        outcomes.append(
            Outcome(
                backend,
                "read time",
                f"{ratio(time_ratio)} raw ADBC",
                time_ok,
                "" if time_ok else read_time_why(backend, figures, time_ratio),
            )
        )
        outcomes.append(
            Outcome(
                backend,
                "read memory",
                f"{ratio(memory_ratio)} raw ADBC",
                memory_ok,
                "" if memory_ok else read_memory_why(backend, memory_ratio),
            )
        )
        text += (
            f"\n\n- Time ≤ {READ_TIME_TARGET}{X} raw ADBC: {verdict(time_ok, over(time_ratio, READ_TIME_TARGET))} — {ratio(time_ratio)}."
        )
        if not time_ok:
            text += f" {outcomes[-2].why}"
        text += f"\n- Peak memory ≤ {READ_MEMORY_TARGET}{X} raw ADBC: {verdict(memory_ok, over(memory_ratio, READ_MEMORY_TARGET))} — {ratio(memory_ratio)}."
        if not memory_ok:
            text += f" {outcomes[-1].why}"
    if frame and sql:
        speedup = sql["seconds"] / frame["seconds"]
        met = speedup >= READ_SPEEDUP_TARGET
        why = (
            "" if met else f"`pd.read_sql` took {seconds(sql['seconds'])}, only {speedup:.1f}{X} read_frame's {seconds(frame['seconds'])}."
        )
        outcomes.append(Outcome(backend, "read vs pd.read_sql", f"{speedup:.1f}{X} faster", met, why))
        text += f"\n- ≥ {READ_SPEEDUP_TARGET:.0f}{X} faster than `pd.read_sql`: {verdict(met, f'short by {100 * (1 - speedup / READ_SPEEDUP_TARGET):.0f}%')} — {speedup:.1f}{X}."
        if why:
            text += f" {why}"
    return text


EXPORT_PEERS = {"export_parquet": "`todo-data export tasks` (Arrow batches → Parquet)", "read_sql_parquet": "`pd.read_sql(...).to_parquet`"}


def render_export(backend: str, data: dict[str, Any], results: dict[str, Any], outcomes: list[Outcome]) -> str:
    """Every task into one Parquet file: time and memory of the streamed export beside the pandas round trip."""
    export = data.get("export") or {}
    figures = {peer: read_figures(export.get(peer)) for peer in EXPORT_PEERS}
    pandas_way = figures.get("read_sql_parquet")
    rows = []
    for peer, label in EXPORT_PEERS.items():
        figure = figures[peer]
        if figure is None:
            rows.append([label, "failed" if export.get(peer) else "not measured", "—", "—", "—", "—", error_of(export.get(peer)) or ""])
            continue
        first = ok_runs(export.get(peer))[0]
        rows.append(
            [
                label,
                seconds(figure["seconds"]),
                ratio(figure["seconds"] / pandas_way["seconds"]) if pandas_way else "—",
                megabytes(figure["used_rss"]),
                ratio(figure["used_rss"] / pandas_way["used_rss"]) if pandas_way and pandas_way["used_rss"] else "—",
                megabytes(figure["peak_rss"]),
                f"median of {figure['runs']} runs {seconds(figure['median_seconds'])}; {first.get('rows', 0):,} rows; {megabytes(first.get('bytes'))} file"
                + (f"; a child process peaked at {megabytes(first['child_peak_rss'])}" if first.get("child_peak_rss") else ""),
            ]
        )
    return table(["peer", "best time", f"{X} pandas", "peak memory used", f"{X} pandas", "process peak RSS", "notes"], rows)


def read_time_why(backend: str, figures: dict[str, Any], value: float) -> str:
    parsed, frame = figures.get("raw_adbc_parsed"), figures.get("read_frame")
    if backend == "sqlite" and parsed and frame:
        return (
            "SQLite has no timestamp type: raw ADBC hands back `created_at` and `updated_at` as text, while read_frame parses "
            "both into `datetime64[us, UTC]`, the frame the other peers are asked for. The raw read plus that same parse takes "
            f"{seconds(parsed['seconds'])}, and read_frame is {ratio(frame['seconds'] / parsed['seconds'])} of that: the gap is the parse, "
            "which a frame with real timestamps cannot skip."
        )
    return f"read_frame took {ratio(value)} the driver's time."


def read_memory_why(backend: str, value: float) -> str:
    return f"read_frame's peak above the process baseline is {ratio(value)} raw ADBC's."


def index_backed(query: dict[str, Any]) -> bool:
    """No full table scan and no sort, in the custom plan and (PostgreSQL, with parameters) in the generic plan too."""
    plans = [query] + ([query["generic"]] if "generic" in query else [])
    return not any(plan["full_scan"] or plan["sort"] for plan in plans)


def _generic(query: dict[str, Any]) -> dict[str, Any]:
    """The generic-plan figures of a raw query result, gathered under one key."""
    if "generic_indexes" not in query:
        return query
    generic = {key: query[f"generic_{key}"] for key in ("indexes", "full_scan", "sort", "scanned_rows", "estimated_rows", "execution_ms")}
    return {**query, "generic": generic}


def render_queries(backend: str, data: dict[str, Any], results: dict[str, Any], outcomes: list[Outcome]) -> str:
    found = data.get("queries")
    if not found or "error" in found:
        outcomes.append(Outcome(backend, "queries", "not measured", None, (found or {}).get("error", "")))
        return f"Not measured: {(found or {}).get('error', 'no result')}"
    from todo_data.indexes import CANONICAL_QUERIES

    postgres = backend == "postgresql"
    rows, plans, misses = [], [], []
    for name in CANONICAL_QUERIES:
        if name not in found:
            continue
        query = _generic(found[name])
        driver_p50 = percentile(query["driver_ns"], 0.5)
        session_p50 = percentile(query["session_ns"], 0.5)
        backed, fast = index_backed(query), driver_p50 / 1e6 < QUERY_P50_TARGET_MS
        problems = []
        if query["full_scan"] or query["sort"]:
            problems.append("full scan" if query["full_scan"] else "sorts")
        elif not backed:
            problems.append("its generic plan " + ("scans the table" if query["generic"]["full_scan"] else "sorts"))
        if not fast:
            problems.append(f"p50 {over(driver_p50 / 1e6, QUERY_P50_TARGET_MS)}")
        if problems:
            misses.append((name, query, driver_p50))
        used = ", ".join(query["indexes"]) or "none"
        if "generic" in query and query["generic"]["indexes"] != query["indexes"]:
            used += f" (generic plan: {', '.join(query['generic']['indexes']) or 'none'})"
        cells = [f"`{name}`", f"{query['rows']:,}", millis(driver_p50), millis(percentile(query["driver_ns"], 0.95))]
        if postgres:
            cells.append(millis(percentile(query["unprepared_ns"], 0.5)))
        cells += [millis(session_p50), ratio(session_p50 / driver_p50), used, verdict(not problems, ", ".join(problems))]
        rows.append(cells)
        block = f"**{name}** — `{query['sql']}` with {query['bound'] or 'no parameters'}\n\n```\n{query['plan']}\n```"
        if "generic_plan" in query:
            block += f"\n\nGeneric plan (what a prepared statement may switch to):\n\n```\n{query['generic_plan']}\n```"
        if "generic_plan_rpc_1_1" in query:
            block += f"\n\nGeneric plan with `random_page_cost = 1.1`:\n\n```\n{query['generic_plan_rpc_1_1']}\n```"
        plans.append(block)
    why = " ".join(query_why(backend, name, query, p50, found) for name, query, p50 in misses)
    outcomes.append(
        Outcome(
            backend, "queries", f"{len(rows) - len(misses)} of {len(rows)} index-backed under {QUERY_P50_TARGET_MS:g} ms", not misses, why
        )
    )
    parameters = found.get("parameters", {})
    first = found[next(name for name in CANONICAL_QUERIES if name in found)]
    text = (
        f"Parameters: the user with the most tasks (`{parameters.get('user_id')}`) and the task with the most dependencies "
        f"(`{parameters.get('task_id')}`), from `todo_data.indexes.canonical_parameters`: the heaviest case. Calls rotate between "
        f"the ways in, {first['calls']} rounds after 5 warm-up rounds (fewer for slow queries). "
        + (
            "*Driver* is psycopg as it comes: from a statement's fifth call it is prepared, and PostgreSQL may then run it "
            "with a generic plan (as asyncpg, which prepares every statement, does too); *unprepared* passes `prepare=False`, "
            "so every call is planned for its values. "
            if postgres
            else "*Driver* is Python's `sqlite3` (its statement cache keeps each statement prepared). "
        )
        + "*SQLModel* opens a session per call and selects model objects, as a request handler would.\n\n"
    )
    header = ["query", "rows", "driver p50", "driver p95"] + (["unprepared p50"] if postgres else [])
    header += ["SQLModel p50", "SQLModel ÷ driver", "index used", "target"]
    text += table(header, rows)
    if why:
        text += f"\n\n{why}"
    explain = "EXPLAIN (ANALYZE, BUFFERS)" if postgres else "EXPLAIN QUERY PLAN"
    text += (
        f"\n\n<details><summary>{explain} of each query on {BACKEND_NAMES[backend]}</summary>\n\n" + "\n\n".join(plans) + "\n\n</details>"
    )
    return text


def query_why(backend: str, name: str, query: dict[str, Any], p50_ns: float, found: dict[str, Any]) -> str:
    if name == "counts_by_status":
        scanned = query.get("scanned_rows")
        return (
            f"`counts_by_status` counts every task ({millis(p50_ns)} at the median): "
            + (
                "the planner reads the whole table (cheaper than visiting every index entry). "
                if query["full_scan"]
                else f"the index serves it (an index-only scan{f' of about {round(scanned, -3):,} entries' if scanned else ''}, no table access, no sort), "
                "but it still visits one entry per task. "
            )
            + "No index makes an exact count over every row sub-millisecond; only a count kept up to date on write "
            "(a small per-status counter table maintained by triggers) would be, and the application's lists and reports do not need one."
        )
    generic = query.get("generic")
    if generic and (generic["sort"] or generic["full_scan"]):
        text = (
            f"`{name}` takes {millis(p50_ns)} at the median through the driver but {millis(percentile(query['unprepared_ns'], 0.5))} "
            f"unprepared: once the statement is prepared PostgreSQL switches to a generic plan, planned for an average user "
            f"({generic['estimated_rows']:,} rows expected), which "
            + ("scans the table" if generic["full_scan"] else "fetches the rows through a bitmap scan and sorts them")
            + f" — for this user {generic['scanned_rows']:,} rows to return 50 ({generic['execution_ms']:.1f} ms in EXPLAIN ANALYZE). "
            f"Expecting only {generic['estimated_rows']:,} rows, the planner sees nothing for the LIMIT to save, and with "
            f"`random_page_cost = {found.get('random_page_cost', '4')}` (the default, priced for spinning disks) a bitmap scan plus a "
            "small sort comes out a little cheaper than reading the index in order, which the custom plan does."
        )
        better = query.get("generic_rpc_1_1")
        if better and not (better["sort"] or better["full_scan"]):
            text += (
                f" With `random_page_cost = 1.1` (the usual value for SSD storage) the generic plan is the index scan "
                f"({better['execution_ms']:.2f} ms, plan below). Either that server setting, or `plan_cache_mode = force_custom_plan` "
                "on the application's connections, fixes it; no index change does (a partial index on open tasks gets the same generic plan)."
            )
        text += (
            " `todo_data.index_report` (notebook `03-index-usage`) finds this as `generic-plan-regression`, with both plans "
            "and these fixes as SQL (see [indexes.md](indexes.md#prepared-statements-the-generic-plan))."
        )
        text += (
            f" SQLModel's statement, which binds the LIMIT as a parameter as well, was not caught: "
            f"{millis(percentile(query['session_ns'], 0.5))} at the median, session included."
        )
        return text
    reason = "a full scan" if query["full_scan"] else "a sort" if query["sort"] else f"{millis(p50_ns)} at the median"
    return f"`{name}` misses with {reason}."


def render_report(backend: str, data: dict[str, Any], results: dict[str, Any], outcomes: list[Outcome]) -> str:
    runs = data.get("report")
    good = ok_runs(runs)
    if not good:
        outcomes.append(Outcome(backend, "report", "not measured", None, error_of(runs) or ""))
        return f"Not measured: {error_of(runs) or 'no run'}"
    rows = [
        [
            str(n),
            seconds(run["seconds"]),
            megabytes(run["tree_peak_rss"]),
            ", ".join(f"{role} {megabytes(size)}" for role, size in run.get("at_tree_peak", {}).items()),
            megabytes(run["largest_process_rss"]),
            f"{(run.get('html_bytes') or 0) / 1000:,.0f} kB",
        ]
        for n, run in enumerate(good, 1)
    ]
    median_seconds = statistics.median(run["seconds"] for run in good)
    tree_peak = max(run["tree_peak_rss"] for run in good)
    largest = max(run["largest_process_rss"] or 0 for run in good)
    time_ok, memory_ok = median_seconds < REPORT_SECONDS_TARGET, tree_peak < REPORT_RSS_TARGET
    why = []
    if not time_ok:
        why.append(f"the median run took {seconds(median_seconds)}")
    if not memory_ok:
        why.append(f"the process tree peaked at {megabytes(tree_peak)} (largest single process {megabytes(largest)})")
    outcomes.append(
        Outcome(backend, "report", f"{seconds(median_seconds)}, peak {megabytes(tree_peak)}", time_ok and memory_ok, "; ".join(why))
    )
    text = table(["run", "wall time", "peak RSS, whole process tree", "at that moment", "largest single process", "HTML"], rows)
    text += (
        f"\n\n- < {REPORT_SECONDS_TARGET:g} s end to end (median): {verdict(time_ok, over(median_seconds, REPORT_SECONDS_TARGET))} — {seconds(median_seconds)}."
        f"\n- Peak RSS < {megabytes(REPORT_RSS_TARGET)} (`todo-data` and its kernel together, the highest of the runs): "
        f"{verdict(memory_ok, over(tree_peak, REPORT_RSS_TARGET))} — {megabytes(tree_peak)}; the largest single process peaked at {megabytes(largest)}."
    )
    return text


def render_impact(backend: str, data: dict[str, Any], results: dict[str, Any], outcomes: list[Outcome]) -> str:
    runs = data.get("impact")
    good = ok_runs(runs)
    if not good:
        outcomes.append(Outcome(backend, "impact", "not measured", None, error_of(runs) or ""))
        return f"Not measured: {error_of(runs) or 'no run'}"
    fastest = min(run["seconds"] for run in good)
    met = fastest < IMPACT_SECONDS_TARGET
    outcomes.append(Outcome(backend, "impact", seconds(fastest), met, "" if met else f"the fastest run took {seconds(fastest)}"))
    findings = good[0].get("findings", [])
    text = table(
        ["run", "time", "peak RSS"], [[str(n), seconds(run["seconds"]), megabytes(run["peak_rss"])] for n, run in enumerate(good, 1)]
    )
    text += "\n\n" + table(
        ["rule", "severity", "rows"], [[rule, severity, "—" if count is None else f"{count:,}"] for rule, severity, count in findings]
    )
    text += f"\n\n- < {IMPACT_SECONDS_TARGET:g} s: {verdict(met, over(fastest, IMPACT_SECONDS_TARGET))} — {seconds(fastest)} (fastest run)."
    return text


def render_migration(backend: str, data: dict[str, Any], results: dict[str, Any], outcomes: list[Outcome]) -> str:
    migration = data.get("migration") or {}
    upgrade, ddl = best(migration.get("upgrade"), key=lambda r: r["seconds"]), best(migration.get("ddl_alone"), key=lambda r: r["seconds"])
    if not upgrade or not ddl:
        problem = error_of(migration.get("upgrade")) or error_of(migration.get("ddl_alone")) or data.get("errors", {}).get("migration", "")
        outcomes.append(Outcome(backend, "migration", "not measured", None, problem))
        return f"Not measured: {problem}"
    value = upgrade["seconds"] / ddl["seconds"]
    met = value <= MIGRATION_TARGET
    rows = []
    for peer, label, run in (
        ("ddl_alone", "the offline SQL of `001:head` run alone by the driver (the reference)", ddl),
        ("upgrade", "`todo_data.migrations.upgrade` (`todo-data db upgrade`)", upgrade),
    ):
        first = ok_runs(migration.get(peer))[0]
        check = first.get("differences_from_models")
        rows.append(
            [
                label,
                seconds(run["seconds"]),
                ratio(run["seconds"] / ddl["seconds"]),
                ", ".join(seconds(r["seconds"]) for r in ok_runs(migration.get(peer))),
                f"ends at {', '.join(first.get('revision', [])) or '?'}; "
                + ("schema matches the models" if check == [] else f"differences: {check}"),
            ]
        )
    seed_rows = migration.get("seed_rows", {})
    text = (
        f"A revision-001 database ({', '.join(f'{count:,} {ROW_NAMES.get(table, table)}' for table, count in seed_rows.items())}, "
        "naive timestamps) is copied "
        + ("with `CREATE DATABASE … TEMPLATE`" if backend == "postgresql" else "as a file")
        + " for every run, so each starts from identical bytes.\n\n"
    )
    text += table(["peer", "best time", f"{X} DDL alone", "runs", "result"], rows)
    why = "" if met else migration_why(backend, value)
    if backend == "sqlite" and migration.get("foreign_key_check_seconds") is not None:
        text += (
            f"\n\nOnline, revision 002 also runs `PRAGMA foreign_key_check` before and after each of its two table rebuilds, so no "
            f"rebuild can leave a broken reference behind; one check over this database takes {seconds(migration['foreign_key_check_seconds'])}, "
            f"four take {seconds(4 * migration['foreign_key_check_seconds'])}. The offline SQL has no such check (it cannot read the data). "
            "The rest of the difference is Alembic itself: loading the revisions, the version table, the row counts before and after."
        )
    outcomes.append(Outcome(backend, "migration", f"{ratio(value)} the DDL alone", met, why))
    text += f"\n\nTarget ≤ {MIGRATION_TARGET}{X} the DDL alone: {verdict(met, over(value, MIGRATION_TARGET))} — {ratio(value)}."
    if why:
        text += f" {why}"
    return text


def migration_why(backend: str, value: float) -> str:
    return f"The upgrade took {ratio(value)} the DDL's time."


SECTIONS: list[tuple[str, Callable[[str, dict[str, Any], dict[str, Any], list[Outcome]], str]]] = [
    ("load", render_load),
    ("read", render_read),
    ("export", render_export),
    ("queries", render_queries),
    ("report", render_report),
    ("impact", render_impact),
    ("migration", render_migration),
]


# --- the document --------------------------------------------------------------------------------------------


def machine_table(results: dict[str, Any]) -> str:
    info = results.get("machine", {})
    packages = ", ".join(f"{name} {version}" for name, version in info.get("packages", {}).items())
    rows = [
        ["CPU", f"{info.get('cpu')} — {info.get('cores')} cores ({info.get('usable_cores')} usable)"],
        ["RAM", f"{info.get('ram_bytes', 0) / 2**30:.1f} GiB"],
        ["OS", str(info.get("os"))],
        ["Python", str(info.get("python"))],
        ["PostgreSQL", str(info.get("postgresql", "not measured"))],
        ["PostgreSQL settings", ", ".join(f"{key}={value}" for key, value in info.get("pg_settings", {}).items()) or "—"],
        ["SQLite", f"{info.get('sqlite_pysqlite')} (Python's sqlite3), {info.get('sqlite_adbc', '?')} (inside adbc-driver-sqlite)"],
        ["packages", packages],
        [
            "load average (1, 5, 15 min)",
            "; ".join(f"{entry['at']}: {', '.join(f'{v:.2f}' for v in entry['values'])}" for entry in results.get("loadavg", [])),
        ],
    ]
    return table(["", ""], rows)


def render(results: dict[str, Any]) -> str:
    options = results["options"]
    outcomes: list[Outcome] = []
    bodies: dict[str, dict[str, str]] = {}
    for backend, data in results["backends"].items():
        bodies[backend] = {name: renderer(backend, data, results, outcomes) for name, renderer in SECTIONS}
    tasks, users = options["tasks"], options["users"]
    data = results.get("data", {})
    rows_generated = data.get("rows", {})
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{results['command']}` from the repository root, {results['started_at']} to {results.get('finished_at', '?')} UTC "
        f"({results.get('duration_seconds', 0) / 60:.1f} min). Do not edit by hand: run the command again. "
        "`benchmarks/README.md` says how the peers are measured.",
        "",
    ]
    if options.get("quick"):
        lines += ["> **Quick run** (small data, single runs): a try-out, not the figures the targets are about.", ""]
    lines += [
        f"Data: `todo_data.sample.generate(users={users}, tasks={tasks}, seed={options['seed']})` — "
        f"{rows_generated.get('users', 0):,} users, {rows_generated.get('tasks', 0):,} tasks, {rows_generated.get('dependencies', 0):,} "
        f"dependencies (generated in {seconds(data.get('seconds'))}). Every loading peer loads these same rows.",
        "",
        "## Targets",
        "",
        summary_table(outcomes, list(results["backends"])),
        "",
        "## Machine",
        "",
        machine_table(results),
        "",
        f"The machine has {results.get('machine', {}).get('cores')} cores and other work (test suites) may run beside the benchmark; the load average above shows how busy it was. "
        "Each peer runs in a fresh Python process, so its peak memory (`ru_maxrss`) and caches are its own.",
        "",
    ]
    titles = {
        "load": f"## Load {tasks:,} tasks + {users:,} users into an empty database at head",
        "read": f"## {tasks:,} tasks into pandas (`SELECT * FROM task`)",
        "export": f"## {tasks:,} tasks into a Parquet file",
        "queries": "## Canonical queries: the driver vs a SQLModel session",
        "report": f"## `04-task-report` through papermill on {tasks:,} tasks",
        "impact": f"## The data impact of a revision on {tasks:,} tasks (`todo-data db plan`, before the trace)",
        "migration": f"## A revision-001 database with {tasks:,} tasks → head",
    }
    intros = {
        "load": (
            "Each peer loads into its own fresh copy of an empty database at head (PostgreSQL: checkpointed first). "
            f"The floor and `load_sample` ran {options['load_repeats']}{X} each, alternating; the table shows the best run of each. "
            "`load_sample` generates its rows itself; its time here leaves that generation out (timed inside the same call), so "
            "every peer is measured from Arrow tables in memory to committed rows. The other peers ran once. The ORM loads "
            f"every user, the first {min(50_000, tasks):,} tasks and their dependencies, timed per table and scaled to every row."
        ),
        "read": (
            f"Each peer ran {options['read_repeats']}{X} in a fresh process, peers interleaved, after one discarded warm-up read. "
            "Time: the best run (other work on the machine only ever slows a run down; the median is in the notes). "
            "Memory: the median run. *Peak memory used* is the process's peak resident memory (`ru_maxrss`) less its resident memory "
            "after imports and before the read; every peer imports the same modules first. `pd.read_sql` is asked for UTC "
            "timestamps (`parse_dates`), the frame read_frame gives. PostgreSQL was `VACUUM (ANALYZE)`d after loading "
            "(autovacuum is off on this server)."
        ),
        "export": (
            f"Each peer ran {options['read_repeats']}{X} in a fresh process, interleaved, right after the reads: best time, median memory, "
            "as for the reads. The export streams Arrow record batches from a read-only connection into `pyarrow.parquet.ParquetWriter`, "
            "so its memory does not grow with the table; pandas holds every row as a DataFrame before writing."
        ),
        "queries": "",
        "report": (
            f"`todo-data report 04-task-report --database-url … --output-dir …` as a subprocess, {options['report_repeats']}{X}: wall time "
            "from start to exit, and resident memory of the whole process tree (the command and its Jupyter kernel) "
            "sampled every 20 ms; the largest single process comes from `wait4`."
        ),
        "impact": (
            "`todo_data.impact.impact` of a benchmark-only revision after head (`benchmarks/peers.py`: drop `task.description`, "
            "narrow `title` to 20 characters, make it unique, a CHECK on `priority`, a foreign key on `user_id`, NOT NULL on "
            f"`users.name`), measured read-only on the loaded database, {options['report_repeats']}{X} in a fresh process each."
        ),
        "migration": (
            f"`todo_data.migrations.upgrade` (what `todo-data db upgrade` runs) against the offline SQL of `todo_data.migrations.sql('001:head')` "
            f"executed alone by the bare driver (psycopg / sqlite3), alternating, {options['migration_repeats']}{X} each; best run shown."
        ),
    }
    for name, title in titles.items():
        lines += [title, ""]
        if intros[name]:
            lines += [intros[name], ""]
        for backend in results["backends"]:
            lines += [f"### {BACKEND_NAMES[backend]}", "", bodies[backend][name], ""]
            error = results["backends"][backend].get("errors", {}).get(name)
            if error:
                lines += [f"**This section failed:** {error}", ""]
    misses = [outcome for outcome in outcomes if outcome.met is False]
    lines += ["## Where targets are missed, and why", ""]
    if misses:
        lines += [f"- **{BACKEND_NAMES[o.backend]}, {o.work}** ({o.figure}): {o.why}" for o in misses]
    else:
        lines += ["Every target is met."]
    unmeasured = [outcome for outcome in outcomes if outcome.met is None]
    if unmeasured:
        lines += [
            "",
            "Not measured: " + "; ".join(f"{BACKEND_NAMES[o.backend]} {o.work} ({o.why or 'no result'})" for o in unmeasured) + ".",
        ]
    return "\n".join(lines).rstrip() + "\n"


def summary_table(outcomes: list[Outcome], backends: list[str]) -> str:
    works = [
        ("load", f"load ≤ {LOAD_TARGET}{X} the floor"),
        ("read time", f"read_frame ≤ {READ_TIME_TARGET}{X} raw ADBC time"),
        ("read memory", f"read_frame ≤ {READ_MEMORY_TARGET}{X} raw ADBC peak memory"),
        ("read vs pd.read_sql", f"read_frame ≥ {READ_SPEEDUP_TARGET:.0f}{X} faster than `pd.read_sql`"),
        ("queries", f"canonical queries index-backed, driver p50 < {QUERY_P50_TARGET_MS:g} ms"),
        ("report", f"04-task-report < {REPORT_SECONDS_TARGET:g} s, peak RSS < {megabytes(REPORT_RSS_TARGET)}"),
        ("impact", f"data impact of a revision < {IMPACT_SECONDS_TARGET:g} s"),
        ("migration", f"001 → head ≤ {MIGRATION_TARGET}{X} the DDL alone"),
    ]
    by_key = {(o.backend, o.work): o for o in outcomes}
    rows = []
    for work, label in works:
        cells = [label]
        for backend in backends:
            outcome = by_key.get((backend, work))
            cells.append("—" if outcome is None else f"{'✅' if outcome.met else '❌' if outcome.met is False else '…'} {outcome.figure}")
        rows.append(cells)
    return table(["target", *(BACKEND_NAMES[b] for b in backends)], rows)
