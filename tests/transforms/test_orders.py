"""Lines -> orders -> payloads: whole orders or nothing, and every row accounted for."""

from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import contract
from tests.transforms.toy import NOW, export, row, toy_profile
from transforms.assemble import _amounts
from transforms.conflicts import orders_with_two_values
from transforms.errors import RowError
from transforms.lines import FAILED, ROW, to_lines
from transforms.orders import check_orders, fail_whole_orders, mark_failed
from transforms.payloads import Payloads, build_payloads

FACILITIES = {"OKR-BLR-01": "BLR_FC1"}


def _run(
    raw: pd.DataFrame, facility_map: dict[str, str] | None = FACILITIES
) -> tuple[Payloads, list[RowError]]:
    result = to_lines(raw, toy_profile(), file="x.csv", now=NOW)
    lines, errors = result.frame, list(result.errors)
    group = check_orders(lines, labels={"x.csv": result.columns}, facility_map=facility_map)
    lines = mark_failed(lines, errors + group)
    siblings = fail_whole_orders(lines, "group")
    lines = mark_failed(lines, siblings)
    group += siblings
    built = build_payloads(lines, target_zone="UTC", send_facility=facility_map is not None)
    return built.payloads, errors + group + built.errors


def test_rows_of_one_order_become_one_payload_with_its_items() -> None:
    payloads, errors = _run(export(row("O1", "I1"), row("O2", "I3"), row("O1", "I2", Quantity="3")))
    assert errors == []
    assert [p["id"] for p in payloads] == ["O1", "O2"]
    first = payloads[0]
    assert [i["orderItemId"] for i in first["orderItems"]] == ["I1", "I2"]
    assert first["orderItems"][1]["quantity"] == 3
    assert first["orderDate"] == "2026-11-20 04:30:00"  # 10:00 IST in UTC
    assert first["sla"] == "2026-11-22 04:30:00"  # default: order date + 48 h
    assert first["billingAddress"] == first["shippingAddress"]
    assert first["orderItems"][0]["facilityCode"] == "OKR-BLR-01"
    assert contract.check_order(first) == []


def test_a_conflicting_order_fails_on_all_its_rows_naming_both_values() -> None:
    raw = export(
        row("O1", "I1"), row("O1", "I2", Order_Date="2026-11-21 10:00:00"), row("O2", "I3")
    )
    payloads, errors = _run(raw)
    assert [p["id"] for p in payloads] == ["O2"]
    assert {(e.row, e.field) for e in errors} == {(2, "Order Date"), (3, "Order Date")}
    assert "'2026-11-20 10:00:00' (row 2), '2026-11-21 10:00:00' (row 3)" in errors[0].reason


def test_one_bad_row_holds_back_its_whole_order_and_says_why() -> None:
    raw = export(row("O1", "I1"), row("O1", "I2", Pincode="123"), row("O2", "I3"))
    payloads, errors = _run(raw)
    assert [p["id"] for p in payloads] == ["O2"]
    by_row = {e.row: e for e in errors}
    assert by_row[3].stage == "validate"
    assert by_row[2].stage == "group" and by_row[2].reason == "order O1 not sent: row 3 failed"


def test_an_unmapped_warehouse_fails_before_posting_and_no_map_omits_facility() -> None:
    raw = export(row("O1", "I1", Warehouse_Code="OKR-HYD-09"), row("O2", "I2"))
    payloads, errors = _run(raw)
    assert [p["id"] for p in payloads] == ["O2"]
    assert errors[0].field == "Warehouse Code" and "not in the facility map" in errors[0].reason
    payloads, errors = _run(raw, facility_map=None)
    assert errors == [] and all("facilityCode" not in i for p in payloads for i in p["orderItems"])


def test_repeated_item_ids_fail_the_order() -> None:
    payloads, errors = _run(export(row("O1", "I1"), row("O1", "I1")))
    assert payloads == []
    assert {e.row for e in errors} == {2, 3} and "appears on several rows" in errors[0].reason


def test_marking_and_whole_order_failure_leave_the_lines_they_were_given() -> None:
    raw = export(row("O1", "I1"), row("O1", "I2", Pincode="123"), row("O2", "I3"))
    result = to_lines(raw, toy_profile(), file="x.csv", now=NOW)
    lines = result.frame
    before = lines.copy(deep=True)
    siblings = fail_whole_orders(lines, "group")
    assert [e.row for e in siblings] == [2]
    pd.testing.assert_frame_equal(lines, before)
    marked = mark_failed(lines, siblings)
    pd.testing.assert_frame_equal(lines, before)
    assert marked[FAILED].tolist() == [True, True, False]
    assert lines[FAILED].tolist() == [False, True, False]
    # a new failed column, the other columns shared with the input rather than copied
    assert np.shares_memory(marked[ROW].to_numpy(), lines[ROW].to_numpy())


ids = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=6)
cells = st.fixed_dictionaries(
    {
        "order": st.sampled_from(["A1", "B2", "C3", "D4"]),
        "item": ids,
        "Quantity": st.sampled_from(["1", "2", "0", "x"]),
        "Pincode": st.sampled_from(["560001", "5600", ""]),
        "Warehouse_Code": st.sampled_from(["OKR-BLR-01", "OKR-HYD-09"]),
        "Selling_Price": st.sampled_from(["10", "99.5", "-1"]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cells, min_size=1, max_size=12))
def test_every_row_lands_in_exactly_one_payload_or_the_failure_report(
    rows: list[dict[str, str]],
) -> None:
    raw = export(*(row(r.pop("order"), r.pop("item"), **r) for r in rows))
    payloads, errors = _run(raw)
    in_payloads = [(p["id"], i["orderItemId"]) for p in payloads for i in p["orderItems"]]
    failed_rows = {e.row for e in errors}
    assert len(in_payloads) + len(failed_rows) == len(raw)
    sent = set(in_payloads)
    for n, (order, item) in zip(
        raw.index, zip(raw["Order ID"], raw["Order Item ID"], strict=True), strict=True
    ):
        assert ((order, item) in sent) != (n in failed_rows)
    assert all(contract.check_order(p) == [] for p in payloads)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["a", "a", None, "b", "c", "x", None, "d"], dtype="object"),
        pd.Series([1.0, 1.0, np.nan, 2.0, 3.0, 4.0, np.nan, 5.0]),
        pd.Series([1, 1, None, 2, 3, 4, None, 5], dtype="Int64"),
        pd.Series([True, True, None, False, True, False, None, True], dtype="boolean"),
        pd.to_datetime(
            pd.Series(
                [
                    "2026-11-20 10:00",
                    "2026-11-20 10:00",
                    None,
                    "2026-11-21 09:00",
                    "2026-11-20 10:00",
                    "2026-11-20 11:00",
                    None,
                    "2026-11-22 00:00",
                ]
            ),
            utc=True,
        ),
    ],
    ids=["text", "number", "integer", "boolean", "date"],
)
def test_orders_whose_rows_disagree_are_found_and_blanks_never_disagree(column: pd.Series) -> None:
    codes = np.array([0, 0, 0, 1, 2, 2, 3, 4])  # order 2 disagrees; order 0 has a blank row
    assert orders_with_two_values(codes, column).tolist() == [2]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["a", "a", None, None, "c", "c", "d"], dtype="object"),
        pd.Series([1.0, 1.0, np.nan, np.nan, 3.0, 3.0, 5.0]),
        pd.Series([1, 1, None, None, 3, 3, 5], dtype="Int64"),
        pd.Series([True, True, None, None, False, False, True], dtype="boolean"),
        pd.to_datetime(
            pd.Series(["2026-11-20", "2026-11-20", None, None, "2026-11-21", "2026-11-21", None]),
            utc=True,
        ),
    ],
    ids=["text", "number", "integer", "boolean", "date"],
)
def test_orders_whose_rows_repeat_one_value_or_blank_agree(column: pd.Series) -> None:
    codes = np.array([0, 0, 1, 1, 2, 2, 3])  # each order's rows alike; order 1 all blank
    assert orders_with_two_values(codes, column).tolist() == []
    column.iloc[5] = column.iloc[3]  # a blank row in order 2: still no disagreement
    assert orders_with_two_values(codes, column).tolist() == []
    column.iloc[1] = column.iloc[4]  # order 0 now holds two values
    assert orders_with_two_values(codes, column).tolist() == [0]


@given(
    st.lists(
        st.floats(-1e12, 1e12) | st.sampled_from([-0.0, 0.0, -0.001, float("nan"), float("inf")])
    )
)
def test_shared_amounts_are_the_rounded_amounts_bit_for_bit(amounts: list[float]) -> None:
    column = pd.Series(amounts, dtype="float64")
    shared = _amounts(column)
    assert [repr(a) for a in shared] == [repr(a) for a in column.round(2).tolist()]
    assert all(type(a) is float for a in shared)
