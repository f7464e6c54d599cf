"""What a backend says about a column's type change (``Backend.not_castable``): which stored values the new type does
not keep, and what the change does to them there (the data impact's ``narrower-type`` rule words and counts them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Unfit:
    """Stored values of one column that a type change does not keep, as the backend would run it.

    ``predicate`` selects them; with ``trial`` it only selects candidates (values a pattern cannot vouch for), and
    ``trial(connection, values)`` returns the distinct candidates the backend's real cast refuses. No predicate: the
    change meets no value in particular (it fails whatever they are, or cannot be measured); ``note`` says why.
    """

    predicate: Any | None
    words: str  # what they are, in the message's parenthesis: "not a date"
    severity: str  # "fails": the change stops on them; "data-loss": it runs and stores other values in their place; "info"
    note: str = ""  # what the backend does to them, appended to the message
    fix: str = ""
    trial: Callable[[Connection, list[Any]], list[Any]] | None = None
