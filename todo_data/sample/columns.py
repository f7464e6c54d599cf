"""The generated rows in the columns each table has at the database's revision: the models may be ahead of, or behind,
the database, and a column the chain renamed gets the values of the column it was."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.schema import ColumnDefault, DefaultClause

from todo_data import chain
from todo_data.db import build_engine, translate_errors
from todo_data.impact.changes import record
from todo_data.sample.generate import DEFAULT_NOW, GENERATED, TABLES


def table_columns(url: URL) -> dict[str, list[dict[str, Any]]]:
    """The columns (as reflection gives them) of each sample table the database has (reflection only: nothing is written)."""
    engine = build_engine(url)
    try:
        with translate_errors(url), engine.connect() as connection:
            inspector = sa.inspect(connection)
            present = set(inspector.get_table_names())
            return {table: inspector.get_columns(table) for table in TABLES.values() if table in present}
    finally:
        engine.dispose()


def conform(
    rows: pa.Table, columns: list[dict[str, Any]], model: sa.Table | None = None, renamed: dict[str, str] | None = None
) -> pa.Table:
    """The generated rows in the columns a table has at its revision (models may be ahead of, or behind, the database).

    A column the table lacks is left out; ``renamed`` (a column's name here -> the generator's, from
    :func:`column_renames`) gives a renamed column its values, and nothing else is guessed (a column of the same
    position or type is not taken for it). A column the sample lacks is left to its default, or, where it is NOT NULL
    with no server default, filled with the scalar default the ``model`` table (the models' own) gives it (``Field(default=30)``,
    or a literal ``server_default`` the revision dropped) and otherwise with a plain value of its type (0, '', false,
    :data:`DEFAULT_NOW`); a timestamp column without a time zone gets the UTC wall-clock time, as the seed's revision
    stored it.
    """
    names, arrays = [], []
    for column in columns:
        name = column["name"]
        source = name if name in rows.column_names else (renamed or {}).get(name)
        if source is not None and source in rows.column_names:
            array = rows[source]
            if pa.types.is_timestamp(array.type) and array.type.tz is not None and getattr(column["type"], "timezone", True) is False:
                array = array.cast(pa.timestamp(array.type.unit))
        elif not column.get("nullable", True) and column.get("default") is None and column.get("autoincrement") is not True:
            known = model.columns.get(name) if model is not None else None
            value = model_default(known, column["type"]) if known is not None else None
            array = _repeated(_filler(column["type"]) if value is None else value, column["type"], rows.num_rows)
        else:
            continue
        names.append(name)
        arrays.append(array)
    return pa.table(arrays, names=names)


def column_renames(url: URL, current: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """table -> {a column's name at ``current`` (the database's revision): the generator's column it was}, from the
    renames (``alter_column(new_column_name=...)``) the chain's revisions up to there make, followed in order.

    Only what the chain itself says is taken: a revision that cannot be recorded offline (one that reads the
    database through ``op.get_bind()``) adds nothing, and a revision the chain does not know gives no renames.
    """
    revisions = chain.revisions()
    if not current or current[0] not in {revision.revision for revision in revisions}:
        return {}
    dialect = url.get_dialect()()
    names = {table: {column: column for column in GENERATED[table].names} for table in GENERATED}  # generator -> now
    for revision in revisions:
        for table, old, new in _renames_in(revision.module, dialect):
            for generated, now in names.get(table, {}).items():
                if now == old:
                    names[table][generated] = new
        if revision.revision == current[0]:
            break
    return {table: {now: generated for generated, now in pairs.items() if now != generated} for table, pairs in names.items()}


def _renames_in(module: Any, dialect: sa.Dialect) -> list[tuple[str, str, str]]:
    """(table, old, new) for each column a revision's upgrade renames; [] where it cannot be recorded offline."""
    try:
        changes = record(module.upgrade, dialect)
    except Exception:  # a revision that needs a live database cannot be recorded: it is taken to rename nothing
        return []
    return [
        (change.table, change.column, str(change.detail["name"]))
        for change in changes
        if change.kind == "alter_column" and change.table and change.column and change.detail.get("name")
    ]


def model_default(column: sa.Column[Any], kind: Any) -> Any:
    """The scalar value a model column gives a row that names no value for it, as a value of ``kind`` (the column's type
    in the database); None where it has none: a callable default, an SQL expression, or a value ``kind`` cannot take."""
    default = column.default
    if isinstance(default, ColumnDefault) and default.is_scalar:
        return _as_type(default.arg, kind)
    server = column.server_default
    if isinstance(server, DefaultClause):
        text = server.arg if isinstance(server.arg, str) else getattr(server.arg, "text", None)
        return _literal(text, kind) if isinstance(text, str) else None
    return None


def _literal(text: str, kind: Any) -> Any:
    """An SQL literal (``30``, ``(30)``, ``'medium'``, ``false``) as a value of ``kind``; None for anything else."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return _as_type(text[1:-1].replace("''", "'"), kind)
    booleans = {"true": True, "false": False}
    return _as_type(booleans.get(text.lower(), text), kind)


def _as_type(value: Any, kind: Any) -> Any:
    """``value`` as the Python type of a column type (numbers from text too); None where it is not one."""
    try:
        python_type = kind.python_type
    except NotImplementedError:
        return value if isinstance(value, str) else None
    if isinstance(value, bool) or python_type is bool:
        return value if isinstance(value, bool) and python_type is bool else None
    if isinstance(value, python_type):
        return value
    if python_type in (int, float, Decimal) and isinstance(value, str | int | float):
        try:
            return python_type(value)
        except (ValueError, ArithmeticError):
            return None
    return None


def _repeated(value: Any, kind: Any, count: int) -> pa.Array:
    """``value`` ``count`` times, as the Arrow type of the column type ``kind`` where it has an exact one: PostgreSQL's
    binary COPY takes an INTEGER column only as 32-bit integers, a SMALLINT only as 16-bit ones."""
    return pa.array([value] * count, type=_arrow_type(kind))


def _arrow_type(kind: Any) -> pa.DataType | None:
    """The Arrow type of a reflected column type, or None (Arrow infers it from the value) where there is no exact one."""
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.Integer):
        sizes = ((sa.SmallInteger, pa.int16()), (sa.BigInteger, pa.int64()))
        return next((arrow for base, arrow in sizes if isinstance(kind, base)), pa.int32())
    if isinstance(kind, sa.Float):
        return pa.float32() if isinstance(kind, sa.REAL) else pa.float64()
    if isinstance(kind, sa.String):
        return pa.string()
    return None


def _filler(kind: Any) -> Any:
    """A plain value of a column type, for a required column the sample and the models know no value of."""
    try:
        python_type = kind.python_type
    except NotImplementedError:
        return ""
    if issubclass(python_type, datetime):
        return DEFAULT_NOW if getattr(kind, "timezone", False) else DEFAULT_NOW.replace(tzinfo=None)
    return {bool: False, int: 0, float: 0.0, Decimal: Decimal(0), date: DEFAULT_NOW.date()}.get(python_type, "")
