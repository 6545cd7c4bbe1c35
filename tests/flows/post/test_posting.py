"""The run's Uniware client: direct connections through uniware/wire.py, a named proxy honoured."""

from __future__ import annotations

import asyncio

import pytest

from flows.config import RunOptions
from flows.post.posting import proxy_for, uniware_client
from tests.uniware.deliveries import order
from tests.uniware.hostile_server import CREATED, hostile_server
from uniware.client import PostResponse
from uniware.config import UniwareConfig, demo_credentials

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def post_one(base_url: str) -> PostResponse:
    config = UniwareConfig(base_url=base_url, credentials=demo_credentials())

    async def go() -> PostResponse:
        async with uniware_client(config, RunOptions(concurrency=2)) as client:
            return await client.post_order(order(1))

    return asyncio.run(go())


def test_a_proxy_named_in_the_environment_carries_the_orders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uniware = "http://127.0.0.1:9"  # nothing listens here: only the proxy can answer
    with hostile_server(CREATED) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        answer = post_one(uniware)
    assert answer.ok
    [request] = proxy.requests
    assert request.startswith(b"POST http://127.0.0.1:9/")  # a proxy's absolute request line


def test_no_proxy_keeps_a_host_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(CREATED) as uniware, hostile_server(CREATED) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert proxy_for(uniware.base_url) is None
        assert post_one(uniware.base_url).ok
    assert (len(uniware.requests), len(proxy.requests)) == (1, 0)


def test_without_a_proxy_orders_go_direct() -> None:
    with hostile_server(CREATED) as uniware:
        assert post_one(uniware.base_url).ok
    assert uniware.requests[0].startswith(b"POST /")
