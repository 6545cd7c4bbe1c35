"""When and how long to retry one request: only what can succeed later, bounded in tries and time.

Retried: ``httpx.TransportError`` (timeouts, refused or dropped connections), HTTP 429 and 5xx.
Never retried: any other answer - a 2xx body with ``"status": "failure"`` is a business failure,
a 4xx other than 429 will not change by asking again.

Waits: a ``Retry-After`` (seconds or HTTP date, turned into seconds by the client) is honoured,
but never beyond ``max_delay``; if the server asks for longer, the next try comes at ``max_delay``
(and meets another 429 if the server meant it, which counts as a try). Otherwise exponential
backoff with full jitter: a uniform wait in ``[0, min(max_delay, base_delay * 2**(n-1))]`` after
the n-th failed try. No try starts after ``total_timeout`` seconds from the first one, and a try
still running when that budget ends is cut off (``BudgetSpent``, a timeout: no answer), so a
server dripping its answer cannot hold a request past the budget.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import httpx

DEFAULT_ATTEMPTS = 6
DEFAULT_BASE_DELAY = 0.5
DEFAULT_MAX_DELAY = 30.0
DEFAULT_TOTAL_TIMEOUT = 300.0


class BudgetSpent(httpx.TimeoutException):
    """A try was cut off because the request's total retry budget ran out."""


class Answer(Protocol):
    """What the retry decision needs from a response (``uniware.client.PostResponse`` fits)."""

    @property
    def http_status(self) -> int: ...
    @property
    def retry_after(self) -> float | None: ...
    @property
    def transient(self) -> bool:
        """A 429 or 5xx: asking again may succeed."""
        ...


AnswerT = TypeVar("AnswerT", bound=Answer)


@dataclass(frozen=True, slots=True)
class Attempts(Generic[AnswerT]):
    """How one request went: the last answer or error, and how many tries of each kind."""

    answer: AnswerT | None
    error: httpx.TransportError | None
    count: int
    unanswered: int
    """Tries before the last that ended without a definitive answer (transport error or 5xx)."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter; ``sleep`` is injectable."""

    attempts: int = DEFAULT_ATTEMPTS
    base_delay: float = DEFAULT_BASE_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    jitter: bool = True
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts!r}")
        if min(self.base_delay, self.max_delay, self.total_timeout) < 0:
            raise ValueError("base_delay, max_delay and total_timeout must not be negative")

    def delay(self, failed: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``failed``-th try (1-based) before the next one."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failed - 1))
        return self.rng.uniform(0.0, ceiling) if self.jitter else ceiling

    async def run(
        self, send: Callable[[], Awaitable[AnswerT]], *, proceed: Callable[[], bool] = lambda: True
    ) -> Attempts[AnswerT]:
        """Call ``send`` until a final answer, tries or time run out, or ``proceed()`` is false."""
        deadline = self.clock() + self.total_timeout
        count = unanswered = 0
        while True:
            count += 1
            answer, error = await _try(send, deadline - self.clock())
            if answer is not None and not answer.transient:
                return Attempts(answer, None, count, unanswered)
            wait = self.delay(count, None if answer is None else answer.retry_after)
            if count >= self.attempts or self.clock() + wait > deadline or not proceed():
                return Attempts(answer, error, count, unanswered)
            await self.sleep(wait)
            if not proceed():
                return Attempts(answer, error, count, unanswered)
            unanswered += answer is None or answer.http_status != 429


async def _try(
    send: Callable[[], Awaitable[AnswerT]], budget: float
) -> tuple[AnswerT | None, httpx.TransportError | None]:
    """One try within ``budget`` seconds: its answer, or the error that took its place."""
    try:
        async with asyncio.timeout(budget if budget > 0 else None):
            return await send(), None
    except httpx.TransportError as error:
        return None, error
    except TimeoutError:
        return None, BudgetSpent(f"retry budget spent ({budget:g} s left when this try began)")
