"""What every backend's streamed read shares: one table's read (:class:`TableRead`) and :func:`conform`, which gives
each record batch the model's Arrow types whatever the driver inferred (SQLite's child process runs it too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class TableRead:
    """One table's streamed read: SQL without ORDER BY, its positional values, the key it is sorted (and paged) by, the schema."""

    sql: str
    values: list[Any]
    key: str
    schema: pa.Schema


def conform(batch: Any, schema: Any) -> Any:
    """A record batch with ``schema``'s types: all-NULL columns typed, 0/1 as booleans, naive or text timestamps as UTC.

    Self-contained (SQLite's child process runs it). A NULL where the schema forbids one raises ValueError.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = []
    for field in schema:
        column = batch.column(field.name)
        if column.null_count == len(column):
            column = pa.nulls(len(column), field.type)
        elif pa.types.is_timestamp(field.type) and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = parse_utc(column)
        elif pa.types.is_timestamp(field.type) and pa.types.is_timestamp(column.type) and column.type.tz is None:
            column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))  # naive values are UTC, as the models store them
        elif pa.types.is_boolean(field.type) and pa.types.is_integer(column.type):
            column = pc.not_equal(column, 0)
        if not field.nullable and column.null_count:
            raise ValueError(f"column {field.name} holds NULL, which the model does not allow: run `todo-data db upgrade`")
        arrays.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def parse_utc(column: Any) -> Any:
    """ISO 8601 text as UTC microseconds: naive text is UTC, offsets are honoured. Self-contained, for the child too."""
    import pyarrow as pa

    for target in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:
            return column.cast(target).cast(pa.timestamp("us", tz="UTC"))
        except pa.ArrowInvalid:
            continue
    import pandas as pd  # mixed: some values with an offset, some without

    parsed = pd.to_datetime(column.to_pandas(), format="ISO8601", utc=True)
    return pa.Array.from_pandas(parsed).cast(pa.timestamp("us", tz="UTC"))
