"""Loading a sample in one transaction: each backend's load target (``todo_data/backends/*/load.py``) takes the rows,
PostgreSQL through ADBC (COPY BINARY), SQLite through ADBC's bulk ingest in a child process; into empty tables both drop
the secondary indexes and constraints first and restore them exactly afterwards, inside the same transaction."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine import URL

from todo_data import migrations
from todo_data.backends import backend_for
from todo_data.backends.load import LoadTarget
from todo_data.db import resolve_url, translate_errors
from todo_data.errors import ConfigurationError, MigrationError
from todo_data.models import metadata
from todo_data.sample.columns import column_renames, conform, table_columns
from todo_data.sample.generate import CHUNK_ROWS, TABLES, SampleData, check_arguments, generate, uuid4_strings
from todo_data.settings import mask_url
from todo_data.standby import require_primary


@dataclass(frozen=True)
class SampleResult:
    """What a sample load did."""

    database: str
    users: int
    tasks: int
    dependencies: int
    skipped: bool = False

    def describe(self) -> str:
        if self.skipped:
            return f"{self.database}: already holds data; sample load skipped"
        return f"{self.database}: loaded {self.users} users, {self.tasks} tasks, {self.dependencies} dependencies"


# --- loading --------------------------------------------------------------------------------------


def load_sample(
    database_url: str | URL | None = None,
    *,
    users: int = 20,
    tasks: int = 200,
    seed: int = 0,
    append: bool = False,
    if_empty: bool = False,
    anomalies: bool = False,
    progress: bool | None = None,
    now: datetime | None = None,
    any_revision: bool = False,
) -> SampleResult:
    """Generate sample data and bulk-load it in one transaction: a failure leaves the database as it was.

    Refuses tables that hold rows unless ``append`` (fresh user ids and e-mails, task ids after the
    largest); ``if_empty`` skips them quietly instead. Into empty tables the secondary indexes and
    constraints are dropped for the load and restored exactly, by name. ``progress``: a bar on stderr
    (None: when stderr is a terminal). ``now``: see :func:`generate`. ``any_revision``: load a database at any revision
    (a scratch database a migration trace fills): the rows are written in the columns each table has there
    (:func:`conform`), and a table it does not have yet is left out.
    """
    if append and if_empty:
        raise ConfigurationError("append and if_empty exclude each other: pass at most one of them.")
    check_arguments(users, tasks, seed)
    url = resolve_url(database_url)
    state = migrations.status(url)
    if not state.at_head and not any_revision:
        raise MigrationError(
            f"{mask_url(url)} is at {', '.join(state.current) or 'no revision'}, not at head ({state.head}): run `todo-data db upgrade` first."
        )
    require_primary(url, "sample")
    show = sys.stderr.isatty() if progress is None else progress
    shapes = table_columns(url)
    renamed = column_renames(url, state.current)
    target = backend_for(url).load_target(url, tuple(table for table in TABLES.values() if table in shapes))
    with translate_errors(url), _progress_bar(show) as bar, target:
        holding = target.tables_holding_rows()
        if holding and if_empty:
            return SampleResult(mask_url(url), 0, 0, 0, skipped=True)
        if holding and not append:
            raise ConfigurationError(
                f"{mask_url(url)} already holds rows ({', '.join(holding)}): pass --append to add to them, or use an empty database."
            )
        data = generate(users, tasks, seed, now=now, anomalies=anomalies)
        bar.reset(total=data.users.num_rows + data.tasks.num_rows + data.dependencies.num_rows)
        restore: list[str] = []
        if holding:
            data = _renumbered(data, target, seed)
        else:
            restore = target.drop_secondary()
        for name, table in TABLES.items():
            bar.set_description(name)
            if table in shapes:
                rows = conform(getattr(data, name), shapes[table], metadata.tables.get(table), renamed.get(table))
                _load_rows(target, table, rows, bar)
        bar.set_description("indexes")
        for done, statement in enumerate(restore, 1):
            target.execute(statement)
            bar.set_postfix_str(f"{done}/{len(restore)}")
        target.finish()
        target.commit()
    return SampleResult(mask_url(url), data.users.num_rows, data.tasks.num_rows, data.dependencies.num_rows)


def _load_rows(target: LoadTarget, table: str, rows: pa.Table, bar: Any) -> None:
    """Copy one table's rows in chunks, moving the progress bar as each chunk goes."""

    def chunks() -> Iterator[pa.RecordBatch]:
        for batch in rows.to_batches(max_chunksize=CHUNK_ROWS):
            yield batch
            bar.update(batch.num_rows)

    target.copy(table, pa.RecordBatchReader.from_batches(rows.schema, chunks()))


def _renumbered(data: SampleData, target: LoadTarget, seed: int) -> SampleData:
    """The rows moved past what the tables hold: ids after the largest, new user ids, e-mails tagged ``+b<batch>``."""
    batch = 2
    while target.email_tag_used(f"+b{batch}@"):
        batch += 1
    task_offset, dependency_offset = target.max_ids()
    new_ids = uuid4_strings(np.random.default_rng([seed, batch]), data.users.num_rows)
    users = data.users.set_column(0, "id", new_ids)
    users = users.set_column(1, "email", pc.replace_substring(users["email"], "@", f"+b{batch}@"))
    tasks = data.tasks.set_column(0, "id", pc.add_checked(data.tasks["id"], np.int32(task_offset)))
    tasks = tasks.set_column(1, "user_id", new_ids.take(pc.index_in(data.tasks["user_id"], value_set=data.users["id"])))
    dependencies = data.dependencies
    for position, name, offset in ((0, "id", dependency_offset), (1, "parent_task_id", task_offset), (2, "child_task_id", task_offset)):
        dependencies = dependencies.set_column(position, name, pc.add_checked(dependencies[name], np.int32(offset)))
    anomalies = {kind: [task_id + task_offset for task_id in task_ids] for kind, task_ids in data.anomalies.items()}
    return SampleData(users, tasks, dependencies, anomalies)


@contextlib.contextmanager
def _progress_bar(show: bool) -> Iterator[Any]:
    from tqdm.auto import tqdm

    with tqdm(unit="row", disable=not show, file=sys.stderr, leave=False, desc="sample") as bar:
        yield bar
