"""The `sync` step in the run's report: order outcomes, failed rows and summary counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

import pandas as pd

from schemas.changes import ChangeResult
from transforms.errors import RowError
from transforms.lines import FAILED, FILE, ROW

SENT: Final = frozenset({"cancelled", "returned"})
ITEM_FAILURES: Final = frozenset({"cancel_failed", "return_failed", "unsure"})
SYNC_COUNTS: Final = {  # summary key -> outcome counted
    "cancelled": "cancelled",
    "returned": "returned",
    "cancel_failed": "cancel_failed",
    "return_failed": "return_failed",
    "changes_unanswered": "unsure",
}


def sync_outcomes(results: Sequence[ChangeResult]) -> dict[str, tuple[str, str]]:
    """Per order the sync touched: ``changed_after_posting`` (its rows fail) or ``synced``."""
    by_order: dict[str, list[ChangeResult]] = {}
    for result in results:
        by_order.setdefault(result.order_id, []).append(result)
    outcomes: dict[str, tuple[str, str]] = {}
    for order_id, mine in by_order.items():
        changed = [r.message for r in mine if r.outcome == "changed_after_posting"]
        if changed:
            outcomes[order_id] = ("changed_after_posting", "; ".join(dict.fromkeys(changed)))
        else:
            said = [f"{r.kind} sent: {r.message}" for r in mine if r.outcome in SENT]
            told = "; ".join(said) or next(r.message for r in mine)
            outcomes[order_id] = ("synced", told)
    return outcomes


def sync_errors(lines: pd.DataFrame, results: Sequence[ChangeResult]) -> list[RowError]:
    """The rows of each change that did not go through, with Uniware's reason, stage `sync`."""
    reasons = {
        (r.order_id, item): r.message
        for r in results
        if r.outcome in ITEM_FAILURES
        for item in r.items
    }
    if not reasons:
        return []
    keys = list(
        zip(lines["order_id"].astype("str"), lines["order_item_id"].astype("str"), strict=True)
    )
    hit = pd.Series([k in reasons for k in keys], index=lines.index) & ~lines[FAILED]
    return [
        RowError(
            str(f), int(r), "sync", "", "", reasons[(str(o), str(i))], str(o), str(i), "sync.failed"
        )
        for f, r, o, i in zip(
            lines.loc[hit, FILE],
            lines.loc[hit, ROW],
            lines.loc[hit, "order_id"],
            lines.loc[hit, "order_item_id"],
            strict=True,
        )
    ]


def count_sync(results: Sequence[ChangeResult]) -> dict[str, int]:
    """Changes by outcome (``changed_after_posting`` counts orders)."""
    counts = Counter[str](r.outcome for r in results)
    changed = len({r.order_id for r in results if r.outcome == "changed_after_posting"})
    return {key: counts[outcome] for key, outcome in SYNC_COUNTS.items()} | {
        "changed_after_posting": changed
    }
