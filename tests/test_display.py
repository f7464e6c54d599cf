"""todo_data.display: how every report table reads (counts, shares, missing values, long text, empty tables).

The reports themselves are checked in a browser (tests/browser/test_html.py); these pin the rules on frames
shaped as the library returns them, including the dtypes that gave ``2009.0``, ``<NA>`` and ``NaN``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from IPython.display import Markdown

from todo_data import display


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2009, "2,009"),
        (np.int64(2009), "2,009"),
        (2009.0, "2,009"),  # an integer column that a missing value turned into floats
        (Decimal("1234567"), "1,234,567"),  # PostgreSQL's numeric
        (1.5, "1.50"),
        (0.004, "0.004"),
        (float("nan"), "—"),
        (None, "—"),
        (pd.NA, "—"),
        (pd.NaT, "—"),
        (np.True_, "True"),
        (False, "False"),
        ([], ""),
        ([162, 176, 1034], "162, 176, 1034"),
        ({"user_id": "u-1"}, "user_id=u-1"),
        (date(2025, 1, 31), "2025-01-31"),
        (pd.Timestamp("2025-12-30 04:14:49.123456", tz="UTC"), "2025-12-30 04:14:49 UTC"),
        (datetime(2025, 12, 30, 5, 14, 49, tzinfo=UTC).astimezone(), "2025-12-30 05:14:49 UTC"),
        ("", ""),
    ],
)
def test_cell(value: object, shown: str) -> None:
    assert display.cell(value) == shown


def test_cell_shares_and_identifiers() -> None:
    assert display.cell(0.2001, share=True) == "20.0%"
    assert display.cell(1.0, share=True) == "100.0%"
    assert display.cell(math.nan, share=True) == "—"
    assert display.cell(12345, separators=False) == "12345"
    assert display.cell(1 / 5000, share=True) == "<0.1%", "1 task in 5,000 is not none of them"
    assert display.cell(0.0, share=True) == "0.0%"
    assert display.cell(0.0005, share=True) == "0.1%"


def test_a_list_of_ids_reads_as_a_list() -> None:
    """Task ids 1306 and 1930 in a list: "1306, 1930", never "1,306, 1,930" (four numbers to a reader)."""
    assert display.cell([490, 1528, 4891]) == "490, 1528, 4891"
    assert display.cell((1306, 1930)) == "1306, 1930"


def _cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


def test_a_frame_as_the_library_returns_it_reads_cleanly() -> None:
    """Nullable counts, a share, missing text, lists and long text: no NaN, <NA>, .0 or "…" in the HTML."""
    long_reason = "Changing a column type requires an ACCESS EXCLUSIVE lock on the table, which blocks reads and writes " * 3
    frame = pd.DataFrame(
        {
            "rule": ["changing-column-type", "prefer-bigint-over-int"],
            "help": [None, long_reason],
            "count": pd.array([2009, None], dtype="Int64"),
            "rows": [2009.0, math.nan],
            "share": [0.2001, 0.5],
            "cache_hit": [math.nan, 0.995],
            "examples": [[], [1, 2]],
            "task_id": [12345, 7],
        }
    )
    html = display.style(frame).to_html()
    cells = _cells(html)
    first, second = cells[:8], cells[8:]
    assert first == ["changing-column-type", "—", "2,009", "2,009", "20.0%", "—", "", "12345"]
    assert second[:1] + second[2:] == ["prefer-bigint-over-int", "—", "—", "50.0%", "99.5%", "1, 2", "7"]
    assert second[1] == long_reason, "long text is shown whole, never cut"
    assert 'class="todo-long"' in html, "long text wraps in a box of reading width"
    for token in ("NaN", "nan", "&lt;NA&gt;", "<NA>", "…"):
        assert token not in "".join(cells)
    assert "<th" not in html.split("<tbody>")[1].split("</tbody>")[0], "row numbers 0, 1 … are hidden"


def test_text_is_escaped() -> None:
    html = display.style(pd.DataFrame({"title": ["<script>alert(1)</script>"], "tags": [["<b>"]]})).to_html()
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html


def test_an_empty_table_is_a_sentence() -> None:
    empty = pd.DataFrame({"user_id": [], "tasks": []})
    shown = display.table(empty, empty="No user created a task in the last 30 days.")
    assert isinstance(shown, Markdown) and shown.data == "No user created a task in the last 30 days."
    assert display.table(empty, empty=None) is None
    assert display.html(empty) == "<p>No rows.</p>"
    assert "<table" in display.html(pd.DataFrame({"tasks": [1]}))


def test_a_named_percent_column() -> None:
    html = display.style(pd.DataFrame({"done": [0.25]}), percent=["done"]).to_html()
    assert _cells(html) == ["25.0%"]


def test_a_large_frame_shown_by_accident_stays_short() -> None:
    with pd.option_context("display.max_rows", 60):
        shown = display.html(pd.DataFrame({"n": range(100_000)}))
    assert shown.count("<tr") == 61 and "The first 60 of 100,000 rows." in shown


# --- the grid (itables' DataTables, offline) ---------------------------------------------------------


def test_a_grid_shows_text_sorts_numbers_by_value_and_drops_row_numbers() -> None:
    frame = pd.DataFrame(
        {
            "id": [12345, 7],
            "description": [None, "Call the vet"],
            "tasks": pd.array([2009, None], dtype="Int64"),
            "completion_rate": [0.5, math.nan],
            "created_at": pd.to_datetime(["2026-11-30 14:05:59.123456", None], utc=True),
            "updated_at": pd.to_datetime(["2026-11-30 15:05:00", None], utc=True).tz_convert("Europe/Berlin"),  # shown in UTC
            "completed": [True, False],
            "examples": [[1, 2], []],
        },
        index=pd.RangeIndex(5, 7),  # a slice of a longer frame
    )
    shown, sorts = display.grid_frame(frame)
    assert sorts == {"id": "id (sort)", "tasks": "tasks (sort)", "completion_rate": "completion_rate (sort)"}
    assert list(shown.columns) == [*frame.columns, *sorts.values()]
    assert shown.iloc[:, :8].values.tolist() == [
        ["12345", "", "2,009", "50.0%", "2026-11-30 14:05", "2026-11-30 15:05", "True", "1, 2"],
        ["7", "Call the vet", "—", "—", "—", "—", "False", ""],
    ]
    assert shown["tasks (sort)"].iloc[0] == 2009 and math.isnan(shown["tasks (sort)"].iloc[1])
    named = display.grid_frame(pd.DataFrame({"tasks": [3]}, index=pd.Index(["low"], name="priority")))[0]
    assert list(named.columns[:2]) == ["priority", "tasks"], "a meaningful index becomes a column"


def test_a_grid_carries_no_network_address_and_sorts_by_the_hidden_values() -> None:
    frame = pd.DataFrame({"title": ["</script><script>alert(1)</script>", "b"], "tasks": [1234, 5]})
    html = display.grid(frame).data
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html), "the grid fetches nothing"
    assert "window._itables_" in html, "the grid waits for the code use_grid() put into the notebook"
    assert '"orderData": [2]' in html and '"visible": false' in html
    assert "<script>alert(1)" not in html.split('<script type="module">')[1], "cell text cannot end the grid's script"


def test_table_stays_a_plain_table_outside_a_notebook() -> None:
    long = pd.DataFrame({"n": range(display.GRID_ROWS + 5)})
    display.use_grid()  # no IPython shell here: nothing to load, nothing changes
    assert not isinstance(display.table(long), type(display.grid(long)))
