"""Deliver orders exactly once: ledger check, intent, throttled and retried request, outcome.

Per order:
- accepted in the ledger for this destination with the same payload hash: ``already_accepted``,
  no request; with another hash: ``changed_since_accepted``, reported and NOT resent.
- otherwise the order is claimed in the ledger right before its first request leaves (after
  every throttle and shared-limit wait; claims made together share one commit, each request
  waiting for its own, uniware/ledger_writer.py): state ``sending``, this run and process as
  owner, and a lease that a heartbeat renews while the request (and its retries) are in
  flight. The outcome is written only while the claim holds (compare-and-set on its token),
  in a batch after the answer; the order's Delivery is reported once it is written, and a
  crash before that leaves it ``sending`` for the next run to settle.
- an order another run holds (a live lease) is put back and tried again after this run's other
  orders; if still held then, this run waits for that run's outcome and reports it: accepted
  there (``already_accepted``, "was in flight in run X"), failed there, or released in doubt
  (then it is claimed and sent here). A lease whose owner died is taken over.
- a ``DUPLICATE_SALE_ORDER`` answer counts as accepted when an earlier request for the same
  contents got no definitive answer (the ledger said ``sending``, or this run's earlier try timed
  out, dropped or met a 5xx, which a gateway may send after Uniware committed); when only other
  contents were in doubt it is ``changed_since_accepted``; for an order the ledger has no record
  of at this destination it is a failure (someone else created that id, or this tool did with
  another ledger: the message names both); for one claimed
  before whose requests all ended definitively, a failure that says so.
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
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from sqlite3 import Error as SqliteError
from typing import Any, Final, Literal

from sqlalchemy.exc import SQLAlchemyError

from uniware.client import PostResponse
from uniware.exceptions import CredentialsRefused, LedgerFailed, UniwareError, UniwareUnreachable
from uniware.ledger_entries import ClaimWanted, LedgerEntry, LedgerState, Settled, hash_payload
from uniware.ledger_writer import LedgerWriter
from uniware.ledger_writes import LOOKUP_CHUNK
from uniware.owners import this_owner
from uniware.redact import redact
from uniware.retry import Attempts
from uniware.sending import Sending

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
IN_FLIGHT_ACCEPTED: Final = (
    "was in flight in run {run} ({owner}) when this run reached it; accepted there, not sent again"
)
IN_FLIGHT_FAILED: Final = "was in flight in run {run} ({owner}); it failed there: {message}"
STILL_IN_FLIGHT: Final = (
    "still in flight in run {run} ({owner}) after {seconds:.0f} s of waiting; not sent by this "
    "run: run again once that run has finished"
)
WAIT_LIMIT_SECONDS: Final = 900.0
WAIT_POLL_SECONDS: Final = (0.02, 0.25)  # first and longest pause between looks at a held order

logger = logging.getLogger("uniware.delivery")


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
    deferred: bool = False


@dataclass(slots=True)
class _Hold:
    """This run's claim on one order, once granted: its token and the entry it replaced."""

    token: str | None = None
    prior: LedgerEntry | None = None


class _Held(Exception):
    """The order is not ours to send: accepted meanwhile, or held by another run's live lease."""

    def __init__(self, entry: LedgerEntry) -> None:
        super().__init__(entry.order_id)
        self.entry = entry


class _Halted(Exception):
    """The run stopped while this order waited for its turn: it was never claimed or sent."""


@dataclass(slots=True)
class _Run(Sending):
    """Everything the workers share, and the run-level state they update."""

    on_delivery: Callable[[Delivery], None] | None
    writer: LedgerWriter
    deliveries: list[Delivery] = field(default_factory=list)
    stop: UniwareError | None = None
    bug: BaseException | None = None  # an unexpected error writing outcomes: raised at the end
    answered: bool = False
    pending: deque[_Order] = field(default_factory=deque)
    deferred: deque[_Order] = field(default_factory=deque)
    leases: set[str] = field(default_factory=set)
    owner: str = field(default_factory=this_owner)

    def report(self, delivery: Delivery) -> None:
        """Keep one order's delivery and pass it on."""
        self.deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)

    def going(self) -> bool:
        """True until a run-level failure stops the run."""
        return self.stop is None and self.bug is None

    def halt(self, error: UniwareError) -> None:
        """Stop the run for ``error`` (the first one wins)."""
        self.stop = self.stop or error


async def deliver_orders(
    payloads: Iterable[Mapping[str, Any]],
    sending: Sending,
    *,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> list[Delivery]:
    """Post each payload at most once per destination; one ``Delivery`` per payload."""
    s, writer = sending, LedgerWriter(sending.ledger)
    run = _Run(
        s.client, s.ledger, s.destination, s.run_id, s.throttle, s.retry, on_delivery, writer
    )
    source = iter(payloads)
    workers = [asyncio.create_task(_work(source, run)) for _ in range(run.throttle.concurrency)]
    heartbeat = asyncio.create_task(_heartbeat(run))
    try:
        await asyncio.gather(*workers)
    except BaseException:  # a bug or a cancellation: requests in doubt stay "sending"
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    finally:
        writer.close()  # every answer received is recorded before the run returns
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)
    if run.bug is not None:
        raise run.bug
    if run.stop is not None:
        while (order := _next_order(source, run)) is not None:
            run.report(Delivery(order.id, "not_sent", NOT_SENT.format(reason=run.stop)))
        raise run.stop
    return run.deliveries


async def _heartbeat(run: _Run) -> None:
    """Renew the leases of this run's orders in flight, a few times per lease."""
    pause = run.ledger.lease_seconds / 4
    while True:
        await asyncio.sleep(pause)
        try:
            run.ledger.renew(list(run.leases))
        except Exception:  # a busy database: the next beat tries again, the lease has margin
            logger.warning("could not renew the leases of %d orders", len(run.leases))


async def _work(source: Iterator[Mapping[str, Any]], run: _Run) -> None:
    """Deliver orders one after the other until none are left or the run stops."""
    while run.going() and (order := _next_order(source, run)) is not None:
        delivery = await _deliver(order, run)
        if delivery is not None:
            run.report(delivery)


def _next_order(source: Iterator[Mapping[str, Any]], run: _Run) -> _Order | None:
    """The next order to send; ledger-accepted and id-less ones are reported on the way.

    Orders another run held when first tried come back once the source is exhausted.
    """
    while not run.pending:
        chunk = list(islice(source, LOOKUP_CHUNK))
        if not chunk:
            return run.deferred.popleft() if run.deferred else None
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


async def _deliver(order: _Order, run: _Run) -> Delivery | None:
    """Claim, send with retries, record and return the outcome (None: put back for later)."""
    hold = _Hold()
    waited = time.monotonic()
    while True:
        try:
            tries = await run.retry.run(partial(_send, order, hold, run), proceed=run.going)
        except _Halted:
            return Delivery(order.id, "not_sent", NOT_SENT.format(reason=run.stop))
        except _Held as held:
            if held.entry.state == "accepted":
                return _skipped(order, held.entry.payload_hash)
            holder = held.entry
            if not order.deferred:
                logger.info(
                    "order %s is in flight in run %s (%s): put back, tried again later",
                    order.id, holder.run_id, holder.owner,
                )  # fmt: skip
                run.deferred.append(replace(order, deferred=True))
                return None
            logger.info(
                "order %s is still in flight in run %s (%s): waiting for its outcome",
                order.id, holder.run_id, holder.owner,
            )  # fmt: skip
            settled = await _wait_out(order, held.entry, run, waited)
            if settled is not None:
                return settled
            continue
        break
    prior = hold.prior
    unsure = {prior.payload_hash} if prior is not None and prior.state == "sending" else set()
    if tries.unanswered:
        unsure.add(order.hash)
    _settle(order, tries, unsure, hold, run)
    return None  # reported once its outcome is in the ledger


async def _wait_out(order: _Order, holder: LedgerEntry, run: _Run, since: float) -> Delivery | None:
    """Wait while another run holds the order; its outcome, or None once the order is free."""
    pause = WAIT_POLL_SECONDS[0]
    while run.going():
        waited = time.monotonic() - since
        if waited > WAIT_LIMIT_SECONDS:
            message = STILL_IN_FLIGHT.format(run=holder.run_id, owner=holder.owner, seconds=waited)
            return Delivery(order.id, "failed", message)
        await asyncio.sleep(pause)
        pause = min(pause * 2, WAIT_POLL_SECONDS[1])
        [entry] = run.ledger.get(run.destination, order.id)
        if entry.state == "accepted":
            if entry.payload_hash != order.hash:
                return _skipped(order, entry.payload_hash)
            message = IN_FLIGHT_ACCEPTED.format(run=entry.run_id, owner=entry.owner)
            return Delivery(order.id, "already_accepted", message)
        if entry.state == "failed" and entry.claim_token == holder.claim_token:
            message = IN_FLIGHT_FAILED.format(
                run=entry.run_id, owner=entry.owner, message=entry.message
            )
            return Delivery(order.id, "failed", message, 0, entry.http_status)
        if entry.state != "sending" or not entry.lease_live(_now()):
            return None
        holder = entry
    return Delivery(order.id, "not_sent", NOT_SENT.format(reason=run.stop))


async def _send(order: _Order, hold: _Hold, run: _Run) -> PostResponse:
    """One throttled request; the first one claims the order once its turn has come."""
    async with run.throttle:
        if hold.token is None:
            await _claim(order, hold, run)
        await run.throttle.leaving()  # the claim's commit may have bunched starts
        answer = await run.client.post_order(order.payload)
    run.answered = True
    return answer


async def _claim(order: _Order, hold: _Hold, run: _Run) -> None:
    """Claim the order for this run now (committed before it returns), or raise why not."""
    if not run.going():
        raise _Halted
    wanted = ClaimWanted(run.destination, order.id, order.hash, run.run_id, run.owner)
    try:
        claim = await run.writer.claim(wanted)  # checks the ledger file is still in place
    except LEDGER_ERRORS as error:  # nothing is sent unchecked: the order ends "not sent"
        run.halt(LedgerFailed.at(run.ledger.location, error))
        raise _Halted from None
    if claim.token is None:
        assert claim.prior is not None
        raise _Held(claim.prior)
    hold.token, hold.prior = claim.token, claim.prior
    run.leases.add(claim.token)


def _settle(
    order: _Order, tries: Attempts[PostResponse], unsure: set[str], hold: _Hold, run: _Run
) -> None:
    """Turn the last answer (or error) into a Delivery and the ledger's outcome."""
    answer = tries.answer
    if answer is None:
        if not run.answered:
            run.halt(UniwareUnreachable.at(run.destination.base_url, _describe(tries)))
        message = f"no answer from Uniware ({_describe(tries)}); a rerun settles it safely"
        _record(order, "failed", message, tries, hold, run, state="sending")
    elif answer.ok:
        _record(order, "accepted", answer.message, tries, hold, run, state="accepted")
    else:
        _settle_failure(order, tries, unsure, hold, run)


def _settle_failure(
    order: _Order, tries: Attempts[PostResponse], unsure: set[str], hold: _Hold, run: _Run
) -> None:
    """A failure answer: credentials refused (the run stops), a duplicate, or the order's."""
    answer = tries.answer
    assert answer is not None
    if answer.credentials_refused:
        run.halt(
            CredentialsRefused.for_merchant(
                base_url=run.destination.base_url,
                merchant_id=run.destination.merchant_id,
                reply=answer.message,
            )
        )
    elif DUPLICATE_ORDER.search(answer.message):
        _duplicate(order, tries, unsure, hold, run)
        return
    elif answer.transient and answer.http_status != 429:
        unsure = unsure | {order.hash}
    _record(order, "failed", answer.message, tries, hold, run, state=_doubt(unsure))


def _duplicate(
    order: _Order, tries: Attempts[PostResponse], unsure: set[str], hold: _Hold, run: _Run
) -> None:
    """Uniware already has this id: ours (earlier answer lost), ours changed, or someone else's."""
    assert tries.answer is not None
    said = tries.answer.message
    if order.hash in unsure:
        note = f"{said} (an earlier request's answer was lost: Uniware has it, counted as accepted)"
        _record(order, "accepted", note, tries, hold, run, state="accepted")
        return
    if unsure:
        message = f"{said}: {CHANGED}"
        kept = next(iter(unsure))
        _record(
            order, "changed_since_accepted", message, tries, hold, run, state="accepted", kept=kept
        )
        return
    prior = hold.prior
    if prior is None:
        message = (
            f"{said}: the ledger at {run.ledger.location} has no record of order {order.id} "
            f"sent to {run.destination.key}, so someone else created it in Uniware, or this "
            "tool did with another ledger (deleted, moved, or another --ledger / "
            "UNILOAD_LEDGER); check that order in Uniware (this version was not posted)"
        )
    else:
        message = (
            f"{said}: this tool sent order {order.id} before ({prior.claims} claim(s) since "
            f"{prior.first_claimed_at}, last in run {prior.run_id}) and every earlier request "
            f"ended without creating it ({prior.message or prior.state}); check that order in "
            "Uniware (this version was not posted)"
        )
    _record(order, "failed", message, tries, hold, run, state="failed")


def _record(
    order: _Order,
    outcome: DeliveryOutcome,
    message: str,
    tries: Attempts[PostResponse],
    hold: _Hold,
    run: _Run,
    *,
    state: LedgerState,
    kept: str | None = None,
) -> None:
    """Queue the ledger outcome (written while our claim holds); reported once written."""
    message = redact(message)
    status = None if tries.answer is None else tries.answer.http_status
    assert hold.token is not None, "an order is always claimed before its first request"
    settled = Settled(
        run.destination, order.id, hold.token, state, message, tries.count, status, kept
    )
    delivery = Delivery(order.id, outcome, message, tries.count, status)
    items = order.payload if outcome == "accepted" else None  # Uniware holds these items
    run.writer.settle(settled, items=items, written=partial(_written, delivery, hold.token, run))


def _written(delivery: Delivery, token: str, run: _Run, held: bool | BaseException) -> None:
    """Report a delivery once its outcome was written (or the ledger failed to take it)."""
    run.leases.discard(token)
    if isinstance(held, LEDGER_ERRORS):  # the claim stays "sending": a rerun settles the order
        run.halt(LedgerFailed.at(run.ledger.location, held))
        note = "not recorded in the ledger, which failed: a rerun settles it"
        delivery = replace(delivery, message=f"{delivery.message} ({note})")
    elif isinstance(held, BaseException):
        run.bug = run.bug or held
    elif not held:  # our lease ran out and another run took the order over: its record stands
        logger.warning(
            "order %s: claim taken over by another run; outcome not recorded", delivery.order_id
        )
    try:
        run.report(delivery)
    except BaseException as error:  # the caller's callback failed: the run stops, then raises
        run.bug = run.bug or error


def _now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def _doubt(unsure: set[str]) -> LedgerState:
    """``sending`` while some request may have reached Uniware unanswered, else ``failed``."""
    return "sending" if unsure else "failed"


def _describe(tries: Attempts[PostResponse]) -> str:
    """``ReadTimeout after 6 attempts`` and the like."""
    error = tries.error
    name = "no answer" if error is None else type(error).__name__
    detail = f": {error}" if error is not None and str(error) else ""
    return f"{name}{detail} after {tries.count} attempt{'s' if tries.count != 1 else ''}"
