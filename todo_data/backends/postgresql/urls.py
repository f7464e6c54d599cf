"""PostgreSQL's URL rules: the sync (psycopg) and async (asyncpg) spellings of one URL, and options checked before connecting."""

from __future__ import annotations

from sqlalchemy.engine import URL

from todo_data.backends.postgresql import DEFAULT_PORT
from todo_data.errors import ConfigurationError

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def sync_url(url: URL, driver: str) -> URL:
    """``url`` for ``driver`` with asyncpg's ``ssl`` written as libpq's ``sslmode``, its options checked."""
    query = dict(url.query)
    if "ssl" in query and "sslmode" not in query:  # asyncpg spelling pasted as the sync URL
        query["sslmode"] = query.pop("ssl")
    url = url.set(drivername=driver, query=query)
    check_options(url)
    return url


def async_url(url: URL, driver: str) -> URL:
    """``url`` for ``driver`` (asyncpg) with libpq's ``sslmode`` and ``connect_timeout`` as asyncpg spells them."""
    query = dict(url.query)
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    if "connect_timeout" in query:
        query["timeout"] = query.pop("connect_timeout")
    return url.set(drivername=driver, query=query)


def check_options(url: URL) -> None:
    """Port and sslmode are checked here, so a typo gets advice instead of the driver's error."""
    if url.port is not None and not 0 < url.port < 65536:
        raise ConfigurationError(
            f"Port {url.port} in the database URL is not a port: use 1 to 65535 (PostgreSQL's default is {DEFAULT_PORT})."
        )
    timeout = url.query.get("connect_timeout")
    if timeout is not None and not str(timeout).isdigit():
        raise ConfigurationError(
            f"connect_timeout={timeout!r} in the database URL is not a whole number of seconds: use e.g. ?connect_timeout=10."
        )
    sslmode = url.query.get("sslmode")
    if sslmode is not None and sslmode not in SSLMODES:
        raise ConfigurationError(
            f"sslmode={sslmode!r} in the database URL is not one of {', '.join(SSLMODES)}: fix it, e.g. ?sslmode=require."
        )
