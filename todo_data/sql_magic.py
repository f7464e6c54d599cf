"""SQL cells on the kit's own connection: JupySQL's ``%sql``, ``%%sql`` and ``%sqlplot`` against the resolved database.

``%load_ext todo_data`` (or :func:`connect`) connects JupySQL to ``DATABASE_URL`` / ``./data/todo.db`` through a
read-only engine, so no URL is typed into a notebook and no cell can change data; JupySQL is handed the Engine, never
the URL text, and shows it only by its alias and its masked URL. Results come back as DataFrames. Writing needs
``%todo_data_sql --write`` (or ``connect(write=True)``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from todo_data.backends import expressions
from todo_data.db import get_engine, resolve_url
from todo_data.errors import ConfigurationError, TodoDataError
from todo_data.settings import mask_url

ALIAS = "todo_data"
# JupySQL's parent library reports usage to a server and checks PyPI for new versions unless told not to.
QUIET_JUPYSQL = {"PLOOMBER_STATS_ENABLED": "false", "PLOOMBER_VERSION_CHECK_DISABLED": "true"}


def connect(database_url: str | URL | None = None, *, write: bool = False, shell: Any = None) -> str:
    """Load JupySQL into the running IPython and make the kit's database its current connection, under ``ALIAS``.

    Read-only unless ``write=True``. Returns the database as JupySQL shows it (password masked).
    """
    shell = shell or _shell()
    for name, value in QUIET_JUPYSQL.items():
        os.environ.setdefault(name, value)
    if not isinstance(database_url, URL):
        from todo_data.reports import notebook_database  # a notebook in notebooks/ reads the project's embedded file

        database_url = notebook_database(database_url)
    url = resolve_url(database_url)
    engine = get_engine(url, read_only=not write)
    if "sql" not in shell.extension_manager.loaded:
        from IPython.utils.capture import capture_output

        with capture_output():  # JupySQL's advice on reading settings from pyproject.toml: the kit sets its own
            shell.extension_manager.load_extension("sql")
    from sql.connection import ConnectionManager

    magic = shell.magics_manager.registry["SqlMagic"]
    magic.autopandas = True  # results as pandas DataFrames
    magic.displaycon = False  # no "Running query in 'todo_data'" above each result: there is one connection
    # "N rows affected." only where a cell can write (psycopg counts a SELECT's rows as affected); JupySQL's default there
    magic.feedback = 1 if write else 0
    if ALIAS in ConnectionManager.connections:
        ConnectionManager.close_connection_with_descriptor(ALIAS)
    ConnectionManager.set(engine, displaycon=False, alias=ALIAS, config=magic)
    if _end_transaction not in shell.events.callbacks["post_execute"]:
        shell.events.register("post_execute", _end_transaction)
    _CONNECTED[ALIAS] = (url, write)
    return mask_url(url)


_CONNECTED: dict[str, tuple[URL, bool]] = {}  # what ALIAS is connected to, and whether it may write


def week_start(column: str) -> str:
    """SQL for the Monday (00:00 UTC) of the week of a timestamp ``column``, in the connected database's dialect.

    For a ``%%sql`` cell: ``week = week_start("t.created_at")``, then ``GROUP BY {{week}}`` in the cell.
    """
    if ALIAS not in _CONNECTED:
        raise ConfigurationError("SQL cells are not connected yet: run `%load_ext todo_data` first.")
    url, _write = _CONNECTED[ALIAS]
    expression = expressions.week_start(sa.literal_column(column))
    return str(expression.compile(dialect=get_engine(url, read_only=True).dialect, compile_kwargs={"literal_binds": True}))


@contextlib.contextmanager
def notices_held(shell: Any = None) -> Iterator[None]:
    """JupySQL's notices held while the block runs (``%sqlplot``'s "Removing NULLs, ..."): dropped if it succeeds, shown
    before its error if it fails (JupySQL tells what went wrong in a notice, then raises)."""
    from IPython.display import display
    from sql.display import Message

    formatter = (shell or _shell()).display_formatter.ipython_display_formatter
    held: list[Any] = []
    previous = formatter.for_type(Message, held.append)
    failed = True
    try:
        yield
        failed = False
    finally:
        _restore(formatter, Message, previous)
        if failed:
            display(*held)


def _restore(formatter: Any, kind: type, printer: Any) -> None:
    if printer is None:
        formatter.type_printers.pop(kind, None)
    else:
        formatter.for_type(kind, printer)


def _end_transaction() -> None:
    """After each cell: commit (``write``) or roll back what the cell's queries began.

    JupySQL keeps one connection and never ends its transaction when the driver is in autocommit mode; on SQLite
    the engine issues its own BEGIN, so without this a read-only notebook would keep reading one old snapshot
    (and a writing one would never commit).
    """
    from sql.connection import ConnectionManager

    kept = ConnectionManager.connections.get(ALIAS)
    connection = getattr(kept, "connection_sqlalchemy", None)
    if connection is None or not connection.in_transaction():
        return
    if _CONNECTED[ALIAS][1]:
        connection.commit()
    else:
        connection.rollback()


def _shell() -> Any:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise ConfigurationError("SQL cells need IPython or Jupyter: run `%load_ext todo_data` in a notebook.")
    return shell


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="%todo_data_sql", add_help=False, exit_on_error=False)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--database-url", default=None)
    return parser


def todo_data_sql(line: str) -> None:
    """``%todo_data_sql [--write] [--database-url URL]``: (re)connect SQL cells, read-only unless ``--write``."""
    from IPython.core.error import UsageError

    try:
        args, extra = _parser().parse_known_args(shlex.split(line))
    except (argparse.ArgumentError, ValueError):
        extra = [line]
    if extra:
        raise UsageError("%todo_data_sql takes --write and --database-url URL, e.g. %todo_data_sql --write") from None
    _connect_or_usage_error(args.database_url, write=args.write)


def _connect_or_usage_error(database_url: str | None, *, write: bool, shell: Any = None) -> None:
    """Connect and say where, in one line; a problem is one line too (IPython shows a UsageError without a traceback)."""
    from IPython.core.error import UsageError

    try:
        where = connect(database_url, write=write, shell=shell)
    except TodoDataError as exc:
        raise UsageError(str(exc)) from None
    mode = "read-write: cells can change data" if write else "read-only; `%todo_data_sql --write` to change data"
    print(f"SQL cells: %sql and %%sql run on {where} as {ALIAS!r} ({mode}).")


def load(shell: Any) -> None:
    """What ``%load_ext todo_data`` does: register ``%todo_data_sql`` and connect read-only."""
    shell.register_magic_function(todo_data_sql, magic_kind="line", magic_name="todo_data_sql")
    _connect_or_usage_error(None, write=False, shell=shell)
