"""A lean HTTP/1.1 transport for httpx: keep-alive connections on asyncio protocols, parsed by h11.

httpx's own transport (httpcore over anyio) spends most of a posting run's CPU on layers this
client does not need: a cancel scope around every socket read and write, attribute look-ups
through anyio, a pool that looks at every connection per request. ``WireTransport`` speaks the
same HTTP/1.1 through h11 (the parser httpcore uses) straight on asyncio's transports
(uniware/wire_connection.py), and raises httpx's own exceptions, so the client, the retry
policy and every caller see no difference: ``ConnectError``/``ConnectTimeout`` before a byte
is sent, ``WriteError``/``WriteTimeout``, ``ReadError``/``ReadTimeout``/``RemoteProtocolError``
once the request may have reached the server, ``PoolTimeout`` when no connection frees up in
time.

A connection goes back to the pool only after a whole, keep-alive answer; anything else (an
error, a cancellation, a body not read to its end) closes it. An idle connection is reused
only while nothing waits on its socket (a server that closed it, as httpcore checks too).
Proxies: httpx reads none once given a transport; flows/post/posting.py routes a proxied
Uniware through httpx's own.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any

import httpx

from uniware.wire_connection import Body, Connection, Origin, connect


class WireTransport(httpx.AsyncBaseTransport):
    """At most ``max_connections`` HTTP/1.1 connections, reused while the server keeps them."""

    def __init__(self, max_connections: int, *, ssl_context: ssl.SSLContext | None = None) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._limit = max_connections
        self._ssl = ssl_context
        self._idle: dict[Origin, deque[Connection]] = {}
        self._open = 0
        self.opened = 0  # connections made so far
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._closed = False

    @property
    def connections(self) -> int:
        """Connections open now, in use or idle."""
        return self._open

    @property
    def idle(self) -> int:
        """Connections open and waiting for a request."""
        return sum(len(idle) for idle in self._idle.values())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on a pooled connection; the answer's body streams from it."""
        timeouts = request.extensions.get("timeout", {})
        connection = await self._connection(request.url, timeouts)
        try:
            head = await connection.exchange(request, timeouts)
        except BaseException:
            self._release(connection, reuse=False)
            raise
        status, reason, headers = head
        stream = Body(connection, timeouts.get("read"), self._release)
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": reason}
        return httpx.Response(status, headers=headers, stream=stream, extensions=extensions)

    async def aclose(self) -> None:
        """Close every idle connection; those in use close when their answers do."""
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.popleft().close()
                self._open -= 1

    async def _connection(self, url: httpx.URL, timeouts: dict[str, Any]) -> Connection:
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        idle = self._idle.setdefault(origin, deque())
        while True:
            while idle:
                connection = idle.pop()  # the most recently used: least likely closed by now
                if connection.usable:
                    return connection
                connection.close()
                self._open -= 1
            if self._open < self._limit:
                self._open += 1
                self.opened += 1
                try:
                    return await connect(origin, self._ssl_for(origin), timeouts.get("connect"))
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            await self._wait_for_free(timeouts.get("pool"))

    def _ssl_for(self, origin: Origin) -> ssl.SSLContext | None:
        if origin[0] != "https":
            return None
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    async def _wait_for_free(self, timeout: float | None) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            raise httpx.PoolTimeout("no connection came free in time") from None
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)

    def _release(self, connection: Connection, *, reuse: bool) -> None:
        if reuse and not self._closed and connection.ready_for_next():
            self._idle.setdefault(connection.origin, deque()).append(connection)
        else:
            connection.close()
            self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
