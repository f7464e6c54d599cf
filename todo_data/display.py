"""How the reports show a table to a person: counts with thousands separators, shares as percentages, missing
values as "—", text whole (never cut with "…"), and a sentence instead of an empty table.

One place for every table a report shows: the notebooks call :func:`table`, and :func:`use_for_dataframes`
(run by ``setup_notebook``) makes it pandas' HTML in a notebook, so a frame shown any other way reads the same.
A long table is a :func:`grid` (itables' DataTables: sorts, searches, pages, copies and saves as CSV) once
:func:`use_grid` has put the grid's code into the notebook itself (offline: nothing is fetched, in JupyterLab
or in the HTML report). Nothing here queries a database.
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
GRID_ROWS = 10  # with the grid's code loaded (use_grid), a table of more rows than this is a grid
GRID_PAGE = 25  # rows per page of a grid; a grid of up to GRID_ONE_PAGE rows shows them all on one page
GRID_ONE_PAGE = 50
GRID_MINUTE = "%Y-%m-%d %H:%M"  # a grid's timestamps: UTC to the minute (the column header says UTC)
SMALLEST_SHARE = 0.001  # a share that would round to 0.0% but is not zero reads "<0.1%"
SORT_SUFFIX = " (sort)"  # a hidden column a grid sorts a formatted number column by
_grid_loaded = False


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
            return f"<{SMALLEST_SHARE:.1%}" if 0 < number < SMALLEST_SHARE / 2 else f"{number:.1%}"
        if number.is_integer():
            return f"{number:,.0f}" if separators else f"{number:.0f}"
        return f"{number:,.2f}" if abs(number) >= 0.01 else f"{number:.2g}"
    if isinstance(value, datetime):
        return _moment(pd.Timestamp(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={cell(item)}" for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):  # ids, mostly: 1306, 1930 (never 1,306, 1,930)
        return ", ".join(cell(item, separators=False) for item in value)
    return str(value)


def _moment(stamp: pd.Timestamp) -> str:
    if stamp.tzinfo is None:
        return stamp.strftime("%Y-%m-%d %H:%M:%S")
    return stamp.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


def _long(text: str) -> bool:
    return len(text) > LONG_TEXT or bool(LONG_WORD.search(text))


def html_cell(value: Any, *, share: bool = False, separators: bool = True) -> str:
    """:func:`cell` as escaped HTML; long text (or a long unbroken word) in a box that wraps it at a reading width."""
    text = escape(cell(value, share=share, separators=separators))
    if _long(text):
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
    """What a report shows for a frame: the formatted table (a :func:`grid` when long and the grid's code is loaded),
    or the ``empty`` sentence when it has no rows.

    ``empty=None`` shows nothing for an empty frame (the report has said so already).
    """
    if frame.empty:
        if empty is None:
            return None
        from IPython.display import Markdown

        return Markdown(empty)
    if _grid_loaded and len(frame) > GRID_ROWS:
        return grid(frame, percent=percent)
    return style(frame, percent=percent)


def use_grid() -> None:
    """Put the grid's code (DataTables, shipped inside itables) into this notebook's output, offline, and make
    :func:`table` show long frames as grids; a no-op outside IPython. Run once per notebook, before the first grid."""
    global _grid_loaded
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return
    import itables

    itables.init_notebook_mode(connected=False, all_interactive=False)
    _grid_loaded = True


def grid_frame(frame: pd.DataFrame, *, percent: Iterable[str] = ()) -> tuple[pd.DataFrame, dict[str, str]]:
    """The text a grid shows for ``frame``, and which hidden column each formatted number column sorts by.

    Cells read as in :func:`cell`, except that missing text is empty and timestamps are UTC to the minute
    (:data:`GRID_MINUTE`); a meaningful index becomes columns. Number columns keep their values in a hidden
    ``NAME (sort)`` column, so 1,234 sorts after 987.
    """
    shares = {str(name) for name in percent}
    if not (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None):
        frame = frame.reset_index()
    frame = frame.reset_index(drop=True)
    shown: dict[str, pd.Series] = {}
    sorts: dict[str, str] = {}
    hidden: dict[str, pd.Series] = {}
    for column in frame.columns:
        name, values = str(column), frame[column]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            stamps = values.dt.tz_convert("UTC") if values.dt.tz is not None else values
            shown[name] = stamps.dt.strftime(GRID_MINUTE).fillna(MISSING)
        elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            share = name in shares or bool(SHARE_COLUMN.search(name))
            shown[name] = values.map(partial(cell, share=share, separators=not ID_COLUMN.search(name))).astype(object)
            sorts[name] = name + SORT_SUFFIX
            hidden[name + SORT_SUFFIX] = values.astype("float64")
        elif _is_text(values):
            shown[name] = values.map(lambda value: "" if is_missing(value) else str(value)).astype(object)
        else:
            shown[name] = values.map(cell).astype(object)
    return pd.DataFrame({**shown, **hidden}, index=frame.index), sorts


def _is_text(values: pd.Series) -> bool:
    present = values.dropna()
    return pd.api.types.is_string_dtype(values.dtype) and all(isinstance(value, str) for value in present)


def grid(frame: pd.DataFrame, *, percent: Iterable[str] = ()) -> Any:
    """The frame as an interactive grid (IPython HTML): sorts by any column, searches every cell, pages past
    :data:`GRID_ONE_PAGE` rows, copies and saves what it shows as CSV; cells as :func:`grid_frame` writes them.

    Needs the grid's code in the notebook (:func:`use_grid`); the code is not fetched from anywhere.
    """
    from IPython.display import HTML
    from itables import to_html_datatable

    shown, sorts = grid_frame(frame, percent=percent)
    columns = list(shown.columns)
    hidden = [columns.index(sort) for sort in sorts.values()]
    column_defs: list[dict[str, Any]] = [
        {"targets": [columns.index(name)], "orderData": [columns.index(sort)]} for name, sort in sorts.items()
    ]
    if hidden:
        column_defs.append({"targets": hidden, "visible": False, "searchable": False})
    stamps = [columns.index(str(name)) for name in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[name].dtype)]
    numbers = {columns.index(name) for name in sorts}
    column_defs.append({"targets": [i for i in range(len(columns)) if i not in numbers], "className": "dt-left"})  # text reads left
    if stamps:
        column_defs.append({"targets": stamps, "className": "dt-body-nowrap"})  # 2026-11-30 14:05 on one line
    long = [columns.index(name) for name in columns if shown[name].map(lambda text: isinstance(text, str) and _long(text)).any()]
    if long:
        column_defs.append({"targets": long, "className": "todo-long"})  # wraps at a reading width, long words too
    one_page = len(shown) <= GRID_ONE_PAGE
    return HTML(
        to_html_datatable(
            shown,
            connected=False,
            display_logo_when_loading=False,
            showIndex=False,
            maxBytes=0,  # never downsample: the reports bound their rows (top, page_size)
            classes=f"display compact {TABLE_CLASS} todo-grid",
            css=f".todo-grid td.todo-long {{ {LONG_TEXT_CSS} }}",
            style="table-layout:auto;width:auto;margin:0;caption-side:bottom",
            order=[],  # the frame's own order until a header is clicked
            text_in_header_can_be_selected=False,  # a click anywhere on a header sorts by it
            columnDefs=column_defs,
            paging=not one_page,
            pageLength=GRID_PAGE,
            lengthMenu=[GRID_PAGE, 100, 500, -1] if not one_page else [len(shown)],
            layout={"topStart": "buttons", "topEnd": "search", "bottomStart": "info", "bottomEnd": "paging" if not one_page else None},
            buttons=[{"extend": kind, "exportOptions": {"columns": ":visible"}} for kind in ("copyHtml5", "csvHtml5")],
        )
    )


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
