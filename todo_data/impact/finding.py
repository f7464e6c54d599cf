"""What the data impact finds: one :class:`Finding` per change that meets stored data, and the severities."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

SEVERITIES = {
    "data-loss": "running it destroys stored values (db plan --strict fails unless the revision acknowledges it)",
    "fails": "the step fails on these rows and the revision is rolled back, or (a VARCHAR(n) SQLite does not enforce) the rows "
    "would break the new schema: db upgrade refuses it, db plan --strict fails",
    "warning": "the step runs, but the data does not end as the new schema says, or cannot come back",
    "info": "what the measurement could not judge, or what later data would lose",
}
FAILING = ("data-loss", "fails")
FINDING_COLUMNS = ["revision", "severity", "rule", "table", "column", "count", "examples", "message", "fix", "acknowledged"]


@dataclass(frozen=True)
class Finding:
    """One change of one revision that meets stored data: how many rows, which (up to five primary keys), and the fix."""

    rule: str
    severity: str
    table: str | None
    column: str | None
    count: int | None
    examples: tuple[Any, ...]
    message: str
    fix: str
    revision: str = ""
    acknowledged: bool = False
    detail: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def where(self) -> str:
        """``table.column`` or ``table``: how the acknowledgement marker names it."""
        return f"{self.table}.{self.column}" if self.column else (self.table or "")

    @property
    def blocks(self) -> bool:
        """Whether ``db plan --strict`` fails on it: a loss the revision does not acknowledge, or a step that fails."""
        return self.severity == "fails" or (self.severity == "data-loss" and not self.acknowledged)

    def describe(self) -> str:
        """One line: where, what, how many, which."""
        examples = f" (e.g. {_key_text(self.table, self.examples)})" if self.examples else ""
        excused = " [acknowledged by the revision]" if self.acknowledged else ""
        return f"{self.revision} {self.severity} {self.rule}: {self.message}{examples}{excused}"


def _key_text(table: str | None, examples: tuple[Any, ...]) -> str:
    return f"{table} " + ", ".join(repr(value) if isinstance(value, str) else str(value) for value in examples)


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """The findings as a table (one row each), for notebooks."""
    rows = []
    for item in findings:
        row = {key: value for key, value in asdict(item).items() if key in FINDING_COLUMNS}
        row["examples"] = ", ".join(str(value) for value in item.examples)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    frame["count"] = frame["count"].astype("Int64")
    return frame


def findings_text(findings: list[Finding]) -> str:
    """The plan's "Data impact" section: each finding's line and fix."""
    if not findings:
        return "Data impact: nothing pending meets stored data."
    lines = [f"Data impact ({len(findings)} finding{'s' if len(findings) != 1 else ''}, measured read-only on the target):"]
    for item in findings:
        lines.append(f"  {item.describe()}")
        if item.fix:
            lines.append(f"      fix: {item.fix}")
    return "\n".join(lines)
