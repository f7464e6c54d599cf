"""What each benchmark peer does, run one at a time in a fresh process so peers share no memory, cache or connection.

``python -m benchmarks.peers SPEC_JSON OUT_JSON``: set the peer up (imports, data), note the resident memory,
run the timed part once, then write seconds, baseline and peak memory (``ru_maxrss``) and the peer's own
figures to OUT_JSON. Every loading peer starts from the same generated Arrow tables (``prepare`` writes them).
"""

from __future__ import annotations

import gc
import json
import re
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

TABLES = {"users": "users", "tasks": "task", "dependencies": "task_relationships"}  # file stem -> table, in load order
READ_SQL = "SELECT * FROM task"
PG_MAINTENANCE_WORK_MEM = "256MB"  # what load_sample gives its index builds; the floor gets the same

Runner = Callable[[], Any]


# --- data shared by the loading peers ------------------------------------------------------------------------


def read_data(data_dir: str) -> dict[str, pa.Table]:
    """The generated tables, memory-mapped from the Arrow files ``prepare`` wrote."""
    return {stem: pa.ipc.open_file(pa.memory_map(str(Path(data_dir) / f"{stem}.arrow"))).read_all() for stem in TABLES}


def prepare(data_dir: str, users: int, tasks: int, seed: int) -> Runner:
    """Generate the sample once (what load_sample generates for the same arguments) and write it as Arrow files."""
    from todo_data.sample import generate

    def run() -> dict[str, Any]:
        data = generate(users, tasks, seed)
        for stem in TABLES:
            table: pa.Table = getattr(data, stem)
            with pa.ipc.new_file(str(Path(data_dir) / f"{stem}.arrow"), table.schema) as writer:
                writer.write_table(table)
        return {"rows": {stem: getattr(data, stem).num_rows for stem in TABLES}}

    return run


def naive(table: pa.Table) -> pa.Table:
    """Timestamps without time zone, as revision 001 stores them (naive UTC)."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.timestamp("us")))
    return table


def sqlite_rows(table: pa.Table) -> Iterator[tuple[Any, ...]]:
    """Rows as Python tuples the way the models store them on SQLite (timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    for batch in table.to_batches(max_chunksize=100_000):
        columns = [sqlite_text(column) if pa.types.is_timestamp(column.type) else column for column in batch.columns]
        yield from zip(*(column.to_pylist() for column in columns), strict=True)


def sqlite_text(column: Any) -> Any:
    return pc.cast(column.cast(pa.timestamp("us")), pa.string())


def sqlite_arrow(table: pa.Table) -> pa.Table:
    """The table with its timestamps as SQLite text, for ADBC ingestion."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(index, field.name, sqlite_text(table.column(index)))
    return table


# --- PostgreSQL helpers --------------------------------------------------------------------------------------


def pg_adbc_uri(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


PG_OBJECTS = """
SELECT CASE c.contype WHEN 'f' THEN 0 ELSE 1 END AS step,
       format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
FROM pg_constraint c
WHERE c.conrelid = ANY (ARRAY[{tables}]::regclass[]) AND c.contype IN ('p', 'u', 'f', 'c')
UNION ALL
SELECT 2, format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY (ARRAY[{tables}]::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1, 2
"""


def pg_copy(url: str, tables: dict[str, pa.Table], *, bare: bool) -> dict[str, Any]:
    """COPY (ADBC, binary) into the tables in one transaction; ``bare``: drop every constraint and index first, rebuild after."""
    import adbc_driver_postgresql.dbapi

    with adbc_driver_postgresql.dbapi.connect(pg_adbc_uri(url)) as connection, connection.cursor() as cursor:
        present = [table for table in tables if table in _pg_tables(cursor)]
        restore: list[str] = []
        if bare:
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{PG_MAINTENANCE_WORK_MEM}'")
            cursor.execute(PG_OBJECTS.format(tables=", ".join(f"'{table}'" for table in present)))
            for _step, drop, create in cursor.fetchall():
                cursor.execute(drop)
                restore.insert(0, create)
        marks = [time.perf_counter()]
        for table, rows in tables.items():
            cursor.adbc_ingest(table, rows, mode="append")
        marks.append(time.perf_counter())
        for statement in restore:
            cursor.execute(statement)
        marks.append(time.perf_counter())
        connection.commit()
        marks.append(time.perf_counter())
        return _phases(marks, len(restore))


def _phases(marks: list[float], rebuilt: int) -> dict[str, Any]:
    """Seconds spent copying rows, rebuilding indexes and constraints, and committing."""
    return {
        "copy_seconds": marks[1] - marks[0],
        "rebuild_seconds": marks[2] - marks[1],
        "commit_seconds": marks[3] - marks[2],
        "rebuilt": rebuilt,
    }


def _pg_tables(cursor: Any) -> set[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {row[0] for row in cursor.fetchall()}


# --- SQLite helpers ------------------------------------------------------------------------------------------


def sqlite_insert(path: str, tables: dict[str, pa.Table], *, bare: bool, adbc: bool = False) -> dict[str, Any]:
    """Insert in one transaction (synchronous=NORMAL, as load_sample); ``bare``: drop the CREATE INDEX indexes first, rebuild after.

    ``adbc``: bind the Arrow columns in C through the ADBC SQLite driver instead of ``executemany`` over Python tuples.
    Foreign keys are off on these connections (SQLite's default), so ``bare`` checks every reference afterwards in one
    pass (``PRAGMA foreign_key_check``): the end state PostgreSQL's floor reaches by validating its restored foreign keys.
    """
    if adbc:
        import adbc_driver_sqlite.dbapi

        connection = adbc_driver_sqlite.dbapi.connect(path, autocommit=True)
        cursor = connection.cursor()

        def execute(statement: str) -> list[tuple[Any, ...]]:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    else:
        import sqlite3

        connection = sqlite3.connect(path, isolation_level=None)

        def execute(statement: str) -> list[tuple[Any, ...]]:
            return connection.execute(statement).fetchall()

    try:
        execute("PRAGMA synchronous = NORMAL")
        execute("BEGIN IMMEDIATE")
        restore: list[str] = []
        if bare:
            names = ", ".join(f"'{table}'" for table in tables)
            for name, sql in execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({names})"
            ):
                execute(f'DROP INDEX "{name}"')
                restore.append(sql)
        marks = [time.perf_counter()]
        for table, rows in tables.items():
            if adbc:
                cursor.adbc_ingest(table, sqlite_arrow(rows), mode="append")
            else:
                insert = f"INSERT INTO {table} ({', '.join(rows.column_names)}) VALUES ({', '.join('?' * rows.num_columns)})"
                connection.executemany(insert, sqlite_rows(rows))
        marks.append(time.perf_counter())
        for statement in restore:
            execute(statement)
        checked = None
        if bare:
            started = time.perf_counter()
            violations = execute("PRAGMA foreign_key_check")
            checked = time.perf_counter() - started
            if violations:
                raise RuntimeError(f"{len(violations)} rows break a foreign key, e.g. {violations[0]}")
        marks.append(time.perf_counter())
        execute("COMMIT")
        marks.append(time.perf_counter())
        return {**_phases(marks, len(restore)), **({"fk_check_seconds": checked} if checked is not None else {})}
    finally:
        if adbc:
            cursor.close()
        connection.close()


def sqlite_path(url: str) -> str:
    import sqlalchemy as sa

    return str(sa.make_url(url).database)


def _by_table(data_dir: str, url: str) -> dict[str, pa.Table]:
    """The generated tables by table name; the driver the peer will use is imported now, outside the timed part."""
    if url.startswith("postgresql"):
        import adbc_driver_postgresql.dbapi  # noqa: F401
    else:
        import adbc_driver_sqlite.dbapi  # noqa: F401
    return {TABLES[stem]: table for stem, table in read_data(data_dir).items()}


# --- loading peers -------------------------------------------------------------------------------------------


def load_sample(url: str, users: int, tasks: int, seed: int) -> Runner:
    """``todo_data.sample.load_sample`` as ``todo-data sample`` calls it; its own generation is timed apart."""
    import adbc_driver_postgresql.dbapi  # noqa: F401  (imported when first used: import it before the clock starts)
    import tqdm.auto  # noqa: F401

    from todo_data import sample

    generate = sample.generate
    spent: list[float] = []

    def timed_generate(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return generate(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    sample.generate = timed_generate  # type: ignore[assignment]

    def run() -> dict[str, Any]:
        result = sample.load_sample(url, users=users, tasks=tasks, seed=seed, progress=False)
        return {"generate_seconds": sum(spent), "rows": {"users": result.users, "tasks": result.tasks, "dependencies": result.dependencies}}

    return run


def floor(url: str, data_dir: str) -> Runner:
    """The floor: COPY into bare tables (PostgreSQL), or insert into tables without secondary indexes (SQLite), then build them."""
    return _copy(url, data_dir, bare=True)


def floor_adbc(url: str, data_dir: str) -> Runner:
    """SQLite only: the floor with ADBC's bulk ingestion (Arrow columns bound in C) instead of ``executemany``."""
    tables = _by_table(data_dir, url)
    return lambda: sqlite_insert(sqlite_path(url), tables, bare=True, adbc=True)


def copy_indexed(url: str, data_dir: str) -> Runner:
    """COPY (PostgreSQL) or ``executemany`` (SQLite) into the tables with every index and constraint in place."""
    return _copy(url, data_dir, bare=False)


def _copy(url: str, data_dir: str, *, bare: bool) -> Runner:
    tables = _by_table(data_dir, url)
    if url.startswith("postgresql"):
        return lambda: pg_copy(url, tables, bare=bare)
    return lambda: sqlite_insert(sqlite_path(url), tables, bare=bare)


def to_sql(url: str, data_dir: str) -> Runner:
    """``DataFrame.to_sql(..., if_exists="append")`` over a plain SQLAlchemy engine, table by table (pandas' defaults)."""
    import pandas as pd
    import sqlalchemy as sa

    frames: dict[str, pd.DataFrame] = {table: rows.to_pandas() for table, rows in _by_table(data_dir, url).items()}
    engine = sa.create_engine(url)

    def run() -> dict[str, Any]:
        for table, frame in frames.items():
            frame.to_sql(table, engine, if_exists="append", index=False)
        engine.dispose()
        return {}

    return run


def orm_add_all(url: str, data_dir: str, sample_tasks: int) -> Runner:
    """SQLModel ``session.add_all`` of every user, the first ``sample_tasks`` tasks and their dependencies, then commit.

    Each table is flushed and timed on its own, so the caller can scale tasks and dependencies to the full count.
    """
    from sqlmodel import Session

    from todo_data.db import get_engine
    from todo_data.models import Task, TaskRelationship, User

    data = read_data(data_dir)
    users = data["users"].to_pylist()
    tasks = data["tasks"].slice(0, sample_tasks).to_pylist()
    dependencies = data["dependencies"]
    dependencies = dependencies.filter(pc.less_equal(dependencies["parent_task_id"], sample_tasks)).to_pylist()
    full = {"users": data["users"].num_rows, "tasks": data["tasks"].num_rows, "dependencies": data["dependencies"].num_rows}
    engine = get_engine(url)

    def run() -> dict[str, Any]:
        seconds: dict[str, float] = {}
        with Session(engine) as session:
            for name, model, rows in (("users", User, users), ("tasks", Task, tasks), ("dependencies", TaskRelationship, dependencies)):
                started = time.perf_counter()
                session.add_all([model(**row) for row in rows])
                session.flush()
                seconds[name] = time.perf_counter() - started
            started = time.perf_counter()
            session.commit()
            seconds["commit"] = time.perf_counter() - started
        measured = {"users": len(users), "tasks": len(tasks), "dependencies": len(dependencies)}
        scaled = seconds["commit"] + sum(seconds[name] * full[name] / max(measured[name], 1) for name in measured)
        return {"parts": seconds, "measured_rows": measured, "full_rows": full, "extrapolated_seconds": scaled}

    return run


def fill_seed(url: str, data_dir: str) -> Runner:
    """Fill a revision-001 database (users and task only, naive timestamps) from the generated rows: setup, not measured."""
    tables = {TABLES[stem]: naive(table) for stem, table in read_data(data_dir).items() if stem != "dependencies"}
    if url.startswith("postgresql"):
        return lambda: pg_copy(url, tables, bare=True)
    return lambda: sqlite_insert(sqlite_path(url), tables, bare=True)


def upgrade(url: str) -> Runner:
    """``todo_data.migrations.upgrade`` to head, as ``todo-data db upgrade`` runs it."""
    from todo_data import migrations

    def run() -> dict[str, Any]:
        result = migrations.upgrade(url)
        return {"before": list(result.before), "after": list(result.after), "rows_after": result.rows_after}

    return run


def ddl_alone(url: str, script: str) -> Runner:
    """The offline SQL of ``001:head`` (``todo_data.migrations.sql``) executed as one script by the bare driver."""
    if url.startswith("postgresql"):
        import psycopg

        conninfo = pg_adbc_uri(url)

        def run_pg() -> dict[str, Any]:
            with psycopg.connect(conninfo, autocommit=True) as connection:
                connection.execute(script)  # several statements, no parameters: one simple-protocol round trip
            return {}

        return run_pg
    import sqlite3

    path = sqlite_path(url)

    def run_sqlite() -> dict[str, Any]:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.executescript(script)
        finally:
            connection.close()
        return {}

    return run_sqlite


# --- reading peers -------------------------------------------------------------------------------------------


def _read_imports() -> None:
    """Every reading peer imports the same modules before its baseline is taken, so baselines compare."""
    import adbc_driver_postgresql.dbapi  # noqa: F401
    import adbc_driver_sqlite.dbapi  # noqa: F401
    import pandas  # noqa: F401
    import sqlalchemy  # noqa: F401

    import todo_data.frames  # noqa: F401


def read_frame(url: str) -> Runner:
    """``todo_data.frames.read_frame`` (ADBC, Arrow, timestamps as UTC)."""
    _read_imports()
    from todo_data.frames import read_frame as read

    return lambda: read(READ_SQL, database_url=url)


def read_frame_held_open(url: str) -> Runner:
    """``read_frame`` while the process also holds the SQLite file open through ``sqlite3``: the read runs in a child process."""
    _read_imports()
    import sqlite3

    import sqlalchemy as sa

    from todo_data.frames import read_frame as read

    held = sqlite3.connect(sa.make_url(url).database or "")
    held.execute("SELECT count(*) FROM users").fetchall()  # the file and its -wal and -shm open, as a notebook's connection has them

    def run() -> Any:
        assert held.execute("SELECT 1").fetchone() == (1,)
        return read(READ_SQL, database_url=url)

    return run


def read_sql(url: str) -> Runner:
    """``pd.read_sql`` over a plain SQLAlchemy engine, timestamps parsed to UTC as read_frame gives them."""
    _read_imports()
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    parse = {"created_at": {"utc": True}, "updated_at": {"utc": True}}
    return lambda: pd.read_sql(sa.text(READ_SQL), engine, parse_dates=parse)


def raw_adbc(url: str) -> Runner:
    """The driver alone: ADBC connect, execute, ``fetch_arrow_table().to_pandas()``; nothing converted."""
    _read_imports()
    import sqlalchemy as sa

    from todo_data.backends.postgresql.reads import libpq_uri
    from todo_data.backends.sqlite.files import read_uri as sqlite_uri

    parsed = sa.make_url(url)
    if url.startswith("postgresql"):
        import adbc_driver_postgresql.dbapi as driver

        uri = libpq_uri(parsed)
    else:
        import adbc_driver_sqlite.dbapi as driver  # type: ignore[no-redef]

        uri = sqlite_uri(parsed)

    def run() -> Any:
        with driver.connect(uri) as connection, connection.cursor() as cursor:
            cursor.execute(READ_SQL)
            return cursor.fetch_arrow_table().to_pandas()

    return run


def raw_adbc_parsed(url: str) -> Runner:
    """SQLite's like-for-like: the raw ADBC read plus the one step read_frame adds there, timestamps text -> UTC in Arrow."""
    _read_imports()
    import adbc_driver_sqlite.dbapi as driver
    import sqlalchemy as sa

    from todo_data.backends.sqlite.files import read_uri

    uri = read_uri(sa.make_url(url))
    utc = pa.timestamp("us", tz="UTC")

    def run() -> Any:
        with driver.connect(uri) as connection, connection.cursor() as cursor:
            cursor.execute(READ_SQL)
            table = cursor.fetch_arrow_table()
        for name in ("created_at", "updated_at"):
            index = table.schema.get_field_index(name)
            table = table.set_column(index, name, table.column(index).cast(pa.timestamp("us")).cast(utc))
        return table.to_pandas()

    return run


def connectorx(url: str) -> Runner:
    """connectorx's ``read_sql(..., return_type="pandas")``, if it is installed."""
    _read_imports()
    import connectorx as cx
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if url.startswith("postgresql"):
        conn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    else:
        conn = f"sqlite://{Path(str(parsed.database)).resolve()}"
    return lambda: cx.read_sql(conn, READ_SQL, return_type="pandas")


# --- canonical queries ---------------------------------------------------------------------------------------


def _orm_statements(params: dict[str, Any]) -> dict[str, Any]:
    import sqlalchemy as sa
    from sqlmodel import select

    from todo_data.models import Task, TaskRelationship

    user_id, task_id = params["user_id"], params["task_id"]
    return {
        "user_newest_tasks": select(Task).where(Task.user_id == user_id).order_by(Task.created_at.desc()).limit(50),
        "user_open_tasks": select(Task)
        .where(Task.user_id == user_id, Task.completed == sa.false())
        .order_by(Task.created_at.desc())
        .limit(50),
        "counts_by_status": select(Task.completed, sa.func.count()).group_by(Task.completed),
        "newest_overall": select(Task).order_by(Task.created_at.desc()).limit(50),
        "task_dependencies": select(TaskRelationship.child_task_id).where(TaskRelationship.parent_task_id == task_id),
    }


def queries(url: str, budget_seconds: float = 2.0, max_calls: int = 500, min_calls: int = 15) -> Runner:
    """Each canonical query through the bare driver and through a SQLModel session, calls alternating, plus its plans.

    The driver is used as it comes: psycopg prepares a statement from its fifth call, after which PostgreSQL may run
    it with a generic plan; on PostgreSQL the same query is also timed unprepared (a custom plan every call).
    """
    from sqlmodel import Session

    from todo_data.db import get_engine
    from todo_data.indexes import CANONICAL_QUERIES, canonical_parameters

    engine = get_engine(url)
    with engine.connect() as connection:
        params = canonical_parameters(connection)
    postgres = url.startswith("postgresql")
    if postgres:
        import psycopg

        driver = psycopg.connect(pg_adbc_uri(url), autocommit=True)
    else:
        import sqlite3

        driver = sqlite3.connect(sqlite_path(url), isolation_level=None)

    def run() -> dict[str, Any]:
        results: dict[str, Any] = {"parameters": params}
        if postgres:
            results["random_page_cost"] = driver.execute("SHOW random_page_cost").fetchone()[0]
        orm = _orm_statements(params)
        for name, statement in CANONICAL_QUERIES.items():
            sql = re.sub(r":(\w+)", r"%(\1)s", statement.text) if postgres else statement.text
            bound = {key: params[key] for key in statement.compile().params}
            calls: dict[str, Callable[[], int]] = {
                "driver": lambda sql=sql, bound=bound: len(driver.execute(sql, bound).fetchall()),
                "session": lambda query=orm[name]: _session_rows(Session, engine, query),
            }
            if postgres:
                calls["unprepared"] = lambda sql=sql, bound=bound: len(driver.execute(sql, bound, prepare=False).fetchall())
            rows = {label: call() for label, call in calls.items()}
            for _ in range(5):  # warm: statement caches, buffers; psycopg prepares on the fifth call
                for call in calls.values():
                    call()
            probe = sum(_clock_ns(call) for call in calls.values()) / 1e9
            count = int(min(max_calls, max(min_calls, budget_seconds / max(probe, 1e-6))))
            timings: dict[str, list[int]] = {label: [] for label in calls}
            for _ in range(count):
                for label, call in calls.items():
                    timings[label].append(_clock_ns(call))
            results[name] = {
                "sql": statement.text,
                "bound": bound,
                "rows": rows["driver"],
                "calls": count,
                **{f"{label}_ns": values for label, values in timings.items()},
                **(_pg_plans(driver, statement.text, bound) if postgres else _sqlite_plan(driver, sql, bound)),
            }
        driver.close()
        engine.dispose()
        return results

    return run


def _session_rows(session_class: Any, engine: Any, query: Any) -> int:
    with session_class(engine) as session:
        return len(session.exec(query).all())


def _clock_ns(call: Callable[[], Any]) -> int:
    started = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - started


def _pg_plans(driver: Any, sql: str, bound: dict[str, Any]) -> dict[str, Any]:
    """The custom plan (values known), and for a query with parameters the generic plan a prepared statement may switch to.

    Where the generic plan sorts or scans the table, it is explained once more with ``random_page_cost = 1.1``.
    """
    names = list(dict.fromkeys(re.findall(r":(\w+)", sql)))
    literal = {
        name: str(bound[name]) if isinstance(bound[name], int) else "'" + str(bound[name]).replace("'", "''") + "'" for name in names
    }
    inline = re.sub(r":(\w+)", lambda match: literal[match.group(1)], sql)
    found = {"plan": _pg_text(driver, inline), **_pg_shape(driver, inline)}
    if not names:
        return found
    positional = re.sub(r":(\w+)", lambda match: f"${names.index(match.group(1)) + 1}", sql)
    driver.execute(f"PREPARE bench_query AS {positional}")
    execute = f"EXECUTE bench_query({', '.join(literal[name] for name in names)})"
    try:
        driver.execute("SET plan_cache_mode = force_generic_plan")
        generic = _pg_shape(driver, execute)
        found.update({f"generic_{key}": value for key, value in generic.items()}, generic_plan=_pg_text(driver, execute))
        if generic["full_scan"] or generic["sort"]:
            driver.execute("SET random_page_cost = 1.1")
            driver.execute("DEALLOCATE bench_query")  # a prepared statement keeps its cached plan: prepare it afresh
            driver.execute(f"PREPARE bench_query AS {positional}")
            found["generic_plan_rpc_1_1"] = _pg_text(driver, execute)
            found["generic_rpc_1_1"] = _pg_shape(driver, execute)
    finally:
        driver.execute("RESET random_page_cost")
        driver.execute("RESET plan_cache_mode")
        driver.execute("DEALLOCATE bench_query")
    return found


def _pg_text(driver: Any, statement: str) -> str:
    return "\n".join(row[0] for row in driver.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", prepare=False).fetchall())


def _pg_shape(driver: Any, statement: str) -> dict[str, Any]:
    """Indexes used, a sequential scan or a sort anywhere, rows the scans read, and the execution time."""
    document = driver.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", prepare=False).fetchone()[0]
    document = json.loads(document) if isinstance(document, str) else document
    nodes, stack = [], [document[0]["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    scans = [node for node in nodes if "Scan" in node["Node Type"]]
    return {
        "indexes": sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
        "full_scan": any(node["Node Type"] in ("Seq Scan", "Parallel Seq Scan") for node in nodes),
        "sort": any(node["Node Type"] in ("Sort", "Incremental Sort") for node in nodes),
        "scanned_rows": max((node["Actual Rows"] * node.get("Actual Loops", 1) for node in scans), default=0),
        "estimated_rows": max((node["Plan Rows"] for node in scans), default=0),
        "execution_ms": document[0]["Execution Time"],
    }


# --- export peers --------------------------------------------------------------------------------------------


def export_parquet(url: str, out_dir: str) -> Runner:
    """``todo_data.export.export("tasks", ...)`` as ``todo-data export tasks`` runs it: Arrow batches streamed into Parquet."""
    _read_imports()
    import pyarrow.parquet  # noqa: F401

    from todo_data.export import export

    def run() -> dict[str, Any]:
        (written,) = export("tasks", out_dir, format="parquet", database_url=url).files
        return {"rows": written.rows, "bytes": written.path.stat().st_size}

    return run


def read_sql_parquet(url: str, out_dir: str) -> Runner:
    """The pandas way: ``pd.read_sql`` of every task over a SQLAlchemy engine (UTC timestamps), then ``DataFrame.to_parquet``."""
    _read_imports()
    import pandas as pd
    import pyarrow.parquet  # noqa: F401
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    parse = {"created_at": {"utc": True}, "updated_at": {"utc": True}}
    path = Path(out_dir) / "tasks-read-sql.parquet"

    def run() -> dict[str, Any]:
        frame = pd.read_sql(sa.text(f"{READ_SQL} ORDER BY id"), engine, parse_dates=parse)
        frame.to_parquet(path, index=False)
        return {"rows": len(frame), "bytes": path.stat().st_size}

    return run


def _sqlite_plan(driver: Any, sql: str, bound: dict[str, Any]) -> dict[str, Any]:
    """``EXPLAIN QUERY PLAN`` read as the index report reads it: whether an index serves the query, no scan, no temporary sort."""
    from todo_data.indexes import sqlite_plan_shape

    shape = sqlite_plan_shape(driver.execute(f"EXPLAIN QUERY PLAN {sql}", bound).fetchall())
    return {"plan": shape["plan"], "indexes": shape["indexes_used"], "full_scan": shape["full_scan"], "sort": shape["temp_sort"]}


IMPACT_UPGRADE = """
with op.batch_alter_table("task") as batch_op:
    batch_op.drop_column("description")
    batch_op.alter_column("title", existing_type=sa.String(200), type_=sa.String(20))
    batch_op.create_unique_constraint("uq_task_title", ["title"])
    batch_op.create_check_constraint("priority_known", "priority IN ('low', 'medium', 'high')")
    batch_op.create_foreign_key("fk_task_user_again", "users", ["user_id"], ["id"])
with op.batch_alter_table("users") as batch_op:
    batch_op.alter_column("name", existing_type=sa.String(255), nullable=False)
"""
IMPACT_DOWNGRADE = """
with op.batch_alter_table("task") as batch_op:
    batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
"""


def impact_scripts(folder: str) -> str:
    """A copy of the chain with a benchmark-only revision after its head that meets data seven ways (``impact``'s peer)."""
    import shutil
    import textwrap

    from todo_data import chain

    scripts = Path(folder)
    shutil.copytree(Path(chain.alembic_config().get_main_option("script_location") or ""), scripts, dirs_exist_ok=True)
    head = chain.head()
    number = f"{int(head) + 1:03d}"

    def body(text: str) -> str:
        return textwrap.indent(textwrap.dedent(text).strip() + "\n", "    ")

    (scripts / "versions" / f"{number}_benchmark_only.py").write_text(
        f'"""Benchmark only."""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\nrevision = "{number}"\ndown_revision = "{head}"\n\n\n'
        f"def upgrade() -> None:\n{body(IMPACT_UPGRADE)}\n\ndef downgrade() -> None:\n{body(IMPACT_DOWNGRADE)}"
    )
    return str(scripts)


def impact(url: str, script_location: str) -> Runner:
    """``todo_data.impact.impact`` (what ``todo-data db plan`` measures first) of the benchmark-only revision, read-only."""
    from todo_data.impact import impact as measure

    def run() -> dict[str, Any]:
        found = measure(url, script_location=script_location)
        return {"findings": [[item.rule, item.severity, item.count] for item in found]}

    return run


PEERS: dict[str, Callable[..., Runner]] = {
    "prepare": prepare,
    "load_sample": load_sample,
    "floor": floor,
    "floor_adbc": floor_adbc,
    "copy_indexed": copy_indexed,
    "to_sql": to_sql,
    "orm_add_all": orm_add_all,
    "fill_seed": fill_seed,
    "upgrade": upgrade,
    "ddl_alone": ddl_alone,
    "read_frame": read_frame,
    "read_frame_held_open": read_frame_held_open,
    "read_sql": read_sql,
    "raw_adbc": raw_adbc,
    "raw_adbc_parsed": raw_adbc_parsed,
    "connectorx": connectorx,
    "queries": queries,
    "export_parquet": export_parquet,
    "read_sql_parquet": read_sql_parquet,
    "impact": impact,
}


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _describe(value: Any) -> dict[str, Any]:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return {"rows": len(value), "dtypes": {str(name): str(dtype) for name, dtype in value.dtypes.items()}}
    return dict(value or {})


def main(argv: list[str]) -> int:
    spec, out = json.loads(argv[1]), Path(argv[2])
    try:
        run = PEERS[spec["peer"]](**spec.get("args", {}))
        gc.collect()
        baseline = _rss()
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        value = run()
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        result = {
            "seconds": seconds,
            "cpu_seconds": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            "baseline_rss": baseline,
            "peak_rss": after.ru_maxrss * 1024,  # kilobytes on Linux
            "child_peak_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,  # the largest waited-for child
            **_describe(value),
        }
        del value
    except BaseException as exc:
        lines = str(exc).strip().splitlines()
        out.write_text(json.dumps({"error": f"{type(exc).__name__}: {lines[0] if lines else ''}", "traceback": traceback.format_exc()}))
        return 1
    out.write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
