"""Deliver orders exactly once: ledger check, intent, throttled and retried request, outcome.

Per order:
- accepted in the ledger for this destination with the same payload hash: ``already_accepted``,
  no request; with another hash: ``changed_since_accepted``, reported and NOT resent.
- otherwise the intent is committed (state ``sending``), then the request goes out.
- a ``DUPLICATE_SALE_ORDER`` answer counts as accepted when an earlier request for the same
  contents got no definitive answer (the ledger said ``sending``, or this run's earlier try timed
  out, dropped or met a 5xx, which a gateway may send after Uniware committed); when only other
  contents were in doubt it is ``changed_since_accepted``; for an order this tool never sent it
  is a failure (someone else created that id).
- a failure whose contents may still have reached Uniware stays ``sending`` in the ledger, so a
  rerun resolves it safely; a definitive one is ``failed``.

Run-level stops: the first credentials refusal raises ``CredentialsRefused``; retries exhausted
with no answer ever received in the run raise ``UniwareUnreachable``. Requests in flight finish,
every order not attempted is reported ``not_sent`` to ``on_delivery`` (the ledger keeps no row
for it), then the exception is raised: ``on_delivery`` is how a caller keeps the full account.
``throttle.concurrency`` workers pull orders from one iterator (ledger look-ups in chunks), so
memory stays bounded whatever the number of orders; deliveries come in completion order.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from sqlite3 import Error as SqliteError
from typing import Any, Final, Literal

from sqlalchemy.exc import SQLAlchemyError

from uniware.client import PostResponse, UniwareClient
from uniware.config import Destination
from uniware.exceptions import CredentialsRefused, LedgerFailed, UniwareError, UniwareUnreachable
from uniware.ledger import LOOKUP_CHUNK, Ledger, LedgerState, hash_payload
from uniware.redact import redact
from uniware.retry import Attempts, RetryPolicy
from uniware.throttle import Throttle

DeliveryOutcome = Literal[
    "accepted", "already_accepted", "failed", "changed_since_accepted", "not_sent"
]

DUPLICATE_ORDER: Final = re.compile(r"\bDUPLICATE_SALE_ORDER\b")  # not ..._ORDER_ITEM
ALREADY_ACCEPTED: Final = "accepted by Uniware in an earlier run; not sent again"
CHANGED: Final = (
    "changed since Uniware accepted it: the ledger holds another version of this order, so it "
    "was not sent again. Uniware keeps the version it accepted: change the order in Uniware, or "
    "post the new version under a new order id"
)
LEDGER_ERRORS: Final = (SQLAlchemyError, SqliteError, OSError)
NOT_SENT: Final = "not sent: the run stopped before this order ({reason})"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one order in this run."""

    order_id: str
    outcome: DeliveryOutcome
    message: str
    attempts: int = 0
    http_status: int | None = None


@dataclass(frozen=True, slots=True)
class _Order:
    """One payload to deliver, with its id and content hash."""

    id: str
    payload: Mapping[str, Any]
    hash: str


@dataclass(slots=True)
class _Run:
    """Everything the workers share, and the run-level state they update."""

    client: UniwareClient
    ledger: Ledger
    destination: Destination
    run_id: str
    throttle: Throttle
    retry: RetryPolicy
    on_delivery: Callable[[Delivery], None] | None
    deliveries: list[Delivery] = field(default_factory=list)
    stop: UniwareError | None = None
    answered: bool = False
    pending: deque[_Order] = field(default_factory=deque)

    def report(self, delivery: Delivery) -> None:
        """Keep one order's delivery and pass it on."""
        self.deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)

    def going(self) -> bool:
        """True until a run-level failure stops the run."""
        return self.stop is None

    def halt(self, error: UniwareError) -> None:
        """Stop the run for ``error`` (the first one wins)."""
        self.stop = self.stop or error


async def deliver_orders(
    payloads: Iterable[Mapping[str, Any]],
    *,
    client: UniwareClient,
    ledger: Ledger,
    destination: Destination,
    run_id: str,
    throttle: Throttle,
    retry: RetryPolicy,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> list[Delivery]:
    """Post each payload at most once per destination; one ``Delivery`` per payload."""
    run = _Run(client, ledger, destination, run_id, throttle, retry, on_delivery)
    source = iter(payloads)
    workers = [asyncio.create_task(_work(source, run)) for _ in range(throttle.concurrency)]
    try:
        await asyncio.gather(*workers)
    except BaseException:  # a bug or a cancellation: requests in doubt stay "sending"
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    if run.stop is not None:
        while (order := _next_order(source, run)) is not None:
            run.report(Delivery(order.id, "not_sent", NOT_SENT.format(reason=run.stop)))
        raise run.stop
    return run.deliveries


async def _work(source: Iterator[Mapping[str, Any]], run: _Run) -> None:
    """Deliver orders one after the other until none are left or the run stops."""
    while run.going() and (order := _next_order(source, run)) is not None:
        run.report(await _deliver(order, run))


def _next_order(source: Iterator[Mapping[str, Any]], run: _Run) -> _Order | None:
    """The next order to send; ledger-accepted and id-less ones are reported on the way."""
    while not run.pending:
        chunk = list(islice(source, LOOKUP_CHUNK))
        if not chunk:
            return None
        orders: list[_Order] = []
        for payload in chunk:
            order_id = payload.get("id")
            if isinstance(order_id, str) and order_id:
                orders.append(_Order(order_id, payload, hash_payload(payload)))
            else:
                run.report(Delivery(str(order_id or ""), "failed", "payload has no text 'id'"))
        try:
            accepted = run.ledger.accepted_hashes(run.destination, [o.id for o in orders])
        except LEDGER_ERRORS as error:  # nothing is sent unchecked: these end "not sent"
            run.halt(LedgerFailed.at(run.ledger.location, error))
            accepted = {}
        for order in orders:
            if order.id in accepted:
                run.report(_skipped(order, accepted[order.id]))
            else:
                run.pending.append(order)
    return run.pending.popleft()


def _skipped(order: _Order, accepted_hash: str) -> Delivery:
    """An order the ledger holds as accepted: the same contents, or changed ones."""
    if accepted_hash == order.hash:
        return Delivery(order.id, "already_accepted", ALREADY_ACCEPTED)
    return Delivery(order.id, "changed_since_accepted", CHANGED)


async def _deliver(order: _Order, run: _Run) -> Delivery:
    """Commit the intent, send with retries, record and return the outcome."""
    try:
        run.ledger.check_in_place()
        prior = run.ledger.record_intent(
            run.destination, order.id, payload_hash=order.hash, run_id=run.run_id
        )
    except LEDGER_ERRORS as error:
        run.halt(LedgerFailed.at(run.ledger.location, error))
        return Delivery(order.id, "not_sent", NOT_SENT.format(reason=run.stop))
    if prior is not None and prior.state == "accepted":  # another process got there first
        return _skipped(order, prior.payload_hash)
    unsure = {prior.payload_hash} if prior is not None and prior.state == "sending" else set()
    tries = await run.retry.run(partial(_send, order.payload, run), proceed=run.going)
    if tries.unanswered:
        unsure.add(order.hash)
    return _settle(order, tries, unsure, run)


async def _send(payload: Mapping[str, Any], run: _Run) -> PostResponse:
    """One throttled request."""
    async with run.throttle:
        answer = await run.client.post_order(payload)
    run.answered = True
    return answer


def _settle(order: _Order, tries: Attempts[PostResponse], unsure: set[str], run: _Run) -> Delivery:
    """Turn the last answer (or error) into a Delivery and the ledger's outcome."""
    answer = tries.answer
    if answer is None:
        if not run.answered:
            run.halt(UniwareUnreachable.at(run.destination.base_url, _describe(tries)))
        message = f"no answer from Uniware ({_describe(tries)}); a rerun settles it safely"
        return _record(order, "failed", message, tries, run, state="sending")
    if answer.ok:
        return _record(order, "accepted", answer.message, tries, run, state="accepted")
    if answer.credentials_refused:
        run.halt(
            CredentialsRefused.for_merchant(
                base_url=run.destination.base_url,
                merchant_id=run.destination.merchant_id,
                reply=answer.message,
            )
        )
    elif DUPLICATE_ORDER.search(answer.message):
        return _duplicate(order, tries, unsure, run)
    elif answer.transient and answer.http_status != 429:
        unsure = unsure | {order.hash}
    return _record(order, "failed", answer.message, tries, run, state=_doubt(unsure))


def _duplicate(
    order: _Order, tries: Attempts[PostResponse], unsure: set[str], run: _Run
) -> Delivery:
    """Uniware already has this id: ours (earlier answer lost), ours changed, or someone else's."""
    assert tries.answer is not None
    said = tries.answer.message
    if order.hash in unsure:
        note = f"{said} (an earlier request's answer was lost: Uniware has it, counted as accepted)"
        return _record(order, "accepted", note, tries, run, state="accepted")
    if unsure:
        message = f"{said}: {CHANGED}"
        kept = next(iter(unsure))
        return _record(
            order, "changed_since_accepted", message, tries, run, state="accepted", kept=kept
        )
    message = (
        f"{said}: this tool never sent order {order.id} to {run.destination.key}, so someone "
        "else created it in Uniware; check that order in Uniware (this version was not posted)"
    )
    return _record(order, "failed", message, tries, run, state="failed")


def _record(
    order: _Order,
    outcome: DeliveryOutcome,
    message: str,
    tries: Attempts[PostResponse],
    run: _Run,
    *,
    state: LedgerState,
    kept: str | None = None,
) -> Delivery:
    """Commit the ledger outcome and return the matching Delivery (message scrubbed)."""
    message = redact(message)
    status = None if tries.answer is None else tries.answer.http_status
    try:
        run.ledger.record_outcome(
            run.destination,
            order.id,
            state=state,
            message=message,
            attempts=tries.count,
            http_status=status,
            payload_hash=kept,
        )
    except LEDGER_ERRORS as error:  # the intent stays "sending": a rerun settles the order
        run.halt(LedgerFailed.at(run.ledger.location, error))
        message = f"{message} (not recorded in the ledger, which failed: a rerun settles it)"
    return Delivery(order.id, outcome, message, tries.count, status)


def _doubt(unsure: set[str]) -> LedgerState:
    """``sending`` while some request may have reached Uniware unanswered, else ``failed``."""
    return "sending" if unsure else "failed"


def _describe(tries: Attempts[PostResponse]) -> str:
    """``ReadTimeout after 6 attempts`` and the like."""
    error = tries.error
    name = "no answer" if error is None else type(error).__name__
    detail = f": {error}" if error is not None and str(error) else ""
    return f"{name}{detail} after {tries.count} attempt{'s' if tries.count != 1 else ''}"
