"""read_frame's transport on PostgreSQL: ADBC (libpq) connections, read-only and in UTC, from a small cache of databases."""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import quote, urlencode

import adbc_driver_manager.dbapi
import adbc_driver_postgresql.dbapi
import pyarrow as pa
from sqlalchemy.engine import URL

from todo_data.backends.adbc import DRIVER_ERRORS
from todo_data.db import describe_connection_error
from todo_data.errors import ConnectionFailed

SESSION_OPTIONS = "-c default_transaction_read_only=on -c TimeZone=UTC"
MAX_CACHED_DATABASES = 8


def read_arrow(url: URL, sql: str, values: list[Any]) -> pa.Table:
    """One read-only query's rows as Arrow, on a fresh connection from the cached database; nothing is committed."""
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, values or None)
            return cursor.fetch_arrow_table()
    finally:
        connection.close()  # never committed: whatever a query did is rolled back


def libpq_uri(url: URL) -> str:
    """A libpq URI for a SQLAlchemy PostgreSQL URL: every part escaped, sessions read-only and in UTC."""
    query = {key: value for key, value in url.query.items() if key != "options"}
    given = url.query.get("options") or ()
    options = " ".join([*([given] if isinstance(given, str) else given), SESSION_OPTIONS])  # ours last: they win
    userinfo = quote(url.username or "", safe="")
    if url.password is not None:
        userinfo += ":" + quote(str(url.password), safe="")
    host = url.host or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{userinfo}@" if userinfo else ""
    netloc += host + (f":{url.port}" if url.port else "")
    path = "/" + quote(url.database, safe="") if url.database else ""
    return f"postgresql://{netloc}{path}?{urlencode({**query, 'options': options}, doseq=True, quote_via=quote)}"


# Opening an ADBC PostgreSQL *database* loads the server's type catalogue (~25 ms); a connection from it
# costs ~2 ms. So each URI's database is kept (behind one idle autocommit connection, which holds no locks
# and no snapshot) and every read gets a fresh connection of its own from it.
_ANCHORS: OrderedDict[str, adbc_driver_manager.dbapi.Connection] = OrderedDict()
_LOCK = threading.Lock()


def connect(url: URL) -> adbc_driver_manager.dbapi.Connection:
    uri = libpq_uri(url)
    try:
        with _LOCK:
            anchor = _ANCHORS.get(uri)
            if anchor is not None:
                _ANCHORS.move_to_end(uri)
        if anchor is None:
            anchor = adbc_driver_postgresql.dbapi.connect(uri, autocommit=True)
            with _LOCK:
                kept = _ANCHORS.setdefault(uri, anchor)  # another thread may have kept one meanwhile
                evicted = [_ANCHORS.popitem(last=False)[1] for _ in range(len(_ANCHORS) - MAX_CACHED_DATABASES)]
            if kept is not anchor:
                evicted.append(anchor)
                anchor = kept
            for old in evicted:
                old.close()
        return anchor.adbc_clone()
    except DRIVER_ERRORS as exc:
        raise ConnectionFailed(describe_connection_error(exc, url)) from None


def close_connections() -> None:
    """Close the kept PostgreSQL connections (before dropping a database a notebook has read, say)."""
    with _LOCK:
        anchors = list(_ANCHORS.values())
        _ANCHORS.clear()
    for anchor in anchors:
        anchor.close()


atexit.register(close_connections)
