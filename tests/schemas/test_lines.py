"""The OrderLine schema: a parsed frame passes; each kind of bad value fails its own check."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pandera.errors
import pytest

from schemas.lines import OrderLine, text_length, text_matches

if TYPE_CHECKING:
    from pandas._typing import ScalarOrNA

# One failure: (column, check name, row index); None for a whole-column failure.
Failure = tuple[str, str, int | None]


def good_lines() -> pd.DataFrame:
    """Two valid parsed lines with the column types parsing gives (object text, UTC dates)."""
    text = {
        "order_id": ["OKR-1", "OKR-2"],
        "order_item_id": ["OKR-1-1", "OKR-2-1"],
        "order_status": ["CREATED", "PENDING_VERIFICATION"],
        "item_status": ["CREATED", "CREATED"],
        "payment_type": ["PREPAID", "COD"],
        "currency": ["INR", "INR"],
        "sku": ["SKU-RED-M", "SKU-BLUE-L"],
        "product_id": ["SKU-RED-M", "SKU-BLUE-L"],
        "variant_id": ["SKU-RED-M", "SKU-BLUE-L"],
        "title": ["Cotton shirt", "Linen kurta"],
        "ship_name": ["Asha Rao", "Vikram Shah"],
        "ship_address1": ["12 MG Road", "4 Park Street"],
        "ship_address2": ["Near Metro", None],
        "ship_city": ["Bengaluru", "Kolkata"],
        "ship_state": ["KA", "WB"],
        "ship_country": ["IN", "IN"],
        "ship_pincode": ["560001", "700016"],
        "ship_phone": ["9876543210", "9830012345"],
        "bill_address1": ["12 MG Road", None],
        "bill_address2": [None, None],
        "bill_pincode": ["560001", None],
    }
    frame = pd.DataFrame({name: pd.Series(v, dtype="object") for name, v in text.items()})
    dates = pd.to_datetime(["2026-11-20 04:30", "2026-11-21 09:15"], utc=True)
    frame["order_date"] = dates.astype("datetime64[ns, UTC]")
    frame["quantity"] = pd.array([1, 3], dtype="Int64")
    frame["selling_price"] = [499.0, 1299.5]
    frame["total_price"] = [499.0, 3898.5]
    for charge in ("shipping_charges", "discount", "cod_charges", "gift_wrap_charges"):
        frame[charge] = [0.0, np.nan]
    return frame


def failures(frame: pd.DataFrame) -> set[Failure]:
    """Every failure the schema finds: column, check name (without its arguments), row."""
    try:
        OrderLine.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
    else:
        return set()
    return {
        (str(column), str(check).split("(")[0], None if pd.isna(row) else int(row))
        for column, check, row in zip(cases["column"], cases["check"], cases["index"], strict=True)
    }


def with_cell(column: str, value: ScalarOrNA) -> pd.DataFrame:
    """The good lines with ``value`` in ``column`` of the second line (row index 1)."""
    frame = good_lines()
    frame.loc[1, column] = value
    return frame


def test_good_lines_pass_unchanged() -> None:
    frame = good_lines()
    pd.testing.assert_frame_equal(OrderLine.validate(frame, lazy=True), good_lines())


BAD_VALUES: list[tuple[str, ScalarOrNA, str]] = [
    ("order_id", "", "text_length"),
    ("order_id", "O" * 201, "text_length"),
    ("order_id", None, "not_nullable"),
    ("order_item_id", "I" * 46, "text_length"),
    ("order_status", "SHIPPED", "isin"),
    ("order_status", "created", "isin"),
    ("item_status", "RETURNED", "isin"),
    ("payment_type", "UPI", "isin"),
    ("currency", "inr", "text_matches"),
    ("currency", "RUPEE", "text_matches"),
    ("sku", "", "text_length"),
    ("product_id", "P" * 46, "text_length"),
    ("variant_id", "", "text_length"),
    ("title", "", "text_length"),
    ("ship_name", "", "text_length"),
    ("ship_address1", "A" * 101, "text_length"),
    ("ship_address2", "A" * 101, "text_length"),
    ("ship_city", None, "not_nullable"),
    ("ship_state", "", "text_length"),
    ("ship_country", "", "text_length"),
    ("ship_pincode", "70001", "text_matches"),
    ("ship_pincode", "7000 16", "text_matches"),
    ("ship_phone", "", "text_length"),
    ("bill_address1", "B" * 101, "text_length"),
    ("bill_pincode", "123", "text_matches"),
    ("order_date", pd.NaT, "not_nullable"),
    ("quantity", 0, "greater_than_or_equal_to"),
    ("quantity", 100_001, "less_than_or_equal_to"),
    ("selling_price", -1.0, "greater_than_or_equal_to"),
    ("total_price", -0.01, "greater_than_or_equal_to"),
    ("shipping_charges", -5.0, "greater_than_or_equal_to"),
    ("discount", -1.0, "greater_than_or_equal_to"),
    ("cod_charges", -1.0, "greater_than_or_equal_to"),
    ("gift_wrap_charges", -1.0, "greater_than_or_equal_to"),
]


@pytest.mark.parametrize(
    ("column", "value", "check"), BAD_VALUES, ids=[f"{c}-{k}" for c, _, k in BAD_VALUES]
)
def test_each_bad_value_fails_its_check_on_its_row_only(
    column: str, value: ScalarOrNA, check: str
) -> None:
    assert failures(with_cell(column, value)) == {(column, check, 1)}


EDGE_VALUES: list[tuple[str, ScalarOrNA]] = [
    ("order_id", "é" * 200),  # lengths count characters, not bytes
    ("order_item_id", "I" * 45),
    ("payment_type", None),
    ("ship_address2", "A" * 100),
    ("ship_pincode", "5600011"),  # six digits or more
    ("bill_pincode", None),
    ("currency", "USD"),
    ("item_status", "DISPATCHED"),
    ("quantity", 100_000),
    ("selling_price", 0.0),
    ("discount", np.nan),
]


@pytest.mark.parametrize(("column", "value"), EDGE_VALUES, ids=[c for c, _ in EDGE_VALUES])
def test_values_at_the_edge_pass(column: str, value: ScalarOrNA) -> None:
    assert failures(with_cell(column, value)) == set()


def test_every_bad_cell_of_a_frame_is_found_at_once() -> None:
    frame = with_cell("ship_pincode", "1")
    frame.loc[0, "quantity"] = 0
    frame.loc[1, "currency"] = "inr"
    assert failures(frame) == {
        ("ship_pincode", "text_matches", 1),
        ("quantity", "greater_than_or_equal_to", 0),
        ("currency", "text_matches", 1),
    }


def test_a_column_of_the_wrong_type_fails_as_a_whole() -> None:
    frame = good_lines()
    frame["quantity"] = frame["quantity"].astype("float64")
    assert failures(frame) == {("quantity", "dtype", None)}


def test_a_missing_column_fails_as_a_whole() -> None:
    assert failures(good_lines().drop(columns="ship_phone")) == {
        ("OrderLine", "column_in_dataframe", None)
    }


def test_the_text_checks_judge_each_distinct_value_and_leave_missing_cells_to_nullable() -> None:
    texts = pd.Series(["560001", None, "5600", "560001", "ab"], dtype="object")
    assert text_matches(texts, pattern=r"^\d{6,}$").tolist() == [True, True, False, True, False]
    assert text_length(texts, min_value=3, max_value=5).tolist() == [
        False,
        True,
        True,
        False,
        False,
    ]
