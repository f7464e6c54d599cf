"""PostgreSQL's measuring transaction (the data impact's reads): read-only, with a statement timeout for each query."""

from __future__ import annotations

import contextlib
import decimal
import functools
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from todo_data.backends.unfit import Unfit


@contextlib.contextmanager
def measuring(connection: Connection, timeout_seconds: float) -> Iterator[None]:
    """One read-only transaction whose statements each give up after ``timeout_seconds``; rolled back at the end."""
    with connection.begin() as transaction:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(timeout_seconds * 1000))}")
        try:
            yield
        finally:
            transaction.rollback()


# Text each cast surely accepts (checked against PostgreSQL 15's input functions): anything else is a candidate, tried
# by a real cast. The patterns stay narrow on purpose (days up to 28, no exponents, few digits): a value they leave out
# costs a trial, one they wrongly let in would be missed.
BLANK = r"^\s*"
END = r"\s*$"
DAY = r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
ZONE = r"(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?"
INTEGER_DIGITS = {2: 4, 4: 9, 8: 18}  # bytes of the integer type -> digits that always fit
BOOLEAN = r"^\s*(t|true|f|false|y|yes|n|no|on|off|1|0)\s*$"  # matched case-insensitively
HEX = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
UUID = rf"^({HEX}|\{{{HEX}\}})$"
PLAIN_CAST = r'\s*("?{name}"?\s*::\s*[\w\s(),]+|cast\s*\(\s*"?{name}"?\s+as\s+[\w\s(),]+\))\s*'  # what the trial casts do too
INTEGER_MAX = {2: 2**15 - 1, 4: 2**31 - 1, 8: 2**63 - 1}


def not_castable(column: Any, old: Any, new: Any, options: dict[str, Any]) -> list[Unfit]:
    """Text the new type's cast refuses (tried for real on the values a pattern cannot vouch for), and numbers a cast to
    an integer rounds (lost: PostgreSQL rounds silently) or cannot hold (NaN, infinity, out of range: it fails)."""
    if isinstance(old, sa.String) and not isinstance(old, sa.Enum):
        surely, words = accepted_pattern(new)
        if surely is None:
            return []
        using = options.get("postgresql_using")
        type_name = new.compile(dialect=postgresql.dialect())
        if not using:
            return [
                Unfit(
                    None,
                    "",
                    "fails",
                    f"; PostgreSQL refuses the change itself whatever the values: it casts text to {type_name} only when told how",
                    f'add postgresql_using="{column.name}::{type_name.lower()}" to the alter_column',
                )
            ]
        if not re.fullmatch(PLAIN_CAST.format(name=re.escape(column.name)), using, re.IGNORECASE):
            return [Unfit(None, "", "info", f"; its USING {using} is not a plain cast of the column: not measured")]
        matches = column.op("~*" if surely == BOOLEAN else "~")(surely)
        return [
            Unfit(
                sa.not_(matches),
                words,
                "fails",
                fix="correct those values first in the revision (or give postgresql_using an expression that converts them), "
                "or keep the type",
                trial=functools.partial(refused_by_cast, new=new),
            ),
            *rounded(column, old, new),
        ]
    if isinstance(old, sa.Numeric | sa.Float) and isinstance(new, sa.Integer):
        largest = INTEGER_MAX[_integer_bytes(new)]
        half = decimal.Decimal("0.5")
        outside = sa.or_(column >= largest + half, column <= -largest - 1 - half)  # NaN and infinity sort above every number
        return [
            Unfit(
                outside, f"outside {-largest - 1}..{largest}, NaN or infinite", "fails", fix="correct those values first, or keep the type"
            ),
            Unfit(
                sa.and_(column != sa.func.round(column), sa.not_(outside)),
                "a fraction PostgreSQL would round away",
                "data-loss",
                fix="round them yourself first if that is meant, keep them in a numeric column, or scale them to whole units",
            ),
        ]
    return rounded(column, old, new)


def rounded(column: Any, old: Any, new: Any) -> list[Unfit]:
    """Values with more decimals than a ``NUMERIC(p, s)`` keeps (text in plain decimal notation, numbers of a larger or
    unbounded scale, floats): PostgreSQL rounds them to ``s`` decimals silently."""
    if not isinstance(new, sa.Numeric) or isinstance(new, sa.Float) or new.precision is None:
        return []
    scale = new.scale or 0
    before = max(new.precision - scale, 0)  # more digits before the point fail instead (counted as not fitting)
    if isinstance(old, sa.String) and not isinstance(old, sa.Enum):
        predicate = column.op("~")(rf"{BLANK}[-+]?[0-9]{{0,{before}}}\.[0-9]{{{scale}}}[0-9]*[1-9][0-9]*{END}")
    elif isinstance(old, sa.Float) or (isinstance(old, sa.Numeric) and (old.scale is None or old.scale > scale)):
        exact = sa.cast(column, postgresql.NUMERIC())
        predicate = sa.and_(exact != sa.func.round(exact, scale), sa.func.abs(exact) < 10**before)
    else:
        return []
    return [
        Unfit(
            predicate,
            f"more than {scale} decimal{'s' if scale != 1 else ''}: PostgreSQL would round them",
            "data-loss",
            fix="round them yourself first if that is meant, or keep the larger scale",
        )
    ]


def accepted_pattern(new: Any) -> tuple[str | None, str]:
    """The pattern of text ``new``'s cast surely accepts, and what a refused value is, in words."""
    if isinstance(new, sa.Boolean):
        return BOOLEAN, "not a boolean PostgreSQL accepts"
    if isinstance(new, sa.Integer):
        return f"{BLANK}[-+]?[0-9]{{1,{INTEGER_DIGITS[_integer_bytes(new)]}}}{END}", "not an integer the type holds"
    if isinstance(new, sa.Float):
        return f"{BLANK}[-+]?([0-9]{{1,15}}(\\.[0-9]{{0,15}})?|\\.[0-9]{{1,15}}){END}", "not a number"
    if isinstance(new, sa.Numeric):
        return f"{BLANK}[-+]?{_decimal(new.precision, new.scale or 0)}{END}", "not a number the type holds"
    if isinstance(new, sa.DateTime):
        return f"{BLANK}{DAY}([ T]{CLOCK}{ZONE if new.timezone else ''})?{END}", "not a timestamp"
    if isinstance(new, sa.Date):
        return f"{BLANK}{DAY}{END}", "not a date"
    if isinstance(new, sa.Time):
        return f"{BLANK}{CLOCK}{END}", "not a time of day"
    if isinstance(new, sa.Uuid):
        return UUID, "not a UUID"
    return None, ""


def _decimal(precision: int | None, scale: int) -> str:
    """A plain decimal with at least one digit that ``NUMERIC(precision, scale)`` holds without rounding (or any, unbounded)."""
    if precision is None:
        return r"([0-9]+(\.[0-9]*)?|\.[0-9]+)"
    before, after = precision - scale, f"{{0,{scale}}}" if scale else "{0}"
    whole = f"[0-9]{{1,{before}}}" if before > 0 else "0"
    forms = [f"{whole}(\\.[0-9]{after})?"]
    return "(" + "|".join(forms + ([f"\\.[0-9]{{1,{scale}}}"] if scale else [])) + ")"


def _integer_bytes(kind: Any) -> int:
    if isinstance(kind, sa.SmallInteger):
        return 2
    return 8 if isinstance(kind, sa.BigInteger) else 4


def refused_by_cast(connection: Connection, values: list[Any], new: Any) -> list[Any]:
    """The ``values`` that ``CAST(value AS new)`` refuses: all cast in one statement, a failing batch split in halves,
    each try in a savepoint (allowed in the read-only transaction; PostgreSQL 15 has no pg_input_is_valid)."""
    type_name = new.compile(dialect=connection.dialect)
    query = sa.text(f"SELECT count(CAST(value AS {type_name})) FROM unnest(CAST(:values AS text[])) AS value")

    def refused(batch: list[Any]) -> list[Any]:
        try:
            with connection.begin_nested():
                connection.execute(query, {"values": [str(value) for value in batch]})
            return []
        except sa.exc.DataError:
            if len(batch) == 1:
                return batch
            half = len(batch) // 2
            return refused(batch[:half]) + refused(batch[half:])

    return refused(values) if values else []
