"""The sharded transport: the run's connection limit kept, requests spread, every one released."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.uniware.deliveries import order
from uniware import settings
from uniware.sandbox import Faults, running_sandbox
from uniware.transport import ShardedTransport


@pytest.mark.parametrize(
    ("connections", "sizes"),
    [(1, [1]), (4, [4]), (5, [3, 2]), (10, [4, 3, 3]), (32, [4] * 8), (33, [4] * 6 + [3] * 3)],
)
def test_the_pools_hold_exactly_the_connections_asked_for(
    connections: int, sizes: list[int]
) -> None:
    transport = ShardedTransport(connections)
    assert transport.pool_sizes == sizes
    assert sum(transport.pool_sizes) == connections


def test_no_connections_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ShardedTransport(0)


def test_requests_in_flight_are_spread_over_the_pools_and_released() -> None:
    transport = ShardedTransport(16, shard_connections=8)
    seen: list[tuple[int, ...]] = []

    async def go(base_url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10) as http:

            async def one(n: int) -> int:
                answer = await http.post(settings.ORDER_PATH, json=order(n))
                return answer.status_code

            async def watch() -> None:
                while True:
                    seen.append(transport.in_flight)
                    await asyncio.sleep(0.01)

            watcher = asyncio.create_task(watch())
            statuses = await asyncio.gather(*(one(n) for n in range(16)))
            watcher.cancel()
            return statuses

    with running_sandbox(faults=Faults(latency_ms=200)) as sandbox:
        statuses = asyncio.run(go(sandbox.base_url))
    assert len(statuses) == 16
    assert max(max(counts) for counts in seen) == 8  # never more than a pool holds ...
    assert (8, 8) in seen  # ... and both pools busy at once: 16 in flight together
    assert transport.in_flight == (0, 0)  # every answer read and closed


def test_a_request_that_fails_is_released_too() -> None:
    transport = ShardedTransport(2)

    async def go() -> None:
        async with httpx.AsyncClient(transport=transport, timeout=2) as http:
            with pytest.raises(httpx.ConnectError):
                await http.post("http://127.0.0.1:9/never", json={})

    asyncio.run(go())
    assert transport.in_flight == (0,)
