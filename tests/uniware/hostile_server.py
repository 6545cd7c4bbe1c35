"""A misbehaving Uniware on loopback: a real socket server answering each request by a script."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Behaviour = Callable[[socket.socket, bytes], None]
"""Writes the answer to a request (given whole, head and body) on its connection."""


def reply(status: int, body: bytes, content_type: str = "application/json") -> Behaviour:
    """A complete answer, then the connection is closed."""

    def send(conn: socket.socket, request: bytes) -> None:
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        conn.sendall(head.encode() + body)

    return send


def uniware(status: str, message: str, http_status: int = 200) -> Behaviour:
    """Uniware's own JSON answer."""
    body = {"status": status, "message": message, "data": None}
    return reply(http_status, json.dumps(body).encode())


PROXY_PAGE = reply(200, b"<html><body><h1>Order received</h1></body></html>", "text/html")
CUT_JSON = reply(200, b'{"status": "succ')
DUPLICATE = uniware("failure", "DUPLICATE_SALE_ORDER: order already exists")
CREATED = uniware("success", "Sale order created")


def echo(conn: socket.socket, request: bytes) -> None:
    """A failure whose message quotes the request's headers back (the key among them)."""
    head = request.partition(b"\r\n\r\n")[0].decode("latin-1")
    uniware("failure", f"INVALID_REQUEST: could not process {head}")(conn, request)


def cut_off(conn: socket.socket, request: bytes) -> None:
    """Headers promising 1000 bytes, then 20 of them and a closed connection."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    conn.sendall(b'{"status": "success"')


def drip(conn: socket.socket, request: bytes) -> None:
    """Headers promising 100,000 bytes, then one byte every 0.2 s (for at most 60 s)."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    end = time.monotonic() + 60
    try:
        while time.monotonic() < end:
            conn.sendall(b" ")
            time.sleep(0.2)
    except OSError:  # the client gave up: what it should do
        return


@dataclass
class HostileServer:
    """Answers request n with ``script[n]`` (the last one repeats); records request heads."""

    script: list[Behaviour]
    requests: list[bytes] = field(default_factory=list)
    base_url: str = ""

    def handle(self, conn: socket.socket) -> None:
        """Read one request, answer it by the script."""
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                piece = conn.recv(65536)
                if not piece:
                    return
                data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                body += conn.recv(65536)
            index = len(self.requests)
            self.requests.append(head + b"\r\n\r\n" + body)
            try:
                self.script[min(index, len(self.script) - 1)](conn, self.requests[-1])
            except OSError:  # the client stopped reading (a cap or deadline): as it should
                return


@contextmanager
def hostile_server(*script: Behaviour) -> Iterator[HostileServer]:
    """A HostileServer on a free loopback port, for the ``with`` block."""
    server = HostileServer(list(script))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    server.base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=server.handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        listener.close()
