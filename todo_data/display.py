"""How the reports show a table to a person: counts with thousands separators, shares as percentages, missing
values as "—", text whole (never cut with "…"), and a sentence instead of an empty table.

One place for every table a report shows: the notebooks call :func:`table`, and :func:`use_for_dataframes`
(run by ``setup_notebook``) makes it pandas' HTML in a notebook, so a frame shown any other way (the
explorer's live page) reads the same. Nothing here queries a database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from html import escape
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

MISSING = "—"
TABLE_CLASS = "dataframe todo-table"
# columns that hold a share of a whole (0.2 is 20 %): ``share``, ``completion_rate``, ``cache_hit``, ``seq_scan_ratio``
SHARE_COLUMN = re.compile(r"(^|_)(share|rate|ratio|hit|fraction)$")
# text longer than this, or with a word longer than LONG_WORD, is wrapped in a box of reading width (see the template's CSS)
LONG_TEXT = 80
LONG_WORD = re.compile(r"[^\s]{40,}")
LONG_TEXT_CSS = "min-width: 14rem; max-width: 36rem; white-space: pre-wrap; overflow-wrap: anywhere; text-align: left;"
# columns that hold identifiers, shown without separators (task 1234, not 1,234)
ID_COLUMN = re.compile(r"(^|_)(id|pid|oid|line|position|step|revision)$")


def is_missing(value: Any) -> bool:
    """None, NaN, NaT and pd.NA; never a list or other container."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | Decimal):
        return math.isnan(value)
    return False


def cell(value: Any, *, share: bool = False, separators: bool = True) -> str:
    """One value as a reader wants it: ``2,009`` not ``2009.0``, ``20.0%`` not ``0.2``, ``—`` not ``NaN``."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):  # before int: bool is an int
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str | pd.Timestamp):  # a NumPy scalar
        return cell(value.item(), share=share, separators=separators)
    if isinstance(value, int):
        return f"{value:,}" if separators else str(value)
    if isinstance(value, float | Decimal):
        number = float(value)
        if share:
            return f"{number:.1%}"
        if number.is_integer():
            return f"{number:,.0f}" if separators else f"{number:.0f}"
        return f"{number:,.2f}" if abs(number) >= 0.01 else f"{number:.2g}"
    if isinstance(value, datetime):
        return _moment(pd.Timestamp(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={cell(item)}" for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(cell(item) for item in value)
    return str(value)


def _moment(stamp: pd.Timestamp) -> str:
    if stamp.tzinfo is None:
        return stamp.strftime("%Y-%m-%d %H:%M:%S")
    return stamp.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


def html_cell(value: Any, *, share: bool = False, separators: bool = True) -> str:
    """:func:`cell` as escaped HTML; long text (or a long unbroken word) in a box that wraps it at a reading width."""
    text = escape(cell(value, share=share, separators=separators))
    if len(text) > LONG_TEXT or LONG_WORD.search(text):
        return f'<div class="todo-long">{text}</div>'
    return text


def _formatter(name: Any, shares: set[str]) -> Callable[[Any], str]:
    text = str(name)
    return partial(html_cell, share=text in shares or bool(SHARE_COLUMN.search(text)), separators=not ID_COLUMN.search(text))


def style(frame: pd.DataFrame, *, percent: Iterable[str] = ()) -> Styler:
    """The frame as a pandas Styler that formats every cell with :func:`html_cell`; row numbers hidden.

    ``percent`` names share columns the name pattern does not catch.
    """
    shares = {str(name) for name in percent}
    styler = frame.style.format({column: _formatter(column, shares) for column in frame.columns})
    styler = styler.format_index(html_cell, axis="index").format_index(lambda name: escape(str(name)), axis="columns")
    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        styler = styler.hide(axis="index")  # 0, 1, 2 … tell a reader nothing
    # in the Styler's own CSS, so the table reads the same in JupyterLab as in the HTML report
    styler = styler.set_table_styles([{"selector": ".todo-long", "props": LONG_TEXT_CSS}])
    return styler.set_table_attributes(f'class="{TABLE_CLASS}"')


def table(frame: pd.DataFrame, *, empty: str | None = "No rows.", percent: Iterable[str] = ()) -> Any:
    """What a report shows for a frame: the formatted table, or the ``empty`` sentence when it has no rows.

    ``empty=None`` shows nothing for an empty frame (the report has said so already).
    """
    if frame.empty:
        if empty is None:
            return None
        from IPython.display import Markdown

        return Markdown(empty)
    return style(frame, percent=percent)


def html(frame: pd.DataFrame) -> str:
    """The HTML a notebook shows for any DataFrame (see :func:`use_for_dataframes`): at most pandas' ``display.max_rows``
    rows, so a large frame shown by accident stays quick."""
    if frame.empty:
        return "<p>No rows.</p>"
    limit = pd.get_option("display.max_rows") or len(frame)
    if len(frame) <= limit:
        return style(frame).to_html()
    return style(frame.head(limit)).to_html() + f"<p>The first {limit:,} of {len(frame):,} rows.</p>"


def use_for_dataframes() -> None:
    """Make :func:`html` the HTML of every DataFrame this IPython kernel shows; a no-op outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, html)
