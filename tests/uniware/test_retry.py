"""The retry policy: what is retried, how long it waits, and when it gives up (no real sleeping)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import pytest

from uniware.client import PostResponse
from uniware.retry import Attempts, RetryPolicy

CREATED = PostResponse(200, "success", "Order created successfully")
BUSINESS_FAILURE = PostResponse(200, "failure", "INVALID_FACILITY_CODE: 'X' is not in the map")
UNAVAILABLE = PostResponse(503, "failure", "SERVICE_UNAVAILABLE: try again later")
BAD_REQUEST = PostResponse(400, "failure", "INVALID_FORMAT: not JSON")
REFUSED = PostResponse(401, "failure", "AUTHENTICATION_FAILURE: key not recognised")

Step = PostResponse | httpx.TransportError


class FakeTime:
    """A clock that only moves when the policy sleeps; records every wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def scripted(steps: Sequence[Step]) -> tuple[Callable[[], Awaitable[PostResponse]], list[int]]:
    """A ``send`` that plays ``steps`` in order (repeating the last), and its call counter."""
    calls = [0]

    async def send() -> PostResponse:
        step = steps[min(calls[0], len(steps) - 1)]
        calls[0] += 1
        if isinstance(step, httpx.TransportError):
            raise step
        return step

    return send, calls


def run_policy(
    steps: Sequence[Step], time: FakeTime | None = None, **options: Any
) -> tuple[Attempts[PostResponse], int]:
    """Run a policy (fake time, seeded jitter) over scripted answers; (result, calls)."""
    time = time or FakeTime()
    policy = RetryPolicy(sleep=time.sleep, clock=time.clock, rng=random.Random(7), **options)
    send, calls = scripted(steps)
    return asyncio.run(policy.run(send)), calls[0]


@pytest.mark.parametrize(
    "answer",
    [CREATED, BUSINESS_FAILURE, BAD_REQUEST, REFUSED],
    ids=["created", "business-failure-on-200", "bad-request-400", "refused-401"],
)
def test_final_answers_are_never_retried(answer: PostResponse) -> None:
    result, calls = run_policy([answer, CREATED])
    assert calls == 1
    assert (result.answer, result.count) == (answer, 1)


@pytest.mark.parametrize(
    "trouble",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        UNAVAILABLE,
        PostResponse(500, "failure", "Internal Server Error"),
        PostResponse(429, "failure", "TOO_MANY_REQUESTS", retry_after=1.0),
    ],
    ids=["timeout", "connect-error", "dropped", "503", "500", "429"],
)
def test_passing_trouble_is_retried_until_the_order_is_created(trouble: Step) -> None:
    result, calls = run_policy([trouble, trouble, CREATED])
    assert calls == 3
    assert (result.answer, result.count, result.error) == (CREATED, 3, None)


def test_retry_after_is_honoured_exactly() -> None:
    time = FakeTime()
    throttled = PostResponse(429, "failure", "TOO_MANY_REQUESTS", retry_after=2.5)
    run_policy([throttled, CREATED], time)
    assert time.waits == [2.5]


def test_retry_after_beyond_max_delay_is_capped() -> None:
    time = FakeTime()
    throttled = PostResponse(429, "failure", "TOO_MANY_REQUESTS", retry_after=3600.0)
    run_policy([throttled, CREATED], time, max_delay=30.0)
    assert time.waits == [30.0]


def test_backoff_doubles_without_jitter_up_to_max_delay() -> None:
    time = FakeTime()
    result, calls = run_policy(
        [UNAVAILABLE], time, attempts=7, base_delay=1.0, max_delay=10.0, jitter=False
    )
    assert time.waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert (calls, result.answer) == (7, UNAVAILABLE)


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    time = FakeTime()
    run_policy([httpx.ConnectError("refused")], time, attempts=6, base_delay=1.0, max_delay=8.0)
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0]
    assert len(time.waits) == len(ceilings)
    assert all(0.0 <= wait <= ceiling for wait, ceiling in zip(time.waits, ceilings, strict=True))
    assert len(set(time.waits)) == len(time.waits)  # jittered, not fixed


def test_exhausted_retries_hand_back_the_last_error() -> None:
    result, calls = run_policy([httpx.ReadTimeout("timed out")], attempts=4)
    assert calls == 4
    assert result.answer is None
    assert isinstance(result.error, httpx.ReadTimeout)


def test_no_try_starts_after_the_total_timeout() -> None:
    time = FakeTime()
    _, calls = run_policy(
        [UNAVAILABLE],
        time,
        attempts=100,
        base_delay=4.0,
        max_delay=4.0,
        jitter=False,
        total_timeout=10.0,
    )
    assert calls == 3  # tries at 0 s, 4 s and 8 s; the next would start at 12 s
    assert time.now <= 10.0


def test_tries_without_a_definitive_answer_are_counted() -> None:
    steps: list[Step] = [
        httpx.ReadTimeout("timed out"),
        UNAVAILABLE,
        PostResponse(429, "failure", "TOO_MANY_REQUESTS", retry_after=0.0),
        CREATED,
    ]
    result, _ = run_policy(steps)
    assert (result.count, result.unanswered) == (4, 2)  # the 429 was answered: nothing created


def test_a_stopped_run_ends_retrying() -> None:
    time = FakeTime()
    policy = RetryPolicy(sleep=time.sleep, clock=time.clock)
    send, calls = scripted([UNAVAILABLE])
    result = asyncio.run(policy.run(send, proceed=lambda: False))
    assert (calls[0], result.answer, time.waits) == (1, UNAVAILABLE, [])


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=-1.0)
