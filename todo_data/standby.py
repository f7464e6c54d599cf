"""Writes belong on the primary: the one guard every write command passes before it changes anything.

Whether a database is a replica that takes no writes is the backend's question (``Backend.standby_reason``:
``pg_is_in_recovery()`` on PostgreSQL); this module words the refusal once, so ``db upgrade``, ``downgrade``,
``stamp``, ``sample`` and ``db plan`` name the standby and say where to run instead, before PostgreSQL's own
"cannot execute ... in a read-only transaction" could.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, Connection

from todo_data.backends import backend_for
from todo_data.db import build_engine, translate_errors
from todo_data.errors import StandbyDatabase
from todo_data.settings import mask_url


def standby_reason(url: URL, connection: Connection | None = None) -> str | None:
    """Why ``url`` is a replica that takes no writes (on ``connection``, or a short one of its own), else None.

    A connection handed in is left as it was found: a transaction the question began is rolled back. Without one, the
    database must exist (callers have read it first): the question runs on a plain connection, as the write would.
    """
    backend = backend_for(url)
    if connection is not None:
        began = not connection.in_transaction()
        try:
            return backend.standby_reason(connection)
        finally:
            if began and connection.in_transaction():
                connection.rollback()
    engine = build_engine(url)
    try:
        with translate_errors(url), engine.connect() as opened:
            return backend.standby_reason(opened)
    finally:
        engine.dispose()


def require_primary(url: URL, command: str, *, connection: Connection | None = None, instead: str | None = None) -> None:
    """Refuse ``command`` (``db upgrade``, ``sample``, ...) on a standby with one line; nothing has been written yet.

    ``instead``: the advice when running the command on the primary is not it (``db plan`` traces on a copy).
    """
    reason = standby_reason(url, connection)
    if reason is None:
        return
    advice = instead or f"`todo-data {command}` writes, so run it on the primary (its URL as --database-url or DATABASE_URL)"
    raise StandbyDatabase(f"{mask_url(url)} is {reason}: {advice}.")
