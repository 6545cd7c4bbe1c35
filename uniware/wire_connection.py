"""One HTTP/1.1 connection of uniware/wire.py: asyncio's socket events fed to h11 as it asks.

Bytes from the socket are buffered (reading pauses past ``PAUSE_ABOVE``) until h11 needs them;
waits for bytes end in httpx's ``ReadTimeout``, a stalled write in ``WriteTimeout``; the end of
the stream before a whole answer is httpx's ``RemoteProtocolError``.
"""

from __future__ import annotations

import asyncio
import select
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import h11
import httpx

PAUSE_ABOVE: Final = 256 * 1024  # bytes buffered before reading from the socket pauses
DISCONNECTED: Final = "Server disconnected without sending a response."  # httpcore's words

Origin = tuple[str, str, int]  # scheme, host, port


async def connect(
    origin: Origin, context: ssl.SSLContext | None, timeout: float | None
) -> Connection:
    """A new connection to ``origin`` (TLS when given a context) within ``timeout``."""
    loop = asyncio.get_running_loop()
    _, host, port = origin
    try:
        async with asyncio.timeout(timeout):
            _, connection = await loop.create_connection(
                lambda: Connection(origin),
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


class Connection(asyncio.Protocol):
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


class Body(httpx.AsyncByteStream):
    """An answer's body, read from its connection; the connection is released once closed."""

    def __init__(
        self, connection: Connection, timeout: float | None, release: Callable[..., None]
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
