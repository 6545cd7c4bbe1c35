"""A lean HTTP/1.1 transport for httpx: keep-alive connections on asyncio protocols, parsed by h11.

httpx's own transport (httpcore over anyio) spends most of a posting run's CPU on layers this
client does not need: a cancel scope around every socket read and write, a readability probe
of every pooled socket, attribute look-ups through anyio. ``WireTransport`` speaks the same
HTTP/1.1 through h11 (the parser httpcore uses) straight on asyncio's transports, and raises
httpx's own exceptions, so the client, the retry policy and every caller see no difference:
``ConnectError``/``ConnectTimeout`` before a byte is sent, ``WriteError``/``WriteTimeout``,
``ReadError``/``ReadTimeout``/``RemoteProtocolError`` once the request may have reached the
server, ``PoolTimeout`` when no connection frees up in time.

A connection goes back to the pool only after a whole, keep-alive answer; anything else (an
error, a cancellation, a body not read to its end) closes it. An idle connection the server
closed is noticed by asyncio (``connection_lost``) and never reused.
"""

from __future__ import annotations

import asyncio
import select
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import h11
import httpx

READ_CHUNK: Final = 64 * 1024
PAUSE_ABOVE: Final = 256 * 1024  # bytes buffered before reading from the socket pauses
DISCONNECTED: Final = "Server disconnected without sending a response."  # httpcore's words

Origin = tuple[str, str, int]  # scheme, host, port


class WireTransport(httpx.AsyncBaseTransport):
    """At most ``max_connections`` HTTP/1.1 connections, reused while the server keeps them."""

    def __init__(self, max_connections: int, *, ssl_context: ssl.SSLContext | None = None) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._limit = max_connections
        self._ssl = ssl_context
        self._idle: dict[Origin, deque[_Connection]] = {}
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
        stream = _Body(connection, timeouts.get("read"), self._release)
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": reason}
        return httpx.Response(status, headers=headers, stream=stream, extensions=extensions)

    async def aclose(self) -> None:
        """Close every idle connection; those in use close when their answers do."""
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.popleft().close()
                self._open -= 1

    async def _connection(self, url: httpx.URL, timeouts: dict[str, Any]) -> _Connection:
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
                    return await _connect(origin, self._ssl_for(origin), timeouts.get("connect"))
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

    def _release(self, connection: _Connection, *, reuse: bool) -> None:
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


async def _connect(
    origin: Origin, context: ssl.SSLContext | None, timeout: float | None
) -> _Connection:
    """A new connection to ``origin`` (TLS when given a context) within ``timeout``."""
    loop = asyncio.get_running_loop()
    _, host, port = origin
    try:
        async with asyncio.timeout(timeout):
            _, connection = await loop.create_connection(
                lambda: _Connection(origin),
                host,
                port,
                ssl=context,
                server_hostname=host if context is not None else None,
            )
    except TimeoutError:
        raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout} s") from None
    except (OSError, ssl.SSLError) as error:
        raise httpx.ConnectError(f"cannot connect to {host}:{port}: {error}") from error
    return connection


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: bytes from the socket are buffered until h11 asks for them."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self._h11 = h11.Connection(h11.CLIENT)
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._eof_given = False  # the end of the stream was passed to h11
        self._lost = False
        self._paused = False
        self._data: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    # asyncio's side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > PAUSE_ABOVE and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = self._eof = True
        self._wake_reader()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    # the transport's side
    @property
    def usable(self) -> bool:
        """Idle, open, and nothing arrived since the last answer: not even an end of stream the
        loop has yet to read (a server that closed right after answering), as httpcore checks."""
        if self._lost or self._eof or self._buffer or self._transport is None:
            return False
        sock = self._transport.get_extra_info("socket")
        return sock is None or not _readable(sock.fileno())

    def ready_for_next(self) -> bool:
        """After a whole answer: True (and reset for the next request) when it may be reused."""
        h = self._h11
        if h.our_state is h11.DONE and h.their_state is h11.DONE and not self._lost:
            h.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def exchange(
        self, request: httpx.Request, timeouts: dict[str, Any]
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Send the request, read up to the answer's head: (status, reason, headers)."""
        body = await request.aread()
        try:
            head = h11.Request(
                method=request.method, target=request.url.raw_path, headers=request.headers.raw
            )
            data = self._h11.send(head) or b""
            if body:
                data += self._h11.send(h11.Data(data=body)) or b""
            data += self._h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as error:
            raise httpx.LocalProtocolError(str(error)) from error
        await self._write(data, timeouts.get("write"))
        while True:
            event = await self.next_event(timeouts.get("read"))
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                return event.status_code, event.reason, event.headers.raw_items()
            raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} before an answer")

    async def _write(self, data: bytes, timeout: float | None) -> None:
        transport = self._transport
        if transport is None or self._lost or transport.is_closing():
            raise httpx.WriteError("the connection was closed")
        transport.write(data)
        if self._drained is not None:
            try:
                async with asyncio.timeout(timeout):
                    await self._drained
            except TimeoutError:
                raise httpx.WriteTimeout("the request could not be sent in time") from None
            if self._lost:
                raise httpx.WriteError("the connection was closed while sending")

    async def next_event(self, timeout: float | None) -> Any:
        """The next h11 event of the answer, reading from the socket as needed."""
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as error:
                raise httpx.RemoteProtocolError(str(error)) from error
            if event is not h11.NEED_DATA:
                if event is h11.PAUSED:
                    raise httpx.RemoteProtocolError("the server sent more than one answer")
                return event
            if self._buffer:
                chunk = bytes(self._buffer)
                self._buffer.clear()
                self._resume()
                self._h11.receive_data(chunk)
            elif self._eof:
                if self._h11.their_state is h11.SEND_RESPONSE:
                    raise httpx.RemoteProtocolError(DISCONNECTED)
                if self._eof_given:  # h11 wants more after the end: the answer is cut off
                    raise httpx.RemoteProtocolError("the server closed the connection mid-answer")
                self._eof_given = True
                self._h11.receive_data(b"")
            else:
                await self._wait_data(timeout)

    def _resume(self) -> None:
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()

    async def _wait_data(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._data = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            self._data = None
            if timer is not None:
                timer.cancel()

    def _wake_reader(self) -> None:
        if self._data is not None and not self._data.done():
            self._data.set_result(None)


def _readable(fd: int) -> bool:
    """Whether bytes (or the end of the stream) wait on the socket now."""
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("no answer within the read timeout"))


class _Body(httpx.AsyncByteStream):
    """An answer's body, read from its connection; the connection is released once closed."""

    def __init__(
        self, connection: _Connection, timeout: float | None, release: Callable[..., None]
    ) -> None:
        self._connection = connection
        self._timeout = timeout
        self._release = release
        self._ended = False
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._ended:
            event = await self._connection.next_event(self._timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._ended = True
            else:
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in an answer")

    async def aclose(self) -> None:
        if not self._released:
            self._released = True
            self._release(self._connection, reuse=self._ended)
