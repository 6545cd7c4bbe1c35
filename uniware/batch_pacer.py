"""A rate limit shared by processes, taken a whole bucket at a time and spent at an even pace.

The shared limit is a bucket of ``capacity`` C slots draining at ``rate`` R slots per second
(a Prefect global concurrency limit with ``slot_decay_per_second``), shared by every worker.
Taking one slot per request costs a remote call per request, and a slot nobody asks for the
moment it drains is lost. Here a worker takes all C slots in one call (a *batch*) and spends
them itself: one call per C/R seconds.

Why the workers together never exceed R in a second (the bound is on request starts; N is
floor(R), p = ``shared_interval(R)`` = (1 s + guard) / N, so N starts take N·p = 1 s + guard):

1. A batch is all C slots, so the bank grants one only when the bucket is empty: two grants,
   to any workers, are at least C/R s apart on the bank's clock (``T2 >= T1 + C/R``).
2. A worker sends its take at ``S`` and hears the grant at ``V``: the grant happened at some
   ``T`` in ``[S, V]``. It starts requests only inside ``[V, D]``, ``D = S + C/R - p``: before
   ``T + C/R - p``, while the next batch's starts (any worker's) come after ``T2 >= T + C/R``.
3. Inside a batch, start j never comes before its slot ``V + j·p``, and a worker never starts
   more than N in any window of N·p (its own starts, batches included). A late wake-up may
   catch up, except in the last N·p before ``D``, where starts are at least p apart.

A 1-second window holding starts of one batch alone holds at most N (rule 3). One that also
reaches the next batch, from time ``b = T + C/R`` on, lies after ``b - 1 s``, inside the
previous batch's last N·p: there, starts p apart ending by ``b - p`` give at most
``floor(y / p)`` for the part of length y before b, and the next batch, never ahead of its
slots from ``V2 >= b``, at most ``ceil((1 - y) / p)`` after it: together at most
``floor(1 / p) + 1 <= N``. On schedule, N + 1 starts span 1 s + guard, the guard absorbing
the jitter on the way to the server that logs them. Each worker measures durations on its own
clock and the bank on its own: only the clocks' rates must agree (other hosts are fine).
Anyone taking slots without this protocol only delays the next grant, but its own requests
are not paced here: give the limit to these workers alone.

What it costs, per batch: the take's round trip (``V - S``), the rounding down to whole
starts, and the grant's lateness: the holder takes again when the bucket is surely empty
(``V + C/R``); another worker reads the occupied slots a and takes when the bucket is surely
empty too (a/R after the read). A refused take changes nothing on the bank (another worker was
first): read again. Takes are never used to poll: each is a write attempt on the Prefect
server's database, and two workers taking every 20 ms near the boundary slowed some takes to
1-2 s (SQLite, measured), a whole batch lost to the round trip. A worker that runs out of
requests gives back, when its posting ends, the slots of its batch it will not use
(``finish``), keeping the bucket occupied until a whole window after its last start.

Why giving back keeps the bound: the worker took all C slots at ``T >= S`` and its last start
was at ``L``. It releases ``r = floor((S + C/R - L - W) * R)`` slots, ``W`` its pace's window
(at least 1 s + guard). The server's decay only rounds down, and a release restarts its clock,
so the bucket is empty no sooner than ``T + (C - r)/R >= L + W``: the next grant, and every start
of its batch, comes a whole window after this worker's last start, and no 1-second window holds
starts of both. This needs the release to reach the server before the bucket drains
(``T + C/R``): had it drained, the release would shorten the next holder's batch, and a third
worker could take the bucket while that holder still starts requests. So a worker gives slots
back only while its batch has ``RELEASE_MARGIN_SECONDS`` left to run; with two workers a late
release is harmless (the next holder waits out its own batch before taking again). A worker
waiting for the bucket reads it again every ``REREAD_SECONDS`` (reads write nothing on the
server), so it sees slots given back instead of sleeping out the whole batch.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import Final, Protocol

from uniware.throttle import RATE_GUARD_SECONDS, start_interval

# N + 1 starts on schedule span 1 s + this guard, for the jitter between a start and the server
# that logs it (two workers at 20/s on a loaded 2-core machine: 0.02 s let the sandbox see 21
# in one second; 0.04 s, as the local throttle's, kept it at 20)
GUARD_SECONDS: Final = RATE_GUARD_SECONDS
# The shortest batch advised, in seconds of requests. The model's 50 ms round trip is the
# least a batch loses; measured with two workers at 20/s (bench.measure.measure_rate, 1,800
# orders), a batch lost about 0.45 s (the take's round trip, the refusal's Retry-After sleep,
# the decay's whole slots): 2.5 s batches reached 17.2/s (86 %), 5 s batches 18.3/s (91 %).
ADVISED_BATCH_SECONDS: Final = 5.0
# A worker waiting for another's batch to drain reads the bucket again this often, to see slots
# given back early (``BatchPacer.finish``); a read is one GET, which writes nothing on the server.
REREAD_SECONDS: Final = 1.0
# Slots are given back only while the batch has at least this long to run: a release reaching
# the server after the bucket drained would take slots from the next holder's batch instead.
RELEASE_MARGIN_SECONDS: Final = 1.0
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LimitState:
    """A shared limit as the bank reports it now."""

    capacity: int  # slots the bucket holds
    rate: float  # slots draining per second
    occupied: int  # slots still taken (after draining)


class SlotBank(Protocol):
    """The remote bucket (the flows layer plugs in Prefect's global concurrency limit)."""

    async def read(self) -> LimitState:
        """The limit's settings and occupied slots; raises when it is unusable."""

    async def take(self, slots: int) -> bool:
        """Take ``slots`` at once if the bucket has room now; False if it has not yet."""

    async def release(self, slots: int, *, held_seconds: float) -> None:
        """Give back ``slots`` taken ``held_seconds`` ago (the bucket never goes below empty)."""


def shared_interval(rate: float) -> float:
    """The schedule's interval p: floor(rate) starts take 1 s + ``GUARD_SECONDS``."""
    return start_interval(rate, guard=GUARD_SECONDS)


def starts_per_batch(capacity: int, rate: float, *, round_trip: float, interval: float) -> int:
    """Requests one batch of ``capacity`` slots starts when a take takes ``round_trip`` s."""
    window = capacity / rate - round_trip - interval  # from V to the last start, S + C/R - p
    return 0 if window < 0 else min(capacity, math.floor(window / interval) + 1)


def expected_share(capacity: int, rate: float, *, round_trip: float) -> float:
    """The share of ``rate`` that batches of ``capacity`` slots reach, one take per batch."""
    interval = shared_interval(rate)
    starts = starts_per_batch(capacity, rate, round_trip=round_trip, interval=interval)
    return starts / ((capacity / rate + round_trip) * rate)


def batch_efficiency(capacity: int, rate: float, *, round_trip: float) -> float:
    """The share of the pace's own best (one start per interval) that batches keep."""
    return expected_share(capacity, rate, round_trip=round_trip) * shared_interval(rate) * rate


def recommended_capacity(rate: float, *, round_trip: float, efficiency: float) -> int:
    """The smallest capacity (at least ``ADVISED_BATCH_SECONDS`` of slots) whose batches keep
    ``efficiency``."""
    capacity = max(2, math.ceil(ADVISED_BATCH_SECONDS * rate))
    while batch_efficiency(capacity, rate, round_trip=round_trip) < efficiency:
        capacity += max(1, math.ceil(rate / 4))
    return capacity


@dataclass(frozen=True)
class Pace:
    """Start slots ``interval`` apart; at most ``per_window`` starts in any ``window`` s."""

    interval: float
    per_window: int
    window: float

    @classmethod
    def of(cls, rate: float, *, guard: float = GUARD_SECONDS) -> Pace:
        """The pace that keeps every 1-second window within ``rate`` (see the module doc)."""
        per_window = math.floor(rate) if rate >= 1 else 1
        interval = start_interval(rate, guard=guard)
        return cls(interval, per_window, per_window * interval)

    def and_(self, other: Pace) -> Pace:
        """A pace that keeps both bounds: the fewer starts in the longer window, and so on."""
        return Pace(
            max(self.interval, other.interval),
            min(self.per_window, other.per_window),
            max(self.window, other.window),
        )


@dataclass
class _Batch:
    """The slots in hand: the first slot, the last allowed start, how many have started."""

    first: float
    deadline: float
    capacity: int
    rate: float  # the limit's, when granted
    started: int = 0


class BatchPacer:
    """A ``SharedLimit`` for the throttle: one start per ``acquire``, batches taken on demand.

    ``local_rate`` (the run's own ``--rate``) slows the pace further: the shared limit decides
    the start time last, so it keeps the local bound too. Waiters start in the order they came.
    """

    def __init__(self, bank: SlotBank, *, local_rate: float | None = None) -> None:
        self._bank = bank
        self._local = None if local_rate is None else Pace.of(local_rate, guard=RATE_GUARD_SECONDS)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn = asyncio.Lock()
        self._batch: _Batch | None = None
        self._pace = Pace(math.inf, 1, math.inf)  # set from the limit's rate at each batch
        self._starts: deque[float] = deque(maxlen=1)  # this worker's latest starts
        self._empty_by = -math.inf  # the bucket is surely empty again then: our grant + C/R

    async def acquire(self) -> None:
        """Wait until this worker's next start is allowed, and take it."""
        loop = self._bind()
        async with self._turn:
            while True:
                batch = self._batch
                if batch is not None and batch.started < batch.capacity:
                    due = self._due(batch, loop.time())
                    if due > batch.deadline:
                        self._batch = None
                    elif due > loop.time():
                        await asyncio.sleep(due - loop.time())
                    else:
                        batch.started += 1
                        self._starts.append(loop.time())
                        return
                else:
                    self._batch = await self._take_batch(loop)

    async def finish(self) -> None:
        """Give back the slots of the batch in hand this worker will not use (module doc):
        called once its posting is over. A release that fails costs the other workers time
        only (the slots drain on their own), so it is logged, not raised."""
        batch, loop = self._batch, self._loop
        if batch is None or loop is None:
            return
        async with self._turn:
            self._batch = None
            end = batch.deadline + self._pace.interval  # S + C/R, on this worker's clock
            if end - loop.time() < RELEASE_MARGIN_SECONDS:
                return
            slots = batch.capacity  # nothing started yet: nothing of ours to keep apart
            if self._starts:
                spare = end - (self._starts[-1] + self._pace.window)
                slots = min(slots, math.floor(spare * batch.rate)) if spare > 0 else 0
            if slots < 1:
                return
            try:
                await self._bank.release(slots, held_seconds=loop.time() - batch.first)
            except Exception as err:  # any: see the docstring
                logger.warning("could not give back %d unused slots of the shared limit: %s",
                               slots, err)  # fmt: skip
            else:
                logger.debug("gave back %d unused slots at %.3f", slots, loop.time())

    def _due(self, batch: _Batch, now: float) -> float:
        """The earliest start the rules allow (module doc, rule 3)."""
        pace = self._pace
        due = batch.first + batch.started * pace.interval
        if len(self._starts) == pace.per_window:
            due = max(due, self._starts[0] + pace.window)
        if max(due, now) > batch.deadline - pace.window and self._starts:
            due = max(due, self._starts[-1] + pace.interval)
        return due

    def _bind(self) -> asyncio.AbstractEventLoop:
        """This loop's lock and batch (a new event loop starts afresh)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._turn, self._batch = loop, asyncio.Lock(), None
            self._starts.clear()
            self._empty_by = -math.inf
        return loop

    async def _take_batch(self, loop: asyncio.AbstractEventLoop) -> _Batch:
        """Read the bucket, sleep until it is surely empty, take all of it: the new batch."""
        while True:
            state = await self._bank.read()
            heard = loop.time()
            logger.debug("read at %.3f: %d slots taken", heard, state.occupied)
            others = heard + state.occupied / state.rate
            if (wait := max(others, self._empty_by) - loop.time()) > 0:
                if others > self._empty_by and wait > REREAD_SECONDS:
                    await asyncio.sleep(REREAD_SECONDS)  # another's batch: it may give some back
                    continue
                await asyncio.sleep(wait)
            sent = loop.time()
            if await self._bank.take(state.capacity):
                return self._granted(state, sent, loop.time())
            logger.debug("take asked at %.3f refused: another worker was first", sent)

    def _granted(self, state: LimitState, sent: float, heard: float) -> _Batch:
        """The batch just granted: starts from ``heard`` up to ``sent + C/R - interval``."""
        pace = Pace.of(state.rate)
        self._pace = pace if self._local is None else pace.and_(self._local)
        if self._starts.maxlen != self._pace.per_window:
            self._starts = deque(self._starts, maxlen=self._pace.per_window)
        period = state.capacity / state.rate
        self._empty_by = heard + period
        deadline = sent + period - self._pace.interval
        logger.debug(
            "took %d slots: asked at %.3f, granted by %.3f, starts until %.3f",
            state.capacity, sent, heard, deadline,
        )  # fmt: skip
        if deadline < heard:
            logger.warning(
                "a batch of %d slots (%.2f s) was spent waiting %.3f s for the take's answer: "
                "the shared limit's capacity is too small for this round trip",
                state.capacity, period, heard - sent,
            )  # fmt: skip
        return _Batch(first=heard, deadline=deadline, capacity=state.capacity, rate=state.rate)
