"""SQLite's errors on opening a database in one line each: a file that cannot be opened, a file that is not SQLite's."""

from __future__ import annotations

from sqlalchemy.engine import URL


def describe_error(message: str, url: URL) -> str | None:
    """One line with advice for an SQLite message this recognises, else None."""
    lowered = message.lower()
    if "unable to open database file" in lowered:
        return f"Cannot open SQLite file {url.database}: check that the folder exists and is writable."
    if "file is not a database" in lowered:
        return f"{url.database} is not a SQLite database: point the URL at a SQLite file."
    return None
