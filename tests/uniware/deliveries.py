"""Shared helpers for the delivery tests: orders, one ``deliver_orders`` run against a server
over loopback or a scripted one, and the busiest second of a run's start times.

Test modules import these from here (never from one another).
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

import httpx

from tests.uniware import make_item, make_order
from uniware.client import UniwareClient
from uniware.config import Credentials, Destination, demo_credentials
from uniware.delivery import Delivery, deliver_orders
from uniware.ledger import Ledger
from uniware.retry import RetryPolicy
from uniware.sending import Sending
from uniware.throttle import Throttle
from uniware.wire import WireTransport

FAST_RETRY = RetryPolicy(attempts=8, base_delay=0.01, max_delay=0.1, total_timeout=60.0)


def order(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid order ``ORD-n`` with its own item id."""
    items = [make_item(orderItemId=f"ORD-{n}-1")]
    return make_order(f"ORD-{n}", **{"orderItems": items, **overrides})


def destination(base_url: str) -> Destination:
    return Destination(base_url=base_url, merchant_id=demo_credentials().merchant_id)


def sending(
    http: httpx.AsyncClient,
    ledger: Ledger,
    destination: Destination,
    *,
    run_id: str,
    concurrency: int,
    retry: RetryPolicy,
    rate: float | None = None,
    credentials: Credentials | None = None,
    direct: httpx.AsyncBaseTransport | None = None,
) -> Sending:
    """A test run's ``Sending`` through ``http`` (straight to ``direct`` when given, as a run's
    client does), with the demo credentials unless given."""
    client = UniwareClient(http, credentials=credentials or demo_credentials(), direct=direct)
    return Sending(
        client=client,
        ledger=ledger,
        destination=destination,
        run_id=run_id,
        throttle=Throttle(rate=rate, concurrency=concurrency),
        retry=retry,
    )


def deliver(
    base_url: str,
    payloads: Sequence[dict[str, Any]],
    ledger: Ledger,
    *,
    rate: float | None = None,
    concurrency: int = 8,
    timeout: float = 5.0,
    retry: RetryPolicy = FAST_RETRY,
    credentials: Credentials | None = None,
    seen: list[Delivery] | None = None,
) -> list[Delivery]:
    """Run ``deliver_orders`` once over a fresh HTTP client."""

    async def go() -> list[Delivery]:
        transport = WireTransport(concurrency)  # the run's own transport (flows.post.posting)
        async with httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport
        ) as http:
            return await deliver_orders(
                payloads,
                sending(
                    http,
                    ledger,
                    destination(base_url),
                    run_id="run-test",
                    concurrency=concurrency,
                    retry=retry,
                    rate=rate,
                    credentials=credentials,
                    direct=transport,
                ),
                on_delivery=None if seen is None else seen.append,
            )

    return asyncio.run(go())


MOCK_URL = "https://uniware.test"


def deliver_to_mock(
    answers: list[httpx.Response], payloads: Sequence[dict[str, Any]], ledger: Ledger
) -> tuple[list[Delivery], int]:
    """Deliver to a scripted server that plays ``answers`` in turn; (deliveries, requests)."""
    requests = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        requests[0] += 1
        return answers[min(requests[0], len(answers)) - 1]

    async def go() -> list[Delivery]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(base_url=MOCK_URL, transport=transport) as http:
            return await deliver_orders(
                payloads,
                sending(
                    http,
                    ledger,
                    destination(MOCK_URL),
                    run_id="run-mock",
                    concurrency=1,
                    retry=RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0),
                ),
            )

    return asyncio.run(go()), requests[0]


def failure(message: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"status": "failure", "message": message, "data": None})


def busiest_second(starts: Sequence[float]) -> int:
    """The most starts any window [t, t + 1) holds (the busiest window begins at a start)."""
    ordered = sorted(starts)
    return max(bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered))
