"""The data impact's rules: each a plain function from one recorded change and the reader of the target to findings.

They are registered in :data:`RULES`, in no order that matters; each reads only what its change touches. A change on a
table or column the database does not hold yet (made by an earlier pending step) meets no stored data and finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from todo_data.impact.changes import ACKNOWLEDGE_MARKER, Change
from todo_data.impact.finding import Finding
from todo_data.impact.reader import Measured, Reader

Rule = Callable[[Change, Reader], list[Finding]]

DESCRIPTIONS = {
    "dropped-column": "A dropped column that holds values: they are destroyed.",
    "dropped-table": "A dropped table that holds rows: they are destroyed.",
    "not-null": "A new NOT NULL over rows that hold NULL (or a NOT NULL column added without a server default to a table with rows; "
    "db revision's set_not_null with no backfill before it, or a backfill with no value).",
    "unique": "A new unique constraint or unique index over rows that share their values.",
    "foreign-key": "A new foreign key over rows whose parent does not exist (orphans).",
    "check": "A new CHECK constraint over rows that violate it.",
    "narrower-type": "A type change over values the new type does not keep: longer than a shorter string, past a smaller numeric precision "
    "or integer, text its cast refuses (to an integer, a number, a boolean, a date, a time, a UUID), a fraction cast to an integer; "
    "SQLite's batch copy refuses none and stores what its CAST gives (data-loss).",
    "downgrade-cannot-restore": "What the revision's downgrade cannot give back: values the upgrade destroys, or data written after it.",
    "not-measured": "A step whose effect on the data todo_data cannot read (raw SQL, a read that failed or timed out).",
}
INTEGER_RANGES = ((sa.SmallInteger, 2**15 - 1), (sa.Integer, 2**31 - 1), (sa.BigInteger, 2**63 - 1))


def _finding(rule: str, severity: str, change: Change, count: int | None, examples: tuple[Any, ...], message: str, fix: str) -> Finding:
    return Finding(rule, severity, change.table, change.column, count, examples, message, fix)


def _acknowledge(where: str) -> str:
    return f'if they are meant to go, say so in the revision: {ACKNOWLEDGE_MARKER} = ["{where}"]'


# --- data destroyed -----------------------------------------------------------------------------------------------


def dropped_column(change: Change, reader: Reader) -> list[Finding]:
    if change.role != "run" or change.kind != "drop_column" or not reader.has_column(change.table, change.column):
        return []
    assert change.table is not None and change.column is not None
    column = reader.table(change.table).c[change.column]
    found = reader.matching(change.table, column.is_not(None))
    if not found.count:
        return []
    where = f"{change.table}.{change.column}"
    return [
        _finding(
            "dropped-column",
            "data-loss",
            change,
            found.count,
            found.examples,
            f"drops {where}, which holds {found.count:,} non-null value{'s' if found.count != 1 else ''}",
            "keep them: rename the column (op.alter_column(..., new_column_name=...)) or copy them where they belong "
            f"before the drop; {_acknowledge(where)}",
        )
    ]


def dropped_table(change: Change, reader: Reader) -> list[Finding]:
    if change.role != "run" or change.kind != "drop_table" or change.detail.get("rebuilt") or not reader.has_table(change.table):
        return []
    assert change.table is not None
    found = reader.matching(change.table, sa.true())
    if not found.count:
        return []
    return [
        _finding(
            "dropped-table",
            "data-loss",
            change,
            found.count,
            found.examples,
            f"drops table {change.table}, which holds {found.count:,} row{'s' if found.count != 1 else ''}",
            f"keep them: rename the table (op.rename_table) or copy the rows where they belong first; {_acknowledge(change.table)}",
        )
    ]


# --- steps that fail on the rows they meet ----------------------------------------------------------------------------


def not_null(change: Change, reader: Reader) -> list[Finding]:
    if change.role != "run" or not reader.has_table(change.table):
        return []
    assert change.table is not None
    if change.kind == "alter_column" and change.detail.get("nullable") is False and reader.has_column(change.table, change.column):
        assert change.column is not None
        found = reader.matching(change.table, reader.table(change.table).c[change.column].is_(None))
        if not found.count:
            return []
        where = f"{change.table}.{change.column}"
        return [
            _finding(
                "not-null",
                "fails",
                change,
                found.count,
                found.examples,
                f"sets {where} NOT NULL, but {found.count:,} row{'s hold' if found.count != 1 else ' holds'} NULL there",
                f'fill them first in the revision (op.execute("UPDATE {change.table} SET {change.column} = ... WHERE {change.column} IS NULL")), '
                "then set NOT NULL (a server default fills only rows inserted later)",
            )
        ]
    if change.kind in ("set_not_null", "backfill"):
        return _not_null_step(change, reader)
    if change.kind == "add_column":
        column = change.detail["definition"]
        if column.nullable or column.server_default is not None or column.primary_key:
            return []
        found = reader.matching(change.table, sa.true())
        if not found.count:
            return []
        return [
            _finding(
                "not-null",
                "fails",
                change,
                found.count,
                found.examples,
                f"adds {change.table}.{change.column} NOT NULL with no server default to a table of {found.count:,} rows",
                "give it a server_default, or add it nullable, fill it, then set NOT NULL",
            )
        ]
    return []


def _not_null_step(change: Change, reader: Reader) -> list[Finding]:
    """``backfill`` and ``set_not_null`` of a revision written by ``todo-data db revision``: a backfill with a value fills
    every NULL, so the NOT NULL after it meets none; one with no value stops the upgrade; a NOT NULL with no backfill
    before it meets the NULLs the column holds (every row, for a column the revision adds)."""
    assert change.table is not None and change.column is not None
    where = f"{change.table}.{change.column}"
    exists = reader.has_column(change.table, change.column)
    if change.kind == "backfill" and change.detail.get("value") is not None:
        return []
    if change.kind == "set_not_null" and (change.detail.get("backfilled") or not (exists or change.detail.get("added"))):
        return []
    found = reader.matching(change.table, reader.table(change.table).c[change.column].is_(None) if exists else sa.true())
    if not found.count:
        return []
    rows = f"{found.count:,} row{'s' if found.count != 1 else ''}"
    if change.kind == "backfill":
        return [
            _finding(
                "not-null",
                "fails",
                change,
                found.count,
                found.examples,
                f"backfills {where} with no value (None): the upgrade stops there, and {rows} need one",
                f'edit the revision\'s backfill("{change.table}", "{change.column}", None) line to give the value existing rows get',
            )
        ]
    return [
        _finding(
            "not-null",
            "fails",
            change,
            found.count,
            found.examples,
            f"sets {where} NOT NULL with no backfill before it, but {rows} hold NULL there",
            f'fill them first: backfill("{change.table}", "{change.column}", VALUE) before set_not_null in the revision',
        )
    ]


def unique(change: Change, reader: Reader) -> list[Finding]:
    if change.role != "run" or not reader.has_table(change.table):
        return []
    assert change.table is not None
    columns: list[str] = []
    if change.kind == "add_constraint" and isinstance(change.detail["constraint"], sa.UniqueConstraint):
        columns = [column.name for column in change.detail["constraint"].columns]
        name = change.detail["constraint"].name
    elif change.kind == "create_index" and change.detail["index"].unique:
        columns = [getattr(expression, "name", None) for expression in change.detail["index"].expressions]  # type: ignore[misc]
        name = change.detail["index"].name
    if not columns or not all(reader.has_column(change.table, column) for column in columns):
        return []
    found = reader.duplicates(change.table, columns)
    if not found.count:
        return []
    spelled = ", ".join(columns)
    return [
        Finding(
            "unique",
            "fails",
            change.table,
            spelled,
            found.count,
            found.examples,
            f"makes ({spelled}) unique{f' ({name})' if name else ''}, but {found.count:,} rows share their values in "
            f"{found.groups:,} group{'s' if found.groups != 1 else ''}",
            "merge or delete the duplicates first (in the revision, or by hand), or make the constraint partial",
        )
    ]


def foreign_key(change: Change, reader: Reader) -> list[Finding]:
    if change.role != "run" or change.kind != "add_constraint" or not isinstance(change.detail["constraint"], sa.ForeignKeyConstraint):
        return []
    constraint = change.detail["constraint"]
    columns = [str(name) for name in constraint.column_keys]
    parent = constraint.elements[0].target_fullname.rsplit(".", 1)[0] if constraint.elements else None
    parent_columns = [element.target_fullname.rsplit(".", 1)[1] for element in constraint.elements]
    if not reader.has_table(change.table) or not all(reader.has_column(change.table, column) for column in columns):
        return []
    if not reader.has_table(parent) or not all(reader.has_column(parent, column) for column in parent_columns):
        return []
    assert change.table is not None and parent is not None
    found = reader.orphans(change.table, columns, parent, parent_columns)
    if not found.count:
        return []
    spelled = ", ".join(columns)
    return [
        Finding(
            "foreign-key",
            "fails",
            change.table,
            spelled,
            found.count,
            found.examples,
            f"adds a foreign key ({spelled}) -> {parent} ({', '.join(parent_columns)}), but {found.count:,} "
            f"row{'s reference' if found.count != 1 else ' references'} no {parent} row",
            "delete the orphans or set their reference to NULL first; on PostgreSQL, or add the key NOT VALID and VALIDATE it later",
        )
    ]


def check(change: Change, reader: Reader) -> list[Finding]:
    if change.role != "run" or change.kind != "add_constraint" or not isinstance(change.detail["constraint"], sa.CheckConstraint):
        return []
    if not reader.has_table(change.table):
        return []
    assert change.table is not None
    constraint = change.detail["constraint"]
    condition = str(constraint.sqltext.compile(dialect=reader.connection.dialect, compile_kwargs={"literal_binds": True}))
    found = reader.matching(change.table, sa.text(f"NOT ({condition})"))
    if not found.count:
        return []
    return [
        Finding(
            "check",
            "fails",
            change.table,
            None,
            found.count,
            found.examples,
            f"adds CHECK ({condition}){f' ({constraint.name})' if constraint.name else ''}, but {found.count:,} "
            f"row{'s violate' if found.count != 1 else ' violates'} it",
            "correct those rows first in the revision, or loosen the condition",
        )
    ]


def narrower_type(change: Change, reader: Reader) -> list[Finding]:
    if change.role != "run" or change.kind != "alter_column" or change.detail.get("type_") is None:
        return []
    if not reader.has_column(change.table, change.column):
        return []
    assert change.table is not None and change.column is not None
    new, old = change.detail["type_"], reader.columns(change.table)[change.column]["type"]
    column = reader.table(change.table).c[change.column]
    where = f"{change.table}.{change.column}"
    findings: list[Finding] = []
    predicate, limit = _not_fitting(column, new, old)
    if predicate is not None:
        enforced = not isinstance(new, sa.String) or reader.backend.enforces_string_length
        note = "" if enforced else f"; {reader.backend.label} would keep them as they are, longer than the type says"
        fix = (
            "shorten or correct those values in the revision before this step (what a shortening cuts off is gone), or keep the wider type"
        )
        findings += _unfit(change, old, new, reader.matching(change.table, predicate), limit, "fails", note, fix)
    for unfit in reader.backend.not_castable(column, old, new, change.detail):
        if unfit.predicate is None:
            findings.append(
                _finding("narrower-type", unfit.severity, change, None, (), f"changes {where} from {old} to {new}{unfit.note}", unfit.fix)
            )
            continue
        if unfit.trial is None:
            found = reader.matching(change.table, unfit.predicate)
        else:
            found = reader.refused(change.table, change.column, unfit.predicate, unfit.trial)
        fix = unfit.fix + (f"; {_acknowledge(where)}" if unfit.severity == "data-loss" else "")
        findings += _unfit(change, old, new, found, unfit.words, unfit.severity, unfit.note, fix)
    return findings


def _unfit(change: Change, old: Any, new: Any, found: Measured, limit: str, severity: str, note: str, fix: str) -> list[Finding]:
    """The finding for stored values a type change does not keep (none when there are none)."""
    if not found.count:
        return []
    where = f"{change.table}.{change.column}"
    count = f"{'at most ' if found.upper_bound else ''}{found.count:,} stored value{'s do' if found.count != 1 else ' does'}"
    return [
        _finding(
            "narrower-type",
            severity,
            change,
            found.count,
            found.examples,
            f"changes {where} from {old} to {new}: {count} not fit ({limit}){note}",
            fix,
        )
    ]


def _not_fitting(column: Any, new: Any, old: Any) -> tuple[Any, str]:
    """The predicate for values of ``column`` (now ``old``) that do not fit ``new`` of the same kind (a shorter string,
    a smaller precision or integer), and the limit in words; (None, '') when wider. Casts are the backend's."""
    string = isinstance(new, sa.String) and new.length is not None and isinstance(old, sa.String)
    if string and (old.length is None or old.length > new.length):
        return sa.func.length(column) > new.length, f"longer than {new.length} characters"
    if isinstance(new, sa.Numeric) and not isinstance(new, sa.Float) and new.precision is not None:
        digits = new.precision - (new.scale or 0)
        if isinstance(old, sa.Numeric | sa.Float | sa.Integer):
            return sa.func.abs(column) >= 10**digits, f"{digits} digit{'s' if digits != 1 else ''} before the point or more"
    if isinstance(new, sa.Integer) and isinstance(old, sa.Integer):
        new_max, old_max = _integer_max(new), _integer_max(old)
        if new_max < old_max:
            return sa.or_(column > new_max, column < -new_max - 1), f"outside {-new_max - 1}..{new_max}"
    return None, ""


def _integer_max(kind: Any) -> int:
    for cls, largest in INTEGER_RANGES:
        if type(kind) is cls or (isinstance(kind, cls) and cls is not sa.Integer):
            return largest
    return 2**31 - 1


# --- what the downgrade cannot give back -------------------------------------------------------------------------------


def downgrade_cannot_restore(change: Change, reader: Reader) -> list[Finding]:
    """A change the downgrade would make (role ``undo``): re-creating what the upgrade destroys gives it back empty;
    dropping what the upgrade creates loses whatever is written to it after the upgrade."""
    if change.role != "undo" or change.table is None:
        return []
    if change.kind == "add_column" and reader.has_column(change.table, change.column):
        assert change.column is not None
        found = reader.matching(change.table, reader.table(change.table).c[change.column].is_not(None))
        if found.count:
            where = f"{change.table}.{change.column}"
            return [
                _finding(
                    "downgrade-cannot-restore",
                    "warning",
                    change,
                    found.count,
                    found.examples,
                    f"the downgrade adds {where} back empty: the {found.count:,} value{'s' if found.count != 1 else ''} it holds now "
                    "do not come back",
                    "make the upgrade keep them (a rename, or a copy the downgrade can read back)",
                )
            ]
    if change.kind == "create_table" and reader.has_table(change.table):
        found = reader.matching(change.table, sa.true())
        if found.count:
            return [
                _finding(
                    "downgrade-cannot-restore",
                    "warning",
                    change,
                    found.count,
                    found.examples,
                    f"the downgrade creates table {change.table} again, empty: its {found.count:,} rows do not come back",
                    "make the upgrade keep them (rename the table, or copy the rows somewhere the downgrade can read back)",
                )
            ]
    if change.kind == "drop_column" and not reader.has_column(change.table, change.column) and not change.table.startswith("_"):
        return [
            _finding(
                "downgrade-cannot-restore",
                "info",
                change,
                None,
                (),
                f"the downgrade drops {change.table}.{change.column}: whatever is written to it after the upgrade is lost "
                "(`todo-data db downgrade` refuses then, naming the count)",
                "",
            )
        ]
    if change.kind == "drop_table" and not reader.has_table(change.table) and not change.detail.get("rebuilt"):
        return [
            _finding(
                "downgrade-cannot-restore",
                "info",
                change,
                None,
                (),
                f"the downgrade drops table {change.table}: the rows written to it after the upgrade are lost "
                "(`todo-data db downgrade` refuses then, naming the count)",
                "",
            )
        ]
    return []


def raw_sql(change: Change, reader: Reader) -> list[Finding]:
    if change.role != "run" or change.kind != "execute" or change.detail.get("rebuild_copy"):
        return []
    statement = " ".join(str(change.detail.get("sql", "")).split())
    return [
        _finding(
            "not-measured",
            "info",
            change,
            None,
            (),
            f"runs SQL whose effect on the data is not measured: {statement[:100]}{'...' if len(statement) > 100 else ''}",
            "",
        )
    ]


RULES: list[Rule] = [dropped_column, dropped_table, not_null, unique, foreign_key, check, narrower_type, downgrade_cannot_restore, raw_sql]
