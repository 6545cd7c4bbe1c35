"""Failures as a table: every error has a stable code, and the table reads like RowError data."""

from __future__ import annotations

import pytest

from tests.transforms.toy import NOW, export, row, toy_profile
from transforms.errors import ErrorTable, RowError
from transforms.failure_table import failure_table
from transforms.lines import to_lines
from transforms.reasons import top_reasons


@pytest.mark.parametrize(
    ("cells", "column", "code"),
    [
        ({"Pincode": ""}, "Pincode", "value.missing"),
        ({"Pincode": "39500"}, "Pincode", "pincode.digits"),
        ({"Order Status": "Whatever"}, "Order Status", "value.unmapped"),
        ({"Order Date": "31/13/2026"}, "Order Date", "date.format"),
        ({"Quantity": "two"}, "Quantity", "integer.format"),
        ({"Quantity": "0"}, "Quantity", "number.too_small"),
        ({"Selling Price": "Rs 499/-"}, "Selling Price", "number.format"),
    ],
)
def test_each_bad_cell_has_a_stable_code(cells: dict[str, str], column: str, code: str) -> None:
    result = to_lines(export(row("O1", "I1", **cells)), toy_profile(), file="x.csv", now=NOW)
    assert [(e.row, e.field, e.code) for e in result.errors] == [(2, column, code)]


def test_top_reasons_count_rows_per_code_and_field() -> None:
    bad = [row(f"O{n}", "I1", Pincode="39500" if n % 2 else "") for n in range(6)]
    errors = to_lines(export(*bad), toy_profile(), file="x.csv", now=NOW).errors
    reasons = top_reasons(errors)
    assert [(r.code, r.field, r.rows) for r in reasons] == [
        ("pincode.digits", "Pincode", 3),  # ties: by field, then by reason
        ("value.missing", "Pincode", 3),
    ]


def test_a_table_and_a_list_of_the_same_errors_make_the_same_report() -> None:
    raw = export(row("O1", "I1"), row("O2", "I2"), row("O3", "I3"))
    errors = [
        RowError("x.csv", 4, "group", "Order ID", "O3", "b", "O3", code="order.conflict"),
        RowError("x.csv", 3, "validate", "Pincode", "", "a", "O2", code="value.missing"),
        RowError("x.csv", 4, "validate", "", "", "c", "O3", code="value.missing"),
        RowError("x.csv", 4, "validate", "", "", "c", "O3", code="value.missing"),
    ]
    table = ErrorTable.of(errors)
    assert list(table) == errors and table == errors and len(table[1:]) == 3
    merged = failure_table(raw, table, "x.csv")
    assert merged["error_row"].tolist() == [3, 4]
    assert merged["error_stage"].tolist() == ["validate", "validate"]  # the earliest stage
    assert merged["error_reason"].tolist() == ["Pincode: a", "c\nOrder ID: b"]
    assert merged["error_field"].tolist() == ["Pincode", "-\nOrder ID"]
