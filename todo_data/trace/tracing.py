"""A backend's part in one migration trace: where the trace runs, the recorder that watches it, and how it is judged.

Each backend returns one from ``Backend.tracing(url)`` (``todo_data/backends/*/trace.py``); the runner asks it
instead of asking which backend it is.
"""

from __future__ import annotations

import abc
import contextlib
from typing import ClassVar

from sqlalchemy.engine import URL, Connection

from todo_data.trace.danger import lock_danger
from todo_data.trace.records import Recorder, Statement


class Tracing(abc.ABC):
    """What differs per backend in a trace of the database at ``url`` (the target, read only)."""

    on_copy: ClassVar[bool]
    """True: traced on a copy of the target that holds its rows (``--sample-tasks`` does not apply, a staging copy is
    copied too). False: on a new empty database the trace builds on the target's server, or on a staging copy."""
    lint: ClassVar[bool]
    """Whether squawk's PostgreSQL lint applies to the statements."""

    def __init__(self, url: URL) -> None:
        self.url = url

    @abc.abstractmethod
    def database(self, url: URL) -> contextlib.AbstractContextManager[URL]:
        """A database the trace owns and may change, removed afterwards: a copy of ``url`` (:attr:`on_copy`) or a new, empty one beside it."""

    @abc.abstractmethod
    def recorder(self, revision: str, lock_timeout: str) -> Recorder:
        """A recorder for one revision; ``lock_timeout``: what the real run's session has set when the revision starts."""

    def read_target(self, connection: Connection) -> None:  # noqa: B027  (a hook)
        """Read what the trace needs to know of the target, once, on its read-only connection; nothing by default."""

    def begin(self, connection: Connection, trace_lock_timeout: str) -> None:  # noqa: B027  (a hook)
        """Settings for the traced revision's transaction, before anything runs in it; none by default."""

    def danger(self, record: Statement, rows: dict[str, int]) -> tuple[str, bool]:
        """Why a statement is dangerous (empty when it is not) and whether ``--strict`` fails on it."""
        return lock_danger(record, rows)

    def blocks(self, record: Statement) -> set[str]:
        """The everyday operations the locks a statement took make wait (not those its transaction already held)."""
        blocked: set[str] = set()
        for lock in record.locks:
            if lock.held_since is None:
                blocked.update(lock.blocks)
        return blocked

    def notes(self) -> list[str]:
        """What a reader of this backend's report needs to know besides the statements."""
        return []
