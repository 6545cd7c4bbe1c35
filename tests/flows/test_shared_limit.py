"""The throttle shared by workers: a Prefect global rate limit holds across two posters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from flows.config import RunOptions
from flows.posting import post_payloads
from tests.uniware import make_order
from uniware.config import UniwareConfig, demo_credentials
from uniware.sandbox import running_sandbox

RATE = 4  # slots decaying per second: the shared rate
# A bucket of one slot, refilled RATE times a second: no burst beyond one request.


def _create_limit(name: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    async def create() -> None:
        async with get_client() as client:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=1, slot_decay_per_second=RATE)
            )

    asyncio.run(create())


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_two_posters_sharing_a_prefect_rate_limit_stay_under_it_together(tmp_path: Path) -> None:
    _create_limit("uniware-posts-test")
    with running_sandbox(db_path=tmp_path / "sandbox.db") as sandbox:
        config = UniwareConfig(base_url=sandbox.base_url, credentials=demo_credentials())
        options = RunOptions(
            rate=None, concurrency=4, shared_limit="uniware-posts-test",
            ledger=str(tmp_path / "ledger.db"),
        )  # fmt: skip

        async def both() -> None:
            batches = [[make_order(f"W{w}-{n}") for n in range(10)] for w in range(2)]
            await asyncio.gather(
                *(asyncio.to_thread(post_payloads, b, config=config, options=options,
                                    run_id=f"w{i}") for i, b in enumerate(batches))
            )  # fmt: skip

        asyncio.run(both())
        log = httpx.get(f"{sandbox.base_url}/_sandbox/requests").json()["requests"]
    times = sorted(r["t"] for r in log)
    assert len(times) == 20
    busiest = max(sum(1 for u in times[i:] if u < t + 1.0) for i, t in enumerate(times))
    assert busiest <= RATE + 1  # the one slot in hand at the window's start, plus RATE refills
    assert (len(times) - 1) / (times[-1] - times[0]) <= RATE * 1.1
