"""The batch pacer: workers sharing one bucket never start more than the rate in any second."""

from __future__ import annotations

import asyncio
import math
import random

import pytest

from uniware.batch_pacer import (
    REREAD_SECONDS,
    BatchPacer,
    LimitState,
    batch_efficiency,
    recommended_capacity,
    starts_per_batch,
)
from uniware.throttle import Throttle


class BucketBank:
    """Prefect's rate limit as its server computes it, on the event loop's clock, with latency.

    Occupied slots are ``stored - floor(rate * seconds since the last grant)``; a take of k
    slots is granted when occupied + k fits the capacity. Each call waits a random latency
    before and after the bank decides, as a network would.
    """

    def __init__(self, capacity: int, rate: float, *, latency: float, seed: int = 1) -> None:
        self.capacity, self.rate, self.latency = capacity, rate, latency
        self.stored, self.updated = 0, -math.inf
        self.grants: list[float] = []
        self.releases: list[tuple[float, int]] = []
        self._random = random.Random(seed)

    def _occupied(self, now: float) -> int:
        if self.updated == -math.inf:
            return 0
        return max(0, self.stored - math.floor(self.rate * (now - self.updated)))

    async def _trip(self) -> float:
        await asyncio.sleep(self.latency * self._random.random())
        return asyncio.get_running_loop().time()

    async def read(self) -> LimitState:
        now = await self._trip()
        state = LimitState(self.capacity, self.rate, self._occupied(now))
        await self._trip()
        return state

    async def take(self, slots: int) -> bool:
        now = await self._trip()
        occupied = self._occupied(now)
        granted = occupied + slots <= self.capacity
        if granted:
            self.stored, self.updated = occupied + slots, now
            self.grants.append(now)
        await self._trip()
        return granted

    async def release(self, slots: int, *, held_seconds: float) -> None:
        now = await self._trip()
        self.stored, self.updated = max(0, self._occupied(now) - slots), now
        self.releases.append((now, slots))
        await self._trip()


async def post_through(throttle: Throttle, requests: int, starts: list[float]) -> None:
    """``requests`` requests through ``throttle``, each recording its start; 20 ms each."""
    loop = asyncio.get_running_loop()

    async def one() -> None:
        async with throttle:
            starts.append(loop.time())
            await asyncio.sleep(0.02)

    await asyncio.gather(*(one() for _ in range(requests)))


def busiest_second(starts: list[float]) -> int:
    """The most starts in any window [t, t + 1 s)."""
    times = sorted(starts)
    return max(sum(1 for u in times[i:] if u < t + 1.0) for i, t in enumerate(times))


def run_workers(bank: BucketBank, requests: int, *, workers: int = 2) -> list[list[float]]:
    """Each worker (its own pacer and throttle, like a process) posts ``requests``."""
    starts: list[list[float]] = [[] for _ in range(workers)]

    async def main() -> None:
        throttles = [
            Throttle(rate=None, concurrency=8, shared=BatchPacer(bank)) for _ in range(workers)
        ]
        await asyncio.gather(
            *(post_through(t, requests, s) for t, s in zip(throttles, starts, strict=True))
        )

    asyncio.run(main())
    return starts


@pytest.mark.parametrize("latency", [0.0, 0.03], ids=["instant-bank", "slow-bank"])
def test_two_workers_sharing_one_bucket_never_start_more_than_the_rate_in_a_second(
    latency: float,
) -> None:
    bank = BucketBank(capacity=50, rate=100.0, latency=latency)
    starts = run_workers(bank, 75)
    assert [len(s) for s in starts] == [75, 75]
    assert busiest_second(starts[0] + starts[1]) <= 100
    assert len(bank.grants) >= 3  # several batches, whoever took them


def test_a_batch_is_spent_before_the_next_grant_whoever_takes_it() -> None:
    bank = BucketBank(capacity=30, rate=60.0, latency=0.01)
    starts = run_workers(bank, 50)
    everyone = sorted(starts[0] + starts[1])
    for grant, following in zip(bank.grants, bank.grants[1:], strict=False):
        assert following - grant >= 0.5  # C/R: the bank's own rule
        spent = [t for t in everyone if grant <= t < following]
        assert len(spent) <= 30  # no batch starts more than its slots
    assert everyone[0] >= bank.grants[0]


def test_the_runs_own_rate_holds_under_a_faster_shared_limit() -> None:
    bank = BucketBank(capacity=100, rate=100.0, latency=0.0)
    starts: list[float] = []

    async def main() -> None:
        throttle = Throttle(rate=20.0, concurrency=8, shared=BatchPacer(bank, local_rate=20.0))
        await post_through(throttle, 35, starts)

    asyncio.run(main())
    assert busiest_second(starts) <= 20


class GoneBank(BucketBank):
    """A limit deleted under the run: reading it fails."""

    async def read(self) -> LimitState:
        raise LookupError("shared limit 'x' does not exist")


def test_a_bank_that_fails_fails_the_request_and_frees_its_slot() -> None:
    throttle = Throttle(rate=None, concurrency=1, shared=BatchPacer(GoneBank(10, 10.0, latency=0)))

    async def main() -> int:
        failures = 0
        for _ in range(2):
            with pytest.raises(LookupError):
                async with throttle:
                    pass
            failures += 1
        return failures

    assert asyncio.run(main()) == 2


def test_a_batch_too_short_for_its_round_trip_starts_nothing() -> None:
    assert starts_per_batch(1, 20.0, round_trip=0.05, interval=0.052) == 0
    assert starts_per_batch(40, 20.0, round_trip=0.05, interval=0.052) == 37


@pytest.mark.parametrize("rate", [0.5, 1.0, 2.5, 20.0, 40.0, 400.0])
def test_the_recommended_capacity_keeps_the_efficiency_it_promises(rate: float) -> None:
    capacity = recommended_capacity(rate, round_trip=0.05, efficiency=0.95)
    assert batch_efficiency(capacity, rate, round_trip=0.05) >= 0.95
    assert capacity >= 5 * rate


def run_in_turn(bank: BucketBank, requests: list[int], *, lag: float) -> list[list[float]]:
    """Workers posting ``requests[k]`` each, the k-th starting ``k * lag`` s after the first;
    each gives back its unused slots when done, as a run does (flows.post.shared_limit)."""
    starts: list[list[float]] = [[] for _ in requests]

    async def worker(k: int) -> None:
        await asyncio.sleep(k * lag)
        pacer = BatchPacer(bank)
        await post_through(Throttle(rate=None, concurrency=8, shared=pacer), requests[k], starts[k])
        await pacer.finish()

    async def main() -> None:
        await asyncio.gather(*(worker(k) for k in range(len(requests))))

    asyncio.run(main())
    return starts


def test_a_worker_done_mid_batch_gives_back_its_slots_and_the_next_starts_a_window_later() -> None:
    bank = BucketBank(capacity=100, rate=20.0, latency=0.005)  # 5 s batches
    done_early, waiting = run_in_turn(bank, [10, 30], lag=0.1)
    assert len(bank.releases) >= 1
    slots = bank.releases[0][1]
    assert slots >= 60  # of the 100 taken at once, 10 used in 0.5 s
    gap = waiting[0] - done_early[-1]
    assert gap >= 1.0  # a whole window after the last start (1 s + guard) ...
    assert gap < 1.04 + REREAD_SECONDS + 0.5  # ... not the 4.5 s left of the batch
    assert busiest_second(done_early + waiting) <= 20


@pytest.mark.parametrize("seed", range(2))
def test_workers_giving_back_slots_never_start_more_than_the_rate_in_a_second(seed: int) -> None:
    sizes = random.Random(seed)
    bank = BucketBank(capacity=80, rate=40.0, latency=0.02, seed=seed)  # 2 s batches
    # short runs ending early in their batch, and a long one that fills a second after a release
    requests = [sizes.randint(5, 20), sizes.randint(50, 75), sizes.randint(5, 20)]
    starts = run_in_turn(bank, requests, lag=0.15)
    assert [len(s) for s in starts] == requests
    assert len(bank.releases) >= 2  # most end early in their batch
    assert busiest_second([t for s in starts for t in s]) <= 40


def test_no_slots_go_back_when_the_batch_is_nearly_spent() -> None:
    bank = BucketBank(capacity=30, rate=20.0, latency=0.0)  # 1.5 s batches, 0.05 s apart
    run_in_turn(bank, [25], lag=0.0)  # the last start 1.25 s in: under 1 s of the batch left
    assert bank.releases == []


class FailingReleaseBank(BucketBank):
    """A server that refuses the release (the slots then drain on their own)."""

    async def release(self, slots: int, *, held_seconds: float) -> None:
        raise ConnectionError("server gone")


def test_a_release_that_fails_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    bank = FailingReleaseBank(capacity=100, rate=20.0, latency=0.0)
    (starts,) = run_in_turn(bank, [3], lag=0.0)
    assert len(starts) == 3
    assert "could not give back" in caplog.text and "server gone" in caplog.text
