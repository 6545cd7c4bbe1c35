"""Wire the Uniware client, throttle, retry policy and ledger together for one run's posting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.cli.progress import StageProgress
from flows.config import RunOptions
from uniware.client import UniwareClient
from uniware.config import UniwareConfig
from uniware.delivery import Delivery, deliver_orders
from uniware.exceptions import UniwareError
from uniware.ledger import Ledger
from uniware.retry import RetryPolicy
from uniware.sending import Sending
from uniware.throttle import Throttle
from uniware.wire import WireTransport


def post_payloads(
    payloads: Sequence[Mapping[str, Any]],
    *,
    config: UniwareConfig,
    options: RunOptions,
    run_id: str,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> list[Delivery]:
    """Send every payload once (per the ledger); returns each order's outcome."""
    return asyncio.run(_post(payloads, config, options, run_id, on_delivery))


@asynccontextmanager
async def run_throttle(options: RunOptions) -> AsyncIterator[Throttle]:
    """The run's throttle: its rate and concurrency, and the shared limit when one is named.

    The shared limit (flows.post.shared_limit) is spent in batches through one Prefect client, open
    while the throttle is in use; it also keeps the run's own rate.
    """
    if not options.shared_limit:
        yield Throttle(rate=options.rate, concurrency=options.concurrency)
        return
    from flows.post.shared_limit import shared_pacer

    async with shared_pacer(options.shared_limit, local_rate=options.rate) as shared:
        yield Throttle(rate=options.rate, concurrency=options.concurrency, shared=shared)


@asynccontextmanager
async def uniware_client(
    config: UniwareConfig, options: RunOptions
) -> AsyncIterator[UniwareClient]:
    """One Uniware client for the run: as many connections as requests in flight.

    Direct connections go through uniware/wire.py; when the environment names a proxy for
    Uniware (HTTPS_PROXY, ALL_PROXY, not excluded by NO_PROXY), httpx's own transport takes
    the run's requests through it (httpx reads no proxy settings once given a transport).
    """
    size = options.concurrency
    transport = None if proxy_for(config.base_url) else WireTransport(size)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    async with httpx.AsyncClient(
        base_url=config.base_url,
        timeout=config.timeout_seconds,
        transport=transport,
        limits=limits,
    ) as http:
        yield UniwareClient(http, credentials=config.credentials, direct=transport)


def proxy_for(base_url: str) -> str | None:
    """The proxy the environment names for ``base_url``, if any (as curl and httpx read it)."""
    parts = urlsplit(base_url)
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or proxy_bypass(parts.netloc):
        return None
    return proxy


async def _post(
    payloads: Sequence[Mapping[str, Any]],
    config: UniwareConfig,
    options: RunOptions,
    run_id: str,
    on_delivery: Callable[[Delivery], None] | None,
) -> list[Delivery]:
    ledger = Ledger.open(options.ledger)
    try:
        async with sending_through(config, options, ledger, run_id) as sending:
            return await deliver_orders(payloads, sending, on_delivery=on_delivery)
    finally:
        ledger.close()


@asynccontextmanager
async def sending_through(
    config: UniwareConfig, options: RunOptions, ledger: Ledger, run_id: str
) -> AsyncIterator[Sending]:
    """The run's client, throttle and retry policy with ``ledger``: what posting and sync share."""
    async with uniware_client(config, options) as client, run_throttle(options) as throttle:
        yield Sending(client, ledger, config.destination, run_id, throttle, RetryPolicy())


T = TypeVar("T")


@dataclass(frozen=True)
class Sent(Generic[T]):
    """What a sending step got back; `stopped` says why it stopped early (run-level failure)."""

    answers: list[T]
    stopped: str | None = None


Posted = Sent[Delivery]  # each order's delivery


@task(name="post-orders", cache_policy=NO_CACHE, persist_result=False)
def post_task(
    payloads: Sequence[dict[str, Any]],
    config: UniwareConfig,
    options: RunOptions,
    run_id: str,
    progress: StageProgress,
) -> Posted:
    """Post each order once, throttled and retried; the ledger makes reruns safe."""
    progress.start("post", total=len(payloads))
    seen: list[Delivery] = []

    def delivered(delivery: Delivery) -> None:
        seen.append(delivery)
        progress.advance("post")

    try:
        deliveries = post_payloads(
            payloads, config=config, options=options, run_id=run_id, on_delivery=delivered
        )
    except UniwareError as err:
        return Posted(seen, stopped=str(err))
    progress.finish("post")
    return Posted(deliveries)
