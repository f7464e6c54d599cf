"""Errors todo_data raises on purpose: each carries one line that says what went wrong and what to do."""

from __future__ import annotations


class TodoDataError(Exception):
    """Base of every error meant for a person: its message is one line with no credentials in it."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class ConfigurationError(TodoDataError):
    """A setting or parameter is malformed (a database URL, a notebook parameter)."""


class ConnectionFailed(TodoDataError):
    """The database could not be reached or refused the connection."""


class MigrationError(TodoDataError):
    """A migration command cannot run on this database as it stands."""


class QueryError(TodoDataError):
    """The database refused a query: bad SQL, a missing column, or a write through a read-only reader."""


class StandbyDatabase(TodoDataError):
    """A write was asked of a replica that takes none (a hot standby): it belongs on the primary."""
