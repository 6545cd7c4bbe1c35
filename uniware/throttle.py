"""The throttle around each request: a start-rate bound, a concurrency cap, a shared limit.

Rate guarantee: with ``rate=R`` no window ``[t, t + 1 s)`` ever holds more than ``R`` request
starts. A leaky bucket of ``R`` per second would allow ``R`` at once and ``R`` more as it drains,
so starts here are paced instead: one per ``interval``, with no burst. ``interval`` is
``(1 s + RATE_GUARD_SECONDS) / floor(R)`` (a fractional rate cannot fit a fractional request in a
second: 2.5/s allows 2 per second). Rates below 1/s space starts ``(1 s + guard) / R`` apart. The
guard keeps the bound true on the server's clock too, where each start arrives with some
network and scheduling jitter (measured at 40/s against the sandbox: a 0.02 s guard let the
server see 41 in one second, 0.04 s kept it at 39-40); it costs 4% of the rate.

The pacer keeps its timeline in scheduled times, so a sleep that wakes a little late does not
push every later start back (waking late by ~1 ms per start cost another 4%: 37.8 of 40/s).
The bound itself is kept on actual start times: start ``k + floor(R)`` never comes before start
``k`` plus ``1 s + guard``, however late start ``k`` was.

Order inside ``async with throttle``: concurrency slot, then the local rate token, then the
shared limit last: it decides the start time. Work done between the token and the request
(the ledger claim's commit) can delay a start by a variable time and so bunch starts; the
caller then awaits ``throttle.leaving()`` right before the request leaves, which holds the
bound on actual start times: no more than ``floor(R)`` leave within ``1 s + guard``. A shared
limit that paces starts (``uniware.batch_pacer``, across workers) is given the local rate and
keeps it too, since a wait for the shared limit could otherwise bunch tokens the local pacer
spread out.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from types import TracebackType
from typing import Protocol

RATE_WINDOW_SECONDS = 1.0
RATE_GUARD_SECONDS = 0.04


class SharedLimit(Protocol):
    """A limit shared with other processes or hosts (the flows layer plugs in Prefect's)."""

    async def acquire(self) -> None:
        """Wait until one more request may start under the shared quota; it starts now."""


def start_interval(rate: float, *, guard: float = RATE_GUARD_SECONDS) -> float:
    """Seconds between two request starts that keep every 1-second window within ``rate``."""
    if rate <= 0 or not math.isfinite(rate):
        raise ValueError(f"rate must be a positive number of requests per second, got {rate!r}")
    per_window = math.floor(rate) if rate >= 1 else rate
    return (RATE_WINDOW_SECONDS + guard) / per_window


class Pacer:
    """Request starts one ``interval`` apart on a timeline, and at most ``per_window`` of them
    in any ``window`` of actual start times. Waiters start in the order they came."""

    def __init__(self, *, interval: float, per_window: int, window: float) -> None:
        self._interval = interval
        self._window = window
        self._starts: deque[float] = deque(maxlen=per_window)
        self._next = -math.inf  # when the next start is due, on the loop's clock
        self._turn = asyncio.Lock()  # FIFO: one waiter at a time owns the next start

    async def acquire(self) -> None:
        """Wait until the next start is allowed, and take it."""
        async with self._turn:
            loop = asyncio.get_running_loop()
            due = max(loop.time(), self._next)
            if len(self._starts) == self._starts.maxlen:
                due = max(due, self._starts[0] + self._window)
            while (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            self._starts.append(loop.time())
            self._next = due + self._interval


class Departures:
    """The bound on actual request starts: at most ``per_window`` in any ``window`` seconds."""

    def __init__(self, *, per_window: int, window: float) -> None:
        self._window = window
        self._starts: deque[float] = deque(maxlen=per_window)
        self._turn = asyncio.Lock()

    async def leave(self) -> None:
        """Wait until one more start fits the window, and record it as starting now."""
        async with self._turn:
            loop = asyncio.get_running_loop()
            if len(self._starts) == self._starts.maxlen:
                while (wait := self._starts[0] + self._window - loop.time()) > 0:
                    await asyncio.sleep(wait)
            self._starts.append(loop.time())


def pacer(rate: float) -> tuple[Pacer, Departures]:
    """The pacer of rate tokens and the bound on actual starts, for ``rate`` per second."""
    per_window = math.floor(rate) if rate >= 1 else 1
    window = RATE_WINDOW_SECONDS + RATE_GUARD_SECONDS
    return (
        Pacer(interval=start_interval(rate), per_window=per_window, window=window),
        Departures(per_window=per_window, window=window),
    )


class Throttle:
    """Bounds request starts per second and requests in flight; ``async with`` it per request."""

    def __init__(
        self, *, rate: float | None, concurrency: int, shared: SharedLimit | None = None
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency!r}")
        self.rate = rate
        self.concurrency = concurrency
        self.shared = shared
        if rate is not None:
            start_interval(rate)  # refuse a nonsense rate now, not at the first request
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._limiter: Pacer | None = None
        self._departures: Departures | None = None

    def __repr__(self) -> str:
        return f"Throttle(rate={self.rate!r}, concurrency={self.concurrency!r})"

    def _bind(self) -> tuple[asyncio.Semaphore, Pacer | None]:
        """Pacer and semaphore of the running loop (a new loop gets fresh ones)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._slots = asyncio.Semaphore(self.concurrency)
            self._limiter, self._departures = (
                (None, None) if self.rate is None else pacer(self.rate)
            )
        return self._slots, self._limiter

    async def leaving(self) -> None:
        """Right before the request leaves: wait if starts bunched since the token (see above)."""
        if self._departures is not None:
            await self._departures.leave()

    async def __aenter__(self) -> None:
        slots, limiter = self._bind()
        await slots.acquire()
        try:
            if limiter is not None:
                await limiter.acquire()
            if self.shared is not None:
                await self.shared.acquire()
        except BaseException:
            slots.release()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._slots.release()
