"""The throttle: no 1-second window over the rate, a concurrency cap, the shared-limit hook."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.uniware.deliveries import busiest_second
from uniware.throttle import Throttle, start_interval


async def start_times(throttle: Throttle, requests: int) -> list[float]:
    """Loop-clock times at which each of ``requests`` concurrent callers got through."""
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def request() -> None:
        async with throttle:
            starts.append(loop.time())

    await asyncio.gather(*(request() for _ in range(requests)))
    return starts


@pytest.mark.parametrize(
    ("rate", "requests", "allowed"),
    [(20.0, 50, 20), (2.5, 6, 2)],
    ids=["20-per-second", "fractional-rate-rounds-down"],
)
def test_no_one_second_window_holds_more_starts_than_the_rate(
    rate: float, requests: int, allowed: int
) -> None:
    throttle = Throttle(rate=rate, concurrency=requests)
    starts = asyncio.run(start_times(throttle, requests))
    assert len(starts) == requests
    assert busiest_second(starts) <= allowed


@pytest.mark.parametrize(
    ("rate", "seconds"),
    [(40.0, 1.04 / 40), (20.0, 1.04 / 20), (2.5, 1.04 / 2), (1.0, 1.04), (0.5, 2.08)],
    ids=["40-per-second", "20-per-second", "fractional-rate", "one-per-second", "below-one"],
)
def test_starts_are_spaced_by_the_window_and_its_guard_over_the_whole_requests(
    rate: float, seconds: float
) -> None:
    """1.04 s (a second plus a 0.04 s guard) per whole request of the rate; 2.5/s allows 2."""
    assert start_interval(rate) == pytest.approx(seconds, rel=1e-12)


@given(
    st.floats(min_value=0.01, max_value=300.0),
    st.lists(st.floats(min_value=-0.0199, max_value=0.0199), min_size=1, max_size=64),
)
def test_spaced_starts_keep_the_rate_on_a_clock_with_jitter(
    rate: float, jitters: list[float]
) -> None:
    """Starts arriving up to 0.02 s early or late still hold at most the rate in any second."""
    allowed = max(1, math.floor(rate))  # a fractional request never fits: 2.5/s allows 2
    count = 3 * allowed + 1
    starts = [k * start_interval(rate) + jitters[k % len(jitters)] for k in range(count)]
    assert busiest_second(starts) <= allowed


def test_concurrency_caps_requests_in_flight() -> None:
    throttle = Throttle(rate=None, concurrency=3)
    in_flight: list[int] = [0]
    peak: list[int] = [0]

    async def request() -> None:
        async with throttle:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            await asyncio.sleep(0.01)
            in_flight[0] -= 1

    async def main() -> None:
        await asyncio.gather(*(request() for _ in range(12)))

    asyncio.run(main())
    assert peak[0] == 3


class CountingLimit:
    """A shared limit that only counts (stands in for Prefect's global rate limit)."""

    def __init__(self) -> None:
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1


def test_every_request_passes_the_shared_limit() -> None:
    shared = CountingLimit()
    throttle = Throttle(rate=1000.0, concurrency=2, shared=shared)
    asyncio.run(start_times(throttle, 5))
    assert shared.acquired == 5


class FailingLimit:
    """A shared limit whose server cannot be reached."""

    async def acquire(self) -> None:
        raise ConnectionError("rate-limit server down")


def test_a_failing_shared_limit_gives_the_concurrency_slot_back() -> None:
    throttle = Throttle(rate=None, concurrency=1, shared=FailingLimit())

    async def main() -> int:
        failures = 0
        for _ in range(3):
            try:
                async with throttle:
                    pass
            except ConnectionError:
                failures += 1
        return failures

    assert asyncio.run(main()) == 3


def test_one_throttle_serves_several_event_loops() -> None:
    throttle = Throttle(rate=1000.0, concurrency=2)
    for _ in range(2):
        assert len(asyncio.run(start_times(throttle, 3))) == 3


@pytest.mark.parametrize(
    ("rate", "concurrency"),
    [(0.0, 1), (-5.0, 1), (math.inf, 1), (10.0, 0)],
    ids=["zero-rate", "negative-rate", "infinite-rate", "no-concurrency"],
)
def test_nonsense_settings_are_refused(rate: float, concurrency: int) -> None:
    with pytest.raises(ValueError):
        Throttle(rate=rate, concurrency=concurrency)


def test_a_stalled_loop_does_not_let_a_window_overfill() -> None:
    """A start made late by a blocked event loop is not followed by a window over the rate."""
    throttle = Throttle(rate=20.0, concurrency=60)

    async def run() -> list[float]:
        loop = asyncio.get_running_loop()
        starts: list[float] = []

        async def request() -> None:
            async with throttle:
                starts.append(loop.time())

        # block the loop while a request sleeps towards its start: it wakes 0.3 s late
        loop.call_later(0.23, time.sleep, 0.3)
        await asyncio.gather(*(request() for _ in range(60)))
        return starts

    starts = asyncio.run(run())
    assert len(starts) == 60
    assert busiest_second(starts) <= 20


def test_work_between_the_token_and_the_request_never_bunches_the_starts() -> None:
    """A claim's commit of varying length after the token: `leaving` keeps actual starts."""
    throttle = Throttle(rate=20.0, concurrency=60)
    commits = [0.5 if n < 10 else 0.0 for n in range(60)]  # the first ten commits are slow

    async def run(gate: bool) -> list[float]:
        loop = asyncio.get_running_loop()
        starts: list[float] = []

        async def request(commit: float) -> None:
            async with throttle:
                await asyncio.sleep(commit)
                if gate:
                    await throttle.leaving()
                starts.append(loop.time())

        await asyncio.gather(*(request(commit) for commit in commits))
        return starts

    assert busiest_second(asyncio.run(run(gate=False))) > 20  # the bunching is real
    assert busiest_second(asyncio.run(run(gate=True))) <= 20
