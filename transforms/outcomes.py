"""Map each order's delivery outcome back to its source rows, and count a run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from transforms.disposition import SKIP_REASON, to_post
from transforms.errors import STAGES, ErrorTable, RowError, Stage
from transforms.lines import FAILED, FILE, ROW

ACCEPTED_OUTCOMES = frozenset({"accepted", "already_accepted", "synced"})
SYNC_STAGE_OUTCOMES = frozenset({"changed_after_posting"})  # set by the sync step


def post_errors(lines: pd.DataFrame, outcomes: Mapping[str, tuple[str, str]]) -> list[RowError]:
    """Every row of an order Uniware did not accept gets that order's reason (server's words)."""
    failed = {o: m for o, (outcome, m) in outcomes.items() if outcome not in ACCEPTED_OUTCOMES}
    rows = lines[~lines[FAILED] & lines["order_id"].isin(list(failed))]
    return [
        RowError(
            f,
            int(r),
            _stage(outcomes[o][0]),
            "",
            "",
            failed[o],
            str(o),
            str(i),
            _code(outcomes[o][0]),
        )
        for f, r, o, i in zip(
            rows[FILE], rows[ROW], rows["order_id"], rows["order_item_id"], strict=True
        )
    ]


def _code(outcome: str) -> str:
    """`post.failed`, `post.not_sent`, `post.unknown`…: the order's outcome as an error code."""
    return f"{_stage(outcome)}.{outcome}"


def _stage(outcome: str) -> Stage:
    return "sync" if outcome in SYNC_STAGE_OUTCOMES else "post"


def skipped_mask(lines: pd.DataFrame, outcomes: Mapping[str, tuple[str, str]]) -> pd.Series:
    """Rows skipped: not failed, marked skip, and of no order accepted (or synced) by Uniware.

    An order accepted in an earlier run counts as accepted even when its lines say skip now
    (e.g. cancelled since: the sync step tells Uniware).
    """
    accepted = [o for o, (outcome, _) in outcomes.items() if outcome in ACCEPTED_OUTCOMES]
    return ~lines[FAILED] & ~to_post(lines) & ~lines["order_id"].isin(accepted)


def count_run(
    lines: pd.DataFrame,
    errors: Iterable[RowError] | ErrorTable,
    outcomes: Mapping[str, tuple[str, str]],
    *,
    orders_built: int,
    dry_run: bool,
) -> dict[str, Any]:
    """The counts of a run summary.

    Every row is counted once: rows_read == rows_accepted + rows_ready + rows_failed +
    rows_skipped (rows_ready is 0 on a real run, rows_accepted 0 on a dry run). `lines`
    must already be marked (`_failed`) with every error, post-stage ones included.
    """
    by_stage = first_stages(ErrorTable.of(errors)).value_counts()
    accepted_ids = [o for o, (outcome, _) in outcomes.items() if outcome in ACCEPTED_OUTCOMES]
    earlier_ids = [o for o, (outcome, _) in outcomes.items() if outcome == "already_accepted"]
    failed_orders = lines.loc[lines[FAILED] & lines["order_id"].notna(), "order_id"].nunique()
    rows_failed = int(by_stage.sum())
    skipped = lines[skipped_mask(lines, outcomes)]
    return {
        "rows_read": len(lines),
        "rows_accepted": int((lines["order_id"].isin(accepted_ids) & ~lines[FAILED]).sum()),
        "rows_already_accepted": int(lines["order_id"].isin(earlier_ids).sum()),
        "rows_failed": rows_failed,
        "rows_skipped": len(skipped),
        "rows_ready": len(lines) - rows_failed - len(skipped) if dry_run else 0,
        "rows_failed_by_stage": {s: int(by_stage.get(s, 0)) for s in STAGES},
        "orders_built": orders_built,
        "orders_accepted": len(accepted_ids),
        "orders_already_accepted": len(earlier_ids),
        "orders_failed": int(failed_orders),
        "orders_skipped": int(skipped["order_id"].nunique()),
        "orders_skipped_by_reason": skipped_by_reason(skipped),
    }


def skipped_by_reason(skipped: pd.DataFrame) -> dict[str, int]:
    """Skipped orders counted by reason ("skipped: already fulfilled on Shopify (…)")."""
    if not len(skipped):
        return {}
    orders = skipped.drop_duplicates("order_id")[SKIP_REASON].value_counts()
    return {f"skipped: {reason}": int(n) for reason, n in orders.items()}


def first_stages(errors: ErrorTable) -> pd.Series:
    """The earliest stage each failed (file, row) failed at, one entry per row."""
    frame = errors.frame
    rank = frame["stage"].map({s: i for i, s in enumerate(STAGES)}).fillna(len(STAGES))
    earliest = rank.groupby([frame["file"], frame["row"]], sort=False).min()
    return earliest.map(dict(enumerate(STAGES)))
