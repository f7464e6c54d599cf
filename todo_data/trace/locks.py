"""PostgreSQL's table-level lock modes, what each conflicts with, and which everyday operations a lock makes wait.

From the PostgreSQL docs, 13.3.1 "Conflicting Lock Modes"; the trace's recorders and danger rules read it.
"""

from __future__ import annotations

import re

from todo_data.errors import ConfigurationError

LOCK_MODES = (
    "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE",
)  # weakest first  # fmt: skip
CONFLICTS: dict[str, frozenset[str]] = {
    "ACCESS SHARE": frozenset({"ACCESS EXCLUSIVE"}),
    "ROW SHARE": frozenset({"EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "ROW EXCLUSIVE": frozenset({"SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "SHARE UPDATE EXCLUSIVE": frozenset({"SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "SHARE": frozenset({"ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "SHARE ROW EXCLUSIVE": frozenset(
        {"ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}
    ),
    "EXCLUSIVE": frozenset(LOCK_MODES[1:]),
    "ACCESS EXCLUSIVE": frozenset(LOCK_MODES),
}
# The lock each everyday operation takes: SELECT; SELECT ... FOR UPDATE/SHARE; INSERT, UPDATE, DELETE.
EVERYDAY = {"reads": "ACCESS SHARE", "row locks": "ROW SHARE", "writes": "ROW EXCLUSIVE"}


def lock_mode_name(mode: str) -> str:
    """``AccessExclusiveLock`` (as pg_locks spells it) -> ``ACCESS EXCLUSIVE`` (as the docs do)."""
    words = re.findall(r"[A-Z][a-z]*", mode.removesuffix("Lock"))
    return " ".join(words).upper() if words else mode.upper()


def blocked_operations(mode: str) -> tuple[str, ...]:
    """The everyday operations (``reads``, ``row locks``, ``writes``) a lock of ``mode`` makes wait."""
    name = lock_mode_name(mode) if mode not in CONFLICTS else mode
    if name not in CONFLICTS:
        raise ConfigurationError(f"Unknown lock mode {mode!r}: use one of {', '.join(LOCK_MODES)}.")
    return tuple(operation for operation, taken in EVERYDAY.items() if taken in CONFLICTS[name])


def describe_blocks(operations: set[str] | tuple[str, ...]) -> str:
    """``reads and writes`` / ``writes and SELECT FOR UPDATE`` / ``writes`` / ``""``: what a reader needs to know."""
    if "reads" in operations:
        return "reads and writes"
    if "row locks" in operations:
        return "writes and SELECT FOR UPDATE"
    return "writes" if "writes" in operations else ""


def strongest(modes: set[str]) -> str:
    """The mode that blocks most."""
    return max(modes, key=LOCK_MODES.index)


def interval(value: str) -> str:
    """A PostgreSQL duration (``5s``, ``500ms``, ``0``) safe to put in a SET statement, or a one-line error."""
    text = str(value).strip()
    if not re.fullmatch(r"[0-9.]+\s*[a-zA-Z]*", text):
        raise ConfigurationError(f"Timeout {text!r} is not a PostgreSQL duration: use e.g. 5s, 500ms or 0.")
    return text


def is_zero_timeout(value: str) -> bool:
    """Whether a duration means no timeout at all."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*[a-z]*\s*", str(value).lower())
    return bool(match) and float(match.group(1)) == 0
