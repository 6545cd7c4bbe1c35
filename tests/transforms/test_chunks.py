"""Chunk boundaries: blocks never split an order, rows that come back fail, memory stays small."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.chunks import Block, OrderBoundaries

FILE = "orders.csv"


def _table(ids: list[str]) -> pd.DataFrame:
    """Raw rows with these order ids, numbered as a spreadsheet does (header = row 1)."""
    return pd.DataFrame({"Order ID": ids}, index=pd.RangeIndex(2, len(ids) + 2, name="row"))


def _stream(ids: list[str], chunk_rows: int, *, max_items: int = 1999) -> list[Block]:
    table = _table(ids)
    cutter = OrderBoundaries(file=FILE, field="Order ID", max_items=max_items)
    blocks = []
    for start in range(0, len(table), chunk_rows):
        chunk = table.iloc[start : start + chunk_rows]
        blocks.append(cutter.feed(chunk, chunk["Order ID"].astype(object)))
    last = cutter.finish()
    return [*blocks, *([last] if last is not None else [])]


def _flat(lists: list[list[str]]) -> list[str]:
    return [item for part in lists for item in part]


def _orders(blocks: list[Block]) -> list[list[str]]:
    """The order ids of each block's rows that go on to validation."""
    return [b.sound["Order ID"].tolist() for b in blocks]


@settings(deadline=None)  # timing varies under a loaded test session
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=40),
    chunk_rows=st.integers(min_value=1, max_value=15),
)
def test_blocks_hold_whole_orders_and_every_row_once(sizes: list[int], chunk_rows: int) -> None:
    ids = [f"O{n}" for n, size in enumerate(sizes) for _ in range(size)]
    blocks = _stream(ids, chunk_rows)
    rows = [row for b in blocks for row in b.table.index]
    assert rows == list(range(2, len(ids) + 2))  # every row once, in file order
    for order, size in enumerate(sizes):
        holding = [ids.count(f"O{order}") for ids in _orders(blocks) if f"O{order}" in ids]
        assert holding == [size]  # one block holds the whole order
    assert not any(b.errors for b in blocks)


def test_an_order_that_comes_back_later_fails_with_both_rows_named() -> None:
    ids = ["A", "A", "B", "B", "C", "A", "A", "D"]
    blocks = _stream(ids, 3)
    errors = [e for b in blocks for e in b.errors]
    assert [e.row for e in errors] == [7, 8]  # the second stretch of A (rows 7-8)
    assert {e.reason for e in errors} == {
        "order A appeared again at row 7 after its order was complete at row 3; "
        "sort the file by order id: a large file is read in blocks, so an order's rows must "
        "stand together"
    }
    assert {(e.stage, e.field, e.order_id) for e in errors} == {("group", "Order ID", "A")}
    assert sorted(r for b in blocks for r in b.held_out) == [7, 8]
    assert _flat(_orders(blocks)) == ["A", "A", "B", "B", "C", "D"]


def test_a_chunk_size_does_not_change_which_rows_come_back() -> None:
    ids = ["A", "B", "A", "C", "B", "B", "D"]
    held = {size: sorted(r for b in _stream(ids, size) for r in b.held_out) for size in (1, 2, 7)}
    assert held == {1: [4, 6, 7], 2: [4, 6, 7], 7: [4, 6, 7]}


def test_blank_order_ids_pass_through_and_do_not_break_an_order() -> None:
    ids = ["A", "", "A", "B", ""]
    blocks = _stream(ids, 2)
    assert not any(b.errors for b in blocks)
    assert sorted(r for b in blocks for r in b.table.index) == [2, 3, 4, 5, 6]
    assert ["A", "A"] in _orders(blocks)  # row 3 (blank id) went on its own


def test_an_order_longer_than_uniware_allows_fails_without_being_held_in_memory() -> None:
    ids = ["A"] + ["L"] * 9 + ["B"]
    blocks = _stream(ids, 2, max_items=4)
    assert max(len(b.table) for b in blocks) <= 2 + 4  # a chunk plus at most one order
    failed = sorted(e.row for b in blocks for e in b.errors)
    assert failed == list(range(3, 12))  # every row of L
    reasons = {e.reason for b in blocks for e in b.errors}
    assert reasons == {
        "order L (from row 3) runs past 4 rows; Uniware takes at most 4 items in one "
        "order: split the order"
    }
    assert _flat(_orders(blocks)) == ["A", "B"]


def test_completed_orders_take_sixteen_bytes_each() -> None:
    ids = [f"O{n}" for n in range(5000)]
    cutter = OrderBoundaries(file=FILE, field="Order ID")
    table = _table(ids)
    for start in range(0, len(table), 500):
        chunk = table.iloc[start : start + 500]
        cutter.feed(chunk, chunk["Order ID"].astype(object))
    cutter.finish()
    assert len(cutter.completed) >= 4999  # the file's last order needs no record
    assert cutter.completed.nbytes <= 16 * 5000
