"""Disposition: skip what the marketplace cancelled or fulfilled, post the rest with item status."""

from __future__ import annotations

import pandas as pd

from schemas.profile import Disposition
from transforms.disposition import decide

LABELS = {
    "order_status": "Status",
    "item_status": "Line status",
    "fulfillment_status": "Fulfilment",
    "cancelled_at": "Cancelled at",
}


def lines(*rows: tuple[str, str, str, str, str]) -> pd.DataFrame:
    """(order id, order status, item status, fulfilment, cancelled at), sources alike."""
    frame = pd.DataFrame(
        rows,
        columns=["order_id", "order_status", "item_status", "fulfillment_status", "cancelled_at"],
    )
    for name in ("order_status", "item_status", "fulfillment_status"):
        frame[f"_source_{name}"] = frame[name].str.lower()
    return frame


def run(frame: pd.DataFrame, fulfilled: str = "skip") -> pd.DataFrame:
    policy = Disposition(marketplace="Shop", fulfilled=fulfilled)  # type: ignore[arg-type]  # the policy's text as a profile spells it
    return decide(frame, policy, marketplace="Shop", labels=LABELS)


def test_open_orders_are_posted_created() -> None:
    out = run(lines(("A", "CREATED", "", "", ""), ("A", "CREATED", "", "", "")))
    assert out["disposition"].tolist() == ["post", "post"]
    assert out["skip_reason"].tolist() == ["", ""]
    assert out["item_status"].tolist() == ["CREATED", "CREATED"]


def test_a_cancellation_marker_skips_the_order_and_cancels_every_item() -> None:
    out = run(lines(("A", "CREATED", "", "", "2026-11-20"), ("A", "CREATED", "", "", "2026-11-20")))
    assert out["disposition"].tolist() == ["skip", "skip"]
    assert out["item_status"].tolist() == ["CANCELLED", "CANCELLED"]
    assert out["order_status"].tolist() == ["CANCELLED", "CANCELLED"]
    assert out["skip_reason"].tolist() == ["cancelled on Shop (Cancelled at is set)"] * 2


def test_a_refunded_order_is_skipped_with_the_marketplace_word() -> None:
    out = run(lines(("A", "CANCELLED", "", "", "")))
    assert out["skip_reason"].tolist() == ["cancelled on Shop (Status 'cancelled')"]


def test_a_fulfilled_order_is_skipped_unless_the_profile_posts_it() -> None:
    frame = lines(("A", "CREATED", "", "DISPATCHED", ""), ("B", "DELIVERED", "", "", ""))
    out = run(frame)
    assert out["disposition"].tolist() == ["skip", "skip"]
    assert out["skip_reason"].tolist() == [
        "already fulfilled on Shop (Fulfilment 'dispatched')",
        "already fulfilled on Shop (Status 'delivered')",
    ]
    posted = run(frame, fulfilled="post")
    assert posted["disposition"].tolist() == ["post", "post"]
    assert posted["item_status"].tolist() == ["DISPATCHED", "DELIVERED"]
    assert posted["order_status"].tolist() == ["CREATED", "CREATED"]


def test_partly_cancelled_and_partly_fulfilled_orders_carry_item_status() -> None:
    out = run(
        lines(
            ("A", "CREATED", "CREATED", "", ""),
            ("A", "CREATED", "CANCELLED", "", ""),
            ("B", "CREATED", "DISPATCHED", "PARTIAL", ""),
            ("B", "CREATED", "CREATED", "PARTIAL", ""),
        )
    )
    assert out["disposition"].tolist() == ["post"] * 4
    assert out["item_status"].tolist() == ["CREATED", "CANCELLED", "DISPATCHED", "CREATED"]


def test_every_item_cancelled_skips_the_order() -> None:
    out = run(lines(("A", "CREATED", "CANCELLED", "", ""), ("A", "CREATED", "CANCELLED", "", "")))
    assert out["disposition"].tolist() == ["skip", "skip"]
    assert out["skip_reason"][0] == "cancelled on Shop (Line status 'cancelled' on every item)"


def test_unreadable_facts_never_decide_a_skip() -> None:
    frame = lines(("A", "CANCELLED", "", "", ""), ("A", "", "", "", ""))
    assert run(frame)["disposition"].tolist() == ["post", "post"]
    blocked = pd.Series([False, True])
    policy = Disposition(marketplace="Shop")
    out = decide(
        lines(("A", "CREATED", "DISPATCHED", "", ""), ("A", "CREATED", "", "", "")),
        policy,
        marketplace="Shop",
        labels=LABELS,
        blocked=blocked,
    )
    assert out["disposition"].tolist() == ["post", "post"]


def test_conflicting_order_rows_are_not_a_whole_cancel() -> None:
    out = run(lines(("A", "CANCELLED", "", "", ""), ("A", "CREATED", "", "", "")))
    assert out["disposition"].tolist() == ["post", "post"]  # the group check reports the clash
