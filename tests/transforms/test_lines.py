"""Export rows -> canonical lines: each bad cell reported once, with its row and column."""

from __future__ import annotations

import pytest

from tests.transforms.toy import NOW, export, row, toy_profile
from transforms.exceptions import MissingColumns
from transforms.lines import to_lines


def _errors(raw: object) -> set[tuple[int, str]]:
    result = to_lines(raw, toy_profile(), file="x.csv", now=NOW)  # type: ignore[arg-type]  # raw frames of any shape, on purpose
    return {(e.row, e.field) for e in result.errors}


def test_a_clean_export_has_no_errors() -> None:
    result = to_lines(
        export(row("O1", "I1"), row("O1", "I2")), toy_profile(), file="x.csv", now=NOW
    )
    assert result.errors == []
    assert result.frame["order_status"].tolist() == ["CREATED", "CREATED"]
    assert result.frame["product_id"].tolist() == ["SKU-I1", "SKU-I2"]


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"Pincode": ""}, "Pincode", "required"),
        ({"Pincode": "39500"}, "Pincode", "pincode must have 6 digits, got '39500'"),
        ({"Order Date": "31/13/2026"}, "Order Date", "must be a date like"),
        ({"Quantity": "-1"}, "Quantity", "must be at least 1"),
        ({"Quantity": "1.5"}, "Quantity", "whole number"),
        ({"Selling Price": "abc"}, "Selling Price", "must be a number"),
        (
            {"Order Status": "Shipped"},
            "Order Status",
            "'Shipped' is not a value the toy",
        ),
        ({"Order Date": "2031-01-01 00:00:00"}, "Order Date", "in the future"),
        ({"SKU": "S" * 60}, "SKU", "1 to 45 characters"),
    ],
    ids=[
        "no-pincode",
        "short-pincode",
        "bad-date",
        "negative-qty",
        "fraction-qty",
        "bad-price",
        "unknown-status",
        "future-date",
        "long-sku",
    ],
)
def test_each_bad_cell_is_reported_once_on_its_row_and_column(
    cells: dict[str, str], column: str, reason: str
) -> None:
    raw = export(row("O1", "I1"), row("O2", "I2", **cells), row("O3", "I3"))
    result = to_lines(raw, toy_profile(), file="x.csv", now=NOW)
    assert [(e.row, e.field) for e in result.errors] == [(3, column)]
    assert reason in result.errors[0].reason
    assert result.frame["_failed"].tolist() == [False, True, False]


def test_several_bad_cells_of_one_row_all_show_at_once() -> None:
    raw = export(row("O1", "I1", Pincode="1", Quantity="0", Order_Date="x", Selling_Price="-1"))
    assert _errors(raw) == {
        (2, "Pincode"),
        (2, "Quantity"),
        (2, "Order Date"),
        (2, "Selling Price"),
    }


def test_fixable_values_are_fixed_and_counted_as_warnings() -> None:
    raw = export(row("O1", "I1", Phone="+91 98765 43210", State="KA", City=" Bengaluru "))
    result = to_lines(raw, toy_profile(), file="x.csv", now=NOW)
    assert result.errors == []
    line = result.frame.iloc[0]
    assert (line["ship_phone"], line["ship_state"], line["ship_city"]) == (
        "9876543210",
        "Karnataka",
        "Bengaluru",
    )
    assert sum(result.warnings.values()) == 3


def test_a_missing_required_column_fails_the_file() -> None:
    raw = export(row("O1", "I1")).drop(columns=["SKU"])
    with pytest.raises(MissingColumns, match="sku"):
        to_lines(raw, toy_profile(), file="x.csv", now=NOW)


def test_first_row_only_exports_are_filled_within_the_order() -> None:
    raw = export(row("O1", "I1"), row("O1", "I2", City="", Pincode="", Customer_Name=""))
    result = to_lines(raw, toy_profile(order_fields="first_row"), file="x.csv", now=NOW)
    assert result.errors == []
    assert result.frame["ship_pincode"].tolist() == ["560001", "560001"]
