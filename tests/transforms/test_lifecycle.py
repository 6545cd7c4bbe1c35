"""The lifecycle planner: accepted items + the current export's lines -> changes to send."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from schemas.changes import PostedItem, PostedOrder, check_cancel, check_return
from tests.uniware import make_item, make_order
from transforms.lifecycle import change_key, plan_changes, restore_posted

SHIRT = PostedItem("O1-1", "P-SHIRT", "V-SHIRT-M", 2, "CREATED")
MUG = PostedItem("O1-2", "P-MUG", "V-MUG-RED", 3, "CREATED")
POSTED = {"O1": PostedOrder("O1", "CREATED", (SHIRT, MUG))}


def lines(*rows: tuple[Any, ...], **extra: list[Any]) -> pd.DataFrame:
    """Canonical lines: (order id, item id, order status, item status, quantity) per row."""
    frame = pd.DataFrame(
        rows, columns=["order_id", "order_item_id", "order_status", "item_status", "quantity"]
    )
    frame["quantity"] = frame["quantity"].astype("Int64")
    for name, values in extra.items():
        frame[name] = values
    return frame


def test_nothing_changed_plans_nothing() -> None:
    plan = plan_changes(
        lines(("O1", "O1-1", "CREATED", "CREATED", 2), ("O1", "O1-2", "CREATED", "CREATED", 3)),
        POSTED,
    )
    assert (plan.changes, plan.unsendable) == ([], [])


def test_a_whole_order_cancelled_cancels_every_open_unit_as_posted() -> None:
    posted = {"O1": PostedOrder("O1", "CREATED", (SHIRT, _with(MUG, cancelled=1)))}
    cancelled = lines(
        ("O1", "O1-1", "CANCELLED", "CANCELLED", 2), ("O1", "O1-2", "CANCELLED", "CANCELLED", 3)
    )
    [change] = plan_changes(cancelled, posted).changes
    assert change.kind == "cancel"
    assert change.body == {
        "saleOrderCode": "O1",
        "cancellationReason": "cancelled on the marketplace",
        "cancelledSkuCodes": [
            {"quantity": 2, "productId": "P-SHIRT", "variantId": "V-SHIRT-M"},
            {"quantity": 2, "productId": "P-MUG", "variantId": "V-MUG-RED"},
        ],
    }
    assert change.effect == (("O1-1", 2), ("O1-2", 3))
    assert check_cancel(change.body) == []


def test_one_item_cancelled_and_a_quantity_reduced() -> None:
    plan = plan_changes(
        lines(("O1", "O1-1", "CREATED", "CANCELLED", 2), ("O1", "O1-2", "CREATED", "CREATED", 1)),
        POSTED,
    )
    [change] = plan.changes
    units = [(c["productId"], c["quantity"]) for c in change.body["cancelledSkuCodes"]]
    assert units == [("P-SHIRT", 2), ("P-MUG", 2)]
    assert change.items == ("O1-1", "O1-2")


def test_the_same_change_keeps_its_key_and_a_larger_one_gets_another() -> None:
    one = lines(("O1", "O1-1", "CREATED", "CANCELLED", 2), ("O1", "O1-2", "CREATED", "CREATED", 3))
    [first] = plan_changes(one, POSTED).changes
    [again] = plan_changes(one.copy(), POSTED).changes
    assert first.key == again.key == change_key("cancel", "O1", ["O1-1=2"])
    more = lines(("O1", "O1-1", "CREATED", "CANCELLED", 2), ("O1", "O1-2", "CREATED", "CREATED", 2))
    [bigger] = plan_changes(more, POSTED).changes
    assert bigger.key != first.key


def test_after_the_cancellation_was_accepted_nothing_is_left_to_send() -> None:
    done = {"O1": PostedOrder("O1", "CREATED", (_with(SHIRT, cancelled=2), MUG))}
    plan = plan_changes(
        lines(("O1", "O1-1", "CREATED", "CANCELLED", 2), ("O1", "O1-2", "CREATED", "CREATED", 3)),
        done,
    )
    assert (plan.changes, plan.unsendable) == ([], [])


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        ([("O1", "O1-1", "CREATED", "CREATED", 2)], "item O1-2 is no longer in the export"),
        (
            [("O1", "O1-1", "CREATED", "CREATED", 2), ("O1", "O1-2", "CREATED", "CREATED", 5)],
            "item O1-2: quantity 3 → 5",
        ),
        (
            [
                ("O1", "O1-1", "CREATED", "CREATED", 2),
                ("O1", "O1-2", "CREATED", "CREATED", 3),
                ("O1", "O1-3", "CREATED", "CREATED", 1),
            ],
            "item O1-3 added after posting",
        ),
    ],
    ids=["item-removed", "quantity-raised", "item-added"],
)
def test_what_uniware_has_no_api_for_is_reported_not_sent(
    rows: list[tuple[Any, ...]], said: str
) -> None:
    plan = plan_changes(lines(*rows), POSTED)
    assert plan.changes == []
    [note] = plan.unsendable
    assert note.outcome == "changed_after_posting"
    assert note.message == f"changed after posting: update it in Uniware ({said})"


def test_an_undone_cancellation_is_reported() -> None:
    posted = {"O1": PostedOrder("O1", "CREATED", (_with(SHIRT, cancelled=2), MUG))}
    plan = plan_changes(
        lines(("O1", "O1-1", "CREATED", "CREATED", 2), ("O1", "O1-2", "CREATED", "CREATED", 3)),
        posted,
    )
    assert plan.changes == []
    assert "fewer units cancelled than the 2 sent" in plan.unsendable[0].message


def test_orders_never_accepted_and_lines_whatever_their_disposition() -> None:
    frame = lines(
        ("O1", "O1-1", "CANCELLED", "CANCELLED", 2),
        ("O1", "O1-2", "CANCELLED", "CANCELLED", 3),
        ("O9", "O9-1", "CANCELLED", "CANCELLED", 1),
        disposition=["skip", "skip", "skip"],
    )
    plan = plan_changes(frame, POSTED)
    assert [c.order_id for c in plan.changes] == ["O1"]  # O9 was never accepted: not ours


def test_returns_from_lines_that_carry_them() -> None:
    frame = lines(
        ("O1", "O1-1", "CREATED", "DELIVERED", 2),
        ("O1", "O1-2", "CREATED", "DELIVERED", 3),
        return_id=["RET-7", None],
        return_type=["CUSTOMER_RETURN", None],
        return_quantity=[1, None],
        return_reason=["too small", None],
    )
    [change] = plan_changes(frame, POSTED).changes
    assert change.kind == "return"
    assert change.body == {
        "saleOrderCode": "O1",
        "returnID": "RET-7",
        "type": "CUSTOMER_RETURN",
        "reason": "too small",
        "trackingNumber": "",
        "shippingProviderCode": "",
        "status": "CREATED",
        "orderItems": [{"channelProductId": "P-SHIRT", "quantity": 1}],
    }
    assert check_return(change.body) == []
    assert plan_changes(frame, POSTED, done={change.key}).changes == []


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"return_type": ["REFUND"], "return_quantity": [1]}, "type 'REFUND' is not one of"),
        (
            {"return_type": ["COURIER_RETURN"], "return_quantity": [5]},
            "5 units of item O1-1, 2 open",
        ),
    ],
)
def test_a_return_that_cannot_be_sent_is_reported(fields: dict[str, list[Any]], said: str) -> None:
    frame = lines(("O1", "O1-1", "CREATED", "DELIVERED", 2), return_id=["RET-8"], **fields)
    plan = plan_changes(frame, {"O1": PostedOrder("O1", "CREATED", (SHIRT,))})
    assert plan.changes == []
    assert said in plan.unsendable[0].message


def test_restore_posted_undoes_only_statuses_and_quantities() -> None:
    posted = PostedOrder(
        "O1", "CREATED", (PostedItem("OKR-1001-1", "SKU-RED-M", "SKU-RED-M", 2, "CREATED"),)
    )
    accepted = make_order("O1")
    now = make_order(
        "O1", orderStatus="CANCELLED", orderItems=[make_item(status="CANCELLED", quantity=1)]
    )
    assert restore_posted(now, posted) == accepted
    moved = {**now, "shippingAddress": {**now["shippingAddress"], "city": "Mysuru"}}
    assert restore_posted(moved, posted) != accepted


def _fields(item: PostedItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}


def _with(item: PostedItem, **changes: Any) -> PostedItem:
    return PostedItem(**{**_fields(item), **changes})
