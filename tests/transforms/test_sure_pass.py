"""The look before pandera may doubt too much, never too little.

Each case spoils cells of valid canonical lines; the schema check that hands pandera only
the doubtful columns must report exactly what pandera reports when it sees every column
(the same rows, fields, reasons and codes, or the same refusal of a column's type).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.lines import FIELDS, OrderLine
from transforms import rules
from transforms.exceptions import SchemaMismatch
from transforms.lines import Lines, to_lines
from transforms.sure_pass import _lengths, doubtful_columns

from .toy import NOW, export, row, toy_profile

SCHEMA = OrderLine.to_schema()
TEXT = tuple(name for name in SCHEMA.columns if FIELDS[name] == "text")
CELLS: dict[str, list[Any]] = {
    "text": [
        *("", " ", "x" * 201, "A" * 46, "INR", "inr", "123456", "12a456", "S1"),
        *("CREATED", "CANCELLED", "DELIVERED", "COD", "cod"),
        *(None, math.nan, pd.NA, pd.NaT, 5),
    ],
    "datetime": [pd.NaT],
    "number": [math.nan, -1.0, 0.0, 1e6, math.inf, -0.001],
    "integer": [pd.NA, -1, 0, 1, 100_000, 100_001],
}


def _lines(rows: int = 3) -> Lines:
    made = export(*(row(f"O{k}", f"I{k}") for k in range(rows)))
    lines = to_lines(made, toy_profile(), file="x.csv", now=NOW)
    assert lines.errors == []
    return lines


def _checked(lines: Lines, monkeypatch: pytest.MonkeyPatch, *, all_columns: bool) -> Any:
    """The schema errors of the lines (or the refusal's type), with or without the look."""
    with monkeypatch.context() as patch:
        if all_columns:
            patch.setattr(
                rules, "doubtful_columns", lambda schema, frame, text: list(schema.columns)
            )
        try:
            found = rules.check_lines(
                lines.frame, lines.frame, lines.columns, file="x.csv", now=NOW, already=[]
            )
        except SchemaMismatch:
            return SchemaMismatch
    return found.frame.to_dict("records")


def test_valid_lines_leave_no_column_in_doubt() -> None:
    lines = _lines()
    assert doubtful_columns(SCHEMA, lines.frame, TEXT) == []


def test_a_missing_column_is_left_to_pandera() -> None:
    frame = _lines().frame.drop(columns=["sku"])
    assert doubtful_columns(SCHEMA, frame, TEXT) == ["sku"]


@pytest.mark.parametrize(
    "options",
    [{"checks": [pa.Check(lambda frame: len(frame) > 5)]}, {"strict": True}, {"coerce": True}],
    ids=["frame-check", "strict", "coerce"],
)
def test_a_schema_that_does_more_than_check_columns_is_left_to_pandera(
    options: dict[str, Any],
) -> None:
    schema = pa.DataFrameSchema(SCHEMA.columns, **options)
    assert doubtful_columns(schema, _lines().frame, TEXT) == list(SCHEMA.columns)


spoils = st.lists(
    st.tuples(st.sampled_from(sorted(SCHEMA.columns)), st.integers(0, 2), st.integers(0, 99)),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(spoils)
def test_pandera_reports_the_same_with_and_without_the_look(
    monkeypatch: pytest.MonkeyPatch, changes: list[tuple[str, int, int]]
) -> None:
    lines = _lines()
    frame = lines.frame
    for name, at, pick in changes:
        cells = CELLS[FIELDS[name]]
        column = frame[name].astype("object") if FIELDS[name] == "text" else frame[name]
        column = column.copy()
        column.iloc[at] = cells[pick % len(cells)]
        frame[name] = column
    expected = _checked(lines, monkeypatch, all_columns=True)
    assert _checked(lines, monkeypatch, all_columns=False) == expected
    cases = expected if isinstance(expected, list) else []
    failing = {c["field"] for c in cases if not c["code"].startswith(("date.", "sla."))}
    doubtful = {lines.columns.label(n) for n in doubtful_columns(SCHEMA, frame, TEXT)}
    assert failing <= doubtful


@given(st.lists(st.text(alphabet="ab \x00é", max_size=6), max_size=8))
def test_lengths_are_the_lengths_of_the_cells(cells: list[str]) -> None:
    assert _lengths(cells).tolist() == [len(cell) for cell in cells]
