"""Send cancellations and returns of accepted orders exactly once, as orders are sent.

Per change (keyed by the planner): a change the ledger holds ``accepted`` is not sent again
(the planner normally leaves it out); one it holds ``failed`` is reported with Uniware's
earlier answer and not resent (a refused cancellation will not pass by asking again: the
seller acts in Uniware). Otherwise the intent is committed, the request goes out through the
run's throttle with the run's retry policy, and the outcome is committed: ``accepted`` (its
effect on the items with it), ``failed`` on a ``failure`` answer (kept verbatim), or left
``sending`` when no definitive answer came (the next run sends it again).
A refusal of a change sent again after an unanswered request may mean the first one was
applied: the report says so. A credentials refusal stops the run (``CredentialsRefused``).
``throttle.concurrency`` workers take the changes in turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial

from schemas.changes import Change, ChangeOutcome, ChangeResult
from uniware.client import PostResponse
from uniware.exceptions import CredentialsRefused
from uniware.lifecycle_ledger import ChangeState, record_change_intent, record_change_outcome
from uniware.retry import Attempts
from uniware.sending import Sending

FAILED: dict[str, ChangeOutcome] = {"cancel": "cancel_failed", "return": "return_failed"}
DONE: dict[str, ChangeOutcome] = {"cancel": "cancelled", "return": "returned"}
REFUSED_EARLIER = "Uniware refused this {kind} in an earlier run and it was not sent again: {said}"
IN_DOUBT = (
    " (an earlier request for this {kind} got no answer and may have been applied: "
    "check the order in Uniware)"
)
SENT_EARLIER = "{kind} accepted by Uniware in an earlier run; not sent again"


async def send_changes(changes: Sequence[Change], run: Sending) -> list[ChangeResult]:
    """Send each change at most once per destination; one ``ChangeResult`` per change."""
    results: list[ChangeResult] = []
    source = iter(changes)

    async def work() -> None:
        for change in source:  # workers share one iterator: each change once
            results.append(await _one(change, run))

    await asyncio.gather(*(work() for _ in range(run.throttle.concurrency)))
    return results


async def _one(change: Change, run: Sending) -> ChangeResult:
    """Ledger check and intent, throttled and retried request, outcome."""
    prior = record_change_intent(run.ledger, run.destination, change, run_id=run.run_id)
    if prior is not None and prior[0] == "accepted":
        return _result(change, DONE[change.kind], SENT_EARLIER.format(kind=change.kind))
    if prior is not None and prior[0] == "failed":
        said = REFUSED_EARLIER.format(kind=change.kind, said=prior[1])
        return _result(change, FAILED[change.kind], said)
    tries = await run.retry.run(partial(_send, change, run))
    return _settle(change, tries, run, resent=prior is not None or tries.unanswered > 0)


async def _send(change: Change, run: Sending) -> PostResponse:
    async with run.throttle:
        if change.kind == "cancel":
            return await run.client.post_cancel(change.body)
        return await run.client.post_return(change.body)


def _settle(
    change: Change, tries: Attempts[PostResponse], run: Sending, *, resent: bool
) -> ChangeResult:
    answer = tries.answer
    if answer is not None and answer.credentials_refused:
        raise CredentialsRefused.for_merchant(
            base_url=run.destination.base_url,
            merchant_id=run.destination.merchant_id,
            reply=answer.message,
        )
    status = None if answer is None else answer.http_status
    if answer is None or answer.transient:
        said = "no answer" if answer is None else answer.message
        message = f"no definitive answer from Uniware ({said}); the next run sends it again"
        _record(change, "sending", message, tries, run)
        return _result(change, "unsure", message, tries.count, status)
    if answer.ok:
        _record(change, "accepted", answer.message, tries, run)
        return _result(change, DONE[change.kind], answer.message, tries.count, status)
    message = answer.message + (IN_DOUBT.format(kind=change.kind) if resent else "")
    _record(change, "failed", message, tries, run)
    return _result(change, FAILED[change.kind], message, tries.count, status)


def _record(
    change: Change,
    state: ChangeState,
    message: str,
    tries: Attempts[PostResponse],
    run: Sending,
) -> None:
    record_change_outcome(
        run.ledger,
        run.destination,
        change,
        state=state,
        message=message,
        attempts=tries.count,
        http_status=None if tries.answer is None else tries.answer.http_status,
    )


def _result(
    change: Change,
    outcome: ChangeOutcome,
    message: str,
    attempts: int = 0,
    status: int | None = None,
) -> ChangeResult:
    return ChangeResult(
        change.order_id, outcome, message, change.items, change.kind, attempts, status
    )
