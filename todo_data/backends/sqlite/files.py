"""SQLite's file rules: which files an engine may open or create, the ``file:`` URIs ADBC opens (read-only, or read-write never creating the file), and
whether this process holds a database file open (which decides where ADBC's copy of SQLite may read it)."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from sqlalchemy.engine import URL

from todo_data.errors import ConfigurationError, ConnectionFailed
from todo_data.settings import default_sqlite_url


def missing_file_advice(database: str) -> str:
    """What to say of a SQLite file that is not there: create it at this same URL (a bare upgrade makes the default file)."""
    return f"SQLite database {database} does not exist: create it with `todo-data db upgrade` given this same database URL, or fix the URL."


def read_uri(url: URL) -> str:
    """The read-only ``file:`` URI (``mode=ro``) for a SQLite URL; a missing file says how to create it."""
    database = url.database or ""
    if database in ("", ":memory:"):
        raise ConfigurationError("read_frame reads a SQLite file, but the URL names an in-memory database: use sqlite:///path/to/file.db.")
    if database.startswith("file:"):
        return _read_only_uri(database)
    path = Path(database)
    if not path.is_file():
        raise ConnectionFailed(missing_file_advice(database))
    return f"{path.resolve().as_uri()}?mode=ro"


def file_path(database: str) -> Path | None:
    """The file a SQLite URL's database names: a path, or a ``file:`` URI's path (None for memory databases)."""
    if database in ("", ":memory:") or "mode=memory" in database:
        return None
    if database.startswith("file:"):
        path = database[len("file:") :].split("?", 1)[0]
        return Path(path[len("//") :] if path.startswith("//") else path)
    return Path(database)


def _read_only_uri(uri: str) -> str:
    """A ``file:`` URI with its mode, if any, replaced by ``mode=ro``."""
    without_mode = re.sub(r"([?&])mode=[^&]*&?", r"\1", uri).rstrip("?&")
    return f"{without_mode}{'&' if '?' in without_mode else '?'}mode=ro"


def write_uri(url: URL) -> str:
    """A ``file:`` URI for a loader's connection: read-write and never creating the file, unless a ``file:`` URL says otherwise."""
    database = url.database or ""
    if database in ("", ":memory:"):
        raise ConfigurationError(
            "Sample data goes into a SQLite file, but the URL names an in-memory database: use sqlite:///path/to/file.db."
        )
    if database.startswith("file:"):  # the URI's own mode (say ro) stands
        return database if re.search(r"[?&]mode=", database) else f"{database}{'&' if '?' in database else '?'}mode=rw"
    return f"{Path(database).resolve().as_uri()}?mode=rw"


def held_open_here(path: Path) -> bool:
    """Whether this process has a file descriptor on a SQLite database or on its ``-wal``, ``-shm`` or ``-journal`` file."""
    if os.name == "nt":  # Windows locks belong to file handles, not processes: nothing to drop
        return False
    files = set()
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            status = os.stat(f"{path}{suffix}")
            files.add((status.st_dev, status.st_ino))
    if not files:
        return False
    folder = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    for name in os.listdir(folder):
        with contextlib.suppress(OSError, ValueError):  # the listing's own descriptor is closed by now
            status = os.fstat(int(name))
            if (status.st_dev, status.st_ino) in files:
                return True
    return False


def require_file(url: URL) -> None:
    """Refuse to read a file that is not there: a typo in the path must not read as an empty database."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or Path(database).exists():
        return
    folder = Path(database).parent
    if folder.is_dir() or _is_default_file(Path(database)):
        raise ConnectionFailed(missing_file_advice(database))
    raise ConnectionFailed(
        f"SQLite database {database} does not exist, nor does its folder {folder}: fix the URL, or create the folder and run `todo-data db upgrade`."
    )


def _is_default_file(path: Path) -> bool:
    return path.resolve() == Path(default_sqlite_url().database or "")


def prepare_file(url: URL, *, read_only: bool) -> None:
    """Refuse a read-only open of a file that is not there; make a missing folder only for the default embedded file."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    if read_only:
        require_file(url)
        return
    folder = Path(database).parent
    if not folder.exists():
        if not _is_default_file(Path(database)):  # a user's URL: a missing folder is more likely a typo than a wish
            raise ConnectionFailed(f"Folder {folder} does not exist: create the folder or fix the SQLite URL.")
        folder.mkdir(parents=True, exist_ok=True)


def read_only_url(url: URL) -> URL:
    """The URL opened with ``mode=ro``, so SQLite itself refuses writes: reports cannot change data."""
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in database:
        return url
    if database.startswith("file:"):  # a file: URL of the user's own: its mode (in the URI or the URL's query) becomes ro
        without_mode = re.sub(r"([?&])mode=[^&]*&?", r"\1", database).rstrip("?&")
        return url.set(database=without_mode, query={**url.query, "mode": "ro", "uri": "true"})
    return url.set(database=f"file:{Path(database).resolve()}?mode=ro", query={**url.query, "uri": "true"})
