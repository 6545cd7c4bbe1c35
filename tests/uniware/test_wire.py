"""The posting transport: connection limit, keep-alive, httpx's errors, TLS, connections freed."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.uniware.deliveries import order
from tests.uniware.hostile_server import CREATED, hostile_server
from uniware import settings
from uniware.config import demo_credentials
from uniware.sandbox import Faults, running_sandbox
from uniware.wire import WireTransport
from uniware.wire_connection import Connection

T = TypeVar("T")


def run_with(
    transport: WireTransport, base_url: str, go: Callable[[httpx.AsyncClient], Awaitable[T]]
) -> T:
    """``go`` with a client on ``transport``, in a fresh event loop."""

    async def main() -> T:
        headers = demo_credentials().as_headers()
        async with httpx.AsyncClient(
            base_url=base_url, transport=transport, timeout=10, headers=headers
        ) as http:
            return await go(http)

    return asyncio.run(main())


def test_requests_past_the_limit_wait_and_connections_are_kept_alive() -> None:
    transport = WireTransport(2)
    seen: list[int] = []

    async def go(http: httpx.AsyncClient) -> list[int]:
        async def one(n: int) -> int:
            return (await http.post(settings.ORDER_PATH, json=order(n))).status_code

        async def watch() -> None:
            while True:
                seen.append(transport.connections)
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        started = time.monotonic()
        statuses = await asyncio.gather(*(one(n) for n in range(6)))
        waves = time.monotonic() - started
        watcher.cancel()
        assert waves >= 3 * 0.2, waves  # two at a time, three times the latency at least
        statuses += [await one(n) for n in range(6, 10)]  # one after the other: reused
        return statuses

    with running_sandbox(faults=Faults(latency_ms=200)) as sandbox:
        statuses = run_with(transport, sandbox.base_url, go)
    assert statuses == [200] * 10
    assert max(seen) == 2
    assert transport.opened == 2  # ten requests over the same two connections
    assert (transport.connections, transport.idle) == (0, 0)  # the client closed them all


def test_a_connection_the_server_closes_is_not_reused() -> None:
    transport = WireTransport(4)

    async def go(http: httpx.AsyncClient) -> list[int]:
        return [(await http.post(settings.ORDER_PATH, json=order(n))).status_code for n in (1, 2)]

    with hostile_server(CREATED) as server:  # "Connection: close" on every answer
        assert run_with(transport, server.base_url, go) == [200, 200]
    assert transport.opened == 2


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    def gzipped(conn: Any, request: bytes) -> None:  # keep-alive by default, then it closes
        body = gzip.compress(b'{"status": "success", "message": "zipped"}')
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
        conn.sendall(head % len(body) + body)

    transport = WireTransport(4)

    async def go(http: httpx.AsyncClient) -> list[str]:
        answers = []
        for n in range(3):
            answers.append((await http.post(settings.ORDER_PATH, json=order(n))).json()["message"])
            await asyncio.sleep(0.05)  # the server's close reaches the socket, unread by the loop
        return answers

    with hostile_server(gzipped) as server:
        assert run_with(transport, server.base_url, go) == ["zipped"] * 3
    assert transport.opened == 3  # each closed connection was noticed at reuse, not sent on


def test_a_close_waiting_on_the_socket_makes_an_idle_connection_unusable_at_once() -> None:
    async def go() -> tuple[bool, bool]:
        ours, theirs = socket.socketpair()
        loop = asyncio.get_running_loop()
        origin = ("http", "127.0.0.1", 80)
        transport, connection = await loop.create_connection(lambda: Connection(origin), sock=ours)
        before = connection.usable
        theirs.close()  # no await from here on: the loop has not read the end of the stream
        after = connection.usable
        transport.close()
        return before, after

    assert asyncio.run(go()) == (True, False)


def test_an_answer_not_read_to_its_end_closes_its_connection() -> None:
    transport = WireTransport(1)

    async def go(http: httpx.AsyncClient) -> int:
        async with http.stream("POST", settings.ORDER_PATH, json=order(1)):
            assert transport.connections == 1
        assert transport.connections == 0  # never back in the pool: its unread bytes would follow
        return (await http.post(settings.ORDER_PATH, json=order(2))).status_code

    with running_sandbox() as sandbox:
        assert run_with(transport, sandbox.base_url, go) == 200
    assert transport.opened == 2


def test_a_server_that_never_answers_is_a_read_timeout_and_frees_the_connection() -> None:
    def silent(conn: Any, request: bytes) -> None:
        time.sleep(3)

    transport = WireTransport(1)

    async def go(http: httpx.AsyncClient) -> None:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(settings.ORDER_PATH, json=order(1), timeout=0.3)
        assert transport.connections == 0

    with hostile_server(silent) as server:
        run_with(transport, server.base_url, go)


def test_a_refused_connection_is_a_connect_error() -> None:
    transport = WireTransport(1)

    async def go(http: httpx.AsyncClient) -> None:
        for _ in range(2):  # the failed connection does not count against the limit
            with pytest.raises(httpx.ConnectError):
                await http.post("http://127.0.0.1:9/never", json={})
        assert transport.connections == 0

    run_with(transport, "http://127.0.0.1:9", go)


def test_no_free_connection_in_time_is_a_pool_timeout() -> None:
    transport = WireTransport(1)

    async def go(http: httpx.AsyncClient) -> int:
        first = asyncio.create_task(http.post(settings.ORDER_PATH, json=order(1)))
        await asyncio.sleep(0.1)
        timeout = httpx.Timeout(10, pool=0.1)
        with pytest.raises(httpx.PoolTimeout):
            await http.post(settings.ORDER_PATH, json=order(2), timeout=timeout)
        return (await first).status_code

    with running_sandbox(faults=Faults(latency_ms=600)) as sandbox:
        assert run_with(transport, sandbox.base_url, go) == 200


def test_a_chunked_answer_is_read_whole() -> None:
    def chunked(conn: Any, request: bytes) -> None:
        body = b'{"status": "success", "message": "Sale order created", "data": null}'
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        for start in range(0, len(body), 10):
            piece = body[start : start + 10]
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.sendall(b"0\r\n\r\n")

    async def go(http: httpx.AsyncClient) -> dict[str, Any]:
        answer = await http.post(settings.ORDER_PATH, json=order(1))
        assert answer.http_version == "HTTP/1.1"
        return dict(answer.json())

    with hostile_server(chunked) as server:
        assert run_with(WireTransport(1), server.base_url, go)["status"] == "success"


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"status": "success", "message": "over TLS", "data": null}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on loopback with a fresh self-signed certificate: (base URL, cert)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate (.ci/run installs it)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    names = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [*make, "-keyout", str(key), "-out", str(cert), *names],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()


def test_https_checks_the_certificate(tmp_path: Path) -> None:
    async def go(http: httpx.AsyncClient) -> str:
        return str((await http.post(settings.ORDER_PATH, json=order(1))).json()["message"])

    with tls_server(tmp_path) as (base_url, cert):
        trusted = WireTransport(1, ssl_context=ssl.create_default_context(cafile=str(cert)))
        assert run_with(trusted, base_url, go) == "over TLS"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            run_with(WireTransport(1), base_url, go)  # the system's trust store: not this one


def test_no_connections_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WireTransport(0)
