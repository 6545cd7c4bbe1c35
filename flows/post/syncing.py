"""The `sync` step: tell Uniware what changed since earlier runs on orders it accepted.

After posting, every order of this run's export that the ledger remembers as accepted (item by
item) is compared with the export: cancellations and returns are planned
(transforms/lifecycle.py) and sent once each (uniware/changes.py) through a throttle built like
posting's (same rate, concurrency and shared limit); any other difference from the accepted
version (address, prices...) is reported "changed after posting", never resent.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.cli.progress import StageProgress
from flows.config import RunOptions
from flows.pipeline import Validated
from flows.post.posting import Posted, Sent, sending_through
from schemas.changes import Change, ChangeResult, PostedOrder
from transforms.lifecycle import CHANGED, plan_changes, restore_posted
from transforms.payloads import Built
from uniware.changes import send_changes
from uniware.config import Destination, UniwareConfig
from uniware.delivery import Delivery
from uniware.exceptions import UniwareError
from uniware.ledger import Ledger
from uniware.ledger_entries import hash_payload
from uniware.lifecycle_ledger import change_states, posted_orders
from uniware.sending import Sending

OTHER_CHANGES = "address, prices or other details differ from the version Uniware accepted"
IN_SYNC = "accepted in an earlier run; Uniware has been told of its cancellations and returns"


def sync_changes(
    lines: pd.DataFrame,
    payloads: Iterable[dict[str, Any]],
    deliveries: Sequence[Delivery],
    *,
    config: UniwareConfig,
    options: RunOptions,
    run_id: str,
) -> list[ChangeResult]:
    """Plan and send the changes of earlier-accepted orders; one result per change or note."""
    destination = config.destination
    ledger = Ledger.open(options.ledger)
    try:
        posted = posted_orders(ledger, destination, _candidates(lines, deliveries))
        if not posted:
            return []
        states = change_states(ledger, destination, posted)
        plan = plan_changes(
            lines, posted, done={k for k, (s, _) in states.items() if s == "accepted"}
        )
        changed = {d.order_id for d in deliveries if d.outcome == "changed_since_accepted"}
        results = plan.unsendable + _other_changes(payloads, changed, posted, ledger, destination)
        if not plan.changes:
            return results
        through = sending_through(config, options, ledger, run_id)
        return results + asyncio.run(_send(plan.changes, through))
    finally:
        ledger.close()


async def _send(
    changes: Sequence[Change], through: AbstractAsyncContextManager[Sending]
) -> list[ChangeResult]:
    """Send the planned changes through the run's client and throttle (built like posting's)."""
    async with through as sending:
        return await send_changes(changes, sending)


def _candidates(lines: pd.DataFrame, deliveries: Sequence[Delivery]) -> list[str]:
    """Order ids that may have changed since accepted: not accepted as they stand now.

    An order accepted in this run, or found accepted with this very payload, is as posted.
    """
    settled = {d.order_id for d in deliveries if d.outcome in ("accepted", "already_accepted")}
    order_ids = lines["order_id"].dropna().astype("str").unique().tolist()
    return [order_id for order_id in order_ids if order_id not in settled]


def _other_changes(
    payloads: Iterable[dict[str, Any]],
    changed: set[str],
    posted: dict[str, PostedOrder],
    ledger: Ledger,
    destination: Destination,
) -> list[ChangeResult]:
    """Changed orders: ``in_sync`` when only statuses and quantities differ, else reported."""
    wanted = changed & set(posted)
    if not wanted:
        return []
    accepted = ledger.accepted_hashes(destination, wanted)
    found = []
    for payload in payloads:
        order_id = payload.get("id")
        if order_id in wanted and order_id in accepted:
            if hash_payload(restore_posted(payload, posted[order_id])) == accepted[order_id]:
                found.append(ChangeResult(order_id, "in_sync", IN_SYNC))
            else:
                message = CHANGED.format(detail=OTHER_CHANGES)
                found.append(ChangeResult(order_id, "changed_after_posting", message))
    return found


Synced = Sent[ChangeResult]  # what the sync step did


@task(name="sync-changes", cache_policy=NO_CACHE, persist_result=False)
def sync_task(
    validated: Validated,
    built: Built,
    posted: Posted,
    config: UniwareConfig,
    options: RunOptions,
    run_id: str,
    progress: StageProgress,
) -> Synced:
    """Send cancellations/returns of orders accepted in earlier runs, once each (ledger-keyed)."""
    progress.start("sync")
    try:
        results = sync_changes(
            validated.lines,
            built.payloads,
            posted.answers,
            config=config,
            options=options,
            run_id=run_id,
        )
    except UniwareError as err:
        return Synced([], stopped=str(err))
    progress.finish("sync")
    said = Counter(r.outcome for r in results)
    if said:
        get_run_logger().info("after posting: %s", ", ".join(f"{n} {k}" for k, n in said.items()))
    return Synced(results)
