"""The sync step in the report: which order outcome, which rows fail, which counts."""

from __future__ import annotations

import pandas as pd

from schemas.changes import ChangeResult
from transforms.sync_report import count_sync, sync_errors, sync_outcomes

RESULTS = [
    ChangeResult("O1", "cancelled", "Successfully updated Order detail", ("O1-1",), "cancel"),
    ChangeResult("O2", "cancel_failed", "ORDER_ALREADY_CANCELLED: order O2", ("O2-2",), "cancel"),
    ChangeResult("O3", "changed_after_posting", "changed after posting: update it in Uniware (x)"),
    ChangeResult("O3", "unsure", "no definitive answer from Uniware", ("O3-1",), "cancel"),
    ChangeResult("O4", "in_sync", "accepted in an earlier run; Uniware has been told"),
]


def test_an_order_with_a_change_uniware_has_no_api_for_fails_the_rest_is_synced() -> None:
    assert sync_outcomes(RESULTS) == {
        "O1": ("synced", "cancel sent: Successfully updated Order detail"),
        "O2": ("synced", "ORDER_ALREADY_CANCELLED: order O2"),
        "O3": ("changed_after_posting", "changed after posting: update it in Uniware (x)"),
        "O4": ("synced", "accepted in an earlier run; Uniware has been told"),
    }


def test_only_the_rows_of_items_whose_change_failed_get_a_sync_error() -> None:
    lines = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O2", "O3"],
            "order_item_id": ["O1-1", "O2-1", "O2-2", "O3-1"],
            "_file": ["a.csv"] * 4,
            "_row": [2, 3, 4, 5],
            "_failed": [False, False, False, True],  # row 5 failed earlier: reported once
        }
    )
    errors = sync_errors(lines, RESULTS)
    assert [(e.row, e.stage, e.reason, e.order_id, e.item_id) for e in errors] == [
        (4, "sync", "ORDER_ALREADY_CANCELLED: order O2", "O2", "O2-2")
    ]


def test_counts_are_requests_except_changed_orders() -> None:
    assert count_sync(RESULTS) == {
        "cancelled": 1,
        "returned": 0,
        "cancel_failed": 1,
        "return_failed": 0,
        "changes_unanswered": 1,
        "changed_after_posting": 1,
    }
