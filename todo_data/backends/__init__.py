"""One home per database: each backend in its own folder, registered by name, asked for by URL.

``backend_for(url)`` is the one lookup; an unknown backend fails there with one line. To add a backend, add a
folder beside ``postgresql/`` and ``sqlite/`` whose ``__init__`` subclasses :class:`Backend`, and import it below.
"""

from __future__ import annotations

import functools

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from todo_data.backends.base import Backend, DriverError, registered
from todo_data.backends.postgresql import PostgresqlBackend
from todo_data.backends.sqlite import SqliteBackend
from todo_data.errors import ConfigurationError

__all__ = ["Backend", "DriverError", "PostgresqlBackend", "SqliteBackend", "backend_for", "backend_names", "find_backend"]


def backend_names() -> tuple[str, ...]:
    """The names of the supported backends, in registration order."""
    return tuple(registered())


@functools.cache
def _instance(name: str) -> Backend:
    return registered()[name]()


def find_backend(url_or_name: str | URL) -> Backend | None:
    """The backend for a URL (or a URL's backend name, or a backend name); None when todo_data has none for it."""
    name = _url_name(url_or_name)
    for cls in registered().values():
        if name in cls.url_names:
            return _instance(cls.name)
    return None


def backend_for(url_or_name: str | URL) -> Backend:
    """The backend for a URL or name; any other fails here, once, saying which URLs work."""
    backend = find_backend(url_or_name)
    if backend is None:
        classes = registered().values()
        labels = " and ".join(cls.label for cls in classes)
        examples = " or ".join(cls.url_example for cls in classes)
        raise ConfigurationError(f"todo-data supports {labels}; got {_url_name(url_or_name) or 'no backend'}: use a {examples} URL.")
    return backend


def _url_name(url_or_name: str | URL) -> str:
    """``postgresql`` for ``postgresql+psycopg://...``, a URL object or the bare name ``postgres``."""
    if isinstance(url_or_name, URL):
        return url_or_name.get_backend_name()
    text = str(url_or_name).strip()
    if "://" in text or ":///" in text:
        try:
            return make_url(text).get_backend_name()
        except (ArgumentError, ValueError):
            return text.split(":", 1)[0].split("+", 1)[0]
    return text.split("+", 1)[0]
