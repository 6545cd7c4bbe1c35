"""The throttle shared by workers: a Prefect global concurrency limit used as a rate limit.

The operator creates it once on the Prefect server every worker talks to::

    prefect gcl create uniware-posts --limit 100 --slot-decay-per-second 20

and names it with ``--shared-limit uniware-posts`` (or ``UNILOAD_SHARED_LIMIT``). Its
``slot_decay_per_second`` is the rate R of requests per second all workers together may send;
its ``limit`` is the capacity C that one worker takes at once (a batch: one API call per C/R
seconds, spent at an even pace; see ``uniware.batch_pacer`` for why the workers together stay
within R in every second). A worker whose posting ends mid-batch gives back the slots it will
not use (``POST /v2/concurrency_limits/decrement``), so the others need not wait them out. A
batch spends a round trip and a rounding, so C should hold a few seconds of requests:
``recommended_capacity`` (5 s at 20/s; why: ``ADVISED_BATCH_SECONDS``). The limit is refused
when it does not exist, is disabled, has no decay (a concurrency limit, not a rate limit) or is
too small for one request per batch; a run warns when its batches would keep under 90 % of the
pace. Give the limit to uniload workers alone: a client taking single slots is not paced here.

Prefect server side (3.8): a take is ``POST /v2/concurrency_limits/increment`` with
``mode=rate_limit``; it succeeds when the occupied slots after decay (``active_slots -
floor(decay * seconds since the row's last update)``) plus the slots asked fit the limit, and
answers 423 with a ``Retry-After`` otherwise (rolled back: a refusal changes nothing). A grant
restarts the decay clock, so the time between a slot's decay and the next ask is lost for good.
Prefect's own ``rate_limit()`` asks one slot per request, one API round trip at a time per
process, and after a refusal sleeps the ``Retry-After`` (about one slot's decay, with jitter):
with slots 50 ms apart at 20/s, each grant came late by a round trip and a sleep, which is why
one slot per request reached 54 % of the limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

import httpx

from uniware.batch_pacer import (
    BatchPacer,
    LimitState,
    batch_efficiency,
    expected_share,
    recommended_capacity,
    shared_interval,
    starts_per_batch,
)
from uniware.exceptions import SharedLimitFailed

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

ROUND_TRIP_ALLOWANCE: Final = 0.05  # seconds a take may take, when judging a limit's capacity
WARN_EFFICIENCY: Final = 0.9  # below this share of the pace, a run warns
ADVISED_EFFICIENCY: Final = 0.95  # the capacity the messages advise keeps this share


class PrefectSlotBank:
    """The ``SlotBank`` of a Prefect global concurrency limit, through one open client."""

    def __init__(self, name: str, client: PrefectClient) -> None:
        self.name = name
        self._client = client

    async def read(self) -> LimitState:
        """The limit's settings and occupied slots; refuses one that cannot pace (see module)."""
        from prefect.exceptions import ObjectNotFound

        try:
            limit = await self._client.read_global_concurrency_limit_by_name(self.name)
        except ObjectNotFound:
            raise SharedLimitFailed(missing(self.name, self._client.api_url)) from None
        except httpx.HTTPError as err:
            raise SharedLimitFailed(unreachable(self.name, self._client.api_url, err)) from None
        state = LimitState(limit.limit, limit.slot_decay_per_second, limit.active_slots)
        if problem := unusable(self.name, state, active=limit.active):
            raise SharedLimitFailed(problem)
        return state

    async def take(self, slots: int) -> bool:
        """Take ``slots`` at once; False when the limit answers 423 (not empty yet)."""
        try:
            answer = await self._client.increment_concurrency_slots(
                names=[self.name], slots=slots, mode="rate_limit"
            )
        except httpx.HTTPStatusError as err:
            if err.response.status_code == 423:
                return False
            detail = err.response.text[:300]
            raise SharedLimitFailed(
                f"shared limit {self.name!r} refused {slots} slots "
                f"({err.response.status_code} {detail}): check it with `prefect gcl inspect "
                f"{self.name}` (was it changed mid-run?) and run again"
            ) from None
        except httpx.HTTPError as err:
            raise SharedLimitFailed(unreachable(self.name, self._client.api_url, err)) from None
        if not answer.json():  # Prefect grants "nothing" for a limit that is gone
            raise SharedLimitFailed(missing(self.name, self._client.api_url))
        return True

    async def release(self, slots: int, *, held_seconds: float) -> None:
        """Give back ``slots`` (``POST /v2/concurrency_limits/decrement``; the server never
        takes the bucket below empty). Raises httpx's error when the server refuses."""
        answer = await self._client.release_concurrency_slots(
            names=[self.name], slots=slots, occupancy_seconds=max(held_seconds, 0.001)
        )
        answer.raise_for_status()


def missing(name: str, api_url: object) -> str:
    """The refusal of a limit that does not exist, with the command that creates it."""
    return (
        f"shared limit {name!r} does not exist on the Prefect server at {api_url}: create it "
        f"with `prefect gcl create {name} --limit 100 --slot-decay-per-second 20` (20 requests "
        "per second for all workers together, 5 s of them taken at once), or run without "
        "--shared-limit / UNILOAD_SHARED_LIMIT"
    )


def unreachable(name: str, api_url: object, err: BaseException) -> str:
    """The refusal when the Prefect server cannot be asked."""
    reason = str(err) or type(err).__name__
    return (
        f"cannot read shared limit {name!r} from the Prefect server at {api_url} ({reason}): "
        "start the server or fix PREFECT_API_URL, then run again"
    )


def unusable(name: str, state: LimitState, *, active: bool) -> str | None:
    """Why the limit cannot pace uniload's requests, with the fix; None when it can."""
    if not active:
        return f"shared limit {name!r} is disabled: `prefect gcl enable {name}`, or run without it"
    if state.rate <= 0:
        return (
            f"shared limit {name!r} has no slot decay, so it limits concurrency, not a rate: "
            f"`prefect gcl update {name} --slot-decay-per-second R` (R requests per second)"
        )
    interval = shared_interval(state.rate)
    round_trip = ROUND_TRIP_ALLOWANCE
    if starts_per_batch(state.capacity, state.rate, round_trip=round_trip, interval=interval):
        return None
    advised = recommended_capacity(state.rate, round_trip=round_trip, efficiency=ADVISED_EFFICIENCY)
    return (
        f"shared limit {name!r} holds {state.capacity} slot(s) decaying at {state.rate:g}/s: "
        f"{state.capacity / state.rate:.2f} s of requests, too few for one request once a "
        f"worker has taken them all at once (uniload does, one API call per batch): "
        f"`prefect gcl update {name} --limit {advised}`"
    )


def advice(name: str, state: LimitState) -> str | None:
    """A warning when the limit's batches are short enough to cost over 10 % of its rate."""
    round_trip = ROUND_TRIP_ALLOWANCE
    if batch_efficiency(state.capacity, state.rate, round_trip=round_trip) >= WARN_EFFICIENCY:
        return None
    advised = recommended_capacity(state.rate, round_trip=round_trip, efficiency=ADVISED_EFFICIENCY)
    share = expected_share(state.capacity, state.rate, round_trip=round_trip)
    better = expected_share(advised, state.rate, round_trip=round_trip)
    return (
        f"shared limit {name!r}: batches of {state.capacity} slots last "
        f"{state.capacity / state.rate:.2f} s, so the workers reach about {share:.0%} of "
        f"{state.rate:g}/s; `prefect gcl update {name} --limit {advised}` reaches {better:.0%}"
    )


async def read_shared_limit(name: str) -> LimitState:
    """Read the limit once and judge it (before posting): refuses one that cannot pace."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await PrefectSlotBank(name, client).read()


@asynccontextmanager
async def shared_pacer(name: str, *, local_rate: float | None) -> AsyncIterator[BatchPacer]:
    """The batch pacer of limit ``name``, its Prefect client open for the posting's duration."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        pacer = BatchPacer(PrefectSlotBank(name, client), local_rate=local_rate)
        try:
            yield pacer
        finally:  # the posting is over: slots of the batch in hand it will not use go back
            await pacer.finish()
