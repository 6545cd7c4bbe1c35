"""Connections to Uniware as several small pools: many requests in flight without pool overhead.

httpcore's connection pool looks at every connection it holds each time a request enters or
leaves (and counts its idle connections inside that loop), asking each socket whether it is
readable through anyio's attribute lookup. The work per request grows with the square of the
pool: at 32 connections it was most of a posting run's CPU. Posting 800 orders with 32 in
flight to the sandbox at 50 ms (``bench.measure._post``; set-ups alternated in one process,
twice) cost 10-11 ms of CPU per order through one pool of 32, 4.4-4.7 through pools of 8,
3.8-4.2 through pools of 4 and 3.7-4.1 through pools of 2. ``ShardedTransport`` keeps one
client and one limit on connections, and spreads the requests over pools of at most
``SHARD_CONNECTIONS``, each request to the pool with the fewest in flight.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Final

import httpx

SHARD_CONNECTIONS: Final = 4  # the largest pool; httpcore's cost per request grows with it


class ShardedTransport(httpx.AsyncBaseTransport):
    """At most ``connections`` connections, held by pools of at most ``SHARD_CONNECTIONS``."""

    def __init__(self, connections: int, *, shard_connections: int = SHARD_CONNECTIONS) -> None:
        if connections < 1 or shard_connections < 1:
            raise ValueError("connections and shard_connections must be at least 1")
        count = -(-connections // shard_connections)  # ceil
        sizes = [connections // count + (k < connections % count) for k in range(count)]
        self.pool_sizes = sizes  # each pool's connection limit; they add up to `connections`
        self._pools = [_pool(size) for size in sizes]
        self._in_flight = [0] * count

    @property
    def in_flight(self) -> tuple[int, ...]:
        """Requests sent through each pool and not yet closed."""
        return tuple(self._in_flight)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the pool with the fewest requests in flight; counted until closed."""
        index = min(range(len(self._pools)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._in_flight[index] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Counted(response.stream, lambda: self._done(index)),
            extensions=response.extensions,
        )

    def _done(self, index: int) -> None:
        self._in_flight[index] -= 1

    async def aclose(self) -> None:
        """Close every pool."""
        for pool in self._pools:
            await pool.aclose()


def _pool(size: int) -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size)
    )


class _Counted(httpx.AsyncByteStream):
    """A response body that says once when it is closed (its request no longer in flight)."""

    def __init__(self, stream: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._stream = stream
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()
