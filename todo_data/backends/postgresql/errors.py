"""PostgreSQL's connection errors in one line each: a database that is not there, a refused login, a server that does
not answer, a host name that does not resolve (libpq's messages, as psycopg and ADBC pass them on)."""

from __future__ import annotations

from sqlalchemy.engine import URL


def describe_error(message: str, url: URL, where: str) -> str | None:
    """One line with advice for a libpq message this recognises, else None; ``where`` is ``host:port``."""
    lowered = message.lower()
    if "does not exist" in lowered and "database" in lowered:
        return f"Database {url.database!r} does not exist on {where}: create it (createdb {url.database}) or fix the URL."
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return f"The server at {where} refused user {url.username!r}: check the user name and password in the URL."
    if "connection refused" in lowered or "could not connect" in lowered or "timeout" in lowered or "timed out" in lowered:
        return f"Cannot reach the database server at {where}: is it running, and are the URL's host and port right?"
    if "could not translate host name" in lowered or "name or service not known" in lowered or "nodename nor servname" in lowered:
        return f"Unknown host {url.host!r}: fix the host name in the database URL."
    return None
