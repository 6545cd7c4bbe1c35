"""The screen in front of the contract check may mark too much, never too little.

Each case breaks one contract rule in the canonical lines, past the validation that would
normally catch it. If the screen let the order through unchecked, the default build would
send it while the build that checks every payload (`check_all=True`) rejects it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import contract
from schemas.lines import FIELDS
from transforms.lines import to_lines
from transforms.payloads import Built, build_payloads
from transforms.screen import suspect_orders

from .toy import NOW, export, row, toy_profile

if TYPE_CHECKING:
    from pandas._typing import ScalarOrNA


def _lines(n_first_order: int = 2) -> pd.DataFrame:
    """Valid canonical lines: order O1 with `n_first_order` items, then O2 with one."""
    rows = [row("O1", f"I{k}") for k in range(1, n_first_order + 1)] + [row("O2", "J1")]
    result = to_lines(export(*rows), toy_profile(), file="x.csv", now=NOW)
    assert result.errors == []
    return result.frame


def _set(lines: pd.DataFrame, column: str, value: ScalarOrNA, rows: Any = 0) -> None:
    if isinstance(value, str | int) and FIELDS[column] == "text":
        lines[column] = lines[column].astype("object")
    lines.loc[rows, column] = value


def _both(lines: pd.DataFrame) -> tuple[Built, Built]:
    screened = build_payloads(lines, target_zone="UTC", send_facility=True)
    checked = build_payloads(lines, target_zone="UTC", send_facility=True, check_all=True)
    return screened, checked


ONE_CELL: list[tuple[str, ScalarOrNA]] = [
    ("order_item_id", "I" * (contract.MAX_ID_LENGTH + 1)),
    ("product_id", "P" * (contract.MAX_ID_LENGTH + 1)),
    ("variant_id", None),
    ("sku", "   "),
    ("title", None),
    ("item_status", "SHIPPED"),
    ("shipping_method", "EXPRESS"),
    ("quantity", 0),
    ("packet_number", 0),
    ("selling_price", -1.0),
    ("total_price", float("inf")),
    ("shipping_charges", -5.0),
    ("transfer_price", float("-inf")),
    ("gift_wrap_charges", -1.0),
    ("currency", "inr"),
    ("currency", "IN1"),
    ("order_status", "SHIPPED"),
    ("order_status", None),
    ("payment_type", "CARD"),
    ("order_date", pd.NaT),
    ("sla", pd.NaT),
    ("order_cod_charges", -2.0),
    ("ship_address1", "A" * (contract.MAX_ADDRESS_LINE + 1)),
    ("ship_address2", "B" * (contract.MAX_ADDRESS_LINE + 1)),
    ("ship_city", ""),
    ("ship_phone", None),
    ("ship_pincode", "56OO01"),
    ("bill_name", "  "),
    ("bill_pincode", "5600"),
    ("bill_country", None),
    ("bill_email", 42),
    ("display_order_number", 7),
    ("additional_info", 3),
    ("facility_code", 12),
    ("gift_wrap_message", 5),
]

IDS = [f"{column}={value!r}"[:30] for column, value in ONE_CELL]


@pytest.mark.parametrize(("column", "value"), ONE_CELL, ids=IDS)
def test_a_broken_rule_is_caught_by_the_screen(column: str, value: ScalarOrNA) -> None:
    lines = _lines()
    _set(lines, column, value)
    screened, checked = _both(lines)
    assert [p["id"] for p in checked.payloads] == ["O2"]  # the rule is really broken
    assert screened == checked
    assert {e.row for e in screened.errors} == {2, 3} and screened.errors[0].stage == "build"


def test_a_charge_at_both_levels_is_caught() -> None:
    lines = _lines()
    _set(lines, "order_shipping_charges", 10.0, rows=[0, 1])
    _set(lines, "shipping_charges", 5.0, rows=1)
    screened, checked = _both(lines)
    assert screened == checked and [p["id"] for p in screened.payloads] == ["O2"]
    assert "both given" in screened.errors[0].reason


def test_a_gift_total_with_a_gift_wrapped_item_is_caught() -> None:
    lines = _lines()
    _set(lines, "order_gift_charges", 25.0, rows=[0, 1])
    _set(lines, "gift_wrap_message", "Happy birthday", rows=0)
    screened, checked = _both(lines)
    assert screened == checked and [p["id"] for p in screened.payloads] == ["O2"]


def test_a_repeated_item_id_and_too_many_items_are_caught() -> None:
    lines = _lines()
    _set(lines, "order_item_id", "I1", rows=1)
    screened, checked = _both(lines)
    assert screened == checked and [p["id"] for p in screened.payloads] == ["O2"]
    big = _lines(n_first_order=contract.MAX_ITEMS + 1)
    screened, checked = _both(big)
    assert screened == checked and [p["id"] for p in screened.payloads] == ["O2"]


def test_valid_orders_are_not_marked() -> None:
    lines = _lines()
    order = lines.index.to_numpy()
    heads = lines.iloc[[0, 2]]
    counts = np.array([2, 1])
    assert not suspect_orders(heads, lines.iloc[order], counts, send_facility=True).any()


TEXTS = st.sampled_from([None, "", " ", "x", "X" * 46, "Y" * 101, "CREATED", "PREPAID", "STD"])
POOLS: dict[str, st.SearchStrategy[object]] = {
    "text": st.one_of(TEXTS, st.sampled_from(["INR", "inr", "560001", "5600", "5600O1", 42])),
    "number": st.sampled_from([float("nan"), -1.0, -0.001, 0.0, 12.5, float("inf")]),
    "integer": st.sampled_from([None, -3, 0, 1, 7]),
    "boolean": st.sampled_from([None, True, False]),
    "datetime": st.sampled_from([pd.NaT, pd.Timestamp("2026-11-20 10:00", tz="UTC")]),
}
CHANGES = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(sorted(FIELDS))).flatmap(
        lambda at: st.tuples(st.just(at[0]), st.just(at[1]), POOLS[FIELDS[at[1]]])
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CHANGES)
def test_the_screen_never_lets_a_broken_order_through(changes: list[tuple[int, str, Any]]) -> None:
    lines = _lines()
    for at, column, value in changes:
        if column == "order_id":
            continue  # the order key itself is the grouping, not a payload field to break
        _set(lines, column, value, rows=at)
    screened, checked = _both(lines)
    assert screened == checked


def test_a_gift_charge_without_a_message_sends_an_empty_message() -> None:
    lines = _lines()  # the toy export has no gift message column: all blank
    _set(lines, "gift_wrap_charges", 30.0)
    screened, checked = _both(lines)
    assert screened == checked
    gift = screened.payloads[0]["orderItems"][0]["giftWrap"]
    assert gift == {"giftWrapMessage": "", "giftWrapCharges": 30.0}


def test_payloads_are_the_same_whatever_the_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines(n_first_order=3)
    _set(lines, "ship_pincode", "5600", rows=3)  # O2 breaks a rule: rejected in its chunk
    whole = build_payloads(lines, target_zone="UTC", send_facility=True)
    monkeypatch.setattr("transforms.payloads.CHUNK_ORDERS", 1)
    chunked = build_payloads(lines, target_zone="UTC", send_facility=True)
    assert list(chunked.payloads) == list(whole.payloads) and chunked.errors == whole.errors
    assert len(chunked.payloads) == 1 and chunked.payloads.order_ids == ["O1"]
    assert [p["id"] for p in chunked.payloads] == chunked.payloads.order_ids


def test_only_the_marked_orders_are_built_for_the_full_check() -> None:
    lines = _lines(n_first_order=2)  # O1 on rows 2 and 3, O2 on row 4
    _set(lines, "bill_pincode", "5600", rows=2)
    screened, checked = _both(lines)
    assert screened == checked and [p["id"] for p in screened.payloads] == ["O1"]
    assert [(e.row, e.order_id) for e in screened.errors] == [(4, "O2")]


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(st.text(alphabet=" \t\u00a0\u3000ab\u00e9\U0001f600\0", max_size=6)),
    required=st.booleans(),
    max_length=st.one_of(st.none(), st.integers(0, 5)),
)
def test_text_cells_measured_at_once_pass_only_what_the_check_passes(
    cells: list[str], required: bool, max_length: int | None
) -> None:
    from transforms.screen import TextRule, _sent_if_given, _text_ok, _texts_ok

    ok = _sent_if_given(_text_ok(required=required, max_length=max_length), required=required)
    good = _texts_ok(list(cells), TextRule(required, max_length))
    expected = [ok(cell) for cell in cells]
    if good is None:  # a cell holding NUL: measured one at a time instead
        assert any("\0" in cell for cell in cells)
        return
    for cell, passed, wanted in zip(cells, good.tolist(), expected, strict=True):
        assert wanted or not passed  # never passes a cell the check fails
        assert passed == wanted or (required and cell[:1].isspace())  # marks no more than that
