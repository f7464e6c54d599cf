"""SQLite's bulk load target: ADBC's bulk ingest (Arrow columns bound in C), run by a child process that alone touches the file."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import tempfile
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from todo_data.backends.load import LoadTarget
from todo_data.backends.sqlite.child import sqlite_child_ended, start_sqlite_child
from todo_data.backends.sqlite.engine import SQLITE_BUSY_TIMEOUT_MS
from todo_data.backends.sqlite.files import write_uri
from todo_data.db import describe_connection_error
from todo_data.errors import ConnectionFailed


class SqliteLoadTarget(LoadTarget):
    """SQLite through ADBC's bulk ingest (Arrow columns bound in C), run by a child process that alone touches the file.

    A child, not this process: the ADBC driver carries its own copy of SQLite, and two copies in one process can drop
    each other's POSIX locks on the same file (https://sqlite.org/howtocorrupt.html#multiple_copies_of_sqlite_linked_into_the_same_application).
    Every statement of the load runs in the child's one ``BEGIN IMMEDIATE`` transaction; this process opens no connection
    of its own for the load and holds no transaction meanwhile. The child commits only when told to: if this process dies, the child reads end of input and
    rolls back; if the child dies, SQLite discards the uncommitted transaction. Constraints live in SQLite's table
    definitions, so only ``CREATE INDEX`` indexes are dropped and rebuilt.
    """

    process: subprocess.Popen[bytes] | None = None

    def open(self) -> None:
        uri = write_uri(self.url)
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self.process = start_sqlite_child(self.stderr, _loader)
        try:
            self._call({"op": "connect", "uri": uri})
        except sqlite3.Error as exc:
            raise ConnectionFailed(describe_connection_error(exc, self.url)) from None
        self.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        self.execute("PRAGMA foreign_keys = ON")  # as every engine connection: the rows are checked on the way in
        if self.execute("PRAGMA synchronous")[0][0] > 1:
            # NORMAL skips the fsync per commit (WAL: at checkpoints only); a failed load still rolls back. The cost:
            # a power cut right after the load may lose it (never corrupts a WAL database). Only the child's connection has it.
            self.execute("PRAGMA synchronous = NORMAL")
        self.execute("BEGIN IMMEDIATE")  # the write lock now: one loader at a time, no lock upgrade later

    def close(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        try:
            with contextlib.suppress(OSError):
                process.stdin.close()  # type: ignore[union-attr]  # end of input: the child rolls back what is not committed
            try:
                process.wait(timeout=CHILD_EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()  # an uncommitted transaction dies with it
                process.wait()
        finally:
            process.stdout.close()  # type: ignore[union-attr]
            self.stderr.close()

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        """Nothing to send: :meth:`close` ends the child's input, and the child rolls back what it did not commit."""

    def execute(self, statement: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._call({"op": "execute", "sql": statement})]

    def copy(self, table: str, rows: pa.RecordBatchReader) -> None:
        schema = pa.schema([field.with_type(pa.string()) if pa.types.is_timestamp(field.type) else field for field in rows.schema])
        self._send({"op": "copy", "table": table})
        try:
            with pa.ipc.new_stream(self.process.stdin, schema) as writer:  # type: ignore[union-attr]
                for batch in rows:
                    columns = [_datetime_text(column) if pa.types.is_timestamp(column.type) else column for column in batch.columns]
                    writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            self.process.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            raise self._gone() from None
        self._reply()

    def drop_secondary(self) -> list[str]:
        names = ", ".join(f"'{table}'" for table in self.tables)
        rows = self.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({names})")
        for name, _sql in rows:
            self.execute(f'DROP INDEX "{name}"')
        return [sql for _name, sql in rows]

    def finish(self) -> None:
        # New rowids follow the largest id by themselves. Statistics: refresh them where someone keeps them;
        # where no ANALYZE ever ran, the planner goes on without, as before.
        if self.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"):
            for table in self.tables:
                self.execute(f"ANALYZE {table}")

    def _call(self, request: dict[str, Any]) -> Any:
        self._send(request)
        return self._reply()

    def _send(self, request: dict[str, Any]) -> None:
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")  # type: ignore[union-attr]
            self.process.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            raise self._gone() from None

    def _reply(self) -> Any:
        """The child's answer to the last request; its error raised as the ``sqlite3`` error of the same name."""
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise self._gone()
        reply = json.loads(line)
        if "error" in reply:
            error = getattr(sqlite3, reply["kind"], None)
            raise (error if isinstance(error, type) and issubclass(error, sqlite3.Error) else sqlite3.DatabaseError)(reply["error"])
        return reply["result"]

    def _gone(self) -> sqlite3.Error:
        return sqlite3.OperationalError(sqlite_child_ended(self.process, self.stderr, "loader"))  # type: ignore[arg-type]


CHILD_EXIT_SECONDS = 10  # what the child gets to roll back and close after its input ends, before it is killed


def _loader() -> None:
    """The loader process's side of :class:`SqliteLoadTarget`, run by ``python -c`` (it imports nothing of todo_data).

    One JSON request per line on stdin (an Arrow IPC stream follows each ``copy``), one JSON reply per line on stdout.
    At end of input it rolls back whatever was not committed and exits.
    """
    import contextlib
    import json
    import re
    import sys

    import adbc_driver_manager
    import adbc_driver_sqlite
    import pyarrow as pa

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    database = connection = None

    def run(sql: str) -> list[list[object]]:
        statement = adbc_driver_manager.AdbcStatement(connection)
        try:
            statement.set_sql_query(sql)
            handle, _ = statement.execute_query()
            table = pa.RecordBatchReader._import_from_c(handle.address).read_all()
        finally:
            statement.close()
        return [list(row) for row in zip(*(column.to_pylist() for column in table.columns), strict=True)]

    def ingest(table: str) -> int:
        stream = pa.ipc.open_stream(requests)
        statement = adbc_driver_manager.AdbcStatement(connection)
        try:
            statement.set_options(**{"adbc.ingest.target_table": table, "adbc.ingest.mode": "adbc.ingest.mode.append"})
            statement.bind_stream(pa.RecordBatchReader.from_batches(stream.schema, (batch for batch in stream)))
            return statement.execute_update()
        finally:
            statement.close()
            with contextlib.suppress(Exception):
                for _batch in stream:  # what a failed ingest left unread: the parent is still writing it
                    pass

    while line := requests.readline():
        request = json.loads(line)
        try:
            if request["op"] == "connect":
                database = adbc_driver_sqlite.connect(request["uri"])
                connection = adbc_driver_manager.AdbcConnection(database)
                result = None
            elif request["op"] == "execute":
                result = run(request["sql"])
            else:
                result = ingest(request["table"])
            reply = {"result": result}
        except Exception as exc:
            message = re.sub(r"^[A-Z_]+: (\[SQLite\] )?", "", (str(exc).strip().splitlines() or [""])[0])  # ADBC's status prefix
            kind = "IntegrityError" if "constraint failed" in message else type(exc).__name__  # ADBC's ingest says InternalError
            reply = {"error": message, "kind": kind}
        replies.write(json.dumps(reply).encode() + b"\n")
        replies.flush()
    if connection is not None:
        with contextlib.suppress(Exception):
            run("ROLLBACK")  # fails harmlessly after a COMMIT
        connection.close()
    if database is not None:
        database.close()


def _datetime_text(column: pa.Array) -> pa.Array:
    """UTC timestamps as UTCDateTime stores them on SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff`` (six digits always), no offset."""
    return pc.cast(column.cast(pa.timestamp("us")), pa.string())
